"""The shared time budget for watchers that cannot keep up.

When an event is dispatched, every watcher whose buffer is full is given a
chance to drain, but all of them together may only hold dispatch up for
the time left in this budget. It refills at ``REFILL_PER_SECOND`` of budget
per second of wall time, up to ``MAX_BUDGET``: kube-apiserver's numbers
(50 ms per second, at most 100 ms), so a proxy behaves like the apiserver
under a slow client: a short hiccup is absorbed, a persistently slow
watcher is closed and resumes from its last resourceVersion.

``take()`` hands out everything available; ``give_back(unused)`` returns
what the waiting did not use. The clock is injected.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["MAX_BUDGET", "REFILL_PER_SECOND", "TimeBudget"]

REFILL_PER_SECOND = 0.050
MAX_BUDGET = 0.100


class TimeBudget:
    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        refill_per_second: float = REFILL_PER_SECOND,
        maximum: float = MAX_BUDGET,
    ) -> None:
        self._clock = clock
        self._refill = refill_per_second
        self._max = maximum
        self._available = maximum
        self._last = clock()

    def __repr__(self) -> str:
        return f"<TimeBudget available={self._top_up():.3f}s max={self._max}s>"

    def _top_up(self) -> float:
        now = self._clock()
        self._available = min(self._max, self._available + (now - self._last) * self._refill)
        self._last = now
        return self._available

    def take(self) -> float:
        """All the budget there is now (seconds); the balance drops to 0."""
        available = self._top_up()
        self._available = 0.0
        return available

    def give_back(self, unused: float) -> None:
        if unused > 0:
            self._top_up()
            self._available = min(self._max, self._available + unused)
