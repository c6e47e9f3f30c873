"""discovery.py through HTTP: what clients read before anything else."""

from __future__ import annotations

from typing import Any

import aiohttp

from watchcache.simulator import Simulator
from watchcache.simulator.discovery import OPENAPI_V2_PROTO


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


async def test_openapi_v2_protobuf_and_json(sim: Simulator) -> None:
    async with aiohttp.ClientSession() as session:
        headers = {"Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"}
        async with session.get(sim.url + "/openapi/v2", headers=headers) as response:
            assert response.headers["Content-Type"] == "application/octet-stream"
            assert await response.read() == OPENAPI_V2_PROTO
        async with session.get(sim.url + "/openapi/v2") as response:
            assert (await response.json())["swagger"] == "2.0"


def test_openapi_proto_starts_with_swagger_field() -> None:
    # Field 1, wire type 2, length 3, "2.0".
    assert OPENAPI_V2_PROTO[:5] == b"\x0a\x032.0"
