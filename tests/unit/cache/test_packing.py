"""History's packing of superseded versions (history.py, event.py): what a
watch resuming at an old RV or a LIST at an old RV reads is byte for byte
what upstream sent, packed or not, and the switch turns packing off.

History packs only events behind its newest ``PACK_AFTER_EVENTS`` and
forgets lines behind ``LINE_MEMO_EVENTS``; these tests lower both (and
``MAX_DELTAS_IN_ROW``) so that a few dozen events
cover deltas, rows of them ending in a standalone version, and DELETED
objects."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.cache.fakes import PODS, Clock, pod

from watchcache.api.watchevent import watch_line
from watchcache.cache import history as history_module
from watchcache.cache.cache import Cache, CacheConfig
from watchcache.cache.event import DELETED, with_resource_version

NAMES = ("a", "b", "c")

write = st.tuples(
    st.sampled_from(["put", "put", "put", "delete"]),
    st.integers(0, len(NAMES) - 1),
    st.integers(0, 3),  # label value
    st.integers(0, 40),  # padding: versions of different sizes
)


@contextmanager
def settling_after(events: int, max_deltas: int) -> Iterator[None]:
    with (
        mock.patch.object(history_module, "PACK_AFTER_EVENTS", events),
        mock.patch.object(history_module, "LINE_MEMO_EVENTS", events + 2),
        mock.patch.object(history_module, "MAX_DELTAS_IN_ROW", max_deltas),
    ):
        yield


@dataclass
class Log:
    """Every event as upstream sent it: (type, key, rv, raw, previous raw)."""

    raws: dict[str, bytes] = field(default_factory=dict)
    events: list[tuple[str, str, int, bytes, bytes | None]] = field(default_factory=list)
    states: dict[int, dict[str, bytes]] = field(default_factory=dict)
    rv: int = 100


def step(cache: Cache, log: Log, op: tuple[str, int, int, int]) -> None:
    kind, name_i, label_i, pad = op
    name = NAMES[name_i]
    key = f"default/{name}"
    prev = log.raws.get(key)
    if kind == "delete" and prev is None:
        return  # deleting nothing: upstream sends no event
    log.rv += 1
    etype = DELETED if kind == "delete" else "MODIFIED" if prev is not None else "ADDED"
    raw = pod(name, rv=log.rv, labels={"l": f"v{label_i}"}, pad=pad)
    cache.apply(etype, raw)
    if etype == DELETED:
        del log.raws[key]
    else:
        log.raws[key] = raw
    log.events.append((etype, key, log.rv, raw, prev))
    log.states[log.rv] = dict(log.raws)


def new_cache(packing: bool) -> Cache:
    cache = Cache(PODS, CacheConfig(history_packing=packing), clock=Clock())
    cache.replace([], 100)
    return cache


def expected_deleted_line(etype: str, rv: int, raw: bytes, prev: bytes | None) -> bytes:
    if etype == DELETED or prev is None:
        return watch_line(DELETED, raw)
    prev_rv = int(prev.split(b'"resourceVersion":"')[1].split(b'"')[0])
    return watch_line(DELETED, with_resource_version(prev, prev_rv, rv))


@settings(max_examples=60, deadline=None)
@given(st.lists(write, max_size=60), st.booleans(), st.integers(0, 3), st.integers(1, 4))
def test_watch_and_list_at_every_past_rv_read_what_upstream_sent(
    ops: list[tuple[str, int, int, int]], packing: bool, memo: int, max_deltas: int
) -> None:
    with settling_after(memo, max_deltas):
        cache, log = new_cache(packing), Log()
        log.states[100] = {}
        for op in ops:
            step(cache, log, op)
        for rv in range(100, log.rv + 1):
            got = [
                (e.type, e.key, e.rv, e.line(e.type), e.deleted_line(), e.prev)
                for e in cache.since(rv)
            ]
            want = [e for e in log.events if e[2] > rv]
            assert [g[:3] for g in got] == [w[:3] for w in want]
            for (etype, _, erv, line, deleted, prev), (_, _, _, raw, prev_raw) in zip(
                got, want, strict=True
            ):
                assert line == watch_line(etype, raw)
                assert deleted == expected_deleted_line(etype, erv, raw, prev_raw)
                assert (prev.raw if prev is not None else None) == prev_raw
            known = max(r for r in log.states if r <= rv)
            page = cache.list(rv=rv)
            assert [(e.key, e.raw) for e in page.items] == sorted(log.states[known].items())


def test_settled_versions_are_packed_with_packing_and_whole_without() -> None:
    with settling_after(2, 3):
        sizes = {}
        for packing in (True, False):
            cache, log = new_cache(packing), Log()
            for i in range(12):
                step(cache, log, ("put", 0, i % 2, 1000))
            events = cache.since(100)
            settled = events[1:-2]  # MODIFIED events behind the newest 2
            assert [e.prev.raw if e.prev else None for e in settled] == [
                raw for _, _, _, raw, _ in log.events[:-3]
            ]
            sizes[packing] = cache.history.retained_bytes
            kept = [e._prev for e in settled]
            if packing:
                assert all(p is not None and len(p.raw) < len(log.events[0][3]) // 4 for p in kept)
            else:  # the very objects the store held: nothing packed, nothing copied
                assert all(p is events[i].entry for i, p in enumerate(kept))
        assert sizes[True] < sizes[False] // 4


def test_a_packed_version_keeps_no_protobuf_message() -> None:
    """The whole version's message stays with it (a read in progress may
    use it); the packed copy history keeps has none, and the version read
    back from it encodes its own if asked."""
    with settling_after(1, 3):
        cache, log = new_cache(True), Log()
        step(cache, log, ("put", 0, 0, 100))
        first = cache.get("default", "a")
        assert first is not None
        first.keep_message(b"message")
        for i in range(3):
            step(cache, log, ("put", 0, i, 100))
        settled = cache.since(100)[1]
        assert settled.prev is not None and settled.prev.raw == log.events[0][3]
        assert settled._prev is not None and settled._prev.proto is None
        assert settled.prev.proto is None
        assert first.proto == b"message"
