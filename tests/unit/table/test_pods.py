"""The pods printer: STATUS, READY, RESTARTS and the wide cells, rows
checked by hand against kube-apiserver 1.20's rules (and tests/e2e/test_table.py
against the server itself)."""

from __future__ import annotations

from typing import Any

import pytest

from watchcache.table.duration import parse_time
from watchcache.table.pods import POD_PRINTER

CREATED = "2020-01-01T00:00:00Z"
NOW = (parse_time(CREATED) or 0.0) + 90


def pod(status: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "p", "creationTimestamp": CREATED},
        "spec": {"containers": [{"name": "main"}], **spec},
        "status": status or {},
    }


def running(ready: bool = True, restarts: int = 0) -> dict[str, Any]:
    return {"state": {"running": {}}, "ready": ready, "restartCount": restarts}


def waiting(reason: str, restarts: int = 0) -> dict[str, Any]:
    return {"state": {"waiting": {"reason": reason}}, "restartCount": restarts}


def terminated(code: int = 0, reason: str = "", signal: int = 0) -> dict[str, Any]:
    state: dict[str, Any] = {"exitCode": code}
    if reason:
        state["reason"] = reason
    if signal:
        state["signal"] = signal
    return {"state": {"terminated": state}}


def cells(obj: dict[str, Any]) -> list[Any]:
    return POD_PRINTER.cells(obj, NOW)


def test_a_new_pod() -> None:
    assert cells(pod()) == ["p", "0/1", "", 0, "90s", "<none>", "<none>", "<none>", "<none>"]


def test_the_wide_cells() -> None:
    obj = pod(
        {"podIPs": [{"ip": "10.0.0.1"}, {"ip": "fd00::1"}], "podIP": "9.9.9.9"},
        nodeName="n1",
    )
    obj["status"]["nominatedNodeName"] = "n2"
    assert cells(obj)[5:8] == ["10.0.0.1", "n1", "n2"]


TWO = [{"name": "a"}, {"name": "b"}]


@pytest.mark.parametrize(
    ("containers", "status", "expected"),
    [
        # The first container with something to say wins (read last to first).
        (
            TWO,
            {
                "phase": "Running",
                "containerStatuses": [waiting("ErrImagePull"), waiting("Crash", 3)],
            },
            ("0/2", "ErrImagePull", 3),
        ),
        (
            TWO,
            {"phase": "Running", "containerStatuses": [running(), running(False, 2)]},
            ("1/2", "Running", 2),
        ),
        (None, {"phase": "Failed", "containerStatuses": [terminated(2)]}, ("0/1", "ExitCode:2", 0)),
        (
            None,
            {"phase": "Failed", "containerStatuses": [terminated(0, signal=9)]},
            ("0/1", "Signal:9", 0),
        ),
        (None, {"phase": "Failed", "reason": "Evicted"}, ("0/1", "Evicted", 0)),
        # Completed while another container still runs: Running or NotReady.
        (
            TWO,
            {
                "phase": "Running",
                "conditions": [{"type": "Ready", "status": "True"}],
                "containerStatuses": [running(), terminated(0, "Completed")],
            },
            ("1/2", "Running", 0),
        ),
        (
            TWO,
            {"phase": "Running", "containerStatuses": [running(), terminated(0, "Completed")]},
            ("1/2", "NotReady", 0),
        ),
        (
            None,
            {"phase": "Succeeded", "containerStatuses": [terminated(0, "Completed")]},
            ("0/1", "Completed", 0),
        ),
    ],
)
def test_app_containers(containers: Any, status: dict[str, Any], expected: tuple[Any, ...]) -> None:
    obj = pod(status) if containers is None else pod(status, containers=containers)
    assert tuple(cells(obj)[1:4]) == expected


INIT = [{"name": "i1"}, {"name": "i2"}]


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([terminated(0), running(restarts=1)], ("Init:1/2", 1)),
        ([{**terminated(1, "Error"), "restartCount": 4}, running(restarts=9)], ("Init:Error", 4)),
        ([terminated(137, signal=9)], ("Init:Signal:9", 0)),
        ([terminated(3)], ("Init:ExitCode:3", 0)),
        ([waiting("ErrImagePull", 2)], ("Init:ErrImagePull", 2)),
        ([waiting("PodInitializing")], ("Init:0/2", 0)),
    ],
)
def test_init_containers(statuses: list[dict[str, Any]], expected: tuple[str, int]) -> None:
    status = {
        "phase": "Pending",
        "initContainerStatuses": statuses,
        "containerStatuses": [waiting("PodInitializing", 7)],
    }
    row = cells(pod(status, initContainers=INIT))
    assert (row[2], row[3]) == expected
    assert row[1] == "0/1"


def test_init_done_counts_app_restarts_only() -> None:
    status = {
        "phase": "Running",
        "initContainerStatuses": [{**terminated(0), "restartCount": 5}],
        "containerStatuses": [running(restarts=2)],
    }
    assert cells(pod(status, initContainers=INIT[:1]))[1:4] == ["1/1", "Running", 2]


def test_deletion() -> None:
    obj = pod({"phase": "Running", "containerStatuses": [running()]})
    obj["metadata"]["deletionTimestamp"] = CREATED
    assert cells(obj)[2] == "Terminating"
    obj["status"]["reason"] = "NodeLost"
    assert cells(obj)[2] == "Unknown"


def test_readiness_gates_count_the_first_condition_of_each_type() -> None:
    gates = [{"conditionType": "x/one"}, {"conditionType": "x/two"}, {"conditionType": "x/three"}]
    status = {
        "conditions": [
            {"type": "x/one", "status": "True"},
            {"type": "x/two", "status": "False"},
            {"type": "x/one", "status": "False"},
        ]
    }
    assert cells(pod(status, readinessGates=gates))[8] == "1/3"


def test_finished_pods_carry_a_completed_condition() -> None:
    succeeded = POD_PRINTER.conditions(pod({"phase": "Succeeded"}))
    failed = POD_PRINTER.conditions(pod({"phase": "Failed"}))
    assert succeeded == [
        {
            "type": "Completed",
            "status": "True",
            "reason": "Succeeded",
            "message": "The pod has completed successfully.",
        }
    ]
    assert failed and failed[0]["reason"] == "Failed"
    assert POD_PRINTER.conditions(pod({"phase": "Running"})) is None


def test_columns() -> None:
    names = [(c.name, c.type, c.format, c.priority) for c in POD_PRINTER.columns]
    assert names == [
        ("Name", "string", "name", 0),
        ("Ready", "string", "", 0),
        ("Status", "string", "", 0),
        ("Restarts", "integer", "", 0),
        ("Age", "string", "", 0),
        ("IP", "string", "", 1),
        ("Node", "string", "", 1),
        ("Nominated Node", "string", "", 1),
        ("Readiness Gates", "string", "", 1),
    ]


def test_a_malformed_pod_prints_zero_values() -> None:
    obj = {"metadata": {"name": "p"}, "spec": None, "status": {"containerStatuses": [None, 3]}}
    assert cells(obj) == ["p", "0/0", "", 0, "<unknown>", "<none>", "<none>", "<none>", "<none>"]
