"""faults.py: injected failures, cut and stalled watches, restarts."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from watchcache.simulator import Simulator, SimulatorConfig, StreamSettings

PODS = "/api/v1/namespaces/default/pods"


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (410, "Expired"),
        (429, "TooManyRequests"),
        (500, "InternalError"),
        (503, "ServiceUnavailable"),
    ],
)
async def test_next_n_requests_fail(sim: Simulator, client: Any, code: int, reason: str) -> None:
    sim.faults.fail_next(2, code, retry_after=3)
    for _ in range(2):
        got, body = await client.call("GET", PODS)
        assert (got, body["reason"], body["code"]) == (code, reason, code)
    got, _ = await client.call("GET", PODS)
    assert got == 200


async def test_retry_after_header_on_429(sim: Simulator) -> None:
    sim.faults.fail_next(1, 429, retry_after=7)
    async with aiohttp.ClientSession() as session, session.get(sim.url + PODS) as response:
        assert response.status == 429 and response.headers["Retry-After"] == "7"


async def test_discovery_is_not_failed(sim: Simulator, client: Any) -> None:
    sim.faults.fail_next(1, 500)
    code, _ = await client.call("GET", "/version")
    assert code == 200


def test_unknown_code_is_refused(sim: Simulator) -> None:
    with pytest.raises(ValueError):
        sim.faults.fail_next(1, 418)


async def _open(session: aiohttp.ClientSession, sim: Simulator) -> aiohttp.ClientResponse:
    response = await session.get(
        sim.url + PODS, params={"watch": "1", "resourceVersion": str(sim.store.rv)}
    )
    assert response.status == 200
    while not list(sim.hub.watchers()):
        await asyncio.sleep(0.01)
    return response


async def test_cut_ends_stream_without_final_chunk(sim: Simulator) -> None:
    async with aiohttp.ClientSession() as session:
        response = await _open(session, sim)
        assert sim.faults.cut_watches() == 1
        with pytest.raises(aiohttp.ClientPayloadError):
            await response.read()


async def test_restart_closes_every_watch(sim: Simulator) -> None:
    async with aiohttp.ClientSession() as session:
        first, second = await _open(session, sim), await _open(session, sim)
        assert sim.faults.restart() == 2
        for response in (first, second):
            with pytest.raises(aiohttp.ClientPayloadError):
                await response.read()


async def _stalled_with_four_events(
    session: aiohttp.ClientSession, sim: Simulator, client: Any, make_pod: Any
) -> tuple[aiohttp.ClientResponse, Any]:
    """One stalled watch (queue of 3, from the config) and four pods
    created after it: the fourth event finds its queue full."""
    response = await _open(session, sim)
    sim.faults.stall_watches()
    for name in ("a", "b", "c", "d"):
        await client.call("POST", PODS, make_pod(name))
    [watcher] = list(sim.hub.watchers())
    return response, watcher


@pytest.mark.parametrize(
    "config", [SimulatorConfig(stream=StreamSettings(watch_capacity=3))], indirect=True
)
async def test_stalled_watch_waits_out_the_budget_then_closes(
    sim: Simulator, client: Any, make_pod: Any
) -> None:
    async with aiohttp.ClientSession() as session:
        response, watcher = await _stalled_with_four_events(session, sim, client, make_pod)
        # The fourth event found the queue full: the watcher waits on the
        # shared budget (at most 100 ms) rather than closing at once.
        assert watcher.closed is None and watcher.grant is not None
        await asyncio.sleep(0.3)
        assert watcher.closed == "overflow"
        sim.faults.resume_watches()
        body = await response.read()
    # The queued events are not written once the watcher is closed: the
    # client resumes from the last RV it saw.
    assert [json.loads(line)["type"] for line in body.splitlines()] == []


@pytest.mark.parametrize(
    "config", [SimulatorConfig(stream=StreamSettings(watch_capacity=3))], indirect=True
)
async def test_watch_that_drains_within_the_budget_stays_open(
    sim: Simulator, client: Any, make_pod: Any
) -> None:
    async with aiohttp.ClientSession() as session:
        response, watcher = await _stalled_with_four_events(session, sim, client, make_pod)
        sim.faults.resume_watches()  # well inside the 100 ms budget
        seen = [json.loads(await response.content.readline()) for _ in range(4)]
        assert watcher.closed is None and watcher.grant is None
    assert [e["object"]["metadata"]["name"] for e in seen] == ["a", "b", "c", "d"]


async def test_compact_and_shrink_history(sim: Simulator, client: Any, make_pod: Any) -> None:
    _, a = await client.call("POST", PODS, make_pod("a"))
    await client.call("POST", PODS, make_pod("b"))
    assert sim.faults.compact() == sim.store.rv
    sim.faults.shrink_history(0, resource="pods")
    lines = await client.lines(PODS, watch="1", resourceVersion=a["metadata"]["resourceVersion"])
    assert lines[0]["type"] == "ERROR" and lines[0]["object"]["code"] == 410
