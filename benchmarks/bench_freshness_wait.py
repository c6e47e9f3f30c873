"""How long a consistent read waits for the cache to catch up (issue 4).

A consistent read probes upstream's current RV (a one-item LIST), then
waits until the cache has applied that RV from its watch. This measures
that wait against a real kube-apiserver while configmaps are written at
``--rate`` per second, and, as the baseline in the same run, the probe's
own round trip. The proxy's FRESHNESS_WAIT (reads.py) should sit above the
catch-up p99 under load: below it, busy resources would be forwarded for
no reason; far above it, quiet resources wait longer before forwarding.

    python benchmarks/bench_freshness_wait.py [--rate 50] [--reads 300]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script
from benchmarks.bench_proxy_latency import percentile
from watchcache.cache.cache import CacheConfig
from watchcache.devcluster import ClusterConfig, DevCluster
from watchcache.proxy.caches import open_caches
from watchcache.upstream import UpstreamClient, load_kubeconfig


async def measure(cluster: DevCluster, rate: float, reads: int) -> None:
    ns = "freshness"
    cluster.request(
        "POST",
        "/api/v1/namespaces",
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
    )
    cluster.request(
        "POST",
        f"/api/v1/namespaces/{ns}/configmaps",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"n": "0"}},
    )
    async with (
        UpstreamClient(load_kubeconfig(cluster.kubeconfig)) as client,
        open_caches(["configmaps"], client, CacheConfig()) as caches,
    ):
        resource = next(iter(caches.values()))
        await asyncio.wait_for(resource.reflector.synced.wait(), 30)
        stop = asyncio.Event()

        async def writer() -> None:
            i = 0
            while not stop.is_set():
                i += 1
                await client.forward(
                    "PATCH",
                    f"/api/v1/namespaces/{ns}/configmaps/c",
                    None,
                    {"Content-Type": "application/merge-patch+json"},
                    f'{{"data":{{"n":"{i}"}}}}'.encode(),
                )
                await asyncio.sleep(1 / rate)

        writing = asyncio.create_task(writer())
        probes, catch_up, behind = [], [], 0
        for _ in range(reads):
            start = time.perf_counter()
            target = await resource.prober.current_rv()
            probed = time.perf_counter()
            if resource.cache.rv < target:
                behind += 1
            await asyncio.wait_for(resource.cache.wait_until(target), 10)
            probes.append((probed - start) * 1000)
            catch_up.append((time.perf_counter() - probed) * 1000)
            await asyncio.sleep(0.01)
        stop.set()
        await writing
    print(f"{reads} consistent reads while writing {rate:g}/s; milliseconds")
    print(
        f"  probe round trip (baseline):   p50 {percentile(probes, 0.5):6.2f}  p99 {percentile(probes, 0.99):6.2f}  max {max(probes):6.2f}"
    )
    print(
        f"  cache catch-up after the probe: p50 {percentile(catch_up, 0.5):6.2f}  p99 {percentile(catch_up, 0.99):6.2f}  max {max(catch_up):6.2f}"
    )
    print(f"  reads that found the cache behind the probe: {behind}/{reads}")
    print(
        f"  catch-up p99 / probe p99: {percentile(catch_up, 0.99) / percentile(probes, 0.99):.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--reads", type=int, default=300)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        DevCluster(ClusterConfig(workdir=Path(tmp) / "c", tie_to_parent=True)) as cluster,
    ):
        asyncio.run(measure(cluster, args.rate, args.reads))


if __name__ == "__main__":
    main()
