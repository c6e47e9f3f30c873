"""Fixtures shared by the unit tests: the simulator as upstream, and a
client to it (``tests.unit.churn.simulated``). A folder's own conftest may
name its own ``sim`` and ``client`` (tests/unit/testing does)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from tests.unit.churn import simulated

from watchcache.simulator import Simulator
from watchcache.upstream import UpstreamClient


@pytest.fixture
async def simulated_upstream() -> AsyncIterator[tuple[Simulator, UpstreamClient]]:
    async with simulated() as pair:
        yield pair


@pytest.fixture
def sim(simulated_upstream: tuple[Simulator, UpstreamClient]) -> Simulator:
    return simulated_upstream[0]


@pytest.fixture
def client(simulated_upstream: tuple[Simulator, UpstreamClient]) -> UpstreamClient:
    return simulated_upstream[1]
