"""The official Python client against the simulator: CRUD, paging, watch."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from watchcache.simulator import BackgroundSimulator

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def core() -> Iterator[client.CoreV1Api]:
    with BackgroundSimulator() as sim:
        configuration = client.Configuration()
        configuration.host = sim.url
        api = client.ApiClient(configuration)
        try:
            yield client.CoreV1Api(api)
        finally:
            api.close()


def _pod(name: str) -> client.V1Pod:
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, labels={"app": "py"}),
        spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="busybox")]),
    )


def test_create_read_page_and_delete(core: client.CoreV1Api) -> None:
    for name in ("a", "b", "c"):
        core.create_namespaced_pod("default", _pod(name))
    first = core.list_namespaced_pod("default", limit=2)
    assert [p.metadata.name for p in first.items] == ["a", "b"]
    assert first.metadata.remaining_item_count == 1
    rest = core.list_namespaced_pod("default", limit=2, _continue=first.metadata._continue)
    assert [p.metadata.name for p in rest.items] == ["c"]
    assert core.read_namespaced_pod("b", "default").spec.restart_policy == "Always"
    core.delete_namespaced_pod("c", "default")
    with pytest.raises(ApiException) as caught:
        core.read_namespaced_pod("c", "default")
    assert caught.value.status == 404


def test_watch_from_list_rv(core: client.CoreV1Api) -> None:
    listed = core.list_namespaced_pod("default")
    core.create_namespaced_pod("default", _pod("w"))
    events = watch.Watch().stream(
        core.list_namespaced_pod,
        "default",
        resource_version=listed.metadata.resource_version,
        timeout_seconds=1,
    )
    seen = [(e["type"], e["object"].metadata.name) for e in events]
    assert seen == [("ADDED", "w")]


def test_conflict_on_stale_update(core: client.CoreV1Api) -> None:
    created = core.create_namespaced_pod("default", _pod("u"))
    created.metadata.labels = {"v": "1"}
    core.replace_namespaced_pod("u", "default", created)
    with pytest.raises(ApiException) as caught:
        core.replace_namespaced_pod("u", "default", created)
    assert caught.value.status == 409


def test_patch_kinds(core: client.CoreV1Api) -> None:
    core.create_namespaced_pod("default", _pod("p"))
    strategic = {"spec": {"containers": [{"name": "c", "image": "busybox:2"}]}}
    core.patch_namespaced_pod(
        "p", "default", strategic, _content_type="application/strategic-merge-patch+json"
    )
    merge = {"metadata": {"labels": {"m": "1"}}}
    core.patch_namespaced_pod("p", "default", merge, _content_type="application/merge-patch+json")
    ops = [{"op": "add", "path": "/metadata/labels/j", "value": "1"}]
    patched = core.patch_namespaced_pod(
        "p", "default", ops, _content_type="application/json-patch+json"
    )
    assert [(c.name, c.image) for c in patched.spec.containers] == [("c", "busybox:2")]
    assert patched.metadata.labels == {"app": "py", "m": "1", "j": "1"}


def test_server_side_apply(core: client.CoreV1Api) -> None:
    def config(**data: str) -> dict[str, object]:
        return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"}, "data": data}

    apply = {"_content_type": "application/apply-patch+yaml"}
    created = core.patch_namespaced_config_map(
        "ssa", "default", config(a="1", b="2"), field_manager="py", **apply
    )
    assert created.data == {"a": "1", "b": "2"}
    assert [m.manager for m in created.metadata.managed_fields] == ["py"]
    updated = core.patch_namespaced_config_map(
        "ssa", "default", config(a="1"), field_manager="py", **apply
    )
    assert updated.data == {"a": "1"}
    with pytest.raises(ApiException) as caught:
        core.patch_namespaced_config_map(
            "ssa", "default", config(a="2"), field_manager="other", **apply
        )
    assert caught.value.status == 409


def test_deployments_through_apps_v1(core: client.CoreV1Api) -> None:
    apps = client.AppsV1Api(core.api_client)
    labels = {"app": "d"}
    template = client.V1PodTemplateSpec(
        metadata=client.V1ObjectMeta(labels=labels),
        spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="busybox")]),
    )
    body = client.V1Deployment(
        metadata=client.V1ObjectMeta(name="d"),
        spec=client.V1DeploymentSpec(
            replicas=1, selector=client.V1LabelSelector(match_labels=labels), template=template
        ),
    )
    apps.create_namespaced_deployment("default", body)
    scaled = apps.patch_namespaced_deployment_scale(
        "d", "default", {"spec": {"replicas": 4}}, _content_type="application/merge-patch+json"
    )
    assert scaled.spec.replicas == 4
    assert apps.read_namespaced_deployment("d", "default").spec.replicas == 4
    apps.delete_namespaced_deployment("d", "default")
    assert [d.metadata.name for d in apps.list_namespaced_deployment("default").items] == []


def test_watch_sees_modify_and_delete(core: client.CoreV1Api) -> None:
    created = core.create_namespaced_pod("default", _pod("wm"))
    core.patch_namespaced_pod(
        "wm",
        "default",
        {"metadata": {"labels": {"x": "1"}}},
        _content_type="application/merge-patch+json",
    )
    core.delete_namespaced_pod("wm", "default")
    events = watch.Watch().stream(
        core.list_namespaced_pod,
        "default",
        resource_version=created.metadata.resource_version,
        field_selector="metadata.name=wm",
        timeout_seconds=1,
    )
    assert [e["type"] for e in events] == ["MODIFIED", "DELETED"]


def test_the_demos_nodes_and_pods_decode() -> None:
    """The typed client checks the fields the API marks required: the
    demo's nodes once lacked most of nodeInfo (machineID, kernelVersion,
    ...) and list_node failed validation."""
    from watchcache.simulator import DemoWorkload

    with BackgroundSimulator() as sim:
        workload = sim.call(lambda s: DemoWorkload(s, seed=3))
        for _ in range(40):  # created, bound, Running, deleting, deleted
            sim.call(lambda s: workload.step())
        configuration = client.Configuration()
        configuration.host = sim.url
        with client.ApiClient(configuration) as api:
            core = client.CoreV1Api(api)
            nodes = core.list_node()
            pods = core.list_pod_for_all_namespaces()
    assert len(nodes.items) == 3
    assert all(n.status.node_info.kubelet_version for n in nodes.items)
    running = [p for p in pods.items if p.status.phase == "Running"]
    assert running
    for pod in running:
        types = {c.type for c in pod.status.conditions if c.status == "True"}
        assert types == {"Initialized", "Ready", "ContainersReady", "PodScheduled"}
