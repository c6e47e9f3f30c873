"""The reflector mirroring the real kube-apiserver 1.20: pages, live
changes, and a real 410 from its watch cache followed by a relist."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from tests.polling import until

from watchcache.api.resources import GroupVersionResource, builtin_resource, resource_info
from watchcache.cache.cache import Cache
from watchcache.cache.event import Event
from watchcache.cache.reflector import Reflector, ReflectorConfig
from watchcache.devcluster import DevCluster
from watchcache.upstream import UpstreamClient, load_kubeconfig

CONFIGMAPS = builtin_resource(GroupVersionResource("", "v1", "configmaps"))
PODTEMPLATES = resource_info(GroupVersionResource("", "v1", "podtemplates"), "PodTemplate")


@pytest.fixture
async def client(dev_cluster: DevCluster) -> AsyncIterator[UpstreamClient]:
    async with UpstreamClient(load_kubeconfig(dev_cluster.kubeconfig)) as upstream:
        yield upstream


async def upstream_state(client: UpstreamClient, path: str) -> dict[str, str]:
    body = (await client.get(path)).json()
    return {i["metadata"]["name"]: i["metadata"]["resourceVersion"] for i in body["items"]}


def cache_state(cache: Cache) -> dict[str, str]:
    return {e.name: str(e.rv) for e in cache.list().items}


async def test_mirrors_and_relists_after_the_apiservers_410(
    dev_cluster: DevCluster, client: UpstreamClient, namespace: str
) -> None:
    base = f"/api/v1/namespaces/{namespace}/configmaps"
    for i in range(5):
        dev_cluster.request(
            "POST", base, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"m{i}"}}
        )
    cache = Cache(CONFIGMAPS)  # type: ignore[arg-type]
    events: list[Event] = []
    relists: list[int] = []

    async def record(event: Event) -> None:
        events.append(event)

    def reflector() -> Reflector:
        return Reflector(
            client,
            base,
            cache,
            config=ReflectorConfig(page_size=2),
            on_event=record,
            on_relist=lambda: relists.append(cache.rv),
        )

    first = reflector()
    task = asyncio.create_task(first.run())
    await asyncio.wait_for(first.synced.wait(), 20)
    # 6 with kube-root-ca.crt, in 3 pages: 1.20 refuses WatchList
    # (resourceVersionMatch on a watch), so the reflector lists instead.
    assert cache_state(cache) == await upstream_state(client, base)
    assert (first.statistics().watch_lists, first.statistics().lists) == (0, 1)

    dev_cluster.request(
        "PUT",
        f"{base}/m1",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "m1"}, "data": {"x": "1"}},
    )
    dev_cluster.request("DELETE", f"{base}/m2")
    await until(
        lambda: [(e.type, e.name) for e in events] == [("MODIFIED", "m1"), ("DELETED", "m2")],
        "the change and the delete",
        timeout=20,
    )
    first.stop()
    await asyncio.wait_for(task, 10)

    second = reflector()
    task = asyncio.create_task(second.run())
    try:
        # A restarted reflector resumes from its cache's RV without a list.
        dev_cluster.request("DELETE", f"{base}/m3")
        await until(lambda: "m3" not in cache_state(cache), "the delete of m3", timeout=20)
        assert second.statistics().lists == 0
    finally:
        second.stop()
        await asyncio.wait_for(task, 10)


async def test_relists_after_a_real_watch_410(
    dev_cluster: DevCluster, client: UpstreamClient, namespace: str
) -> None:
    """Podtemplates bypass the watch cache (conftest), so after an etcd
    compaction kube-apiserver answers the resumed watch with 410."""
    base = f"/api/v1/namespaces/{namespace}/podtemplates"
    template = {"template": {"spec": {"containers": [{"name": "c", "image": "x"}]}}}

    def create(name: str) -> None:
        code, body = dev_cluster.request(
            "POST",
            base,
            {"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": name}, **template},
        )
        assert code == 201, body

    create("t0")
    cache = Cache(PODTEMPLATES)  # type: ignore[arg-type]
    relists: list[int] = []
    first = Reflector(client, base, cache)
    task = asyncio.create_task(first.run())
    await asyncio.wait_for(first.synced.wait(), 20)
    first.stop()
    await asyncio.wait_for(task, 10)
    stale_rv = cache.rv
    for i in range(1, 4):
        create(f"t{i}")
    dev_cluster.compact()

    second = Reflector(client, base, cache, on_relist=lambda: relists.append(cache.rv))
    task = asyncio.create_task(second.run())
    try:
        await until(lambda: len(relists) == 1, "the relist", timeout=20)
        assert second.statistics().relists_after_410 == 1
        assert relists[0] > stale_rv
        assert cache_state(cache) == await upstream_state(client, base)
        assert sorted(cache_state(cache)) == ["t0", "t1", "t2", "t3"]
    finally:
        second.stop()
        await asyncio.wait_for(task, 10)
