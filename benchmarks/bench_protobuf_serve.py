"""What protobuf answers cost ``watchcache serve``: memory and the first LIST.

Creates ``--pods`` pods (default 10,000, about 7 KB of JSON each) in a dev
cluster, starts ``watchcache serve`` (pods cached) in front of it, and
reports:

- the proxy's RSS after JSON LISTs only, then after protobuf LISTs (each
  object's message is kept beside its JSON from its first protobuf read);
- the first (cold: every object encoded) and a later (warm) protobuf LIST's
  latency, next to a JSON LIST's;
- how long other requests wait meanwhile: a small GET is sent every 5 ms
  during the cold LIST; its worst latency is the longest event-loop slice
  the encoding took (the same-run baseline: the worst during a JSON LIST).

    python benchmarks/bench_protobuf_serve.py [--pods 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script
from benchmarks.bench_list_pods import create_pods
from benchmarks.bench_proxy_latency import start_proxy
from watchcache.devcluster import ClusterConfig, DevCluster

PROTOBUF = {"Accept": "application/vnd.kubernetes.protobuf, application/json"}
_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * _PAGE / 1e6


async def timed(session: aiohttp.ClientSession, url: str, headers: dict[str, str]) -> float:
    start = time.perf_counter()
    async with session.get(url, headers=headers) as r:
        assert r.status == 200, r.status
        await r.read()
    return time.perf_counter() - start


async def worst_wait_during(
    session: aiohttp.ClientSession, base: str, list_task: asyncio.Task[float]
) -> float:
    """The worst latency of small GETs sent every 5 ms while the LIST runs."""
    worst = 0.0
    probe = base + "/api/v1/namespaces/default/pods/pod-00001?resourceVersion=0"
    while not list_task.done():
        worst = max(worst, await timed(session, probe, {}))
        await asyncio.sleep(0.005)
    return worst


async def list_with_probe(
    session: aiohttp.ClientSession, base: str, headers: dict[str, str]
) -> tuple[float, float]:
    task = asyncio.create_task(timed(session, base + "/api/v1/pods?resourceVersion=0", headers))
    worst = await worst_wait_during(session, base, task)
    return await task, worst


async def measure(url: str, pid: int, pods: int) -> None:
    async with aiohttp.ClientSession() as session:
        while True:
            async with session.get(url + "/api/v1/pods?resourceVersion=0") as full:
                body = await full.json(content_type=None)
                if full.status == 200 and len(body["items"]) >= pods:
                    break
            await asyncio.sleep(0.5)
        json_s, json_worst = await list_with_probe(session, url, {})
        await timed(session, url + "/api/v1/pods?resourceVersion=0", {})
        json_rss = rss_mb(pid)
        cold_s, cold_worst = await list_with_probe(session, url, PROTOBUF)
        warm_s, warm_worst = await list_with_probe(session, url, PROTOBUF)
        proto_rss = rss_mb(pid)
    print(f"pods: {pods}")
    print(f"RSS after JSON LISTs only: {json_rss:.0f} MB")
    print(
        f"RSS after protobuf LISTs:  {proto_rss:.0f} MB (+{proto_rss - json_rss:.0f} MB, "
        f"{(proto_rss - json_rss) * 1e6 / pods:.0f} B/pod)"
    )
    print(
        f"JSON LIST:           {json_s * 1000:7.0f} ms; worst small GET meanwhile {json_worst * 1000:.0f} ms"
    )
    print(
        f"protobuf LIST cold:  {cold_s * 1000:7.0f} ms; worst small GET meanwhile {cold_worst * 1000:.0f} ms"
    )
    print(
        f"protobuf LIST warm:  {warm_s * 1000:7.0f} ms; worst small GET meanwhile {warm_worst * 1000:.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pods", type=int, default=10_000)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        DevCluster(ClusterConfig(workdir=Path(tmp) / "c", tie_to_parent=True)) as cluster,
    ):
        asyncio.run(create_pods(cluster, args.pods, on_nodes=False))
        proc, url = start_proxy(cluster.kubeconfig, Path(tmp) / "serve.log")
        try:
            asyncio.run(measure(url, proc.pid, args.pods))
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
