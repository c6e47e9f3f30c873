"""discovery.py through HTTP: what clients read before anything else."""

from __future__ import annotations

from typing import Any

from watchcache.simulator import Simulator


async def test_version(client: Any) -> None:
    code, body = await client.call("GET", "/version")
    assert code == 200 and (body["major"], body["minor"]) == ("1", "34")


async def test_core_and_groups(client: Any) -> None:
    _, api = await client.call("GET", "/api")
    assert api["kind"] == "APIVersions" and api["versions"] == ["v1"]
    _, groups = await client.call("GET", "/apis")
    names = {g["name"] for g in groups["groups"]}
    assert {"apps", "batch", "coordination.k8s.io"} <= names
    _, apps = await client.call("GET", "/apis/apps")
    assert apps["preferredVersion"] == {"groupVersion": "apps/v1", "version": "v1"}


async def test_resource_list_has_short_names_and_subresources(client: Any) -> None:
    _, core = await client.call("GET", "/api/v1")
    by_name = {r["name"]: r for r in core["resources"]}
    assert by_name["pods"]["shortNames"] == ["po"] and by_name["pods"]["namespaced"] is True
    assert by_name["nodes"]["namespaced"] is False
    assert "watch" in by_name["pods"]["verbs"] and "pods/status" in by_name
    _, apps = await client.call("GET", "/apis/apps/v1")
    scale = {r["name"]: r for r in apps["resources"]}["deployments/scale"]
    assert (scale["kind"], scale["group"], scale["version"]) == ("Scale", "autoscaling", "v1")


async def test_custom_resources_appear_once_registered(sim: Simulator, client: Any) -> None:
    code, _ = await client.call("GET", "/apis/example.com/v1")
    assert code == 404
    sim.register("example.com", "v1", "widgets", "Widget", namespaced=False)
    _, listed = await client.call("GET", "/apis/example.com/v1")
    assert (
        listed["resources"][0]["name"] == "widgets"
        and listed["resources"][0]["namespaced"] is False
    )
    _, groups = await client.call("GET", "/apis")
    assert "example.com" in {g["name"] for g in groups["groups"]}
