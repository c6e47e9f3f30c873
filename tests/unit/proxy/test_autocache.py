"""--auto-cache (proxy/autocache.py) against the simulated API server:
a resource is cached on its first read, served from the cache once
synced, bounded in number, dropped when idle or when its CRD goes."""

from __future__ import annotations

import asyncio
import gc
import json
import weakref
from collections.abc import AsyncIterator

import aiohttp
import pytest
from tests.inprocess import serve_config
from tests.polling import until

from watchcache.api.resources import GroupVersionResource
from watchcache.cache.cache import Cache, CacheConfig
from watchcache.proxy.autocache import REFUSED_FOR, AutoCaches, CustomCaching, Verdict
from watchcache.proxy.caches import CacheFactory
from watchcache.proxy.crds import CRDS, definitions_kept
from watchcache.proxy.reads import ReadPath
from watchcache.proxy.serve import open_proxy
from watchcache.simulator.app import Simulator
from watchcache.upstream import UpstreamClient, UpstreamConfig

CONFIGMAPS = GroupVersionResource("", "v1", "configmaps")
SECRETS = GroupVersionResource("", "v1", "secrets")
WIDGETS = GroupVersionResource("example.com", "v1", "widgets")
CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def widgets_crd(columns: list[dict[str, object]] | None = None) -> dict[str, object]:
    version: dict[str, object] = {"name": "v1", "served": True, "storage": True}
    if columns is not None:
        version["additionalPrinterColumns"] = columns
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "names": {"plural": "widgets", "kind": "Widget"},
            "scope": "Namespaced",
            "versions": [version],
        },
    }


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator() as simulator:
        simulator.register("example.com", "v1", "widgets", "Widget")
        yield simulator


async def post(session: aiohttp.ClientSession, url: str, body: dict[str, object]) -> None:
    async with session.post(url, json=body) as r:
        assert r.status == 201, await r.text()


async def _cached(auto: AutoCaches, gvr: GroupVersionResource) -> None:
    """Until ``gvr``'s auto cache exists and has synced."""
    await until(lambda: gvr in auto.caches, f"{gvr} auto-cached")
    await asyncio.wait_for(auto.caches[gvr].reflector.synced.wait(), 10)


async def test_cached_on_first_read_bounded_and_dropped_when_idle(sim: Simulator) -> None:
    clock = Clock()
    async with UpstreamClient(UpstreamConfig(sim.url)) as client:
        auto = AutoCaches(
            CacheFactory(client, CacheConfig()), {}, max_caches=1, idle=60, clock=clock
        )
        try:
            assert auto.reading(CONFIGMAPS) is None  # forwarded: never waits for a sync
            await _cached(auto, CONFIGMAPS)
            resource = auto.reading(CONFIGMAPS)
            assert resource is auto.caches[CONFIGMAPS] and auto.started == 1

            # The bound: a second resource is forwarded, counted, and not
            # considered again on every read.
            assert auto.reading(SECRETS) is None
            await until(lambda: auto.refusals["bound"] == 1, "refused for the bound")
            assert auto.reading(SECRETS) is None and auto.considering == frozenset()
            assert auto.refusals["bound"] == 1 and SECRETS not in auto.caches

            # A read keeps it; a minute without one drops it.
            clock.now += 59
            assert auto.reading(CONFIGMAPS) is resource
            clock.now += 59
            assert auto.due() == []
            clock.now += 1
            assert auto.due() == [(CONFIGMAPS, "idle")]
            await auto.drop_due()
            assert auto.caches == {} and auto.dropped["idle"] == 1
            assert resource.reflector.stopped and all(t.done() for t in resource.tasks)
            # Its memory is released: nothing of the proxy's holds the cache.
            cache = weakref.ref(resource.cache)
            del resource
            # A few loop turns first: the cancelled reflector's last read
            # (its CancelledError's traceback holds the reflector's frames)
            # is let go once the loop has run its callbacks.
            for _ in range(3):
                await asyncio.sleep(0)
            gc.collect()
            assert cache() is None

            # Room again: the refused resource is considered once its
            # refusal has run out.
            clock.now += REFUSED_FOR
            assert auto.reading(SECRETS) is None
            await _cached(auto, SECRETS)
        finally:
            await auto.close()
        assert auto.caches == {}


