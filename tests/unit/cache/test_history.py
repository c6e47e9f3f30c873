from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.cache.fakes import POD_FIELDS, Clock, pod

from watchcache.api.status import ApiError
from watchcache.cache.entry import EntryCodec
from watchcache.cache.event import ADDED, DELETED, MODIFIED, Event
from watchcache.cache.history import (
    LINE_MEMO_EVENTS,
    MAX_DELTAS_IN_ROW,
    PACK_AFTER_EVENTS,
    History,
    TooOldResourceVersion,
)

CODEC = EntryCodec(
    kind="Pod", api_version="v1", namespaced=True, field_defaults=POD_FIELDS, builtin=True
)


def ev(rv: int, name: str = "a", kind: str = ADDED, prev_rv: int | None = None) -> Event:
    prev = CODEC.decode(pod(name, rv=prev_rv)) if prev_rv is not None else None
    return Event(kind, CODEC.decode(pod(name, rv=rv)), prev, rv)


def history(clock: Clock | None = None, **kw: float) -> History:
    return History(clock=clock or Clock(), **kw)  # type: ignore[arg-type]


def test_since_returns_events_after_rv_in_order() -> None:
    h = history()
    h.reset(10)
    for rv in (11, 13, 20):
        h.append(ev(rv))
    assert [e.rv for e in h.since(10)] == [11, 13, 20]
    assert [e.rv for e in h.since(12)] == [13, 20]
    assert [e.rv for e in h.since(13)] == [20]
    assert h.since(20) == []
    assert h.since(99) == []  # newer than the cache: nothing yet, no error


def test_before_any_eviction_every_rv_since_the_relist_is_served() -> None:
    h = history()
    h.reset(10)
    h.append(ev(15))
    assert h.oldest() == 11
    assert [e.rv for e in h.since(10)] == [15]
    with pytest.raises(TooOldResourceVersion) as err:
        h.since(9)
    assert err.value.message == "too old resource version: 9 (10)"


def test_after_eviction_m_is_oldest_kept_minus_one_and_is_accepted() -> None:
    h = history(min_events=100, max_events=100, window=0.0)
    h.reset(0)
    for rv in range(1, 151):
        h.append(ev(rv * 2))  # rvs 2, 4, ..., 300; the ring keeps the last 100
    assert len(h) == 100
    oldest = h.oldest()
    assert oldest == 102
    assert [e.rv for e in h.since(101)][:2] == [102, 104]  # M itself is accepted
    with pytest.raises(TooOldResourceVersion) as err:
        h.since(100)
    assert err.value.message == "too old resource version: 100 (101)"
    assert (err.value.rv, err.value.oldest) == (100, 102)


def test_capacity_doubles_while_the_oldest_event_is_younger_than_the_window() -> None:
    clock = Clock()
    h = history(clock, window=75.0)
    h.reset(0)
    for rv in range(1, 1001):
        clock.now += 0.01  # 1000 events in 10 s: all inside the window
        h.append(ev(rv))
    assert len(h) == 1000
    assert h.capacity == 1600  # 100 -> 200 -> 400 -> 800 -> 1600
    assert h.since(0)[0].rv == 1


def test_capacity_never_exceeds_max_events() -> None:
    clock = Clock()
    h = history(clock, max_events=400)
    h.reset(0)
    for rv in range(1, 1001):
        h.append(ev(rv))
    assert h.capacity == 400 and len(h) == 400
    assert h.oldest() == 601


def test_capacity_halves_when_the_newest_quarter_is_older_than_the_window() -> None:
    clock = Clock()
    h = history(clock, window=75.0)
    h.reset(0)
    for rv in range(1, 401):
        h.append(ev(rv))  # all at one instant: grows to 400
    assert h.capacity == 400 and len(h) == 400
    clock.now += 100  # every kept event is now older than the window
    h.append(ev(401))
    assert h.capacity == 200
    assert len(h) == 200  # halved to 200 kept newest, then the oldest evicted for 401
    assert [e.rv for e in h.since(h.oldest() - 1)][-1] == 401
    assert h.oldest() == 202


def test_capacity_stays_when_old_but_not_stale() -> None:
    clock = Clock()
    h = history(clock, window=75.0)
    h.reset(0)
    for rv in range(1, 101):
        clock.now += 1.0  # oldest 100 s ago, newest quarter recent
        h.append(ev(rv))
    h.append(ev(101))
    assert h.capacity == 100 and len(h) == 100


def test_byte_bound_evicts_oldest() -> None:
    one = ev(102, kind=MODIFIED, prev_rv=101).retained_bytes()  # same size for rvs 101..999
    h = history(max_bytes=one * 3)
    h.reset(100)
    for rv in range(102, 112):
        h.append(ev(rv, kind=MODIFIED, prev_rv=rv - 1))
    assert len(h) == 3
    assert h.retained_bytes == one * 3
    assert h.oldest() == 109


def test_retained_bytes_follow_the_ring() -> None:
    h = history(min_events=100, max_events=100)
    h.reset(0)
    events = [ev(rv, kind=DELETED, prev_rv=rv - 1) for rv in range(2, 150)]
    for e in events:
        h.append(e)
    assert h.retained_bytes == sum(e.retained_bytes() for e in events[-100:])


