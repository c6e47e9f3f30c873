"""store.py: the global RV, key order, history and compaction."""

from __future__ import annotations

from typing import Any

from watchcache.api.resources import GroupVersionResource, resource_info
from watchcache.testing.reads import entries_at
from watchcache.testing.store import Store, full_object, key_of

PODS = resource_info(GroupVersionResource("", "v1", "pods"))
CMS = resource_info(GroupVersionResource("", "v1", "configmaps"))


def _obj(name: str, namespace: str = "ns", **labels: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": namespace, "labels": labels}}


def test_one_rv_for_every_collection() -> None:
    store = Store()
    first = store.write(store.collection(PODS), "ADDED", _obj("a"), None)
    second = store.write(store.collection(CMS), "ADDED", _obj("a"), None)
    assert (first.rv, second.rv, store.rv) == (2, 3, 3)


def test_keys_sort_like_etcd() -> None:
    store = Store()
    coll = store.collection(PODS)
    for ns, name in (("b", "x"), ("a", "z"), ("a", "y")):
        store.write(coll, "ADDED", _obj(name, ns), None)
    assert list(coll.items) == ["a/y", "a/z", "b/x"]
    assert key_of("", "node") == "node"


def test_item_bytes_lack_kind_and_full_object_adds_it() -> None:
    store = Store()
    coll = store.collection(PODS)
    event = store.write(coll, "ADDED", {"kind": "Pod", "apiVersion": "v1", **_obj("a")}, None)
    assert b'"kind"' not in event.entry.body
    assert full_object(coll.prefix, event.entry.body).startswith(
        b'{"kind":"Pod","apiVersion":"v1","metadata"'
    )


def test_event_lines_encoded_once() -> None:
    store = Store()
    event = store.write(store.collection(PODS), "ADDED", _obj("a"), None)
    assert event.line("ADDED") is event.line("ADDED")


def test_history_is_bounded_and_marks_truncation() -> None:
    store = Store(history_size=2)
    coll = store.collection(PODS)
    for name in "abc":
        store.write(coll, "ADDED", _obj(name), None)
    assert [e.entry.name for e in coll.history] == ["b", "c"]
    assert coll.history_truncated and coll.oldest_watchable() == coll.history[0].rv - 1


def test_rollback_rebuilds_old_state_until_compacted() -> None:
    store = Store()
    coll = store.collection(PODS)
    a = store.write(coll, "ADDED", _obj("a"), None)
    store.write(coll, "ADDED", _obj("b"), None)
    store.write(coll, "DELETED", a.entry.decode(), a.entry)
    at_a = [e.name for e in entries_at(coll, a.rv, store.rv, "", "")]
    assert at_a == ["a"]
    store.compact()
    assert not coll.log


def test_full_log_compacts_automatically() -> None:
    store = Store(log_size=2)
    coll = store.collection(PODS)
    for name in "abcd":
        store.write(coll, "ADDED", _obj(name), None)
    assert len(coll.log) == 2 and store.compacted == coll.log[0].rv - 1
