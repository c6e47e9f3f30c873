"""A watch's socket: the one owner of the bytes a watch sends its client.

Glossary:
    transport  the connection: an asyncio transport (or anything with its
               write / get_write_buffer_size / is_closing / close / abort /
               get_extra_info / set_protocol methods)
    frame      an event line as this socket's client reads it: an HTTP/1.1
               chunk (``chunk(line)``), or, for an HTTP/1.0 client, which
               has no chunked encoding, the line as it is (its body then
               ends when the connection closes). A line is framed once per
               event by the registry, and the same bytes are offered to
               every socket that gets it: a chunk's framing depends only on
               the line
    pending    frames accepted, not yet written; written together in one
               ``write`` when the socket's coalescer says (coalesce.py): at
               the end of the batch of events they came in, or, with a
               write window, when the window since the last write ends
    queued     pending bytes plus the bytes the transport still holds: what
               this watch costs in memory beyond the kernel's socket buffer
    held       the initial events (a list, a history replay) are still being
               written: live frames wait in pending until ``release()``
    ours       the transport's protocol is this socket (``take_over()``):
               aiohttp has let go, so the socket also ends the response

Backpressure (the buffer is bounded): ``offer`` accepts a frame only while
``queued + len(frame) <= limit``, except that an empty socket always
accepts one, however large. A refused frame is the dispatcher's to handle:
it waits, within the shared time budget, on ``room(size)``, and closes the
watch if the budget runs out (registry.py). So a socket holds at most
``limit`` bytes plus one frame. ``room(size)`` writes what is pending at
once (a full buffer does not wait for its write window) and is woken, not
polled: by ``resume_writing`` (asyncio's flow control: the transport
calls it when its buffer drains below its low-water mark, after
``pause_writing``), by each write of pending frames, and by the end of
the socket. A socket that is ours keeps its transport's high-water mark
at most ``limit``, so a full socket always has one of those coming.

Ordering: frames are written in the order accepted, never twice.

Ending: ``close(reason, last_line)`` stops accepting, writes what was
accepted (and ``last_line``, an ERROR event, after it: one line over the
bound at most), resolves ``closed``, and, once the socket is ours, ends
the response: the terminating chunk, then the connection closes (the
response says ``Connection: close`` up front). A client that does not
take what is still owed to it within ``END_GRACE`` is dropped with it:
the kernel is told to give up on the connection after that long without
progress (TCP_USER_TIMEOUT, which also covers the bytes it keeps sending
after the socket is closed), and a connection still holding bytes in the
proxy's own buffer is reset. A watch closed as too slow usually leaves a
megabyte or more behind; before this, the socket and its kernel send
buffer stayed for as long as the client kept the connection: 50 such
clients held 135 MB of kernel memory (measured with serve_watch on
loopback; afterwards 1 MB, 6 s after they were closed). The grace runs on
the event loop's own timer, not the registry's injected clock: the
kernel's TCP_USER_TIMEOUT beside it runs on real time too.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import socket
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from watchcache.fanout.coalesce import FRAMES, Coalescer

__all__ = [
    "DEFAULT_LIMIT",
    "END_GRACE",
    "REPLAY_CHUNK_BYTES",
    "SocketStatistics",
    "Transport",
    "WatchSocket",
    "chunk",
]

# 1 MiB: about 140 typical 7 KB pod events, several seconds of a busy
# node's traffic; a watcher that falls further behind is slow, not bursty.
DEFAULT_LIMIT = 1 << 20

# Initial events are written in chunks of about this size, each awaited
# until the socket's buffer drains below it: the list path measured ~2 GB/s
# at 500 items (about 3.5 MB of pods) per write, and smaller chunks keep
# the event loop responsive for other watchers.
REPLAY_CHUNK_BYTES = 256 * 1024

# How long an ended watch's socket may take to deliver what is still
# buffered before it is reset. A reading client takes the 1 MiB a watcher
# may queue in milliseconds on any network a watch is useful over; one that
# has not read for 5 s after being closed as too slow is not going to.
END_GRACE = 5.0

# The terminating chunk of a chunked HTTP/1.1 body.
_LAST_CHUNK = b"0\r\n\r\n"
# SO_LINGER on, 0 s: close() resets the connection and frees the kernel's
# send buffer at once, instead of leaving an orphan socket that keeps
# offering its bytes to a peer with a zero window.
_RESET_ON_CLOSE = struct.pack("ii", 1, 0)
# TCP_USER_TIMEOUT is a C int of milliseconds.
_MAX_USER_TIMEOUT_MS = 2**31 - 1


def chunk(line: bytes) -> bytes:
    """``line`` as one HTTP/1.1 chunk."""
    return b"%x\r\n%b\r\n" % (len(line), line)


class Transport(Protocol):
    def write(self, data: bytes, /) -> None: ...
    def get_write_buffer_size(self) -> int: ...
    def is_closing(self) -> bool: ...
    def close(self) -> None: ...
    def abort(self) -> None: ...
    def get_extra_info(self, name: str, default: Any = None, /) -> Any: ...
    def set_protocol(self, protocol: asyncio.BaseProtocol, /) -> None: ...


@dataclass(frozen=True)
class SocketStatistics:
    queued_bytes: int
    deliveries: int
    bytes_written: int  # event bytes handed to the transport, framing excluded
    writes: int
    closed: bool
    close_reason: str | None


class WatchSocket(asyncio.Protocol):
    __slots__ = (
        "_bytes_written",
        "_coalescer",
        "_deliveries",
        "_end_grace",
        "_held",
        "_loop",
        "_ours",
        "_pending",
        "_pending_bytes",
        "_pending_payload",
        "_reset",
        "_room",
        "_room_size",
        "_sink_bytes",
        "_writes",
        "chunked",
        "close_reason",
        "closed",
        "flush_scheduled",
        "last_write",
        "limit",
        "on_close",
        "transport",
        "write_due",
    )

    def __init__(
        self,
        transport: Transport,
        *,
        limit: int = DEFAULT_LIMIT,
        chunked: bool = True,
        held: bool = False,
        end_grace: float = END_GRACE,
        loop: asyncio.AbstractEventLoop | None = None,
        coalescer: Coalescer | None = None,
    ) -> None:
        self.transport = transport
        self.limit = limit
        self.chunked = chunked
        self._held = held
        self._end_grace = end_grace
        self._ours = False
        self._loop = loop or asyncio.get_running_loop()
        self._coalescer = coalescer or Coalescer.shared(self._loop)
        # A list, not a deque: an empty deque preallocates a 64-slot block
        # (760 bytes measured), a list 56 bytes, and an idle watch's buffer
        # is empty almost always.
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._pending_payload = 0  # of _pending_bytes, the lines' own bytes
        # The transport's buffer as of the last write or room check. Between
        # writes it can only shrink, so this stale figure over-states what is
        # queued: a socket may look full a little early (and is then checked
        # for real by room()), never late.
        self._sink_bytes = 0
        # The coalescer's: set while it holds this socket for a write.
        self.flush_scheduled = False
        self.last_write = -math.inf  # of pending frames, on the loop's clock
        self.write_due = 0.0  # the coalescer's: when a waiting socket writes
        # One waiter at most: the registry dispatches one event at a time.
        self._room: asyncio.Future[None] | None = None
        self._room_size = 0
        self._reset: asyncio.TimerHandle | None = None
        self._deliveries = 0
        self._bytes_written = 0
        self._writes = 0
        # Invariant: close_reason is set exactly when closed is resolved.
        self.close_reason: str | None = None
        self.closed: asyncio.Future[str] = self._loop.create_future()
        # Called once, when the socket closes (its watcher leaves the registry).
        self.on_close: Callable[[], None] | None = None

    def __repr__(self) -> str:
        state = "closed" if self.close_reason else "held" if self._held else "live"
        return f"<WatchSocket {state} queued={self.queued_bytes()} writes={self._writes}>"

    # -- accepting ---------------------------------------------------------------

    def queued_bytes(self) -> int:
        self._sink_bytes = self.transport.get_write_buffer_size()
        return self._pending_bytes + self._sink_bytes

    def has_room(self, size: int) -> bool:
        queued = self.queued_bytes()
        return queued == 0 or queued + size <= self.limit

    def offer(self, line: bytes, frame: bytes) -> bool:
        """Accept an event without waiting (``frame`` is ``chunk(line)``);
        False when the buffer is full. A closed socket counts as accepting:
        there is nothing for the dispatcher to wait for."""
        if self.close_reason is not None:
            return True
        data = frame if self.chunked else line
        queued = self._pending_bytes + self._sink_bytes  # has_room, inlined: hot path
        if queued and queued + len(data) > self.limit:
            return False
        self._pending.append(data)
        self._pending_bytes += len(data)
        self._pending_payload += len(line)
        self._deliveries += 1
        if not self.flush_scheduled:
            if not self._held:
                self._coalescer.schedule(self)
        elif self.write_due and len(self._pending) >= FRAMES:
            self._coalescer.write_soon(self)  # waiting, with a pair to write
        return True

    def room(self, size: int) -> asyncio.Future[None]:
        """Resolved once ``size`` bytes fit, or once the socket or its
        client is gone (then there is nothing to wait for either)."""
        waiter = self._loop.create_future()
        if self._pending and not self._held and not self._gone():
            self.flush()  # what waits for a write window is written now
        if self._gone() or self.has_room(size):
            waiter.set_result(None)
        else:
            self._room, self._room_size = waiter, size
        return waiter

    def _gone(self) -> bool:
        return self.close_reason is not None or self.transport.is_closing()

    def _wake(self) -> None:
        waiter = self._room
        if waiter is None:
            return
        if waiter.done():  # the waiter gave up
            self._room = None
        elif self._gone() or self.has_room(self._room_size):
            self._room = None
            waiter.set_result(None)

    # -- writing -----------------------------------------------------------------

    def flush(self) -> None:
        """Write what is pending, in one write (the coalescer calls this)."""
        self.flush_scheduled = False
        self.write_due = 0.0
        if not self._pending or self._held:
            return
        if self.transport.is_closing():
            self.close("client went away")
            return
        pending = self._pending
        self.transport.write(pending[0] if len(pending) == 1 else b"".join(pending))
        pending.clear()
        self._pending_bytes = 0
        self._bytes_written += self._pending_payload
        self._pending_payload = 0
        self._writes += 1
        if self._coalescer.window:
            self.last_write = self._loop.time()
        self._sink_bytes = self.transport.get_write_buffer_size()
        if self._room is not None:
            self._wake()

    async def write_initial(self, lines: Iterable[bytes]) -> None:
        """Write a watch's initial events ahead of anything pending, in
        batches of about ``REPLAY_CHUNK_BYTES``, each as one chunk."""
        batch: list[bytes] = []
        size = 0
        for line in lines:
            batch.append(line)
            size += len(line)
            if size >= REPLAY_CHUNK_BYTES:
                await self._write_batch(b"".join(batch))
                batch, size = [], 0
        if batch:
            await self._write_batch(b"".join(batch))

    async def _write_batch(self, data: bytes) -> None:
        self.transport.write(chunk(data) if self.chunked else data)
        self._bytes_written += len(data)
        self._writes += 1
        # Polled: until the socket is ours, its flow control goes to
        # aiohttp's protocol, which keeps its drain waiter private; a replay
        # is rare and short next to the events it carries.
        transport = self.transport
        while transport.get_write_buffer_size() > REPLAY_CHUNK_BYTES and not transport.is_closing():
            await asyncio.sleep(0.001)
            self._wake()
        self._wake()

    @property
    def held(self) -> bool:
        """The initial events are still being written (see "held")."""
        return self._held

    def release(self) -> None:
        """The initial events are written: live frames may flow."""
        self._held = False
        if self._pending and not self.flush_scheduled:
            self._coalescer.schedule(self)

    # -- the connection, once it is ours -------------------------------------------

    def take_over(self) -> None:
        """Become the transport's protocol (aiohttp lets go of it next): from
        now on the socket hears flow control and the client leaving, and
        ends the response itself."""
        self._ours = True
        transport = self.transport
        transport.set_protocol(self)
        limits = getattr(transport, "get_write_buffer_limits", None)
        if limits is not None and limits()[1] > self.limit:
            transport.set_write_buffer_limits(high=self.limit)  # type: ignore[attr-defined]
        if self.close_reason is not None:
            self._end()

    def data_received(self, data: bytes) -> None:
        """Ignored: a watch request has no body, and the response says the
        connection closes after it."""

    def eof_received(self) -> bool:
        return False  # the client half-closed: close our side too

    def pause_writing(self) -> None:
        """Nothing to do: ``offer`` already refuses past ``limit``."""

    def resume_writing(self) -> None:
        self._wake()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._reset is not None:
            self._reset.cancel()
            self._reset = None
        self.close("client went away")

    # -- ending --------------------------------------------------------------------

    def close_if_client_gone(self) -> None:
        """The safety net behind ``connection_lost``: an idle socket hears of
        a vanished client only when someone looks."""
        if self.close_reason is None and self.transport.is_closing():
            self.close("client went away")

    def close(self, reason: str, last_line: bytes = b"") -> None:
        """Stop; write what was accepted, then ``last_line`` (if any), then,
        once the socket is ours, the end of the response. A socket still
        held by its initial events has no line boundary to write
        ``last_line`` at and just ends."""
        if self.close_reason is not None:
            return
        self.close_reason = reason
        # What was accepted is still owed to the client: write it first.
        if not self._held and not self.transport.is_closing():
            if last_line:
                self._pending.append(chunk(last_line) if self.chunked else last_line)
                self._pending_payload += len(last_line)
            if self._pending:
                self.flush()
        self._pending.clear()
        self._pending_bytes = self._pending_payload = 0
        self.closed.set_result(reason)
        self._wake()
        if self._ours:
            self._end()
        if self.on_close is not None:
            self.on_close()

    def _end(self) -> None:
        transport = self.transport
        if transport.is_closing():
            return
        if self.chunked:
            transport.write(_LAST_CHUNK)
        _give_up_after(transport, self._end_grace)
        transport.close()  # after what is buffered has been sent
        if transport.get_write_buffer_size():
            self._reset = self._loop.call_later(self._end_grace, self._abort)

    def _abort(self) -> None:
        """The client took nothing for END_GRACE: drop the connection and
        what is buffered for it."""
        self._reset = None
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):  # a Unix socket has no linger to set
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET_ON_CLOSE)
        self.transport.abort()

    def statistics(self) -> SocketStatistics:
        return SocketStatistics(
            queued_bytes=self.queued_bytes(),
            deliveries=self._deliveries,
            bytes_written=self._bytes_written,
            writes=self._writes,
            closed=self.close_reason is not None,
            close_reason=self.close_reason,
        )

    @property
    def bytes_written(self) -> int:
        return self._bytes_written

    @property
    def writes(self) -> int:
        return self._writes


def _give_up_after(transport: Transport, seconds: float) -> None:
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
