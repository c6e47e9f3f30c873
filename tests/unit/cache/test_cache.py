from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from tests.unit.cache.fakes import PODS, WIDGETS, Clock, Fields, Labels, pod

from watchcache.cache.allocator import SIZE_CLASSES
from watchcache.cache.cache import (
    Cache,
    CacheConfig,
    MalformedObject,
    TooNewResourceVersion,
    WatchErrorLine,
)
from watchcache.cache.event import ADDED, DELETED, MODIFIED
from watchcache.cache.history import TooOldResourceVersion


def pods_cache(**config: object) -> Cache:
    cache = Cache(PODS, CacheConfig(**config), clock=Clock())  # type: ignore[arg-type]
    cache.replace([], 1)
    return cache


def test_apply_returns_event_with_previous_object() -> None:
    cache = pods_cache()
    added = cache.apply("ADDED", pod("a", rv=2, labels={"x": "1"}))
    modified = cache.apply("MODIFIED", pod("a", rv=3, labels={"x": "2"}))
    assert added is not None and modified is not None
    assert added.prev is None and modified.prev is added.entry
    assert (modified.prev_labels, modified.labels) == ({"x": "1"}, {"x": "2"})
    assert cache.rv == 3
    deleted = cache.apply("DELETED", pod("a", rv=4))
    assert deleted is not None and deleted.prev is modified.entry
    assert cache.get("default", "a") is None
    # A new version holds what did not change once, shared with the old.
    assert modified.fields is added.fields and modified.key is added.key


def test_a_changed_object_is_kept_in_the_size_class_of_its_previous_version() -> None:
    cache = pods_cache()
    line = b'{"type":"%s","object":%s}'
    cache.apply_line(line % (b"ADDED", pod("a", rv=2, pad=7_000)))
    cache.apply_line(line % (b"MODIFIED", pod("a", rv=3, labels={"rev": "1"}, pad=7_000)))
    added, modified = cache.since(1)
    assert len(modified.entry.raw) > len(added.entry.raw)
    assert modified.entry.raw == pod("a", rv=3, labels={"rev": "1"}, pad=7_000)
    if SIZE_CLASSES:  # allocator.py: the hole either leaves fits the other
        capacity = len(added.entry.raw) + added.entry.spare
        assert len(modified.entry.raw) + modified.entry.spare == capacity


def test_events_of_a_type_share_one_string() -> None:
    cache = pods_cache()
    line = b'{"type":"%s","object":%s}'
    added = cache.apply_line(line % (b"ADDED", pod("a", rv=2)))
    modified = cache.apply_line(line % (b"MODIFIED", pod("a", rv=3)))
    deleted = cache.apply_line(line % (b"DELETED", pod("a", rv=4)))
    assert added is not None and modified is not None and deleted is not None
    assert (added.type, modified.type, deleted.type) == (ADDED, MODIFIED, DELETED)
    assert added.type is ADDED and modified.type is MODIFIED and deleted.type is DELETED


def test_stale_event_is_dropped() -> None:
    cache = pods_cache()
    cache.apply("ADDED", pod("a", rv=5))
    assert cache.apply("MODIFIED", pod("a", rv=5)) is None
    assert cache.apply("MODIFIED", pod("a", rv=4)) is None
    entry = cache.get("default", "a")
    assert entry is not None and entry.rv == 5


def test_apply_line_and_bookmark() -> None:
    cache = pods_cache()
    line = b'{"type":"ADDED","object":' + pod("a", rv=7) + b"}\n"
    event = cache.apply_line(line)
    assert event is not None and event.line("ADDED") == line
    assert (
        cache.apply_line(
            b'{"type":"BOOKMARK","object":{"kind":"Pod","metadata":{"resourceVersion":"20"}}}'
        )
        is None
    )
    assert cache.rv == 20
    with pytest.raises(WatchErrorLine) as error:
        cache.apply_line(b'{"type":"ERROR","object":{"kind":"Status","code":410}}')
    assert error.value.object == b'{"kind":"Status","code":410}'


