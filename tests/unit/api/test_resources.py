"""The kinds table, field values and request-path parsing."""

from __future__ import annotations

import pytest

from watchcache.api.resources import (
    GroupVersionResource,
    RequestPath,
    builtin_resource,
    builtin_resources,
    field_values,
    parse_path,
    resource_info,
)

PODS = GroupVersionResource("", "v1", "pods")


def test_pod_info() -> None:
    info = builtin_resource(PODS)
    assert info is not None
    assert (info.kind, info.list_kind, info.namespaced) == ("Pod", "PodList", True)
    assert info.trigger_field == "spec.nodeName"
    assert info.field_defaults["spec.restartPolicy"] == "Always"
    assert info.field_defaults["spec.schedulerName"] == "default-scheduler"
    assert info.field_defaults["spec.serviceAccountName"] == ""


def test_api_version_and_prefix_of_the_core_group_and_a_named_one() -> None:
    deployments = GroupVersionResource("apps", "v1", "deployments")
    assert (PODS.api_version, PODS.api_prefix) == ("v1", "/api/v1")
    assert (deployments.api_version, deployments.api_prefix) == ("apps/v1", "/apis/apps/v1")
    for gvr in (PODS, deployments):
        parsed = parse_path(f"{gvr.api_prefix}/{gvr.resource}")
        assert parsed is not None and parsed.gvr == gvr


def test_every_builtin_selects_by_name_and_is_unique() -> None:
    seen = set()
    for info in builtin_resources():
        assert "metadata.name" in info.field_defaults
        assert info.builtin
        assert info.gvr not in seen
        seen.add(info.gvr)


@pytest.mark.parametrize(
    ("gvr", "namespace_selectable"),
    [
        (GroupVersionResource("", "v1", "nodes"), False),
        (GroupVersionResource("", "v1", "namespaces"), False),
        (GroupVersionResource("", "v1", "persistentvolumes"), True),
        (GroupVersionResource("apps", "v1", "deployments"), True),
    ],
)
def test_metadata_namespace_label_as_kube_registers_it(
    gvr: GroupVersionResource, namespace_selectable: bool
) -> None:
    info = builtin_resource(gvr)
    assert info is not None
    assert ("metadata.namespace" in info.field_defaults) is namespace_selectable


def test_unknown_version_is_not_builtin_but_gets_generic_info() -> None:
    gvr = GroupVersionResource("example.com", "v1", "widgets")
    assert builtin_resource(gvr) is None
    info = resource_info(gvr, "Widget")
    assert (info.kind, info.list_kind, info.builtin) == ("Widget", "WidgetList", False)
    assert dict(info.field_defaults) == {"metadata.name": "", "metadata.namespace": ""}


def test_pod_field_values_use_defaults_and_pod_ips() -> None:
    info = resource_info(PODS)
    pod = {
        "metadata": {"name": "p", "namespace": "ns"},
        "spec": {"nodeName": "n1", "hostNetwork": True},
        "status": {"phase": "Running", "podIP": "9.9.9.9", "podIPs": [{"ip": "10.0.0.1"}]},
    }
    assert field_values(info, pod) == {
        "metadata.name": "p",
        "metadata.namespace": "ns",
        "spec.nodeName": "n1",
        "spec.restartPolicy": "Always",
        "spec.schedulerName": "default-scheduler",
        "spec.serviceAccountName": "",
        "spec.hostNetwork": "true",
        "status.phase": "Running",
        "status.podIP": "10.0.0.1",
        "status.nominatedNodeName": "",
    }


def test_numbers_and_bools_render_like_go() -> None:
    node = resource_info(GroupVersionResource("", "v1", "nodes"))
    assert field_values(node, {"metadata": {"name": "n"}})["spec.unschedulable"] == "false"
    job = resource_info(GroupVersionResource("batch", "v1", "jobs"))
    assert field_values(job, {"status": {"successful": 3}})["status.successful"] == "3"
    assert field_values(job, {})["status.successful"] == "0"


