"""Discovery documents: /version, /api, /apis, /apis/GROUP[/VERSION],
/api/v1 (OpenAPI is openapi.py).

Glossary:
    legacy discovery   APIVersions, APIGroupList, APIGroup and
                       APIResourceList in plain JSON. Newer clients first
                       ask for aggregated discovery (apidiscovery.k8s.io);
                       a plain application/json answer makes them fall back.

Invariant: documents are built from the resource table plus every
collection the store has created (CRD-like kinds appear once written or
registered), at request time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from watchcache.api.resources import ResourceInfo, builtin_resources
from watchcache.simulator.admission import SCALABLE, has_status_subresource
from watchcache.simulator.store import SimStore

__all__ = [
    "SIMULATED_VERSION",
    "Served",
    "api_group",
    "api_group_list",
    "api_resource_list",
    "api_versions",
    "served",
    "version_info",
]

SIMULATED_VERSION = {"major": "1", "minor": "34", "gitVersion": "v1.34.0-watchcache-sim"}

_VERBS_NAMESPACED = [
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
]
_VERBS_SUBRESOURCE = ["get", "patch", "update"]


def version_info() -> dict[str, str]:
    return {
        **SIMULATED_VERSION,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.24.0",
        "compiler": "gc",
        "platform": "linux/amd64",
    }


@dataclass(frozen=True, slots=True)
class Served:
    """What discovery says about one resource besides its ResourceInfo."""

    info: ResourceInfo
    short_names: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()


# (group, resource) -> short names, as kube-apiserver advertises them.
_SHORT_NAMES = {
    ("", "pods"): ("po",),
    ("", "nodes"): ("no",),
    ("", "namespaces"): ("ns",),
    ("", "services"): ("svc",),
    ("", "endpoints"): ("ep",),
    ("", "configmaps"): ("cm",),
    ("", "serviceaccounts"): ("sa",),
    ("", "events"): ("ev",),
    ("events.k8s.io", "events"): ("ev",),
    ("", "persistentvolumes"): ("pv",),
    ("", "persistentvolumeclaims"): ("pvc",),
    ("", "replicationcontrollers"): ("rc",),
    ("", "resourcequotas"): ("quota",),
    ("", "limitranges"): ("limits",),
    ("policy", "poddisruptionbudgets"): ("pdb",),
    ("networking.k8s.io", "ingresses"): ("ing",),
    ("scheduling.k8s.io", "priorityclasses"): ("pc",),
    ("autoscaling", "horizontalpodautoscalers"): ("hpa",),
    ("storage.k8s.io", "storageclasses"): ("sc",),
    ("apps", "deployments"): ("deploy",),
    ("apps", "replicasets"): ("rs",),
    ("apps", "statefulsets"): ("sts",),
    ("apps", "daemonsets"): ("ds",),
    ("batch", "cronjobs"): ("cj",),
    ("apiextensions.k8s.io", "customresourcedefinitions"): ("crd", "crds"),
}


def _subresources(info: ResourceInfo) -> tuple[str, ...]:
    subs: list[str] = []
    if has_status_subresource(info):
        subs.append("status")
    if info.kind in SCALABLE:
        subs.append("scale")
    if info.kind == "Pod":
        subs.append("binding")
    return tuple(subs)


def served(store: SimStore) -> list[Served]:
    """Built-ins, then CRD-like resources the store has seen."""
    out = [
        Served(info, _SHORT_NAMES.get((info.gvr.group, info.gvr.resource), ()), _subresources(info))
        for info in builtin_resources()
    ]
    for coll in store.collections.values():
        if not coll.info.builtin:
            out.append(Served(coll.info))
    return out


def _group_versions(resources: Iterable[Served]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for item in resources:
        gvr = item.info.gvr
        versions = groups.setdefault(gvr.group, [])
        if gvr.version not in versions:
            versions.append(gvr.version)
    return groups


def api_versions(address: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": address}],
    }


def _group_doc(name: str, versions: list[str]) -> dict[str, Any]:
    listed = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": listed, "preferredVersion": listed[0]}


def api_group_list(store: SimStore) -> dict[str, Any]:
    groups = _group_versions(served(store))
    docs = [_group_doc(name, versions) for name, versions in groups.items() if name]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": docs}


def api_group(store: SimStore, group: str) -> dict[str, Any] | None:
    versions = _group_versions(served(store)).get(group)
    if not group or not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group_doc(group, versions)}


def _resource_docs(item: Served) -> list[dict[str, Any]]:
    info: ResourceInfo = item.info
    main: dict[str, Any] = {
        "name": info.gvr.resource,
        "singularName": info.kind.lower(),
        "namespaced": info.namespaced,
        "kind": info.kind,
        "verbs": _VERBS_NAMESPACED,
    }
    if item.short_names:
        main["shortNames"] = list(item.short_names)
    docs = [main]
    for sub in item.subresources:
        kind = {"scale": "Scale", "binding": "Binding"}.get(sub, info.kind)
        doc = {
            "name": f"{info.gvr.resource}/{sub}",
            "singularName": "",
            "namespaced": info.namespaced,
            "kind": kind,
            "verbs": _VERBS_SUBRESOURCE,
        }
        if sub == "scale":
            doc.update(group="autoscaling", version="v1")
        docs.append(doc)
    return docs


def api_resource_list(store: SimStore, group: str, version: str) -> dict[str, Any] | None:
    matching = [
        s for s in served(store) if (s.info.gvr.group, s.info.gvr.version) == (group, version)
    ]
    if not matching:
        return None
    resources = [doc for item in matching for doc in _resource_docs(item)]
    group_version = f"{group}/{version}" if group else version
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources,
    }
