"""app.py: routing, authentication, lifecycle."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from watchcache.simulator import Simulator, SimulatorConfig


async def test_health(client: Any, sim: Simulator) -> None:
    async with aiohttp.ClientSession() as session, session.get(sim.url + "/healthz") as response:
        assert response.status == 200 and await response.text() == "ok"


async def test_unknown_path_is_status_404(client: Any) -> None:
    code, body = await client.call("GET", "/nothing/here")
    assert code == 404 and body["kind"] == "Status"


async def test_any_token_accepted_by_default(sim: Simulator) -> None:
    headers = {"Authorization": "Bearer anything"}
    async with (
        aiohttp.ClientSession(headers=headers) as session,
        session.get(sim.url + "/api/v1/pods") as r,
    ):
        assert r.status == 200


@pytest.mark.parametrize(
    "config", [SimulatorConfig(tokens={"admin": True, "nobody": False})], indirect=True
)
async def test_token_map_gives_401_and_403(sim: Simulator) -> None:
    async def status_for(token: str | None) -> tuple[int, str]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with (
            aiohttp.ClientSession(headers=headers) as session,
            session.get(sim.url + "/api/v1/pods") as r,
        ):
            return r.status, (await r.json())["reason"] if r.status != 200 else ""

    assert await status_for(None) == (401, "Unauthorized")
    assert await status_for("wrong") == (401, "Unauthorized")
    assert await status_for("nobody") == (403, "Forbidden")
    assert (await status_for("admin"))[0] == 200


async def test_method_not_allowed(client: Any) -> None:
    code, body = await client.call("PUT", "/api/v1/namespaces/default/pods", {})
    assert code == 405 and body["reason"] == "MethodNotAllowed"


async def test_stop_with_open_watch_returns(sim: Simulator) -> None:
    async with aiohttp.ClientSession() as session:
        response = await session.get(sim.url + "/api/v1/pods", params={"watch": "1"})
        assert response.status == 200
        await sim.stop()
        response.close()


@pytest.mark.parametrize(
    ("agent", "query", "pretty"),
    [
        ("curl/8.5.0", "", True),
        ("Wget/1.21", "", True),
        ("kubectl/v1.32", "", False),
        ("kubectl/v1.32", "?pretty=true", True),
        ("curl/8.5.0", "?pretty=false", False),
    ],
)
async def test_pretty_json_for_people(sim: Simulator, agent: str, query: str, pretty: bool) -> None:
    headers = {"User-Agent": agent}
    async with aiohttp.ClientSession(headers=headers) as session:
        async with session.get(
            sim.url + "/api/v1/namespaces/default/pods/nope" + query
        ) as response:
            text = await response.text()
    assert (
        text.startswith('{\n  "kind": "Status",\n  "apiVersion": "v1",\n  "metadata": {},')
        is pretty
    )
    assert not text.endswith("\n")


async def test_namespaces_labelled_with_their_name(client: Any) -> None:
    _, created = await client.call("POST", "/api/v1/namespaces", {"metadata": {"name": "lab"}})
    assert created["metadata"]["labels"] == {"kubernetes.io/metadata.name": "lab"}


async def test_get_with_future_rv_times_out(sim: Simulator, client: Any) -> None:
    sim.endpoints.monotonic = iter([0.0, 10.0, 10.0]).__next__
    code, body = await client.call(
        "GET", "/api/v1/namespaces/default", resourceVersion=str(sim.store.rv + 5)
    )
    assert code == 504 and body["reason"] == "Timeout"


@pytest.mark.parametrize(
    ("accept", "code"),
    [
        ("application/vnd.kubernetes.protobuf", 406),
        ("application/vnd.kubernetes.protobuf, application/json", 200),
        ("*/*", 200),
        ("application/json;as=Table;v=v1;g=meta.k8s.io", 200),
    ],
)
async def test_accept_negotiation(sim: Simulator, accept: str, code: int) -> None:
    async with aiohttp.ClientSession(headers={"Accept": accept}) as session:
        async with session.get(sim.url + "/api/v1/pods") as response:
            assert response.status == code
            if code == 406:
                assert (await response.json())["reason"] == "NotAcceptable"


async def test_a_long_query_gets_kubes_status(client: Any) -> None:
    """A request line past aiohttp's 8 KiB default (a 9,000-digit
    resourceVersion) is kube-apiserver's 400 Status, as under its 1 MiB."""
    code, body = await client.call(
        "GET", "/api/v1/namespaces/default/pods", resourceVersion="9" * 9000
    )
    assert code == 400 and body["kind"] == "Status" and body["reason"] == "BadRequest", body