async def test_what_is_never_auto_cached(sim: Simulator) -> None:
    clock = Clock()
    async with UpstreamClient(UpstreamConfig(sim.url)) as client:
        auto = AutoCaches(
            CacheFactory(client, CacheConfig()), {}, max_caches=5, idle=60, clock=clock
        )
        try:
            # Not served at all; a custom resource no CRD defines (an
            # aggregated API's, as far as the proxy can tell).
            auto.reading(GroupVersionResource("", "v1", "nothings"))
            auto.reading(WIDGETS)
            await until(lambda: sum(auto.refusals.values()) == 2, "both refused")
            assert auto.refusals["not_listwatch"] == 1
            assert auto.refusals["unknown_kind"] == 1
            assert auto.caches == {}
        finally:
            await auto.close()


async def test_one_that_does_not_sync_is_dropped_and_one_without_discovery_refused(
    sim: Simulator,
) -> None:
    clock = Clock()
    sim.faults.fail_next(10_000, 500, path_prefix="/api/v1/configmaps")
    sim.faults.fail_next(1, 500, path_prefix="/apis/apps/v1")
    async with UpstreamClient(UpstreamConfig(sim.url)) as client:
        auto = AutoCaches(
            CacheFactory(client, CacheConfig()), {}, max_caches=5, idle=60, clock=clock
        )
        try:
            auto.reading(CONFIGMAPS)
            auto.reading(GroupVersionResource("apps", "v1", "deployments"))
            await until(lambda: auto.refusals["discovery_failed"] == 1, "discovery failed")
            await until(lambda: CONFIGMAPS in auto.caches, "configmaps started")
            resource = auto.caches[CONFIGMAPS]
            await until(lambda: resource.reflector.last_error is not None, "its list failed")
            assert auto.reading(CONFIGMAPS) is None  # not ready: forwarded
            clock.now += 59
            assert auto.due() == []
            clock.now += 1
            assert auto.due() == [(CONFIGMAPS, "unsynced")]
            await auto.drop_due()
            assert auto.dropped["unsynced"] == 1 and auto.caches == {}
        finally:
            await auto.close()


async def test_a_custom_resource_is_dropped_when_its_crd_is_deleted(sim: Simulator) -> None:
    clock = Clock()
    async with (
        aiohttp.ClientSession() as session,
        UpstreamClient(UpstreamConfig(sim.url)) as client,
    ):
        await post(session, sim.url + CRD_PATH, widgets_crd())
        factory = CacheFactory(client, CacheConfig())
        async with definitions_kept({}, factory) as definitions:
            await asyncio.wait_for(definitions.resource.reflector.synced.wait(), 10)
            auto = AutoCaches(
                factory, {}, max_caches=5, idle=60, clock=clock, definitions=definitions
            )
            try:
                # CRDs themselves are read from the CRD cache, not a second one.
                assert auto.reading(CRDS) is definitions.resource
                auto.reading(WIDGETS)
                await _cached(auto, WIDGETS)
                assert CRDS not in auto.caches and auto.started == 1
                assert auto.due() == []
                async with session.delete(f"{sim.url}{CRD_PATH}/widgets.example.com") as r:
                    assert r.status == 200
                await until(lambda: definitions.defines(WIDGETS) is False, "the CRD gone")
                assert auto.due() == [(WIDGETS, "undefined")]
                await auto.drop_due()
                assert WIDGETS not in auto.caches and auto.dropped["undefined"] == 1
            finally:
                await auto.close()


def _served_by(metrics: str, resource: str) -> dict[tuple[str, str], int]:
    counts: dict[tuple[str, str], int] = {}
    for line in metrics.splitlines():
        if line.startswith("watchcache_requests_total{") and f'resource="{resource}"' in line:
            labels = dict(
                p.split("=", 1) for p in line[line.index("{") + 1 : line.index("}")].split(",")
            )
            key = (labels["verb"].strip('"'), labels["served_by"].strip('"'))
            counts[key] = counts.get(key, 0) + int(float(line.rsplit(" ", 1)[1]))
    return counts


