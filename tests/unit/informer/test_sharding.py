"""Sharded informers: N shards' listers and handlers together hold and hear
exactly the whole, with no overlap, whether or not the server filters."""

from __future__ import annotations

import asyncio
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.unit.informer.fakes import Recorder, delete, upstream_state, write

from watchcache.cache.reflector import ReflectorConfig
from watchcache.informer import Informer
from watchcache.informer.sharding import ShardSelector, even_shards
from watchcache.simulator import Simulator
from watchcache.upstream import UpstreamClient


@given(uids=st.lists(st.uuids().map(str), min_size=1, max_size=50), count=st.integers(1, 7))
def test_every_uid_is_in_exactly_one_shard(uids: list[str], count: int) -> None:
    shards = [ShardSelector.parse(text) for text in even_shards(count)]
    for uid in uids:
        assert sum(s.matches(uid, "ns") for s in shards) == 1


@pytest.mark.parametrize("watch_list", [True, False], ids=["watchlist", "list-then-watch"])
async def test_shards_together_hold_and_hear_the_whole_once(
    sim: Simulator, client: UpstreamClient, watch_list: bool
) -> None:
    names = [f"c{i}" for i in range(30)]
    for name in names[:20]:
        write(sim, name)
    informers, recorders, handles = [], [], []
    for text in even_shards(3):
        informer = Informer(
            client,
            "configmaps",
            shard=text,
            reflector_config=ReflectorConfig(page_size=4, watch_list=watch_list),
            rng=random.Random(5),
        )
        recorder = Recorder()
        handles.append(informer.add_handler(**recorder.callbacks()))
        informers.append(informer)
        recorders.append(recorder)
        informer.start()
    try:
        for informer in informers:
            assert await informer.wait_for_sync(10)
        rng = random.Random(9)
        for step in range(60):
            name = rng.choice(names)
            if rng.random() < 0.3 and name in {k.split("/")[1] for k in upstream_state(sim)}:
                delete(sim, name)
            else:
                write(sim, name, str(step))
            if step == 30:
                sim.faults.cut_watches()
        async with asyncio.timeout(15):
            for informer, handle in zip(informers, handles, strict=True):
                # Changes outside a shard still move its RV (as bookmarks).
                await informer.wait_for_resource_version(sim.store.rv)
                await handle.wait_idle()
        held = [{o.key for o in informer.lister.list()} for informer in informers]
        assert set().union(*held) == set(upstream_state(sim))
        assert sum(map(len, held)) == len(upstream_state(sim))  # no overlap
        whole: dict[str, int] = {}
        for recorder in recorders:
            assert recorder.errors == []
            whole |= recorder.state()
        assert whole == upstream_state(sim)
        assert all(held)  # 3 shards of ~20 objects: none empty
    finally:
        for informer in informers:
            await informer.stop()
