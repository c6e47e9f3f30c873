"""Latency a request gains by going through the proxy (issue 6).

Starts a dev cluster (or uses --kubeconfig), starts ``watchcache serve`` in
front of it as a separate process, then times, interleaved one by one so
both see the same machine noise:

- GET of one configmap without resourceVersion (forwarded; etcd answers);
- PATCH of that configmap (a write, forwarded);
- GET of one pod with resourceVersion=0 (from the proxy's cache when
  pods are cached, from kube-apiserver's watch cache directly).

Prints p50 and p99 for direct and through the proxy, and the difference.

    python benchmarks/bench_proxy_latency.py [--requests 300] [--kubeconfig K]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from watchcache.devcluster import ClusterConfig, DevCluster


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def timed(session: aiohttp.ClientSession, method: str, url: str, **kw: object) -> float:
    start = time.perf_counter()
    async with session.request(method, url, **kw) as r:  # type: ignore[arg-type]
        await r.read()
        assert r.status < 300, (r.status, url)
    return (time.perf_counter() - start) * 1000


async def measure(cluster: DevCluster, proxy: str, requests: int) -> None:
    ns = "latency-bench"
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
    cluster.request(
        "POST",
        f"/api/v1/namespaces/{ns}/pods",
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "image": "registry.invalid/x:1"}]},
        },
    )
    await asyncio.sleep(2)  # the proxy's pod cache sees the pod
    context = ssl.create_default_context(cafile=str(cluster.ca_file))
    auth = {"Authorization": f"Bearer {cluster.admin_token}"}
    cases = {
        "GET (forwarded, etcd)": ("GET", f"/api/v1/namespaces/{ns}/configmaps/c", None),
        "PATCH (write)": ("PATCH", f"/api/v1/namespaces/{ns}/configmaps/c", "patch"),
        "GET pod RV=0 (cache)": ("GET", f"/api/v1/namespaces/{ns}/pods/p?resourceVersion=0", None),
    }
    results: dict[str, dict[str, list[float]]] = {
        name: {"direct": [], "proxy": []} for name in cases
    }
    async with (
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context), headers=auth) as direct,
        aiohttp.ClientSession() as via,
    ):
        for i in range(requests + 20):
            for name, (method, path, body) in cases.items():
                kw: dict[str, object] = {}
                if body:
                    kw = {
                        "data": json.dumps({"data": {"n": str(i)}}),
                        "headers": {"Content-Type": "application/merge-patch+json"},
                    }
                d = await timed(direct, method, cluster.url + path, **kw)
                p = await timed(via, method, proxy + path, **kw)
                if i >= 20:  # warm-up: connections, caches
                    results[name]["direct"].append(d)
                    results[name]["proxy"].append(p)
    print(f"{requests} requests each, interleaved; milliseconds")
    print(
        f"{'request':<26} {'direct p50':>10} {'proxy p50':>10} {'added':>7} {'direct p99':>11} {'proxy p99':>10} {'added':>7}"
    )
    for name, r in results.items():
        d50, p50 = percentile(r["direct"], 0.5), percentile(r["proxy"], 0.5)
        d99, p99 = percentile(r["direct"], 0.99), percentile(r["proxy"], 0.99)
        print(
            f"{name:<26} {d50:>10.2f} {p50:>10.2f} {p50 - d50:>+7.2f} {d99:>11.2f} {p99:>10.2f} {p99 - d99:>+7.2f}"
        )


def start_proxy(kubeconfig: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    out = open(log, "w")  # noqa: SIM115 - the child writes to it until it exits
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "watchcache",
            "serve",
            "--kubeconfig",
            str(kubeconfig),
            "--listen",
            "127.0.0.1:0",
            "--auth=none",
            "--workers",
            "1",
            "--shutdown-spread",
            "0",
            "--log-level",
            "warning",
        ],
        stdout=out,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    for _ in range(300):
        found = re.search(r"serving on (http://127\.0\.0\.1:\d+)", log.read_text())
        if found:
            return proc, found.group(1)
        time.sleep(0.1)
    raise RuntimeError(log.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        DevCluster(ClusterConfig(workdir=Path(tmp) / "c", tie_to_parent=True)) as cluster,
    ):
        proc, url = start_proxy(cluster.kubeconfig, Path(tmp) / "proxy.log")
        try:
            asyncio.run(measure(cluster, url, args.requests))
        finally:
            proc.terminate()
            proc.wait(15)


if __name__ == "__main__":
    main()
