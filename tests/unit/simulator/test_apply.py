"""apply.py: server-side apply's subset, directly and through HTTP."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from watchcache.api.resources import GroupVersionResource, builtin_resource
from watchcache.api.status import ApiError
from watchcache.simulator.apply import APPLY_PATCH, ApplyRequest, apply, parse_config

from .conftest import fixed_clock

CONFIGMAPS = builtin_resource(GroupVersionResource("", "v1", "configmaps"))
DEPLOYMENTS = builtin_resource(GroupVersionResource("apps", "v1", "deployments"))
assert CONFIGMAPS is not None and DEPLOYMENTS is not None
CM_PATH = "/api/v1/namespaces/default/configmaps"


def _request(manager: str = "a", force: bool = False, info: Any = CONFIGMAPS) -> ApplyRequest:
    return ApplyRequest(info, "c", manager, force, fixed_clock())


def _cm(**data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": data}


def test_first_apply_owns_what_it_sets_and_nothing_of_identity() -> None:
    result = apply(_request(), None, _cm(k="v"))
    (entry,) = result["metadata"]["managedFields"]
    assert entry["manager"] == "a" and entry["operation"] == "Apply"
    assert entry["fieldsV1"] == {"f:data": {"f:k": {}}}
    assert result["data"] == {"k": "v"}


def test_a_field_left_out_is_removed_unless_another_manager_owns_it() -> None:
    first = apply(_request("a"), None, _cm(k="v", shared="s"))
    both = apply(_request("b"), first, _cm(shared="s"))
    again = apply(_request("a"), both, _cm(other="o"))
    # k was a's alone: gone; shared is b's too: kept.
    assert again["data"] == {"shared": "s", "other": "o"}
    owners = {e["manager"]: e["fieldsV1"] for e in again["metadata"]["managedFields"]}
    assert owners == {"a": {"f:data": {"f:other": {}}}, "b": {"f:data": {"f:shared": {}}}}


def test_different_value_from_another_manager_conflicts_unless_forced() -> None:
    first = apply(_request("a"), None, _cm(k="v"))
    with pytest.raises(ApiError) as caught:
        apply(_request("b"), first, _cm(k="w"))
    error = caught.value
    assert error.code == 409 and error.reason == "Conflict"
    # As kube-apiserver 1.20 words it (the contract suite checks it there).
    assert error.message == 'Apply failed with 1 conflict: conflict with "a": .data.k'
    assert error.details == {
        "causes": [
            {"reason": "FieldManagerConflict", "message": 'conflict with "a"', "field": ".data.k"}
        ]
    }
    forced = apply(_request("b", force=True), first, _cm(k="w"))
    assert forced["data"] == {"k": "w"}
    assert [e["manager"] for e in forced["metadata"]["managedFields"]] == ["b"]


def test_same_value_co_owns_without_conflict() -> None:
    first = apply(_request("a"), None, _cm(k="v"))
    both = apply(_request("b"), first, _cm(k="v"))
    assert sorted(e["manager"] for e in both["metadata"]["managedFields"]) == ["a", "b"]


def _deployment(*containers: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "c"},
        "spec": {"template": {"spec": {"containers": list(containers)}}},
    }


def test_keyed_lists_merge_by_key_and_drop_elements_their_manager_left_out() -> None:
    req = ApplyRequest(DEPLOYMENTS, "c", "a", False, fixed_clock())
    other = ApplyRequest(DEPLOYMENTS, "c", "b", False, fixed_clock())
    first = apply(req, None, _deployment({"name": "x", "image": "1"}, {"name": "y", "image": "1"}))
    owned = first["metadata"]["managedFields"][0]["fieldsV1"]
    containers = owned["f:spec"]["f:template"]["f:spec"]["f:containers"]
    assert set(containers) == {'k:{"name":"x"}', 'k:{"name":"y"}'}
    with_z = apply(other, first, _deployment({"name": "z", "image": "2"}))
    names = [c["name"] for c in with_z["spec"]["template"]["spec"]["containers"]]
    assert names == ["x", "y", "z"]
    without_y = apply(req, with_z, _deployment({"name": "x", "image": "3"}))
    kept = without_y["spec"]["template"]["spec"]["containers"]
    assert kept == [{"name": "x", "image": "3"}, {"name": "z", "image": "2"}]


def test_apply_leaves_its_arguments_alone() -> None:
    config = _cm(k="v")
    first = apply(_request(), None, config)
    frozen = copy.deepcopy(first)
    apply(_request("a"), first, _cm())
    assert first == frozen and config == _cm(k="v")


def test_parse_config_keeps_dates_as_strings() -> None:
    raw = b"{apiVersion: v1, kind: ConfigMap, metadata: {name: c}, data: {day: 2024-01-02}}"
    assert parse_config(CONFIGMAPS, "c", raw)["data"] == {"day": "2024-01-02"}


def test_parse_config_checks_kind_and_name() -> None:
    assert parse_config(CONFIGMAPS, "c", b"{apiVersion: v1, kind: ConfigMap, metadata: {}}") == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c"},
    }
    for raw in (
        b"{apiVersion: v1, kind: Secret, metadata: {name: c}}",
        b"{apiVersion: v1, kind: ConfigMap, metadata: {name: other}}",
        b"[1]",
        b"{a: [",
    ):
        with pytest.raises(ApiError) as caught:
            parse_config(CONFIGMAPS, "c", raw)
        assert caught.value.code == 400, raw


async def test_http_apply_creates_updates_and_conflicts(client: Any) -> None:
    yaml_body = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  k: v\n"
    path = f"{CM_PATH}/web"
    code, created = await client.call("PATCH", path, yaml_body, APPLY_PATCH, fieldManager="m")
    assert code == 201 and created["data"] == {"k": "v"}
    assert created["metadata"]["managedFields"][0]["manager"] == "m"
    changed = yaml_body.replace(b"k: v", b"k: w")
    code, updated = await client.call("PATCH", path, changed, APPLY_PATCH, fieldManager="m")
    assert code == 200 and updated["data"] == {"k": "w"}
    assert int(updated["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])
    code, same = await client.call("PATCH", path, changed, APPLY_PATCH, fieldManager="m")
    assert (
        code == 200
        and same["metadata"]["resourceVersion"] == updated["metadata"]["resourceVersion"]
    )
    code, error = await client.call("PATCH", path, yaml_body, APPLY_PATCH, fieldManager="n")
    assert code == 409 and error["kind"] == "Status" and error["reason"] == "Conflict"
    code, forced = await client.call(
        "PATCH", path, yaml_body, APPLY_PATCH, fieldManager="n", force="true"
    )
    assert code == 200 and forced["data"] == {"k": "v"}


async def test_http_apply_needs_a_field_manager(client: Any) -> None:
    body = b"{apiVersion: v1, kind: ConfigMap, metadata: {name: x}}"
    code, error = await client.call("PATCH", f"{CM_PATH}/x", body, APPLY_PATCH)
    assert code == 422 and error["reason"] == "Invalid"
    assert error["details"]["causes"][0]["field"] == "fieldManager"


async def test_http_put_keeps_managed_fields_it_omits(client: Any) -> None:
    body = b"{apiVersion: v1, kind: ConfigMap, metadata: {name: p}, data: {k: v}}"
    _, created = await client.call("PATCH", f"{CM_PATH}/p", body, APPLY_PATCH, fieldManager="m")
    replaced = {"metadata": {"name": "p"}, "data": {"k": "x"}}
    code, updated = await client.call("PUT", f"{CM_PATH}/p", replaced)
    assert (
        code == 200 and updated["metadata"]["managedFields"] == created["metadata"]["managedFields"]
    )