@pytest.mark.parametrize(
    "line",
    [
        b"<html><body><h1>502 Bad Gateway</h1></body></html>",
        b'{"type":"SURPRISE","object":{}}',
        b'{"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"x"}}}',
        b'{"type":"ERROR"}',
        b'{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"-1"}}}',
        b'{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"1_000"}}}',
        b'{"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":" 9"}}}',
        b'{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"18446744073709551616"}}}',
    ],
    ids=[
        "html",
        "unknown-type",
        "rv-not-a-number",
        "no-object",
        "bookmark-rv-negative",
        "bookmark-rv-underscore",
        "rv-with-space",
        "bookmark-rv-past-uint64",
    ],
)
def test_a_malformed_line_is_malformed_never_an_error_line(line: bytes) -> None:
    """RVs are read as kube-apiserver reads them (ParseUint): ``int()``
    would take a sign, a space or an underscore."""
    cache = pods_cache()
    with pytest.raises(MalformedObject):
        cache.apply_line(line)
    assert cache.rv == 1


def test_an_error_raised_by_a_transform_is_not_taken_for_a_malformed_line() -> None:
    def transform(data: bytes) -> bytes:
        raise ValueError("a bug in the transform")

    cache = pods_cache(transform=transform)
    with pytest.raises(ValueError, match="a bug in the transform"):
        cache.apply_line(b'{"type":"ADDED","object":' + pod("a", rv=7) + b"}")


def test_replace_sets_state_and_restarts_history() -> None:
    cache = pods_cache()
    cache.apply("ADDED", pod("old", rv=2))
    cache.replace([pod("b", rv=40, typed=False), pod("a", rv=30, typed=False)], 50)
    assert [e.key for e in cache.list().items] == ["default/a", "default/b"]
    assert cache.rv == 50 and cache.since(50) == []
    with pytest.raises(TooOldResourceVersion):
        cache.since(2)


def test_replace_returns_the_difference_deletions_missed_included() -> None:
    cache = pods_cache()
    cache.replace([pod("gone", rv=2), pod("same", rv=3), pod("changed", rv=4)], 4)
    cache.apply("ADDED", pod("recreated", rv=5, uid="u1"))
    changes = cache.replace(
        [
            pod("same", rv=3),
            pod("changed", rv=8),
            pod("new", rv=9),
            pod("recreated", rv=7, uid="u2"),
        ],
        10,
    )
    seen = [(e.type, e.key, e.rv, e.prev.rv if e.prev else None) for e in changes]
    assert seen == [
        ("DELETED", "default/gone", 10, 2),
        ("MODIFIED", "default/changed", 8, 4),
        ("ADDED", "default/new", 9, None),
        ("MODIFIED", "default/recreated", 7, 5),
    ]
    deleted = changes[0]
    assert deleted.entry.rv == 2 and deleted.entry.raw == pod("gone", rv=2)  # last known state


def test_first_replace_is_all_adds() -> None:
    changes = pods_cache().replace([pod("a", rv=2), pod("b", rv=3)], 3)
    assert [(e.type, e.key) for e in changes] == [("ADDED", "default/a"), ("ADDED", "default/b")]


def test_list_pages_with_remaining_count_and_relative_keys() -> None:
    cache = pods_cache()
    for i, ns in enumerate(["a", "a", "a", "b"]):
        cache.apply("ADDED", pod(f"p{i}", ns, rv=10 + i))
    page = cache.list(namespace="a", limit=2)
    assert [e.key for e in page.items] == ["a/p0", "a/p1"]
    assert page.continue_after == "p1" and page.remaining == 1 and page.rv == 13
    page = cache.list(namespace="a", limit=2, continue_after="p1", rv=page.rv)
    assert [e.key for e in page.items] == ["a/p2"] and page.continue_after is None
    page = cache.list(limit=3)
    assert page.continue_after == "a/p2" and page.remaining == 1


def test_a_full_last_page_has_no_continue() -> None:
    cache = pods_cache()
    cache.apply("ADDED", pod("a", rv=2))
    cache.apply("ADDED", pod("b", rv=3))
    page = cache.list(limit=2)
    assert len(page.items) == 2 and page.continue_after is None and page.remaining is None


def test_selected_page_continues_while_keys_remain_even_if_none_match() -> None:
    cache = pods_cache()
    cache.apply("ADDED", pod("a", rv=2, labels={"x": "1"}))
    cache.apply("ADDED", pod("b", rv=3))
    page = cache.list(labels=Labels({"x": "1"}), limit=1)
    assert [e.name for e in page.items] == ["a"]
    assert page.continue_after == "default/a" and page.remaining is None
    page = cache.list(labels=Labels({"x": "1"}), limit=1, continue_after="default/a", rv=page.rv)
    assert page.items == [] and page.continue_after is None


