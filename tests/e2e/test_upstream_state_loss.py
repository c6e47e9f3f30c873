"""A control plane restarted with an empty etcd (issue 14, item 4): its
resourceVersions fall from hundreds to a few, and a watch resumed from the
old RV hears nothing at all from kube-apiserver 1.20 (a future RV: no
events, no bookmarks). The proxy must notice, take the new state, keep
following it, and send its watchers 410.

A cluster of its own: the session's must keep its data."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from tests.inprocess import serve_config, wait_until_ready

from watchcache.devcluster import ClusterConfig, DevCluster, find_binaries
from watchcache.proxy.serve import open_proxy
from watchcache.upstream import load_kubeconfig


@pytest.fixture
def lonely_cluster(tmp_path: Path) -> Iterator[DevCluster]:
    cluster = DevCluster(ClusterConfig(workdir=tmp_path, tie_to_parent=True), find_binaries())
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


def _namespace_and_configmaps(cluster: DevCluster, namespace: str, names: list[str]) -> None:
    code, body = cluster.request(
        "POST",
        "/api/v1/namespaces",
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
    )
    assert code in (201, 409), body
    for name in names:
        code, body = cluster.request(
            "POST",
            f"/api/v1/namespaces/{namespace}/configmaps",
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}},
        )
        assert code == 201, body


async def test_an_emptied_control_plane_ends_watchers_with_410_and_the_cache_follows_the_new_state(
    lonely_cluster: DevCluster,
) -> None:
    _namespace_and_configmaps(lonely_cluster, "before", [f"old{i}" for i in range(50)])
    config = serve_config("--resources", "configmaps")
    async with (
        open_proxy(config, load_kubeconfig(lonely_cluster.kubeconfig)) as proxy,
        aiohttp.ClientSession() as http,
    ):
        base = proxy.urls[0]
        await wait_until_ready(http, base, timeout=30)
        async with http.get(base + "/api/v1/configmaps") as r:
            listed = await r.json()
        old_rv = int(listed["metadata"]["resourceVersion"])
        assert sum(i["metadata"]["name"].startswith("old") for i in listed["items"]) == 50
        async with http.get(
            base + "/api/v1/configmaps", params={"watch": "1", "resourceVersion": str(old_rv)}
        ) as watch:
            lonely_cluster.restart_empty()
            _namespace_and_configmaps(lonely_cluster, "after", ["new0"])
            assert lonely_cluster.etcd_revision() < old_rv
            async with http.get(base + "/api/v1/configmaps") as r:
                items = (await r.json())["items"]
            names = {i["metadata"]["name"] for i in items}
            assert "new0" in names and not any(n.startswith("old") for n in names)
            event = json.loads(await asyncio.wait_for(watch.content.readline(), 30))
            assert event["type"] == "ERROR", event
            assert (event["object"]["code"], event["object"]["reason"]) == (410, "Expired")
        # The cache holds the new state and follows it (an RV=0 LIST is
        # served from the cache).
        _namespace_and_configmaps(lonely_cluster, "after", ["new1"])
        async with asyncio.timeout(30):
            while True:
                async with http.get(
                    base + "/api/v1/configmaps", params={"resourceVersion": "0"}
                ) as r:
                    cached = {i["metadata"]["name"] for i in (await r.json())["items"]}
                if "new1" in cached:
                    break
                await asyncio.sleep(0.1)
        assert "new0" in cached and not any(n.startswith("old") for n in cached)
