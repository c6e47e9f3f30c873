"""One watch stream: a bounded buffer, written in batches straight to the socket.

Glossary:
    sink      where bytes go: an asyncio transport (or anything with its
              write / get_write_buffer_size / is_closing methods)
    pending   lines accepted but not yet written; written together, once
              per event-loop tick, as one HTTP chunk (or, for an HTTP/1.0
              client, which has no chunked encoding, as they are: the body
              then ends when the connection closes)
    queued    pending bytes plus the bytes the sink still holds: what this
              watcher costs in memory beyond the kernel's socket buffer
    replaying the handler is still writing initial events (a list, a
              history replay); live events wait in pending until it ends

Backpressure rule (the buffer is bounded): ``offer`` accepts a line only
while ``queued + len(line) <= limit``, except that an empty watcher always
accepts one line, however large. A refused line is the dispatcher's to
handle: it waits, within the shared time budget, for ``wait_for_room``,
and closes the watcher if the budget runs out (see registry.py). So a
watcher holds at most ``limit`` bytes plus one line.

Ordering: lines are written in the order accepted; a line is never written
twice; lines with an RV not newer than ``start_rv`` (the state the watcher
started from) are dropped, because the watcher already has that state.

Closing: ``close(reason)`` stops accepting, drops nothing already written,
and resolves ``closed`` so the HTTP handler can end the response (which
writes the terminating chunk).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from watchcache.fanout.filter import WatchFilter

__all__ = ["DEFAULT_LIMIT", "Sink", "Watcher", "WatcherStatistics"]

# 1 MiB: about 140 typical 7 KB pod events, several seconds of a busy
# node's traffic; a watcher that falls further behind is slow, not bursty.
DEFAULT_LIMIT = 1 << 20

# How often a watcher waiting for room checks its sink. The whole wait is
# bounded by the time budget (at most 100 ms), so this costs little.
_ROOM_POLL = 0.005


class Sink(Protocol):
    def write(self, data: bytes, /) -> None: ...
    def get_write_buffer_size(self) -> int: ...
    def is_closing(self) -> bool: ...


@dataclass(frozen=True)
class WatcherStatistics:
    queued_bytes: int
    deliveries: int
    bytes_written: int
    writes: int
    closed: bool
    close_reason: str | None


class Watcher:
    __slots__ = (
        "_bytes_written",
        "_deliveries",
        "_flush_scheduled",
        "_loop",
        "_pending",
        "_pending_bytes",
        "_sink_bytes",
        "_writes",
        "bookmark_due",
        "bookmarks",
        "chunked",
        "close_reason",
        "closed",
        "deadline",
        "filter",
        "index_key",
        "last_rv",
        "limit",
        "on_close",
        "replaying",
        "sink",
        "start_rv",
        "timer_entries",
    )

    def __init__(
        self,
        sink: Sink,
        filter: WatchFilter,
        start_rv: int,
        *,
        limit: int = DEFAULT_LIMIT,
        bookmarks: bool = False,
        deadline: float | None = None,
        replaying: bool = False,
        chunked: bool = True,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.sink = sink
        self.filter = filter
        self.start_rv = start_rv
        self.last_rv = start_rv
        self.limit = limit
        self.bookmarks = bookmarks
        self.deadline = deadline
        self.bookmark_due = 0.0
        self.replaying = replaying
        self.chunked = chunked
        self.index_key: tuple[str, object] = ("all", None)
        self._loop = loop or asyncio.get_running_loop()
        # A list, not a deque: an empty deque preallocates a 64-slot block
        # (760 bytes measured), a list 56 bytes, and an idle watcher's
        # buffer is empty almost always.
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        # The sink's buffer as of the last write or wait. Between writes it
        # can only shrink, so using this stale figure over-states what is
        # queued: a watcher may look full a little early (and is then
        # checked for real in wait_for_room), never late.
        self._sink_bytes = 0
        self._flush_scheduled = False
        self._deliveries = 0
        self._bytes_written = 0
        self._writes = 0
        self.close_reason: str | None = None
        self.closed: asyncio.Future[str] = self._loop.create_future()
        # Set by the registry: takes the watcher out of its index at once.
        self.on_close: Callable[[Watcher], None] | None = None
        # The registry's: how many of its timer-heap entries name this watcher.
        self.timer_entries = 0

    def __repr__(self) -> str:
        state = "closed" if self.closed.done() else "replaying" if self.replaying else "live"
        return (
            f"<Watcher {state} rv={self.last_rv} queued={self.queued_bytes()} key={self.index_key}>"
        )

    # -- accepting -------------------------------------------------------------

    @property
    def bytes_written(self) -> int:
        """Event bytes handed to the sink so far (chunk framing excluded)."""
        return self._bytes_written

    def queued_bytes(self) -> int:
        self._sink_bytes = self.sink.get_write_buffer_size()
        return self._pending_bytes + self._sink_bytes

    def has_room(self, size: int) -> bool:
        queued = self.queued_bytes()
        return queued == 0 or queued + size <= self.limit

    def offer(self, line: bytes, rv: int) -> bool:
        """Accept ``line`` without waiting; False when the buffer is full.

        A closed watcher, or an event it already has, counts as accepted:
        there is nothing for the dispatcher to wait for.
        """
        if rv <= self.start_rv or self.close_reason is not None:
            return True
        queued = self._pending_bytes + self._sink_bytes  # has_room, inlined: hot path
        if queued and queued + len(line) > self.limit:
            return False
        self._accept(line, rv)
        return True

    def _accept(self, line: bytes, rv: int) -> None:
        self._pending.append(line)
        self._pending_bytes += len(line)
        self._deliveries += 1
        if rv > self.last_rv:
            self.last_rv = rv
        if not self._flush_scheduled and not self.replaying:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    async def wait_for_room(self, size: int, within: float) -> bool:
        """Wait up to ``within`` seconds until ``size`` bytes fit."""
        end = self._loop.time() + within
        while not self.has_room(size):
            if self.closed.done() or self.sink.is_closing():
                return True  # nothing to wait for: the stream is gone
            remaining = end - self._loop.time()
            if remaining <= 0:
                return False
            await asyncio.sleep(min(_ROOM_POLL, remaining))
        return True

    def send_bookmark(self, line: bytes, rv: int) -> None:
        """A bookmark is only sent when it fits: skipping one loses nothing.
        One at the watcher's own RV repeats it (the cadence goes on while
        the RV stands still); never one behind it, nor during replay."""
        if self.closed.done() or not self.has_room(len(line)):
            return
        if rv > self.last_rv or (rv == self.last_rv and not self.replaying):
            self._accept(line, rv)

    # -- writing ---------------------------------------------------------------

    def _flush(self) -> None:
        self._flush_scheduled = False
        if not self._pending or self.replaying:
            return
        if self.sink.is_closing():
            self.close("client went away")
            return
        body = b"".join(self._pending) if len(self._pending) > 1 else self._pending[0]
        self._pending.clear()
        self._pending_bytes = 0
        # One HTTP/1.1 chunk per flush; the handler ends the response with
        # the terminating chunk when the watcher closes.
        self.sink.write(self._framed(body))
        self._sink_bytes = self.sink.get_write_buffer_size()
        self._bytes_written += len(body)
        self._writes += 1

    def write_now(self, data: bytes) -> None:
        """Write initial events (a replay) ahead of anything pending."""
        if data:
            self.sink.write(self._framed(data))
            self._bytes_written += len(data)
            self._writes += 1

    def _framed(self, body: bytes) -> bytes:
        return b"%x\r\n%b\r\n" % (len(body), body) if self.chunked else body

    def finish_replay(self, rv: int) -> None:
        """Initial events are written up to ``rv``; live events may flow."""
        self.replaying = False
        self.last_rv = max(self.last_rv, rv)
        if self._pending and not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def close(self, reason: str, last_line: bytes = b"") -> None:
        """Stop; ``last_line`` (an ERROR event) is written after what was
        accepted, one line over the bound at most. A watcher still
        replaying has no line boundary to write it at and just ends."""
        # Invariant: close_reason is set exactly when closed is resolved.
        if self.close_reason is not None:
            return
        self.close_reason = reason
        # What was accepted is still owed to the client: write it first.
        if not self.replaying and not self.sink.is_closing():
            if last_line:
                self._pending.append(last_line)
            if self._pending:
                self._flush()
        self._pending.clear()
        self._pending_bytes = 0
        self.closed.set_result(reason)
        if self.on_close is not None:
            self.on_close(self)

    def statistics(self) -> WatcherStatistics:
        return WatcherStatistics(
            queued_bytes=self.queued_bytes(),
            deliveries=self._deliveries,
            bytes_written=self._bytes_written,
            writes=self._writes,
            closed=self.closed.done(),
            close_reason=self.close_reason,
        )
