"""The official Python client against the simulator: CRUD, paging, watch."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from watchcache.testing import BackgroundSimulator

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
