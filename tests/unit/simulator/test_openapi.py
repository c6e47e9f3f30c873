"""openapi.py: the documents kubectl explain, apply and dry-run read."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import aiohttp

from watchcache.api.resources import builtin_resources
from watchcache.simulator import Simulator
from watchcache.simulator.openapi import V2_JSON, V2_PROTO, encode_v2, v3_document, v3_index
from watchcache.simulator.protobuf import _fields


def _refs(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, sub in value.items():
            if key == "$ref":
                yield sub
            else:
                yield from _refs(sub)
    elif isinstance(value, list):
        for sub in value:
            yield from _refs(sub)


def _gvks(definitions: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {
        (g["group"], g["version"], g["kind"])
        for schema in definitions.values()
        for g in schema.get("x-kubernetes-group-version-kind", ())
    }


def test_every_built_in_kind_has_a_definition() -> None:
    wanted = {(i.gvr.group, i.gvr.version, i.kind) for i in builtin_resources()}
    assert wanted <= _gvks(V2_JSON["definitions"])


def test_every_v2_ref_resolves() -> None:
    for ref in _refs(V2_JSON["definitions"]):
        assert ref.removeprefix("#/definitions/") in V2_JSON["definitions"], ref


def test_every_patch_takes_dry_run() -> None:
    patches = [item["patch"] for item in V2_JSON["paths"].values() if "patch" in item]
    assert len(patches) == len(builtin_resources())
    assert all(any(p["name"] == "dryRun" for p in op["parameters"]) for op in patches)


def test_v3_documents_resolve_their_own_refs() -> None:
    index = v3_index()["paths"]
    assert {"api/v1", "apis/apps/v1"} <= set(index)
    for path, entry in index.items():
        assert entry["serverRelativeURL"].startswith(f"/openapi/v3/{path}?hash=")
        body = v3_document(path)
        assert body is not None
        doc = json.loads(body)
        schemas = doc["components"]["schemas"]
        for ref in _refs(schemas):
            assert ref.removeprefix("#/components/schemas/") in schemas, (path, ref)
        assert doc["paths"], path


def _decoded(data: bytes) -> dict[int, list[bytes]]:
    out: dict[int, list[bytes]] = {}
    for number, _, value in _fields(data):
        out.setdefault(number, []).append(value)
    return out


def test_protobuf_names_swagger_info_paths_and_definitions() -> None:
    top = _decoded(V2_PROTO)
    assert top[1] == [b"2.0"]
    assert _decoded(top[2][0])[1] == [b"Kubernetes"]
    names = {_decoded(named)[1][0].decode() for named in _decoded(top[9][0])[1]}
    assert names == set(V2_JSON["definitions"])
    paths = {_decoded(named)[1][0].decode() for named in _decoded(top[8][0])[2]}
    assert paths == set(V2_JSON["paths"])


def test_protobuf_schema_fields() -> None:
    doc = {
        "swagger": "2.0",
        "info": {"title": "t", "version": "v"},
        "paths": {},
        "definitions": {
            "x": {
                "type": "object",
                "description": "d" * 200,  # a length over 127: a two-byte varint
                "required": ["a"],
                "properties": {"a": {"type": "string"}},
                "x-kubernetes-patch-merge-key": "a",
            }
        },
    }
    named = _decoded(_decoded(encode_v2(doc))[9][0])[1][0]
    schema = _decoded(_decoded(named)[2][0])
    assert schema[4] == [b"d" * 200] and schema[19] == [b"a"]
    assert _decoded(schema[22][0])[1] == [b"object"]
    extension = _decoded(schema[31][0])
    assert extension[1] == [b"x-kubernetes-patch-merge-key"]
    assert _decoded(extension[2][0])[2] == [b'"a"']  # its value as YAML (JSON)


async def test_served_as_protobuf_json_and_v3(sim: Simulator) -> None:
    async with aiohttp.ClientSession() as session:
        headers = {"Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"}
        async with session.get(sim.url + "/openapi/v2", headers=headers) as response:
            assert response.headers["Content-Type"] == "application/octet-stream"
            assert await response.read() == V2_PROTO
        async with session.get(sim.url + "/openapi/v2") as response:
            assert (await response.json())["swagger"] == "2.0"
        async with session.get(sim.url + "/openapi/v3") as response:
            url = (await response.json())["paths"]["api/v1"]["serverRelativeURL"]
        async with session.get(sim.url + url) as response:
            assert response.status == 200
            assert "core.v1.Pod" in (await response.json())["components"]["schemas"]
        async with session.get(sim.url + "/openapi/v3/apis/nope/v1") as response:
            assert response.status == 404
