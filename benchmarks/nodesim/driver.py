"""A whole run: nodes up, pods created, churned and deleted, then checked.

Phases, each bounded in time:
    1. register   Node and Lease objects (``--concurrency`` at a time)
    2. watch      every node opens its pod and node watches
    3. create     ``pods`` pods bound round-robin to the nodes
    4. churn      ``churn`` annotation patches per second for ``duration``
    5. delete     every pod deleted gracefully; its node finishes the delete
    6. settle     wait (at most ``settle`` seconds) until every watcher has
                  seen every expected event
    7. clean up   nodes and leases deleted unless ``keep``
"""

from __future__ import annotations

import asyncio
import functools
import random
import resource
import sys
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from benchmarks.nodesim import objects
from benchmarks.nodesim.lag import LagMonitor
from benchmarks.nodesim.ledger import Ledger
from benchmarks.nodesim.node import PROFILES, SimNode
from benchmarks.nodesim.target import ApiStatusError, Target

__all__ = ["RunConfig", "run"]


@dataclass(frozen=True)
class RunConfig:
    nodes: int = 10
    pods: int = 100
    churn: float = 10.0  # patches per second
    duration: float = 30.0  # seconds of churn
    profile: str = "kwok"
    namespace: str = "nodesim"
    pod_size: int = 0  # bytes of padding per pod
    concurrency: int = 50
    settle: float = 30.0
    keep: bool = False
    prefix: str = "sim-node"


def raise_open_file_limit(wanted: int) -> int:
    """Each node holds two watches; make sure the fds are there."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(hard, max(soft, wanted))
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


async def run(
    target: Target, config: RunConfig, progress: Callable[[str], None] = print
) -> dict[str, Any]:
    raise_open_file_limit(4 * config.nodes + 1024)
    ledger = Ledger()
    lag = LagMonitor()
    loop = asyncio.get_running_loop()
    budget = 120 + config.nodes * 0.05 + config.pods * 0.05 + config.duration + config.settle
    deadline = loop.time() + budget
    lag_task = loop.create_task(lag.run(budget))
    started = time.monotonic()
    phases: dict[str, float] = {}
    # Wall-clock windows of the write phases, for each phase's latency.
    windows: dict[str, tuple[int, int]] = {}
    window_start = time.time_ns()

    def phase(name: str, since: float) -> float:
        nonlocal window_start
        phases[name] = round(time.monotonic() - since, 2)
        windows[name] = (window_start, time.time_ns())
        window_start = time.time_ns()
        progress(f"{name}: {phases[name]}s")
        return time.monotonic()

    await target.call(
        "POST",
        "/api/v1/namespaces",
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": config.namespace}},
        ok=(201, 409),
    )
    nodes = [
        SimNode(
            f"{config.prefix}-{i}",
            target,
            ledger,
            PROFILES[config.profile],
            config.namespace,
            deadline,
        )
        for i in range(config.nodes)
    ]
    t = time.monotonic()
    await _bounded(config.concurrency, (n.register for n in nodes))
    t = phase("register", t)
    node_tasks = [loop.create_task(n.run()) for n in nodes]
    try:
        await asyncio.wait_for(
            asyncio.gather(*(n.pods_watch_ready.wait() for n in nodes)),
            60 + config.nodes * 0.05,
        )
    except BaseException:
        # Not every watch opened in time: stop every node before giving up.
        await _stop(node_tasks, lag_task)
        raise
    await asyncio.sleep(0.5)  # the last watches' requests reach the server
    t = phase("watch", t)

    pods: dict[str, SimNode] = {}
    write_errors: list[str] = []

    def create(i: int) -> Callable[[], Awaitable[None]]:
        async def go() -> None:
            node = nodes[i % len(nodes)]
            name = f"pod-{i}"
            try:
                reply = await target.call(
                    "POST",
                    f"/api/v1/namespaces/{config.namespace}/pods",
                    objects.pod(name, node.name, config.pod_size),
                )
            except ApiStatusError as err:
                write_errors.append(f"create {name}: {err}")
                return
            pods[name] = node
            ledger.expect(node.name, int(reply["metadata"]["resourceVersion"]))

        return go

    await _bounded(config.concurrency, (create(i) for i in range(config.pods)))
    t = phase("create", t)

    churned = await _churn(target, config, pods, ledger, write_errors)
    t = phase("churn", t)

    async def delete(name: str, node: SimNode) -> None:
        try:
            reply = await target.call(
                "DELETE", f"/api/v1/namespaces/{config.namespace}/pods/{name}"
            )
        except ApiStatusError as err:
            write_errors.append(f"delete {name}: {err}")
            return
        ledger.expect(node.name, int(reply["metadata"]["resourceVersion"]))

    await _bounded(
        config.concurrency, (functools.partial(delete, n, node) for n, node in pods.items())
    )
    t = phase("delete", t)

    settle_end = time.monotonic() + config.settle
    while not _settled(nodes, pods, ledger) and time.monotonic() < settle_end:
        await asyncio.sleep(0.1)
    t = phase("settle", t)

    await _stop(node_tasks, lag_task)
    if not config.keep:
        await _bounded(
            config.concurrency, (functools.partial(_remove_node, target, n.name) for n in nodes)
        )
        phase("cleanup", t)

    node_errors = [e for n in nodes for e in n.errors]
    return {
        "config": asdict(config),
        "target": target.base_url,
        "seconds": round(time.monotonic() - started, 2),
        "phases": phases,
        "churn_patches": churned,
        "delivery": ledger.summary(
            {name: windows[name] for name in ("create", "churn", "delete") if name in windows}
        ),
        "node_watch_events": sum(n.node_events for n in nodes),
        "write_errors": len(write_errors),
        "node_errors": len(node_errors),
        "first_errors": (write_errors + node_errors)[:5],
        "generator_lag_ms": lag.summary(),
    }


async def _stop(node_tasks: list[asyncio.Task[None]], lag_task: asyncio.Task[Any]) -> None:
    for task in node_tasks:
        task.cancel()
    lag_task.cancel()
    await asyncio.gather(*node_tasks, lag_task, return_exceptions=True)


def _settled(nodes: list[SimNode], pods: dict[str, SimNode], ledger: Ledger) -> bool:
    """Every pod's DELETED arrived, no kubelet reaction is in flight, and
    every write's event reached its watcher."""
    deleted = set().union(*(n.deleted for n in nodes))
    return (
        all(name in deleted for name in pods)
        and not any(n.reactions for n in nodes)
        and ledger.outstanding() == 0
    )


