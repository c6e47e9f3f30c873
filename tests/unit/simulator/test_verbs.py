"""verbs.py through HTTP: create, get, update, delete and their errors."""

from __future__ import annotations

from typing import Any

PODS = "/api/v1/namespaces/default/pods"


async def test_create_stamps_server_fields_and_global_rv(client: Any, make_pod: Any) -> None:
    code, first = await client.call("POST", PODS, make_pod("a"))
    assert code == 201
    meta = first["metadata"]
    assert meta["uid"] and meta["creationTimestamp"] == "2026-01-02T03:04:05Z"
    assert meta["generation"] == 1 and meta["namespace"] == "default"
    code, second = await client.call(
        "POST", "/api/v1/namespaces/default/configmaps", {"metadata": {"name": "c"}}
    )
    assert code == 201
    # One counter for every resource, like etcd's revision.
    assert int(second["metadata"]["resourceVersion"]) == int(meta["resourceVersion"]) + 1
    assert first["kind"] == "Pod" and first["apiVersion"] == "v1"


async def test_pod_defaults_are_what_field_selectors_read(client: Any, make_pod: Any) -> None:
    _, created = await client.call("POST", PODS, make_pod("a"))
    spec = created["spec"]
    assert spec["restartPolicy"] == "Always"
    assert spec["schedulerName"] == "default-scheduler"
    assert spec["serviceAccountName"] == "default"
    assert created["status"]["phase"] == "Pending"


async def test_generate_name_appends_five_characters(client: Any) -> None:
    code, created = await client.call(
        "POST", PODS, {"metadata": {"generateName": "web-"}, "spec": {}}
    )
    assert code == 201
    name = created["metadata"]["name"]
    assert name.startswith("web-") and len(name) == len("web-") + 5


async def test_missing_name_is_invalid(client: Any) -> None:
    code, body = await client.call("POST", PODS, {"metadata": {}})
    assert code == 422 and body["reason"] == "Invalid"


async def test_missing_namespace_is_404(client: Any, make_pod: Any) -> None:
    code, body = await client.call("POST", "/api/v1/namespaces/nope/pods", make_pod("a"))
    assert code == 404
    assert body["message"] == 'namespaces "nope" not found'
    assert body["kind"] == "Status" and body["reason"] == "NotFound"


async def test_duplicate_is_already_exists(client: Any, make_pod: Any) -> None:
    await client.call("POST", PODS, make_pod("a"))
    code, body = await client.call("POST", PODS, make_pod("a"))
    assert (code, body["reason"], body["message"]) == (
        409,
        "AlreadyExists",
        'pods "a" already exists',
    )


async def test_get_missing_is_not_found_with_group(client: Any) -> None:
    code, body = await client.call("GET", "/apis/apps/v1/namespaces/default/deployments/x")
    assert code == 404
    assert body["message"] == 'deployments.apps "x" not found'
    assert body["details"] == {"name": "x", "group": "apps", "kind": "deployments"}


async def test_update_with_stale_rv_conflicts(client: Any, make_pod: Any) -> None:
    _, created = await client.call("POST", PODS, make_pod("a"))
    stale = dict(created)
    created["metadata"]["labels"] = {"x": "1"}
    code, _updated = await client.call("PUT", PODS + "/a", created)
    assert code == 200
    stale["metadata"]["labels"] = {"x": "2"}
    code, body = await client.call("PUT", PODS + "/a", stale)
    assert code == 409 and body["reason"] == "Conflict"
    assert "the object has been modified" in body["message"]


