"""Random writes interleaved with random upstream faults (cut watches,
history loss forcing 410, injected 429/500/503): the reflector's cache ends
equal to upstream's state, and the events it hands on are strictly ordered
by RV, never repeated."""

from __future__ import annotations

import asyncio
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from watchcache.api.resources import GroupVersionResource, builtin_resource
from watchcache.cache.cache import Cache
from watchcache.cache.event import Event
from watchcache.cache.reflector import Reflector, ReflectorConfig
from watchcache.simulator.app import Simulator
from watchcache.simulator.verbs import DeleteOptions
from watchcache.upstream import StatusError, UpstreamClient, UpstreamConfig

CONFIGMAPS = builtin_resource(GroupVersionResource("", "v1", "configmaps"))
NAMES = [f"n{i}" for i in range(6)]

operations = st.lists(
    st.one_of(
        st.tuples(st.just("write"), st.sampled_from(NAMES), st.integers(0, 3)),
        st.tuples(st.just("delete"), st.sampled_from(NAMES), st.just(0)),
        st.tuples(st.just("cut"), st.just(""), st.just(0)),
        st.tuples(st.just("lose-history"), st.just(""), st.just(0)),
        st.tuples(st.just("fail"), st.sampled_from(["429", "500", "503"]), st.integers(1, 2)),
        st.tuples(st.just("pause"), st.just(""), st.just(0)),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=operations, watch_list=st.booleans())
def test_cache_converges_and_events_stay_ordered(
    ops: list[tuple[str, str, int]], watch_list: bool
) -> None:
    asyncio.run(_run(ops, watch_list))


async def _run(ops: list[tuple[str, str, int]], watch_list: bool) -> None:
    sim = Simulator()
    await sim.start()
    events: list[Event] = []

    async def record(event: Event) -> None:
        events.append(event)

    async def no_wait(_delay: float) -> None:
        await asyncio.sleep(0.005)

    try:
        async with UpstreamClient(UpstreamConfig(sim.url)) as client:
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
            for op, arg, n in ops:
                if op == "write":
                    _write(sim, arg, str(n))
                elif op == "delete" and _exists(sim, arg):
                    sim.verbs.delete(CONFIGMAPS, "default", arg, DeleteOptions())
                elif op == "cut":
                    sim.faults.cut_watches()
                elif op == "lose-history":
                    # Changes the stalled watch never delivers, then a history
                    # too short to replay them: the resume gets 410.
                    sim.faults.stall_watches()
                    for i in range(3):
                        _write(sim, f"h{i}", str(len(ops)))
                    sim.faults.shrink_history(1)
                    sim.faults.cut_watches()
                    sim.faults.resume_watches()
                elif op == "fail":
                    sim.faults.fail_next(n, int(arg), retry_after=None)
                elif op == "pause":
                    await asyncio.sleep(0.02)
            expected = await _upstream(client)
            deadline = asyncio.get_running_loop().time() + 15
            while _state(cache) != expected:
                assert asyncio.get_running_loop().time() < deadline, (_state(cache), expected)
                await asyncio.sleep(0.02)
            reflector.stop()
            await asyncio.wait_for(task, 10)
    finally:
        await sim.stop()
    rvs = [e.rv for e in events]
    assert rvs == sorted(set(rvs)), "events repeated or out of order"


def _write(sim: Simulator, name: str, value: str) -> None:
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name},
        "data": {"v": value},
    }
    if _exists(sim, name):
        sim.verbs.update(CONFIGMAPS, "default", name, body)
    else:
        sim.verbs.create(CONFIGMAPS, "default", body)


def _exists(sim: Simulator, name: str) -> bool:
    try:
        sim.verbs.get(CONFIGMAPS, "default", name)
    except Exception:
        return False
    return True


async def _upstream(client: UpstreamClient) -> dict[str, str]:
    """Upstream's state; injected failures still pending are used up here."""
    for _ in range(10):
        try:
            body = (await client.get("/api/v1/configmaps")).json()
        except StatusError:
            continue
        return {i["metadata"]["name"]: i["metadata"]["resourceVersion"] for i in body["items"]}
    raise AssertionError("upstream kept failing")


def _state(cache: Cache) -> dict[str, str]:
    return {e.name: str(e.rv) for e in cache.list().items}
