"""One watch as the registry sees it: what it asked for and how far it got.

Glossary:
    socket      the watch's bytes: buffer, writes, end (socket.py); the
                watcher only hands it events
    filter      which events it gets, and as which line (filter.py)
    start_rv    the state the watch started from: events not newer are
                dropped, because the client already has them
    last_rv     the newest RV it was handed (events and bookmarks)
    deadline    when it ends (timeoutSeconds), on the registry's clock
    bookmarks   whether it asked for bookmarks; ``bookmark_due`` is when
                the next is due, on the registry's clock
    index_key,  the registry's bookkeeping: the bucket it is in and how
    timer_entries  many timer-heap entries name it; ``on_close`` takes it
                out of the index at once

Ordering: events are offered in RV order, each at most once; a closed
watcher accepts (and drops) everything, so a dispatcher never waits on it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from watchcache.fanout.coalesce import Coalescer
from watchcache.fanout.filter import WatchFilter
from watchcache.fanout.socket import (
    DEFAULT_LIMIT,
    END_GRACE,
    SocketStatistics,
    Transport,
    WatchSocket,
    chunk,
)

__all__ = ["DEFAULT_LIMIT", "Watcher"]


class Watcher:
    __slots__ = (
        "bookmark_due",
        "bookmarks",
        "deadline",
        "filter",
        "index_key",
        "last_rv",
        "on_close",
        "socket",
        "start_rv",
        "timer_entries",
    )

    def __init__(
        self,
        transport: Transport,
        filter: WatchFilter,
        start_rv: int,
        *,
        limit: int = DEFAULT_LIMIT,
        bookmarks: bool = False,
        deadline: float | None = None,
        replaying: bool = False,
        chunked: bool = True,
        end_grace: float = END_GRACE,
        loop: asyncio.AbstractEventLoop | None = None,
        coalescer: Coalescer | None = None,
    ) -> None:
        self.socket = WatchSocket(
            transport,
            limit=limit,
            chunked=chunked,
            held=replaying,
            end_grace=end_grace,
            loop=loop,
            coalescer=coalescer,
        )
        self.socket.on_close = self._socket_closed
        self.filter = filter
        self.start_rv = start_rv
        self.last_rv = start_rv
        self.bookmarks = bookmarks
        self.deadline = deadline
        self.bookmark_due = 0.0
        self.index_key: tuple[str, object] = ("all", None)
        # Set by the registry: takes the watcher out of its index at once.
        self.on_close: Callable[[Watcher], None] | None = None
        # The registry's: how many of its timer-heap entries name this watcher.
        self.timer_entries = 0

    def __repr__(self) -> str:
        return f"<Watcher rv={self.last_rv} key={self.index_key} {self.socket!r}>"

    @property
    def closed(self) -> asyncio.Future[str]:
        return self.socket.closed

    @property
    def close_reason(self) -> str | None:
        return self.socket.close_reason

    @property
    def bytes_written(self) -> int:
        """Event bytes handed to the transport so far (framing excluded)."""
        return self.socket.bytes_written

    def offer(self, line: bytes, frame: bytes, rv: int) -> bool:
        """Hand over one event (``frame`` is ``chunk(line)``, shared by every
        watcher that gets it) without waiting; False when the socket is full."""
        if rv <= self.start_rv:
            return True
        if not self.socket.offer(line, frame):
            return False
        if rv > self.last_rv:
            self.last_rv = rv
        return True

    def send_bookmark(self, line: bytes, rv: int) -> None:
        """A bookmark is only sent when it fits: skipping one loses nothing.
        One at the watcher's own RV repeats it (the cadence goes on while
        the RV stands still); never one behind it, nor during replay."""
        socket = self.socket
        if socket.close_reason is not None or not socket.has_room(len(line)):
            return
        if rv > self.last_rv or (rv == self.last_rv and not socket.held):
            socket.offer(line, chunk(line))
            self.last_rv = rv

    def finish_replay(self, rv: int) -> None:
        """Initial events are written up to ``rv``; live events may flow."""
        self.last_rv = max(self.last_rv, rv)
        self.socket.release()

    def close(self, reason: str, last_line: bytes = b"") -> None:
        self.socket.close(reason, last_line)

    def _socket_closed(self) -> None:
        if self.on_close is not None:
            self.on_close(self)

    def statistics(self) -> SocketStatistics:
        return self.socket.statistics()