async def test_noop_update_keeps_rv(client: Any, make_pod: Any) -> None:
    _, created = await client.call("POST", PODS, make_pod("a"))
    code, again = await client.call("PUT", PODS + "/a", created)
    assert code == 200
    assert again["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


async def test_spec_change_bumps_generation_metadata_does_not(client: Any) -> None:
    deploy = {"metadata": {"name": "d"}, "spec": {"replicas": 1}}
    path = "/apis/apps/v1/namespaces/default/deployments"
    _, created = await client.call("POST", path, deploy)
    created["metadata"]["labels"] = {"a": "b"}
    _, labelled = await client.call("PUT", path + "/d", created)
    assert labelled["metadata"]["generation"] == 1
    labelled["spec"]["replicas"] = 3
    _, scaled = await client.call("PUT", path + "/d", labelled)
    assert scaled["metadata"]["generation"] == 2


async def test_status_subresource_changes_only_status(client: Any, make_pod: Any) -> None:
    _, created = await client.call("POST", PODS, make_pod("a"))
    created["status"] = {"phase": "Running"}
    created["spec"]["nodeName"] = "ignored"
    _, updated = await client.call("PUT", PODS + "/a/status", created)
    assert updated["status"]["phase"] == "Running"
    assert "nodeName" not in updated["spec"]
    updated["status"] = {"phase": "Failed"}
    _, main = await client.call("PUT", PODS + "/a", updated)
    assert main["status"]["phase"] == "Running"


async def test_scale_subresource(client: Any) -> None:
    path = "/apis/apps/v1/namespaces/default/deployments"
    await client.call("POST", path, {"metadata": {"name": "d"}, "spec": {"replicas": 1}})
    code, scale = await client.call("GET", path + "/d/scale")
    assert code == 200 and scale["kind"] == "Scale" and scale["spec"]["replicas"] == 1
    scale["spec"]["replicas"] = 4
    code, scaled = await client.call("PUT", path + "/d/scale", scale)
    assert code == 200 and scaled["spec"]["replicas"] == 4
    _, deploy = await client.call("GET", path + "/d")
    assert deploy["spec"]["replicas"] == 4


async def test_delete_unscheduled_pod_is_immediate(client: Any, make_pod: Any) -> None:
    await client.call("POST", PODS, make_pod("a"))
    code, body = await client.call("DELETE", PODS + "/a")
    assert code == 200 and body["kind"] == "Pod"
    code, _ = await client.call("GET", PODS + "/a")
    assert code == 404


async def test_delete_bound_pod_is_graceful(client: Any, make_pod: Any) -> None:
    await client.call("POST", PODS, make_pod("a", node="n1"))
    code, marked = await client.call("DELETE", PODS + "/a")
    assert code == 200
    assert marked["metadata"]["deletionTimestamp"] == "2026-01-02T03:04:35Z"
    assert marked["metadata"]["deletionGracePeriodSeconds"] == 30
    code, _still = await client.call("GET", PODS + "/a")
    assert code == 200
    code, _ = await client.call("DELETE", PODS + "/a", {"gracePeriodSeconds": 0})
    assert code == 200
    code, _ = await client.call("GET", PODS + "/a")
    assert code == 404


async def test_finalizers_hold_deletion_until_removed(client: Any) -> None:
    path = "/api/v1/namespaces/default/configmaps"
    await client.call("POST", path, {"metadata": {"name": "c", "finalizers": ["x/y"]}})
    code, marked = await client.call("DELETE", path + "/c")
    assert code == 200 and marked["metadata"]["deletionTimestamp"]
    marked["metadata"]["finalizers"] = []
    code, _ = await client.call("PUT", path + "/c", marked)
    assert code == 200
    code, _ = await client.call("GET", path + "/c")
    assert code == 404


async def test_delete_configmap_answers_success_status(client: Any) -> None:
    path = "/api/v1/namespaces/default/configmaps"
    _, created = await client.call("POST", path, {"metadata": {"name": "c"}})
    code, body = await client.call("DELETE", path + "/c")
    assert code == 200
    assert body["status"] == "Success"
    assert body["details"] == {"name": "c", "kind": "configmaps", "uid": created["metadata"]["uid"]}


async def test_delete_precondition_uid_conflicts(client: Any) -> None:
    path = "/api/v1/namespaces/default/configmaps"
    await client.call("POST", path, {"metadata": {"name": "c"}})
    code, body = await client.call("DELETE", path + "/c", {"preconditions": {"uid": "other"}})
    assert code == 409 and "Precondition failed" in body["message"]


async def test_deletecollection_with_selector(client: Any, make_pod: Any) -> None:
    await client.call("POST", PODS, make_pod("a", labels={"app": "x"}))
    await client.call("POST", PODS, make_pod("b", labels={"app": "y"}))
    code, body = await client.call("DELETE", PODS, labelSelector="app=x")
    assert code == 200 and [i["metadata"]["name"] for i in body["items"]] == ["a"]
    _, listed = await client.call("GET", PODS)
    assert [i["metadata"]["name"] for i in listed["items"]] == ["b"]


async def test_deleting_namespace_removes_its_objects(client: Any, make_pod: Any) -> None:
    await client.call("POST", "/api/v1/namespaces", {"metadata": {"name": "t"}})
    await client.call("POST", "/api/v1/namespaces/t/pods", make_pod("a"))
    code, _ = await client.call("DELETE", "/api/v1/namespaces/t")
    assert code == 200
    _, listed = await client.call("GET", "/api/v1/pods")
    assert listed["items"] == []


async def test_unknown_kind_is_stored_as_given(client: Any) -> None:
    path = "/apis/example.com/v1/namespaces/default/widgets"
    body = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {"size": 3},
    }
    code, created = await client.call("POST", path, body)
    assert code == 201 and created["spec"] == {"size": 3}
    _, listed = await client.call("GET", path)
    # Custom resources' list items keep kind and apiVersion.
    assert listed["kind"] == "WidgetList" and listed["items"][0]["kind"] == "Widget"


