"""Fixtures for the simulator's unit tests: a Simulator on a real socket and
an aiohttp session speaking to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from watchcache.simulator import Simulator, SimulatorConfig


class Client:
    """A tiny JSON client: returns (status, decoded body)."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        content_type: str = "application/json",
        **params: str,
    ) -> tuple[int, Any]:
        data = None if body is None else (body if isinstance(body, bytes) else _dumps(body))
        headers = {"Content-Type": content_type} if data is not None else {}
        async with self.session.request(
            method, self.url + path, data=data, headers=headers, params=params
        ) as r:
            text = await r.text()
            return r.status, _loads(text)

    async def lines(self, path: str, **params: str) -> list[dict[str, Any]]:
        """A whole watch stream (it must end by itself), one dict per line."""
        async with self.session.get(self.url + path, params=params) as response:
            assert response.status == 200
            text = await response.text()
        return [_loads(line) for line in text.splitlines() if line]


def _dumps(body: Any) -> bytes:
    import json

    return json.dumps(body).encode()


def _loads(text: str) -> Any:
    import json

    return json.loads(text) if text else None


def fixed_clock() -> datetime:
    return datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
def config(request: pytest.FixtureRequest) -> SimulatorConfig:
    """Overridable with ``@pytest.mark.parametrize("config", [...], indirect=True)``."""
    given: SimulatorConfig | None = getattr(request, "param", None)
    return given or SimulatorConfig(clock=fixed_clock, seed=1)


@pytest.fixture
async def sim(config: SimulatorConfig) -> AsyncIterator[Simulator]:
    simulator = Simulator(config)
    await simulator.start()
    try:
        yield simulator
    finally:
        await simulator.stop()


@pytest.fixture
async def client(sim: Simulator) -> AsyncIterator[Client]:
    async with aiohttp.ClientSession() as session:
        yield Client(session, sim.url)


def pod(
    name: str, node: str = "", labels: dict[str, str] | None = None, **spec: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {"containers": [{"name": "c", "image": "busybox"}], **spec},
    }
    if node:
        body["spec"]["nodeName"] = node
    return body


@pytest.fixture
def make_pod() -> Any:
    return pod
