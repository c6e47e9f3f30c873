"""store.py: the global RV, key order, history and compaction."""

from __future__ import annotations

from typing import Any

from watchcache.api.resources import GroupVersionResource, resource_info
from watchcache.simulator.reads import entries_at
from watchcache.simulator.store import (
    HISTORY_FRESH,
    HISTORY_MAX,
    HISTORY_MIN,
    SimStore,
    full_object,
    key_of,
)

PODS = resource_info(GroupVersionResource("", "v1", "pods"))
CMS = resource_info(GroupVersionResource("", "v1", "configmaps"))


def _obj(name: str, namespace: str = "ns", **labels: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": namespace, "labels": labels}}


def test_one_rv_for_every_collection() -> None:
    store = SimStore()
    first = store.write(store.collection(PODS), "ADDED", _obj("a"), None)
    second = store.write(store.collection(CMS), "ADDED", _obj("a"), None)
    assert (first.rv, second.rv, store.rv) == (2, 3, 3)


def test_keys_sort_like_etcd() -> None:
    store = SimStore()
    coll = store.collection(PODS)
    for ns, name in (("b", "x"), ("a", "z"), ("a", "y")):
        store.write(coll, "ADDED", _obj(name, ns), None)
    assert list(coll.items) == ["a/y", "a/z", "b/x"]
    assert key_of("", "node") == "node"


def test_item_bytes_lack_kind_and_full_object_adds_it() -> None:
    store = SimStore()
    coll = store.collection(PODS)
    event = store.write(coll, "ADDED", {"kind": "Pod", "apiVersion": "v1", **_obj("a")}, None)
    assert b'"kind"' not in event.entry.body
    assert full_object(coll.prefix, event.entry.body).startswith(
        b'{"kind":"Pod","apiVersion":"v1","metadata"'
    )


def test_event_lines_encoded_once() -> None:
    store = SimStore()
    event = store.write(store.collection(PODS), "ADDED", _obj("a"), None)
    assert event.line("ADDED") is event.line("ADDED")


def test_history_is_bounded_and_marks_truncation() -> None:
    store = SimStore(history_size=2)
    coll = store.collection(PODS)
    for name in "abc":
        store.write(coll, "ADDED", _obj(name), None)
    assert [e.entry.name for e in coll.history] == ["b", "c"]
    assert coll.history_truncated and coll.oldest_watchable() == coll.history[0].rv - 1


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _writes(store: SimStore, coll: Any, count: int, clock: Clock, step: float) -> None:
    for _ in range(count):
        clock.now += step
        store.write(coll, "ADDED", _obj(f"p{store.rv}"), None)


def test_history_doubles_while_it_covers_less_than_75_seconds() -> None:
    clock = Clock()
    store = SimStore(monotonic=clock)
    coll = store.collection(PODS)
    assert coll.capacity == HISTORY_MIN
    _writes(store, coll, 250, clock, 0.01)  # 2.5 s of writes: keep them all
    assert coll.capacity == 400 and len(coll.history) == 250
    assert not coll.history_truncated


def test_history_stops_growing_once_it_covers_75_seconds() -> None:
    clock = Clock()
    store = SimStore(monotonic=clock)
    coll = store.collection(PODS)
    _writes(store, coll, 300, clock, 1.0)  # one write a second
    # Full at 100 with 99 s covered: no growth; the oldest are dropped.
    assert coll.capacity == HISTORY_MIN and len(coll.history) == HISTORY_MIN
    assert coll.history_truncated
    assert clock.now - coll.history[0].at >= HISTORY_FRESH


def test_history_halves_when_even_its_newest_quarter_is_stale() -> None:
    clock = Clock()
    store = SimStore(monotonic=clock)
    coll = store.collection(PODS)
    _writes(store, coll, 800, clock, 0.001)  # a burst: capacity 800
    assert coll.capacity == 800
    clock.now += HISTORY_FRESH + 1
    _writes(store, coll, 1, clock, 0.0)
    assert coll.capacity == 400 and len(coll.history) == 400
    assert coll.history[-1].rv == store.rv


def test_history_never_exceeds_its_upper_bound() -> None:
    clock = Clock()
    store = SimStore(monotonic=clock)
    coll = store.collection(PODS)
    coll.capacity = HISTORY_MAX  # as if grown already
    _writes(store, coll, HISTORY_MAX + 5, clock, 0.0)
    assert coll.capacity == HISTORY_MAX and len(coll.history) == HISTORY_MAX


def test_injected_shrink_drops_events_then_regrows() -> None:
    clock = Clock()
    store = SimStore(monotonic=clock)
    coll = store.collection(PODS)
    _writes(store, coll, 10, clock, 0.1)
    coll.shrink_history(1)
    assert len(coll.history) == 1 and coll.history_truncated
    assert coll.oldest_watchable() == store.rv - 1
    _writes(store, coll, 3, clock, 0.1)
    assert len(coll.history) == 4 and coll.capacity == 4


def test_rollback_rebuilds_old_state_until_compacted() -> None:
    store = SimStore()
    coll = store.collection(PODS)
    a = store.write(coll, "ADDED", _obj("a"), None)
    store.write(coll, "ADDED", _obj("b"), None)
    store.write(coll, "DELETED", a.entry.decode(), a.entry)
    at_a = [e.name for e in entries_at(coll, a.rv, store.rv, "", "")]
    assert at_a == ["a"]
    store.compact()
    assert not coll.log


def test_full_log_compacts_automatically() -> None:
    store = SimStore(log_size=2)
    coll = store.collection(PODS)
    for name in "abcd":
        store.write(coll, "ADDED", _obj(name), None)
    assert len(coll.log) == 2 and store.compacted == coll.log[0].rv - 1
