"""The consistency checker against the simulator: checks match while the
cache follows upstream; a cache made to differ is found, counted, logged
and relisted, and then matches again."""

from __future__ import annotations

import logging

import aiohttp
import pytest
from tests.inprocess import serve_config, wait_until_ready
from tests.polling import until

from watchcache.proxy.consistency import check_once, digest
from watchcache.proxy.reads import ReadPath
from watchcache.proxy.serve import open_proxy
from watchcache.simulator.app import Simulator
from watchcache.upstream import UpstreamClient, UpstreamConfig

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
