"""Informers against the real kube-apiserver 1.20 and through
`watchcache serve`: a relist forced by compaction reporting what the watch
missed, a metadata-only informer, surviving an apiserver restart, and the
example controller run end to end with leader election."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from tests.e2e.conftest import UNCACHED_RESOURCE
from tests.e2e.serving import running_serve

from watchcache.devcluster import DevCluster
from watchcache.informer import Informer, KubeObject
from watchcache.informer.sharding import even_shards
from watchcache.upstream import UpstreamClient, UpstreamConfig, load_kubeconfig

ZONE = "topology.kubernetes.io/zone"
EXAMPLE = Path(__file__).parents[2] / "examples" / "zone_labeler.py"


@pytest.fixture
async def client(dev_cluster: DevCluster) -> AsyncIterator[UpstreamClient]:
    async with UpstreamClient(load_kubeconfig(dev_cluster.kubeconfig)) as upstream:
        yield upstream


class Views:
    """Handler callbacks keeping key -> object, and a wake-up on each."""

    def __init__(self) -> None:
        self.objects: dict[str, KubeObject] = {}
        self.log: list[tuple[str, str, bool]] = []
        self.changed = asyncio.Event()

    def on_add(self, obj: KubeObject) -> None:
        self._record("add", obj)
        self.objects[obj.name] = obj

    def on_update(self, old: KubeObject, new: KubeObject) -> None:
        self._record("update", new)
        self.objects[new.name] = new

    def on_delete(self, obj: KubeObject) -> None:
        self._record("delete", obj)
        self.objects.pop(obj.name, None)

    def _record(self, what: str, obj: KubeObject) -> None:
        self.log.append((what, obj.name, obj.final_state_unknown))
        self.changed.set()

    def callbacks(self) -> dict[str, Any]:
        return {"on_add": self.on_add, "on_update": self.on_update, "on_delete": self.on_delete}

    async def until(self, condition: Callable[[], bool], timeout: float = 30.0) -> None:
        async with asyncio.timeout(timeout):
            while not condition():
                self.changed.clear()
                await self.changed.wait()


def create(cluster: DevCluster, path: str, body: dict[str, Any]) -> dict[str, Any]:
    code, reply = cluster.request("POST", path, body)
    assert code == 201, reply
    result: dict[str, Any] = reply
    return result


def configmap(name: str, **labels: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels}}


def podtemplate(name: str, image: str = "x") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PodTemplate",
        "metadata": {"name": name},
        "template": {"spec": {"containers": [{"name": "c", "image": image}]}},
    }


async def test_a_relist_forced_by_compaction_reports_what_the_watch_missed(
    dev_cluster: DevCluster, client: UpstreamClient, namespace: str
) -> None:
    """Podtemplates bypass kube-apiserver's watch cache (conftest), so after
    an etcd compaction a watch resumed from an older RV gets a real 410."""
    base = f"/api/v1/namespaces/{namespace}/{UNCACHED_RESOURCE}"
    for name in ("keep", "doomed", "edited"):
        create(dev_cluster, base, podtemplate(name))
    views = Views()
    informer = Informer(client, UNCACHED_RESOURCE, namespace=namespace)
    handle = informer.add_handler(**views.callbacks())
    async with informer:
        assert await informer.wait_for_sync(30)
        assert await handle.wait_for_sync(30)
        assert sorted(views.objects) == ["doomed", "edited", "keep"]
    # While no watch is open: a delete, an update, a create, then compaction.
    dev_cluster.request("DELETE", f"{base}/doomed")
    code, _ = dev_cluster.request("PUT", f"{base}/edited", podtemplate("edited", "y"))
    assert code == 200
    created = create(dev_cluster, base, podtemplate("born"))
    dev_cluster.compact()
    async with informer:
        await views.until(lambda: "born" in views.objects and "doomed" not in views.objects)
        await asyncio.wait_for(
            informer.wait_for_resource_version(int(created["metadata"]["resourceVersion"])), 30
        )
        await asyncio.wait_for(handle.wait_idle(), 30)
        stats = informer.statistics()
        assert stats is not None and stats.relists_after_410 == 1
    assert sorted(views.log[3:]) == [
        ("add", "born", False),
        ("delete", "doomed", True),  # found gone by the relist
        ("update", "edited", False),
    ]
    edited = informer.lister.get(namespace, "edited")
    assert edited is not None
    assert edited.to_dict()["template"]["spec"]["containers"][0]["image"] == "y"
    assert b'watchcache_informer_relists_total{resource="podtemplates in ' in (
        informer.metrics.exposition()
    )


async def test_a_metadata_only_informer(
    dev_cluster: DevCluster, client: UpstreamClient, namespace: str
) -> None:
    base = f"/api/v1/namespaces/{namespace}/configmaps"
    body = configmap("big", app="web")
    body["data"] = {"payload": "x" * 10_000}
    create(dev_cluster, base, body)
    views = Views()
    informer = Informer(client, "configmaps", namespace=namespace, metadata_only=True)
    informer.add_handler(**views.callbacks())
    async with informer:
        assert await informer.wait_for_sync(30)
        await views.until(lambda: "big" in views.objects)
        big = views.objects["big"]
        assert big.kind == "PartialObjectMetadata" and big.api_version == "meta.k8s.io/v1"
        assert big.labels == {"app": "web"} and "data" not in big.to_dict()
        assert len(big.raw) < 2_000  # the payload never crossed the wire
        code, _ = dev_cluster.request(
            "PATCH",
            f"{base}/big",
            {"metadata": {"labels": {"app": "shop"}}},
            content_type="application/merge-patch+json",
        )
        assert code == 200
        await views.until(lambda: views.objects["big"].labels.get("app") == "shop")
        assert [o.name for o in informer.lister.list(label_selector="app=shop")] == ["big"]


async def test_an_informer_through_watchcache_serve(
    dev_cluster: DevCluster, namespace: str, tmp_path: Path
) -> None:
    base = f"/api/v1/namespaces/{namespace}/configmaps"
    create(dev_cluster, base, configmap("a", app="web"))
    args = ["--kubeconfig", str(dev_cluster.kubeconfig), "--resources", "configmaps"]
    with running_serve(tmp_path / "serve.log", *args) as url:
        async with UpstreamClient(UpstreamConfig(url)) as proxy:
            views = Views()
            informer = Informer(proxy, "configmaps", namespace=namespace, label_selector="app=web")
            informer.add_handler(**views.callbacks())
            async with informer:
                assert await informer.wait_for_sync(30)
                await views.until(lambda: "a" in views.objects)
                create(dev_cluster, base, configmap("b", app="web"))
                create(dev_cluster, base, configmap("other", app="db"))
                dev_cluster.request("DELETE", f"{base}/a")
                await views.until(lambda: sorted(views.objects) == ["b"])
            assert [n for _, n, _ in views.log] == ["a", "b", "a"]
            # Stopped, then resumed from its RV through the proxy's history.
            create(dev_cluster, base, configmap("c", app="web"))
            async with informer:
                await views.until(lambda: sorted(views.objects) == ["b", "c"])
                stats = informer.statistics()
                assert stats is not None and stats.lists + stats.watch_lists == 0


def _example(
    cluster: DevCluster, namespace: str, identity: str, log: Path
) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen(
            [
                sys.executable,
                str(EXAMPLE),
                "--kubeconfig",
                str(cluster.kubeconfig),
                "--namespace",
                namespace,
                "--lease-namespace",
                namespace,
                "--identity",
                identity,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )


async def test_the_example_controller_end_to_end(
    dev_cluster: DevCluster, client: UpstreamClient, namespace: str, tmp_path: Path
) -> None:
    node_name = f"{namespace}-node"
    node = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": node_name, "labels": {ZONE: "zone-a"}},
    }
    create(dev_cluster, "/api/v1/nodes", node)
    pods = f"/api/v1/namespaces/{namespace}/pods"
    spec = {"nodeName": node_name, "containers": [{"name": "c", "image": "busybox"}]}
    for name in ("p1", "p2"):
        create(
            dev_cluster,
            pods,
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec},
        )
    views = Views()
    informer = Informer(client, "pods", namespace=namespace)
    informer.add_handler(**views.callbacks())
    first = _example(dev_cluster, namespace, "first", tmp_path / "first.log")
    second: subprocess.Popen[bytes] | None = None
    try:
        async with informer:

            def zones() -> dict[str, str | None]:
                return {name: obj.labels.get(ZONE) for name, obj in views.objects.items()}

            await views.until(lambda: zones() == {"p1": "zone-a", "p2": "zone-a"}, timeout=60)
            second = _example(dev_cluster, namespace, "second", tmp_path / "second.log")
            code, lease = dev_cluster.request(
                "GET", f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/zone-labeler"
            )
            assert code == 200 and lease["spec"]["holderIdentity"] == "first"
            # The leader stops cleanly: it releases the lease, the other takes over.
            first.send_signal(signal.SIGTERM)
            assert first.wait(30) == 0, (tmp_path / "first.log").read_text()[-2000:]
            node["metadata"]["labels"][ZONE] = "zone-b"
            code, reply = dev_cluster.request("PUT", f"/api/v1/nodes/{node_name}", node)
            assert code == 200, reply
            await views.until(lambda: zones() == {"p1": "zone-b", "p2": "zone-b"}, timeout=60)
            code, lease = dev_cluster.request(
                "GET", f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/zone-labeler"
            )
            assert lease["spec"]["holderIdentity"] == "second"
            assert lease["spec"]["leaseTransitions"] == 1
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(30)
        dev_cluster.request("DELETE", f"/api/v1/nodes/{node_name}")


async def test_sharded_informers_split_a_namespace_on_kube_apiserver_1_20(
    dev_cluster: DevCluster, client: UpstreamClient, namespace: str
) -> None:
    """1.20 ignores shardSelector: the informers keep their share themselves."""
    base = f"/api/v1/namespaces/{namespace}/configmaps"
    for i in range(12):
        create(dev_cluster, base, configmap(f"m{i}"))
    shards = [Informer(client, "configmaps", namespace=namespace, shard=s) for s in even_shards(2)]
    for informer in shards:
        informer.start()
    try:
        for informer in shards:
            assert await informer.wait_for_sync(30)
        created = create(dev_cluster, base, configmap("late"))
        rv = int(created["metadata"]["resourceVersion"])
        async with asyncio.timeout(30):
            for informer in shards:
                await informer.wait_for_resource_version(rv)
        held = [{o.name for o in informer.lister.list()} for informer in shards]
        code, body = dev_cluster.request("GET", base)
        assert code == 200
        whole = {item["metadata"]["name"] for item in body["items"]}
        assert held[0] | held[1] == whole and not held[0] & held[1]
        assert held[0] and held[1]
    finally:
        for informer in shards:
            await informer.stop()


async def test_an_informer_survives_an_apiserver_restart(
    dev_cluster: DevCluster, client: UpstreamClient, namespace: str
) -> None:
    base = f"/api/v1/namespaces/{namespace}/configmaps"
    create(dev_cluster, base, configmap("before"))
    views = Views()
    informer = Informer(client, "configmaps", namespace=namespace)
    informer.add_handler(**views.callbacks())
    async with informer:
        assert await informer.wait_for_sync(30)
        await views.until(lambda: "before" in views.objects)
        # On this thread, blocking the loop meanwhile: a worker thread's exit
        # would kill the new kube-apiserver (see restart_apiserver).
        dev_cluster.restart_apiserver()
        create(dev_cluster, base, configmap("after"))
        dev_cluster.request("DELETE", f"{base}/before")
        await views.until(
            lambda: sorted(views.objects) == ["after", "kube-root-ca.crt"], timeout=90
        )
        stats = informer.statistics()
        assert stats is not None and stats.errors + stats.watches >= 2  # it reconnected
