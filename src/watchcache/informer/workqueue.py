"""``WorkQueue``: what a controller reconciles next, as client-go's
workqueue has it, in asyncio.

Glossary:
    item        usually an object's key (``namespace/name``): hashable
    dirty       items that need processing: queued, or added again while
                being processed
    processing  items handed out by ``get`` and not yet ``done``
    waiting     items added with a delay, not yet due
    requeues    how often an item was rate-limited since it was last
                ``forget``-ed: the exponent of its backoff

Invariants (client-go's):
    - an item is handed out to one worker at a time: one added while it is
      processing is queued again only when ``done`` is called;
    - an item is queued at most once however often it is added (it is in
      ``_queue`` iff it is dirty and not processing).

Bounds: the queue and the waiting set hold each item at most once, so they
never exceed the distinct items added (the objects a controller watches).
An item added while already waiting keeps the earlier due time.

Rate limiting (client-go's DefaultControllerRateLimiter): the longer of an
exponential per-item backoff (5 ms doubling to 1000 s per requeue) and an
overall token bucket (10 per second, bursts of 100), so one failing item
backs off alone and a mass failure cannot requeue faster than 10/s.

Shutdown: ``shutdown()`` refuses new items, drops waiting ones, and with
``drain`` (the default) returns once every queued and processing item is
done; ``get`` keeps handing out what is queued, then raises ``ShutDown``.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Hashable
from typing import Generic, Protocol, TypeVar

__all__ = [
    "BucketRateLimiter",
    "ItemExponentialRateLimiter",
    "MaxOfRateLimiter",
    "RateLimiter",
    "ShutDown",
    "WorkQueue",
    "default_rate_limiter",
]

T = TypeVar("T", bound=Hashable)


class ShutDown(Exception):
    """The queue is shut down and empty."""


class RateLimiter(Protocol):
    def when(self, item: Hashable) -> float:
        """Seconds to wait before ``item`` is processed again."""
        ...

    def forget(self, item: Hashable) -> None: ...

    def requeues(self, item: Hashable) -> int: ...


class ItemExponentialRateLimiter:
    """``base * 2**n`` seconds for an item's n-th requeue, at most ``cap``."""

    def __init__(self, base: float = 0.005, cap: float = 1000.0) -> None:
        self.base = base
        self.cap = cap
        self._failures: dict[Hashable, int] = {}

    def when(self, item: Hashable) -> float:
        n = self._failures.get(item, 0)
        self._failures[item] = n + 1
        # 2**n overflows float past n ~ 1023: cap the exponent first.
        return min(self.cap, self.base * float(2 ** min(n, 62)))

    def forget(self, item: Hashable) -> None:
        self._failures.pop(item, None)

    def requeues(self, item: Hashable) -> int:
        return self._failures.get(item, 0)


