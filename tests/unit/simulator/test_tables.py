"""tables.py: the Table kubectl asks for, over GET, LIST and WATCH."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from watchcache.simulator import Simulator
from watchcache.simulator.tables import table_version

PODS = "/api/v1/namespaces/default/pods"
KUBECTL_ACCEPT = (
    "application/json;as=Table;v=v1;g=meta.k8s.io,"
    "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
)


def test_table_version_from_accept() -> None:
    assert table_version(KUBECTL_ACCEPT) == "v1"
    assert table_version("application/json;as=Table;v=v1beta1;g=meta.k8s.io") == "v1beta1"
    assert table_version("application/json") is None
    assert table_version("application/json, application/json;as=Table;v=v1;g=meta.k8s.io") is None


async def _get(sim: Simulator, path: str, **params: str) -> Any:
    headers = {"Accept": KUBECTL_ACCEPT}
    async with aiohttp.ClientSession(headers=headers) as session:
        async with session.get(sim.url + path, params=params) as response:
            assert response.status == 200
            text = await response.text()
    return (
        [json.loads(line) for line in text.splitlines()]
        if params.get("watch")
        else json.loads(text)
    )


async def test_pod_list_as_table(sim: Simulator, client: Any, make_pod: Any) -> None:
    await client.call("POST", PODS, make_pod("a", node="n1"))
    await client.call("POST", PODS, make_pod("b"))
    doc = await _get(sim, PODS, limit="1")
    assert (doc["kind"], doc["apiVersion"]) == ("Table", "meta.k8s.io/v1")
    assert [c["name"] for c in doc["columnDefinitions"]][:5] == [
        "Name",
        "Ready",
        "Status",
        "Restarts",
        "Age",
    ]
    [row] = doc["rows"]
    assert row["cells"][:4] == ["a", "0/1", "Pending", 0] and row["cells"][6] == "n1"
    assert (
        row["object"]["kind"] == "PartialObjectMetadata"
        and row["object"]["metadata"]["namespace"] == "default"
    )
    assert doc["metadata"]["continue"] and doc["metadata"]["remainingItemCount"] == 1


async def test_terminating_pod_and_default_columns(
    sim: Simulator, client: Any, make_pod: Any
) -> None:
    await client.call("POST", PODS, make_pod("a", node="n1"))
    await client.call("DELETE", PODS + "/a")
    doc = await _get(sim, PODS + "/a")
    assert doc["rows"][0]["cells"][2] == "Terminating"
    cms = await _get(sim, "/api/v1/namespaces/default/configmaps")
    assert [c["name"] for c in cms["columnDefinitions"]] == ["Name", "Age"]


async def test_watch_events_carry_one_row_tables(
    sim: Simulator, client: Any, make_pod: Any
) -> None:
    await client.call("POST", PODS, make_pod("a"))
    events = await _get(sim, PODS, watch="1", timeoutSeconds="1")
    assert [e["type"] for e in events] == ["ADDED"]
    assert (
        events[0]["object"]["kind"] == "Table" and events[0]["object"]["rows"][0]["cells"][0] == "a"
    )