def test_event_source_falls_back_to_reporting_component() -> None:
    events = resource_info(GroupVersionResource("", "v1", "events"))
    assert field_values(events, {"reportingComponent": "kubelet"})["source"] == "kubelet"
    values = field_values(
        events, {"source": {"component": "sched"}, "involvedObject": {"kind": "Pod"}}
    )
    assert values["source"] == "sched" and values["involvedObject.kind"] == "Pod"


def test_unsupported_field_wording_per_kind() -> None:
    pods = resource_info(PODS)
    assert pods.unsupported_field("zz").message == "field label not supported: zz"
    deploy = resource_info(GroupVersionResource("apps", "v1", "deployments"))
    assert deploy.unsupported_field("zz").message == (
        '"zz" is not a known field selector: only "metadata.name", "metadata.namespace"'
    )
    jobs = resource_info(GroupVersionResource("batch", "v1", "jobs"))
    assert jobs.unsupported_field("zz").message == 'field label "zz" not supported for batchv1.Job'
    assert jobs.unsupported_field("zz").code == 400


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/api/v1/pods", RequestPath(PODS, "", "", "")),
        ("/api/v1/namespaces/ns/pods", RequestPath(PODS, "ns", "", "")),
        ("/api/v1/namespaces/ns/pods/p", RequestPath(PODS, "ns", "p", "")),
        ("/api/v1/namespaces/ns/pods/p/status", RequestPath(PODS, "ns", "p", "status")),
        ("/api/v1/watch/namespaces/ns/pods", RequestPath(PODS, "ns", "", "", True)),
        ("/api/v1/watch/pods", RequestPath(PODS, "", "", "", True)),
        (
            "/api/v1/nodes/n1",
            RequestPath(GroupVersionResource("", "v1", "nodes"), "", "n1", ""),
        ),
        (
            "/api/v1/namespaces/ns",
            RequestPath(GroupVersionResource("", "v1", "namespaces"), "", "ns", ""),
        ),
        (
            "/api/v1/namespaces/ns/finalize",
            RequestPath(GroupVersionResource("", "v1", "namespaces"), "", "ns", "finalize"),
        ),
        (
            "/apis/apps/v1/namespaces/ns/deployments/d/scale",
            RequestPath(GroupVersionResource("apps", "v1", "deployments"), "ns", "d", "scale"),
        ),
        (
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            RequestPath(
                GroupVersionResource("apiextensions.k8s.io", "v1", "customresourcedefinitions"),
                "",
                "",
                "",
            ),
        ),
        ("/api/v1/pods?watch=1", RequestPath(PODS, "", "", "")),
    ],
)
def test_parse_resource_paths(path: str, expected: RequestPath) -> None:
    assert parse_path(path) == expected


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/api",
        "/api/v1",
        "/apis",
        "/apis/apps",
        "/apis/apps/v1",
        "/version",
        "/healthz",
        "/openapi/v2",
        "/api/v1/watch",
        "/api/v1//pods",
        "/api/v1/namespaces/ns/pods/p/log/extra",
    ],
)
def test_non_resource_paths(path: str) -> None:
    assert parse_path(path) is None


def test_resource_info_is_hashable() -> None:
    assert len({resource_info(PODS), resource_info(PODS)}) == 1


def test_field_values_tolerate_odd_shapes() -> None:
    info = resource_info(PODS)
    values = field_values(info, {"spec": "oops", "status": {"podIPs": "x"}, "metadata": None})
    assert values["spec.nodeName"] == "" and values["spec.restartPolicy"] == "Always"
    assert values["status.podIP"] == "" and values["metadata.name"] == ""


def test_field_values_of_a_copy_with_other_defaults_is_not_stale() -> None:
    info = resource_info(PODS)
    generic = resource_info(GroupVersionResource("example.com", "v1", "pods"))
    assert set(field_values(info, {})) != set(field_values(generic, {}))
