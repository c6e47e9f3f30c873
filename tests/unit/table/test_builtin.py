"""Built-in printers other than pods: one hand-checked row per case."""

from __future__ import annotations

from typing import Any

import pytest

from watchcache.table import BUILTIN_PRINTERS, DEFAULT_PRINTER, printer_for
from watchcache.table.duration import parse_time

CREATED = "2020-01-01T00:00:00Z"
NOW = (parse_time(CREATED) or 0.0) + 3 * 3600 + 20 * 60  # AGE 3h20m
AGE = "3h20m"


def row(group: str, resource: str, obj: dict[str, Any]) -> list[Any]:
    printer = printer_for(group, resource)
    assert printer is not None
    obj = {
        "metadata": {"name": "x", "creationTimestamp": CREATED, **obj.pop("metadata", {})},
        **obj,
    }
    cells = printer.cells(obj, NOW)
    assert len(cells) == len(printer.columns)
    return cells


def test_every_printer_has_a_name_column_and_fills_every_cell_of_an_empty_object() -> None:
    for printer in BUILTIN_PRINTERS.values():
        assert [c.format for c in printer.columns].count("name") == 1
        assert len(printer.cells({}, NOW)) == len(printer.columns)


def test_unknown_builtins_go_upstream() -> None:
    assert printer_for("networking.k8s.io", "ingresses") is None
    assert printer_for("", "resourcequotas") is None


def test_nodes() -> None:
    node = {
        "metadata": {
            "labels": {
                "node-role.kubernetes.io/worker": "",
                "node-role.kubernetes.io/master": "",
                "node-role.kubernetes.io/": "ignored",
                "kubernetes.io/role": "edge",
            }
        },
        "spec": {"unschedulable": True},
        "status": {
            "conditions": [
                {"type": "DiskPressure", "status": "True"},
                {"type": "Ready", "status": "False"},
            ],
            "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}],
            "nodeInfo": {"kubeletVersion": "v1.20.2", "osImage": "Ubuntu"},
        },
    }
    assert row("", "nodes", node) == [
        "x",
        "NotReady,SchedulingDisabled",
        "edge,master,worker",
        AGE,
        "v1.20.2",
        "10.0.0.1",
        "<none>",
        "Ubuntu",
        "<unknown>",
        "<unknown>",
    ]
    assert row("", "nodes", {})[1:3] == ["Unknown", "<none>"]


@pytest.mark.parametrize(
    ("spec", "status", "expected"),
    [
        (
            {
                "type": "ClusterIP",
                "clusterIPs": ["10.96.0.9"],
                "ports": [{"port": 80, "protocol": "TCP"}],
                "selector": {"b": "2", "a": "1"},
            },
            {},
            ["ClusterIP", "10.96.0.9", "<none>", "80/TCP", AGE, "a=1,b=2"],
        ),
        (
            {
                "type": "NodePort",
                "clusterIPs": ["None"],
                "externalIPs": ["1.1.1.1", "2.2.2.2"],
                "ports": [{"port": 80, "nodePort": 30001, "protocol": "UDP"}],
            },
            {},
            ["NodePort", "None", "1.1.1.1,2.2.2.2", "80:30001/UDP", AGE, "<none>"],
        ),
        (
            {"type": "LoadBalancer", "externalIPs": ["9.9.9.9"]},
            {
                "loadBalancer": {
                    "ingress": [{"hostname": "b.example"}, {"ip": "3.3.3.3"}, {"ip": "3.3.3.3"}, {}]
                }
            },
            ["LoadBalancer", "<none>", "3.3.3.3,b.example,9.9.9.9", "<none>", AGE, "<none>"],
        ),
        (
            {"type": "LoadBalancer"},
            {},
            ["LoadBalancer", "<none>", "<pending>", "<none>", AGE, "<none>"],
        ),
        (
            {"type": "ExternalName", "externalName": "a.example"},
            {},
            ["ExternalName", "<none>", "a.example", "<none>", AGE, "<none>"],
        ),
        ({}, {}, ["", "<none>", "<unknown>", "<none>", AGE, "<none>"]),
    ],
)
def test_services(spec: dict[str, Any], status: dict[str, Any], expected: list[Any]) -> None:
    assert row("", "services", {"spec": spec, "status": status})[1:] == expected


