"""watchcache.table against a real kube-apiserver v1.20: the same Table,
cell by cell, for objects of every kind it prints.

One module-wide namespace gets varied objects of each kind (pods in many
states written through the status subresource, since no kubelet runs;
nodes with conditions; services of each type; a CRD with printer columns
of each type...). For each resource the test lists the JSON and then the
Table at exactly the same resourceVersion (``resourceVersionMatch=Exact``,
so controllers writing in between do not matter) and renders the JSON
items with our printer. Durations (AGE and friends) are compared as
numbers of seconds, 2 s apart at most: the server's clock is read at
render time, ours is frozen to the response's Date header.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from watchcache.api.resources import RequestPath, parse_path
from watchcache.api.status import ApiError
from watchcache.devcluster import DevCluster
from watchcache.table import (
    ListMeta,
    Printer,
    TableRenderer,
    WatchTables,
    crd_printer,
    parse_include,
    printer_for,
)

pytestmark = pytest.mark.e2e

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
CRD_GROUP = "tables.watchcache.test"


@dataclass
class Reply:
    code: int
    body: Any
    now: float


def call(
    cluster: DevCluster, method: str, path: str, body: Any = None, accept: str = "application/json"
) -> Reply:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(cluster.url + path, data=data, method=method)
    req.add_header("Authorization", f"Bearer {cluster.admin_token}")
    req.add_header("Accept", accept)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    context = ssl.create_default_context(cafile=str(cluster.ca_file))
    try:
        with urllib.request.urlopen(req, context=context, timeout=30) as resp:
            return Reply(resp.status, json.loads(resp.read()), _date(resp.headers))
    except urllib.error.HTTPError as err:
        return Reply(err.code, json.loads(err.read()), _date(err.headers))


def _date(headers: Any) -> float:
    return parsedate_to_datetime(headers["Date"]).timestamp() + 0.5


def put_status(cluster: DevCluster, path: str, status: dict[str, Any], merge: bool = True) -> None:
    """Write ``status`` through the status subresource, again on a conflict
    (controllers write these objects too)."""
    for _ in range(20):
        obj = ok(call(cluster, "GET", path))
        obj["status"] = {**obj.get("status", {}), **status} if merge else status
        reply = call(cluster, "PUT", f"{path}/status", obj)
        if reply.code != 409:
            ok(reply)
            return
    raise AssertionError(f"{path}: conflicts on every try")


def ok(reply: Reply) -> Any:
    assert reply.code in (200, 201), json.dumps(reply.body)[:600]
    return reply.body


# -- the objects -----------------------------------------------------------------


def container(name: str, image: str = "busybox") -> dict[str, Any]:
    return {"name": name, "image": image}


def running(name: str, ready: bool = True, restarts: int = 0) -> dict[str, Any]:
    return _status(name, {"running": {"startedAt": "2020-01-01T00:00:00Z"}}, ready, restarts)


def waiting(name: str, reason: str, restarts: int = 0) -> dict[str, Any]:
    return _status(name, {"waiting": {"reason": reason}}, False, restarts)


def terminated(
    name: str, code: int = 0, reason: str = "", signal: int = 0, restarts: int = 0
) -> dict[str, Any]:
    state: dict[str, Any] = {"exitCode": code}
    if reason:
        state["reason"] = reason
    if signal:
        state["signal"] = signal
    return _status(name, {"terminated": state}, False, restarts)


def _status(name: str, state: dict[str, Any], ready: bool, restarts: int) -> dict[str, Any]:
    return {
        "name": name,
        "state": state,
        "ready": ready,
        "restartCount": restarts,
        "image": "busybox",
        "imageID": "",
    }


NODE = "table-node-" + secrets.token_hex(3)
READY = {"type": "Ready", "status": "True"}

# name -> (spec additions, status, extra: "finalize" deletes it with a finalizer)
PODS: dict[str, tuple[dict[str, Any], dict[str, Any], str]] = {
    "pending": ({}, {}, ""),
    "crashing": (
        {"containers": [container("a"), container("b")]},
        {
            "phase": "Running",
            "containerStatuses": [running("a", restarts=1), waiting("b", "CrashLoopBackOff", 3)],
            "podIP": "10.1.0.5",
            "podIPs": [{"ip": "10.1.0.5"}],
            "nominatedNodeName": "other-node",
        },
        "",
    ),
    "running-ready": (
        {"containers": [container("a"), container("b")]},
        {"phase": "Running", "containerStatuses": [running("a"), running("b", restarts=2)]},
        "",
    ),
    "init-progress": (
        {"initContainers": [container("i1"), container("i2")]},
        {
            "phase": "Pending",
            "initContainerStatuses": [terminated("i1"), running("i2", ready=False, restarts=1)],
            "containerStatuses": [waiting("main", "PodInitializing")],
        },
        "",
    ),
    "init-error": (
        {"initContainers": [container("i1"), container("i2")]},
        {
            "phase": "Pending",
            "initContainerStatuses": [
                terminated("i1", 1, "Error", restarts=4),
                running("i2", restarts=9),
            ],
        },
        "",
    ),
    "init-waiting": (
        {"initContainers": [container("i1")]},
        {"phase": "Pending", "initContainerStatuses": [waiting("i1", "ErrImagePull", 2)]},
        "",
    ),
    "init-pod-initializing": (
        {"initContainers": [container("i1")]},
        {"phase": "Pending", "initContainerStatuses": [waiting("i1", "PodInitializing")]},
        "",
    ),
    "init-signal": (
        {"initContainers": [container("i1")]},
        {"phase": "Pending", "initContainerStatuses": [terminated("i1", 137, signal=9)]},
        "",
    ),
    "succeeded": (
        {},
        {"phase": "Succeeded", "containerStatuses": [terminated("main", 0, "Completed")]},
        "",
    ),
    "failed-exit": (
        {},
        {"phase": "Failed", "containerStatuses": [terminated("main", 2)]},
        "",
    ),
    "failed-signal": (
        {},
        {"phase": "Failed", "containerStatuses": [terminated("main", 0, signal=15)]},
        "",
    ),
    "evicted": ({}, {"phase": "Failed", "reason": "Evicted", "message": "low memory"}, ""),
    "sidecar-ready": (
        {"containers": [container("a"), container("b")]},
        {
            "phase": "Running",
            "conditions": [READY],
            "containerStatuses": [terminated("a", 0, "Completed"), running("b")],
        },
        "",
    ),
    "sidecar-not-ready": (
        {"containers": [container("a"), container("b")]},
        {"phase": "Running", "containerStatuses": [running("a"), terminated("b", 0, "Completed")]},
        "",
    ),
    "gates": (
        {"readinessGates": [{"conditionType": "x/one"}, {"conditionType": "x/two"}]},
        {
            "phase": "Running",
            "conditions": [
                {"type": "x/one", "status": "True"},
                {"type": "x/two", "status": "False"},
                {"type": "x/one", "status": "False"},
            ],
            "containerStatuses": [running("main")],
        },
        "",
    ),
    "terminating": ({}, {"phase": "Running", "containerStatuses": [running("main")]}, "finalize"),
    "node-lost": (
        {},
        {"phase": "Running", "reason": "NodeLost", "containerStatuses": [running("main")]},
        "finalize",
    ),
}


def make_pods(cluster: DevCluster, ns: str) -> None:
    for name, (spec_extra, status, extra) in PODS.items():
        spec = {"containers": [container("main")], "nodeName": NODE, **spec_extra}
        body: dict[str, Any] = {"metadata": {"name": name}, "spec": spec}
        if extra == "finalize":
            body["metadata"]["finalizers"] = ["watchcache.test/hold"]
        ok(call(cluster, "POST", f"/api/v1/namespaces/{ns}/pods", body))
        if status:
            put_status(cluster, f"/api/v1/namespaces/{ns}/pods/{name}", status)
        if extra == "finalize":
            ok(call(cluster, "DELETE", f"/api/v1/namespaces/{ns}/pods/{name}"))


def make_nodes(cluster: DevCluster) -> list[str]:
    nodes = [
        (
            NODE,
            {"node-role.kubernetes.io/master": "", "node-role.kubernetes.io/worker": "x"},
            False,
            {
                "conditions": [
                    {"type": "MemoryPressure", "status": "False"},
                    {"type": "Ready", "status": "True"},
                ],
                "addresses": [
                    {"type": "Hostname", "address": "h"},
                    {"type": "InternalIP", "address": "192.168.0.2"},
                    {"type": "InternalIP", "address": "192.168.0.3"},
                ],
                "nodeInfo": _node_info("v1.20.2", "Ubuntu", "5.4", "containerd://1.4"),
            },
        ),
        (
            NODE + "-b",
            {"kubernetes.io/role": "edge"},
            True,
            {
                "conditions": [{"type": "Ready", "status": "False"}],
                "addresses": [{"type": "ExternalIP", "address": "1.2.3.4"}],
                "nodeInfo": _node_info("v1.19.0", "", "", ""),
            },
        ),
        (NODE + "-c", {}, True, {}),
    ]
    for name, labels, unschedulable, status in nodes:
        body = {
            "metadata": {"name": name, "labels": labels},
            "spec": {"unschedulable": unschedulable},
        }
        ok(call(cluster, "POST", "/api/v1/nodes", body))
        if status:
            put_status(cluster, f"/api/v1/nodes/{name}", status)
    return [name for name, *_ in nodes]


def _node_info(kubelet: str, os_image: str, kernel: str, runtime: str) -> dict[str, str]:
    keys = (
        "machineID",
        "systemUUID",
        "bootID",
        "operatingSystem",
        "architecture",
        "kubeProxyVersion",
    )
    return {
        **{key: "" for key in keys},
        "kubeletVersion": kubelet,
        "osImage": os_image,
        "kernelVersion": kernel,
        "containerRuntimeVersion": runtime,
    }


def template(labels: dict[str, str], *names: str) -> dict[str, Any]:
    return {
        "metadata": {"labels": labels},
        "spec": {"containers": [container(n, f"img-{n}:1") for n in names]},
    }


def make_core(cluster: DevCluster, ns: str) -> None:
    base = f"/api/v1/namespaces/{ns}"
    services = [
        {
            "metadata": {"name": "plain"},
            "spec": {
                "selector": {"b": "2", "a": "1"},
                "ports": [
                    {"port": 80, "name": "web"},
                    {"port": 53, "protocol": "UDP", "name": "dns"},
                ],
            },
        },
        {
            "metadata": {"name": "nodeport"},
            "spec": {"type": "NodePort", "ports": [{"port": 8080}], "externalIPs": ["5.6.7.8"]},
        },
        {
            "metadata": {"name": "lb"},
            "spec": {"type": "LoadBalancer", "ports": [{"port": 443}], "externalIPs": ["9.9.9.9"]},
        },
        {
            "metadata": {"name": "lb-pending"},
            "spec": {"type": "LoadBalancer", "ports": [{"port": 443}]},
        },
        {
            "metadata": {"name": "external"},
            "spec": {"type": "ExternalName", "externalName": "example.com"},
        },
        {"metadata": {"name": "headless"}, "spec": {"clusterIP": "None", "ports": [{"port": 1}]}},
    ]
    for svc in services:
        ok(call(cluster, "POST", f"{base}/services", svc))
    ingress = [{"hostname": "z.example"}, {"ip": "3.3.3.3"}, {"ip": "3.3.3.3"}]
    put_status(cluster, f"{base}/services/lb", {"loadBalancer": {"ingress": ingress}})
    endpoints = [
        {
            "metadata": {"name": "many"},
            "subsets": [
                {
                    "addresses": [{"ip": f"10.0.0.{i}"} for i in range(1, 4)],
                    "ports": [{"port": 80, "name": "a"}, {"port": 81, "name": "b"}],
                },
                {"addresses": [{"ip": "fd00::1"}], "ports": [{"port": 90}]},
            ],
        },
        {
            "metadata": {"name": "three"},
            "subsets": [
                {"addresses": [{"ip": f"10.0.1.{i}"} for i in range(1, 4)], "ports": [{"port": 1}]}
            ],
        },
        {"metadata": {"name": "none"}},
        {
            "metadata": {"name": "not-ready"},
            "subsets": [{"notReadyAddresses": [{"ip": "10.0.2.1"}], "ports": [{"port": 1}]}],
        },
    ]
    for ep in endpoints:
        ok(call(cluster, "POST", f"{base}/endpoints", ep))
    limits = {"limits": [{"type": "Container", "max": {"cpu": "1"}}]}
    ok(call(cluster, "POST", f"{base}/limitranges", {"metadata": {"name": "lr"}, "spec": limits}))
    ok(
        call(
            cluster,
            "POST",
            f"{base}/configmaps",
            {"metadata": {"name": "cm"}, "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}},
        )
    )
    ok(
        call(
            cluster,
            "POST",
            f"{base}/secrets",
            {"metadata": {"name": "opaque"}, "data": {"a": "AA=="}},
        )
    )
    ok(
        call(
            cluster,
            "POST",
            f"{base}/secrets",
            {
                "metadata": {"name": "typed"},
                "type": "kubernetes.io/basic-auth",
                "stringData": {"username": "u"},
            },
        )
    )
    ok(
        call(
            cluster,
            "POST",
            f"{base}/serviceaccounts",
            {"metadata": {"name": "robot"}, "secrets": [{"name": "a"}, {"name": "b"}]},
        )
    )
    events: list[dict[str, Any]] = [
        {
            "metadata": {"name": "ev1"},
            "involvedObject": {
                "kind": "Pod",
                "name": "pending",
                "fieldPath": "spec.containers{main}",
            },
            "reason": "Pulled",
            "message": "  pulled  ",
            "type": "Normal",
            "source": {"component": "kubelet", "host": "n1"},
            "count": 3,
            "firstTimestamp": "2020-01-01T00:00:00Z",
            "lastTimestamp": "2020-01-02T00:00:00Z",
        },
        {
            "metadata": {"name": "ev2"},
            "involvedObject": {"kind": "Node"},
            "reason": "Starting",
            "type": "Warning",
            "source": {"component": "kube-proxy"},
        },
        {
            "metadata": {"name": "ev3"},
            "involvedObject": {"kind": "Pod", "name": "x"},
            "reason": "R",
            "eventTime": "2020-06-01T00:00:00.000000Z",
            "reportingComponent": "c",
            "reportingInstance": "i",
            "action": "A",
            "type": "Normal",
        },
        {
            "metadata": {"name": "ev4"},
            "involvedObject": {"kind": "Pod", "name": "y"},
            "reason": "R",
            "eventTime": "2020-06-01T00:00:00.000000Z",
            "series": {"count": 7, "lastObservedTime": "2020-06-02T00:00:00.000000Z"},
            "reportingComponent": "c",
            "reportingInstance": "i",
            "action": "A",
            "type": "Normal",
        },
    ]
    for ev in events:
        ev["involvedObject"]["namespace"] = ns
        ok(call(cluster, "POST", f"{base}/events", ev))
    ok(
        call(
            cluster,
            "POST",
            f"{base}/podtemplates",
            {"metadata": {"name": "pt"}, "template": template({"x": "1", "a": "b"}, "web", "side")},
        )
    )
    ok(
        call(
            cluster,
            "POST",
            f"{base}/podtemplates",
            {
                "metadata": {"name": "pt-bare"},
                "template": {"spec": {"containers": [container("c")]}},
            },
        )
    )
    claims = [
        {
            "metadata": {"name": "unbound"},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "1Gi"}},
                "storageClassName": "fast",
            },
        },
        {
            "metadata": {
                "name": "bound",
                "annotations": {"volume.beta.kubernetes.io/storage-class": "legacy"},
            },
            "spec": {
                "accessModes": ["ReadWriteMany", "ReadOnlyMany"],
                "resources": {"requests": {"storage": "2Gi"}},
                "volumeName": "some-pv",
                "volumeMode": "Block",
            },
        },
    ]
    for pvc in claims:
        ok(call(cluster, "POST", f"{base}/persistentvolumeclaims", pvc))


def make_apps(cluster: DevCluster, ns: str) -> None:
    apps, batch = f"/apis/apps/v1/namespaces/{ns}", f"/apis/batch/v1/namespaces/{ns}"
    selector = {
        "matchLabels": {"app": "w"},
        "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["b", "a"]},
            {"key": "gone", "operator": "DoesNotExist"},
        ],
    }
    labels = {"app": "w", "tier": "a"}
    ok(
        call(
            cluster,
            "POST",
            f"{apps}/replicasets",
            {
                "metadata": {"name": "rs"},
                "spec": {
                    "replicas": 0,
                    "selector": selector,
                    "template": template(labels, "a", "b"),
                },
            },
        )
    )
    ok(
        call(
            cluster,
            "POST",
            f"{apps}/deployments",
            {
                "metadata": {"name": "dep"},
                "spec": {"replicas": 0, "selector": selector, "template": template(labels, "a")},
            },
        )
    )
    ok(
        call(
            cluster,
            "POST",
            f"{apps}/daemonsets",
            {
                "metadata": {"name": "ds"},
                "spec": {
                    "selector": {"matchLabels": labels},
                    "template": {
                        **template(labels, "a"),
                        "spec": {"containers": [container("a")], "nodeSelector": {"disk": "ssd"}},
                    },
                },
            },
        )
    )
    ok(
        call(
            cluster,
            "POST",
            f"{apps}/statefulsets",
            {
                "metadata": {"name": "sts"},
                "spec": {
                    "replicas": 0,
                    "serviceName": "s",
                    "selector": {"matchLabels": labels},
                    "template": template(labels, "a", "b"),
                },
            },
        )
    )
    never = {
        **template({"job": "j"}, "a"),
        "spec": {"containers": [container("a")], "restartPolicy": "Never"},
    }
    ok(
        call(
            cluster,
            "POST",
            f"{batch}/jobs",
            {
                "metadata": {"name": "job-fixed"},
                "spec": {"completions": 3, "parallelism": 0, "template": never},
            },
        )
    )
    ok(
        call(
            cluster,
            "POST",
            f"{batch}/jobs",
            {"metadata": {"name": "job-parallel"}, "spec": {"parallelism": 4, "template": never}},
        )
    )
    ok(
        call(
            cluster,
            "POST",
            f"/apis/batch/v1beta1/namespaces/{ns}/cronjobs",
            {
                "metadata": {"name": "cj"},
                "spec": {
                    "schedule": "*/5 * * * *",
                    "suspend": True,
                    "jobTemplate": {"spec": {"template": never}},
                },
            },
        )
    )
    ok(
        call(
            cluster,
            "POST",
            f"/apis/coordination.k8s.io/v1/namespaces/{ns}/leases",
            {"metadata": {"name": "held"}, "spec": {"holderIdentity": "me"}},
        )
    )
    ok(
        call(
            cluster,
            "POST",
            f"/apis/coordination.k8s.io/v1/namespaces/{ns}/leases",
            {"metadata": {"name": "free"}, "spec": {}},
        )
    )
    slices = f"/apis/discovery.k8s.io/v1beta1/namespaces/{ns}/endpointslices"
    ok(
        call(
            cluster,
            "POST",
            slices,
            {
                "metadata": {"name": "es"},
                "addressType": "IPv4",
                "ports": [
                    {"port": 80},
                    {"name": "named"},
                    {"name": "c", "port": 1},
                    {"name": "d", "port": 2},
                ],
                "endpoints": [
                    {"addresses": ["10.0.0.1", "10.0.0.2"]},
                    {"addresses": ["10.0.0.3"]},
                    {"addresses": ["10.0.0.4"]},
                ],
            },
        )
    )
    ok(
        call(
            cluster,
            "POST",
            slices,
            {"metadata": {"name": "es-empty"}, "addressType": "FQDN", "endpoints": []},
        )
    )


def make_volumes(cluster: DevCluster, suffix: str) -> list[str]:
    names = [f"pv-{suffix}-a", f"pv-{suffix}-b"]
    ok(
        call(
            cluster,
            "POST",
            "/api/v1/persistentvolumes",
            {
                "metadata": {"name": names[0]},
                "spec": {
                    "capacity": {"storage": "1024Mi"},
                    "accessModes": ["ReadWriteOnce", "ReadWriteMany"],
                    "hostPath": {"path": "/tmp"},
                    "claimRef": {"namespace": "x", "name": "y"},
                    "storageClassName": "fast",
                    "persistentVolumeReclaimPolicy": "Retain",
                },
            },
        )
    )
    ok(
        call(
            cluster,
            "POST",
            "/api/v1/persistentvolumes",
            {
                "metadata": {
                    "name": names[1],
                    "annotations": {"volume.beta.kubernetes.io/storage-class": "legacy"},
                },
                "spec": {
                    "capacity": {"storage": "5G"},
                    "accessModes": ["ReadOnlyMany"],
                    "hostPath": {"path": "/tmp"},
                    "volumeMode": "Block",
                },
            },
        )
    )
    return names


CRD_COLUMNS: list[dict[str, Any]] = [
    {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
    {"name": "Ratio", "type": "number", "jsonPath": ".spec.ratio", "description": "how much"},
    {"name": "Whole", "type": "number", "jsonPath": ".spec.replicas"},
    {"name": "On", "type": "boolean", "jsonPath": ".spec.on"},
    {
        "name": "Ready",
        "type": "string",
        "jsonPath": '.status.conditions[?(@.type=="Ready")].status',
    },
    {"name": "Tags", "type": "string", "jsonPath": ".spec.tags", "priority": 1},
    {"name": "First", "type": "string", "jsonPath": ".spec.tags[0]"},
    {"name": "Count", "type": "string", "jsonPath": ".spec.ratio"},
    {"name": "Started", "type": "date", "jsonPath": ".spec.started"},
    {"name": "Made", "type": "date", "format": "", "jsonPath": ".metadata.creationTimestamp"},
    {"name": "Truncated", "type": "integer", "jsonPath": ".spec.ratio"},
    {"name": "Mismatch", "type": "boolean", "jsonPath": ".spec.replicas"},
]


def make_crds(cluster: DevCluster, suffix: str) -> list[str]:
    schema = {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}
    names = []
    for plural, columns in ((f"widgets{suffix}", CRD_COLUMNS), (f"gadgets{suffix}", [])):
        crd: dict[str, Any] = {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.{CRD_GROUP}"},
            "spec": {
                "group": CRD_GROUP,
                "scope": "Namespaced",
                "names": {
                    "plural": plural,
                    "kind": plural.capitalize(),
                    "singular": plural[:-1] + "x",
                },
                "versions": [
                    {
                        "name": "v1",
                        "served": True,
                        "storage": True,
                        "schema": schema,
                        **({"additionalPrinterColumns": columns} if columns else {}),
                    }
                ],
            },
        }
        ok(call(cluster, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd))
        names.append(crd["metadata"]["name"])
    return names


def make_custom(cluster: DevCluster, ns: str, suffix: str) -> None:
    for plural in (f"widgets{suffix}", f"gadgets{suffix}"):
        path = f"/apis/{CRD_GROUP}/v1/namespaces/{ns}/{plural}"
        kind = plural.capitalize()
        items: list[dict[str, Any]] = [
            {
                "metadata": {"name": "full"},
                "spec": {
                    "replicas": 3,
                    "ratio": 2.5,
                    "on": True,
                    "tags": ["a", "b"],
                    "started": "2020-01-01T00:00:00Z",
                },
                "status": {
                    "conditions": [
                        {"type": "Other", "status": "x"},
                        {"type": "Ready", "status": "True"},
                    ]
                },
            },
            {
                "metadata": {"name": "whole"},
                "spec": {"ratio": 4.0, "on": "yes", "started": "not a date", "tags": {"k": "<v>"}},
            },
            {"metadata": {"name": "empty"}, "spec": {"started": ""}},
            {"metadata": {"name": "big"}, "spec": {"ratio": 12345678.5, "replicas": 2}},
        ]
        for item in items:
            body = {"apiVersion": f"{CRD_GROUP}/v1", "kind": kind, **item}
            # The CRD may take a moment to be served after it is created.
            for _ in range(100):
                reply = call(cluster, "POST", path, body)
                if reply.code != 404:
                    break
                threading.Event().wait(0.1)
            ok(reply)


@dataclass
class World:
    ns: str
    suffix: str
    nodes: list[str]
    volumes: list[str]
    crds: list[str]


@pytest.fixture(scope="module")
def world(dev_cluster: DevCluster) -> Iterator[World]:
    suffix = secrets.token_hex(3)
    ns = f"table-{suffix}"
    ok(call(dev_cluster, "POST", "/api/v1/namespaces", {"metadata": {"name": ns}}))
    made = World(ns, suffix, [], [], [])
    try:
        made.nodes = make_nodes(dev_cluster)
        make_pods(dev_cluster, ns)
        make_core(dev_cluster, ns)
        make_apps(dev_cluster, ns)
        made.volumes = make_volumes(dev_cluster, suffix)
        made.crds = make_crds(dev_cluster, suffix)
        make_custom(dev_cluster, ns, suffix)
        yield made
    finally:
        for name in PODS:
            if PODS[name][2] == "finalize":
                pod = call(dev_cluster, "GET", f"/api/v1/namespaces/{ns}/pods/{name}").body
                if isinstance(pod, dict) and pod.get("kind") == "Pod":
                    pod["metadata"]["finalizers"] = []
                    call(dev_cluster, "PUT", f"/api/v1/namespaces/{ns}/pods/{name}", pod)
        for node in made.nodes:
            call(dev_cluster, "DELETE", f"/api/v1/nodes/{node}")
        for pv in made.volumes:
            call(dev_cluster, "DELETE", f"/api/v1/persistentvolumes/{pv}")
        for crd in made.crds:
            call(
                dev_cluster,
                "DELETE",
                f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{crd}",
            )
        call(dev_cluster, "DELETE", f"/api/v1/namespaces/{ns}")


# -- comparing -------------------------------------------------------------------

_DURATION = re.compile(r"^(?:(\d+)y)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_UNITS = (365 * 86400, 86400, 3600, 60, 1)


def seconds(text: str) -> int | None:
    match = _DURATION.match(text) if text else None
    if not match or not any(match.groups()):
        return None
    return sum(int(g) * unit for g, unit in zip(match.groups(), _UNITS, strict=True) if g)


def same_cell(ours: Any, theirs: Any) -> bool:
    if ours == theirs and type(ours) is type(theirs):
        return True
    if isinstance(ours, str) and isinstance(theirs, str):
        a, b = seconds(ours), seconds(theirs)
        # Coarse units (3m, 5h) only ever come from the same instant here:
        # every object is seconds to minutes old, or years.
        return a is not None and b is not None and abs(a - b) <= max(2, min(a, b) // 100)
    return False


def assert_same_table(ours: dict[str, Any], theirs: dict[str, Any], what: str) -> None:
    assert ours["kind"] == theirs["kind"] and ours["apiVersion"] == theirs["apiVersion"]
    assert ours["metadata"] == theirs["metadata"], what
    columns = [
        {k: c[k] for k in ("name", "type", "format", "priority")}
        for c in ours["columnDefinitions"] or []
    ]
    expected = [
        {k: c[k] for k in ("name", "type", "format", "priority")}
        for c in theirs["columnDefinitions"] or []
    ]
    assert columns == expected, what
    assert len(ours["rows"]) == len(theirs["rows"]), what
    for mine, real in zip(ours["rows"], theirs["rows"], strict=True):
        label = f"{what} {real['cells'][:1]}"
        assert len(mine["cells"]) == len(real["cells"]), label
        for i, (a, b) in enumerate(zip(mine["cells"], real["cells"], strict=True)):
            assert same_cell(a, b), f"{label} column {expected[i]['name']}: ours {a!r}, kube {b!r}"
        assert mine.get("conditions") == real.get("conditions"), label
        assert mine["object"] == real["object"], f"{label}: {object_diff(mine, real)}"


def object_diff(mine: dict[str, Any], real: dict[str, Any]) -> str:
    a = (mine["object"] or {}).get("metadata", {})
    b = (real["object"] or {}).get("metadata", {})
    return str({k: (a.get(k), b.get(k)) for k in set(a) | set(b) if a.get(k) != b.get(k)})


@dataclass(frozen=True)
class Case:
    path: str  # the list path, {ns} for the namespace, {suffix} for the CRD suffix
    group: str
    resource: str


CASES = [
    Case("/api/v1/namespaces/{ns}/pods", "", "pods"),
    Case("/api/v1/nodes", "", "nodes"),
    Case("/api/v1/namespaces", "", "namespaces"),
    Case("/api/v1/namespaces/{ns}/services", "", "services"),
    Case("/api/v1/namespaces/{ns}/endpoints", "", "endpoints"),
    Case("/api/v1/namespaces/{ns}/configmaps", "", "configmaps"),
    Case("/api/v1/namespaces/{ns}/secrets", "", "secrets"),
    Case("/api/v1/namespaces/{ns}/serviceaccounts", "", "serviceaccounts"),
    Case("/api/v1/namespaces/{ns}/events", "", "events"),
    Case("/api/v1/namespaces/{ns}/podtemplates", "", "podtemplates"),
    Case("/api/v1/persistentvolumes", "", "persistentvolumes"),
    Case("/api/v1/namespaces/{ns}/persistentvolumeclaims", "", "persistentvolumeclaims"),
    Case("/apis/coordination.k8s.io/v1/namespaces/{ns}/leases", "coordination.k8s.io", "leases"),
    Case("/apis/apps/v1/namespaces/{ns}/replicasets", "apps", "replicasets"),
    Case("/apis/apps/v1/namespaces/{ns}/deployments", "apps", "deployments"),
    Case("/apis/apps/v1/namespaces/{ns}/daemonsets", "apps", "daemonsets"),
    Case("/apis/apps/v1/namespaces/{ns}/statefulsets", "apps", "statefulsets"),
    Case("/apis/batch/v1/namespaces/{ns}/jobs", "batch", "jobs"),
    Case("/apis/batch/v1beta1/namespaces/{ns}/cronjobs", "batch", "cronjobs"),
    Case(
        "/apis/discovery.k8s.io/v1beta1/namespaces/{ns}/endpointslices",
        "discovery.k8s.io",
        "endpointslices",
    ),
    Case("/api/v1/limitranges", "", "limitranges"),
    Case(
        "/apis/rbac.authorization.k8s.io/v1/clusterroles",
        "rbac.authorization.k8s.io",
        "clusterroles",
    ),
    Case(
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        "apiextensions.k8s.io",
        "customresourcedefinitions",
    ),
    Case("/apis/" + CRD_GROUP + "/v1/namespaces/{ns}/widgets{suffix}", CRD_GROUP, "widgets"),
    Case("/apis/" + CRD_GROUP + "/v1/namespaces/{ns}/gadgets{suffix}", CRD_GROUP, "gadgets"),
]


def printer_of(cluster: DevCluster, case: Case, world: World) -> Printer:
    if case.group != CRD_GROUP:
        printer = printer_for(case.group, case.resource)
        assert printer is not None
        return printer
    name = f"{case.resource}{world.suffix}.{CRD_GROUP}"
    crd = ok(
        call(cluster, "GET", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")
    )
    printer = crd_printer(crd, "v1")
    assert printer is not None
    return printer


def at_clock(now: float) -> Any:
    return lambda: now


def items_bytes(items: list[dict[str, Any]]) -> list[bytes]:
    return [json.dumps(item).encode() for item in items]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.resource)
def test_list_tables_match_kube_apiserver(
    dev_cluster: DevCluster, world: World, case: Case
) -> None:
    path = case.path.format(ns=world.ns, suffix=world.suffix)
    listed = ok(call(dev_cluster, "GET", path))
    rv = listed["metadata"]["resourceVersion"]
    reply = call(
        dev_cluster, "GET", f"{path}?resourceVersion={rv}&resourceVersionMatch=Exact", accept=TABLE
    )
    theirs = ok(reply)
    renderer = TableRenderer(printer_of(dev_cluster, case, world), at_clock(reply.now))
    ours = json.loads(
        renderer.list_table(items_bytes(listed["items"]), ListMeta(resource_version=rv))
    )
    assert listed["items"], f"nothing to compare for {case.resource}"
    assert_same_table(ours, theirs, case.resource)


@pytest.mark.parametrize("case", [c for c in CASES if "{ns}" in c.path], ids=lambda c: c.resource)
@pytest.mark.parametrize("include", ["", "None", "Object"])
def test_object_tables_match_kube_apiserver(
    dev_cluster: DevCluster, world: World, case: Case, include: str
) -> None:
    path = case.path.format(ns=world.ns, suffix=world.suffix)
    printer = printer_of(dev_cluster, case, world)
    for item in ok(call(dev_cluster, "GET", path))["items"][:6]:
        item_path = f"{path}/{item['metadata']['name']}"
        for _ in range(5):  # a controller may write between the two reads
            obj = ok(call(dev_cluster, "GET", item_path))
            reply = call(dev_cluster, "GET", f"{item_path}?includeObject={include}", accept=TABLE)
            if ok(reply)["metadata"]["resourceVersion"] == obj["metadata"]["resourceVersion"]:
                break
        renderer = TableRenderer(printer, at_clock(reply.now), parse_include(include))
        ours = json.loads(renderer.object_table(json.dumps(obj).encode()))
        assert_same_table(ours, reply.body, item_path)


def test_unknown_include_object_is_the_same_400(dev_cluster: DevCluster, world: World) -> None:
    reply = call(
        dev_cluster,
        "GET",
        f"/api/v1/namespaces/{world.ns}/configmaps?includeObject=All",
        accept=TABLE,
    )
    with pytest.raises(ApiError) as raised:
        parse_include("All")
    assert raised.value.status() == reply.body


def test_watch_tables_match_kube_apiserver(dev_cluster: DevCluster, world: World) -> None:
    """Each event a one-row Table; columns on the first event only."""
    path = f"/api/v1/namespaces/{world.ns}/configmaps"
    listed = ok(call(dev_cluster, "GET", path))
    rv = listed["metadata"]["resourceVersion"]
    names = [f"w{i}" for i in range(3)]
    for name in names:
        ok(call(dev_cluster, "POST", f"{path}", {"metadata": {"name": name}, "data": {"k": name}}))
    ok(call(dev_cluster, "DELETE", f"{path}/{names[0]}"))
    watch = f"{path}?watch=1&resourceVersion={rv}&timeoutSeconds=2"
    now, lines = watch_lines(dev_cluster, watch, TABLE, 4)
    _, raw_events = watch_lines(dev_cluster, watch, "application/json", 4)
    assert [e["type"] for e in lines] == ["ADDED", "ADDED", "ADDED", "DELETED"]
    printer = printer_for("", "configmaps")
    assert printer is not None
    tables = WatchTables(TableRenderer(printer, at_clock(now)))
    for theirs, event in zip(lines, raw_events, strict=True):
        ours = json.loads(tables.event_line(event["type"], json.dumps(event["object"]).encode()))
        assert ours["type"] == theirs["type"]
        assert_same_table(ours["object"], theirs["object"], f"watch {event['type']}")
    assert lines[0]["object"]["columnDefinitions"]
    assert all(e["object"]["columnDefinitions"] is None for e in lines[1:])


def watch_lines(
    cluster: DevCluster, path: str, accept: str, count: int
) -> tuple[float, list[dict[str, Any]]]:
    """The response's time and the first ``count`` events of a watch."""
    req = urllib.request.Request(cluster.url + path)
    req.add_header("Authorization", f"Bearer {cluster.admin_token}")
    req.add_header("Accept", accept)
    context = ssl.create_default_context(cafile=str(cluster.ca_file))
    events = []
    with urllib.request.urlopen(req, context=context, timeout=30) as resp:
        now = _date(resp.headers)
        for line in resp:
            events.append(json.loads(line))
            if len(events) == count:
                break
    return now, events


