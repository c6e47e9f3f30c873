"""When sockets write: one write per watcher per batch of events, frames
whole and in order; with a write window, a busy socket waits for it and a
quiet one does not."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable

import pytest
from tests.polling import until
from tests.unit.fanout.fakes import EqSelector, Event, FakeSink, Obj

from watchcache.fanout.coalesce import Coalescer
from watchcache.fanout.filter import WatchFilter
from watchcache.fanout.registry import Registry
from watchcache.fanout.socket import WatchSocket, chunk
from watchcache.fanout.watcher import Watcher

EVERYTHING = WatchFilter(None, EqSelector(), EqSelector())
# Longer than any test runs: a socket held for it stays held.
HOUR = 3600.0


def pod(name: str, node: str = "n1") -> Obj:
    return Obj("default", name, {}, node)


async def turns(n: int = 3) -> None:
    """Let the loop run ``n`` turns: the end of a batch is one."""
    for _ in range(n):
        await asyncio.sleep(0)


def watchers(registry: Registry, count: int) -> list[FakeSink]:
    sinks = [FakeSink() for _ in range(count)]
    for sink in sinks:
        registry.add(Watcher(sink, EVERYTHING, 0, coalescer=registry.coalescer()))
    return sinks


def rvs_of(write: bytes) -> list[int]:
    """The RVs of the events in one write to a sink."""
    one = FakeSink()
    one.chunks = [write]
    return rvs(one)


def rvs(sink: FakeSink) -> list[int]:
    return [int(e["object"]["metadata"]["resourceVersion"]) for e in sink.lines()]  # type: ignore[index]


async def test_a_batch_of_events_is_one_write_per_watcher_in_order() -> None:
    registry = Registry()
    sinks = watchers(registry, 3)
    for rv in range(2, 12):  # ten events, no await that yields between them
        await registry.dispatch(Event("MODIFIED", rv, pod(f"p{rv}")))
    assert all(sink.chunks == [] for sink in sinks), "nothing is written during the batch"
    await turns()
    for sink in sinks:
        assert len(sink.chunks) == 1
        assert rvs(sink) == list(range(2, 12))  # lines() checks each chunk's framing


async def test_each_batch_is_its_own_write() -> None:
    registry = Registry()
    (sink,) = watchers(registry, 1)
    for batch in ((2, 3, 4), (5,), (6, 7)):
        for rv in batch:
            await registry.dispatch(Event("MODIFIED", rv, pod("p")))
        await turns()
    assert len(sink.chunks) == 3
    assert rvs(sink) == [2, 3, 4, 5, 6, 7]


async def test_the_write_is_the_frames_joined_whole() -> None:
    socket = WatchSocket(FakeSink())
    lines = [b'{"n":%d}\n' % i for i in range(5)]
    for line in lines:
        assert socket.offer(line, chunk(line))
    await turns()
    sink = socket.transport
    assert isinstance(sink, FakeSink)
    assert sink.chunks == [b"".join(chunk(line) for line in lines)]
    assert socket.statistics().writes == 1 and socket.statistics().deliveries == 5


async def test_a_quiet_socket_writes_at_once_a_busy_one_waits_for_its_window() -> None:
    registry = Registry(write_window=HOUR)
    (sink,) = watchers(registry, 1)
    await registry.dispatch(Event("MODIFIED", 2, pod("p")))
    await turns()
    assert rvs(sink) == [2], "a socket that has not written yet writes at the batch's end"
    await registry.dispatch(Event("MODIFIED", 3, pod("p")))
    await turns()
    assert len(sink.chunks) == 1, "it wrote less than the window ago: it waits"
    registry.close_all("done")
    assert rvs(sink) == [2, 3], "what was accepted is written when it closes"


async def test_a_waiting_socket_writes_once_it_holds_two_frames() -> None:
    """The second frame ends the wait: a pair goes out at the end of its
    batch, and the socket, having just written, waits again."""
    registry = Registry(write_window=HOUR)
    (sink,) = watchers(registry, 1)
    for rv in (2, 3, 4, 5):
        await registry.dispatch(Event("MODIFIED", rv, pod("p")))
        await turns()
    assert [len(rvs_of(c)) for c in sink.chunks] == [1, 2], "2 at once, then 3 and 4 together"
    registry.close_all("done")
    assert rvs(sink) == [2, 3, 4, 5]


class _Loop:
    """A loop whose clock the test moves: ``call_at`` and ``call_soon``
    only record, ``fire`` runs what is due."""

    def __init__(self) -> None:
        self.now = 0.0
        self.timers: list[tuple[float, Callable[[], None]]] = []
        self.soon: list[Callable[[], None]] = []

    def time(self) -> float:
        return self.now

    def call_soon(self, callback: Callable[[], None]) -> None:
        self.soon.append(callback)

    def call_at(self, when: float, callback: Callable[[], None]) -> _Loop.Timer:
        timer = _Loop.Timer(self, when, callback)
        self.timers.append((when, timer.run))
        return timer

    def at(self, now: float) -> None:
        """Move the clock to ``now``: run the timers due, then the batch's end."""
        self.now = now
        due = [t for t in self.timers if t[0] <= now]
        self.timers = [t for t in self.timers if t[0] > now]
        for _, run in due:
            run()
        soon, self.soon = self.soon, []
        for callback in soon:
            callback()

    class Timer:
        def __init__(self, loop: _Loop, when: float, callback: Callable[[], None]) -> None:
            self.callback: Callable[[], None] | None = callback

        def cancel(self) -> None:
            self.callback = None

        def run(self) -> None:
            if self.callback is not None:
                self.callback()