def test_endpoints() -> None:
    subsets = [
        {
            "addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}],
            "ports": [{"port": 80}, {"port": 81}],
        },
        {
            "addresses": [{"ip": "fd00::1"}],
            "ports": [{"port": 90}],
            "notReadyAddresses": [{"ip": "1.1.1.1"}],
        },
    ]
    assert (
        row("", "endpoints", {"subsets": subsets})[1]
        == "10.0.0.1:80,10.0.0.2:80,10.0.0.1:81 + 2 more..."
    )
    assert row("", "endpoints", {"subsets": subsets[1:]})[1] == "[fd00::1]:90"
    assert row("", "endpoints", {})[1] == "<none>"
    assert row("", "endpoints", {"subsets": [{"notReadyAddresses": [{"ip": "1.1.1.1"}]}]})[1] == ""


def test_configmaps_secrets_service_accounts() -> None:
    assert row("", "configmaps", {"data": {"a": "", "b": ""}, "binaryData": {"c": ""}}) == [
        "x",
        3,
        AGE,
    ]
    assert row("", "secrets", {"type": "Opaque", "data": {"a": ""}}) == ["x", "Opaque", 1, AGE]
    assert row("", "serviceaccounts", {"secrets": [{"name": "a"}]}) == ["x", 1, AGE]


def test_namespaces_and_leases() -> None:
    assert row("", "namespaces", {"status": {"phase": "Terminating"}}) == ["x", "Terminating", AGE]
    lease = row("coordination.k8s.io", "leases", {"spec": {"holderIdentity": "me"}})
    assert lease == ["x", "me", AGE]
    assert row("coordination.k8s.io", "leases", {"spec": {}})[1] == ""


def test_events() -> None:
    event = {
        "involvedObject": {"kind": "Pod", "name": "web", "fieldPath": "spec.containers{a}"},
        "reason": "BackOff",
        "message": " restarting \n",
        "type": "Warning",
        "source": {"component": "kubelet", "host": "n1"},
        "count": 5,
        "firstTimestamp": "2020-01-01T00:00:00Z",
        "lastTimestamp": "2020-01-01T03:00:00Z",
    }
    assert row("", "events", event) == [
        "20m",
        "Warning",
        "BackOff",
        "pod/web",
        "spec.containers{a}",
        "kubelet, n1",
        "restarting",
        AGE,
        5,
        "x",
    ]
    new_api = {
        "involvedObject": {"kind": "Node"},
        "eventTime": "2020-01-01T03:10:00.000000Z",
        "reportingComponent": "ctl",
        "reportingInstance": "ctl-1",
    }
    cells = row("", "events", new_api)
    assert (cells[0], cells[3], cells[5], cells[7], cells[8]) == (
        "10m",
        "node",
        "ctl, ctl-1",
        "10m",
        1,
    )
    series = {**new_api, "series": {"count": 7, "lastObservedTime": "2020-01-01T03:19:00.000000Z"}}
    assert (row("", "events", series)[0], row("", "events", series)[8]) == ("60s", 8)


TEMPLATE = {
    "metadata": {"labels": {"app": "w"}},
    "spec": {"containers": [{"name": "a", "image": "img-a"}, {"name": "b", "image": "img-b"}]},
}
SELECTOR = {
    "matchLabels": {"app": "w"},
    "matchExpressions": [
        {"key": "tier", "operator": "NotIn", "values": ["b", "a"]},
        {"key": "gone", "operator": "DoesNotExist"},
    ],
}


def test_workloads() -> None:
    rs = {
        "spec": {"replicas": 3, "selector": SELECTOR, "template": TEMPLATE},
        "status": {"replicas": 2, "readyReplicas": 1},
    }
    wide = ["a,b", "img-a,img-b", "app=w,!gone,tier notin (a,b)"]
    assert row("apps", "replicasets", rs) == ["x", 3, 2, 1, AGE, *wide]
    dep = {**rs, "status": {"readyReplicas": 1, "updatedReplicas": 2, "availableReplicas": 1}}
    assert row("apps", "deployments", dep) == ["x", "1/3", 2, 1, AGE, *wide]
    sts = {"spec": {"replicas": 2, "template": TEMPLATE}, "status": {"readyReplicas": 2}}
    assert row("apps", "statefulsets", sts) == ["x", "2/2", AGE, "a,b", "img-a,img-b"]
    ds_template = {**TEMPLATE, "spec": {**TEMPLATE["spec"], "nodeSelector": {"disk": "ssd"}}}
    ds = {
        "spec": {"selector": {"matchLabels": {"app": "w"}}, "template": ds_template},
        "status": {
            "desiredNumberScheduled": 5,
            "currentNumberScheduled": 4,
            "numberReady": 3,
            "updatedNumberScheduled": 2,
            "numberAvailable": 1,
        },
    }
    assert row("apps", "daemonsets", ds) == [
        "x",
        5,
        4,
        3,
        2,
        1,
        "disk=ssd",
        AGE,
        "a,b",
        "img-a,img-b",
        "app=w",
    ]


