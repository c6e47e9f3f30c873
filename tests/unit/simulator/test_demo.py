"""demo.py: the workload moves pods through their life, within bounds."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import aiohttp

from watchcache.simulator import Simulator
from watchcache.simulator.demo import PODS, DemoWorkload, run_demo


async def test_workload_walks_pods_through_their_life() -> None:
    sim = Simulator()
    workload = DemoWorkload(sim, seed=7)
    actions = [workload.step() for _ in range(60)]
    for verb in ("bound pod", "is Running", "deleting pod", "deleted pod", "created pod"):
        assert any(verb in action for action in actions), verb
    running = [sim.verbs.full(PODS, e) for e in sim.store.collection(PODS).items.values()]
    ready = [p for p in running if p["status"].get("phase") == "Running"]
    assert all(p["status"]["containerStatuses"][0]["ready"] for p in ready)
    count = len(sim.store.collection(PODS).items)
    assert workload.min_pods - 1 <= count <= workload.max_pods


async def test_the_python_client_decodes_the_demos_running_pods() -> None:
    """The official client validates required fields: a container status
    without imageID fails to decode (found by `scripts/demo` and the client)."""
    from kubernetes.client import V1Pod

    sim = Simulator()
    workload = DemoWorkload(sim, seed=7)
    for _ in range(60):
        workload.step()
    pods = [sim.verbs.full(PODS, e) for e in sim.store.collection(PODS).items.values()]
    running = [p for p in pods if p["status"].get("phase") == "Running"]
    assert running
    for pod in running:
        decoded = V1Pod.from_dict(pod)
        assert decoded is not None and decoded.status is not None
        assert decoded.status.container_statuses


async def test_run_demo_serves_and_reports_url() -> None:
    reports: list[str] = []
    task = asyncio.create_task(run_demo(interval=0.01, seed=1, report=reports.append))
    while not reports:
        await asyncio.sleep(0.01)
    url = reports[0].split(" at ")[1].splitlines()[0]
    assert url.startswith("http://127.0.0.1:")
    async with aiohttp.ClientSession() as session:
        async with session.get(url + "/api/v1/nodes") as response:
            body: Any = await response.json()
    assert len(body["items"]) == 3
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert task.cancelled()
