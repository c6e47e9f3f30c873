"""Warm restart of a proxy in front of the simulator: the second start
resumes by watch from the saved state (no LIST), a watcher resuming from an
RV of the first process gets exactly what it missed, readiness waits for
upstream's watch, and a 410 on resume relists as before."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from tests.inprocess import serve_config, wait_until_ready
from tests.polling import until
from tests.unit.proxy.test_autocache import CRD_PATH, WIDGETS, Clock, widgets_crd
from tests.unit.proxy.test_metrics import scrape, value

from watchcache.api.resources import GroupVersionResource, builtin_resource
from watchcache.cache.cache import Cache, CacheConfig
from watchcache.cache.persist import StateKey, ca_fingerprint, read_state, state_path
from watchcache.proxy import persistence
from watchcache.proxy.autocache import AutoCaches
from watchcache.proxy.caches import CacheFactory
from watchcache.proxy.crds import definitions_kept
from watchcache.proxy.persistence import AUTO_LIST, SavedAutoCache, StateDir
from watchcache.proxy.reads import ReadPath
from watchcache.proxy.serve import open_proxy
from watchcache.proxy.server import RunningProxy
from watchcache.simulator.app import Simulator
from watchcache.simulator.verbs import DeleteOptions
from watchcache.upstream import UpstreamClient, UpstreamConfig

CONFIGMAPS = builtin_resource(GroupVersionResource("", "v1", "configmaps"))
assert CONFIGMAPS is not None
PATH = "/api/v1/configmaps"
GVR = GroupVersionResource("", "v1", "configmaps")


def cm(name: str, value: str = "v") -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name},
        "data": {"k": value},
    }


async def listed(http: aiohttp.ClientSession, base: str, **params: str) -> dict[str, Any]:
    async with http.get(base + PATH, params=params) as r:
        assert r.status == 200, await r.text()
        body: dict[str, Any] = await r.json()
        return body


async def watch_lines(
    http: aiohttp.ClientSession, base: str, rv: str, count: int
) -> list[dict[str, Any]]:
    """The first ``count`` lines of a watch from ``rv``."""
    lines: list[dict[str, Any]] = []
    async with (
        asyncio.timeout(20),
        http.get(base + PATH, params={"watch": "1", "resourceVersion": rv}) as r,
    ):
        assert r.status == 200
        async for line in r.content:
            lines.append(json.loads(line))
            if len(lines) == count:
                break
    return lines


async def test_a_restart_resumes_by_watch_and_watchers_get_exactly_what_they_missed(
    tmp_path: Path,
) -> None:
    config = serve_config("--resources", "configmaps", "--cache-dir", str(tmp_path))
    async with Simulator() as sim, aiohttp.ClientSession() as http:
        for i in range(5):
            sim.verbs.create(CONFIGMAPS, "default", cm(f"c{i}"))
        async with open_proxy(config, UpstreamConfig(sim.url)) as proxy:
            base = proxy.urls[0]
            await wait_until_ready(http, base)
            seen = (await listed(http, base, resourceVersion="0"))["metadata"]["resourceVersion"]
            # After the RV a watcher holds, before the save: from the history.
            early = sim.verbs.create(CONFIGMAPS, "default", cm("early"))
            await listed(http, base, resourceVersion=str(early.rv))
        # While no proxy runs: a create, an update, a delete.
        sim.verbs.create(CONFIGMAPS, "default", cm("c5"))
        sim.verbs.update(CONFIGMAPS, "default", "c1", cm("c1", "changed"))
        sim.verbs.delete(CONFIGMAPS, "default", "c2", DeleteOptions())

        async with open_proxy(config, UpstreamConfig(sim.url)) as proxy:
            base = proxy.urls[0]
            missed = await watch_lines(http, base, seen, 4)
            assert [(e["type"], e["object"]["metadata"]["name"]) for e in missed] == [
                ("ADDED", "early"),
                ("ADDED", "c5"),
                ("MODIFIED", "c1"),
                ("DELETED", "c2"),
            ]
            await wait_until_ready(http, base)
            names = [i["metadata"]["name"] for i in (await listed(http, base))["items"]]
            assert names == ["c0", "c1", "c3", "c4", "c5", "early"]
            _, samples = await scrape(http, base)
            label = {"resource": "configmaps"}
            assert value(samples, "watchcache_upstream_lists_total", **label) == 0
            assert value(samples, "watchcache_cache_relists_total", reason="expired", **label) == 0
            warm = value(samples, "watchcache_cache_warm_start_resource_version", **label)
            assert warm == early.rv
            # Older than the loaded window: 410, as a restarted kube-apiserver.
            async with http.get(
                base + PATH, params={"watch": "1", "resourceVersion": str(int(seen) - 1)}
            ) as r:
                line = json.loads(await r.content.readline())
            assert line["type"] == "ERROR"
            assert line["object"]["code"] == 410


async def test_the_first_start_lists_and_counts_it(tmp_path: Path) -> None:
    config = serve_config("--resources", "configmaps", "--cache-dir", str(tmp_path))
    async with (
        Simulator() as sim,
        aiohttp.ClientSession() as http,
        open_proxy(config, UpstreamConfig(sim.url)) as proxy,
    ):
        await wait_until_ready(http, proxy.urls[0])
        _, samples = await scrape(http, proxy.urls[0])
        label = {"resource": "configmaps"}
        assert value(samples, "watchcache_upstream_lists_total", **label) == 1
        assert value(samples, "watchcache_cache_warm_start_resource_version", **label) == 0


async def test_readiness_waits_for_upstreams_watch_but_rv0_reads_are_served(
    tmp_path: Path,
) -> None:
    config = serve_config("--resources", "configmaps", "--cache-dir", str(tmp_path))
    async with Simulator() as sim, aiohttp.ClientSession() as http:
        sim.verbs.create(CONFIGMAPS, "default", cm("c0"))
        async with open_proxy(config, UpstreamConfig(sim.url)) as proxy:
            await wait_until_ready(http, proxy.urls[0])
        sim.faults.fail_next(1000, 503, path_prefix=PATH)  # every watch refused
        async with open_proxy(config, UpstreamConfig(sim.url)) as proxy:
            base = proxy.urls[0]
            async with http.get(base + "/readyz", params={"verbose": "1"}) as r:
                assert r.status == 500
                assert "resuming from the saved state" in await r.text()
            names = [
                i["metadata"]["name"]
                for i in (await listed(http, base, resourceVersion="0"))["items"]
            ]
            assert names == ["c0"]
            sim.faults.plans.clear()
            await wait_until_ready(http, base)


async def test_a_410_on_resume_relists(tmp_path: Path) -> None:
    config = serve_config("--resources", "configmaps", "--cache-dir", str(tmp_path))
    async with Simulator() as sim, aiohttp.ClientSession() as http:
        sim.verbs.create(CONFIGMAPS, "default", cm("c0"))
        async with open_proxy(config, UpstreamConfig(sim.url)) as proxy:
            await wait_until_ready(http, proxy.urls[0])
        for i in range(1, 6):
            sim.verbs.create(CONFIGMAPS, "default", cm(f"c{i}"))
        sim.faults.shrink_history(2)  # upstream's history no longer covers the saved RV
        async with open_proxy(config, UpstreamConfig(sim.url)) as proxy:
            base = proxy.urls[0]
            await wait_until_ready(http, base)
            _, samples = await scrape(http, base)
            label = {"resource": "configmaps"}
            assert value(samples, "watchcache_cache_relists_total", reason="expired", **label) == 1
            assert value(samples, "watchcache_upstream_lists_total", **label) == 1
            names = [i["metadata"]["name"] for i in (await listed(http, base))["items"]]
            assert names == [f"c{i}" for i in range(6)]


async def test_a_file_for_another_upstream_is_not_loaded(tmp_path: Path) -> None:
    async with Simulator() as sim, aiohttp.ClientSession() as http:
        sim.verbs.create(CONFIGMAPS, "default", cm("c0"))
        config = serve_config("--resources", "configmaps", "--cache-dir", str(tmp_path))
        async with open_proxy(config, UpstreamConfig(sim.url)) as proxy:
            await wait_until_ready(http, proxy.urls[0])
        (saved,) = await asyncio.to_thread(lambda: list(tmp_path.glob("*.state")))
        # The same file under the name another upstream's would have.
        other = StateKey("http://127.0.0.1:1", ca_fingerprint(None), "", "v1", "configmaps")
        saved.rename(state_path(tmp_path, other))
        async with open_proxy(config, UpstreamConfig(sim.url)) as proxy:
            await wait_until_ready(http, proxy.urls[0])
            _, samples = await scrape(http, proxy.urls[0])
            assert value(samples, "watchcache_upstream_lists_total", resource="configmaps") == 1


class _Resource:
    def __init__(self, cache: Cache) -> None:
        self.cache = cache
        self.reflector = type("R", (), {"synced": asyncio.Event()})()
        self.reflector.synced.set()
        self.failed: str | None = None


async def test_saves_at_intervals_when_the_state_moved_and_at_close(tmp_path: Path) -> None:
    ticks: asyncio.Queue[asyncio.Future[None]] = asyncio.Queue(maxsize=1)

    async def sleep(delay: float) -> None:
        tick = asyncio.get_running_loop().create_future()
        await ticks.put(tick)
        await tick

    state_dir = StateDir(tmp_path / "new", UpstreamConfig("http://upstream:1"), sleep=sleep)
    cache = Cache(CONFIGMAPS)  # type: ignore[arg-type]
    cache.replace(
        [json.dumps(cm("a") | {"metadata": {"name": "a", "resourceVersion": "5"}}).encode()], 5
    )
    resources = {GVR: _Resource(cache)}
    path = state_path(tmp_path / "new", state_dir.key(GVR))
    state_dir.start(resources)  # type: ignore[arg-type]
    (await asyncio.wait_for(ticks.get(), 5)).set_result(None)
    waiting = await asyncio.wait_for(ticks.get(), 5)  # the first save is done
    assert read_state(path, state_dir.key(GVR)).rv == 5
    path.unlink()
    waiting.set_result(None)
    await asyncio.wait_for(ticks.get(), 5)
    assert not path.exists()  # nothing moved: not written again
    cache.bookmark(9)
    await state_dir.close(resources)  # type: ignore[arg-type]
    assert read_state(path, state_dir.key(GVR)).rv == 9
    assert state_dir.stats.saves[("configmaps", "ok")] == 2


async def test_a_save_that_fails_is_counted_and_the_next_one_tries_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state_dir = StateDir(tmp_path, UpstreamConfig("http://upstream:1"))
    cache = Cache(CONFIGMAPS)  # type: ignore[arg-type]
    cache.replace(
        [json.dumps(cm("a") | {"metadata": {"name": "a", "resourceVersion": "5"}}).encode()], 5
    )
    resources = {GVR: _Resource(cache)}

    def full(*args: object) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(persistence, "write_state", full)
    assert not await state_dir.save(GVR, resources[GVR])  # type: ignore[arg-type]
    assert state_dir.stats.saves[("configmaps", "failed")] == 1
    monkeypatch.undo()
    assert await state_dir.save(GVR, resources[GVR])  # type: ignore[arg-type]
    assert read_state(state_path(tmp_path, state_dir.key(GVR)), state_dir.key(GVR)).rv == 5


# -- auto caches (--auto-cache) --------------------------------------------------


async def test_auto_caches_are_saved_and_restored_as_auto_caches_unless_undefined(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """configmaps and widgets are auto-cached and saved; the widgets CRD is
    deleted while no proxy runs: the next start restores configmaps by
    watch (no LIST) as an auto cache, and discards widgets, logged, its
    file deleted."""
    config = serve_config(
        "--auto-cache", "--resources=", "--cache-dir", str(tmp_path), "--auto-cache-idle", "1h"
    )
    widgets_path = "/apis/example.com/v1/namespaces/default/widgets"
    async with Simulator() as sim, aiohttp.ClientSession() as http:
        sim.register("example.com", "v1", "widgets", "Widget")
        async with http.post(sim.url + CRD_PATH, json=widgets_crd()) as r:
            assert r.status == 201
        sim.verbs.create(CONFIGMAPS, "default", cm("c0"))
        async with open_proxy(config, UpstreamConfig(sim.url)) as proxy:
            auto = _auto(proxy)
            for path in (PATH, widgets_path):
                async with http.get(proxy.urls[0] + path) as r:
                    assert r.status == 200
            await until(lambda: len(auto.caches) == 2, "both auto-cached")
            for resource in auto.caches.values():
                await asyncio.wait_for(resource.reflector.synced.wait(), 10)
        saved = json.loads((tmp_path / AUTO_LIST).read_bytes())
        assert sorted(c["resource"] for c in saved["caches"]) == ["configmaps", "widgets"]
        widgets_file = state_path(
            tmp_path, StateDir(tmp_path, UpstreamConfig(sim.url)).key(WIDGETS)
        )
        assert widgets_file.exists()

        async with http.delete(f"{sim.url}{CRD_PATH}/widgets.example.com") as r:
            assert r.status == 200
        new = sim.verbs.create(CONFIGMAPS, "default", cm("new"))
        with caplog.at_level(logging.INFO):
            async with open_proxy(config, UpstreamConfig(sim.url)) as proxy:
                auto = _auto(proxy)
                await until(lambda: sum(auto.restores.values()) == 2, "both considered")
                assert dict(auto.restores) == {"restored": 1, "undefined": 1}
                assert list(auto.caches) == [GVR] and auto.started == 1
                resource = auto.caches[GVR]
                assert resource.reflector.synced.is_set()  # from the file
                await until(lambda: resource.unready() is None, "confirmed by upstream's watch")
                listed_now = await listed(http, proxy.urls[0], resourceVersion=str(new.rv))
                assert sorted(i["metadata"]["name"] for i in listed_now["items"]) == ["c0", "new"]
                _, samples = await scrape(http, proxy.urls[0])
                assert value(samples, "watchcache_upstream_lists_total", resource="configmaps") == 0
                assert (
                    value(samples, "watchcache_auto_cache_restores_total", result="undefined") == 1
                )
        assert not widgets_file.exists()
        assert "discarding example.com/v1/widgets saved in --cache-dir" in caplog.text
        saved = json.loads((tmp_path / AUTO_LIST).read_bytes())
        assert [c["resource"] for c in saved["caches"]] == ["configmaps"]


def _auto(proxy: RunningProxy) -> AutoCaches:
    reads = proxy.parts.handle
    assert isinstance(reads, ReadPath) and reads.auto is not None
    return reads.auto


async def test_restored_auto_caches_keep_their_idle_time_and_the_bound(tmp_path: Path) -> None:
    """Restored most recently read first, at most ``max_caches``; idle from
    where the save left them; a dropped one's file deleted."""
    clock = Clock()
    secrets = GroupVersionResource("", "v1", "secrets")
    async with Simulator() as sim, UpstreamClient(UpstreamConfig(sim.url)) as client:
        state_dir = StateDir(tmp_path, UpstreamConfig(sim.url))
        sim.verbs.create(CONFIGMAPS, "default", cm("c0"))
        auto = AutoCaches(
            CacheFactory(client, CacheConfig()),
            {},
            max_caches=1,
            idle=60,
            clock=clock,
            state_dir=state_dir,
        )
        try:
            auto.restore(
                [
                    SavedAutoCache("", "v1", "configmaps", "ConfigMap", True, idle_for=50),
                    SavedAutoCache("", "v1", "secrets", "Secret", True),
                ]
            )
            assert auto.reading(GVR) is None and auto.considering == frozenset()  # restoring
            await until(lambda: GVR in auto.caches, "configmaps restored")
            assert secrets not in auto.caches  # past the bound
            assert auto.due() == []
            clock.now += 10
            assert auto.due() == [(GVR, "idle")]
            resource = auto.caches[GVR]
            await asyncio.wait_for(resource.reflector.synced.wait(), 10)
            await state_dir.save_auto(auto.saving())
            path = state_path(tmp_path, state_dir.key(GVR))
            assert path.exists()
            await auto.drop_due()
            assert not path.exists()
        finally:
            await auto.close()
        saved = json.loads((tmp_path / AUTO_LIST).read_bytes())
        assert saved["caches"] == []


