"""The history checker catches each kind of divergence and passes a
correct history."""

from __future__ import annotations

from typing import Any

import pytest

from watchcache.testing.history import History, Scope

NS = "t"


def obj(name: str, rv: int, **labels: str) -> dict[str, Any]:
    return {
        "metadata": {"namespace": NS, "name": name, "resourceVersion": str(rv), "labels": labels}
    }


def writes() -> History:
    """a created (10), b created (11), a relabelled out of app=x (12),
    b modified (13), a relabelled back in (14), b deleted (15)."""
    h = History()
    h.write("ADDED", obj("a", 10, app="x"))
    h.write("ADDED", obj("b", 11, app="x"))
    h.write("MODIFIED", obj("a", 12, app="y"))
    h.write("MODIFIED", obj("b", 13, app="x"))
    h.write("MODIFIED", obj("a", 14, app="x"))
    h.write("DELETED", obj("b", 15, app="x"))
    return h


SELECTED = Scope(NS, "app=x")


def correct_stream(h: History, name: str = "w") -> None:
    session = h.watch(name, SELECTED).start(9)
    session.event("ADDED", obj("a", 10, app="x"))
    session.event("ADDED", obj("b", 11, app="x"))
    session.event("DELETED", obj("a", 12, app="x"))
    session.event("MODIFIED", obj("b", 13, app="x"))
    session.bookmark(13)
    session.event("ADDED", obj("a", 14, app="x"))
    session.event("DELETED", obj("b", 15, app="x"))


def only(h: History) -> str:
    found = h.check()
    assert len(found) == 1, found
    return str(found[0])


def test_a_correct_history_passes() -> None:
    h = writes()
    correct_stream(h)
    initial = h.watch("i", SELECTED).start(0)
    initial.initial_event(obj("b", 13, app="x"))
    initial.event("ADDED", obj("a", 14, app="x"))
    initial.event("DELETED", obj("b", 15, app="x"))
    h.list_answer(SELECTED, 12, [obj("b", 11, app="x")], consistent=True, written_before=12)
    h.list_answer(Scope(NS), 14, [obj("a", 14, app="x"), obj("b", 13, app="x")], consistent=False)
    assert h.check() == []


def test_a_watch_stopped_early_passes() -> None:
    h = writes()
    session = h.watch("w", SELECTED).start(12)
    session.event("MODIFIED", obj("b", 13, app="x"))
    session.end("closed")
    assert h.check() == []


# One watch of SELECTED from an RV over writes(), by what is wrong with it:
# the RV it starts from, its events (type, name, RV, app label), and the one
# divergence the checker must name.
Events = list[tuple[str, str, int, str]]
WRONG_STREAMS: dict[str, tuple[int, Events, str]] = {
    "a_dropped_event": (
        9,
        [("ADDED", "a", 10, "x"), ("DELETED", "a", 12, "x")],
        "ADDED t/b@11 was dropped before it",
    ),
    "a_selector_leaver_not_deleted": (
        11,
        [("MODIFIED", "a", 12, "y")],
        "MODIFIED t/a@12 should be DELETED",
    ),
    "a_duplicate": (
        9,
        [("ADDED", "a", 10, "x"), ("ADDED", "a", 10, "x")],
        "item 1: ADDED t/a@10 duplicates",
    ),
    "a_reorder": (
        9,
        [("ADDED", "b", 11, "x"), ("ADDED", "a", 10, "x")],
        "ADDED t/b@11 but ADDED t/a@10 was dropped",
    ),
    "an_event_going_back": (
        9,
        [("ADDED", "a", 10, "x"), ("ADDED", "b", 11, "x"), ("ADDED", "a", 10, "x")],
        "item 2: ADDED t/a@10 out of order",
    ),
    "an_event_no_write_reported": (15, [("ADDED", "c", 16, "x")], "ADDED t/c@16 matches no write"),
    # kube-apiserver sends a leaver's DELETED with its labels before it left (app=x)
    "a_leavers_deleted_without_its_previous_labels": (
        11,
        [("DELETED", "a", 12, "y")],
        "DELETED t/a@12 has labels {'app': 'y'}, expected {'app': 'x'}",
    ),
}


@pytest.mark.parametrize(
    ("start", "events", "message"), list(WRONG_STREAMS.values()), ids=list(WRONG_STREAMS)
)
def test_a_wrong_stream_is_named(start: int, events: Events, message: str) -> None:
    h = writes()
    session = h.watch("w", SELECTED).start(start)
    for kind, name, rv, app in events:
        session.event(kind, obj(name, rv, app=app))
    assert message in only(h)