async def test_through_the_proxy_first_read_forwarded_then_served_from_the_cache(
    sim: Simulator,
) -> None:
    config = serve_config("--auto-cache", "--resources=", "--auto-cache-idle", "60")
    async with (
        aiohttp.ClientSession() as session,
        open_proxy(config, UpstreamConfig(sim.url)) as proxy,
    ):
        await post(
            session, sim.url + "/api/v1/namespaces/default/configmaps", {"metadata": {"name": "a"}}
        )
        base = proxy.urls[0]
        reads = proxy.parts.handle
        assert isinstance(reads, ReadPath) and reads.auto is not None
        auto = reads.auto
        path = base + "/api/v1/namespaces/default/configmaps"
        async with session.get(path) as r:
            assert r.status == 200
            assert [i["metadata"]["name"] for i in (await r.json())["items"]] == ["a"]
        # A subresource, and anything but a GET, never starts a cache.
        async with session.get(base + "/api/v1/namespaces/default/secrets/a/status"):
            pass
        async with session.post(
            base + "/api/v1/namespaces/default/secrets", json={"metadata": {"name": "s"}}
        ) as r:
            assert r.status == 201
        await _cached(auto, CONFIGMAPS)
        await until(lambda: auto.caches[CONFIGMAPS].unready() is None, "ready")
        # At RV 0: a consistent read would wait for the secret's RV, which no
        # configmap event brings (forwarded, reads.py's QUIET_AFTER).
        async with session.get(path, params={"resourceVersion": "0"}) as r:
            assert [i["metadata"]["name"] for i in (await r.json())["items"]] == ["a"]
        async with session.get(base + "/metrics") as r:
            metrics = await r.text()
        served = _served_by(metrics, "configmaps")
        assert served[("list", "upstream")] == 1 and served[("list", "cache")] == 1
        assert "watchcache_auto_caches 1.0" in metrics
        assert 'watchcache_cache_synced{resource="configmaps"} 1.0' in metrics
        assert list(auto.caches) == [CONFIGMAPS] and auto.started == 1

        # An open watch from the cache is a reader: not idle.
        clock = Clock()
        auto.clock = clock
        async with session.get(path, params={"watch": "1", "resourceVersion": "0"}) as watch:
            line = json.loads(await asyncio.wait_for(watch.content.readline(), 5))
            assert line["type"] == "ADDED"
            clock.now += 3600
            assert auto.due() == []
        await until(lambda: len(auto.caches[CONFIGMAPS].registry) == 0, "the watch gone")
        clock.now += 60
        assert auto.due() == [(CONFIGMAPS, "idle")]


