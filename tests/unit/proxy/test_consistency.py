"""The consistency checker against the simulator: checks match while the
cache follows upstream; a cache made to differ is found, counted, logged
and relisted, and then matches again."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Mapping
from typing import Any

import aiohttp
import pytest
from tests.inprocess import serve_config, wait_until_ready
from tests.polling import until
from tests.unit.proxy.test_autocache import CONFIGMAPS as CONFIGMAPS_GVR
from tests.unit.proxy.test_autocache import Clock

from watchcache.cache.cache import CacheConfig
from watchcache.proxy.autocache import AutoCaches
from watchcache.proxy.caches import CacheFactory
from watchcache.proxy.consistency import check_once, digest
from watchcache.proxy.reads import ReadPath
from watchcache.proxy.serve import open_proxy
from watchcache.simulator.app import Simulator
from watchcache.upstream import Response, UpstreamClient, UpstreamConfig

PODS = "/api/v1/namespaces/default/pods"


def pod(name: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "image": "x"}]},
    }


def test_digest_is_of_the_pairs_not_their_order() -> None:
    assert digest([("a", 1), ("b", 2)]) == digest([("b", 2), ("a", 1)])
    assert digest([("a", 1), ("b", 2)]) != digest([("a", 1), ("b", 3)])
    assert digest([("a", 1)]) != digest([("a", 1), ("b", 2)])


async def test_a_cache_that_differs_is_found_and_relisted(caplog: pytest.LogCaptureFixture) -> None:
    async with Simulator() as sim:
        async with aiohttp.ClientSession() as session:
            for name in ("a", "b", "c"):
                async with session.post(sim.url + PODS, json=pod(name)) as r:
                    assert r.status == 201
            config = serve_config("--resources", "pods")
            async with (
                open_proxy(config, UpstreamConfig(sim.url)) as proxy,
                UpstreamClient(UpstreamConfig(sim.url)) as client,
            ):
                await wait_until_ready(session, proxy.urls[0])
                reads = proxy.parts.handle
                assert isinstance(reads, ReadPath)
                (resource,) = reads.caches.values()
                assert (await check_once(resource, client)).result == "match"

                # The cache loses "b" without upstream having deleted it.
                cache = resource.cache
                kept = [e.raw for e in cache.list().items if e.name != "b"]
                cache.replace(kept, cache.rv)
                with caplog.at_level(logging.ERROR):
                    found = await check_once(resource, client)
                assert found.result == "mismatch"
                assert "first difference default/b: cache has nothing, upstream has" in found.detail
                assert "the cache is not upstream's state" in caplog.text

                # The reflector relists: "b" is back, and the next check matches.
                await until(lambda: cache.get("default", "b"), "the relist to bring b back")
                assert (await check_once(resource, client)).result == "match"
                assert dict(resource.consistency) == {"match": 2, "mismatch": 1}

                async with session.get(proxy.urls[0] + "/metrics") as r:
                    text = await r.text()
                assert (
                    'watchcache_consistency_checks_total{resource="pods",result="mismatch"} 1.0'
                    in text
                )


async def test_a_check_upstream_cannot_answer_is_skipped() -> None:
    async with Simulator() as sim, aiohttp.ClientSession() as session:
        config = serve_config("--resources", "pods")
        async with (
            open_proxy(config, UpstreamConfig(sim.url)) as proxy,
            UpstreamClient(UpstreamConfig(sim.url)) as client,
        ):
            await wait_until_ready(session, proxy.urls[0])
            reads = proxy.parts.handle
            assert isinstance(reads, ReadPath)
            (resource,) = reads.caches.values()
            sim.faults.fail_next(1, 503, path_prefix="/api/v1/pods")
            result = await check_once(resource, client)
            assert result.result == "skipped", result
            assert "upstream could not list at rv" in result.detail


async def test_the_interval_runs_checks() -> None:
    async with Simulator() as sim, aiohttp.ClientSession() as session:
        config = serve_config("--resources", "pods", "--consistency-check-interval", "50ms")
        async with open_proxy(config, UpstreamConfig(sim.url)) as proxy:
            await wait_until_ready(session, proxy.urls[0])
            reads = proxy.parts.handle
            assert isinstance(reads, ReadPath)
            (resource,) = reads.caches.values()
            await until(lambda: resource.consistency["match"] >= 2, "two matching checks")


# -- auto caches (--auto-cache): checked as the named ones ------------------------

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"


async def test_an_auto_cache_that_differs_is_found_and_relisted() -> None:
    """The auto cache starts after the checks did (on its first read); a
    divergence of it is found, counted under its label and relisted."""
    async with Simulator() as sim, aiohttp.ClientSession() as session:
        for name in ("a", "b"):
            async with session.post(sim.url + CONFIGMAPS, json={"metadata": {"name": name}}) as r:
                assert r.status == 201
        config = serve_config(
            "--auto-cache", "--resources=", "--consistency-check-interval", "50ms"
        )
        async with open_proxy(config, UpstreamConfig(sim.url)) as proxy:
            reads = proxy.parts.handle
            assert isinstance(reads, ReadPath) and reads.auto is not None
            auto = reads.auto
            async with session.get(proxy.urls[0] + CONFIGMAPS) as r:
                assert r.status == 200  # forwarded; starts the auto cache
            (resource,) = await until(lambda: list(auto.caches.values()), "configmaps cached")
            await until(lambda: resource.consistency["match"] >= 1, "a matching check")

            cache = resource.cache
            kept = [e.raw for e in cache.list().items if e.name != "b"]
            cache.replace(kept, cache.rv)
            await until(lambda: resource.consistency["mismatch"] >= 1, "the divergence found")
            await until(lambda: cache.get("default", "b"), "the relist to bring b back")
            async with session.get(proxy.urls[0] + "/metrics") as r:
                text = await r.text()
            assert (
                'watchcache_consistency_checks_total{resource="configmaps",result="mismatch"} 1.0'
                in text
            )


class _HeldExactLists(UpstreamClient):
    """An upstream client whose exact LISTs (a consistency check's) wait
    until ``release`` is set; ``entered`` is set when one starts waiting."""

    def __init__(self, config: UpstreamConfig) -> None:
        super().__init__(config)
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def get(
        self, path: str, params: Mapping[str, str] | None = None, **kwargs: Any
    ) -> Response:
        if params and params.get("resourceVersionMatch") == "Exact":
            self.entered.set()
            await self.release.wait()
        return await super().get(path, params, **kwargs)


async def test_an_auto_cache_dropped_while_its_check_runs_ends_the_check_uncounted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    async with Simulator() as sim, _HeldExactLists(UpstreamConfig(sim.url)) as client:
        factory = CacheFactory(client, CacheConfig(), consistency_check_interval=0.01)
        auto = AutoCaches(factory, {}, max_caches=5, idle=60, clock=clock)
        try:
            auto.reading(CONFIGMAPS_GVR)
            (resource,) = await until(lambda: list(auto.caches.values()), "configmaps cached")
            await asyncio.wait_for(client.entered.wait(), 10)  # a check under way
            clock.now += 60
            with caplog.at_level(logging.INFO):
                await auto.drop_due()
            assert auto.caches == {} and all(t.done() for t in resource.tasks)
            assert resource.consistency == Counter()
            assert "consistency" not in caplog.text
            client.release.set()
        finally:
            await auto.close()
