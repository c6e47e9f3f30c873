"""Informer sync and memory: watchcache.informer versus the Python
alternatives, side by side in one run against one kube-apiserver (issue 16).

Creates pods (about 7 KB of JSON each, as bench_list_pods.py makes them) in a
dev cluster, then for each size and each variant starts a fresh process that
syncs every pod in ``default`` and reports the time to sync, the CPU it took
and its resident-set growth (what the allocator really holds, measured after
a gc, fragmentation included):

    watchcache        Informer("pods") with one handler, as a controller has
    watchcache-strip  the same with strip_managed_fields=True
    official          kubernetes.informer.SharedInformer (the official client
                      37.x, a thread; model objects in its cache), synced
                      when its ADDED handler has seen every pod
    dicts             a paginated LIST decoded with json.loads into a dict
                      by key: what a hand-written list+watch keeps

Memory is reported against the pods' JSON as kube-apiserver sent it (the
list items' bytes), the issue's target being at most 1.4x for watchcache.

    python benchmarks/bench_informer.py [--pods 10000,50000] [--variants ...]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_list_pods import create_pods
from watchcache.devcluster import ClusterConfig, DevCluster

VARIANTS = ("watchcache", "watchcache-strip", "official", "dicts")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss() -> int:
    gc.collect()
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# -- one variant, in its own process -------------------------------------------


async def _watchcache(kubeconfig: str, pods: int, strip: bool) -> dict[str, float]:
    from watchcache.informer import Informer, KubeObject
    from watchcache.upstream import UpstreamClient, load_kubeconfig

    seen = 0

    def on_add(obj: KubeObject) -> None:
        nonlocal seen
        seen += 1

    async with UpstreamClient(load_kubeconfig(kubeconfig)) as client:
        informer = Informer(client, "pods", namespace="default", strip_managed_fields=strip)
        handle = informer.add_handler(on_add=on_add)
        before, cpu0, start = rss(), cpu(), time.perf_counter()
        async with informer:
            assert await informer.wait_for_sync(600)
            assert await handle.wait_for_sync(600)
            took, cpu1 = time.perf_counter() - start, cpu()
            grown = rss() - before
            assert seen == pods == len(informer.lister), (seen, pods)
    return {"sync_s": took, "cpu_s": cpu1 - cpu0, "rss": grown}


def _official(kubeconfig: str, pods: int) -> dict[str, float]:
    # Untyped: imported as Any.
    config: Any = importlib.import_module("kubernetes.config")
    client: Any = importlib.import_module("kubernetes.client")
    official: Any = importlib.import_module("kubernetes.informer")

    config.load_kube_config(config_file=kubeconfig)
    api = client.CoreV1Api()
    done = threading.Event()
    seen = 0

    def on_add(obj: Any) -> None:
        nonlocal seen
        seen += 1
        if seen == pods:
            done.set()

    informer = official.SharedInformer(api.list_namespaced_pod, namespace="default")
    informer.add_event_handler(official.ADDED, on_add)
    before, cpu0, start = rss(), cpu(), time.perf_counter()
    informer.start()
    assert done.wait(600)
    took, cpu1 = time.perf_counter() - start, cpu()
    grown = rss() - before
    assert len(informer.cache.list()) == pods
    # Its thread is a daemon blocked in a watch: leave it, the process ends.
    return {"sync_s": took, "cpu_s": cpu1 - cpu0, "rss": grown}


async def _dicts(kubeconfig: str, pods: int) -> dict[str, float]:
    from watchcache.upstream import UpstreamClient, load_kubeconfig

    store: dict[str, Any] = {}
    async with UpstreamClient(load_kubeconfig(kubeconfig)) as client:
        before, cpu0, start = rss(), cpu(), time.perf_counter()
        token = ""
        while True:
            params = {"limit": "500", **({"continue": token} if token else {})}
            page = json.loads((await client.get("/api/v1/namespaces/default/pods", params)).body)
            for item in page["items"]:
                meta = item["metadata"]
                store[f"{meta['namespace']}/{meta['name']}"] = item
            token = page["metadata"].get("continue", "")
            if not token:
                break
        took, cpu1 = time.perf_counter() - start, cpu()
        grown = rss() - before
    assert len(store) == pods
    return {"sync_s": took, "cpu_s": cpu1 - cpu0, "rss": grown}


def run_variant(variant: str, kubeconfig: str, pods: int) -> dict[str, float]:
    if variant == "watchcache":
        return asyncio.run(_watchcache(kubeconfig, pods, strip=False))
    if variant == "watchcache-strip":
        return asyncio.run(_watchcache(kubeconfig, pods, strip=True))
    if variant == "official":
        return _official(kubeconfig, pods)
    if variant == "dicts":
        return asyncio.run(_dicts(kubeconfig, pods))
    raise ValueError(variant)


# -- the run -------------------------------------------------------------------


def json_bytes(cluster: DevCluster) -> int:
    """The pods' JSON as kube-apiserver sends it: the list items' bytes."""
    code, body = cluster.request("GET", "/api/v1/namespaces/default/pods")
    assert code == 200
    return sum(len(json.dumps(item, separators=(",", ":"))) for item in body["items"])


def measure(kubeconfig: Path, variant: str, pods: int) -> dict[str, float]:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            variant,
            "--kubeconfig",
            str(kubeconfig),
            "--pods",
            str(pods),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=1200,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def report(pods: int, json_total: int, results: dict[str, dict[str, float]]) -> None:
    print(f"\n{pods:,} pods, {json_total / 1e6:.1f} MB of JSON ({json_total / pods:,.0f} B each)")
    print(f"{'variant':18} {'sync s':>8} {'cpu s':>8} {'RSS MB':>8} {'x JSON':>7}")
    for variant, r in results.items():
        print(
            f"{variant:18} {r['sync_s']:8.2f} {r['cpu_s']:8.2f} {r['rss'] / 1e6:8.1f} "
            f"{r['rss'] / json_total:7.2f}"
        )
    base = results.get("watchcache")
    if base is None:
        return
    for variant, r in results.items():
        if variant != "watchcache":
            print(
                f"  {variant} / watchcache: memory {r['rss'] / base['rss']:.2f}x, "
                f"sync time {r['sync_s'] / base['sync_s']:.2f}x, cpu {r['cpu_s'] / base['cpu_s']:.2f}x"
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pods", default="10000", help="comma-separated sizes, ascending")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--kubeconfig", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_variant(args.child, args.kubeconfig, int(args.pods))))
        return
    sizes = [int(n) for n in args.pods.split(",")]
    variants = args.variants.split(",")
    with (
        tempfile.TemporaryDirectory() as tmp,
        DevCluster(ClusterConfig(workdir=Path(tmp) / "c", tie_to_parent=True)) as cluster,
    ):
        made = 0
        for size in sizes:
            asyncio.run(create_pods(cluster, size, start=made))
            made = size
            total = json_bytes(cluster)
            results = {v: measure(cluster.kubeconfig, v, size) for v in variants}
            report(size, total, results)


if __name__ == "__main__":
    main()
