"""writes: what a write costs through the proxy, next to the same write
sent straight to the backend.

One request at a time, interleaved (direct, then proxy, for each of
create, patch and delete of a pod), so both sides see the same machine
noise; the first ``WARMUP`` rounds are not counted. The proxy forwards
writes unchanged: the difference is its added latency.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

from benchmarks.loadtest.meter import Meter
from benchmarks.loadtest.progress import Progress
from benchmarks.loadtest.stack import Backend
from benchmarks.loadtest.workload import open_target, pod
from benchmarks.nodesim.ledger import percentiles
from benchmarks.nodesim.target import Target

__all__ = ["WritesPoint", "run_writes"]

NAMESPACE = "lt-writes"
WARMUP = 10
VERBS = ("create", "patch", "delete")


@dataclass(frozen=True)
class WritesPoint:
    requests: int = 300  # of each verb, per mode


async def run_writes(
    backend: Backend, modes: tuple[str, ...], point: WritesPoint, progress: Progress
) -> dict[str, dict[str, Any]]:
    """Both modes at once (interleaved): results keyed by mode."""
    timings: dict[str, dict[str, list[float]]] = {m: {v: [] for v in VERBS} for m in modes}
    async with open_target(backend.upstream) as admin:
        await admin.call(
            "POST",
            "/api/v1/namespaces",
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
            ok=(201, 409),
        )
        targets = {m: open_target(backend.endpoint(m), connections=4) for m in modes}
        for t in targets.values():
            await t.__aenter__()
        try:
            meter = Meter(backend, admin)
            await meter.start()
            progress.stage("writing")
            total = point.requests + WARMUP
            for i in range(total):
                for mode, target in targets.items():
                    for verb, ms in (await _round(target, f"w-{mode}-{i}")).items():
                        if i >= WARMUP:
                            timings[mode][verb].append(ms)
                progress.fraction((i + 1) / total)
            meter.freeze()
            cost = await meter.report()
        finally:
            for t in targets.values():
                await t.__aexit__(None, None, None)
    results: dict[str, dict[str, Any]] = {}
    for mode in modes:
        results[mode] = {
            "params": asdict(point),
            "latency_ms": {verb: percentiles(timings[mode][verb]) for verb in VERBS},
            # one Meter covered both modes: the cost is the pair's
            "pair_cost": cost,
        }
    if "direct" in results and "proxy" in results:
        results["proxy"]["added_ms"] = {
            verb: {
                q: round(
                    results["proxy"]["latency_ms"][verb][q]
                    - results["direct"]["latency_ms"][verb][q],
                    3,
                )
                for q in ("p50", "p99")
            }
            for verb in VERBS
            if timings["proxy"][verb]
        }
    return results


async def _round(target: Target, name: str) -> dict[str, float]:
    path = f"/api/v1/namespaces/{NAMESPACE}/pods"
    steps: dict[str, Callable[[], Awaitable[Any]]] = {
        "create": lambda: target.call("POST", path, pod(name)),
        "patch": lambda: target.call(
            "PATCH",
            f"{path}/{name}",
            {"metadata": {"labels": {"patched": "yes"}}},
            content_type="application/merge-patch+json",
        ),
        "delete": lambda: target.call(
            "DELETE", f"{path}/{name}", {"gracePeriodSeconds": 0}, ok=(200, 202)
        ),
    }
    took = {}
    for verb, step in steps.items():
        began = time.perf_counter()
        await step()
        took[verb] = (time.perf_counter() - began) * 1000
    return took
