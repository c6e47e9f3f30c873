"""Server-side printing: the ``Table`` kubectl asks for first.

kubectl sends ``Accept: application/json;as=Table;v=v1;g=meta.k8s.io,...``
and prints the cells it gets back. Without it kubectl falls back to NAME and
AGE; with it ``kubectl get pods`` shows READY and STATUS like a real cluster.

Glossary:
    columns   the columnDefinitions of a kind (pods and nodes have their
              own; every other kind gets Name and Age, as kube-apiserver's
              default table convertor prints).
    row       the cells of one object plus its metadata as a
              PartialObjectMetadata, which kubectl reads for -A's NAMESPACE.
    watch     each event's object becomes a Table of one row.

Invariant: tables are built from decoded objects at request time; the store
never holds them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from watchcache.api.resources import ResourceInfo

__all__ = ["table", "table_version", "wants_table"]

Column = dict[str, Any]
Cells = Callable[[dict[str, Any], datetime], list[Any]]


def table_version(accept: str) -> str | None:
    """The meta.k8s.io version of the Table an Accept header asks for first."""
    for clause in accept.split(","):
        params = dict(p.strip().split("=", 1) for p in clause.split(";")[1:] if "=" in p)
        if params.get("as") == "Table" and params.get("g") == "meta.k8s.io":
            return params.get("v", "v1")
        if clause.split(";")[0].strip() in ("application/json", "*/*"):
            return None
    return None


def wants_table(accept: str) -> bool:
    return table_version(accept) is not None


def _column(name: str, kind: str = "string", fmt: str = "", priority: int = 0) -> Column:
    return {"name": name, "type": kind, "format": fmt, "description": "", "priority": priority}


def _age(obj: dict[str, Any], now: datetime) -> str:
    created = obj.get("metadata", {}).get("creationTimestamp")
    if not created:
        return "<unknown>"
    then = datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=now.tzinfo)
    return _duration(max(int((now - then).total_seconds()), 0))


def _duration(seconds: int) -> str:
    """kube's HumanDuration, coarsely: 45s, 12m, 3h, 5d."""
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 3600 * 2:
        return f"{seconds // 60}m"
    if seconds < 86400 * 2:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def _pod_cells(pod: dict[str, Any], now: datetime) -> list[Any]:
    spec, st = pod.get("spec", {}), pod.get("status", {})
    containers = spec.get("containers") or []
    statuses = st.get("containerStatuses") or []
    ready = sum(1 for c in statuses if c.get("ready"))
    restarts = sum(int(c.get("restartCount", 0)) for c in statuses)
    phase = (
        "Terminating" if pod.get("metadata", {}).get("deletionTimestamp") else st.get("phase", "")
    )
    return [
        pod["metadata"]["name"],
        f"{ready}/{len(containers)}",
        phase,
        restarts,
        _age(pod, now),
        st.get("podIP") or "<none>",
        spec.get("nodeName") or "<none>",
        st.get("nominatedNodeName") or "<none>",
        "<none>",
    ]


_POD_COLUMNS = [
    _column("Name", fmt="name"),
    _column("Ready"),
    _column("Status"),
    _column("Restarts", "integer"),
    _column("Age"),
    _column("IP", priority=1),
    _column("Node", priority=1),
    _column("Nominated Node", priority=1),
    _column("Readiness Gates", priority=1),
]


def _node_cells(node: dict[str, Any], now: datetime) -> list[Any]:
    conditions = node.get("status", {}).get("conditions") or []
    ready: dict[str, Any] = next((c for c in conditions if c.get("type") == "Ready"), {})
    state = "Ready" if ready.get("status") == "True" else "NotReady"
    version = node.get("status", {}).get("nodeInfo", {}).get("kubeletVersion", "")
    return [node["metadata"]["name"], state, "<none>", _age(node, now), version]


_NODE_COLUMNS = [
    _column("Name", fmt="name"),
    _column("Status"),
    _column("Roles"),
    _column("Age"),
    _column("Version"),
]
_DEFAULT_COLUMNS = [_column("Name", fmt="name"), _column("Age")]


def _default_cells(obj: dict[str, Any], now: datetime) -> list[Any]:
    return [obj.get("metadata", {}).get("name", ""), _age(obj, now)]


def _printer(info: ResourceInfo) -> tuple[list[Column], Cells]:
    if info.builtin and info.kind == "Pod":
        return _POD_COLUMNS, _pod_cells
    if info.builtin and info.kind == "Node":
        return _NODE_COLUMNS, _node_cells
    return _DEFAULT_COLUMNS, _default_cells


def _row(obj: dict[str, Any], cells: Cells, now: datetime, version: str) -> dict[str, Any]:
    partial = {
        "kind": "PartialObjectMetadata",
        "apiVersion": f"meta.k8s.io/{version}",
        "metadata": obj.get("metadata", {}),
    }
    return {"cells": cells(obj, now), "object": partial}


def table(
    info: ResourceInfo,
    objects: Iterable[dict[str, Any]],
    now: datetime,
    version: str,
    list_meta: dict[str, Any] | None = None,
) -> dict[str, Any]:
    columns, cells = _printer(info)
    return {
        "kind": "Table",
        "apiVersion": f"meta.k8s.io/{version}",
        "metadata": list_meta or {},
        "columnDefinitions": columns,
        "rows": [_row(obj, cells, now, version) for obj in objects],
    }
