"""A consistent WatchList the cache cannot catch up with in time (upstream's
RV moved with another resource's write: a quiet resource's cache does not
move) is answered from a consistent LIST upstream and the cache's events
after it, never forwarded: an upstream before 1.27 (kube-apiserver 1.20)
refuses a WatchList, as the stand-in for ``forward`` here does."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiohttp import web
from tests.inprocess import ready_proxy
from tests.unit.proxy.test_consistency import PODS, pod

from watchcache.api.shardselector import ShardSelector, even_shards
from watchcache.proxy.reads import ReadPath
from watchcache.simulator.app import Simulator

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"
WATCH_LIST = {
    "watch": "1",
    "sendInitialEvents": "true",
    "resourceVersionMatch": "NotOlderThan",
    "allowWatchBookmarks": "true",
}


async def _event(watch: aiohttp.ClientResponse) -> dict[str, Any]:
    line = await asyncio.wait_for(watch.content.readline(), 10)
    assert line, "the watch ended"
    event: dict[str, Any] = json.loads(line)
    return event


@contextlib.asynccontextmanager
async def _proxy() -> AsyncIterator[tuple[str, str, aiohttp.ClientSession, ReadPath]]:
    """The simulator's URL, the proxy's (caching pods, waiting 0.2 s for its
    cache before it gives up on it), a session, and its read path."""
    async with Simulator() as sim, ready_proxy(sim.url, "--resources", "pods") as (proxy, session):
        reads = proxy.parts.handle
        assert isinstance(reads, ReadPath)
        reads.rv_wait = 0.2
        yield sim.url, proxy.urls[0], session, reads


async def _move_upstream(session: aiohttp.ClientSession, url: str) -> int:
    """Upstream's RV past the pods cache's, which no pod event will move."""
    async with session.post(url + CONFIGMAPS, json={"metadata": {"name": "c"}}) as r:
        assert r.status == 201
        return int((await r.json())["metadata"]["resourceVersion"])


async def test_a_watch_list_behind_upstream_is_listed_not_forwarded() -> None:
    forwarded: list[str] = []
    async with _proxy() as (url, base, session, reads):
        upstream_forward = reads.forward

        async def forward(request: web.Request) -> web.StreamResponse:
            if "sendInitialEvents" in request.query:
                forwarded.append(request.path_qs)
                return web.json_response({"kind": "Status", "code": 422}, status=422)
            return await upstream_forward(request)

        reads.forward = forward
        for name in ("a", "b"):
            async with session.post(url + PODS, json=pod(name)) as r:
                assert r.status == 201
        moved = await _move_upstream(session, url)
        async with session.get(base + PODS, params=WATCH_LIST) as watch:
            assert watch.status == 200, await watch.text()
            added = [await _event(watch) for _ in range(2)]
            assert sorted(e["object"]["metadata"]["name"] for e in added) == ["a", "b"]
            assert {e["type"] for e in added} == {"ADDED"}
            end = await _event(watch)
            assert end["type"] == "BOOKMARK"
            meta = end["object"]["metadata"]
            assert meta["annotations"]["k8s.io/initial-events-end"] == "true"
            assert int(meta["resourceVersion"]) >= moved, "the LIST's RV, not the cache's"
            # Then the changes, from the cache.
            async with session.post(url + PODS, json=pod("d")) as r:
                assert r.status == 201
            live = await _event(watch)
            assert (live["type"], live["object"]["metadata"]["name"]) == ("ADDED", "d")
        assert forwarded == []


async def test_a_listed_watch_list_keeps_to_its_selector_and_namespace() -> None:
    async with _proxy() as (url, base, session, _):
        for namespace, name, app in (
            ("default", "a", "x"),
            ("default", "b", "y"),
            ("kube-system", "c", "x"),
        ):
            body = {**pod(name), "metadata": {"name": name, "labels": {"app": app}}}
            async with session.post(url + f"/api/v1/namespaces/{namespace}/pods", json=body) as r:
                assert r.status == 201
        await _move_upstream(session, url)
        params = {**WATCH_LIST, "labelSelector": "app=x"}
        async with session.get(base + PODS, params=params) as watch:
            assert watch.status == 200, await watch.text()
            first = await _event(watch)
            assert (first["type"], first["object"]["metadata"]["name"]) == ("ADDED", "a")
            assert (await _event(watch))["type"] == "BOOKMARK"


async def test_a_listed_sharded_watch_list_holds_only_its_share() -> None:
    """Upstream (as 1.20) ignores shardSelector: the share is the proxy's."""
    async with _proxy() as (url, base, session, _):
        names = []
        for i in range(12):
            names.append(f"p{i:02d}")
            async with session.post(url + PODS, json=pod(names[-1])) as r:
                assert r.status == 201
        await _move_upstream(session, url)
        seen: list[str] = []
        for text in even_shards(2):
            selector = ShardSelector.parse(text)
            params = {**WATCH_LIST, "shardSelector": text}
            async with session.get(base + PODS, params=params) as watch:
                assert watch.status == 200, await watch.text()
                while (event := await _event(watch))["type"] != "BOOKMARK":
                    meta = event["object"]["metadata"]
                    assert selector.matches(meta["uid"], meta["namespace"])
                    seen.append(meta["name"])
        assert sorted(seen) == names, "the shards together are the whole, once each"