def test_lines_of_old_events_are_forgotten() -> None:
    h = history()
    h.reset(0)
    events = [ev(rv) for rv in range(1, LINE_MEMO_EVENTS + 3)]
    for e in events:
        e.line(ADDED)
        h.append(e)
    assert not events[0]._lines and not events[1]._lines
    assert events[2]._lines and events[-1]._lines
    # Read again (a watch resuming far back): made afresh, not memoised again.
    assert events[0].line(ADDED) == Event(ADDED, events[0].entry, None, 1).line(ADDED)
    assert not events[0]._lines


def test_reset_drops_events() -> None:
    h = history()
    h.reset(0)
    h.append(ev(1))
    h.reset(50)
    assert len(h) == 0 and h.retained_bytes == 0
    assert h.since(50) == []
    with pytest.raises(TooOldResourceVersion):
        h.since(1)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 5), st.floats(0, 40)), max_size=400),
    st.integers(0, 2000),
    st.integers(0, 500),
)
def test_history_answers_like_the_full_log_or_expires(
    steps: list[tuple[int, float]], max_bytes: int, probe: int
) -> None:
    """Random rv gaps and clock steps: whatever the ring kept, since(rv)
    equals the full log after rv, or raises exactly when rv < oldest - 1."""
    clock = Clock()
    h = history(
        clock, min_events=4, max_events=64, window=75.0, max_bytes=max_bytes * 10 or 1 << 30
    )
    h.reset(10)
    log: list[int] = []
    rv = 10
    for gap, dt in steps:
        rv += gap
        clock.now += dt
        h.append(ev(rv))
        log.append(rv)
        assert 4 <= h.capacity <= 64 and len(h) <= h.capacity
    oldest = h.oldest()
    for asked in {10, probe + 10, rv, *(r - 1 for r in log[-5:])}:
        if asked < oldest - 1:
            with pytest.raises(TooOldResourceVersion):
                h.since(asked)
        else:
            assert [e.rv for e in h.since(asked)] == [r for r in log if r > asked]


def test_too_old_is_kube_apiservers_expired_status() -> None:
    h = history()
    h.reset(10)
    with pytest.raises(ApiError) as err:
        h.since(3)
    assert err.value.status() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "too old resource version: 3 (10)",
        "reason": "Expired",
        "code": 410,
    }


def test_covered_seconds_is_the_age_of_the_oldest_kept_event() -> None:
    clock = Clock()
    h = history(clock, min_events=2, max_events=2)
    h.reset(10)
    assert h.covered_seconds() == 0
    h.append(ev(11))
    clock.now += 30
    h.append(ev(12))
    clock.now += 10
    assert h.covered_seconds() == 40
    h.append(ev(13))  # evicts rv 11, recorded 40 s ago
    assert h.covered_seconds() == 10


def test_settled_events_keep_superseded_objects_packed_and_read_them_whole() -> None:
    h = history()
    h.reset(0)
    names = ("a", "b", "c")
    wholes = {}  # rv -> the object as decoded
    events = []
    for rv in range(1, PACK_AFTER_EVENTS + 3 * (MAX_DELTAS_IN_ROW + 4)):
        name = names[rv % 3]
        prev = wholes.get(rv - 3) if rv > 3 else None
        entry = CODEC.decode(pod(name, rv=rv, pad=2000))
        wholes[rv] = entry
        kind = DELETED if rv == 30 else MODIFIED if prev is not None else ADDED
        events.append(Event(kind, entry, prev, rv))
        h.append(events[-1])
    whole_bytes = sum(e.retained_bytes() for e in events[-PACK_AFTER_EVENTS:])
    settled = events[: len(events) - PACK_AFTER_EVENTS]
    for e in settled:
        assert e.entry == wholes[e.rv]  # read back whole, equal to what came in
        assert e.prev == (wholes[e.rv - 3] if e.rv > 3 else None)
        assert e.deleted_line() == Event(e.type, e.entry, e.prev, e.rv).deleted_line()
    # Versions of a key differ by their rv: as deltas they take ~100 bytes;
    # one in every MAX_DELTAS_IN_ROW + 1 is packed standalone.
    packed = [len(e._prev.raw) for e in settled if e._prev is not None]
    assert max(packed) < len(wholes[1].raw) // 4
    assert sum(size < 200 for size in packed) >= len(packed) * MAX_DELTAS_IN_ROW // (
        MAX_DELTAS_IN_ROW + 1
    )
    assert max(e.deltas for e in settled) == MAX_DELTAS_IN_ROW
    # The older event holds the newer one's packed previous object, not a whole copy.
    assert settled[0]._entry is settled[3]._prev
    assert all(len(e._entry.raw) < 1000 for e in settled[:-3])
    # Events live watchers are sent stay whole; the byte count follows the packing.
    assert events[-1]._entry is wholes[events[-1].rv]
    assert h.retained_bytes == whole_bytes + sum(e.retained_bytes() for e in settled)
