"""broadcast: W watchers of every pod in one namespace, R patches a second.

Every watcher opens its watch from the same RV (read through the endpoint
under test just before), so every patch made after it is one event every
watcher must receive. The writer is another client: it patches straight
into the backend in both modes (only the watches differ), each patch
stamping ``SENT_AT`` with the time it was sent.

Measured from the first patch until every watcher has every event (or the
settle time ran out): deliveries, their latency, each watcher's check, and
the CPU each process spent (``Meter``).
"""

from __future__ import annotations

import asyncio
import time
from array import array
from dataclasses import asdict, dataclass
from typing import Any

import aiohttp

from benchmarks.loadtest.meter import Meter, per_thousand
from benchmarks.loadtest.pacing import paced
from benchmarks.loadtest.progress import Progress
from benchmarks.loadtest.stack import Backend
from benchmarks.loadtest.streams import WatchStream, check_stream
from benchmarks.loadtest.workload import ensure_pods, open_target
from benchmarks.nodesim.lag import LagMonitor
from benchmarks.nodesim.ledger import percentiles
from benchmarks.nodesim.objects import SENT_AT
from benchmarks.nodesim.target import ApiStatusError, Target

__all__ = ["BroadcastPoint", "run_broadcast"]

NAMESPACE = "lt-broadcast"
CONNECT_TIMEOUT = 180.0


@dataclass(frozen=True)
class BroadcastPoint:
    watchers: int
    rate: float  # patches per second
    duration: float  # seconds of patching
    pods: int = 100
    pad: int = 1000
    settle: float = 30.0


async def run_broadcast(
    backend: Backend, mode: str, point: BroadcastPoint, progress: Progress
) -> dict[str, Any]:
    async with (
        open_target(backend.upstream) as writer,
        open_target(backend.endpoint(mode), connections=point.watchers + 16) as client,
    ):
        names = [f"pod-{i:05d}" for i in range(point.pods)]
        key = f"{NAMESPACE}/{point.pods}/{point.pad}"
        if key not in backend.prepared:
            await ensure_pods(
                writer, NAMESPACE, point.pods, point.pad, wait_for_token=backend.name == "apiserver"
            )
            backend.prepared.add(key)
        path = f"/api/v1/namespaces/{NAMESPACE}/pods"
        listed = await client.call("GET", path, params={"limit": "1"})
        start_rv = int(listed["metadata"]["resourceVersion"])
        latencies: array[float] = array("d")
        streams = [WatchStream(client, path, start_rv, latencies) for _ in range(point.watchers)]
        budget = int(point.duration + point.settle + 120)
        tasks = [asyncio.get_running_loop().create_task(s.run(budget)) for s in streams]
        progress.stage(f"opening {point.watchers} watches")
        await asyncio.wait_for(
            asyncio.gather(*(s.connected.wait() for s in streams)), CONNECT_TIMEOUT
        )
        failed = [s.error for s in streams if s.error]
        if failed:
            raise RuntimeError(f"{len(failed)} watches failed to open: {failed[:3]}")
        await asyncio.sleep(0.5)

        meter = Meter(
            backend,
            writer,
            profile_name=f"broadcast-W{point.watchers}-R{point.rate:g}"
            if mode == "proxy"
            else None,
        )
        lag = LagMonitor()
        lag_task = asyncio.get_running_loop().create_task(lag.run(budget))
        await meter.start()
        writes_before = await _proxy_writes(client) if mode == "proxy" else None
        expected: list[int] = []
        errors: list[str] = []
        total = int(point.rate * point.duration)
        started = time.monotonic()

        async def patch(i: int) -> None:
            body = {"metadata": {"annotations": {SENT_AT: str(time.time_ns())}}}
            try:
                reply = await writer.call(
                    "PATCH",
                    f"{path}/{names[i % len(names)]}",
                    body,
                    content_type="application/merge-patch+json",
                )
            except (ApiStatusError, OSError, TimeoutError) as err:
                errors.append(repr(err)[:200])
                return
            expected.append(int(reply["metadata"]["resourceVersion"]))

        progress.stage("patching")
        await paced(point.rate, total, patch, on_tick=lambda n: progress.fraction(n / total))
        progress.stage("settling")
        settle_end = time.monotonic() + point.settle
        while time.monotonic() < settle_end and not _all_arrived(streams, expected):
            await asyncio.sleep(0.05)
        last_arrival = max((s.last_arrival for s in streams), default=time.monotonic())
        writes_after = await _proxy_writes(client) if mode == "proxy" else None
        cost = await _stop(meter, tasks)
        lag_task.cancel()

    checks = [check_stream(expected, start_rv, s.seen) for s in streams]
    deliveries = sum(len(s.seen) for s in streams)
    seconds = max(1e-3, last_arrival - started)
    server = "proxy" if mode == "proxy" else _server_of(backend)
    server_cpu = cost["cpu_seconds"].get(server, 0.0)
    return {
        "params": asdict(point),
        "writes": len(expected),
        "write_errors": len(errors),
        "first_errors": errors[:3],
        "deliveries": deliveries,
        "deliveries_per_second": round(deliveries / seconds),
        "deliveries_per_server_cpu_second": round(deliveries / server_cpu) if server_cpu else None,
        "latency_ms": percentiles(list(latencies)),
        "lost": sum(c.lost for c in checks),
        "duplicated": sum(c.duplicated for c in checks),
        "out_of_order": sum(c.out_of_order for c in checks),
        "unexpected": sum(c.unexpected for c in checks),
        "watch_errors": sum(1 for s in streams if s.error),
        "cpu_ms_per_1000_deliveries": per_thousand(cost["cpu_seconds"], deliveries),
        "events_per_write": _events_per_write(writes_before, writes_after),
        "generator_lag_ms": lag.summary(),
        **cost,
    }


async def _proxy_writes(client: Target) -> tuple[float, float] | None:
    """The proxy's watch deliveries and writes so far (its /metrics), or
    None if it does not say."""
    try:
        async with client.session.get("/metrics") as resp:
            text = await resp.text()
    except (aiohttp.ClientError, OSError, TimeoutError):
        return None
    counts = {"watchcache_watch_deliveries_total": 0.0, "watchcache_watch_writes_total": 0.0}
    for line in text.splitlines():
        name, _, rest = line.partition("{")
        if name in counts:
            counts[name] += float(rest.rpartition(" ")[2])
    return counts["watchcache_watch_deliveries_total"], counts["watchcache_watch_writes_total"]


def _events_per_write(
    before: tuple[float, float] | None, after: tuple[float, float] | None
) -> float | None:
    """Deliveries per write to the watchers between two scrapes."""
    if before is None or after is None or after[1] <= before[1]:
        return None
    return round((after[0] - before[0]) / (after[1] - before[1]), 2)


def _server_of(backend: Backend) -> str:
    return "kube-apiserver" if backend.name == "apiserver" else "simulator"


def _all_arrived(streams: list[WatchStream], expected: list[int]) -> bool:
    if not expected:
        return True
    newest = max(expected)
    return all(s.seen and s.seen[-1] >= newest and len(s.seen) >= len(expected) for s in streams)


async def _stop(meter: Meter, tasks: list[asyncio.Task[None]]) -> dict[str, Any]:
    """CPU is read before the watches close (closing 1,000 TLS streams is not
    delivery work); the request counters after (they count a WATCH when it
    ends)."""
    meter.freeze()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return await meter.report()
