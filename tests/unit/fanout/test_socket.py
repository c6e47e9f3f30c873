from __future__ import annotations

import asyncio

from tests.unit.fanout.fakes import FakeSink

from watchcache.fanout.socket import WatchSocket, chunk


def line(rv: int, size: int = 10) -> bytes:
    return b'{"rv":%d,"pad":"%s"}\n' % (rv, b"x" * size)


def offer(socket: WatchSocket, data: bytes) -> bool:
    return socket.offer(data, chunk(data))


async def settle() -> None:
    await asyncio.sleep(0)
    await asyncio.sleep(0)


async def test_offers_in_one_tick_become_one_write_in_order() -> None:
    sink = FakeSink()
    socket = WatchSocket(sink)
    for rv in (1, 2, 3):
        assert offer(socket, line(rv))
    assert sink.chunks == []  # nothing written until the loop turns
    await settle()
    assert len(sink.chunks) == 1
    assert [e["rv"] for e in sink.lines()] == [1, 2, 3]
    stats = socket.statistics()
    assert stats.deliveries == 3 and stats.writes == 1
    assert stats.bytes_written == sum(len(line(rv)) for rv in (1, 2, 3)), "framing excluded"


async def test_the_frame_offered_is_the_frame_written() -> None:
    """The registry frames an event once; every socket writes those bytes."""
    sinks = [FakeSink() for _ in range(3)]
    sockets = [WatchSocket(sink) for sink in sinks]
    data = line(1)
    frame = chunk(data)
    for socket in sockets:
        socket.offer(data, frame)
    await settle()
    assert all(sink.chunks == [frame] for sink in sinks)


async def test_an_http_1_0_socket_writes_lines_unframed() -> None:
    sink = FakeSink()
    socket = WatchSocket(sink, chunked=False)
    offer(socket, line(1))
    offer(socket, line(2))
    await settle()
    assert b"".join(sink.chunks) == line(1) + line(2)


async def test_the_buffer_is_bounded_but_always_takes_one_line() -> None:
    sink = FakeSink()
    sink.stalled = True
    socket = WatchSocket(sink, limit=100)
    assert offer(socket, line(1, size=500)), "an empty socket takes a line of any size"
    assert not offer(socket, line(2)), "a full socket refuses"
    await settle()
    assert socket.queued_bytes() > 100
    sink.unstall()
    # offer() judges by the transport's buffer as of the last write (it can
    # only have shrunk since); room() looks again.
    assert socket.room(len(chunk(line(2)))).done()
    assert offer(socket, line(2))
    assert socket.statistics().queued_bytes <= 100 + len(chunk(line(2)))


async def test_room_is_woken_by_resume_writing_not_polled() -> None:
    sink = FakeSink()
    sink.stalled = True
    socket = WatchSocket(sink, limit=50)
    socket.take_over()
    offer(socket, line(1, size=100))
    await settle()
    room = socket.room(20)
    for _ in range(10):
        await asyncio.sleep(0)
    assert not room.done(), "still full: nothing to wake it"
    sink.unstall()  # the transport drained: asyncio calls resume_writing
    assert room.done()


async def test_room_is_woken_when_the_socket_closes() -> None:
    sink = FakeSink()
    sink.stalled = True
    socket = WatchSocket(sink, limit=50)
    offer(socket, line(1, size=100))
    await settle()
    room = socket.room(20)
    assert not room.done()
    socket.close("deadline")
    assert room.done()


async def test_initial_events_go_first_and_live_events_wait_for_them() -> None:
    sink = FakeSink()
    socket = WatchSocket(sink, held=True)
    offer(socket, line(11))  # a live event during the replay
    await settle()
    assert sink.chunks == []
    await socket.write_initial([line(3), line(7)])
    socket.release()
    await settle()
    assert [e["rv"] for e in sink.lines()] == [3, 7, 11]


async def test_close_writes_what_was_accepted_then_resolves() -> None:
    sink = FakeSink()
    socket = WatchSocket(sink)
    offer(socket, line(1))
    socket.close("deadline", last_line=line(99))
    assert [e["rv"] for e in sink.lines()] == [1, 99]
    assert not sink.closing, "not ours yet: aiohttp ends the response"
    assert await socket.closed == "deadline"
    assert offer(socket, line(2))  # accepted and dropped: nothing to wait for
    await settle()
    assert [e["rv"] for e in sink.lines()] == [1, 99]


async def test_once_ours_a_close_ends_the_response() -> None:
    sink = FakeSink()
    socket = WatchSocket(sink)
    socket.take_over()
    assert sink.protocol is socket
    offer(socket, line(1))
    socket.close("deadline")
    assert sink.chunks[-1] == b"0\r\n\r\n", "the terminating chunk"
    assert sink.closing


async def test_closed_before_it_is_ours_ends_when_taken_over() -> None:
    sink = FakeSink()
    socket = WatchSocket(sink, held=True)
    socket.close("too slow")
    assert sink.chunks == [] and not sink.closing
    socket.take_over()
    assert sink.chunks == [b"0\r\n\r\n"] and sink.closing


async def test_a_vanished_client_closes_the_socket() -> None:
    sink = FakeSink()
    socket = WatchSocket(sink)
    sink.closing = True
    offer(socket, line(1))
    await settle()
    assert socket.closed.done() and sink.chunks == []


async def test_the_client_leaving_closes_the_socket_at_once() -> None:
    sink = FakeSink()
    socket = WatchSocket(sink)
    socket.take_over()
    socket.connection_lost(None)
    assert socket.close_reason == "client went away"
