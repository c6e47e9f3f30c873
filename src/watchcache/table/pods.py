"""The pods printer: READY, STATUS and RESTARTS as kube-apiserver 1.20
derives them from a pod's status.

Glossary:
    reason        the STATUS cell. Starts as ``status.reason`` or else the
                  phase, then is overridden, in this order, by
                  1. the first init container that has not succeeded:
                     ``Init:<reason>``, ``Init:Signal:N``,
                     ``Init:ExitCode:N`` for a failed one,
                     ``Init:<waiting reason>`` (except PodInitializing),
                     else ``Init:i/n`` (i = its index);
                  2. otherwise the app containers, last to first, so the
                     first container with something to say wins: a waiting
                     reason, a terminated reason, ``Signal:N`` /
                     ``ExitCode:N``; ``Completed`` while another container
                     still runs reads ``Running`` (pod Ready) or
                     ``NotReady``;
                  3. a deletion timestamp: ``Unknown`` if the node
                     controller marked the pod NodeLost, else
                     ``Terminating``.
    ready         containers both ready and running / spec containers.
    restarts      the init containers' restarts while initializing (up to
                  and including the one that stopped the pod), else the
                  app containers'.
    readiness     READINESS GATES: gates whose condition is True / gates,
                  or ``<none>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from watchcache.table.cellformat import count, mapping, sequence
from watchcache.table.duration import age
from watchcache.table.printer import Printer, column

__all__ = ["POD_PRINTER"]

_NODE_LOST = "NodeLost"  # node lifecycle controller's reason for pods on an unreachable node

_COLUMNS = (
    column("Name", "Name of the pod.", fmt="name"),
    column("Ready", "Ready containers out of all containers."),
    column("Status", "What the pod is doing, summarised from its containers."),
    column("Restarts", "Container restarts.", "integer"),
    column("Age", "Time since the pod was created."),
    column("IP", "The pod's first IP.", priority=1),
    column("Node", "The node the pod is bound to.", priority=1),
    column("Nominated Node", "The node preemption nominated.", priority=1),
    column("Readiness Gates", "Readiness gates that are True out of all.", priority=1),
)

_SUCCEEDED = [
    {
        "type": "Completed",
        "status": "True",
        "reason": "Succeeded",
        "message": "The pod has completed successfully.",
    }
]
_FAILED = [
    {"type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."}
]


def _terminated_text(terminated: Mapping[str, Any], prefix: str) -> str:
    if terminated.get("reason"):
        return prefix + str(terminated["reason"])
    if terminated.get("signal"):
        return f"{prefix}Signal:{terminated['signal']}"
    return f"{prefix}ExitCode:{terminated.get('exitCode', 0)}"


def _init_status(status: Mapping[str, Any], n_init: int) -> tuple[str | None, int]:
    """(the Init:... reason, or None once every init container succeeded;
    the restarts counted up to there)."""
    restarts = 0
    for index, container in enumerate(sequence(status.get("initContainerStatuses"))):
        container = mapping(container)
        restarts += count(container.get("restartCount"))
        state = mapping(container.get("state"))
        terminated = state.get("terminated")
        waiting = mapping(state.get("waiting"))
        if isinstance(terminated, dict) and not terminated.get("exitCode"):
            continue
        if isinstance(terminated, dict):
            return _terminated_text(terminated, "Init:"), restarts
        if waiting.get("reason") and waiting["reason"] != "PodInitializing":
            return f"Init:{waiting['reason']}", restarts
        return f"Init:{index}/{n_init}", restarts
    return None, restarts


def _app_status(pod: Mapping[str, Any], reason: str) -> tuple[str, int, int]:
    """(reason, ready containers, restarts) from the app containers."""
    status = mapping(pod.get("status"))
    ready = restarts = 0
    running = False
    for container in reversed(sequence(status.get("containerStatuses"))):
        container = mapping(container)
        restarts += count(container.get("restartCount"))
        state = mapping(container.get("state"))
        waiting, terminated = state.get("waiting"), state.get("terminated")
        if isinstance(waiting, dict) and waiting.get("reason"):
            reason = str(waiting["reason"])
        elif isinstance(terminated, dict):
            reason = _terminated_text(terminated, "")
        elif container.get("ready") and isinstance(state.get("running"), dict):
            running = True
            ready += 1
    if reason == "Completed" and running:
        reason = "Running" if _pod_ready(status) else "NotReady"
    return reason, ready, restarts


def _pod_ready(status: Mapping[str, Any]) -> bool:
    return any(
        mapping(c).get("type") == "Ready" and mapping(c).get("status") == "True"
        for c in sequence(status.get("conditions"))
    )


def _readiness_gates(spec: Mapping[str, Any], status: Mapping[str, Any]) -> str:
    gates = sequence(spec.get("readinessGates"))
    if not gates:
        return "<none>"
    first: dict[Any, Any] = {}  # a condition type -> the status of its first entry
    for condition in sequence(status.get("conditions")):
        first.setdefault(mapping(condition).get("type"), mapping(condition).get("status"))
    true = sum(first.get(mapping(gate).get("conditionType")) == "True" for gate in gates)
    return f"{true}/{len(gates)}"


def _cells(pod: dict[str, Any], now: float) -> list[Any]:
    meta, spec, status = (
        mapping(pod.get("metadata")),
        mapping(pod.get("spec")),
        mapping(pod.get("status")),
    )
    reason = str(status.get("reason") or status.get("phase") or "")
    init_reason, restarts = _init_status(status, len(sequence(spec.get("initContainers"))))
    ready = 0
    if init_reason is not None:
        reason = init_reason
    else:
        reason, ready, restarts = _app_status(pod, reason)
    if meta.get("deletionTimestamp"):
        reason = "Unknown" if status.get("reason") == _NODE_LOST else "Terminating"
    ips = sequence(status.get("podIPs"))
    return [
        meta.get("name", ""),
        f"{ready}/{len(sequence(spec.get('containers')))}",
        reason,
        restarts,
        age(meta.get("creationTimestamp"), now),
        (mapping(ips[0]).get("ip") if ips else "") or "<none>",
        spec.get("nodeName") or "<none>",
        status.get("nominatedNodeName") or "<none>",
        _readiness_gates(spec, status),
    ]


def _conditions(pod: dict[str, Any]) -> list[dict[str, str]] | None:
    phase = mapping(pod.get("status")).get("phase")
    return _SUCCEEDED if phase == "Succeeded" else _FAILED if phase == "Failed" else None


POD_PRINTER = Printer(_COLUMNS, _cells, _conditions)
