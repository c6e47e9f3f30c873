"""nodes: the kwok-style node simulator (``benchmarks.nodesim``) pointed
at the backend directly or through the proxy.

Every simulated node's writes (leases, pod status, final deletes) and its
two watches go to the endpoint under test, as a kubelet's would. The
driver's ledger checks each node's pod watch; the ``Meter`` adds what it
cost and how many watchers kube-apiserver itself held at the peak: with
the proxy in front that count should not grow with the nodes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from benchmarks.loadtest.meter import Meter, per_thousand
from benchmarks.loadtest.progress import Progress
from benchmarks.loadtest.stack import Backend
from benchmarks.loadtest.workload import ensure_namespace, open_target
from benchmarks.nodesim.driver import RunConfig, run

__all__ = ["NodesPoint", "run_nodes"]


@dataclass(frozen=True)
class NodesPoint:
    nodes: int
    pods: int
    churn: float  # pod patches per second
    duration: float
    profile: str = "kwok"
    concurrency: int = 50
    settle: float = 60.0


async def run_nodes(
    backend: Backend, mode: str, point: NodesPoint, progress: Progress
) -> dict[str, Any]:
    config = RunConfig(
        nodes=point.nodes,
        pods=point.pods,
        churn=point.churn,
        duration=point.duration,
        profile=point.profile,
        namespace="lt-nodes",
        concurrency=point.concurrency,
        settle=point.settle,
        prefix="lt-node",
    )
    # Two watches per node, each holding a connection, plus the writes.
    connections = 2 * point.nodes + 2 * point.concurrency
    async with (
        open_target(backend.upstream) as admin,
        open_target(backend.endpoint(mode), connections=connections) as target,
    ):
        await ensure_namespace(admin, config.namespace, backend.name == "apiserver")
        meter = Meter(backend, admin)
        await meter.start()
        result = await run(target, config, progress=progress.stage)
        meter.freeze()
        cost = await meter.report()
    delivery = result["delivery"]
    deliveries = int(delivery["deliveries"]) + int(result["node_watch_events"])
    return {
        "params": asdict(point),
        "phases": result["phases"],
        "churn_patches": result["churn_patches"],
        "expected_events": delivery["expected_events"],
        "deliveries": deliveries,
        "latency_ms": delivery["latency_ms"],
        # By the phase the write was sent in: "churn" is the steady state;
        # "create" and "delete" run 50 writes at a time, as fast as they go.
        "latency_ms_by_phase": delivery.get("latency_ms_by_phase", {}),
        "lost": delivery["lost"],
        "duplicated": delivery["duplicated"],
        "out_of_order": delivery["out_of_order"],
        "relists": delivery["relists"],
        "write_errors": result["write_errors"],
        "node_errors": result["node_errors"],
        "first_errors": result["first_errors"],
        "generator_lag_ms": result["generator_lag_ms"],
        "cpu_ms_per_1000_deliveries": per_thousand(cost["cpu_seconds"], deliveries),
        **cost,
    }
