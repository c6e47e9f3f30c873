"""The embedded default: the simulator serving a small, living cluster.

Glossary:
    workload   a few nodes and pods that change over time, through the same
               verbs a client would use: a pod is created unscheduled,
               bound to a node, marked Running, and later deleted
               gracefully and then finally (the kubelet's part), so a
               ``kubectl get pods -w`` sees ADDED, MODIFIED and DELETED.
    step       one change, chosen by a seeded RNG; sync, like every write.

Invariant: the workload keeps between ``min_pods`` and ``max_pods`` pods,
so it neither empties nor grows without bound.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from watchcache.api.resources import GroupVersionResource, ResourceInfo, builtin_resource
from watchcache.simulator.admission import timestamp
from watchcache.simulator.app import Simulator
from watchcache.simulator.verbs import DeleteOptions

__all__ = ["DemoWorkload", "instructions", "run_demo"]


def _builtin(resource: str) -> ResourceInfo:
    info = builtin_resource(GroupVersionResource("", "v1", resource))
    assert info is not None
    return info


PODS = _builtin("pods")
NODES = _builtin("nodes")


@dataclass
class DemoWorkload:
    sim: Simulator
    nodes: int = 3
    min_pods: int = 4
    max_pods: int = 12
    seed: int | None = None

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        now = timestamp(self.sim.verbs.clock())
        for index in range(1, self.nodes + 1):
            self.sim.verbs.create(NODES, "", _node(f"node-{index}", index, now))
        for _ in range(self.min_pods):
            self._create_pod()

    def _pods(self) -> list[dict[str, Any]]:
        coll = self.sim.store.collection(PODS)
        return [self.sim.verbs.full(PODS, entry) for entry in coll.items.values()]

    def step(self) -> str:
        """Make one change; returns what it did, for logs and tests."""
        pods = self._pods()
        unbound = [p for p in pods if not p["spec"].get("nodeName")]
        if unbound:
            return self._bind(unbound[0])
        pending = [p for p in pods if p["status"].get("phase") == "Pending"]
        if pending:
            return self._run(pending[0])
        dying = [p for p in pods if p["metadata"].get("deletionTimestamp")]
        if dying:
            return self._finish(dying[0])
        if len(pods) < self.max_pods and (len(pods) <= self.min_pods or self.rng.random() < 0.5):
            return self._create_pod()
        return self._delete(self.rng.choice(pods))

    def _create_pod(self) -> str:
        body = {
            "metadata": {
                "generateName": "demo-",
                "namespace": "default",
                "labels": {"app": "demo"},
            },
            "spec": {"containers": [{"name": "app", "image": "registry.k8s.io/pause:3.9"}]},
        }
        entry = self.sim.verbs.create(PODS, "default", body)
        return f"created pod {entry.name}"

    def _bind(self, pod: dict[str, Any]) -> str:
        node = f"node-{self.rng.randint(1, self.nodes)}"
        name = pod["metadata"]["name"]
        self.sim.verbs.bind(PODS, "default", name, {"target": {"name": node}})
        return f"bound pod {name} to {node}"

    def _run(self, pod: dict[str, Any]) -> str:
        name = pod["metadata"]["name"]
        pod["status"]["phase"] = "Running"
        pod["status"]["podIP"] = f"10.0.0.{self.rng.randint(2, 250)}"
        started = timestamp(self.sim.verbs.clock())
        # What a kubelet reports: the official Python client refuses a
        # container status without imageID (a required field of the API).
        pod["status"]["containerStatuses"] = [
            {
                "name": c["name"],
                "image": c["image"],
                "imageID": "",
                "ready": True,
                "restartCount": 0,
                "started": True,
                "state": {"running": {"startedAt": started}},
            }
            for c in pod["spec"]["containers"]
        ]
        # The conditions kubectl wait and controllers read: scheduled when
        # bound (the demo binds a pod as soon as it is created), the rest
        # true from the moment its containers started.
        scheduled = pod["metadata"]["creationTimestamp"]
        pod["status"]["conditions"] = [
            _condition("Initialized", started),
            _condition("Ready", started),
            _condition("ContainersReady", started),
            _condition("PodScheduled", scheduled),
        ]
        pod["status"]["startTime"] = started
        self.sim.verbs.update(PODS, "default", name, pod, "status")
        return f"pod {name} is Running"

    def _delete(self, pod: dict[str, Any]) -> str:
        name = pod["metadata"]["name"]
        self.sim.verbs.delete(PODS, "default", name, DeleteOptions())
        return f"deleting pod {name}"

    def _finish(self, pod: dict[str, Any]) -> str:
        name = pod["metadata"]["name"]
        self.sim.verbs.delete(PODS, "default", name, DeleteOptions(grace_period_seconds=0))
        return f"deleted pod {name}"


def _condition(kind: str, since: str) -> dict[str, Any]:
    return {"type": kind, "status": "True", "lastProbeTime": None, "lastTransitionTime": since}


def _node(name: str, index: int, now: str) -> dict[str, Any]:
    """A node as a kubelet reports it, with every field the API marks
    required, so typed clients (the official one, kubernetes_asyncio)
    decode it."""
    ip = f"10.0.1.{index}"
    resources = {"cpu": "4", "memory": "16Gi", "pods": "110", "ephemeral-storage": "100Gi"}
    machine = f"{index:032x}"
    return {
        "metadata": {
            "name": name,
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
            },
        },
        "spec": {"podCIDR": f"10.244.{index}.0/24"},
        "status": {
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "lastHeartbeatTime": now,
                    "lastTransitionTime": now,
                    "reason": "KubeletReady",
                    "message": "kubelet is posting ready status",
                }
            ],
            "addresses": [
                {"type": "InternalIP", "address": ip},
                {"type": "Hostname", "address": name},
            ],
            "capacity": resources,
            "allocatable": resources,
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "machineID": machine,
                "systemUUID": f"{machine[:8]}-{machine[8:12]}-{machine[12:16]}-{machine[16:20]}-{machine[20:]}",
                "bootID": f"boot-{machine[-12:]}",
                "kernelVersion": "6.1.0-sim",
                "osImage": "watchcache simulator",
                "containerRuntimeVersion": "sim://1.0.0",
                "kubeletVersion": "v1.34.0-sim",
                "kubeProxyVersion": "v1.34.0-sim",
                "operatingSystem": "linux",
                "architecture": "amd64",
            },
        },
    }


def instructions(url: str) -> str:
    return "\n".join(
        [
            f"watchcache simulator serving a demo cluster at {url}",
            "Point kubectl at it:",
            f"  kubectl --server {url} get nodes",
            f"  kubectl --server {url} get pods -w",
            "Any bearer token is accepted. Ctrl-C stops it.",
        ]
    )


async def run_demo(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    interval: float = 2.0,
    seed: int | None = None,
    report: Callable[[str], None] = print,
) -> None:
    """Serve the simulator with a demo workload until cancelled."""
    sim = Simulator()
    url = await sim.start(host, port)
    try:
        workload = DemoWorkload(sim, seed=seed)
        report(instructions(url))
        while True:
            await asyncio.sleep(interval)
            workload.step()
    finally:
        await sim.stop()