# -- kubectl's view ----------------------------------------------------------------

KUBECTL = Path.home() / ".cache/watchcache/kube-v1.20.2/bin/kubectl"
KUBECTL_CASES = [
    "pods",
    "nodes",
    "services",
    "endpoints",
    "configmaps",
    "secrets",
    "serviceaccounts",
    "events",
    "podtemplates",
    "persistentvolumes",
    "persistentvolumeclaims",
    "leases",
    "replicasets",
    "deployments",
    "daemonsets",
    "statefulsets",
    "jobs",
    "cronjobs",
    "endpointslices",
    "limitranges",
    "widgets",
    "gadgets",
]
# A duration cell (2m30s, 6y189d): the two kubectl runs read the clock
# seconds apart, and the API-level tests above compare durations.
_DURATION_TEXT = re.compile(r"\b\d+[smhdy](?:\d+[smhdy])?\b")


class TablesFromJson:
    """An HTTP server kubectl talks to: everything goes to the real
    kube-apiserver as JSON, and the Tables kubectl asks for are rendered
    by watchcache.table from that JSON."""

    def __init__(self, cluster: DevCluster, world: World) -> None:
        self.cluster, self.world = cluster, world
        self.session: aiohttp.ClientSession | None = None

    async def handle(self, request: web.Request) -> web.Response:
        assert self.session is not None
        headers = {
            "Authorization": f"Bearer {self.cluster.admin_token}",
            "Accept": "application/json",
        }
        url = self.cluster.url + request.path_qs
        async with self.session.get(url, headers=headers) as upstream:
            status, body = upstream.status, await upstream.read()
        accept = request.headers.get("Accept", "")
        target = parse_path(request.path)
        if status == 200 and "as=Table" in accept and target is not None:
            body = await self.table(target, body, request.query.get("includeObject"))
        return web.Response(status=status, body=body, content_type="application/json")

    async def table(self, target: RequestPath, body: bytes, include: str | None) -> bytes:
        printer = await self.printer(target.gvr.group, target.gvr.resource)
        renderer = TableRenderer(printer, time.time, parse_include(include))
        decoded = json.loads(body)
        if not decoded.get("kind", "").endswith("List"):
            return renderer.object_table(body)
        meta = decoded["metadata"]
        list_meta = ListMeta(
            meta.get("resourceVersion", ""),
            meta.get("continue", ""),
            meta.get("remainingItemCount"),
        )
        # As the cache holds them: typed, as a GET would answer.
        typed = {"kind": decoded["kind"][: -len("List")], "apiVersion": decoded["apiVersion"]}
        items = [{**typed, **item} for item in decoded["items"]]
        return renderer.list_table(items_bytes(items), list_meta)

    async def printer(self, group: str, resource: str) -> Printer:
        if group != CRD_GROUP:
            found = printer_for(group, resource)
            assert found is not None, resource
            return found
        name = f"{resource}.{CRD_GROUP}"
        crd = ok(
            call(
                self.cluster,
                "GET",
                f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}",
            )
        )
        found = crd_printer(crd, "v1")
        assert found is not None
        return found


