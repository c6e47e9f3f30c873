"""SharedInformerFactory: one informer, so one watch, per scope."""

from __future__ import annotations

import pytest
from tests.unit.informer.fakes import settle, write

from watchcache.informer import KubeObject
from watchcache.informer.factory import SharedInformerFactory
from watchcache.simulator import Simulator
from watchcache.upstream import UpstreamClient


async def test_one_watch_per_scope_however_many_ask(sim: Simulator, client: UpstreamClient) -> None:
    write(sim, "a")
    factory = SharedInformerFactory(client)
    first = factory.informer("configmaps", indexers={"name": lambda o: [o.name]})
    again = factory.informer("v1/configmaps", indexers={"upper": lambda o: [o.name.upper()]})
    scoped = factory.informer("configmaps", namespace="default")
    assert again is first and scoped is not first
    with pytest.raises(ValueError):
        factory.informer("configmaps", transform=lambda raw: raw)
    heard: list[str] = []
    handle = first.add_handler(on_add=lambda o: heard.append(o.name))
    async with factory:
        assert await factory.wait_for_sync(10)
        late = factory.informer("configmaps", label_selector="x=y")
        assert late.running
        assert await factory.wait_for_sync(10)
        watches = [w for w in sim.hub.watchers() if w.coll.info.gvr.resource == "configmaps"]
        assert len(watches) == 3  # three scopes, not four informer requests
        assert [o.name for o in first.lister.by_index("upper", "A")] == ["a"]
        rv = write(sim, "b")
        await settle(first, [handle], rv)
        assert heard == ["a", "b"]
        objs: list[KubeObject] = first.lister.by_index("name", "b")
        assert [o.name for o in objs] == ["b"]
    assert b'watchcache_informer_objects{resource="configmaps"} 2.0' in factory.metrics.exposition()
