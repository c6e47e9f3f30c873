"""Upstream's current resourceVersion, for consistent reads.

Glossary:
    probe       a one-item LIST sent upstream to learn its current RV: a
                consistent read (LIST with resourceVersion unset) is served
                from the cache once the cache has reached it (reads.py)
    coalesced   a read that joined a probe another read had asked for

Invariant: a read shares only a probe sent after it arrived, so the RV it
waits for is at least that of any write acknowledged before it (see
``Prober``); at most one probe is in flight and one queued per resource.
"""

from __future__ import annotations

import asyncio

from watchcache.upstream import UpstreamClient

__all__ = ["Prober"]


class Prober:
    """Upstream's current RV, for consistent reads, asked as seldom as is safe.

    A read may share a probe only if the probe was sent after the read
    arrived: one already sent might have been answered before a write the
    reader saw acknowledged. So a read joins the next probe while it is
    still unsent (the reads a burst brings within one event-loop turn all
    share it); a read arriving once it is out waits for the one after,
    which starts when the current one ends and serves every read that
    queued meanwhile: at most one probe in flight and one queued, however
    many reads arrive.
    """

    def __init__(self, client: UpstreamClient, path: str) -> None:
        self.client = client
        self.path = path
        self._inflight: asyncio.Future[int] | None = None
        self._inflight_sent = False
        self._queued: asyncio.Future[int] | None = None
        self.sent = 0
        # Reads that joined a probe another read had already asked for.
        self.coalesced = 0
        # The newest RV a probe has returned (0 before the first).
        self.last_rv = 0

    async def current_rv(self) -> int:
        if self._inflight is None:
            self._inflight = self._start()
            return await asyncio.shield(self._inflight)
        if not self._inflight_sent:
            self.coalesced += 1
            return await asyncio.shield(self._inflight)
        if self._queued is None:
            self._queued = asyncio.get_running_loop().create_future()
        else:
            self.coalesced += 1
        return await asyncio.shield(self._queued)

    def _start(self) -> asyncio.Future[int]:
        self.sent += 1
        self._inflight_sent = False
        task = asyncio.get_running_loop().create_task(self._ask())
        task.add_done_callback(self._promote)
        return task

    async def _ask(self) -> int:
        # From here on the request may be on the wire: later reads queue.
        self._inflight_sent = True
        body = (await self.client.get(self.path, {"limit": "1"})).json()
        rv = int(body["metadata"]["resourceVersion"])
        self.last_rv = max(self.last_rv, rv)
        return rv

    def _promote(self, done: asyncio.Future[int]) -> None:
        """The probe in flight ended: start the queued one, if any."""
        queued, self._queued = self._queued, None
        if queued is None:
            self._inflight = None
            return
        self._inflight = self._start()

        def settle(probe: asyncio.Future[int]) -> None:
            if queued.done():
                return
            if probe.cancelled():
                queued.cancel()
            elif (error := probe.exception()) is not None:
                queued.set_exception(error)
            else:
                queued.set_result(probe.result())

        self._inflight.add_done_callback(settle)
