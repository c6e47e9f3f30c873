"""--serve-stale-on-outage: while upstream (the simulator) is down, the
proxy stays ready, keeps its watches open, answers RV=0
reads from the cache and consistent reads with kube-apiserver's
ServerTimeout at once; when upstream returns, the open watch resumes with
nothing lost. Without the option readiness fails instead."""

from __future__ import annotations

import asyncio
import json

import aiohttp
from tests.inprocess import serve_config, wait_until_ready
from tests.polling import until

from watchcache.proxy.reads import ReadPath
from watchcache.proxy.serve import open_proxy
from watchcache.simulator.app import Simulator
from watchcache.upstream import UpstreamConfig

PODS = "/api/v1/namespaces/default/pods"


def pod(name: str, **labels: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
        "spec": {"containers": [{"name": "c", "image": "x"}]},
    }


async def readyz(session: aiohttp.ClientSession, base: str) -> tuple[int, str]:
    async with session.get(base + "/readyz?verbose") as r:
        return r.status, await r.text()


async def outage(*flags: str) -> tuple[int, str, int, dict[str, object], float, list[str]]:
    """Start, sync one pod, take upstream down until stale; what /readyz, a
    LIST at RV 0, a consistent LIST and the metric say; then bring upstream
    back, write, and what an open watch received meanwhile."""
    sim = Simulator()
    url = await sim.start("127.0.0.1", 0)
    port = int(url.rsplit(":", 1)[1])
    config = serve_config("--resources", "pods", "--max-staleness", "1", *flags)
    async with (
        open_proxy(config, UpstreamConfig(url)) as proxy,
        aiohttp.ClientSession() as session,
    ):
        base = proxy.urls[0]
        async with session.post(url + PODS, json=pod("before")) as r:
            rv = (await r.json())["metadata"]["resourceVersion"]
        await wait_until_ready(session, base)
        # A write the watch below does not select: its bookmarks can move
        # past the RV it starts from.
        async with session.post(url + PODS, json=pod("other")) as r:
            other_rv = (await r.json())["metadata"]["resourceVersion"]
        async with session.get(base + PODS, params={"resourceVersion": other_rv}) as r:
            assert r.status == 200
        reads = proxy.parts.handle
        assert isinstance(reads, ReadPath)
        for resource in reads.caches.values():
            resource.registry.bookmark_interval = 0.2
        watch = await session.get(
            base + PODS,
            params={
                "watch": "1",
                "resourceVersion": rv,
                "allowWatchBookmarks": "1",
                "labelSelector": "app=web",
            },
        )
        await sim.stop()  # the outage

        async def stale() -> bool:
            status, text = await readyz(session, base)
            return "serving stale" in text or status == 500

        await until(stale, "stale", timeout=20, every=0.05)
        status, text = await readyz(session, base)
        async with session.get(base + PODS, params={"resourceVersion": "0"}) as r:
            assert r.status == 200
            names = [p["metadata"]["name"] for p in (await r.json())["items"]]
            assert names == ["before", "other"]
        started = asyncio.get_running_loop().time()
        async with session.get(base + PODS) as r:
            consistent_code, consistent = r.status, await r.json()
        took = asyncio.get_running_loop().time() - started
        async with session.get(base + "/metrics") as r:
            metric = [
                line
                for line in (await r.text()).splitlines()
                if line.startswith("watchcache_cache_serving_stale{")
            ]
        if status != 200:
            watch.close()
            return status, text, consistent_code, consistent, took, []
        received: list[str] = []
        await sim.start("127.0.0.1", port)  # upstream is back, its state kept
        async with session.post(url + PODS, json=pod("after", app="web")) as r:
            assert r.status == 201
        async with asyncio.timeout(30):
            while "after" not in received:
                event = json.loads(await watch.content.readline())
                received.append(event["type"])
                if event["type"] != "BOOKMARK":
                    received[-1] = event["object"]["metadata"]["name"]
        watch.close()
        await sim.stop()
        return status, text, consistent_code, consistent, took, [*received, *metric]


