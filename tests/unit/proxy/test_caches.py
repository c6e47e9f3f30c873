from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from tests.inprocess import ready_proxy
from tests.polling import until
from tests.unit.cache.scripted_upstream import Answer, ScriptedUpstream

from watchcache.api.resources import GroupVersionResource
from watchcache.cache.cache import CacheConfig
from watchcache.proxy.cachedresource import CachedResource
from watchcache.proxy.cachemetrics import CacheCollector
from watchcache.proxy.caches import open_caches
from watchcache.proxy.health import Health, add_health_routes
from watchcache.proxy.metrics import ProxyMetrics
from watchcache.proxy.prober import Prober
from watchcache.upstream import UpstreamClient, UpstreamConfig


class _Answer:
    def __init__(self, rv: int) -> None:
        self.rv = rv

    def json(self) -> dict[str, Any]:
        return {"metadata": {"resourceVersion": str(self.rv)}}


class FakeUpstream:
    """Each get() is one probe on the wire, answered when the test says."""

    def __init__(self) -> None:
        self.asked: list[asyncio.Future[_Answer]] = []
        self.on_wire = asyncio.Event()

    async def get(self, path: str, params: dict[str, str]) -> _Answer:
        assert params == {"limit": "1"}
        answer: asyncio.Future[_Answer] = asyncio.get_running_loop().create_future()
        self.asked.append(answer)
        self.on_wire.set()
        return await answer

    async def answer(self, index: int, rv: int) -> None:
        async with asyncio.timeout(5):
            while len(self.asked) <= index:
                await asyncio.sleep(0)
        self.asked[index].set_result(_Answer(rv))


def _prober(upstream: FakeUpstream) -> Prober:
    return Prober(upstream, "/api/v1/configmaps")  # type: ignore[arg-type]


async def test_reads_arriving_before_the_probe_is_sent_share_it() -> None:
    upstream = FakeUpstream()
    prober = _prober(upstream)
    reads = [asyncio.create_task(prober.current_rv()) for _ in range(50)]
    await upstream.answer(0, 7)
    assert await asyncio.wait_for(asyncio.gather(*reads), 5) == [7] * 50
    assert prober.sent == 1
    assert (prober.coalesced, prober.last_rv) == (49, 7)


async def test_a_read_arriving_once_the_probe_is_out_waits_for_the_next() -> None:
    upstream = FakeUpstream()
    prober = _prober(upstream)
    early = asyncio.create_task(prober.current_rv())
    await upstream.on_wire.wait()
    late = [asyncio.create_task(prober.current_rv()) for _ in range(20)]
    await asyncio.sleep(0)
    await upstream.answer(0, 5)
    assert await asyncio.wait_for(early, 5) == 5
    assert not any(t.done() for t in late), "a late read took an answer sent before it arrived"
    await upstream.answer(1, 9)
    assert await asyncio.wait_for(asyncio.gather(*late), 5) == [9] * 20
    assert prober.sent == 2
    # The first late read asked for the second probe; 19 joined it.
    assert (prober.coalesced, prober.last_rv) == (19, 9)


async def test_reads_arriving_before_a_queued_probe_is_sent_share_it() -> None:
    upstream = FakeUpstream()
    prober = _prober(upstream)
    first = asyncio.create_task(prober.current_rv())
    await upstream.on_wire.wait()
    queued = asyncio.create_task(prober.current_rv())
    await asyncio.sleep(0)
    upstream.asked[0].set_result(_Answer(3))
    # The queued probe is started, not yet sent: a read now may join it.
    joining = asyncio.create_task(prober.current_rv())
    await upstream.answer(1, 4)
    answers = await asyncio.wait_for(asyncio.gather(first, queued, joining), 5)
    assert answers == [3, 4, 4]
    assert prober.sent == 2
    assert prober.coalesced == 1