async def test_custom_resource_tables_from_the_cache(sim: Simulator) -> None:
    """A named custom resource's Table: its CRD's columns, from the cache."""
    columns = [
        {"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
        {"name": "Color", "type": "string", "jsonPath": ".spec.color", "priority": 1},
    ]
    config = serve_config("--resources", "example.com/v1/widgets")
    async with aiohttp.ClientSession() as session:
        await post(session, sim.url + CRD_PATH, widgets_crd(columns))
        await post(
            session,
            sim.url + "/apis/example.com/v1/namespaces/default/widgets",
            {
                "apiVersion": "example.com/v1",
                "kind": "Widget",
                "metadata": {"name": "w"},
                "spec": {"size": 3, "color": "red"},
            },
        )
        async with open_proxy(config, UpstreamConfig(sim.url)) as proxy:
            reads = proxy.parts.handle
            assert isinstance(reads, ReadPath)
            [resource] = reads.caches.values()
            await asyncio.wait_for(resource.reflector.synced.wait(), 10)
            base = proxy.urls[0]
            accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
            path = "/apis/example.com/v1/namespaces/default/widgets"

            async def from_cache() -> dict[str, object] | None:
                """A Table the cache answered (upstream answers until the
                CRD cache has synced)."""
                async with session.get(base + "/metrics") as r:
                    before = _served_by(await r.text(), "widgets").get(("list", "cache"), 0)
                async with session.get(
                    base + path, params={"resourceVersion": "0"}, headers={"Accept": accept}
                ) as r:
                    body: dict[str, object] = await r.json()
                async with session.get(base + "/metrics") as r:
                    after = _served_by(await r.text(), "widgets").get(("list", "cache"), 0)
                return body if after > before else None

            await until(from_cache, "a Table from the cache")
            body = await from_cache()
            assert body is not None and body["kind"] == "Table"
            definitions = body["columnDefinitions"]
            assert isinstance(definitions, list)
            assert [(c["name"], c["type"], c["priority"]) for c in definitions] == [
                ("Name", "string", 0),
                ("Size", "integer", 0),
                ("Color", "string", 1),
            ]
            rows = body["rows"]
            assert isinstance(rows, list)
            assert rows[0]["cells"] == ["w", 3, "red"]


def test_metrics_labels_are_plurals_unless_two_caches_share_one() -> None:
    core = GroupVersionResource("", "v1", "events")
    new = GroupVersionResource("events.k8s.io", "v1", "events")
    labelled = CustomCaching(None, None).labelled({core: 1, new: 2, CONFIGMAPS: 3})  # type: ignore[dict-item]
    assert labelled == {"/v1/events": 1, "events.k8s.io/v1/events": 2, "configmaps": 3}


# -- behind --workers: the primary's verdicts, a worker's questions ---------------


async def test_the_primary_answers_a_workers_question_as_a_read(sim: Simulator) -> None:
    clock = Clock()
    async with UpstreamClient(UpstreamConfig(sim.url)) as client:
        auto = AutoCaches(
            CacheFactory(client, CacheConfig()),
            {},
            max_caches=5,
            idle=60,
            clock=clock,
            serve_unready=True,
        )
        try:
            assert auto.verdict(CONFIGMAPS) == Verdict("pending")  # starts considering it
            await _cached(auto, CONFIGMAPS)
            assert auto.verdict(CONFIGMAPS) == Verdict("cached", kind="ConfigMap")
            nothings = GroupVersionResource("", "v1", "nothings")
            auto.verdict(nothings)
            await until(lambda: auto.refusals["not_listwatch"] == 1, "refused")
            assert auto.verdict(nothings) == Verdict("refused", "not_listwatch")
            # A question is a read: it keeps the cache.
            clock.now += 59
            auto.verdict(CONFIGMAPS)
            clock.now += 59
            assert auto.due() == []
        finally:
            await auto.close()


async def test_the_primary_serves_its_caches_before_they_sync(sim: Simulator) -> None:
    """As a named cache is served (429 before the first sync): a worker's
    watch is never forwarded upstream past the primary's cache."""
    sim.faults.fail_next(10_000, 500, path_prefix="/api/v1/configmaps")
    async with UpstreamClient(UpstreamConfig(sim.url)) as client:
        factory = CacheFactory(client, CacheConfig())
        for serve_unready in (False, True):
            auto = AutoCaches(factory, {}, max_caches=5, idle=60, serve_unready=serve_unready)
            try:
                auto.reading(CONFIGMAPS)
                await until(lambda: CONFIGMAPS in auto.caches, "started")  # noqa: B023
                resource = auto.caches[CONFIGMAPS]
                assert not resource.reflector.synced.is_set()
                assert auto.reading(CONFIGMAPS) is (resource if serve_unready else None)
            finally:
                await auto.close()


class Primary:
    """A worker's ``upper`` and ``seed``: verdicts given by the test."""

    def __init__(self) -> None:
        self.verdicts: asyncio.Queue[Verdict] = asyncio.Queue()
        self.asked = 0
        self.seeded: list[str] = []

    async def __call__(self, gvr: GroupVersionResource) -> Verdict:
        self.asked += 1
        return await self.verdicts.get()

    async def seed(self, path: str, cache: Cache) -> None:
        self.seeded.append(path)


async def test_a_worker_caches_only_once_the_primary_has(sim: Simulator) -> None:
    clock = Clock()
    primary = Primary()

    async def sleep(seconds: float) -> None:
        clock.now += seconds

    async with UpstreamClient(UpstreamConfig(sim.url)) as client:
        auto = AutoCaches(
            CacheFactory(client, CacheConfig(), sleep=sleep),
            {},
            max_caches=5,
            idle=60,
            clock=clock,
            upper=primary,
            seed=primary.seed,
        )
        try:
            # Pending: asked again each second, nothing started meanwhile.
            assert auto.reading(WIDGETS) is None
            await primary.verdicts.put(Verdict("pending"))
            await until(lambda: primary.asked == 2, "asked again")
            assert auto.caches == {}
            # Cached there: started here with the primary's kind, seeded first.
            await primary.verdicts.put(Verdict("cached", kind="Widget"))
            await until(lambda: WIDGETS in auto.caches, "cached here")
            assert auto.caches[WIDGETS].info.kind == "Widget"
            assert primary.seeded == ["/apis/example.com/v1/widgets"]

            # Refused there: refused here, for the same reason.
            auto.reading(SECRETS)
            await primary.verdicts.put(Verdict("refused", "bound"))
            await until(lambda: auto.refusals["bound"] == 1, "refused")
            assert SECRETS not in auto.caches

            # Never synced there within idle: refused as unsynced.
            auto.reading(CONFIGMAPS)
            for _ in range(62):
                primary.verdicts.put_nowait(Verdict("pending"))
            await until(lambda: auto.refusals["unsynced"] == 1, "given up")
            assert CONFIGMAPS not in auto.caches
        finally:
            await auto.close()
