"""replica.py: a worker's cache starts at the primary's history start, and a
reflector on the feed then replays every event since; best effort."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from tests.inprocess import serve_config
from tests.polling import until
from tests.unit.proxy.test_metrics import parse

from watchcache.api.resources import GroupVersionResource, resource_info
from watchcache.cache.cache import Cache, CacheConfig
from watchcache.cache.reflector import Reflector
from watchcache.proxy.autocache import AutoCaches
from watchcache.proxy.cachedresource import CachedResource
from watchcache.proxy.caches import CacheFactory
from watchcache.proxy.reads import ReadPath
from watchcache.proxy.serve import open_proxy
from watchcache.simulator.app import Simulator
from watchcache.upstream import UpstreamClient, UpstreamConfig
from watchcache.workers.control import auto_cache_route, history_route, serving_control
from watchcache.workers.replica import PrimaryAutoCaches, Seeder

PODS = "/api/v1/namespaces/default/pods"
COLLECTION = "/api/v1/pods"
INFO = resource_info(GroupVersionResource("", "v1", "pods"))


def pod(name: str, label: str = "x") -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"v": label}},
        "spec": {"containers": [{"name": "c", "image": "i"}]},
    }


@dataclasses.dataclass
class Primary:
    sim: Simulator
    session: aiohttp.ClientSession
    feed: UpstreamClient
    control: Path
    reads: ReadPath


@pytest.fixture
async def primary(tmp_path: Path) -> AsyncIterator[Primary]:
    """A feed (the primary's proxy on a Unix socket) in front of a simulator
    holding pod a, and the primary's control socket."""
    feed_socket, control = tmp_path / "feed.sock", tmp_path / "primary.sock"
    config = dataclasses.replace(
        serve_config("--resources", "pods"), listen=(), listen_unix=str(feed_socket)
    )
    feed_config = UpstreamConfig("http://localhost", unix_socket=str(feed_socket))
    async with Simulator() as sim, aiohttp.ClientSession() as session:
        async with session.post(sim.url + PODS, json=pod("a")) as r:
            assert r.status == 201
        async with (
            open_proxy(config, UpstreamConfig(sim.url)) as proxy,
            UpstreamClient(feed_config) as feed,
        ):
            reads = proxy.parts.handle
            assert isinstance(reads, ReadPath)
            paths = {resource.path: resource for resource in reads.caches.values()}
            async with serving_control(
                control, proxy.parts.metrics.exposition, history_route(lambda: paths)
            ):
                await until(
                    lambda: all(r.reflector.synced.is_set() for r in paths.values()),
                    "the feed to sync",
                )
                yield Primary(sim, session, feed, control, reads)


async def write(primary: Primary, name: str, label: str, *, create: bool) -> None:
    method, url = ("POST", PODS) if create else ("PUT", f"{PODS}/{name}")
    body = pod(name, label)
    if not create:
        async with primary.session.get(primary.sim.url + url) as r:
            body = await r.json()
        body["metadata"]["labels"] = {"v": label}
    async with primary.session.request(method, primary.sim.url + url, json=body) as r:
        assert r.status in (200, 201), await r.text()


async def test_the_replica_starts_where_the_history_does_and_replays_since(
    primary: Primary,
) -> None:
    (resource,) = primary.reads.caches.values()
    start = resource.cache.rv
    await write(primary, "b", "x", create=True)
    await write(primary, "a", "y", create=False)
    await until(lambda: resource.cache.rv > start + 1, "the feed to hear both writes")

    replica = Cache(INFO)
    await Seeder(primary.feed, primary.control)(COLLECTION, replica)
    assert replica.rv == start  # not the feed's current RV: its history start
    assert [e.name for e in replica.list().items] == ["a"]
    assert replica.since(start) == []  # a client at the history start resumes here

    events = []

    async def heard(event: object) -> None:
        events.append(event)

    reflector = Reflector(primary.feed, COLLECTION, replica, on_event=heard)
    following = asyncio.ensure_future(reflector.run())
    try:
        await until(lambda: replica.rv == resource.cache.rv, "the replica to catch up")
    finally:
        reflector.stop()
        await following
    assert reflector.statistics().lists == 0  # resumed by watch, no list
    assert [(e.type, e.key) for e in replica.since(start)] == [
        ("ADDED", "default/b"),
        ("MODIFIED", "default/a"),
    ]
    assert len(events) == 2


async def test_an_unknown_collection_leaves_the_cache_to_list(primary: Primary) -> None:
    replica = Cache(INFO)
    await Seeder(primary.feed, primary.control)("/api/v1/nodes", replica)
    assert replica.rv == 0


async def test_no_primary_leaves_the_cache_to_list(primary: Primary, tmp_path: Path) -> None:
    replica = Cache(INFO)
    await Seeder(primary.feed, tmp_path / "absent.sock")(COLLECTION, replica)
    assert replica.rv == 0


# -- --auto-cache behind --workers ------------------------------------------------

CONFIGMAPS = GroupVersionResource("", "v1", "configmaps")


async def test_a_workers_auto_cache_starts_from_the_primarys_and_keeps_it(
    tmp_path: Path,
) -> None:
    """The worker caches configmaps only once the primary does, seeded
    from its history and watching it (never forwarded upstream); that
    watch keeps the primary's cache from going idle."""
    feed_socket, control = tmp_path / "feed.sock", tmp_path / "primary.sock"
    config = dataclasses.replace(
        serve_config("--resources=", "--auto-cache"), listen=(), listen_unix=str(feed_socket)
    )
    feed_config = UpstreamConfig("http://localhost", unix_socket=str(feed_socket))
    async with Simulator() as sim, aiohttp.ClientSession() as session:
        async with session.post(
            sim.url + "/api/v1/namespaces/default/configmaps", json={"metadata": {"name": "c"}}
        ) as r:
            assert r.status == 201
        async with (
            open_proxy(config, UpstreamConfig(sim.url), feed=True) as proxy,
            UpstreamClient(feed_config) as feed,
        ):
            reads = proxy.parts.handle
            assert isinstance(reads, ReadPath) and reads.auto is not None
            primary = reads.auto
            paths = {}

            def by_path() -> dict[str, CachedResource]:
                paths.update({r.path: r for r in primary.caches.values()})
                return paths

            async with serving_control(
                control,
                proxy.parts.metrics.exposition,
                history_route(by_path),
                auto_cache_route(primary),
            ):
                worker = AutoCaches(
                    CacheFactory(feed, CacheConfig()),
                    {},
                    max_caches=5,
                    idle=60,
                    upper=PrimaryAutoCaches(control),
                    seed=Seeder(feed, control),
                )
                try:
                    # The primary's first list fails: its cache is there
                    # a while before it syncs, and the worker waits for that.
                    sim.faults.fail_next(1, 500, path_prefix="/api/v1/configmaps")
                    assert worker.reading(CONFIGMAPS) is None
                    await until(lambda: CONFIGMAPS in worker.caches, "cached by the worker")
                    assert CONFIGMAPS in primary.caches
                    ours = worker.caches[CONFIGMAPS]
                    theirs = primary.caches[CONFIGMAPS]
                    await until(lambda: ours.unready() is None, "the worker's cache ready")
                    assert [e.name for e in ours.cache.list().items] == ["c"]
                    stats = ours.reflector.statistics()
                    assert stats.lists == stats.watch_lists == 0  # seeded, then watched
                    await until(lambda: len(theirs.registry) == 1, "the worker's watch")
                    primary.clock = lambda: time.monotonic() + 3600
                    assert primary.due() == []  # watched by the worker: not idle
                    samples = parse(proxy.parts.metrics.exposition().decode())
                finally:
                    await worker.close()
                assert not [
                    key
                    for key, count in samples.items()
                    if key[0] == "watchcache_requests_total"
                    and ("served_by", "upstream") in key[1]
                    and ("resource", "configmaps") in key[1]
                    and ("verb", "watch") in key[1]
                    and count
                ]
