"""The proxy's memory per cached pod, measured as a user sizing a deployment
would (issue 18 item 6): resident set of ``watchcache serve`` processes.

Creates ``--pods`` pods (default 10,000; about 7.8 KB of compact JSON each,
managedFields included, as bench_list_pods.py makes them, unscheduled so
no controller deletes them) in a dev cluster, each with a 6,000-character
padding annotation: random hex by default (``--pad random``: it compresses
about 2x, less than real pods' JSON, so history's packing of superseded
objects is not flattered) or the same characters in every pod (``--pad
constant``, as bench_list_pods.py; compresses ~9x), then starts two
``watchcache serve`` processes side by side, each a subprocess:

    pods    ``--resources pods``: caches every pod
    nodes   ``--resources nodes``: the same proxy caching no pods (the
            baseline: interpreter, aiohttp, the cache machinery)

and, with ``--compare-trim``, a third beside them: ``pods`` with
``--malloc-trim-interval 0``, whose heap is never trimmed (``pods`` trims
every 30 s by default), to compare in the same run under the same churn;
the resident sets are then read once more, 35 s after the churn (a trim
interval and a margin). ``--baseline-src DIR`` adds ``pods`` run from
another source tree (``git archive BASE src | tar -x -C D``, then
``D/src``): a same-run before and after. ``--rate`` caps the patches a
second (the figures depend on it: history keeps every event of its
window).

and reads ``VmRSS`` from /proc/<pid>/status of each once it is ready
(/readyz) and its resident set has settled, then again after
``--churn`` seconds of patches to the pods (a label each, one MODIFIED
event apiece, as fast as 32 concurrent clients go; history keeps the
previous objects within its window and byte bound, as kube-apiserver's
watch cache does). It prints, for both moments, the growth of ``pods``
over ``nodes`` and that growth divided by the pods' compact JSON (the
list items' bytes as kube-apiserver sends them): the ratio a user sizes a
deployment by. Targets (issue 18): at most 1.3x with JSON only, 1.8x with
each pod's protobuf message kept too.

``--protobuf``: the pods are also read once in protobuf (a LIST of
``application/vnd.kubernetes.protobuf`` through ``pods``, and through
its baseline with ``--baseline-src``: each keeps every object's message
beside its JSON, as a Go client's informer makes it do) after sync and
again after churn, and the resident set is read after each of those too:
four moments instead of two.

Figures (10,000 pods, random pad, 2-core machine shared with other work;
docs/operations.md#memory): once synced 1.17x the JSON; after 60 s of
patches at ~108/s (four runs, ``--compare-trim --rate 108
--baseline-src`` the commit before size classes): 1.23-1.24x at the
churn's end and 1.23x 35 s later, trimmed or not, against 1.32-1.36x and
1.31-1.32x before (1.15x once synced); uncapped (221/s, loaded),
1.30x at both against 1.44x and 1.42x; with ``--protobuf --rate 108``,
1.22x after sync and a protobuf LIST, 1.31x after churn and a second one,
against 1.21x and 1.47x.

    python benchmarks/bench_proxy_memory.py [--pods 10000] [--churn 60]
        [--pad random|constant] [--protobuf] [--compare-trim] [--rate 0]
        [--baseline-src DIR]
        [--serve-arg=--strip-managed-fields]  (repeatable: extra serve flags)
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
import urllib.error
import urllib.request
from pathlib import Path

import aiohttp

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_list_pods import PAD, create_pods
from benchmarks.bench_warm_restart import random_pad
from watchcache.devcluster import ClusterConfig, DevCluster

# The names of the never-trimmed proxy and of the baseline's: its
# resources, then this.
NO_TRIM = ", no trim"
BASELINE = ", baseline"

# serve's default --malloc-trim-interval, and a margin.
TRIM_WAIT = 30.0 + 5.0

# How long a proxy may take to become ready, and for its RSS to settle.
READY_TIMEOUT = 600.0
SETTLE_TIMEOUT = 30.0


def rss(pid: int) -> int:
    """The process's resident set in bytes (VmRSS)."""
    status = Path(f"/proc/{pid}/status").read_text()
    found = re.search(r"^VmRSS:\s+(\d+) kB$", status, re.M)
    assert found, status
    return int(found.group(1)) * 1024


