"""Fixtures for the informer tests: a simulator and a client to it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from watchcache.api.resources import GroupVersionResource, builtin_resource
from watchcache.simulator import Simulator
from watchcache.upstream import UpstreamClient, UpstreamConfig


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    simulator = Simulator()
    await simulator.start()
    namespaces = builtin_resource(GroupVersionResource("", "v1", "namespaces"))
    assert namespaces is not None
    simulator.verbs.create(namespaces, "", {"metadata": {"name": "other"}})
    yield simulator
    await simulator.stop()


@pytest.fixture
async def client(sim: Simulator) -> AsyncIterator[UpstreamClient]:
    async with UpstreamClient(UpstreamConfig(sim.url)) as upstream:
        yield upstream
