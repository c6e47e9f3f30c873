"""The history window: recent events in RV order, like kube-apiserver's.

Glossary:
    window     how far back history must reach in time (75 s by default,
               kube-apiserver's eventFreshDuration)
    capacity   how many events the ring holds now; it follows
               kube-apiserver's watch_cache.go: before an append, when the
               ring is full and its oldest event is younger than the window,
               capacity doubles; when it is full and the newest quarter's
               first event is older than the window, it halves; always
               within [min_events, max_events] (100 .. 102,400)
    base_rv    the RV of the last relist (``reset``); while no event has
               been evicted since, every RV >= base_rv can be served
    oldest     the first RV history can still answer from: base_rv + 1
               until something was evicted, then the oldest kept event's rv

Full-case rule (the ring is bounded twice): when the ring is full at its
current capacity, or the bytes events retain exceed ``max_bytes``, the
oldest events are evicted; watchers older than what remains get 410
Expired and relist. Nothing blocks.

``since(rv)`` answers like watch_cache.go's getAllEventsSinceLocked: the
events with rv greater than ``rv``, or ``TooOldResourceVersion`` with
"too old resource version: N (M)" where M = oldest - 1, and an RV equal to
M is still accepted (no event was lost after it).

Settling: when an event falls behind the newest ``PACK_AFTER_EVENTS``,
with ``packing`` (the default), the objects only history holds are packed
(event.py): its previous object, as an LZ4 delta against its own, which is
also the ``entry`` of the older event that made it (found through
``_packed_by_key``, so both hold the one packed copy), and a DELETED
event's object. When it falls behind the newest ``LINE_MEMO_EVENTS``, its
memoised lines are dropped. The newest events, the ones live watchers are
sent, stay whole. Packing costs ~4.6 us of CPU per superseded 5.9 KB pod
version on the apply path (bench_cache_apply.py) and keeps a version that
differs from the next by a label in ~1% of its size; without ``packing``
history holds superseded versions whole, up to ``max_bytes``.

Invariants: ring events have strictly increasing rv; ``_bytes`` is the sum
of ``retained_bytes()`` of the events in the ring; ``_packed_by_key[k]`` is
the newest packed event in the ring for key k (empty without packing).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable

from watchcache.api.status import ApiError, too_old_resource_version
from watchcache.cache.event import Event

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_WINDOW",
    "LINE_MEMO_EVENTS",
    "MAX_DELTAS_IN_ROW",
    "MAX_EVENTS",
    "MIN_EVENTS",
    "PACK_AFTER_EVENTS",
    "History",
    "TooOldResourceVersion",
]

DEFAULT_WINDOW = 75.0
MIN_EVENTS = 100
MAX_EVENTS = 100 * 1024
# Bytes of previous and deleted objects history may keep alive. 64 MiB is
# ~11,000 superseded 5.9 KB pods: a 75 s window at ~150 updates/s; the rest
# of the memory budget (bench_cache_memory.py) goes to the current objects.
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
# Newest events whose encoded lines stay memoised: live watchers are sent
# these; older ones are re-encoded only for a watcher resuming far back.
LINE_MEMO_EVENTS = 1024
# Newest events whose superseded objects stay whole: what a live watcher
# reads of them (a DELETED line when an object leaves its selector) and a
# LIST continued at a recent RV. 128 whole 7.8 KB pods are 1 MB; 1,024
# (LINE_MEMO_EVENTS, before) were 0.1x the JSON of 10,000 such pods.
PACK_AFTER_EVENTS = 128
# Settled versions of one key packed as deltas before one is packed
# standalone: reading a settled version unpacks at most this many more.
# Standalone (zlib), a 7.8 KB pod packs to 0.9 to 4.5 KB in ~25 us or more,
# as a delta (LZ4) to ~0.05 KB in ~4 us; unpacking takes ~6 and ~1.5 us
# (event.py), so an item of a LIST page at an old RV costs at most ~30 us.
MAX_DELTAS_IN_ROW = 16


class TooOldResourceVersion(ApiError):
    """The RV predates the history window: kube-apiserver's 410 Expired,
    ready to render (``status()``/``body()``). ``rv`` and ``oldest`` let a
    LIST decide to go upstream instead."""

    def __init__(self, rv: int, oldest: int) -> None:
        expired = too_old_resource_version(rv, oldest - 1)
        super().__init__(expired.code, expired.reason, expired.message)
        self.rv = rv
        self.oldest = oldest


class History:
    def __init__(
        self,
        *,
        clock: Callable[[], float],
        window: float = DEFAULT_WINDOW,
        min_events: int = MIN_EVENTS,
        max_events: int = MAX_EVENTS,
        max_bytes: int = DEFAULT_MAX_BYTES,
        packing: bool = True,
    ) -> None:
        self._clock = clock
        self.window = window
        self.min_events = min_events
        self.max_events = max_events
        self.max_bytes = max_bytes
        self.packing = packing
        self.capacity = min_events
        self._events: list[Event | None] = [None] * min_events
        self._times: list[float] = [0.0] * min_events
        self._start = 0  # absolute index of the oldest event
        self._end = 0  # absolute index one past the newest
        self._bytes = 0
        self.base_rv = 0
        self._evicted_since_reset = False
        self._packed_by_key: dict[str, Event] = {}

    def __len__(self) -> int:
        return self._end - self._start

    def __repr__(self) -> str:
        return f"<History {len(self)}/{self.capacity} events, {self._bytes} bytes, oldest rv {self.oldest()}>"

    @property
    def retained_bytes(self) -> int:
        return self._bytes

    def reset(self, rv: int) -> None:
        """After a relist at ``rv``: drop every event (watchers were closed)."""
        for i in range(self._start, self._end):
            self._events[i % self.capacity] = None
        self._start = self._end = 0
        self._bytes = 0
        self._packed_by_key.clear()
        self.base_rv = rv
        self._evicted_since_reset = False

    def append(self, event: Event) -> None:
        """Record ``event`` (its rv above every kept event's)."""
        now = self._clock()
        self._resize(now)
        if len(self) == self.capacity:
            self._evict_oldest()
        slot = self._end % self.capacity
        self._events[slot] = event
        self._times[slot] = now
        self._end += 1
        self._bytes += event.retained_bytes()
        while self._bytes > self.max_bytes and len(self) > 1:
            self._evict_oldest()
        kept = self._end - self._start
        if kept > PACK_AFTER_EVENTS and self.packing:
            self._pack(self._at(self._end - 1 - PACK_AFTER_EVENTS))
        if kept > LINE_MEMO_EVENTS:
            self._at(self._end - 1 - LINE_MEMO_EVENTS).forget_lines()

    def _pack(self, event: Event) -> None:
        """``event`` fell behind the newest PACK_AFTER_EVENTS: pack what
        only history holds (module docstring)."""
        key = event.key
        self._bytes += event.pack(self._packed_by_key.get(key), MAX_DELTAS_IN_ROW)
        self._packed_by_key[key] = event

    def covered_seconds(self) -> float:
        """How long ago the oldest kept event was recorded (0 when empty):
        the window a watch can resume within, as time."""
        if not len(self):
            return 0.0
        return max(0.0, self._clock() - self._times[self._start % self.capacity])

    def oldest(self) -> int:
        """The first RV history can answer from (see module docstring)."""
        if not self._evicted_since_reset or len(self) == 0:
            return self.base_rv + 1
        return self._at(self._start).rv

    def check(self, rv: int) -> None:
        """Raise ``TooOldResourceVersion`` unless every event after ``rv``
        is still here."""
        oldest = self.oldest()
        if rv < oldest - 1:
            raise TooOldResourceVersion(rv, oldest)

    def since(self, rv: int) -> list[Event]:
        """The events with rv > ``rv``, oldest first."""
        self.check(rv)
        first = self._first_after(rv)
        return [self._at(i) for i in range(first, self._end)]

    def _first_after(self, rv: int) -> int:
        lo = bisect.bisect_right(range(self._start, self._end), rv, key=lambda i: self._at(i).rv)
        return self._start + lo

    def _at(self, index: int) -> Event:
        event = self._events[index % self.capacity]
        assert event is not None, "index outside the ring"
        return event

    def _evict_oldest(self) -> None:
        slot = self._start % self.capacity
        event = self._events[slot]
        assert event is not None
        self._bytes -= event.retained_bytes()
        if self._packed_by_key.get(event.key) is event:
            del self._packed_by_key[event.key]
        self._events[slot] = None
        self._start += 1
        self._evicted_since_reset = True

    def _resize(self, now: float) -> None:
        if len(self) < self.capacity:
            return
        oldest_time = self._times[self._start % self.capacity]
        if now - oldest_time < self.window:
            self._set_capacity(min(self.capacity * 2, self.max_events))
            return
        quarter_time = self._times[(self._end - self.capacity // 4) % self.capacity]
        if now - quarter_time > self.window:
            self._set_capacity(max(self.capacity // 2, self.min_events))

    def _set_capacity(self, capacity: int) -> None:
        if capacity == self.capacity:
            return
        keep = range(max(self._start, self._end - capacity), self._end)
        while self._start < keep.start:
            self._evict_oldest()  # shrinking drops the oldest, as kube does
        events: list[Event | None] = [None] * capacity
        times = [0.0] * capacity
        for i in keep:
            events[i % capacity] = self._events[i % self.capacity]
            times[i % capacity] = self._times[i % self.capacity]
        self._events, self._times, self.capacity = events, times, capacity
