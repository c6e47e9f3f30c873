"""Manifests the simulator writes, shaped like a kubelet's and kwok's.

``SENT_AT`` is the annotation a writer sets to ``time.time_ns()`` just
before sending; watchers subtract it from their arrival time.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

__all__ = ["LEASE_NAMESPACE", "SENT_AT", "lease", "node", "pod", "running_status"]

SENT_AT = "sim.watchcache.io/sent-at-ns"
LEASE_NAMESPACE = "kube-node-lease"


def now_rfc3339(micro: bool = False) -> str:
    stamp = datetime.now(UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if micro else "%Y-%m-%dT%H:%M:%SZ")


def node(name: str) -> dict[str, Any]:
    now = now_rfc3339()
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {"type": "kwok", "kubernetes.io/hostname": name}},
        "spec": {
            "taints": [{"key": "kwok.x-k8s.io/node", "value": "fake", "effect": "NoSchedule"}]
        },
        "status": {
            "capacity": {"cpu": "32", "memory": "256Gi", "pods": "110"},
            "allocatable": {"cpu": "32", "memory": "256Gi", "pods": "110"},
            "conditions": [
                {
                    "type": t,
                    "status": s,
                    "reason": r,
                    "lastHeartbeatTime": now,
                    "lastTransitionTime": now,
                }
                for t, s, r in (
                    ("Ready", "True", "KubeletReady"),
                    ("MemoryPressure", "False", "KubeletHasSufficientMemory"),
                    ("DiskPressure", "False", "KubeletHasNoDiskPressure"),
                    ("PIDPressure", "False", "KubeletHasSufficientPID"),
                )
            ],
            "nodeInfo": {
                "kubeletVersion": "fake",
                "architecture": "amd64",
                "operatingSystem": "linux",
                "machineID": "",
                "systemUUID": "",
                "bootID": "",
                "kernelVersion": "",
                "osImage": "",
                "containerRuntimeVersion": "",
                "kubeProxyVersion": "",
            },
        },
    }


def lease(name: str, duration_seconds: int) -> dict[str, Any]:
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": name, "namespace": LEASE_NAMESPACE},
        "spec": {
            "holderIdentity": name,
            "leaseDurationSeconds": duration_seconds,
            "renewTime": now_rfc3339(micro=True),
        },
    }


def pod(name: str, node_name: str, size_bytes: int = 0) -> dict[str, Any]:
    """A pod already bound to ``node_name`` (no scheduler in the loop).

    ``size_bytes`` pads an annotation so objects can match a target size
    (kube-apiserver's pods in the wild are 5-8 KB of JSON).
    """
    annotations = {SENT_AT: str(time.time_ns())}
    if size_bytes:
        annotations["sim.watchcache.io/padding"] = "x" * size_bytes
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "labels": {"app": "sim", "node": node_name},
            "annotations": annotations,
        },
        "spec": {
            "nodeName": node_name,
            "containers": [{"name": "main", "image": "registry.invalid/sim:1"}],
            "tolerations": [
                {"key": "kwok.x-k8s.io/node", "operator": "Exists", "effect": "NoSchedule"}
            ],
            "terminationGracePeriodSeconds": 30,
        },
    }


def running_status(pod_ip: str) -> dict[str, Any]:
    """What a kubelet writes once the pod's containers run."""
    now = now_rfc3339()
    return {
        "status": {
            "phase": "Running",
            "podIP": pod_ip,
            "podIPs": [{"ip": pod_ip}],
            "hostIP": "10.255.0.1",
            "startTime": now,
            "conditions": [
                {"type": t, "status": "True", "lastTransitionTime": now}
                for t in ("PodScheduled", "Initialized", "ContainersReady", "Ready")
            ],
            "containerStatuses": [
                {
                    "name": "main",
                    "ready": True,
                    "restartCount": 0,
                    "started": True,
                    "image": "registry.invalid/sim:1",
                    "imageID": "",
                    "state": {"running": {"startedAt": now}},
                }
            ],
        }
    }
