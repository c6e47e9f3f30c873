"""examples/zone_labeler.py against the simulator: pods get their node's
zone, follow a zone change, and lose the label on a node without one."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from tests.unit.informer.fakes import PODS

from watchcache.api.resources import GroupVersionResource, builtin_resource
from watchcache.informer import KubeObject, SharedInformerFactory
from watchcache.simulator import Simulator
from watchcache.upstream import UpstreamClient

NODES = builtin_resource(GroupVersionResource("", "v1", "nodes"))
assert NODES is not None and PODS is not None
ZONE = "topology.kubernetes.io/zone"


def example() -> ModuleType:
    path = Path(__file__).parents[3] / "examples" / "zone_labeler.py"
    spec = importlib.util.spec_from_file_location("zone_labeler", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["zone_labeler"] = module
    spec.loader.exec_module(module)
    return module


def node(name: str, zone: str | None) -> dict[str, Any]:
    labels = {ZONE: zone} if zone else {}
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels}}


def pod(name: str, node_name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"nodeName": node_name, "containers": [{"name": "c", "image": "busybox"}]},
    }


async def test_pods_follow_their_nodes_zone(sim: Simulator, client: UpstreamClient) -> None:
    zone_labeler = example()
    sim.verbs.create(NODES, "", node("n1", "zone-a"))
    sim.verbs.create(NODES, "", node("n2", None))
    sim.verbs.create(PODS, "default", pod("p1", "n1"))
    sim.verbs.create(PODS, "default", pod("p2", "n2"))

    zones: dict[str, str | None] = {}
    changed = asyncio.Event()

    def seen(obj: KubeObject) -> None:
        zones[obj.name] = obj.labels.get(ZONE)
        changed.set()

    async def until(want: dict[str, str | None]) -> None:
        async with asyncio.timeout(10):
            while {k: zones.get(k) for k in want} != want:
                changed.clear()
                await changed.wait()

    async with SharedInformerFactory(client) as factory:
        labeler = zone_labeler.ZoneLabeler(client, factory, "default")
        watcher = factory.informer("pods", namespace="default")
        assert watcher is labeler.pods  # the test shares the controller's watch
        watcher.add_handler(on_add=seen, on_update=lambda old, new: seen(new))
        assert await factory.wait_for_sync(10)
        workers = asyncio.create_task(labeler.work())
        await until({"p1": "zone-a", "p2": None})
        sim.verbs.create(PODS, "default", pod("p3", "n1"))
        await until({"p3": "zone-a"})
        sim.verbs.update(NODES, "", "n1", node("n1", "zone-b"))
        await until({"p1": "zone-b", "p3": "zone-b"})
        sim.verbs.update(NODES, "", "n1", node("n1", None))
        await until({"p1": None, "p3": None})
        await labeler.queue.shutdown()
        await asyncio.wait_for(workers, 5)
    assert labeler.patches == 6  # p1 and p3, three times each