def test_a_bookmark_past_an_undelivered_event() -> None:
    h = writes()
    session = h.watch("w", SELECTED).start(9)
    session.event("ADDED", obj("a", 10, app="x"))
    session.bookmark(11)
    assert "bookmark at RV 11 but ADDED t/b@11 was not delivered" in only(h)


def test_wrong_initial_state_is_named() -> None:
    h = writes()
    session = h.watch("w", SELECTED).start(0)
    session.initial_event(obj("a", 10, app="x"))  # a left the selector at 12
    session.initial_event(obj("b", 13, app="x"))
    message = only(h)
    assert "initial events are not the state at any RV in [13, 15]" in message
    assert "t/a@10 present but not in the state" in message


def test_initial_state_then_a_gap() -> None:
    h = writes()
    session = h.watch("w", SELECTED).start(0)
    session.initial_event(obj("a", 10, app="x"))  # the state at 10
    session.event("DELETED", obj("a", 12, app="x"))  # b@11 never sent
    assert "DELETED t/a@12 but ADDED t/b@11 was dropped before it" in only(h)


def test_initial_state_after_a_delete_is_found() -> None:
    h = writes()
    session = h.watch("w", SELECTED).start(0)
    session.initial_event(obj("a", 14, app="x"))  # the state at 15: b deleted
    assert h.check() == []


def test_a_list_not_equal_to_the_state_at_its_rv() -> None:
    h = writes()
    h.list_answer(SELECTED, 13, [obj("b", 13, app="x"), obj("a", 10, app="x")], consistent=False)
    assert "t/a@10 present but not in the state" in only(h)


def test_a_list_with_a_stale_version() -> None:
    h = writes()
    h.list_answer(SELECTED, 13, [obj("b", 11, app="x")], consistent=False)
    assert "t/b at RV 11, the state has RV 13" in only(h)


def test_a_consistent_list_older_than_a_write_before_it() -> None:
    h = writes()
    h.list_answer(SELECTED, 12, [obj("b", 11, app="x")], consistent=True, written_before=13)
    assert "older than the write at RV 13" in only(h)


def test_a_410_must_be_followed_by_a_relist() -> None:
    h = writes()
    record = h.watch("w", SELECTED)
    first = record.start(9)
    first.event("ADDED", obj("a", 10, app="x"))
    first.end("410")
    record.start(10)  # resumed from its RV, as if the 410 never happened
    assert "a 410 was not followed by a relist" in only(h)


def test_a_relist_after_410_is_accounted_for() -> None:
    h = writes()
    record = h.watch("w", SELECTED)
    first = record.start(9)
    first.event("ADDED", obj("a", 10, app="x"))
    first.end("410")
    relisted = record.start(13, after_list=True)
    relisted.event("ADDED", obj("a", 14, app="x"))
    assert h.check() == []


def test_a_relist_going_back_in_time() -> None:
    h = writes()
    record = h.watch("w", SELECTED)
    first = record.start(11)
    first.event("DELETED", obj("a", 12, app="x"))
    first.end("410")
    record.start(11, after_list=True)
    assert "relisted at RV 11, older than RV 12 already seen" in only(h)


def test_writes_recorded_out_of_order_are_sorted() -> None:
    h = History()
    h.write("ADDED", obj("b", 11))
    h.write("ADDED", obj("a", 10))
    session = h.watch("w", Scope(NS)).start(9)
    session.event("ADDED", obj("a", 10))
    session.event("ADDED", obj("b", 11))
    assert h.check() == []


def kube_deletes() -> History:
    """kube-apiserver's answers: a's DELETE answers a@10 (the deleted
    version); the pod's deletionTimestamp (11) and removal (12) are not in
    the answer; c's create answered 13 was sent after."""
    h = History()
    h.write("ADDED", obj("a", 10, app="x"))
    h.write("DELETED", obj("a", 10, app="x"))
    h.write("ADDED", obj("c", 13, app="x"))
    return h


