"""A worker is ready only while the primary is: its /readyz, polled.

Why: a worker hears the primary, not upstream. Through an upstream outage
the primary goes on sending its workers bookmarks (its registry keeps
their cadence while its RV stands still), so a worker's own caches never
look stale; the primary's do (``--max-staleness``), and its /readyz says
so. A worker polls it on the feed socket every ``POLL_SECONDS`` and fails
its own readiness check ``primary`` with the primary's reason while it
fails, so clients move to a replica that hears upstream, as they would
from one process.

Before the first answer the check passes: the worker's caches are not
synced before the primary's are, and their own checks hold it unready.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from watchcache.upstream import StatusError, UpstreamClient, UpstreamError

__all__ = ["POLL_SECONDS", "PrimaryReadiness"]

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0


class PrimaryReadiness:
    """``unready()`` for ``Health.add_readiness``: the primary's failure, or None."""

    def __init__(
        self,
        feed: UpstreamClient,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.feed = feed
        self._sleep = sleep
        self._failing: str | None = None

    def unready(self) -> str | None:
        return self._failing

    async def poll_once(self) -> None:
        try:
            await self.feed.get("/readyz", {"verbose": "1"})
        except StatusError as err:
            self._failing = f"the primary is not ready: {_failed_checks(err.message)}"
        except UpstreamError as err:
            self._failing = f"the primary does not answer: {err}"
        else:
            self._failing = None

    async def run(self) -> None:
        while True:
            await self.poll_once()
            await self._sleep(POLL_SECONDS)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[PrimaryReadiness]:
        task = asyncio.create_task(self.run())
        try:
            yield self
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _failed_checks(text: str) -> str:
    """The failing lines of a verbose /readyz ("[-]cache-pods failed: ...")."""
    failed = [line.strip() for line in text.splitlines() if line.startswith("[-]")]
    return "; ".join(failed) or text.strip()[:200]
