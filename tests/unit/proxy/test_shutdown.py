"""Stopping a proxy in front of the simulator: watches served from the
cache end cleanly, spread over --shutdown-spread, before the listeners
close."""

from __future__ import annotations

import asyncio
import time

import aiohttp
from tests.inprocess import ready_proxy

from watchcache.simulator.app import Simulator


async def test_cached_watches_end_cleanly_spread_over_the_shutdown() -> None:
    flags = ("--shutdown-spread", "0.6", "--resources", "pods")
    async with Simulator() as sim, ready_proxy(sim.url, *flags) as (proxy, session):
        watches = [
            await session.get(proxy.urls[0] + "/api/v1/pods?watch=1&resourceVersion=0")
            for _ in range(3)
        ]
        assert [w.status for w in watches] == [200, 200, 200]
        ended: list[float] = []

        async def read_to_the_end(watch: aiohttp.ClientResponse) -> None:
            assert await watch.content.read() == b""  # the terminating chunk, no error
            ended.append(time.monotonic())

        readers = [asyncio.create_task(read_to_the_end(w)) for w in watches]
        started = time.monotonic()
        await asyncio.wait_for(proxy.stop(), 10)
        await asyncio.wait_for(asyncio.gather(*readers), 5)
        assert len(ended) == 3
        # Spread: the last closes a gap (0.2 s) or more after the first.
        assert max(ended) - min(ended) >= 0.15
        assert max(ended) - started < 5