# -- the reflector under upstream trouble, as the proxy wires it (issue 14) ----


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class _Sleeps:
    """An injected sleep: records each delay, returns when the test says."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self.go = asyncio.Event()
        self.go.set()

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await self.go.wait()


def _collector(caches: Mapping[GroupVersionResource, CachedResource]) -> CacheCollector:
    return CacheCollector(lambda: {gvr.resource: r for gvr, r in caches.items()})


async def test_a_reflector_that_raises_is_reported_and_run_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A bug of ours (here a transform that fails once) ends Reflector.run
    with an exception: the supervisor logs its traceback, readiness says so
    while it waits, and the reflector runs again and syncs."""
    failures = [RuntimeError("a bug in a transform")]

    def transform(data: bytes) -> bytes:
        if failures:
            raise failures.pop()
        return data

    sleeps = _Sleeps()
    sleeps.go.clear()
    async with (
        ScriptedUpstream() as upstream,
        UpstreamClient(UpstreamConfig(upstream.url)) as client,
    ):
        upstream.write("a")
        config = CacheConfig(transform=transform)
        async with open_caches(["configmaps"], client, config, sleep=sleeps) as caches:
            [resource] = caches.values()
            await until(lambda: resource.failed is not None, "the failure was noticed")
            assert "RuntimeError: a bug in a transform" in (resource.unready() or "")
            assert "a bug in a transform" in caplog.text and "Traceback" in caplog.text
            sleeps.go.set()
            await asyncio.wait_for(resource.reflector.synced.wait(), 5)
            assert resource.unready() is None
            assert resource.restarts == 1 and sleeps.delays == [1.0]
            metrics = ProxyMetrics()
            metrics.registry.register(_collector(caches))
            assert b'watchcache_reflector_restarts_total{resource="configmaps"} 1.0' in (
                metrics.exposition()
            )


async def test_readiness_and_metrics_report_staleness_while_upstream_refuses() -> None:
    clock = _Clock()
    async with (
        ScriptedUpstream() as upstream,
        UpstreamClient(UpstreamConfig(upstream.url)) as client,
    ):
        upstream.write("a")
        async with open_caches(
            ["configmaps"], client, CacheConfig(), max_staleness=120, clock=clock, sleep=_Sleeps()
        ) as caches:
            [resource] = caches.values()
            await asyncio.wait_for(resource.reflector.synced.wait(), 5)
            watch = await upstream.next_watch()
            health = Health()
            health.add_readiness("cache-configmaps", resource.unready)
            app = web.Application()
            add_health_routes(app, health)
            metrics = ProxyMetrics()
            metrics.registry.register(_collector(caches))
            async with TestClient(TestServer(app)) as http:
                assert (await http.get("/readyz")).status == 200
                upstream.watch_answers.extend(
                    Answer(503, b"", {"Retry-After": "1"}) for _ in range(1000)
                )
                watch.cut()
                await until(lambda: resource.reflector.statistics().errors >= 2, "upstream refused")
                clock.now += 119
                assert (await http.get("/readyz")).status == 200
                clock.now += 11
                answer = await http.get("/readyz?verbose")
                text = await answer.text()
                assert answer.status == 500, text
                assert "[-]cache-configmaps failed: stale: nothing heard from upstream" in text
                assert "for 130s (bound 120s)" in text and "503" in text
                exposition = metrics.exposition().decode()
                assert 'watchcache_cache_staleness_seconds{resource="configmaps"} 130.0' in (
                    exposition
                )
                assert (
                    'watchcache_upstream_watch_errors_total{kind="503",resource="configmaps"}'
                    in (exposition)
                )


async def test_upstream_losing_its_state_ends_watchers_with_410_and_reads_see_the_new_state() -> (
    None
):
    """The issue's case: upstream restarted empty, its RV fell from 1000 to
    35. A consistent LIST's probe shows it; the read goes upstream, the
    cache relists, and a client watching the proxy gets 410 Expired."""
    async with ScriptedUpstream() as upstream:
        for i in range(50):
            upstream.write(f"old{i}")
        upstream.rv = 1000
        async with ready_proxy(upstream.url, "--resources", "configmaps") as (proxy, http):
            base = proxy.urls[0]
            await upstream.next_watch()  # the reflector's
            async with http.get(
                base + "/api/v1/configmaps", params={"watch": "1", "resourceVersion": "1000"}
            ) as watch:
                upstream.restart_empty(35)
                upstream.write("new0")
                async with http.get(base + "/api/v1/configmaps") as listed:
                    body = await listed.json()
                assert [i["metadata"]["name"] for i in body["items"]] == ["new0"]
                line = await asyncio.wait_for(watch.content.readline(), 5)
                event = json.loads(line)
                assert event["type"] == "ERROR"
                assert (event["object"]["code"], event["object"]["reason"]) == (410, "Expired")
                assert await asyncio.wait_for(watch.content.read(), 5) == b""
            async with http.get(base + "/api/v1/configmaps", params={"resourceVersion": "0"}) as r:
                names = [i["metadata"]["name"] for i in (await r.json())["items"]]
            assert names == ["new0"]
