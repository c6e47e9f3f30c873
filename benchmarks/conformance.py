"""sig-api-machinery's conformance specs (e2e.test v1.20) on a node-less
dev cluster, directly and through ``watchcache serve``, side by side.

    python -m benchmarks.conformance [--focus REGEX] [--resources pods,nodes]
                                     [--out DIR] [--content-type TYPE]

Starts its own control plane (etcd, kube-apiserver, kube-controller-
manager; etcd compacted every 10 s so the chunking spec that waits for a
compaction is quick), runs the specs in focus against kube-apiserver, then
against a proxy in front of it with ``--resources`` cached (default: the
proxy's default, pods and nodes), both at once on the one control plane,
and prints the counts both ways and every
spec whose outcome differs. Many specs need nodes, a kubelet or images
this control plane does not have: they fail both ways, and only a
difference points at the proxy. Prints; asserts nothing.

The two runs share the control plane: a spec that creates a cluster-scoped
object under a fixed name (the Aggregator spec's ClusterRole
``sample-apiserver-reader``) can fail in one run because the other made it
first; run such specs with ``--only`` one way at a time.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from watchcache.devcluster import ClusterConfig, DevCluster, find_binaries
from watchcache.devcluster.conformance import (
    CONTENT_PROTOBUF,
    Results,
    proxy_kubeconfig,
    run_e2e,
)

SERVE = [sys.executable, "-m", "watchcache", "serve", "--listen", "127.0.0.1:0"]
SERVE += ["--shutdown-spread", "0", "--auth=none"]
CONFORMANCE = r"\[sig-api-machinery\].*\[Conformance\]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--focus", default=CONFORMANCE)
    parser.add_argument("--skip", default="")
    parser.add_argument("--resources", default="", help="cached by the proxy (default: its own)")
    parser.add_argument("--content-type", default=CONTENT_PROTOBUF)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--only", choices=["direct", "proxy"], default=None)
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="conformance-"))
    out.mkdir(parents=True, exist_ok=True)
    print(f"writing to {out}", flush=True)
    config = ClusterConfig(workdir=out / "cluster", compaction_interval="10s")
    with DevCluster(config, find_binaries()) as cluster:
        wanted = [w for w in ("direct", "proxy") if args.only in (None, w)]
        # Both at once on the one control plane, each in its own namespaces.
        with ThreadPoolExecutor(2) as pool:
            futures = {where: pool.submit(run_one, cluster, where, out, args) for where in wanted}
            runs = {where: future.result() for where, future in futures.items()}
    report(runs)


def run_one(cluster: DevCluster, where: str, out: Path, args: argparse.Namespace) -> Results:
    def run(kubeconfig: Path) -> Results:
        return run_e2e(
            cluster.binaries.e2e_test,
            kubeconfig,
            out / where,
            focus=args.focus,
            skip=args.skip,
            content_type=args.content_type,
            timeout=3 * 3600,
        )

    if where == "direct":
        results = run(cluster.kubeconfig)
    else:
        serve = ["--kubeconfig", str(cluster.kubeconfig)]
        if args.resources:
            serve += ["--resources", args.resources]
        with running_proxy(out / "serve.log", serve) as url:
            results = run(proxy_kubeconfig(out / "proxy-kubeconfig", url))
    print(f"{where}: {results.summary()}", flush=True)
    return results


def report(runs: dict[str, Results]) -> None:
    outcomes: dict[str, dict[str, str]] = {}
    for where, results in runs.items():
        for outcome in ("passed", "failed", "skipped"):
            for name in getattr(results, outcome):
                outcomes.setdefault(name, {})[where] = outcome
    for where, results in runs.items():
        print(f"{where:>7}: {results.summary()}")
    print("\nspecs that failed somewhere:")
    for name, seen in sorted(outcomes.items()):
        if "failed" in seen.values():
            both = " ".join(f"{w}={o}" for w, o in sorted(seen.items()))
            print(f"  {both}  {name}")


class running_proxy:
    """``watchcache serve ARGS`` on a free port, until the block ends."""

    def __init__(self, log: Path, args: list[str]) -> None:
        self.log = log
        self.args = args
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> str:
        with open(self.log, "w") as out:
            self.proc = subprocess.Popen(
                [*SERVE, *self.args],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            found = re.search(r"serving on (http://127\.0\.0\.1:\d+)", self.log.read_text())
            if found:
                return found.group(1)
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        raise RuntimeError(f"the proxy did not start: {self.log.read_text()[-2000:]}")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(30)


if __name__ == "__main__":
    main()
