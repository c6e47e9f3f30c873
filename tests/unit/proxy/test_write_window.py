"""The write window as ``watchcache serve`` applies it: a client's busy
watch waits for it, a watch from another watchcache (a tier below, a
worker, an informer: its User-Agent) is written at once, so an event waits
for one window at most however many tiers it crosses."""

from __future__ import annotations

import asyncio
import json

import aiohttp
from tests.inprocess import ready_proxy
from tests.unit.proxy.test_consistency import PODS, pod

from watchcache.simulator.app import Simulator

# Longer than any test runs: a watch held for it stays held.
HOUR = "1h"


async def _names(watch: aiohttp.ClientResponse, count: int) -> list[str]:
    names = []
    for _ in range(count):
        line = await asyncio.wait_for(watch.content.readline(), 10)
        names.append(json.loads(line)["object"]["metadata"]["name"])
    return names


async def test_another_watchcache_s_watch_is_not_held_by_the_window() -> None:
    flags = ("--resources", "pods", "--watch-write-window", HOUR)
    async with Simulator() as sim, ready_proxy(sim.url, *flags) as (proxy, session):
        url, base = sim.url, proxy.urls[0]
        query = "?watch=1&resourceVersion=0"
        tier = await session.get(base + PODS + query, headers={"User-Agent": "watchcache"})
        client = await session.get(base + PODS + query, headers={"User-Agent": "kubectl/v1.20"})
        for name in ("a", "b"):  # a third would make a pair, written at once
            async with session.post(url + PODS, json=pod(name)) as created:
                assert created.status == 201
            # The tier's watch hears each event before the next is made.
            assert await _names(tier, 1) == [name]
        # The client's first event went out at once (its watch was
        # quiet); the second waits for its hour-long window.
        assert await _names(client, 1) == ["a"]
        done, _ = await asyncio.wait(
            [asyncio.ensure_future(client.content.readline())], timeout=0.2
        )
        assert not done, "a busy client watch was written before its window ended"
        tier.close()
        client.close()
