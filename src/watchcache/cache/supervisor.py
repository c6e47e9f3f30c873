"""Running a reflector for as long as its owner wants it, whatever happens.

Upstream trouble never ends ``Reflector.run``: it backs off and retries
by itself. So a run that ends by an exception, or returns without being
stopped, is a bug of ours. The supervisor logs it with its traceback,
counts it (``restarts``, in the reflector's statistics), says what happened while it waits (``failed``,
for readiness), and runs the reflector again after a doubling delay,
relisting, since the cache may be in any state after a bug.

Both owners of a reflector use it: the proxy's cached resources
(proxy/caches.py) and the informer library (informer/informer.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from watchcache.cache.reflector import Reflector

__all__ = ["RESTART_MAX", "RESTART_MIN", "Supervisor"]

log = logging.getLogger(__name__)

# A reflector that failed is run again after RESTART_MIN, doubling per
# failure up to RESTART_MAX: soon enough that one bad object does not leave
# a cache stale for long, slowly enough that a bug hit on every run does
# not flood the logs.
RESTART_MIN = 1.0
RESTART_MAX = 30.0


class Supervisor:
    def __init__(
        self,
        reflector: Reflector,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.reflector = reflector
        self._sleep = sleep
        # While waiting to run it again: what it ended with; else None.
        self.failed: str | None = None

    @property
    def restarts(self) -> int:
        """Times the reflector ended by an exception (or unasked) and was
        run again: kept in the reflector's statistics, beside its other
        counters."""
        return self.reflector.stats.restarts

    def __repr__(self) -> str:
        return f"<Supervisor {self.reflector.path} restarts={self.restarts} failed={self.failed}>"

    async def run(self) -> None:
        """Run the reflector until it is stopped."""
        delay = RESTART_MIN
        relist = False
        while True:
            try:
                await self.reflector.run(relist=relist)
            except Exception as err:  # a bug of ours: report it and carry on
                self.failed = f"{type(err).__name__}: {err}"
                log.exception(
                    "%s: the reflector failed; running it again in %.0fs",
                    self.reflector.path,
                    delay,
                )
            else:
                if self.reflector.stopped:
                    return
                self.failed = "it returned without being stopped"
                log.error(
                    "%s: the reflector ended unasked; running it again in %.0fs",
                    self.reflector.path,
                    delay,
                )
            self.reflector.stats.restarts += 1
            await self._sleep(delay)
            delay = min(delay * 2, RESTART_MAX)
            relist = True
            self.failed = None