def settled_rss(pid: int) -> int:
    """VmRSS once two reads a second apart agree within 1 MB (a proxy
    that just became ready may still be freeing its list pages)."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    last = rss(pid)
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = rss(pid)
        if abs(now - last) < 1_000_000:
            return now
        last = now
    return last


class Proxy:
    """One ``watchcache serve`` subprocess, ready when constructed."""

    def __init__(
        self,
        kubeconfig: Path,
        resources: str,
        log: Path,
        extra: list[str],
        env: dict[str, str] | None = None,
    ) -> None:
        self.log = log
        argv = [sys.executable, "-m", "watchcache", "serve", "--kubeconfig", str(kubeconfig)]
        resources = resources.removesuffix(NO_TRIM).removesuffix(BASELINE)
        argv += ["--resources", resources, "--listen", "127.0.0.1:0", "--shutdown-spread", "0"]
        argv += ["--log-level", "warning", *extra]
        argv += ["--workers", "1"]  # one process: its resident set is the proxy's
        with open(log, "w") as out:
            self.proc = subprocess.Popen(
                argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            )
        self.url = ""

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while not self.url:
            found = re.search(r"serving on (http://127\.0\.0\.1:\d+)", self.log.read_text())
            self.url = found.group(1) if found else ""
            self._check(deadline)
            time.sleep(0.05)
        while True:
            try:
                with urllib.request.urlopen(self.url + "/readyz", timeout=30) as r:
                    if r.status == 200:
                        return
            except urllib.error.HTTPError:
                pass
            self._check(deadline)
            time.sleep(0.1)

    def _check(self, deadline: float) -> None:
        assert self.proc.poll() is None, self.log.read_text()[-3000:]
        assert time.monotonic() < deadline, "not ready: " + self.log.read_text()[-3000:]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(60)


def json_bytes(cluster: DevCluster) -> int:
    """The pods' JSON as kube-apiserver sends it: the list items' bytes."""
    code, body = cluster.request("GET", "/api/v1/namespaces/default/pods")
    assert code == 200
    return sum(len(json.dumps(item, separators=(",", ":"))) for item in body["items"])


async def churn(cluster: DevCluster, pods: int, seconds: float, rate: float = 0.0) -> int:
    """Patch pods round-robin for ``seconds``, at most ``rate`` a second
    (0: as fast as the clients go); returns how many patches."""
    context = ssl.create_default_context(cafile=str(cluster.ca_file))
    headers = {
        "Authorization": f"Bearer {cluster.admin_token}",
        "Content-Type": "application/merge-patch+json",
    }
    done = 0
    start = time.monotonic()
    end = start + seconds
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=context, limit=64), headers=headers
    ) as session:

        async def worker(first: int) -> None:
            nonlocal done
            i = first
            while time.monotonic() < end:
                if rate and done >= (time.monotonic() - start) * rate:
                    await asyncio.sleep(32 / rate)
                    continue
                body = json.dumps({"metadata": {"labels": {"rev": str(i)}}})
                url = f"{cluster.url}/api/v1/namespaces/default/pods/pod-{i % pods:05d}"
                async with session.patch(url, data=body) as r:
                    assert r.status == 200, await r.text()
                done += 1
                i += 32

        await asyncio.gather(*(worker(w) for w in range(32)))
    return done


def protobuf_list(url: str, token: str) -> int:
    """LIST every pod from the proxy in protobuf (each object's message is
    then kept on its entry); returns the body's size."""
    request = urllib.request.Request(
        url + "/api/v1/pods?resourceVersion=0",
        headers={
            "Accept": "application/vnd.kubernetes.protobuf",
            "Authorization": f"Bearer {token}",
        },
    )
    with urllib.request.urlopen(request, timeout=600) as r:
        assert r.headers["Content-Type"].startswith("application/vnd.kubernetes.protobuf"), (
            r.headers
        )
        return len(r.read())


