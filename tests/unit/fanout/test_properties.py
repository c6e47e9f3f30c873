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


async def _budget_passes(delay: float) -> None:
    """The bound of a wait for room passes at once: a stalled sink here
    never drains while an event is dispatched, so waiting out real time
    would only slow the examples down."""


async def _run(ops, specs, stall_at) -> None:  # type: ignore[no-untyped-def]
    events = as_events(ops)
    registry = Registry(trigger_field="spec.nodeName", sleep=_budget_passes)
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


class _Client:
    """A watch client that reconnects by RV, as client-go's reflector does:
    from the RV of the last event it received."""

    def __init__(self, registry: Registry, flt: WatchFilter, slow: bool) -> None:
        self.registry = registry
        self.filter = flt
        self.slow = slow
        self.sinks: list[FakeSink] = []
        self.watcher: Watcher | None = None
        self.last_rv = 1  # the state at RV 1 is empty
        self.start_rv = 1
        self.replay: list[bytes] = []
        self.replaying = False

    def received(self) -> list[dict[str, object]]:
        return [line for sink in self.sinks for line in sink.lines()]

    def connect(self, history: list[Event], stalled: bool) -> None:
        """What serve_watch does for RV=last_rv: register at the registry's
        RV, then (see ``finish_replay``) write the history after last_rv
        through the filter; live events wait meanwhile."""
        lines = self.received()
        if lines:
            obj = lines[-1]["object"]
            assert isinstance(obj, dict)
            self.last_rv = int(obj["metadata"]["resourceVersion"])
        sink = FakeSink()
        sink.stalled = stalled
        self.sinks.append(sink)
        self.start_rv = max(self.registry.rv, self.last_rv)
        self.watcher = Watcher(sink, self.filter, self.start_rv, limit=600, replaying=True)
        self.replaying = True
        self.registry.add(self.watcher)
        self.replay = [
            line
            for e in history
            if e.rv > self.last_rv and (line := self.filter.line_for(e)) is not None
        ]

    async def finish_replay(self) -> None:
        assert self.watcher is not None
        if self.replaying:
            self.replaying = False
            await self.watcher.socket.write_initial(self.replay)
            self.watcher.finish_replay(self.start_rv)

    def leave(self) -> None:
        assert self.watcher is not None
        self.watcher.close("the client left")


@settings(max_examples=150, deadline=None)
@given(
    ops=writes,
    specs=filters,
    stall_at=st.integers(min_value=0, max_value=40),
    leaves=st.lists(
        st.tuples(st.integers(min_value=0, max_value=40), st.integers(min_value=0, max_value=5)),
        max_size=12,
    ),
)
def test_clients_that_reconnect_by_rv_miss_nothing_and_see_nothing_twice(  # type: ignore[no-untyped-def]
    ops, specs, stall_at, leaves
) -> None:
    """Clients leave at random points and slow ones are closed by the
    budget; each reconnects from the last RV it received. Across all its
    connections, each sees an ordered, duplicate-free stream that rebuilds
    exactly its selection."""
    asyncio.run(_run_with_reconnects(ops, specs, stall_at, leaves))


async def _run_with_reconnects(ops, specs, stall_at, leaves) -> None:  # type: ignore[no-untyped-def]
    events = as_events(ops)
    registry = Registry(trigger_field="spec.nodeName", sleep=_budget_passes)
    clients = []
    for color, node, slow in specs:
        labels = EqSelector({"color": color} if color else {})
        fields = EqSelector({"spec.nodeName": node} if node is not None else {})
        client = _Client(registry, WatchFilter(None, labels, fields), slow)
        client.connect([], stalled=False)
        await client.finish_replay()
        clients.append(client)
    for i, event in enumerate(events):
        stalled = i >= stall_at
        for step, which in leaves:
            if step == i and which < len(clients):
                clients[which].leave()
        for client in clients:
            assert client.watcher is not None
            if client.watcher.closed.done():  # left, or closed as too slow
                client.connect(events[:i], stalled=stalled and client.slow)
            elif stalled and client.slow:
                client.sinks[-1].stalled = True
        await registry.dispatch(event)
        # A reconnected client's history is written after this event went
        # live: it waited in the watcher's buffer meanwhile.
        for client in clients:
            await client.finish_replay()
        await asyncio.sleep(0)
    await asyncio.sleep(0)
    for client in clients:
        assert client.watcher is not None
        if client.watcher.closed.done():
            client.connect(events, stalled=False)
            await client.finish_replay()
        await asyncio.sleep(0)
        view, rvs = replay(client.received())
        assert rvs == sorted(set(rvs)), "out of order or duplicated across reconnects"
        assert view == visible(events, client.filter)
