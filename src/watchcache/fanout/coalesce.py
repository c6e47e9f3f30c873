"""When a watch's pending frames are written: once per socket per batch.

Glossary:
    batch     the events dispatched in one turn of the event loop, with no
              await that yields between them: the events of one chunk read
              from upstream (the reflector reads a chunk's lines without
              yielding)
    pending   a socket (socket.py) holding frames accepted, not written
    window    the most a frame may wait so that a busy socket's frames go
              out together (``--watch-write-window``; 0 turns it off): a
              socket that wrote less than ``window`` ago writes again when
              the window since that write ends; any other writes at the end
              of the batch. So a quiet watch is written at once, and a busy
              one at most once per window.

Why: each write to a client costs a system call (and, over TLS, a record),
which is most of what a delivery costs (the load test's broadcast step:
61% of the proxy's samples on the write, 44% of its CPU in the system
call). A batch of N events for a watcher is one write, not N; and one
callback per batch writes every pending socket, not one callback each.

Why the window is off by default: it only saves writes when a watch's
events come closer together than the window, and each one it saves costs
latency. ``bench_fanout_broadcast.py --per-tick 1 --interval 0.02`` (200
watchers, one event every 20 ms, as the load test's 50 patches a second):
a 40 ms window wrote 1.3 events per write over TLS (53-54k -> 55-69k
deliveries per CPU-second) and took plain TCP from 88-90k to 137-147k,
for up to 40 ms more per event. Events that arrive together (a busy
upstream, a loaded proxy) are coalesced without it.

Invariants: a socket whose ``flush_scheduled`` is set is in ``_now`` or
``_later``, once. A socket written before its turn (it closed, or a
dispatcher asked it for room) clears the flag and may stay listed; its
turn then writes what is pending by then, possibly nothing, so order is
kept and nothing is written twice. ``_later``'s timer (``_timer``) is set
for no later than the window's end of each socket in it, so no frame
waits longer than ``window`` after the batch it came in; ``_now``'s
callback runs at the end of the current batch. Both lists hold at most one
entry per ``schedule`` call since they were last run: a socket per batch,
plus one per early write.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import ClassVar, Protocol

__all__ = ["Coalescer", "Pending"]


class Pending(Protocol):
    """What the coalescer needs of a socket."""

    flush_scheduled: bool
    last_write: float  # on the loop's clock; -inf before its first write

    def flush(self) -> None: ...


class Coalescer:
    __slots__ = (
        "__weakref__",
        "_later",
        "_loop",
        "_now",
        "_now_scheduled",
        "_timer",
        "_timer_due",
        "window",
    )

    # One per event loop for sockets not given one (tests, the in-process
    # benchmark): window 0, the end of each batch.
    _shared: ClassVar[weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Coalescer]] = (
        weakref.WeakKeyDictionary()
    )

    def __init__(self, loop: asyncio.AbstractEventLoop, window: float = 0.0) -> None:
        if window < 0:
            raise ValueError(f"a write window is 0 or more seconds, not {window}")
        self._loop = loop
        self.window = window
        self._now: list[Pending] = []
        self._now_scheduled = False
        self._later: list[Pending] = []
        # uvloop answers call_at for a time already past with a plain Handle,
        # which has no when(): the due time is kept here.
        self._timer: asyncio.Handle | None = None
        self._timer_due = 0.0

    @classmethod
    def shared(cls, loop: asyncio.AbstractEventLoop) -> Coalescer:
        """The loop's coalescer without a window."""
        coalescer = cls._shared.get(loop)
        if coalescer is None:
            coalescer = cls._shared[loop] = cls(loop)
        return coalescer

    def __repr__(self) -> str:
        return f"<Coalescer window={self.window}s now={len(self._now)} later={len(self._later)}>"

    def schedule(self, socket: Pending) -> None:
        """Have ``socket`` write what it holds: at the end of this batch, or
        when its window ends. Call once per pending period (the socket's
        ``flush_scheduled`` says it was)."""
        socket.flush_scheduled = True
        if self.window:
            due = socket.last_write + self.window
            if due > self._loop.time():
                self._later.append(socket)
                if self._timer is None or due < self._timer_due:
                    if self._timer is not None:
                        self._timer.cancel()
                    self._timer = self._loop.call_at(due, self._write_later)
                    self._timer_due = due
                return
        self._now.append(socket)
        if not self._now_scheduled:
            self._now_scheduled = True
            self._loop.call_soon(self._write_now)

    def _write_now(self) -> None:
        self._now_scheduled = False
        sockets, self._now = self._now, []
        for socket in sockets:
            socket.flush()

    def _write_later(self) -> None:
        self._timer = None
        sockets, self._later = self._later, []
        for socket in sockets:
            socket.flush()
