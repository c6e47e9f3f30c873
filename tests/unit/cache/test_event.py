from __future__ import annotations

import json

from tests.unit.cache.fakes import POD_FIELDS, Labels, pod

from watchcache.cache.entry import EntryCodec
from watchcache.cache.event import ADDED, DELETED, MODIFIED, Event, with_resource_version
from watchcache.fanout.filter import WatchFilter

CODEC = EntryCodec(
    kind="Pod", api_version="v1", namespaced=True, field_defaults=POD_FIELDS, builtin=True
)


def test_line_splices_raw_bytes_and_is_memoised() -> None:
    new = CODEC.decode(pod("a", rv=2, labels={"x": "1"}))
    ev = Event(MODIFIED, new, None, 2)
    line = ev.line("MODIFIED")
    assert line == b'{"type":"MODIFIED","object":' + new.raw + b"}\n"
    assert ev.line("MODIFIED") is line
    assert json.loads(ev.line("ADDED"))["type"] == "ADDED"


def test_deleted_line_of_modified_is_previous_object_at_event_rv() -> None:
    prev = CODEC.decode(pod("a", rv=2, labels={"x": "1"}))
    new = CODEC.decode(pod("a", rv=7, labels={"x": "2"}))
    ev = Event(MODIFIED, new, prev, 7)
    got = json.loads(ev.deleted_line())
    assert got["type"] == "DELETED"
    assert got["object"]["metadata"]["labels"] == {"x": "1"}
    assert got["object"]["metadata"]["resourceVersion"] == "7"
    assert (ev.prev_labels, ev.labels) == ({"x": "1"}, {"x": "2"})


def test_deleted_event_uses_upstream_object() -> None:
    prev = CODEC.decode(pod("a", rv=2))
    gone = CODEC.decode(pod("a", rv=9))
    ev = Event(DELETED, gone, prev, 9)
    assert ev.deleted_line() == b'{"type":"DELETED","object":' + gone.raw + b"}\n"
    assert ev.retained_bytes() == len(prev.raw) + len(gone.raw)


def test_forget_lines_recomputes_equal_bytes() -> None:
    ev = Event(MODIFIED, CODEC.decode(pod("a", rv=3)), None, 3)
    first = ev.line("MODIFIED")
    ev.forget_lines()
    again = ev.line("MODIFIED")
    assert again == first and again is not first


def test_with_resource_version_only_touches_metadata() -> None:
    raw = pod("a", rv=5)
    assert json.loads(with_resource_version(raw, 5, 6))["metadata"]["resourceVersion"] == "6"
    assert with_resource_version(raw, 4, 6) == raw


def test_events_drive_the_fanout_filter() -> None:
    """Event satisfies watchcache.fanout's FanoutEvent: a selector watcher
    sees ADDED on entering, MODIFIED inside, DELETED (old object, new rv)
    on leaving."""
    watcher = WatchFilter(namespace="default", labels=Labels({"x": "1"}), fields=Labels({}))
    v1 = CODEC.decode(pod("a", rv=2, labels={"x": "0"}))
    v2 = CODEC.decode(pod("a", rv=3, labels={"x": "1"}))
    v3 = CODEC.decode(pod("a", rv=4, labels={"x": "1"}, node="n"))
    v4 = CODEC.decode(pod("a", rv=5, labels={"x": "2"}))
    assert watcher.line_for(Event(ADDED, v1, None, 2)) is None
    assert (
        watcher.line_for(Event(MODIFIED, v2, v1, 3))
        == b'{"type":"ADDED","object":' + v2.raw + b"}\n"
    )
    assert (
        watcher.line_for(Event(MODIFIED, v3, v2, 4))
        == b'{"type":"MODIFIED","object":' + v3.raw + b"}\n"
    )
    left = watcher.line_for(Event(MODIFIED, v4, v3, 5))
    assert left is not None
    assert json.loads(left)["type"] == "DELETED"
    assert json.loads(left)["object"]["metadata"]["resourceVersion"] == "5"
    assert json.loads(left)["object"]["spec"]["nodeName"] == "n"
