"""Serving one watch over HTTP: aiohttp reads the request and sends the
headers, then the connection is handed to a ``Watcher`` and aiohttp lets
go of it.

Why hand it over: aiohttp keeps a request handler, a request, a response,
a parser and a task per open request, about 10 KB of Python heap for a
stream that is idle almost always (measured with 10,000 idle watchers).
A watch needs only its socket, its filter and its buffer. So, once the
initial events are written, ``serve_watch`` gives the transport a small
protocol of its own (``_WatchConnection``: it notices the client leaving)
and tells aiohttp's handler that its connection is gone, without closing
the socket; the HTTP handler then returns and everything aiohttp held is
freed.

From then on the watcher writes complete HTTP/1.1 chunks itself, batched
per loop tick (aiohttp's ``StreamResponse.write`` costs about 11 us per
event here; a batched ``transport.write`` reaches over 2M deliveries per
CPU-second). When the watcher closes, the connection writes the
terminating zero-length chunk and closes the socket: the response says
``Connection: close`` up front, so clients expect that. (An HTTP/1.0
client gets no chunks, as from Go's net/http: the lines as they are, the
end of the body marked by the connection closing.)

A client that does not take what is still owed to it within ``END_GRACE``
is dropped with it: the kernel is told to give up on the connection after
that long without progress (TCP_USER_TIMEOUT, which also covers the bytes
it keeps sending after the socket is closed), and a connection still
holding bytes in the proxy's own buffer is reset. A watcher closed for
being too slow usually leaves a megabyte or more behind; before, the
socket and its kernel send buffer stayed for as long as the client kept
the connection: 50 such clients held 135 MB of kernel memory (measured
with serve_watch on loopback; afterwards 1 MB, 6 s after they were
closed).

What this relies on in aiohttp (tests/unit/fanout/test_stream.py checks
each): ``request.protocol`` is the connection's handler, whose
``connection_lost`` forgets the request and the connection but closes the
transport only through its ``transport`` attribute; and a response whose
``write_eof`` does nothing leaves the stream unterminated.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import Callable, Iterable

from aiohttp import HttpVersion11, web

from watchcache.fanout.filter import WatchFilter
from watchcache.fanout.registry import Registry
from watchcache.fanout.watcher import DEFAULT_LIMIT, Watcher

__all__ = ["END_GRACE", "REPLAY_CHUNK_BYTES", "Start", "serve_watch"]

# Initial events are written in chunks of about this size, each awaited
# until the socket's buffer drains below it: the list path measured ~2 GB/s
# at 500 items (about 3.5 MB of pods) per write, and smaller chunks keep
# the event loop responsive for other watchers.
REPLAY_CHUNK_BYTES = 256 * 1024

# The terminating chunk of a chunked HTTP/1.1 body.
_LAST_CHUNK = b"0\r\n\r\n"

# How long an ended watch's socket may take to deliver what is still
# buffered before it is reset. A reading client takes the 1 MiB a watcher
# may queue in milliseconds on any network a watch is useful over; one that
# has not read for 5 s after being closed as too slow is not going to.
END_GRACE = 5.0
# SO_LINGER on, 0 s: close() resets the connection and frees the kernel's
# send buffer at once, instead of leaving an orphan socket that keeps
# offering its bytes to a peer with a zero window.
_RESET_ON_CLOSE = struct.pack("ii", 1, 0)
# TCP_USER_TIMEOUT is a C int of milliseconds.
_MAX_USER_TIMEOUT_MS = 2**31 - 1


# What a watch starts with: the initial lines and the RV they bring the
# client to. Called at the moment the watcher is registered, with no await
# in between, so no event can fall between the two.
Start = Callable[[], tuple[Iterable[bytes], int]]


class _WatchResponse(web.StreamResponse):
    """A streaming response whose end is written by its watcher, not by
    aiohttp: once handed over, ``write_eof`` does nothing."""

    handed_over = False

    async def write_eof(self, data: bytes = b"") -> None:
        if not self.handed_over:
            await super().write_eof(data)


class _WatchConnection(asyncio.Protocol):
    """The protocol of a connection whose watch has been handed over: it
    ignores anything more the client sends (a watch request has no body,
    and the response says the connection closes after it), closes the
    watcher when the client leaves, and ends the response when the watcher
    closes."""

    __slots__ = ("end_grace", "reset", "transport", "watcher")

    def __init__(self, watcher: Watcher, transport: asyncio.Transport, end_grace: float) -> None:
        self.watcher = watcher
        self.transport = transport
        self.end_grace = end_grace
        self.reset: asyncio.TimerHandle | None = None

    def data_received(self, data: bytes) -> None:
        pass

    def eof_received(self) -> bool:
        return False  # the client half-closed: close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        if self.reset is not None:
            self.reset.cancel()
            self.reset = None
        self.watcher.close("client went away")

    def end(self, closed: asyncio.Future[str]) -> None:
        transport = self.transport
        if transport.is_closing():
            return
        if self.watcher.chunked:
            transport.write(_LAST_CHUNK)
        _give_up_after(transport, self.end_grace)
        transport.close()  # after what is buffered has been sent
        if transport.get_write_buffer_size():
            loop = asyncio.get_running_loop()
            self.reset = loop.call_later(self.end_grace, self._reset)

    def _reset(self) -> None:
        """The client took nothing for END_GRACE: drop the connection and
        what is buffered for it."""
        self.reset = None
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):  # a Unix socket has no linger to set
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET_ON_CLOSE)
        self.transport.abort()


def _give_up_after(transport: asyncio.Transport, seconds: float) -> None:
    """Have the kernel drop the connection if what it still holds for the
    client (up to a few MB of send buffer) is not taken within ``seconds``
    (TCP_USER_TIMEOUT: it covers a peer that keeps a zero window, and goes
    on after the socket is closed, when the kernel alone holds the bytes).
    Not TCP (a Unix socket): nothing to set."""
    sock = transport.get_extra_info("socket")
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    with contextlib.suppress(OSError):
        milliseconds = min(max(1, int(seconds * 1000)), _MAX_USER_TIMEOUT_MS)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, milliseconds)


async def serve_watch(
    request: web.Request,
    registry: Registry,
    filter: WatchFilter,
    start: Start,
    *,
    bookmarks: bool = False,
    deadline: float | None = None,
    limit: int = DEFAULT_LIMIT,
    headers: dict[str, str] | None = None,
    end_grace: float = END_GRACE,
) -> web.StreamResponse:
    """Start a watch and return once it is handed over; it streams on until
    the watcher closes (deadline, slowness, shutdown, or the client
    leaving). ``start()`` gives the initial lines (ADDED events of a state,
    a history replay, or none) and the RV they reach; live events newer
    than that follow."""
    response = _WatchResponse(headers={"Content-Type": "application/json", **(headers or {})})
    # HTTP/1.0 has no chunked encoding: as Go's net/http, the body is sent
    # as it is and ends when the connection closes.
    chunked = request.version >= HttpVersion11
    if chunked:
        response.enable_chunked_encoding()
    response.force_close()
    await response.prepare(request)
    transport = request.transport
    if transport is None or transport.is_closing():
        return response
    lines, start_rv = start()
    watcher = Watcher(
        transport,
        filter,
        start_rv,
        limit=limit,
        bookmarks=bookmarks,
        deadline=deadline,
        replaying=True,
        chunked=chunked,
    )
    registry.add(watcher)
    try:
        await _replay(watcher, transport, lines)
    except BaseException:
        watcher.close("cancelled during its initial events")
        raise
    if transport.is_closing():
        watcher.close("client went away")
        return response
    _hand_over(request, response, watcher, transport, end_grace)
    watcher.finish_replay(start_rv)
    return response


def _hand_over(
    request: web.Request,
    response: _WatchResponse,
    watcher: Watcher,
    transport: asyncio.Transport,
    end_grace: float,
) -> None:
    connection = _WatchConnection(watcher, transport, end_grace)
    transport.set_protocol(connection)
    watcher.closed.add_done_callback(connection.end)
    response.handed_over = True
    handler = request.protocol
    # aiohttp's handler closes its transport on connection_lost only
    # through this attribute: unset, the socket stays ours.
    handler.transport = None
    handler.connection_lost(None)


async def _replay(watcher: Watcher, transport: asyncio.Transport, lines: Iterable[bytes]) -> None:
    batch: list[bytes] = []
    size = 0
    for line in lines:
        batch.append(line)
        size += len(line)
        if size >= REPLAY_CHUNK_BYTES:
            await _write_batch(watcher, transport, batch)
            batch, size = [], 0
    if batch:
        await _write_batch(watcher, transport, batch)


async def _write_batch(watcher: Watcher, transport: asyncio.Transport, batch: list[bytes]) -> None:
    watcher.write_now(b"".join(batch))
    # Polled: aiohttp keeps its drain waiter private, and a replay is
    # rare and short next to the events it carries.
    while transport.get_write_buffer_size() > REPLAY_CHUNK_BYTES and not transport.is_closing():  # noqa: ASYNC110
        await asyncio.sleep(0.001)
