"""An upstream churned at random, for the property tests of what keeps a
copy of it: the reflector's (cache/) and the informer's (informer/).

Glossary:
    simulator  ``watchcache.testing.Simulator`` on a free port, with a
               namespace ``other`` beside ``default``
    churn      one operation on it: ``write`` (create or update a
               configmap), ``delete``, ``cut`` (every watch drops),
               ``lose-history`` (changes a stalled watch never delivers,
               then history too short to replay them: the resume gets
               410), ``fail`` (the next N requests answer 429/500/503)
    CHURN      the strategies drawing those; each test adds its own
               operations beside them and handles those itself

Configmaps are written in ``default`` unless told otherwise; every helper
reads the simulator's store directly, never through the copy under test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from hypothesis import strategies as st

from watchcache.api.resources import GroupVersionResource, builtin_resource
from watchcache.simulator import Simulator
from watchcache.simulator.verbs import DeleteOptions
from watchcache.upstream import StatusError, UpstreamClient, UpstreamConfig

__all__ = [
    "CHURN",
    "CONFIGMAPS",
    "NAMES",
    "Op",
    "churn",
    "cm",
    "delete",
    "exists",
    "simulated",
    "upstream_state",
    "use_up_failures",
    "write",
]

CONFIGMAPS = builtin_resource(GroupVersionResource("", "v1", "configmaps"))
NAMESPACES = builtin_resource(GroupVersionResource("", "v1", "namespaces"))
assert CONFIGMAPS is not None and NAMESPACES is not None

NAMES = [f"n{i}" for i in range(6)]

# (operation, argument, count)
Op = tuple[str, str, int]

CHURN: list[st.SearchStrategy[Op]] = [
    st.tuples(st.just("write"), st.sampled_from(NAMES), st.integers(0, 3)),
    st.tuples(st.just("delete"), st.sampled_from(NAMES), st.just(0)),
    st.tuples(st.just("cut"), st.just(""), st.just(0)),
    st.tuples(st.just("lose-history"), st.sampled_from(NAMES), st.just(0)),
    st.tuples(st.just("fail"), st.sampled_from(["429", "500", "503"]), st.integers(1, 2)),
]


@asynccontextmanager
async def simulated() -> AsyncIterator[tuple[Simulator, UpstreamClient]]:
    """A started simulator and a client to it; both closed afterwards."""
    sim = Simulator()
    await sim.start()
    try:
        sim.verbs.create(NAMESPACES, "", {"metadata": {"name": "other"}})
        async with UpstreamClient(UpstreamConfig(sim.url)) as client:
            yield sim, client
    finally:
        await sim.stop()


def churn(sim: Simulator, op: Op, writes: int) -> bool:
    """Apply ``op`` if it is one of CHURN's; False if it is not (the test's
    own). ``writes`` makes lose-history's values differ from run to run."""
    kind, arg, n = op
    if kind == "write":
        write(sim, arg, str(n))
    elif kind == "delete":
        if exists(sim, arg):
            delete(sim, arg)
    elif kind == "cut":
        sim.faults.cut_watches()
    elif kind == "lose-history":
        sim.faults.stall_watches()
        write(sim, "h", str(writes))
        if exists(sim, arg):
            delete(sim, arg)
        write(sim, "h2", arg)
        sim.faults.shrink_history(1)
        sim.faults.cut_watches()
        sim.faults.resume_watches()
    elif kind == "fail":
        sim.faults.fail_next(n, int(arg))
    else:
        return False
    return True


async def use_up_failures(client: UpstreamClient) -> None:
    """Injected failures still pending are spent here, so that the copy
    under test's next requests succeed."""
    for _ in range(10):
        try:
            await client.get("/api/v1/configmaps")
        except StatusError:
            continue
        return
    raise AssertionError("upstream kept failing")


def cm(name: str, value: str = "v", namespace: str = "default", **labels: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"k": value}}


def write(sim: Simulator, name: str, value: str = "v", namespace: str = "default") -> int:
    """Create or update a configmap; its new RV."""
    if exists(sim, name, namespace):
        return sim.verbs.update(CONFIGMAPS, namespace, name, cm(name, value, namespace)).rv
    return sim.verbs.create(CONFIGMAPS, namespace, cm(name, value, namespace)).rv


def delete(sim: Simulator, name: str, namespace: str = "default") -> None:
    sim.verbs.delete(CONFIGMAPS, namespace, name, DeleteOptions())


def exists(sim: Simulator, name: str, namespace: str = "default") -> bool:
    try:
        sim.verbs.get(CONFIGMAPS, namespace, name)
    except Exception:
        return False
    return True


def upstream_state(sim: Simulator) -> dict[str, int]:
    """key -> RV of every configmap upstream."""
    coll = sim.store.find("", "configmaps")
    return {} if coll is None else {e.key: e.rv for e in coll.items.values()}