def test_field_selector_on_indexed_field_and_defaults() -> None:
    cache = pods_cache()
    cache.apply("ADDED", pod("a", rv=2, node="n1"))
    cache.apply("ADDED", pod("b", "other", rv=3, node="n1"))
    cache.apply("ADDED", pod("c", rv=4))
    assert [e.key for e in cache.list(fields=Fields({"spec.nodeName": "n1"})).items] == [
        "default/a",
        "other/b",
    ]
    assert [
        e.key for e in cache.list(namespace="other", fields=Fields({"spec.nodeName": "n1"})).items
    ] == ["other/b"]
    assert [e.key for e in cache.list(fields=Fields({"spec.nodeName": ""})).items] == ["default/c"]
    always = cache.list(fields=Fields({"spec.restartPolicy": "Always"}))
    assert len(always.items) == 3


def test_exact_rv_ahead_of_the_cache_is_refused() -> None:
    cache = pods_cache()
    with pytest.raises(TooNewResourceVersion):
        cache.list(rv=5)


def test_exact_rv_outside_the_window_is_too_old() -> None:
    cache = pods_cache(history_min_events=100, history_max_events=100)
    for rv in range(2, 203):
        cache.apply("MODIFIED", pod("a", rv=rv))
    with pytest.raises(TooOldResourceVersion) as err:
        cache.list(rv=50)
    assert err.value.message == "too old resource version: 50 (102)"
    assert cache.list(rv=102).items[0].rv == 102


def test_shard_ranges_partition_a_list() -> None:
    cache = pods_cache(shard_count=4)
    for i in range(50):
        # Real uids are random UUIDs; FNV-1a's top bits barely move when
        # only the last characters differ.
        cache.apply(
            "ADDED", pod(f"p{i:02d}", rv=10 + i, uid=str(uuid.uuid5(uuid.NAMESPACE_DNS, str(i))))
        )
    full = [e.key for e in cache.list().items]
    quarters = [cache.list(shard_ranges=[(q << 62, (q + 1) << 62)]).items for q in range(4)]
    assert sorted(e.key for part in quarters for e in part) == full
    assert all(len(part) < 50 for part in quarters)


def test_strip_managed_fields_config() -> None:
    cache = pods_cache(strip_managed_fields=True)
    cache.apply("ADDED", pod("a", rv=2, managed=True))
    entry = cache.get("default", "a")
    assert entry is not None and "managedFields" not in json.loads(entry.raw)["metadata"]


def test_cluster_scoped_custom_resource_keys_and_items() -> None:
    cache = Cache(WIDGETS, clock=Clock())  # type: ignore[arg-type]
    cache.replace([], 1)
    cache.apply(
        "ADDED",
        b'{"kind":"Widget","apiVersion":"example.com/v1","metadata":{"name":"w","resourceVersion":"2"}}',
    )
    page = cache.list()
    assert [e.key for e in page.items] == ["w"]
    assert page.items[0].item_bytes() == page.items[0].raw


async def test_follow_yields_history_then_live_events() -> None:
    cache = pods_cache()
    cache.apply("ADDED", pod("a", rv=2))
    seen: list[int] = []

    async def consume() -> None:
        async for event in cache.follow(1):
            seen.append(event.rv)
            if event.rv == 4:
                return

    task = asyncio.create_task(consume())
    await asyncio.sleep(0)
    cache.apply("ADDED", pod("b", rv=3))
    await asyncio.sleep(0)
    cache.apply("ADDED", pod("c", rv=4))
    await asyncio.wait_for(task, 5)
    assert seen == [2, 3, 4]


async def test_follower_behind_a_relist_gets_too_old() -> None:
    cache = pods_cache()
    follower = cache.follow(1)
    cache.replace([], 10)
    with pytest.raises(TooOldResourceVersion):
        await anext(follower)


async def test_wait_until_returns_once_rv_is_reached() -> None:
    cache = pods_cache()
    waiter = asyncio.create_task(cache.wait_until(5))
    await asyncio.sleep(0)
    cache.bookmark(4)
    await asyncio.sleep(0)
    assert not waiter.done()
    cache.bookmark(5)
    await asyncio.wait_for(waiter, 5)