async def test_unknown_resource_never_written_is_404(client: Any) -> None:
    code, body = await client.call("GET", "/apis/example.com/v1/gadgets")
    assert code == 404 and body["kind"] == "Status"


async def test_yaml_body_is_unsupported_media_type(client: Any) -> None:
    code, body = await client.call("POST", PODS, b"kind: Pod", content_type="application/yaml")
    assert code == 415 and body["reason"] == "UnsupportedMediaType"


async def test_one_store_answers_at_each_requested_version(client: Any) -> None:
    """kubectl 1.20 writes cronjobs as batch/v1beta1, newer ones as
    batch/v1: each must read its own version back."""
    old, new = (
        "/apis/batch/v1beta1/namespaces/default/cronjobs",
        "/apis/batch/v1/namespaces/default/cronjobs",
    )
    spec = {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": {}}}}}
    code, created = await client.call("POST", old, {"metadata": {"name": "a"}, "spec": spec})
    assert code == 201 and created["apiVersion"] == "batch/v1beta1"
    code, created = await client.call("POST", new, {"metadata": {"name": "b"}, "spec": spec})
    assert code == 201 and created["apiVersion"] == "batch/v1"
    _, got = await client.call("GET", f"{new}/a")
    _, listed = await client.call("GET", new)
    assert (got["apiVersion"], listed["apiVersion"]) == ("batch/v1", "batch/v1")
    assert [i["metadata"]["name"] for i in listed["items"]] == ["a", "b"]
    events = await client.lines(new, watch="1", resourceVersion="0", timeoutSeconds="1")
    assert [e["object"]["apiVersion"] for e in events] == ["batch/v1", "batch/v1"]
    _, old_list = await client.call("GET", old)
    assert old_list["apiVersion"] == "batch/v1beta1"


async def test_dry_run_writes_nothing_and_tells_no_watcher(
    client: Any, sim: Any, make_pod: Any
) -> None:
    """dryRun=All on every writing verb, including a namespace's delete,
    which would empty the namespace: the store, its RV and its event logs
    are untouched."""
    await client.call("POST", "/api/v1/namespaces", {"metadata": {"name": "n"}})
    await client.call("POST", "/api/v1/namespaces/n/pods", make_pod("a"))
    rv, events = sim.store.rv, sum(len(c.log) for c in sim.store.collections.values())
    code, created = await client.call("POST", PODS, make_pod("b"), dryRun="All")
    assert code == 201 and "resourceVersion" not in created["metadata"]
    code, _ = await client.call(
        "PATCH",
        "/api/v1/namespaces/n/pods/a",
        b'{"metadata":{"labels":{"x":"1"}}}',
        "application/merge-patch+json",
        dryRun="All",
    )
    assert code == 200
    code, _ = await client.call(
        "POST", "/api/v1/namespaces/n/pods/a/binding", {"target": {"name": "n1"}}, dryRun="All"
    )
    assert code == 201
    code, _ = await client.call("DELETE", "/api/v1/namespaces/n", dryRun="All")
    assert code == 200
    code, _ = await client.call("DELETE", "/api/v1/namespaces/n/pods", dryRun="All")
    assert code == 200
    assert sim.store.rv == rv
    assert sum(len(c.log) for c in sim.store.collections.values()) == events
    code, pod = await client.call("GET", "/api/v1/namespaces/n/pods/a")
    assert code == 200 and not pod["metadata"].get("labels") and not pod["spec"].get("nodeName")
    # The mode ends with the request: the next write is real.
    code, _ = await client.call("POST", PODS, make_pod("c"))
    assert code == 201 and sim.store.rv == rv + 1


async def test_dry_run_still_validates(client: Any, make_pod: Any) -> None:
    await client.call("POST", PODS, make_pod("a"))
    code, body = await client.call("POST", PODS, make_pod("a"), dryRun="All")
    assert code == 409, body
    code, body = await client.call("PUT", f"{PODS}/nope", make_pod("nope"), dryRun="All")
    assert code == 404, body
