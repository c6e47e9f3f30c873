"""patch.py: the three patch kinds, directly and through HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from watchcache.api.status import ApiError
from watchcache.simulator.patch import json_patch, merge_patch, strategic_merge

PODS = "/api/v1/namespaces/default/pods"


def test_merge_patch_null_removes_and_lists_replace() -> None:
    original = {"a": {"b": 1, "c": 2}, "l": [1, 2]}
    assert merge_patch(original, {"a": {"b": None, "d": 3}, "l": [3]}) == {
        "a": {"c": 2, "d": 3},
        "l": [3],
    }
    assert original == {"a": {"b": 1, "c": 2}, "l": [1, 2]}


def test_json_patch_operations() -> None:
    doc = {"a": [1, 2], "b": {"c": 1}}
    ops = [
        {"op": "add", "path": "/a/-", "value": 3},
        {"op": "replace", "path": "/b/c", "value": 2},
        {"op": "copy", "from": "/b", "path": "/d"},
        {"op": "move", "from": "/d/c", "path": "/e"},
        {"op": "remove", "path": "/a/0"},
        {"op": "test", "path": "/e", "value": 2},
        {"op": "add", "path": "/x~1y", "value": True},
    ]
    assert json_patch(doc, ops) == {"a": [2, 3], "b": {"c": 2}, "d": {}, "e": 2, "x/y": True}


def test_json_patch_failed_test_is_422() -> None:
    with pytest.raises(ApiError) as caught:
        json_patch({"a": 1}, [{"op": "test", "path": "/a", "value": 2}])
    assert caught.value.code == 422


def test_json_patch_missing_path_is_422() -> None:
    with pytest.raises(ApiError) as caught:
        json_patch({"a": 1}, [{"op": "replace", "path": "/b/c", "value": 2}])
    assert caught.value.code == 422


def test_strategic_merges_containers_by_name() -> None:
    original = {"spec": {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "1"}]}}
    patch = {"spec": {"containers": [{"name": "b", "image": "2"}, {"name": "c", "image": "3"}]}}
    merged = strategic_merge(original, patch)
    assert merged["spec"]["containers"] == [
        {"name": "a", "image": "1"},
        {"name": "b", "image": "2"},
        {"name": "c", "image": "3"},
    ]


def test_strategic_delete_and_replace_directives() -> None:
    original = {"spec": {"volumes": [{"name": "v1"}, {"name": "v2"}], "sel": {"a": "1", "b": "2"}}}
    patch = {
        "spec": {
            "volumes": [{"name": "v1", "$patch": "delete"}],
            "sel": {"$patch": "replace", "c": "3"},
        }
    }
    merged = strategic_merge(original, patch)
    assert merged["spec"] == {"volumes": [{"name": "v2"}], "sel": {"c": "3"}}


def test_strategic_list_replace_directive_and_unkeyed_lists() -> None:
    original = {"env": [{"name": "A"}], "tolerations": [{"key": "x"}], "args": ["a"]}
    patch = {
        "env": [{"name": "B"}, {"$patch": "replace"}],
        "tolerations": [{"key": "y"}],
        "args": ["b"],
    }
    merged = strategic_merge(original, patch)
    # Tolerations and args have no merge key in the Go types: replaced whole.
    assert merged == {"env": [{"name": "B"}], "tolerations": [{"key": "y"}], "args": ["b"]}


def test_strategic_ports_by_container_port_and_element_order() -> None:
    original = {"containers": [{"name": "a"}, {"name": "b"}], "ports": [{"containerPort": 80}]}
    patch = {
        "$setElementOrder/containers": [{"name": "b"}, {"name": "a"}],
        "ports": [{"containerPort": 80, "name": "http"}, {"containerPort": 443}],
    }
    merged = strategic_merge(original, patch)
    assert [c["name"] for c in merged["containers"]] == ["b", "a"]
    assert merged["ports"] == [{"containerPort": 80, "name": "http"}, {"containerPort": 443}]


def test_strategic_finalizers_merge_as_set_and_delete_from_primitive_list() -> None:
    original = {"metadata": {"finalizers": ["a", "b"]}}
    merged = strategic_merge(
        original, {"metadata": {"finalizers": ["c"], "$deleteFromPrimitiveList/finalizers": ["a"]}}
    )
    assert merged["metadata"]["finalizers"] == ["b", "c"]


async def test_http_patch_kinds_on_a_pod(client: Any, make_pod: Any) -> None:
    _, created = await client.call("POST", PODS, make_pod("a", labels={"x": "1"}))
    code, merged = await client.call(
        "PATCH", PODS + "/a", {"metadata": {"labels": {"y": "2"}}}, "application/merge-patch+json"
    )
    assert code == 200 and merged["metadata"]["labels"] == {"x": "1", "y": "2"}
    assert int(merged["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])
    ops = [{"op": "remove", "path": "/metadata/labels/x"}]
    code, patched = await client.call("PATCH", PODS + "/a", ops, "application/json-patch+json")
    assert code == 200 and patched["metadata"]["labels"] == {"y": "2"}
    smp = {"spec": {"containers": [{"name": "c", "image": "new"}]}}
    code, strategic = await client.call(
        "PATCH", PODS + "/a", smp, "application/strategic-merge-patch+json"
    )
    assert code == 200 and strategic["spec"]["containers"] == [{"name": "c", "image": "new"}]


async def test_http_patch_with_stale_rv_conflicts(client: Any, make_pod: Any) -> None:
    await client.call("POST", PODS, make_pod("a"))
    patch = {"metadata": {"resourceVersion": "1", "labels": {"a": "b"}}}
    code, body = await client.call("PATCH", PODS + "/a", patch, "application/merge-patch+json")
    assert code == 409 and body["reason"] == "Conflict"


async def test_strategic_patch_on_custom_kind_is_415(client: Any) -> None:
    path = "/apis/example.com/v1/namespaces/default/widgets"
    await client.call(
        "POST", path, {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    )
    code, body = await client.call(
        "PATCH", path + "/w", {"spec": {}}, "application/strategic-merge-patch+json"
    )
    assert code == 415 and body["reason"] == "UnsupportedMediaType"
    code, _ = await client.call(
        "PATCH", path + "/w", {"spec": {"a": 1}}, "application/merge-patch+json"
    )
    assert code == 200


async def test_patch_missing_object_is_404(client: Any) -> None:
    code, body = await client.call("PATCH", PODS + "/nope", {}, "application/merge-patch+json")
    assert code == 404 and body["message"] == 'pods "nope" not found'