class _Socket:
    """What the coalescer asks of a socket, recording when it wrote."""

    def __init__(self, loop: _Loop) -> None:
        self.loop = loop
        self.flush_scheduled = False
        self.last_write = -math.inf
        self.write_due = 0.0
        self.wrote: list[float] = []

    def flush(self) -> None:
        self.flush_scheduled = False
        self.write_due = 0.0
        self.last_write = self.loop.now
        self.wrote.append(self.loop.now)


def test_an_old_timer_does_not_write_a_socket_before_its_current_due() -> None:
    """A socket that wrote early (its pair) and waits again is not written
    by the timer of its earlier wait: the window counts from its last write."""
    loop = _Loop()
    coalescer = Coalescer(loop, 0.04)  # type: ignore[arg-type]
    socket = _Socket(loop)
    coalescer.schedule(socket)
    loop.at(0.0)  # quiet: written at the batch's end
    loop.now = 0.02
    coalescer.schedule(socket)  # waits until 0.04
    loop.now = 0.03
    coalescer.write_soon(socket)  # its pair came
    loop.at(0.03)
    loop.now = 0.035
    coalescer.schedule(socket)  # waits until 0.07
    loop.at(0.04)  # the first wait's timer
    assert socket.wrote == [0.0, 0.03]
    loop.at(0.07)
    assert socket.wrote == [0.0, 0.03, 0.07]


async def test_a_window_ends_in_one_write_of_what_waited() -> None:
    registry = Registry(write_window=0.01)
    (sink,) = watchers(registry, 1)
    await registry.dispatch(Event("MODIFIED", 2, pod("p")))
    await turns()
    for rv in (3, 4, 5):
        await registry.dispatch(Event("MODIFIED", rv, pod("p")))
    await until(lambda: len(sink.chunks) == 2, "the window's write", timeout=10)
    assert rvs(sink) == [2, 3, 4, 5]


async def test_a_full_buffer_waiting_for_its_window_is_written_when_room_is_asked() -> None:
    sink = FakeSink()
    socket = WatchSocket(sink, limit=90, coalescer=Coalescer(asyncio.get_running_loop(), HOUR))
    first = b"x" * 40 + b"\n"
    assert socket.offer(first, chunk(first))
    await turns()
    assert len(sink.chunks) == 1
    assert socket.offer(first, chunk(first))  # waits for the window
    assert not socket.offer(first, chunk(first)), "full: pending plus this is over the limit"
    room = socket.room(len(chunk(first)))
    assert room.done(), "asking for room writes what waited, and then there is room"
    assert len(sink.chunks) == 2
    assert socket.offer(first, chunk(first))


async def test_a_bookmark_and_the_last_line_keep_their_place() -> None:
    registry = Registry(write_window=HOUR)
    sink = FakeSink()
    watcher = Watcher(sink, EVERYTHING, 0, coalescer=registry.coalescer())
    registry.add(watcher)
    await registry.dispatch(Event("MODIFIED", 2, pod("p")))
    await turns()
    await registry.dispatch(Event("MODIFIED", 3, pod("p")))
    bookmark = b'{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"4"}}}\n'
    watcher.send_bookmark(bookmark, 4)
    await registry.dispatch(Event("MODIFIED", 5, pod("p")))
    error = b'{"type":"ERROR","object":{"code":410}}\n'
    watcher.close("expired", error)
    assert [e["type"] for e in sink.lines()] == ["ADDED", "ADDED", "BOOKMARK", "ADDED", "ERROR"]
    assert len(sink.chunks) == 2, "the first event, then what waited with the last line"


async def test_a_held_socket_writes_nothing_until_released() -> None:
    registry = Registry()
    sink = FakeSink()
    watcher = Watcher(sink, EVERYTHING, 0, replaying=True, coalescer=registry.coalescer())
    registry.add(watcher)
    await registry.dispatch(Event("MODIFIED", 2, pod("p")))
    await turns()
    assert sink.chunks == []
    watcher.finish_replay(1)
    await registry.dispatch(Event("MODIFIED", 3, pod("p")))
    await turns()
    assert len(sink.chunks) == 1 and rvs(sink) == [2, 3]


def test_a_window_is_not_negative() -> None:
    loop = asyncio.new_event_loop()
    try:
        with pytest.raises(ValueError):
            Coalescer(loop, -1.0)
        assert Coalescer(loop).window == 0.0
    finally:
        loop.close()


async def test_sockets_without_a_coalescer_share_the_loops() -> None:
    loop = asyncio.get_running_loop()
    a, b = WatchSocket(FakeSink()), WatchSocket(FakeSink())
    assert a._coalescer is b._coalescer is Coalescer.shared(loop)
    assert a.last_write == -math.inf


def test_a_window_under_half_a_millisecond_works_on_uvloop() -> None:
    """uvloop rounds call_at to whole milliseconds and answers a time under
    half of one away with a plain Handle (no ``when()``)."""
    import uvloop

    async def two_busy_sockets() -> list[list[int]]:
        registry = Registry(write_window=0.0004)
        sinks = watchers(registry, 2)
        await registry.dispatch(Event("MODIFIED", 2, pod("p")))
        await turns()
        for rv in (3, 4):
            await registry.dispatch(Event("MODIFIED", rv, pod("p")))
        await until(lambda: all(len(s.chunks) == 2 for s in sinks), "the windows' writes")
        return [rvs(sink) for sink in sinks]

    assert uvloop.run(two_busy_sockets()) == [[2, 3, 4], [2, 3, 4]]