@pytest.fixture
async def tables_server(dev_cluster: DevCluster, world: World) -> AsyncIterator[str]:
    server = TablesFromJson(dev_cluster, world)
    context = ssl.create_default_context(cafile=str(dev_cluster.ca_file))
    app = web.Application()
    app.router.add_get("/{tail:.*}", server.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context)) as session:
        server.session = session
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            await runner.cleanup()


async def kubectl(tmp_path: Path, server_args: list[str], *args: str) -> str:
    env = {"KUBECONFIG": str(tmp_path / "none"), "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    process = await asyncio.create_subprocess_exec(
        str(KUBECTL),
        *server_args,
        "--cache-dir",
        str(tmp_path / "cache"),
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    return out.decode()


def normalised(text: str) -> list[str]:
    return [" ".join(_DURATION_TEXT.sub("<d>", line).split()) for line in text.splitlines()]


@pytest.mark.skipif(not KUBECTL.exists(), reason="kubectl 1.20 is not installed")
async def test_kubectl_prints_the_same(
    dev_cluster: DevCluster, world: World, tables_server: str, tmp_path: Path
) -> None:
    """kubectl get and get -o wide, against kube-apiserver and against
    Tables rendered here from the same objects, print the same lines."""
    direct = ["--kubeconfig", str(dev_cluster.kubeconfig)]
    ours = ["--server", tables_server]
    for resource in KUBECTL_CASES:
        name = f"{resource}{world.suffix}" if resource in ("widgets", "gadgets") else resource
        for wide in ([], ["-o", "wide"], ["--sort-by", ".metadata.name"]):
            args = ["get", name, "-n", world.ns, *wide]
            for _ in range(3):  # a controller may write between the two runs
                theirs = normalised(await kubectl(tmp_path, direct, *args))
                mine = normalised(await kubectl(tmp_path, ours, *args))
                if mine == theirs:
                    break
            assert mine == theirs, f"kubectl {' '.join(args)}"
            assert len(mine) > 1, f"kubectl {' '.join(args)} printed no rows"
