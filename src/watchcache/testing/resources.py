"""Interim resource table and request-path parsing for the simulator.

TODO(watchcache/api/resources.py): ``GroupVersionResource``,
``ResourceInfo``, ``builtin_resource``, ``resource_info``, ``field_values``,
``RequestPath`` and ``parse_path`` mirror the shared module's interface and
go once it is committed. ``Served`` (short names, subresources: what
discovery advertises) stays: it is the simulator's own.

Glossary:
    GVR        group, version, resource (plural, lower case) of a URL.
    key        where an object lives inside its resource: ``namespace/name``
               for namespaced kinds, ``name`` for cluster-scoped ones; keys
               sort like kube-apiserver's etcd keys.
    fields     the field-selector values of one object, every supported
               path present (defaulted when the object lacks it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "GroupVersionResource",
    "RequestPath",
    "ResourceInfo",
    "Served",
    "builtin_resource",
    "builtin_served",
    "field_values",
    "parse_path",
    "resource_info",
]


@dataclass(frozen=True, slots=True)
class GroupVersionResource:
    group: str
    version: str
    resource: str


_META_FIELDS: Mapping[str, str] = {"metadata.name": "", "metadata.namespace": ""}


@dataclass(frozen=True, slots=True)
class ResourceInfo:
    gvr: GroupVersionResource
    kind: str
    list_kind: str
    namespaced: bool
    field_defaults: Mapping[str, str] = field(default_factory=lambda: dict(_META_FIELDS))
    trigger_field: str | None = None
    builtin: bool = False


@dataclass(frozen=True, slots=True)
class Served:
    """What discovery says about one resource besides its ResourceInfo."""

    info: ResourceInfo
    short_names: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()


def _builtin(
    group: str,
    resource: str,
    kind: str,
    namespaced: bool,
    short: tuple[str, ...] = (),
    sub: tuple[str, ...] = ("status",),
    fields: Mapping[str, str] | None = None,
    trigger: str | None = None,
    version: str = "v1",
) -> Served:
    defaults = dict(_META_FIELDS)
    defaults.update(fields or {})
    info = ResourceInfo(
        GroupVersionResource(group, version, resource),
        kind,
        kind + "List",
        namespaced,
        defaults,
        trigger,
        builtin=True,
    )
    return Served(info, short, sub)


_POD_FIELDS = {
    "spec.nodeName": "",
    "spec.restartPolicy": "Always",
    "spec.schedulerName": "default-scheduler",
    "spec.serviceAccountName": "",
    "status.phase": "",
    "status.podIP": "",
    "status.nominatedNodeName": "",
}

_BUILTINS: tuple[Served, ...] = (
    _builtin("", "pods", "Pod", True, ("po",), ("status",), _POD_FIELDS, "spec.nodeName"),
    _builtin("", "nodes", "Node", False, ("no",), ("status",), {"spec.unschedulable": "false"}),
    _builtin("", "namespaces", "Namespace", False, ("ns",), ("status",), {"status.phase": ""}),
    _builtin("", "services", "Service", True, ("svc",)),
    _builtin("", "configmaps", "ConfigMap", True, ("cm",), ()),
    _builtin("", "secrets", "Secret", True, (), (), {"type": ""}),
    _builtin("", "events", "Event", True, ("ev",), ()),
    _builtin("", "endpoints", "Endpoints", True, ("ep",), ()),
    _builtin("", "serviceaccounts", "ServiceAccount", True, ("sa",), ()),
    _builtin("", "persistentvolumeclaims", "PersistentVolumeClaim", True, ("pvc",)),
    _builtin("", "persistentvolumes", "PersistentVolume", False, ("pv",)),
    _builtin(
        "", "replicationcontrollers", "ReplicationController", True, ("rc",), ("status", "scale")
    ),
    _builtin("apps", "deployments", "Deployment", True, ("deploy",), ("status", "scale")),
    _builtin("apps", "replicasets", "ReplicaSet", True, ("rs",), ("status", "scale")),
    _builtin("apps", "statefulsets", "StatefulSet", True, ("sts",), ("status", "scale")),
    _builtin("apps", "daemonsets", "DaemonSet", True, ("ds",)),
    _builtin("batch", "jobs", "Job", True, (), ("status",)),
    _builtin("coordination.k8s.io", "leases", "Lease", True, (), ()),
)

# Built-ins are looked up by group and resource: the simulator serves one
# version of each, and a request for another version of a built-in group is
# a 404 like any unknown resource.
_BY_GROUP_RESOURCE: Mapping[tuple[str, str], Served] = {
    (s.info.gvr.group, s.info.gvr.resource): s for s in _BUILTINS
}


def builtin_served() -> tuple[Served, ...]:
    return _BUILTINS


def builtin_resource(gvr: GroupVersionResource) -> ResourceInfo | None:
    served = _BY_GROUP_RESOURCE.get((gvr.group, gvr.resource))
    if served is None or served.info.gvr.version != gvr.version:
        return None
    return served.info


def resource_info(gvr: GroupVersionResource, kind: str | None = None) -> ResourceInfo:
    """Info for any resource: the built-in's, or a generic CRD-like one."""
    known = builtin_resource(gvr)
    if known is not None:
        return known
    guessed = kind or gvr.resource.capitalize()
    return ResourceInfo(gvr, guessed, guessed + "List", namespaced=True)


def _lookup(obj: Mapping[str, Any], path: str) -> Any:
    value: Any = obj
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _render(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def field_values(info: ResourceInfo, obj: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for path, default in info.field_defaults.items():
        value = _lookup(obj, path)
        out[path] = default if value is None or value == "" else _render(value)
    return out


@dataclass(frozen=True, slots=True)
class RequestPath:
    gvr: GroupVersionResource
    namespace: str
    name: str
    subresource: str
    legacy_watch: bool = False


# Subresources of a namespace, which kube-apiserver's request-info parser
# refuses to read as a namespaced resource's name.
_NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})


def _split_group_version(parts: list[str]) -> tuple[str, str, list[str]] | None:
    if len(parts) >= 2 and parts[0] == "api":
        return "", parts[1], parts[2:]
    if len(parts) >= 3 and parts[0] == "apis":
        return parts[1], parts[2], parts[3:]
    return None


def parse_path(path: str) -> RequestPath | None:
    """The resource a URL path names, or None for a non-resource path."""
    parts = [p for p in path.split("/") if p]
    split = _split_group_version(parts)
    if split is None:
        return None
    group, version, rest = split
    legacy_watch = bool(rest) and rest[0] == "watch"
    if legacy_watch:
        rest = rest[1:]
    if not rest:
        return None
    namespace = ""
    # namespaces/NS/RES... names a namespaced resource; namespaces/NS and
    # namespaces/NS/status name the namespace itself.
    if rest[0] == "namespaces" and len(rest) > 2 and rest[2] not in _NAMESPACE_SUBRESOURCES:
        namespace, rest = rest[1], rest[2:]
    resource = rest[0]
    name = rest[1] if len(rest) > 1 else ""
    subresource = rest[2] if len(rest) > 2 else ""
    if len(rest) > 3:
        return None
    return RequestPath(
        GroupVersionResource(group, version, resource), namespace, name, subresource, legacy_watch
    )
