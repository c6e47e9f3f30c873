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

Why ``watchcache serve`` has a 40 ms window by default: events a second
apart gain nothing from a window and lose nothing to it (a watch that has
been quiet for the window writes at once), but a busy watch's events do
not arrive together: the load test's broadcast step patches 50 times a
second, so each event is a batch of its own and, without a window, a
write of its own to every watcher, and the write is most of what a
delivery costs (kernel and TLS record). With 40 ms a busy watch gets about
two events per write at that rate, and each event waits at most 40 ms
more, well inside the load test's 50 ms p99 target beside what upstream's
own watch adds. ``benchmarks/bench_write_path.py`` (200 watchers x 50
patches/s against kube-apiserver 1.20, same runs, machine loaded):
without a window 1.1-1.3 events per write, 3.2x kube-apiserver's
deliveries per CPU-second over TLS and 5.2x over plain HTTP; with 40 ms,
2.05-2.2 events per write, 4.4-4.5x over TLS and 5.7-6.8x plain, p99
latency 98-259 ms against kube-apiserver's own 209-816 ms in those runs.
0 turns it off (the library's ``Registry`` default: a test or an
embedding decides), for a client that must see each event the moment it
is dispatched. A watch from another watchcache (a tier below, a worker
process: proxy/reads.py knows it by its User-Agent) is served with the
loop's coalescer instead of its registry's (``serve_watch(windowed=
False)``), and the primary of ``--workers`` runs without a window: the
tier or worker holds its own clients' writes, so an event waits for one
window at most on its way, however many tiers it crosses.

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
