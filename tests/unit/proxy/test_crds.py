"""proxy/crds.py against the simulated API server: a custom resource's
printer follows its CRD; nothing is known before the CRD cache syncs."""

from __future__ import annotations

import asyncio

import aiohttp
from tests.polling import until
from tests.unit.proxy.test_autocache import CRD_PATH, WIDGETS, post, widgets_crd

from watchcache.api.resources import GroupVersionResource
from watchcache.cache.cache import CacheConfig
from watchcache.proxy.caches import CacheFactory
from watchcache.proxy.crds import Definitions, definitions_kept
from watchcache.simulator.app import Simulator
from watchcache.upstream import UpstreamClient, UpstreamConfig


def _names(definitions: Definitions, gvr: GroupVersionResource) -> list[str] | None:
    printer = definitions.printer(gvr)
    return None if printer is None else [c.name for c in printer.columns]


async def test_the_printer_follows_the_crd() -> None:
    async with (
        Simulator() as sim,
        aiohttp.ClientSession() as session,
        UpstreamClient(UpstreamConfig(sim.url)) as client,
    ):
        factory = CacheFactory(client, CacheConfig())
        async with definitions_kept({}, factory) as definitions:
            assert definitions.printer(WIDGETS) is None and definitions.defines(WIDGETS) is None
            await asyncio.wait_for(definitions.resource.reflector.synced.wait(), 10)
            assert definitions.printer(WIDGETS) is None and definitions.defines(WIDGETS) is False

            await post(session, sim.url + CRD_PATH, widgets_crd())
            await until(lambda: definitions.defines(WIDGETS), "the CRD cached")
            assert _names(definitions, WIDGETS) == ["Name", "Age"]  # the default
            other_version = GroupVersionResource("example.com", "v2", "widgets")
            assert definitions.printer(other_version) is None
            assert definitions.defines(other_version) is False

            crd = widgets_crd([{"name": "Size", "type": "integer", "jsonPath": ".spec.size"}])
            async with session.get(f"{sim.url}{CRD_PATH}/widgets.example.com") as r:
                crd["metadata"] = (await r.json())["metadata"]
            async with session.put(f"{sim.url}{CRD_PATH}/widgets.example.com", json=crd) as r:
                assert r.status == 200, await r.text()
            await until(lambda: _names(definitions, WIDGETS) == ["Name", "Size"], "the new columns")

            # A column outside the JSONPath subset: upstream prints.
            crd = widgets_crd([{"name": "Deep", "type": "string", "jsonPath": "..name"}])
            async with session.get(f"{sim.url}{CRD_PATH}/widgets.example.com") as r:
                crd["metadata"] = (await r.json())["metadata"]
            async with session.put(f"{sim.url}{CRD_PATH}/widgets.example.com", json=crd) as r:
                assert r.status == 200, await r.text()
            await until(lambda: definitions.printer(WIDGETS) is None, "no printer")
            assert definitions.defines(WIDGETS)
