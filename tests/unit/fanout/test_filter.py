from __future__ import annotations

import json
import random
import uuid

import pytest
from tests.unit.fanout.fakes import EqSelector, Event, Obj

from watchcache.api.shardselector import ShardSelector, even_shards
from watchcache.fanout.filter import WatchFilter

BLUE = WatchFilter(None, EqSelector({"color": "blue"}), EqSelector())


def decoded(line: bytes | None) -> tuple[str, str] | None:
    if line is None:
        return None
    event = json.loads(line)
    return event["type"], event["object"]["metadata"]["labels"]["color"]


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (Event("ADDED", 2, Obj("ns", "a", {"color": "blue"})), ("ADDED", "blue")),
        (Event("ADDED", 2, Obj("ns", "a", {"color": "red"})), None),
        (
            Event(
                "MODIFIED", 3, Obj("ns", "a", {"color": "blue"}), Obj("ns", "a", {"color": "blue"})
            ),
            ("MODIFIED", "blue"),
        ),
        # entering the selector is an ADDED
        (
            Event(
                "MODIFIED", 3, Obj("ns", "a", {"color": "blue"}), Obj("ns", "a", {"color": "red"})
            ),
            ("ADDED", "blue"),
        ),
        # leaving it is a DELETED carrying the previous object
        (
            Event(
                "MODIFIED", 3, Obj("ns", "a", {"color": "red"}), Obj("ns", "a", {"color": "blue"})
            ),
            ("DELETED", "blue"),
        ),
        (
            Event(
                "MODIFIED", 3, Obj("ns", "a", {"color": "red"}), Obj("ns", "a", {"color": "red"})
            ),
            None,
        ),
        (
            Event(
                "DELETED", 4, Obj("ns", "a", {"color": "blue"}), Obj("ns", "a", {"color": "blue"})
            ),
            ("DELETED", "blue"),
        ),
        (
            Event("DELETED", 4, Obj("ns", "a", {"color": "red"}), Obj("ns", "a", {"color": "red"})),
            None,
        ),
    ],
)
def test_kube_apiserver_rule(event: Event, expected: tuple[str, str] | None) -> None:
    assert decoded(BLUE.line_for(event)) == expected


def test_deleted_carries_the_event_rv() -> None:
    event = Event(
        "MODIFIED", 9, Obj("ns", "a", {"color": "red"}), Obj("ns", "a", {"color": "blue"})
    )
    line = BLUE.line_for(event)
    assert line is not None
    assert json.loads(line)["object"]["metadata"]["resourceVersion"] == "9"


def test_namespace_scope() -> None:
    scoped = WatchFilter("ns1", EqSelector(), EqSelector())
    assert scoped.line_for(Event("ADDED", 2, Obj("ns2", "a", {}))) is None
    assert scoped.line_for(Event("ADDED", 2, Obj("ns1", "a", {}))) is not None


RED = {"color": "red"}


def _uid_in(selector: ShardSelector, inside: bool) -> str:
    uids = (str(uuid.UUID(int=random.Random(i).getrandbits(128))) for i in range(1000))
    return next(u for u in uids if selector.matches(u, "") == inside)


def test_a_shard_hears_only_its_objects_and_a_recreation_moves_them() -> None:
    """uid never changes for one object, but a relist can see a key
    recreated with a new uid (a MODIFIED whose previous object is another):
    it enters or leaves the share as an ADDED or a DELETED."""
    shard = ShardSelector.parse(even_shards(2)[0])
    sharded = WatchFilter(None, EqSelector(), EqSelector(), shard)
    assert not sharded.everything
    inside, outside = _uid_in(shard, True), _uid_in(shard, False)
    assert sharded.line_for(Event("ADDED", 2, Obj("ns", "a", RED, uid=outside))) is None
    added = sharded.line_for(Event("ADDED", 2, Obj("ns", "a", RED, uid=inside)))
    assert decoded(added) == ("ADDED", "red")
    entered = Event(
        "MODIFIED", 3, Obj("ns", "a", RED, uid=inside), Obj("ns", "a", RED, uid=outside)
    )
    left = Event("MODIFIED", 4, Obj("ns", "a", RED, uid=outside), Obj("ns", "a", RED, uid=inside))
    assert decoded(sharded.line_for(entered)) == ("ADDED", "red")
    assert decoded(sharded.line_for(left)) == ("DELETED", "red")
    assert sharded.key() != WatchFilter(None, EqSelector(), EqSelector()).key()
