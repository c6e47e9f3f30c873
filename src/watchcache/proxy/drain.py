"""Closing long-lived streams on shutdown without a thundering herd.

A proxy restart that closed every watch at once would make every client
reconnect, and relist, in the same second: the load spike a read tier is
meant to prevent. ``StreamTracker.drain(spread)`` instead closes the open
streams evenly over ``spread`` seconds, oldest first (the oldest have had
the longest to drift from their own bookmarks, and closing them first
spreads reconnects the way clients' own timeouts would).

Glossary:
    stream   a response that stays open (a watch, a relayed log follow);
             it registers a close callback while it is open
    source   streams tracked elsewhere, asked for their close callbacks
             when a drain begins: the watches served from the cache, which
             their fan-out registry already knows (a handle each would
             cost memory on every idle watcher)
    drain    stop accepting (done by the server), then close streams

Invariant: a stream is in ``_open`` from ``open()`` until its handle is
closed, by the stream itself finishing or by ``drain``; closing twice is a
no-op.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Iterable

__all__ = ["StreamHandle", "StreamTracker"]


class StreamHandle:
    __slots__ = ("_close", "_tracker", "closed", "seq")

    def __init__(self, tracker: StreamTracker, seq: int, close: Callable[[], None]) -> None:
        self._tracker = tracker
        self._close = close
        self.seq = seq
        self.closed = False

    def finish(self) -> None:
        """The stream ended on its own; forget it."""
        self._tracker._open.pop(self.seq, None)

    def close(self) -> None:
        """Ask the stream to end (idempotent)."""
        if not self.closed:
            self.closed = True
            self.finish()
            self._close()


class StreamTracker:
    def __init__(self) -> None:
        # Insertion order is opening order: dicts keep it.
        self._open: dict[int, StreamHandle] = {}
        self._seq = itertools.count()
        self._sources: list[Callable[[], Iterable[Callable[[], None]]]] = []
        self.draining = False

    def __len__(self) -> int:
        """Streams opened here; a source's are not counted."""
        return len(self._open)

    def __repr__(self) -> str:
        return f"<StreamTracker open={len(self._open)} draining={self.draining}>"

    def open(self, close: Callable[[], None]) -> StreamHandle:
        handle = StreamHandle(self, next(self._seq), close)
        self._open[handle.seq] = handle
        if self.draining:
            # Opened after drain began (a request already in flight): end it
            # at once rather than let it hold shutdown up.
            handle.close()
        return handle

    def add_source(self, source: Callable[[], Iterable[Callable[[], None]]]) -> None:
        """Streams kept elsewhere: ``source()`` gives their close callbacks."""
        self._sources.append(source)

    async def drain(self, spread: float) -> None:
        """Close every open stream, evenly over ``spread`` seconds: this
        tracker's, oldest first, then the sources'."""
        self.draining = True
        closers = [handle.close for handle in self._open.values()]
        closers += [close for source in self._sources for close in source()]
        if not closers:
            return
        gap = spread / len(closers) if spread > 0 else 0.0
        for close in closers:
            close()
            if gap:
                await asyncio.sleep(gap)
