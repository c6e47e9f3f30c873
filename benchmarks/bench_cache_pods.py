"""Realistic pods for the cache benchmarks: ~5.9 KB each, as kube-apiserver
serialises them (kind first, compact, managedFields included).

Objects are made from one template by byte replacement, so generating
100,000 of them costs little CPU and leaves no garbage that would blur a
memory measurement. Run alone, it prints the sizes.

    .venv/bin/python benchmarks/bench_cache_pods.py
"""

from __future__ import annotations

import json
import uuid

from watchcache.api.resources import GroupVersionResource, resource_info

__all__ = ["POD_RESOURCE", "PodFactory"]


def _template() -> bytes:
    containers = [
        {
            "name": f"app-{i}",
            "image": f"registry.example.com/team/app-{i}:v1.2.3",
            "args": ["--port=8080", "--log-level=info", "--metrics-addr=:9090"],
            "env": [{"name": f"ENV_{j}", "value": f"value-{j}-xxxxxxxx"} for j in range(6)],
            "resources": {
                "limits": {"cpu": "500m", "memory": "512Mi"},
                "requests": {"cpu": "100m", "memory": "128Mi"},
            },
            "volumeMounts": [
                {
                    "name": "kube-api-access",
                    "readOnly": True,
                    "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                }
            ],
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File",
            "imagePullPolicy": "IfNotPresent",
        }
        for i in range(2)
    ]
    statuses = [
        {
            "name": f"app-{i}",
            "state": {"running": {"startedAt": "2026-11-28T10:00:00Z"}},
            "lastState": {},
            "ready": True,
            "restartCount": 0,
            "image": f"registry.example.com/team/app-{i}:v1.2.3",
            "imageID": "registry.example.com/team/app@sha256:" + "ab" * 32,
            "containerID": "containerd://" + "cd" * 32,
            "started": True,
        }
        for i in range(2)
    ]
    managed = [
        {
            "manager": manager,
            "operation": "Update",
            "apiVersion": "v1",
            "time": "2026-11-28T10:00:00Z",
            "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:metadata": {"f:labels": {".": {}, "f:app": {}, "f:pod-template-hash": {}}},
                "f:spec": {
                    "f:containers": {'k:{"name":"app-0"}': {".": {}, "f:image": {}, "f:env": {}}}
                },
                "f:status": {"f:conditions": {'k:{"type":"Ready"}': {".": {}, "f:status": {}}}},
            },
        }
        for manager in ("kube-controller-manager", "kubelet", "kube-scheduler")
    ]
    pod = {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {
            "name": "__NAME__",
            "generateName": "app-7d9f8c6b5-",
            "namespace": "__NS__",
            "uid": "__UID__",
            "resourceVersion": "__RV__",
            "creationTimestamp": "2026-11-28T10:00:00Z",
            "labels": {"app": "__APP__", "pod-template-hash": "7d9f8c6b5", "tier": "backend"},
            "annotations": {
                "example.com/checksum-config": "0" * 64,
                "example.com/owner": "team-backend",
                "example.com/description": "d" * 720,
            },
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": "app-7d9f8c6b5",
                    "uid": "00000000-0000-0000-0000-000000000000",
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
            "managedFields": managed,
        },
        "spec": {
            "volumes": [
                {
                    "name": "kube-api-access",
                    "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]},
                }
            ],
            "containers": containers,
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst",
            "serviceAccountName": "default",
            "nodeName": "__NODE__",
            "schedulerName": "default-scheduler",
            "tolerations": [
                {
                    "key": "node.kubernetes.io/not-ready",
                    "operator": "Exists",
                    "effect": "NoExecute",
                    "tolerationSeconds": 300,
                }
            ],
            "priority": 0,
            "enableServiceLinks": True,
            "preemptionPolicy": "PreemptLowerPriority",
        },
        "status": {
            "phase": "Running",
            "conditions": [
                {
                    "type": t,
                    "status": "True",
                    "lastProbeTime": None,
                    "lastTransitionTime": "2026-11-28T10:00:00Z",
                }
                for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")
            ],
            "hostIP": "10.0.0.1",
            "podIP": "10.244.0.10",
            "podIPs": [{"ip": "10.244.0.10"}],
            "startTime": "2026-11-28T10:00:00Z",
            "containerStatuses": statuses,
            "qosClass": "Burstable",
        },
    }
    return json.dumps(pod, separators=(",", ":")).encode()


class PodFactory:
    """Pod ``i`` of ``namespaces`` namespaces and ``nodes`` nodes."""

    def __init__(self, *, namespaces: int = 100, nodes: int = 1000) -> None:
        self.template = _template()
        self.namespaces = namespaces
        self.nodes = nodes

    def pod(self, i: int, rv: int, *, app: str = "web") -> bytes:
        t = self.template
        t = t.replace(b"__NAME__", b"app-7d9f8c6b5-%08d" % i)
        t = t.replace(b"__NS__", b"ns-%04d" % (i % self.namespaces))
        t = t.replace(
            b"__UID__", str(uuid.UUID(int=(i * 0x9E3779B97F4A7C15) % (1 << 128))).encode()
        )
        t = t.replace(b"__RV__", b"%d" % rv)
        t = t.replace(b"__NODE__", b"node-%05d" % (i % self.nodes))
        return t.replace(b"__APP__", app.encode())

    def line(self, event_type: str, i: int, rv: int, *, app: str = "web") -> bytes:
        return (
            b'{"type":"' + event_type.encode() + b'","object":' + self.pod(i, rv, app=app) + b"}\n"
        )


POD_RESOURCE = resource_info(GroupVersionResource("", "v1", "pods"))

if __name__ == "__main__":
    factory = PodFactory()
    raw = factory.pod(1, 1000)
    stripped = json.loads(raw)
    del stripped["metadata"]["managedFields"]
    print(
        f"pod: {len(raw)} bytes, {len(json.dumps(stripped, separators=(',', ':')))} without managedFields"
    )
