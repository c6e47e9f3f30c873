from __future__ import annotations

import asyncio

from watchcache.proxy.drain import StreamTracker


async def test_drain_closes_oldest_first_spread_over_time() -> None:
    tracker = StreamTracker()
    closed: list[tuple[int, float]] = []
    loop = asyncio.get_running_loop()
    for i in range(4):
        tracker.open(lambda i=i: closed.append((i, loop.time())))
    started = loop.time()
    await tracker.drain(0.2)
    assert [i for i, _ in closed] == [0, 1, 2, 3]
    # Evenly spread: the last closes about 3/4 of the way through the spread.
    assert closed[-1][1] - started >= 0.14
    assert len(tracker) == 0


async def test_finished_streams_are_not_closed_again() -> None:
    tracker = StreamTracker()
    calls: list[str] = []
    a = tracker.open(lambda: calls.append("a"))
    tracker.open(lambda: calls.append("b"))
    a.finish()
    await tracker.drain(0)
    assert calls == ["b"]


async def test_a_stream_opened_while_draining_closes_at_once() -> None:
    tracker = StreamTracker()
    await tracker.drain(0)
    calls: list[str] = []
    handle = tracker.open(lambda: calls.append("late"))
    assert calls == ["late"] and handle.closed
    handle.close()
    assert calls == ["late"]


async def test_a_sources_streams_are_closed_after_the_trackers_own_in_the_same_spread() -> None:
    tracker = StreamTracker()
    closed: list[str] = []
    tracker.open(lambda: closed.append("forwarded"))
    tracker.add_source(
        lambda: [lambda: closed.append("cached 1"), lambda: closed.append("cached 2")]
    )
    loop = asyncio.get_running_loop()
    started = loop.time()
    await tracker.drain(0.3)
    assert closed == ["forwarded", "cached 1", "cached 2"]
    assert loop.time() - started >= 0.25  # three streams, a gap of 0.1 s after each
