"""shardSelector (KEP-5866) served from the cache: N shards' lists and
watches through the proxy together are the whole, with no overlap. The
simulator ignores the parameter, as kube-apiserver before 1.36 does, so the
proxy's answer is the only filter."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from tests.inprocess import ready_proxy

from watchcache.api.resources import GroupVersionResource, builtin_resource
from watchcache.api.shardselector import ShardSelector, even_shards
from watchcache.simulator.app import Simulator
from watchcache.simulator.verbs import DeleteOptions

PODS = builtin_resource(GroupVersionResource("", "v1", "pods"))
NAMESPACE_KIND = builtin_resource(GroupVersionResource("", "v1", "namespaces"))
NAMESPACES = ("a", "b", "c", "d", "e")
WAIT = 10.0


def _pod(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "x"}},
        "spec": {"containers": [{"name": "c", "image": "x"}]},
    }


def _create(sim: Simulator, namespace: str, name: str) -> None:
    sim.verbs.create(PODS, namespace, _pod(name))


def _create_namespace(sim: Simulator, name: str) -> None:
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    sim.verbs.create(NAMESPACE_KIND, "", namespace)


@pytest.fixture
async def proxy() -> AsyncIterator[tuple[Simulator, str, aiohttp.ClientSession]]:
    async with Simulator() as sim:
        for namespace in NAMESPACES:
            _create_namespace(sim, namespace)
        for i in range(40):
            _create(sim, NAMESPACES[i % len(NAMESPACES)], f"p{i:02}")
        async with ready_proxy(sim.url, "--resources", "pods") as (served, session):
            yield sim, served.urls[0], session


async def _list_all(
    session: aiohttp.ClientSession, url: str, params: dict[str, str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every item of a paginated LIST, and each page's metadata."""
    items: list[dict[str, Any]] = []
    metas: list[dict[str, Any]] = []
    query = dict(params)
    while True:
        async with session.get(f"{url}/api/v1/pods", params=query) as response:
            assert response.status == 200, await response.text()
            body = await response.json()
        items += body["items"]
        metas.append(body["metadata"])
        token = body["metadata"].get("continue")
        if not token:
            return items, metas
        query = {**params, "continue": token}


def _key(item: dict[str, Any]) -> str:
    return f"{item['metadata']['namespace']}/{item['metadata']['name']}"


async def _assert_shards_partition(
    session: aiohttp.ClientSession,
    url: str,
    shards: list[str],
    params: dict[str, str],
    whole: list[dict[str, Any]],
) -> None:
    """Each shard's LIST (with ``params``) holds only objects its selector
    matches, and together they are ``whole`` with no object in two."""
    seen: dict[str, int] = {}
    for index, text in enumerate(shards):
        selector = ShardSelector.parse(text)
        items, metas = await _list_all(session, url, {"shardSelector": text, **params})
        for item in items:
            meta = item["metadata"]
            assert selector.matches(meta["uid"], meta["namespace"])
            assert _key(item) not in seen, f"{_key(item)} in shards {seen[_key(item)]} and {index}"
            seen[_key(item)] = index
        for meta in metas:
            assert meta["shardInfo"] == {"selector": text}
            assert "remainingItemCount" not in meta  # a filtered subset, as with selectors
    assert set(seen) == {_key(item) for item in whole}


@pytest.mark.parametrize("field", ["uid", "namespace"])
async def test_shard_lists_union_to_the_whole_without_overlap(
    proxy: tuple[Simulator, str, aiohttp.ClientSession], field: str
) -> None:
    _, url, session = proxy
    whole, _ = await _list_all(session, url, {})
    assert len(whole) == 40
    await _assert_shards_partition(session, url, even_shards(3, field), {"limit": "4"}, whole)


async def test_a_shard_of_a_namespace_list_at_an_exact_rv(
    proxy: tuple[Simulator, str, aiohttp.ClientSession],
) -> None:
    sim, url, session = proxy
    async with session.get(f"{url}/api/v1/namespaces/a/pods") as response:
        listed = await response.json()
    rv = listed["metadata"]["resourceVersion"]
    _create(sim, "a", "later")
    names: set[str] = set()
    for text in even_shards(2):
        params = {"shardSelector": text, "resourceVersion": rv, "resourceVersionMatch": "Exact"}
        async with session.get(f"{url}/api/v1/namespaces/a/pods", params=params) as response:
            assert response.status == 200
            body = await response.json()
        assert body["metadata"]["resourceVersion"] == rv
        names |= {item["metadata"]["name"] for item in body["items"]}
    assert names == {item["metadata"]["name"] for item in listed["items"]}