async def test_serving_stale_through_an_outage() -> None:
    status, text, code, body, took, seen = await outage("--serve-stale-on-outage")
    assert status == 200, text
    assert "[+]cache-pods ok (serving stale: nothing heard from upstream" in text
    assert code == 500 and body["reason"] == "ServerTimeout", body
    assert body["message"] == (
        "The list operation against pods could not be completed at this time, please try again."
    )
    assert body["details"] == {"kind": "pods", "name": "list", "retryAfterSeconds": 2}
    assert took < 5  # not a hang on the dead upstream (generous: a loaded machine)
    assert 'watchcache_cache_serving_stale{resource="pods"} 1.0' in seen
    events = [s for s in seen if not s.startswith("watchcache_")]
    # The watch opened before the outage delivers what was written after
    # it, on the same stream: kept open, nothing lost.
    assert events[-1] == "after" and events.count("after") == 1


async def test_without_the_option_readiness_fails() -> None:
    status, text, code, _, _, _ = await outage()
    assert status == 500
    assert "[-]cache-pods failed: stale: nothing heard from upstream" in text
    assert code != 200


async def test_bookmarks_keep_flowing_through_an_outage() -> None:
    """A watch that asked for bookmarks hears them at the usual cadence
    while upstream is down (kube-apiserver sends one about every minute
    whether or not the RV moved; here the cadence is shortened to 0.2 s,
    the registry ticks once a second), then resumes with nothing lost."""
    sim = Simulator()
    url = await sim.start("127.0.0.1", 0)
    port = int(url.rsplit(":", 1)[1])
    config = serve_config("--resources", "pods", "--max-staleness", "1", "--serve-stale-on-outage")
    async with (
        open_proxy(config, UpstreamConfig(url)) as proxy,
        aiohttp.ClientSession() as session,
    ):
        base = proxy.urls[0]
        async with session.post(url + PODS, json=pod("before")) as r:
            rv = (await r.json())["metadata"]["resourceVersion"]
        await wait_until_ready(session, base)
        reads = proxy.parts.handle
        assert isinstance(reads, ReadPath)
        (resource,) = reads.caches.values()
        resource.registry.bookmark_interval = 0.2
        params = {"watch": "1", "resourceVersion": rv, "allowWatchBookmarks": "1"}
        async with session.get(base + PODS, params=params) as watch:

            async def next_event() -> dict[str, object]:
                async with asyncio.timeout(10):
                    event: dict[str, object] = json.loads(await watch.content.readline())
                    return event

            await sim.stop()  # the outage

            async def stale() -> bool:
                return "serving stale" in (await readyz(session, base))[1]

            await until(stale, "stale")
            # Bytes the proxy writes to its watchers from now on are
            # written during the outage: wait for some (bounded).
            written = resource.registry.statistics().bytes_written

            async def more_written() -> bool:
                return resource.registry.statistics().bytes_written > written

            await until(more_written, "a bookmark during the outage")
            assert "serving stale" in (await readyz(session, base))[1]  # still out
            # Nothing was written since the watch began: what it hears is
            # bookmarks at the RV it started from.
            event = await next_event()
            assert event["type"] == "BOOKMARK", event
            assert event["object"]["metadata"]["resourceVersion"] == rv  # type: ignore[index]

            await sim.start("127.0.0.1", port)  # upstream is back, its state kept
            async with session.post(url + PODS, json=pod("after")) as r:
                assert r.status == 201
                after_rv = (await r.json())["metadata"]["resourceVersion"]
            event = await next_event()
            while event["type"] == "BOOKMARK":
                event = await next_event()
            assert event["type"] == "ADDED"
            assert event["object"]["metadata"]["resourceVersion"] == after_rv  # type: ignore[index]
        await sim.stop()
