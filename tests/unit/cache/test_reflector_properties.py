"""Random writes interleaved with random upstream faults (cut watches,
history loss forcing 410, injected 429/500/503; tests/unit/churn.py): the
reflector's cache ends equal to upstream's state, and the events it hands
on are strictly ordered by RV, never repeated."""

from __future__ import annotations

import asyncio
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.polling import until
from tests.unit.churn import (
    CHURN,
    CONFIGMAPS,
    Op,
    churn,
    simulated,
    upstream_state,
    use_up_failures,
)

from watchcache.cache.cache import Cache
from watchcache.cache.event import Event
from watchcache.cache.reflector import Reflector, ReflectorConfig

operations = st.lists(
    st.one_of(*CHURN, st.tuples(st.just("pause"), st.just(""), st.just(0))),
    min_size=1,
    max_size=25,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=operations, watch_list=st.booleans())
def test_cache_converges_and_events_stay_ordered(ops: list[Op], watch_list: bool) -> None:
    asyncio.run(_run(ops, watch_list))


async def _run(ops: list[Op], watch_list: bool) -> None:
    events: list[Event] = []

    async def record(event: Event) -> None:
        events.append(event)

    async def no_wait(_delay: float) -> None:
        await asyncio.sleep(0.005)

    async with simulated() as (sim, client):
        cache = Cache(CONFIGMAPS)  # type: ignore[arg-type]
        reflector = Reflector(
            client,
            "/api/v1/configmaps",
            cache,
            on_event=record,
            sleep=no_wait,
            config=ReflectorConfig(page_size=2, watch_list=watch_list),
            rng=random.Random(1),
        )
        task = asyncio.create_task(reflector.run())
        for op in ops:
            if not churn(sim, op, len(ops)) and op[0] == "pause":
                await asyncio.sleep(0.02)
        await use_up_failures(client)
        expected = upstream_state(sim)
        await until(
            lambda: {e.key: e.rv for e in cache.list().items} == expected,
            f"the cache to equal upstream's {expected}",
            timeout=15,
        )
        reflector.stop()
        await asyncio.wait_for(task, 10)
    rvs = [e.rv for e in events]
    assert rvs == sorted(set(rvs)), "events repeated or out of order"
