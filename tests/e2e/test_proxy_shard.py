"""shardSelector (KEP-5866) through the proxy in front of kube-apiserver
1.20, which ignores the parameter: the proxy's answer is the only filter,
and N shards' lists and watches together are the whole, with no overlap."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from tests.inprocess import serve_config, wait_until_ready

from watchcache.api.shardselector import ShardSelector, even_shards
from watchcache.devcluster import DevCluster
from watchcache.proxy.serve import open_proxy
from watchcache.upstream import load_kubeconfig

WAIT = 30.0
BAD = "shardRange(object.metadata.uid, '0x0', '0x1')"


@pytest.fixture
async def proxy(dev_cluster: DevCluster) -> AsyncIterator[str]:
    config = serve_config("--resources", "configmaps")
    async with open_proxy(config, load_kubeconfig(dev_cluster.kubeconfig)) as running:
        async with aiohttp.ClientSession() as session:
            await wait_until_ready(session, running.urls[0])
        yield running.urls[0]


def _make(dev_cluster: DevCluster, namespace: str, name: str) -> None:
    code, body = dev_cluster.request(
        "POST",
        f"/api/v1/namespaces/{namespace}/configmaps",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}},
    )
    assert code == 201, body


async def _list(
    session: aiohttp.ClientSession, url: str, params: dict[str, str]
) -> tuple[list[dict[str, Any]], str]:
    items: list[dict[str, Any]] = []
    query = dict(params)
    while True:
        async with session.get(url, params=query) as response:
            assert response.status == 200, await response.text()
            body = await response.json()
        items += body["items"]
        token = body["metadata"].get("continue")
        if not token:
            return items, body["metadata"]["resourceVersion"]
        query = {**params, "continue": token}


async def test_shards_union_to_the_whole_on_a_server_that_ignores_them(
    dev_cluster: DevCluster, proxy: str, namespace: str
) -> None:
    for i in range(24):
        _make(dev_cluster, namespace, f"c{i:02}")
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    texts = even_shards(3)
    selectors = [ShardSelector.parse(t) for t in texts]
    # kube-apiserver 1.20 ignores the parameter, malformed or not.
    code, direct = dev_cluster.request("GET", f"{path}?shardSelector=x")
    assert code == 200
    whole = sorted(item["metadata"]["name"] for item in direct["items"])
    assert len(whole) == 25  # ours and kube-root-ca.crt
    async with aiohttp.ClientSession() as session:
        owner: dict[str, int] = {}
        rv = ""
        for index, (text, selector) in enumerate(zip(texts, selectors, strict=True)):
            items, rv = await _list(session, proxy + path, {"shardSelector": text, "limit": "5"})
            for item in items:
                meta = item["metadata"]
                assert selector.matches(meta["uid"], meta["namespace"])
                assert meta["name"] not in owner, (meta["name"], owner[meta["name"]], index)
                owner[meta["name"]] = index
        assert sorted(owner) == whole

        watches = []
        for text in texts:
            params = {"watch": "true", "shardSelector": text, "resourceVersion": rv}
            watches.append(await session.get(proxy + path, params=params))
        try:
            for i in range(24, 30):
                _make(dev_cluster, namespace, f"c{i:02}")
            for i in range(0, 24, 6):
                code, _ = dev_cluster.request("DELETE", f"{path}/c{i:02}")
                assert code == 200
            heard: list[list[tuple[str, str]]] = [[] for _ in watches]
            await _read_until(watches, heard, selectors, total=6 + 4)
            union = sorted(change for changes in heard for change in changes)
            expected = [("ADDED", f"c{i:02}") for i in range(24, 30)]
            expected += [("DELETED", f"c{i:02}") for i in range(0, 24, 6)]
            assert union == sorted(expected)
        finally:
            for watch in watches:
                watch.close()

        async with session.get(proxy + path, params={"shardSelector": BAD}) as response:
            assert response.status == 400
            status = await response.json()
        assert (status["kind"], status["reason"]) == ("Status", "BadRequest")
        assert status["message"].startswith("invalid shard selector: ")
        # Not cached: forwarded unchanged, so 1.20 answers (ignoring it).
        secrets = f"/api/v1/namespaces/{namespace}/secrets"
        async with session.get(proxy + secrets, params={"shardSelector": BAD}) as response:
            assert response.status == 200


async def test_a_forwarded_sharded_list_holds_only_the_share(
    dev_cluster: DevCluster, proxy: str, namespace: str
) -> None:
    """A write to another resource moves upstream's RV past the configmaps
    cache, which no configmap event will reach: a consistent LIST is
    forwarded (the probe finds the cache behind), and so are its continue
    pages (their RV is newer than the cache). Each shard's answer is still
    only its share, paged or not, and the shards together the whole."""
    for i in range(12):
        _make(dev_cluster, namespace, f"c{i:02}")
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    code, direct = dev_cluster.request("GET", path)
    assert code == 200
    whole = sorted(item["metadata"]["name"] for item in direct["items"])
    assert len(whole) == 13  # ours and kube-root-ca.crt
    texts = even_shards(3)
    async with aiohttp.ClientSession() as session:
        for params in ({}, {"limit": "5"}):
            secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"generateName": "s-"}}
            code, body = dev_cluster.request(
                "POST", f"/api/v1/namespaces/{namespace}/secrets", secret
            )
            assert code == 201, body
            owner: dict[str, int] = {}
            for index, text in enumerate(texts):
                selector = ShardSelector.parse(text)
                items, _ = await _list(session, proxy + path, {"shardSelector": text, **params})
                for item in items:
                    meta = item["metadata"]
                    assert selector.matches(meta["uid"], meta["namespace"]), (meta["name"], index)
                    assert meta["name"] not in owner, (meta["name"], owner[meta["name"]], index)
                    owner[meta["name"]] = index
            assert sorted(owner) == whole, params
        async with session.get(proxy + "/metrics") as response:
            metrics = await response.text()
    forwarded = [
        line
        for line in metrics.splitlines()
        if line.startswith("watchcache_requests_total{")
        and 'verb="list"' in line
        and 'resource="configmaps"' in line
        and 'served_by="upstream"' in line
    ]
    assert forwarded, "no LIST of configmaps was forwarded: the test proves nothing"


async def _read_until(
    watches: list[aiohttp.ClientResponse],
    heard: list[list[tuple[str, str]]],
    selectors: list[ShardSelector],
    total: int,
) -> None:
    """Read every watch until together they heard ``total`` changes, each
    checked against its shard."""

    async def next_line(index: int) -> int:
        line = await watches[index].content.readline()
        assert line, "the watch ended early"
        event = json.loads(line)
        if event["type"] != "BOOKMARK":
            meta = event["object"]["metadata"]
            assert selectors[index].matches(meta["uid"], meta["namespace"])
            heard[index].append((event["type"], meta["name"]))
        return index

    pending = {asyncio.ensure_future(next_line(i)) for i in range(len(watches))}
    try:
        async with asyncio.timeout(WAIT):
            while sum(map(len, heard)) < total:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    pending.add(asyncio.ensure_future(next_line(task.result())))
    finally:
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
