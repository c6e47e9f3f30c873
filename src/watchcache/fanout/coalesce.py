"""When a watch's pending frames are written: once per socket per batch.

Glossary:
    batch     the events dispatched in one turn of the event loop, with no
              await that yields between them: the events of one chunk read
              from upstream (the reflector reads a chunk's lines without
              yielding)
    pending   a socket (socket.py) holding frames accepted, not written
    window    the most a frame may wait so that a busy socket's frames go
              out together (``--watch-write-window``; 0 turns it off): a
              socket that wrote less than ``window`` ago is *waiting*: it
              writes when the window since that write ends, or at the end
              of the batch in which it holds ``frames`` (2) pending,
              whichever comes first; any other socket writes at the end of
              the batch. So a quiet watch is written at once, and a busy one
              at most once per window or per two frames
    due       a waiting socket's ``write_due``: its last write plus the
              window (0.0 while it is not waiting)

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
two events per write at that rate.

Why a waiting socket also writes once it holds two frames: the window
alone makes an event wait up to the whole window (at 50 events a second
the first event after a write waits for the window's end, 25 ms on
average), while writing the pair as soon as the second event arrives saves
as many writes at that rate and makes the first wait one event's spacing
at most (20 ms). A faster watch writes per pair, or per batch when its
events come together from upstream. ``benchmarks/bench_write_path.py``,
200 watchers x 50 patches/s against kube-apiserver 1.20 on a quiet
machine (load average 0.5-1.5), deliveries per CPU-second over TLS as a
ratio to kube-apiserver's in the same round, and latency p50/p99 (its own
12-14/26-43 ms):

    no window (0ac49dd)      2.7-3.4x  1 event per write   10-12/21-38 ms
    the window alone         3.6-4.4x  2.0 per write       28/50-52 ms
    the window and the pair  4.3-4.7x  1.85 per write      26/40-50 ms

The window alone missed the 50 ms p99 target; with the pair it holds. On
a loaded machine (load average 4-6), where late timers let the window
alone gather up to three events a write, it measured 3.1-5.1x in rounds
where no window measured 2.3-4.1x, and the pair 3.8x against 3.1x.

0 turns it off (the library's ``Registry`` default: a test or an
embedding decides), for a client that must see each event the moment it
is dispatched. A watch from another watchcache (a tier below, a worker
process: proxy/reads.py knows it by its User-Agent) is served with the
loop's coalescer instead of its registry's (``serve_watch(windowed=
False)``), and the primary of ``--workers`` runs without a window: the
tier or worker holds its own clients' writes, so an event waits for one
window at most on its way, however many tiers it crosses.

Invariants: a socket whose ``flush_scheduled`` is set is in ``_now``
(its ``write_due`` 0.0) or waiting in ``_later`` (its ``write_due`` set).
A socket written before its turn (it closed, a dispatcher asked it for
room, or it gathered its frames and moved to ``_now``) clears the flag or
its due and may stay listed; a listed socket that is no longer waiting is
passed over in ``_later`` (so an old entry never writes a socket before
its current due), and written in ``_now``, where its turn writes what is
pending by then, possibly nothing: order is kept and nothing is written
twice. ``_later``'s timer (``_timer``) is set for no later than the due
of each socket waiting in it (a due within ``_SLACK`` of the timer is
written with it: uvloop's timers are whole milliseconds), so no frame
waits longer than ``window`` after the batch it came in; ``_now``'s
callback runs at the end of the current batch. Both lists hold at most one
entry per ``schedule`` or ``write_soon`` call since they were last run.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import ClassVar, Protocol

__all__ = ["FRAMES", "Coalescer", "Pending"]


# A waiting socket with this many frames pending writes at the end of the
# batch, without waiting for the rest of its window.
FRAMES = 2
# A due this close to a timer's firing is written with it: uvloop's timers
# are whole milliseconds, and its clock may read just short of a due.
_SLACK = 0.001


class Pending(Protocol):
    """What the coalescer needs of a socket."""

    flush_scheduled: bool
    last_write: float  # on the loop's clock; -inf before its first write
    write_due: float  # set while waiting in _later; 0.0 otherwise

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
                socket.write_due = due
                self._later.append(socket)
                self._arm(due)
                return
        self.write_soon(socket)

    def write_soon(self, socket: Pending) -> None:
        """Have ``socket`` write at the end of this batch, waiting or not
        (a waiting socket that gathered ``FRAMES``)."""
        socket.flush_scheduled = True
        socket.write_due = 0.0
        self._now.append(socket)
        if not self._now_scheduled:
            self._now_scheduled = True
            self._loop.call_soon(self._write_now)

    def _arm(self, due: float) -> None:
        if self._timer is None or due < self._timer_due:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = self._loop.call_at(due, self._write_later)
            self._timer_due = due

    def _write_now(self) -> None:
        self._now_scheduled = False
        sockets, self._now = self._now, []
        for socket in sockets:
            socket.flush()

    def _write_later(self) -> None:
        self._timer = None
        until = self._loop.time() + _SLACK
        sockets, self._later = self._later, []
        for socket in sockets:
            due = socket.write_due
            if not due or not socket.flush_scheduled:
                continue  # written already, or to be written in _now
            if due <= until:
                socket.flush()
            else:
                self._later.append(socket)
        # Sockets appended by ``schedule`` during the flushes above armed
        # their own timer; the ones kept need one too.
        for socket in self._later:
            self._arm(socket.write_due)