async def test_a_restore_cut_short_by_a_stop_lists_what_it_had_left(tmp_path: Path) -> None:
    """widgets waits for a CRD cache that cannot sync; the proxy stops
    meanwhile: widgets stays listed, for the next start."""
    async with Simulator() as sim, UpstreamClient(UpstreamConfig(sim.url)) as client:
        sim.faults.fail_next(10_000, 500, path_prefix=CRD_PATH)
        state_dir = StateDir(tmp_path, UpstreamConfig(sim.url))
        factory = CacheFactory(client, CacheConfig())
        async with definitions_kept({}, factory) as definitions:
            auto = AutoCaches(
                factory, {}, max_caches=5, idle=60, definitions=definitions, state_dir=state_dir
            )
            widgets = SavedAutoCache("example.com", "v1", "widgets", "Widget", True, idle_for=7)
            auto.restore([widgets])
            await asyncio.sleep(0)
            await auto.close()
        saved = json.loads((tmp_path / AUTO_LIST).read_bytes())
        assert [c["resource"] for c in saved["caches"]] == ["widgets"]
        assert auto.restores == Counter()


async def test_one_idle_when_saved_is_not_restored(tmp_path: Path) -> None:
    async with Simulator() as sim, UpstreamClient(UpstreamConfig(sim.url)) as client:
        state_dir = StateDir(tmp_path, UpstreamConfig(sim.url))
        path = state_path(tmp_path, state_dir.key(GVR))
        path.write_bytes(b"a state")
        auto = AutoCaches(
            CacheFactory(client, CacheConfig()), {}, max_caches=5, idle=60, state_dir=state_dir
        )
        auto.restore([SavedAutoCache("", "v1", "configmaps", "ConfigMap", True, idle_for=60)])
        assert auto.restores == Counter(skipped=1) and not path.exists()
        assert auto.reading(GVR) is None and GVR in auto.considering  # as any first read
        await auto.close()


async def test_saves_run_one_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The interval's save of the auto caches and their final save may
    overlap at shutdown: their writes must not."""
    state_dir = StateDir(tmp_path, UpstreamConfig("http://upstream:1"))
    writing, most = 0, 0
    real = persistence.write_state

    def counted(*args: Any) -> int:
        nonlocal writing, most
        writing += 1
        most = max(most, writing)
        try:
            time.sleep(0.05)  # a write long enough for another to start meanwhile
            return real(*args)
        finally:
            writing -= 1

    monkeypatch.setattr(persistence, "write_state", counted)
    resources = {}
    for rv, gvr in enumerate((GVR, GroupVersionResource("", "v1", "secrets")), start=5):
        cache = Cache(CONFIGMAPS)  # type: ignore[arg-type]
        item = cm("a") | {"metadata": {"name": "a", "resourceVersion": str(rv)}}
        cache.replace([json.dumps(item).encode()], rv)
        resources[gvr] = _Resource(cache)
    saved = await asyncio.gather(
        *(state_dir.save(gvr, r) for gvr, r in resources.items()),  # type: ignore[arg-type]
        state_dir.save(GVR, resources[GVR]),  # type: ignore[arg-type]
    )
    assert sorted(saved) == [False, True, True] and most == 1