def test_a_delete_placed_by_what_watchers_saw() -> None:
    h = kube_deletes()
    for name in ("w1", "w2"):
        session = h.watch(name, SELECTED).start(9)
        session.event("ADDED", obj("a", 10, app="x"))
        session.event("MODIFIED", obj("a", 11, app="x"))
        session.event("DELETED", obj("a", 12, app="x"))
        session.event("ADDED", obj("c", 13, app="x"))
    h.list_answer(SELECTED, 11, [obj("a", 11, app="x")], consistent=False)
    assert h.check() == []


def test_a_watcher_missing_the_graceful_update_is_caught() -> None:
    h = kube_deletes()
    full = h.watch("w1", SELECTED).start(9)
    full.event("ADDED", obj("a", 10, app="x"))
    full.event("MODIFIED", obj("a", 11, app="x"))
    full.event("DELETED", obj("a", 12, app="x"))
    short = h.watch("w2", SELECTED).start(9)
    short.event("ADDED", obj("a", 10, app="x"))
    short.event("DELETED", obj("a", 12, app="x"))
    assert "w2" in only(h) and "DELETED t/a@12 but MODIFIED t/a@11 was dropped" in only(h)


def test_watchers_disagreeing_on_a_delete() -> None:
    h = kube_deletes()
    for name, rv in (("w1", 11), ("w2", 12)):
        session = h.watch(name, SELECTED).start(10)
        session.event("DELETED", obj("a", rv, app="x"))
    found = [str(d) for d in h.check()]
    assert any(
        "delete of t/a after RV 10: watchers disagree: DELETED at [11, 12]" in d for d in found
    )


def test_a_graceful_delete_answer_is_the_update_then_a_removal() -> None:
    """A pod's DELETE answers the object with its deletionTimestamp set at
    the update's RV (11); the removal (12) is not in the answer."""
    h = History()
    h.write("ADDED", obj("a", 10, app="x"))
    answer = obj("a", 11, app="x")
    answer["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    h.write("DELETED", answer)
    h.write("ADDED", obj("c", 13, app="x"))
    good = h.watch("good", SELECTED).start(9)
    good.event("ADDED", obj("a", 10, app="x"))
    good.event("MODIFIED", obj("a", 11, app="x"))
    good.event("DELETED", obj("a", 12, app="x"))
    good.event("ADDED", obj("c", 13, app="x"))
    assert h.check() == []
    h = History()
    h.write("ADDED", obj("a", 10, app="x"))
    h.write("DELETED", answer)
    h.write("ADDED", obj("c", 13, app="x"))
    early = h.watch("early", SELECTED).start(9)
    early.event("ADDED", obj("a", 10, app="x"))
    early.event("DELETED", obj("a", 11, app="x"))
    assert "DELETED t/a@11 should be MODIFIED" in only(h)


def test_initial_state_at_the_newest_rv_it_equals() -> None:
    """b enters at 11 and leaves at 12: the states at 10 and at 12 are the
    same; a WatchList whose initial-events-end bookmark is at 12 owes no
    events for b (found by the soak against kube-apiserver)."""
    h = History()
    h.write("ADDED", obj("a", 10, app="x"))
    h.write("ADDED", obj("b", 11, app="x"))
    h.write("MODIFIED", obj("b", 12, app="y"))
    session = h.watch("w", SELECTED).start(0)
    session.initial_event(obj("a", 10, app="x"))
    session.bookmark(12)
    assert h.check() == []


def test_a_delete_no_watcher_heard_is_placed_where_they_show_it_gone() -> None:
    """Every watcher relisted across a's delete (11 or 12: the answer does
    not say), so none heard it; a LIST at 11 lacks a, and a watch resumed
    from 11 goes on to c's create without a DELETED: the delete was at 11
    at the latest, not just before c's create (upstream's RV 12 may be
    another object's)."""
    h = kube_deletes()
    h.list_answer(SELECTED, 11, [], consistent=True, written_before=10)
    session = h.watch("w", SELECTED).start(11, after_list=True)
    session.event("ADDED", obj("c", 13, app="x"))
    resumed = h.watch("w2", SELECTED).start(11)
    resumed.event("ADDED", obj("c", 13, app="x"))
    assert h.check() == []


def test_a_delete_no_watcher_heard_is_still_a_gap_for_one_that_spanned_it() -> None:
    h = kube_deletes()
    h.list_answer(SELECTED, 11, [], consistent=True, written_before=10)
    spanning = h.watch("w", SELECTED).start(10)
    spanning.event("ADDED", obj("c", 13, app="x"))
    assert "DELETED t/a@11 was dropped" in only(h)