async def _churn(
    target: Target, config: RunConfig, pods: dict[str, SimNode], ledger: Ledger, errors: list[str]
) -> int:
    """``churn`` patches per second, paced by the clock, not by replies."""
    if not pods or config.churn <= 0:
        return 0
    names = list(pods)
    loop = asyncio.get_running_loop()
    start = loop.time()
    total = int(config.churn * config.duration)
    in_flight: set[asyncio.Task[None]] = set()

    async def patch(name: str) -> None:
        body = {"metadata": {"annotations": {objects.SENT_AT: str(time.time_ns())}}}
        try:
            reply = await target.call(
                "PATCH",
                f"/api/v1/namespaces/{config.namespace}/pods/{name}",
                body,
                content_type="application/merge-patch+json",
            )
        except ApiStatusError as err:
            errors.append(f"patch {name}: {err}")
            return
        ledger.expect(pods[name].name, int(reply["metadata"]["resourceVersion"]))

    for i in range(total):
        due = start + i / config.churn
        if (wait := due - loop.time()) > 0:
            await asyncio.sleep(wait)
        if len(in_flight) >= config.concurrency * 4:
            # The server cannot keep up: wait rather than queue without bound.
            await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
        task = loop.create_task(patch(random.choice(names)))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
    if in_flight:
        await asyncio.wait(in_flight)
    return total


async def _remove_node(target: Target, name: str) -> None:
    lease = f"/apis/coordination.k8s.io/v1/namespaces/{objects.LEASE_NAMESPACE}/leases/{name}"
    for path in (f"/api/v1/nodes/{name}", lease):
        try:
            await target.call("DELETE", path, ok=(200, 202, 404))
        except (ApiStatusError, OSError) as err:
            print(f"cleanup {path}: {err}", file=sys.stderr)


async def _bounded(limit: int, jobs: Iterable[Callable[[], Awaitable[None]]]) -> None:
    gate = asyncio.Semaphore(limit)

    async def one(job: Callable[[], Awaitable[None]]) -> None:
        async with gate:
            await job()

    await asyncio.gather(*(one(j) for j in jobs))