def test_initial_events_are_synthetic_added_of_the_selected_state() -> None:
    cache = pods_cache()
    cache.apply("ADDED", pod("b", rv=2, labels={"x": "1"}))
    cache.apply("ADDED", pod("a", rv=3, labels={"x": "1"}))
    cache.apply("ADDED", pod("c", rv=4))
    cache.apply("MODIFIED", pod("b", rv=5, labels={"x": "1"}))
    events, rv = cache.initial_events(labels=Labels({"x": "1"}))
    assert rv == 5
    assert [(e.type, e.key, e.rv, e.prev) for e in events] == [
        ("ADDED", "default/a", 3, None),
        ("ADDED", "default/b", 5, None),
    ]
    assert json.loads(events[1].line("ADDED"))["object"]["metadata"]["resourceVersion"] == "5"


def test_statistics() -> None:
    cache = pods_cache()
    cache.apply("ADDED", pod("a", rv=2))
    cache.apply("MODIFIED", pod("a", rv=3))
    stats = cache.statistics()
    assert (stats.rv, stats.objects, stats.history_events, stats.oldest_rv) == (3, 1, 2, 2)
    assert stats.history_bytes > 0 and stats.history_capacity == 100


@pytest.mark.parametrize(
    "line",
    [
        b'{"type":"ADDED","object":' + pod("a", rv=7) + b"}\n",
        b'{"type":"ADDED","object":' + pod("a", rv=7) + b"}",
        b'{"object":' + pod("a", rv=7) + b',"type":"ADDED"}\n',  # other key order
        b'{"type":"ADDED","object":' + pod("a", rv=7) + b',"extra":1}\n',  # trailing key
        b'{ "type": "ADDED", "object": ' + pod("a", rv=7) + b" }\n",  # spaced
    ],
)
def test_apply_line_accepts_any_json_shape(line: bytes) -> None:
    cache = pods_cache()
    event = cache.apply_line(line)
    assert event is not None and event.type == "ADDED"
    assert event.entry.raw == pod("a", rv=7)


def test_custom_index_and_reads_at_an_exact_rv() -> None:
    cache = pods_cache(indexers={"app": lambda e: [e.labels.get("app", "")]})
    cache.apply("ADDED", pod("b", rv=2, labels={"app": "web"}))
    cache.apply("ADDED", pod("a", rv=3, labels={"app": "web"}))
    cache.apply("MODIFIED", pod("b", rv=4, labels={"app": "db"}))
    assert [e.key for e in cache.by_index("app", "web")] == ["default/a"]
    assert [e.key for e in cache.by_index("app", "web", rv=3)] == ["default/a", "default/b"]
    assert [e.key for e in cache.by_index("spec.nodeName", "")] == ["default/a", "default/b"]
    with pytest.raises(KeyError):
        cache.by_index("nope", "x")
    old = cache.get("default", "b", rv=3)
    assert old is not None and old.labels == {"app": "web"}
    assert cache.get("default", "a", rv=2) is None


def test_indexed_page_continues_like_an_unindexed_one() -> None:
    """The node index must not change paging: a full page continues while
    any key follows it, as etcd's (and the key-range path's) answer does."""
    cache = pods_cache()
    cache.apply("ADDED", pod("a", rv=2, node="n1"))
    cache.apply("ADDED", pod("b", rv=3, node="n2"))
    on_n1 = Fields({"spec.nodeName": "n1"})
    indexed = cache.list(fields=on_n1, limit=1)
    unindexed = Cache(PODS, CacheConfig(indexed_fields=()), clock=Clock())  # type: ignore[arg-type]
    unindexed.replace([pod("a", rv=2, node="n1"), pod("b", rv=3, node="n2")], 3)
    plain = unindexed.list(fields=on_n1, limit=1)
    assert [e.key for e in indexed.items] == [e.key for e in plain.items] == ["default/a"]
    assert indexed.continue_after == plain.continue_after == "default/a"
    last = cache.list(fields=on_n1, limit=1, continue_after="default/a", rv=indexed.rv)
    assert last.items == [] and last.continue_after is None


def test_idle_seconds_counts_from_the_last_change_not_bookmarks() -> None:
    clock = Clock()
    cache = Cache(PODS, CacheConfig(), clock=clock)
    cache.replace([], 1)
    assert cache.idle_seconds() == float("inf")
    cache.apply("ADDED", pod("a", rv=2))
    clock.now += 3
    cache.bookmark(10)  # proves nothing changed: the resource is still quiet
    assert cache.idle_seconds() == 3