def row(moment: str, pods_rss: int, nodes_rss: int, total: int, count: int) -> str:
    grown = pods_rss - nodes_rss
    return (
        f"  {moment:26} pods {pods_rss / 1e6:7.1f} MB  nodes {nodes_rss / 1e6:6.1f} MB  "
        f"growth {grown / 1e6:7.1f} MB = {grown / total:.2f}x the JSON, {grown / count:,.0f} B/pod"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--churn", type=float, default=60.0, help="seconds of patches")
    parser.add_argument(
        "--rate", type=float, default=0.0, help="patches a second at most (0: no cap)"
    )
    parser.add_argument("--pad", choices=("random", "constant"), default="random")
    parser.add_argument("--serve-arg", action="append", default=[], help="extra serve flag")
    parser.add_argument(
        "--protobuf", action="store_true", help="also read every pod once in protobuf"
    )
    parser.add_argument(
        "--compare-trim",
        action="store_true",
        help="also run the pods proxy with --malloc-trim-interval 0",
    )
    parser.add_argument(
        "--baseline-src",
        type=Path,
        help="also run the pods proxy from this source tree (e.g. `git archive` of the commit before)",
    )
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        DevCluster(ClusterConfig(workdir=Path(tmp) / "c", tie_to_parent=True)) as cluster,
    ):
        pad = random_pad if args.pad == "random" else lambda: PAD
        asyncio.run(create_pods(cluster, args.pods, on_nodes=False, pad=pad))
        total = json_bytes(cluster)
        extra = {name: args.serve_arg for name in ("pods", "nodes")}
        if args.compare_trim:
            extra["pods" + NO_TRIM] = [*args.serve_arg, "--malloc-trim-interval", "0"]
        env: dict[str, dict[str, str]] = {}
        if args.baseline_src:
            extra["pods" + BASELINE] = args.serve_arg
            env["pods" + BASELINE] = {"PYTHONPATH": str(args.baseline_src)}
        proxies = {
            name: Proxy(
                cluster.kubeconfig, name, Path(tmp) / f"proxy-{i}.log", flags, env.get(name)
            )
            for i, (name, flags) in enumerate(extra.items())
        }
        try:
            for proxy in proxies.values():
                proxy.wait_ready()
            moments: list[tuple[str, dict[str, int]]] = []

            def measure(moment: str) -> None:
                moments.append((moment, {n: settled_rss(p.proc.pid) for n, p in proxies.items()}))

            # The proxies a client reads in protobuf: pods, and its baseline.
            read_in_protobuf = [n for n in ("pods", "pods" + BASELINE) if n in proxies]
            print("  synced; measuring", flush=True)
            measure("after sync")
            if args.protobuf:
                for name in read_in_protobuf:
                    protobuf_list(proxies[name].url, cluster.admin_token)
                measure("after sync + protobuf LIST")
            patches = asyncio.run(churn(cluster, args.pods, args.churn, args.rate))
            measure("after churn")
            load = os.getloadavg()
            if args.compare_trim:
                # One trim interval more: the trimming proxy has trimmed
                # since the churn ended.
                print(f"  churn done; measuring again in {TRIM_WAIT:.0f} s", flush=True)
                time.sleep(TRIM_WAIT)
                measure(f"{TRIM_WAIT:.0f} s after churn")
            if args.protobuf:
                for name in read_in_protobuf:
                    protobuf_list(proxies[name].url, cluster.admin_token)
                measure("after churn + protobuf LIST")
        finally:
            for proxy in proxies.values():
                proxy.stop()
    print(
        f"{args.pods:,} pods, {total / 1e6:.1f} MB of compact JSON ({total / args.pods:,.0f} B each); "
        f"{args.pad} pad; serve {' '.join(args.serve_arg) or '(defaults)'}"
    )
    for moment, rss_of in moments:
        print(row(moment, rss_of["pods"], rss_of["nodes"], total, args.pods))
        if args.compare_trim:
            alone = rss_of["pods" + NO_TRIM]
            print(row("  (no trim)", alone, rss_of["nodes"], total, args.pods))
        if args.baseline_src:
            base = rss_of["pods" + BASELINE]
            print(row("  (baseline)", base, rss_of["nodes"], total, args.pods))
    print(f"  churn: {patches:,} patches in {args.churn:.0f} s ({patches / args.churn:,.0f}/s)")
    print(f"  load average after churn: {' '.join(f'{x:.2f}' for x in load)}")


if __name__ == "__main__":
    main()