def test_jobs_and_cronjobs() -> None:
    job = {
        "spec": {"completions": 3, "template": TEMPLATE, "selector": {"matchLabels": {"c": "1"}}},
        "status": {
            "succeeded": 1,
            "startTime": "2020-01-01T00:00:00Z",
            "completionTime": "2020-01-01T00:02:30Z",
        },
    }
    assert row("batch", "jobs", job) == ["x", "1/3", "2m30s", AGE, "a,b", "img-a,img-b", "c=1"]
    running = {"spec": {"parallelism": 4}, "status": {"startTime": "2020-01-01T03:00:00Z"}}
    assert row("batch", "jobs", running)[1:3] == ["0/1 of 4", "20m"]
    assert row("batch", "jobs", {"spec": {"parallelism": 1}})[1:3] == ["0/1", ""]
    cron = {
        "spec": {
            "schedule": "@daily",
            "suspend": False,
            "jobTemplate": {"spec": {"template": TEMPLATE}},
        },
        "status": {"active": [{}, {}], "lastScheduleTime": "2020-01-01T03:15:00Z"},
    }
    assert row("batch", "cronjobs", cron) == [
        "x",
        "@daily",
        "False",
        2,
        "5m",
        AGE,
        "a,b",
        "img-a,img-b",
        "<none>",
    ]
    assert row("batch", "cronjobs", {})[2:5] == ["<unset>", 0, "<none>"]


def test_pod_templates() -> None:
    assert row("", "podtemplates", {"template": TEMPLATE}) == ["x", "a,b", "img-a,img-b", "app=w"]


def test_volumes_and_claims() -> None:
    pv = {
        "spec": {
            "capacity": {"storage": "1Gi"},
            "accessModes": ["ReadWriteMany", "ReadWriteOnce", "ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Retain",
            "claimRef": {"namespace": "ns", "name": "c"},
            "storageClassName": "fast",
            "volumeMode": "Block",
        },
        "status": {"phase": "Bound"},
    }
    assert row("", "persistentvolumes", pv) == [
        "x",
        "1Gi",
        "RWO,RWX",
        "Retain",
        "Bound",
        "ns/c",
        "fast",
        "",
        AGE,
        "Block",
    ]
    legacy = {
        "metadata": {
            "annotations": {"volume.beta.kubernetes.io/storage-class": "old"},
            "deletionTimestamp": CREATED,
        }
    }
    assert row("", "persistentvolumes", legacy) == [
        "x",
        "0",
        "",
        "",
        "Terminating",
        "",
        "old",
        "",
        AGE,
        "<unset>",
    ]
    claim = {
        "spec": {"resources": {"requests": {"storage": "1Gi"}}, "storageClassName": "fast"},
        "status": {"phase": "Pending"},
    }
    assert row("", "persistentvolumeclaims", claim) == [
        "x",
        "Pending",
        "",
        "",
        "",
        "fast",
        AGE,
        "<unset>",
    ]
    bound = {
        "spec": {"volumeName": "v"},
        "status": {"phase": "Bound", "accessModes": ["ReadOnlyMany"]},
    }
    assert row("", "persistentvolumeclaims", bound)[1:6] == ["Bound", "v", "0", "ROX", ""]


def test_endpoint_slices() -> None:
    eps = {
        "addressType": "IPv4",
        "ports": [{"port": 80}, {"name": "n"}, {}, {"port": 1}],
        "endpoints": [{"addresses": ["a", "b"]}, {"addresses": ["c"]}, {"addresses": ["d"]}],
    }
    assert row("discovery.k8s.io", "endpointslices", eps) == [
        "x",
        "IPv4",
        "80,n,* + 1 more...",
        "a,b,c + 1 more...",
        AGE,
    ]
    assert row("discovery.k8s.io", "endpointslices", {"addressType": "FQDN"})[2:4] == [
        "<unset>",
        "<unset>",
    ]


def test_default_table() -> None:
    assert [c.name for c in DEFAULT_PRINTER.columns] == ["Name", "Created At"]
    assert DEFAULT_PRINTER.cells(
        {"metadata": {"name": "r", "creationTimestamp": CREATED}}, NOW
    ) == ["r", CREATED]
    assert DEFAULT_PRINTER.cells({"metadata": {"name": "r"}}, NOW) == ["r", "0001-01-01T00:00:00Z"]