@pytest.mark.parametrize("limit", ["", "4"], ids=["whole", "pages"])
async def test_forwarded_shard_lists_still_union_to_the_whole_without_overlap(
    proxy: tuple[Simulator, str, aiohttp.ClientSession], limit: str
) -> None:
    """A namespace written upstream moves its RV past the pods cache, which
    no pod event will reach: the consistent LISTs are forwarded (and their
    continue pages, at an RV newer than the cache), and the proxy still
    answers each shard only its share."""
    sim, url, session = proxy
    whole, _ = await _list_all(session, url, {})
    _create_namespace(sim, "f")
    params = {"limit": limit} if limit else {}
    await _assert_shards_partition(session, url, even_shards(3), params, whole)
    async with session.get(f"{url}/metrics") as response:
        metrics = await response.text()
    assert any(
        line.startswith("watchcache_requests_total{")
        and all(f in line for f in ('verb="list"', 'resource="pods"', 'served_by="upstream"'))
        for line in metrics.splitlines()
    ), "no LIST of pods was forwarded: the test proves nothing"


class _Watch:
    """One watch's decoded lines, read as they come."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response
        self.events: list[dict[str, Any]] = []

    async def until(self, done: Any) -> None:
        while not done():
            line = await asyncio.wait_for(self.response.content.readline(), WAIT)
            assert line, "the watch ended early"
            self.events.append(json.loads(line))

    def changes(self) -> list[tuple[str, str]]:
        return [(e["type"], _key(e["object"])) for e in self.events if e["type"] != "BOOKMARK"]


@pytest.mark.parametrize("watch_list", [False, True], ids=["rv0", "watchlist"])
async def test_shard_watches_union_to_the_whole_without_overlap(
    proxy: tuple[Simulator, str, aiohttp.ClientSession], watch_list: bool
) -> None:
    sim, url, session = proxy
    texts = even_shards(3)
    selectors = [ShardSelector.parse(t) for t in texts]
    watches: list[_Watch] = []
    for text in texts:
        params = {"watch": "true", "shardSelector": text, "timeoutSeconds": "30"}
        if watch_list:
            params |= {
                "sendInitialEvents": "true",
                "resourceVersionMatch": "NotOlderThan",
                "allowWatchBookmarks": "true",
            }
        else:
            params["resourceVersion"] = "0"
        response = await session.get(f"{url}/api/v1/pods", params=params)
        assert response.status == 200
        watches.append(_Watch(response))
    try:
        if watch_list:
            for watch in watches:  # the initial events end with the marked bookmark
                await watch.until(
                    lambda w=watch: any(
                        e["type"] == "BOOKMARK"
                        and e["object"]["metadata"]
                        .get("annotations", {})
                        .get("k8s.io/initial-events-end")
                        == "true"
                        for e in w.events
                    )
                )
        else:
            await _until_total(watches, 40)
        for i in range(15):
            _create(sim, NAMESPACES[i % len(NAMESPACES)], f"new{i:02}")
        for i in range(0, 40, 4):
            sim.verbs.delete(
                PODS,
                NAMESPACES[i % len(NAMESPACES)],
                f"p{i:02}",
                DeleteOptions(grace_period_seconds=0),
            )
        await _until_total(watches, 40 + 15 + 10)
        union: list[tuple[str, str]] = []
        for watch, selector in zip(watches, selectors, strict=True):
            for event in watch.events:
                if event["type"] == "BOOKMARK":
                    continue
                meta = event["object"]["metadata"]
                assert selector.matches(meta["uid"], meta["namespace"]), event["type"]
            union += watch.changes()
        expected = (
            [("ADDED", f"{NAMESPACES[i % 5]}/p{i:02}") for i in range(40)]
            + [("ADDED", f"{NAMESPACES[i % 5]}/new{i:02}") for i in range(15)]
            + [("DELETED", f"{NAMESPACES[i % 5]}/p{i:02}") for i in range(0, 40, 4)]
        )
        assert sorted(union) == sorted(expected)
    finally:
        for watch in watches:
            watch.response.close()


async def _until_total(watches: list[_Watch], total: int) -> None:
    """Read the watches in turn until together they hold ``total`` changes."""

    async def more(watch: _Watch) -> None:
        line = await watch.response.content.readline()
        assert line, "the watch ended early"
        watch.events.append(json.loads(line))

    pending = {asyncio.ensure_future(more(w)): w for w in watches}
    try:
        async with asyncio.timeout(WAIT):
            while sum(len(w.changes()) for w in watches) < total:
                done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    watch = pending.pop(task)
                    task.result()
                    pending[asyncio.ensure_future(more(watch))] = watch
    finally:
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


@pytest.mark.parametrize("watch", [False, True], ids=["list", "watch"])
async def test_a_malformed_shard_selector_is_a_400_status(
    proxy: tuple[Simulator, str, aiohttp.ClientSession], watch: bool
) -> None:
    _, url, session = proxy
    params = {"shardSelector": "shardRange(object.metadata.uid, '0x0', '0x1')"}
    if watch:
        params["watch"] = "true"
    async with session.get(f"{url}/api/v1/pods", params=params) as response:
        assert response.status == 400
        status = await response.json()
    assert status["kind"] == "Status"
    assert (status["code"], status["reason"]) == (400, "BadRequest")
    assert status["message"].startswith("invalid shard selector: hexStart must be")
