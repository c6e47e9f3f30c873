"""How long an event may wait for watchers whose queues are full.

Glossary:
    budget    seconds the blocked watchers of one collection may still wait,
              shared by all of them, as kube-apiserver's cacher shares its
              timeBudget: it refills at REFILL_PER_SECOND, up to MAX_BUDGET.
    grant     what one dispatch takes from the budget: all of it. Every
              watcher that was full when that event came waits until the
              grant's deadline; whatever is left when the last of them
              drains goes back.

Rule (SEMANTICS.md, "Fan-out and slow watchers"): an event is offered to
every watcher without blocking; the full ones wait on one grant; a watcher
still full at the grant's deadline is closed. Its client resumes from its
last RV, which history still covers.

Invariant: 0 <= budget <= MAX_BUDGET at every read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

__all__ = ["MAX_BUDGET", "REFILL_PER_SECOND", "Grant", "SimTimeBudget"]

# kube-apiserver's cacher: refresh 50 ms per second, at most 100 ms.
REFILL_PER_SECOND = 0.05
MAX_BUDGET = 0.1


class SimTimeBudget:
    def __init__(self, monotonic: Callable[[], float]) -> None:
        self.monotonic = monotonic
        self._budget = MAX_BUDGET
        self._refilled_at = monotonic()

    def _refill(self) -> None:
        now = self.monotonic()
        self._budget = min(MAX_BUDGET, self._budget + (now - self._refilled_at) * REFILL_PER_SECOND)
        self._refilled_at = now

    def take_available(self) -> float:
        """All the budget there is now; it is spent until ``return_unused``."""
        self._refill()
        taken, self._budget = self._budget, 0.0
        return taken

    def return_unused(self, seconds: float) -> None:
        self._refill()
        self._budget = min(MAX_BUDGET, self._budget + max(seconds, 0.0))

    def __repr__(self) -> str:
        return f"TimeBudget({self._budget * 1000:.0f} ms)"


class Closable(Protocol):
    def close(self, reason: str) -> None: ...


class Grant:
    """One dispatch's wait: the watchers that were full, one deadline.

    Needs the running event loop for its timer; a grant of zero seconds
    closes its watchers at once.
    """

    def __init__(self, budget: SimTimeBudget, waiting: set[Closable]) -> None:
        self.budget = budget
        self.waiting = waiting
        seconds = budget.take_available()
        self.deadline = budget.monotonic() + seconds
        self._timer: asyncio.TimerHandle | None = None
        if seconds <= 0:
            self.expire()
        else:
            self._timer = asyncio.get_running_loop().call_later(seconds, self.expire)

    def release(self, watcher: Closable) -> None:
        """``watcher`` drained in time; the last one returns what is left."""
        if watcher not in self.waiting:
            return
        self.waiting.discard(watcher)
        if not self.waiting:
            if self._timer is not None:
                self._timer.cancel()
            self.budget.return_unused(self.deadline - self.budget.monotonic())

    def expire(self) -> None:
        for watcher in list(self.waiting):
            watcher.close("overflow")
        self.waiting.clear()

    def __repr__(self) -> str:
        return f"Grant({len(self.waiting)} waiting, deadline={self.deadline:.3f})"