class BucketRateLimiter:
    """A token bucket over all items: ``qps`` tokens a second, ``burst`` at
    most; each ``when`` takes one, waiting for it if none is left."""

    def __init__(
        self, qps: float = 10.0, burst: int = 100, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.qps = qps
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._at = clock()

    def when(self, item: Hashable) -> float:
        now = self._clock()
        self._tokens = min(float(self.burst), self._tokens + (now - self._at) * self.qps)
        self._at = now
        self._tokens -= 1.0  # reserved now, possibly ahead of its arrival
        return 0.0 if self._tokens >= 0 else -self._tokens / self.qps

    def forget(self, item: Hashable) -> None:
        pass

    def requeues(self, item: Hashable) -> int:
        return 0


class MaxOfRateLimiter:
    """The longest wait any of ``limiters`` asks for."""

    def __init__(self, *limiters: RateLimiter) -> None:
        self.limiters = limiters

    def when(self, item: Hashable) -> float:
        return max(limiter.when(item) for limiter in self.limiters)

    def forget(self, item: Hashable) -> None:
        for limiter in self.limiters:
            limiter.forget(item)

    def requeues(self, item: Hashable) -> int:
        return max(limiter.requeues(item) for limiter in self.limiters)


def default_rate_limiter(clock: Callable[[], float] = time.monotonic) -> MaxOfRateLimiter:
    """client-go's DefaultControllerRateLimiter."""
    return MaxOfRateLimiter(ItemExponentialRateLimiter(), BucketRateLimiter(clock=clock))


class _Timer(Protocol):
    def cancel(self) -> None: ...


Schedule = Callable[[float, Callable[[], None]], _Timer]


class WorkQueue(Generic[T]):
    """De-duplicating, delaying, rate-limited. ``schedule(delay, fn)`` runs
    ``fn`` after ``delay`` seconds (default: the event loop's call_later)."""

    def __init__(
        self,
        *,
        rate_limiter: RateLimiter | None = None,
        clock: Callable[[], float] = time.monotonic,
        schedule: Schedule | None = None,
    ) -> None:
        self.rate_limiter = rate_limiter or default_rate_limiter(clock)
        self._clock = clock
        self._schedule = schedule
        self._queue: deque[T] = deque()
        self._dirty: set[T] = set()
        self._processing: set[T] = set()
        # item -> (due time, its timer)
        self._waiting: dict[T, tuple[float, _Timer]] = {}
        self._shutting_down = False
        self._ready = asyncio.Event()
        self._drained = asyncio.Event()
        self._drained.set()

    def __len__(self) -> int:
        """Items queued (not processing, not waiting)."""
        return len(self._queue)

    def __repr__(self) -> str:
        return (
            f"<WorkQueue queued={len(self._queue)} processing={len(self._processing)} "
            f"waiting={len(self._waiting)}{' shutting down' if self._shutting_down else ''}>"
        )

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    # -- adding --------------------------------------------------------------

    def add(self, item: T) -> None:
        """Queue ``item`` unless it is already queued; one being processed
        is queued again when it is done. Ignored once shutting down."""
        if self._shutting_down or item in self._dirty:
            return
        self._dirty.add(item)
        self._drained.clear()
        if item not in self._processing:
            self._queue.append(item)
            self._ready.set()

    def add_after(self, item: T, delay: float) -> None:
        """``add`` after ``delay`` seconds; an item already waiting keeps the
        earlier due time."""
        if self._shutting_down:
            return
        if delay <= 0:
            self.add(item)
            return
        due = self._clock() + delay
        waiting = self._waiting.get(item)
        if waiting is not None:
            if waiting[0] <= due:
                return
            waiting[1].cancel()
        timer = self._scheduler()(delay, lambda: self._due(item))
        self._waiting[item] = (due, timer)
        self._drained.clear()

    def add_rate_limited(self, item: T) -> None:
        """``add`` after the rate limiter's wait (a failed item's retry)."""
        self.add_after(item, self.rate_limiter.when(item))

    def forget(self, item: T) -> None:
        """The item succeeded: its backoff starts over."""
        self.rate_limiter.forget(item)

    def num_requeues(self, item: T) -> int:
        return self.rate_limiter.requeues(item)

    def _due(self, item: T) -> None:
        self._waiting.pop(item, None)
        self.add(item)
        self._check_drained()

    def _scheduler(self) -> Schedule:
        return self._schedule or asyncio.get_running_loop().call_later

    # -- processing ------------------------------------------------------------

    async def get(self) -> T:
        """The next item, waiting for one; mark it ``done`` when finished.
        Raises ``ShutDown`` once shutting down and nothing is queued."""
        while not self._queue:
            if self._shutting_down:
                raise ShutDown
            self._ready.clear()
            await self._ready.wait()
        item = self._queue.popleft()
        self._processing.add(item)
        self._dirty.discard(item)
        return item

    def done(self, item: T) -> None:
        """Finished with ``item``: if it was added meanwhile, it is queued."""
        self._processing.discard(item)
        if item in self._dirty:
            self._queue.append(item)
            self._ready.set()
        self._check_drained()

    def __aiter__(self) -> AsyncIterator[T]:
        return self._items()

    async def _items(self) -> AsyncIterator[T]:
        """Items until shut down and empty (each still needs ``done``)."""
        while True:
            try:
                yield await self.get()
            except ShutDown:
                return

    # -- shutting down -----------------------------------------------------------

    async def shutdown(self, *, drain: bool = True) -> None:
        """Refuse new items, drop waiting ones, wake every ``get``; with
        ``drain``, return once queued and processing items are done."""
        self._shutting_down = True
        for _due, timer in self._waiting.values():
            timer.cancel()
        self._waiting.clear()
        self._ready.set()
        self._check_drained()
        if drain:
            await self._drained.wait()

    def _check_drained(self) -> None:
        if not self._queue and not self._processing and not self._waiting:
            self._drained.set()
