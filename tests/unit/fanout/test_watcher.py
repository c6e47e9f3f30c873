from __future__ import annotations

import asyncio

from tests.unit.fanout.fakes import EqSelector, FakeSink

from watchcache.fanout.filter import WatchFilter
from watchcache.fanout.watcher import Watcher

ALL = WatchFilter(None, EqSelector(), EqSelector())


def line(rv: int, size: int = 10) -> bytes:
    return b'{"rv":%d,"pad":"%s"}\n' % (rv, b"x" * size)


async def settle() -> None:
    await asyncio.sleep(0)
    await asyncio.sleep(0)


async def test_offers_in_one_tick_become_one_write_in_order() -> None:
    sink = FakeSink()
    watcher = Watcher(sink, ALL, start_rv=0)
    for rv in (1, 2, 3):
        assert watcher.offer(line(rv), rv)
    assert sink.chunks == []  # nothing written until the loop turns
    await settle()
    assert len(sink.chunks) == 1
    assert [e["rv"] for e in sink.lines()] == [1, 2, 3]
    assert watcher.statistics().deliveries == 3 and watcher.statistics().writes == 1


async def test_events_the_watcher_already_has_are_dropped() -> None:
    sink = FakeSink()
    watcher = Watcher(sink, ALL, start_rv=5)
    watcher.offer(line(5), 5)
    watcher.offer(line(6), 6)
    await settle()
    assert [e["rv"] for e in sink.lines()] == [6]


async def test_the_buffer_is_bounded_but_always_takes_one_line() -> None:
    sink = FakeSink()
    sink.stalled = True
    watcher = Watcher(sink, ALL, start_rv=0, limit=100)
    assert watcher.offer(line(1, size=500), 1), "an empty watcher takes a line of any size"
    assert not watcher.offer(line(2), 2), "a full watcher refuses"
    await settle()
    assert watcher.queued_bytes() > 100
    sink.unstall()
    # offer() judges by the sink's buffer as of the last write (it can only
    # have shrunk since); the dispatcher's wait_for_room looks again.
    assert await watcher.wait_for_room(len(line(2)), within=0.1)
    assert watcher.offer(line(2), 2)
    assert watcher.statistics().queued_bytes <= 100 + len(line(2))


async def test_wait_for_room_times_out_or_succeeds() -> None:
    sink = FakeSink()
    sink.stalled = True
    watcher = Watcher(sink, ALL, start_rv=0, limit=50)
    watcher.offer(line(1, size=100), 1)
    await settle()
    assert not await watcher.wait_for_room(20, within=0.02)
    asyncio.get_running_loop().call_later(0.01, sink.unstall)
    assert await watcher.wait_for_room(20, within=1.0)


async def test_replay_goes_first_and_live_events_wait_for_it() -> None:
    sink = FakeSink()
    watcher = Watcher(sink, ALL, start_rv=10, replaying=True)
    watcher.offer(line(11), 11)  # a live event during the replay
    await settle()
    assert sink.chunks == []
    watcher.write_now(line(3) + line(7))  # initial state
    watcher.finish_replay(10)
    await settle()
    assert [e["rv"] for e in sink.lines()] == [3, 7, 11]


async def test_close_writes_what_was_accepted_then_resolves() -> None:
    sink = FakeSink()
    watcher = Watcher(sink, ALL, start_rv=0)
    watcher.offer(line(1), 1)
    watcher.close("deadline")
    assert [e["rv"] for e in sink.lines()] == [1]
    assert await watcher.closed == "deadline"
    assert watcher.offer(line(2), 2)  # accepted and dropped: nothing to wait for
    await settle()
    assert [e["rv"] for e in sink.lines()] == [1]


async def test_a_vanished_client_closes_the_watcher() -> None:
    sink = FakeSink()
    watcher = Watcher(sink, ALL, start_rv=0)
    sink.closing = True
    watcher.offer(line(1), 1)
    await settle()
    assert watcher.closed.done() and sink.chunks == []
