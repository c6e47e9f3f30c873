"""Random writes, random selectors, random stalls: every watcher's stream,
applied to an empty view, rebuilds exactly the objects its selector sees;
a watcher closed for slowness got an ordered, gap-free prefix of that."""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.fanout.fakes import EqSelector, Event, FakeSink, Obj

from watchcache.fanout.filter import WatchFilter
from watchcache.fanout.registry import Registry
from watchcache.fanout.watcher import Watcher

NAMES = ["a", "b", "c", "d"]
COLORS = ["red", "blue"]
NODES = ["n1", "n2", ""]

writes = st.lists(
    st.tuples(st.sampled_from(NAMES), st.sampled_from([*COLORS, None]), st.sampled_from(NODES)),
    min_size=1,
    max_size=40,
)
filters = st.lists(
    st.tuples(st.sampled_from([*COLORS, None]), st.sampled_from([*NODES, None]), st.booleans()),
    min_size=1,
    max_size=6,
)


def as_events(ops: list[tuple[str, str | None, str]]) -> list[Event]:
    """(name, color or None=delete, node) -> a consistent event sequence."""
    store: dict[str, Obj] = {}
    events = []
    rv = 1
    for name, color, node in ops:
        rv += 1
        prev = store.get(name)
        if color is None:
            if prev is None:
                continue
            del store[name]
            events.append(Event("DELETED", rv, prev, prev=prev))
        else:
            obj = Obj("default", name, {"color": color}, node)
            store[name] = obj
            events.append(Event("MODIFIED" if prev else "ADDED", rv, obj, prev=prev))
    return events


def visible(events: list[Event], f: WatchFilter) -> dict[str, tuple[str, str]]:
    """The model: which objects the filter sees after all events."""
    state: dict[str, Obj] = {}
    for e in events:
        if e.type == "DELETED":
            state.pop(e.name, None)
        else:
            state[e.name] = e.obj
    return {
        n: (o.labels["color"], o.node)
        for n, o in state.items()
        if f.matches(o.namespace, o.labels, o.fields())
    }


def replay(lines: list[dict[str, object]]) -> tuple[dict[str, tuple[str, str]], list[int]]:
    view: dict[str, tuple[str, str]] = {}
    rvs = []
    for line in lines:
        obj = line["object"]
        assert isinstance(obj, dict)
        meta, name = obj["metadata"], obj["metadata"]["name"]
        rvs.append(int(meta["resourceVersion"]))
        if line["type"] == "ADDED":
            assert name not in view, "ADDED for an object the watcher already has"
            view[name] = (meta["labels"]["color"], obj["spec"]["nodeName"])
        elif line["type"] == "MODIFIED":
            assert name in view, "MODIFIED for an object the watcher never got"
            view[name] = (meta["labels"]["color"], obj["spec"]["nodeName"])
        else:
            assert line["type"] == "DELETED" and name in view
            del view[name]
    return view, rvs


@settings(max_examples=150, deadline=None)
@given(ops=writes, specs=filters, stall_at=st.integers(min_value=0, max_value=40))
def test_every_watcher_sees_exactly_its_selection(ops, specs, stall_at) -> None:  # type: ignore[no-untyped-def]
    asyncio.run(_run(ops, specs, stall_at))


async def _run(ops, specs, stall_at) -> None:  # type: ignore[no-untyped-def]
    events = as_events(ops)
    registry = Registry(trigger_field="spec.nodeName")
    watchers = []
    for color, node, slow in specs:
        labels = EqSelector({"color": color} if color else {})
        fields = EqSelector({"spec.nodeName": node} if node is not None else {})
        sink = FakeSink()
        w = Watcher(sink, WatchFilter(None, labels, fields), 1, limit=600)
        registry.add(w)
        watchers.append((w, sink, slow))
    for i, event in enumerate(events):
        if i == stall_at:
            for _, sink, slow in watchers:
                sink.stalled = slow
        await registry.dispatch(event)
        await asyncio.sleep(0)
    await asyncio.sleep(0)
    for w, sink, _ in watchers:
        view, rvs = replay(sink.lines())
        assert rvs == sorted(set(rvs)), "out of order or duplicated"
        if not w.closed.done():
            assert view == visible(events, w.filter)
        else:
            # Closed as too slow: what it got is the model at its last RV.
            upto = [e for e in events if e.rv <= (rvs[-1] if rvs else 1)]
            assert view == visible(upto, w.filter)
