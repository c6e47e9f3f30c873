from __future__ import annotations

import asyncio

from tests.unit.fanout.fakes import EqSelector, FakeSink

from watchcache.fanout.filter import WatchFilter
from watchcache.fanout.socket import chunk
from watchcache.fanout.watcher import Watcher

ALL = WatchFilter(None, EqSelector(), EqSelector())


def line(rv: int, size: int = 10) -> bytes:
    return b'{"rv":%d,"pad":"%s"}\n' % (rv, b"x" * size)


def offer(watcher: Watcher, rv: int, size: int = 10) -> bool:
    data = line(rv, size)
    return watcher.offer(data, chunk(data), rv)


async def settle() -> None:
    await asyncio.sleep(0)
    await asyncio.sleep(0)


async def test_events_the_watcher_already_has_are_dropped() -> None:
    sink = FakeSink()
    watcher = Watcher(sink, ALL, start_rv=5)
    offer(watcher, 5)
    offer(watcher, 6)
    await settle()
    assert [e["rv"] for e in sink.lines()] == [6]
    assert watcher.last_rv == 6


async def test_a_refused_event_does_not_move_last_rv() -> None:
    sink = FakeSink()
    sink.stalled = True
    watcher = Watcher(sink, ALL, start_rv=0, limit=100)
    assert offer(watcher, 1, size=500)
    await settle()
    assert not offer(watcher, 2)
    assert watcher.last_rv == 1


async def test_a_bookmark_is_sent_only_when_it_fits_and_is_news() -> None:
    sink = FakeSink()
    sink.stalled = True
    watcher = Watcher(sink, ALL, start_rv=0, limit=40)
    watcher.send_bookmark(line(3), 3)
    watcher.send_bookmark(line(2), 2)  # not news
    await settle()
    watcher.send_bookmark(line(4), 4)  # does not fit: skipped, nothing lost
    await settle()
    sink.unstall()
    assert [e["rv"] for e in sink.lines()] == [3]
    assert watcher.last_rv == 3


async def test_replay_goes_first_and_live_events_wait_for_it() -> None:
    sink = FakeSink()
    watcher = Watcher(sink, ALL, start_rv=10, replaying=True)
    offer(watcher, 11)  # a live event during the replay
    await settle()
    assert sink.chunks == []
    await watcher.socket.write_initial([line(3), line(7)])
    watcher.finish_replay(10)
    await settle()
    assert [e["rv"] for e in sink.lines()] == [3, 7, 11]


async def test_closing_tells_the_registry_once() -> None:
    closed: list[Watcher] = []
    watcher = Watcher(FakeSink(), ALL, start_rv=0)
    watcher.on_close = closed.append
    watcher.close("deadline")
    watcher.close("again")
    assert closed == [watcher] and watcher.close_reason == "deadline"
