"""LIST of all pods through the proxy versus kube-apiserver directly (issue 8).

Creates ``--pods`` pods (default 10,000, about 7 KB of JSON each, like the
figures in DEVELOPERS.md) in a dev cluster, starts ``watchcache serve``
caching pods in front of it, and times, interleaved, full LISTs with
resourceVersion=0 and with resourceVersion unset (a consistent read: the
proxy probes upstream's RV first). Prints latency and MB/s for each and the
ratio proxy/direct throughput.

    python benchmarks/bench_list_pods.py [--pods 10000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import ssl
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script
from benchmarks.bench_proxy_latency import start_proxy
from watchcache.devcluster import ClusterConfig, DevCluster

PAD = "x" * 6000


async def create_pods(
    cluster: DevCluster,
    count: int,
    start: int = 0,
    *,
    on_nodes: bool = True,
    pad: Callable[[], str] = lambda: PAD,
) -> None:
    """Pods ``pod-<start>`` .. ``pod-<count - 1>`` in ``default``. With
    ``on_nodes`` they are bound to node-0..99, which do not exist, so
    kube-controller-manager's pod GC deletes them within minutes; without,
    they stay Pending (the dev cluster has no scheduler). ``pad`` makes
    each pod's padding annotation (the same 6,000 bytes unless given)."""
    context = ssl.create_default_context(cafile=str(cluster.ca_file))
    auth = {"Authorization": f"Bearer {cluster.admin_token}"}
    gate = asyncio.Semaphore(32)
    started = time.monotonic()
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=context, limit=64), headers=auth
    ) as s:

        async def one(i: int) -> None:
            pod = {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": f"pod-{i:05d}",
                    "labels": {"app": f"a{i % 10}"},
                    "annotations": {"pad": pad()},
                },
                "spec": {
                    "containers": [{"name": "c", "image": "registry.invalid/x:1"}],
                },
            }
            if on_nodes:
                pod["spec"]["nodeName"] = f"node-{i % 100}"  # type: ignore[index]
            async with gate, s.post(cluster.url + "/api/v1/namespaces/default/pods", json=pod) as r:
                assert r.status == 201, await r.text()
            if i and i % 2000 == 0:
                print(f"  created {i} pods in {time.monotonic() - started:.0f}s", file=sys.stderr)

        await asyncio.gather(*(one(i) for i in range(start, count)))


async def timed_list(session: aiohttp.ClientSession, url: str) -> tuple[float, int]:
    start = time.perf_counter()
    async with session.get(url) as r:
        body = await r.read()
        assert r.status == 200, body[:300]
    return time.perf_counter() - start, len(body)


async def measure(cluster: DevCluster, proxy: str, rounds: int) -> None:
    context = ssl.create_default_context(cafile=str(cluster.ca_file))
    auth = {"Authorization": f"Bearer {cluster.admin_token}", "Accept": "application/json"}
    results: dict[str, list[tuple[float, int]]] = {}
    async with (
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context), headers=auth) as direct,
        aiohttp.ClientSession(headers={"Accept": "application/json"}) as via,
    ):
        for _ in range(rounds):
            for label, query in (("RV=0", "?resourceVersion=0"), ("RV unset", "")):
                results.setdefault(f"direct {label}", []).append(
                    await timed_list(direct, cluster.url + "/api/v1/pods" + query)
                )
                results.setdefault(f"proxy  {label}", []).append(
                    await timed_list(via, proxy + "/api/v1/pods" + query)
                )
    print(f"LIST of all pods, {rounds} rounds, interleaved (median)")
    medians = {}
    for name, samples in results.items():
        seconds = sorted(s for s, _ in samples)[len(samples) // 2]
        size = samples[0][1]
        medians[name] = size / seconds
        print(
            f"  {name:<16} {seconds * 1000:8.0f} ms  {size / 1e6:6.1f} MB  {size / seconds / 1e6:7.0f} MB/s"
        )
    for label in ("RV=0", "RV unset"):
        print(
            f"  proxy/direct throughput, {label}: {medians[f'proxy  {label}'] / medians[f'direct {label}']:.1f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        DevCluster(ClusterConfig(workdir=Path(tmp) / "c", tie_to_parent=True)) as cluster,
    ):
        asyncio.run(create_pods(cluster, args.pods))
        proc, url = start_proxy(cluster.kubeconfig, Path(tmp) / "proxy.log")
        try:
            time.sleep(5)  # the proxy's first list of pods
            asyncio.run(measure(cluster, url, args.rounds))
        finally:
            proc.terminate()
            proc.wait(15)


if __name__ == "__main__":
    main()
