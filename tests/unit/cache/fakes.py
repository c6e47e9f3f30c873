"""Fakes for the cache tests: pods as kube-apiserver serialises them,
the api's pods and a custom resource, and equality-only selectors (the real ones
live in watchcache.api; the cache only needs their matching interface)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from watchcache.api.resources import GroupVersionResource, resource_info

POD_FIELDS = {
    "metadata.name": "",
    "metadata.namespace": "",
    "spec.nodeName": "",
    "spec.restartPolicy": "Always",
    "spec.schedulerName": "default-scheduler",
    "status.phase": "",
}


PODS = resource_info(GroupVersionResource("", "v1", "pods"))
WIDGETS = resource_info(
    GroupVersionResource("example.com", "v1", "widgets"), "Widget", namespaced=False
)


def pod(
    name: str,
    namespace: str = "default",
    *,
    rv: int = 1,
    uid: str | None = None,
    labels: Mapping[str, str] | None = None,
    node: str | None = None,
    phase: str | None = None,
    managed: bool = False,
    typed: bool = True,
    pad: int = 0,
) -> bytes:
    meta: dict[str, object] = {
        "name": name,
        "namespace": namespace,
        "uid": uid or f"uid-{namespace}-{name}",
        "resourceVersion": str(rv),
    }
    if labels:
        meta["labels"] = dict(labels)
    if managed:
        meta["managedFields"] = [
            {"manager": "kubectl", "operation": "Apply", "fieldsV1": {"f:spec": {}}}
        ]
    spec: dict[str, object] = {"containers": [{"name": "c", "image": "busybox" + "x" * pad}]}
    if node is not None:
        spec["nodeName"] = node
    obj: dict[str, object] = {"kind": "Pod", "apiVersion": "v1"} if typed else {}
    obj |= {"metadata": meta, "spec": spec, "status": {"phase": phase} if phase else {}}
    return json.dumps(obj, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Labels:
    """Equality-only label selector: every pair must match."""

    want: Mapping[str, str]

    @property
    def empty(self) -> bool:
        return not self.want

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(labels.get(k) == v for k, v in self.want.items())


@dataclass(frozen=True)
class Fields:
    """Equality-only field selector."""

    want: Mapping[str, str]

    @property
    def empty(self) -> bool:
        return not self.want

    @property
    def fields(self) -> frozenset[str]:
        return frozenset(self.want)

    def matches(self, fields: Mapping[str, str]) -> bool:
        return all(fields.get(k) == v for k, v in self.want.items())

    def exact(self, path: str) -> str | None:
        return self.want.get(path)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now
