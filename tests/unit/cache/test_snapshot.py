from __future__ import annotations

from tests.unit.cache.fakes import POD_FIELDS, pod

from watchcache.cache.entry import EntryCodec
from watchcache.cache.event import ADDED, DELETED, MODIFIED, Event
from watchcache.cache.snapshot import Snapshot
from watchcache.cache.store import Store

CODEC = EntryCodec(
    kind="Pod", api_version="v1", namespaced=True, field_defaults=POD_FIELDS, builtin=True
)


def scenario() -> tuple[Store, list[Event]]:
    """At rv 10: a (n1), b (n1), c. Then: b deleted, d added, a moved to n2."""
    s = Store(indexed_fields=("spec.nodeName",), shard_count=2)
    a, b, c = (
        CODEC.decode(pod(n, rv=10, node=nd)) for n, nd in (("a", "n1"), ("b", "n1"), ("c", None))
    )
    for e in (a, b, c):
        s.put(e)
    events = []
    b_gone = CODEC.decode(pod("b", rv=11, node="n1"))
    events.append(Event(DELETED, b_gone, s.delete("default/b"), 11))
    d = CODEC.decode(pod("d", rv=12))
    events.append(Event(ADDED, d, s.put(d), 12))
    a2 = CODEC.decode(pod("a", rv=13, node="n2"))
    events.append(Event(MODIFIED, a2, s.put(a2), 13))
    return s, events


def test_state_at_an_older_rv_is_rebuilt_from_history() -> None:
    store, events = scenario()
    snap = Snapshot(store, 10, events)
    assert list(snap.keys()) == ["default/a", "default/b", "default/c"]
    assert snap.get("default/d") is None
    a = snap.get("default/a")
    assert a is not None and a.rv == 10
    assert snap.count() == 3
    assert snap.count(after="default/a") == 2
    assert snap.index_keys("spec.nodeName", "n1") == ["default/a", "default/b"]
    assert snap.index_keys("spec.nodeName", "n2") == []


def test_intermediate_rv_replays_only_later_events() -> None:
    store, events = scenario()
    snap = Snapshot(store, 12, [e for e in events if e.rv > 12])
    assert list(snap.keys()) == ["default/a", "default/c", "default/d"]
    assert list(snap.keys(after="default/a")) == ["default/c", "default/d"]
    assert snap.index_keys("spec.nodeName", "n1") == ["default/a"]


def test_snapshot_without_events_is_the_store() -> None:
    store, _ = scenario()
    snap = Snapshot(store, 13)
    assert list(snap.keys()) == list(store.keys())
    assert snap.count() == len(store)


def test_shard_ranges_apply_to_restored_keys() -> None:
    store, events = scenario()
    snap = Snapshot(store, 10, events)
    everything = list(snap.keys(shard_ranges=[(0, 1 << 64)]))
    halves = list(snap.keys(shard_ranges=[(0, 1 << 63)])) + list(
        snap.keys(shard_ranges=[(1 << 63, 1 << 64)])
    )
    assert everything == ["default/a", "default/b", "default/c"]
    assert sorted(halves) == everything
