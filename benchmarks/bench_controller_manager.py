"""How much of kube-controller-manager's reading the proxy takes off
kube-apiserver, before and after discovery and its resources are cached.

    python -m benchmarks.bench_controller_manager [--seconds 60]

For each setting a fresh control plane (etcd, kube-apiserver 1.20,
kube-controller-manager), ``watchcache serve`` in front of it, and
kube-controller-manager restarted to reach the API through the proxy.
It then works for ``--seconds``: a namespace created (service account and
token), a ReplicaSet of 3 (its pods), the namespace deleted (which lists
every resource kind in it). Printed per setting: the proxy's answers by
verb and by who answered (cache or upstream), and the share of reads
(get, list, watch) and of all requests answered from the cache, with the
ratio to the first setting. Asserts nothing.

Settings:
    before  the proxy's defaults of the first release: pods and nodes
            cached, discovery forwarded (``--discovery-ttl 0``)
    after   discovery answered by the proxy, and what kube-controller-
            manager lists and watches most cached (CACHED)
    auto    discovery answered by the proxy, no --resources: whatever
            kube-controller-manager reads cached on its first read
            (--auto-cache)
"""

from __future__ import annotations

import argparse
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from benchmarks.conformance import running_proxy
from watchcache.devcluster import ClusterConfig, DevCluster, find_binaries
from watchcache.devcluster.conformance import proxy_kubeconfig

__all__ = ["CACHED", "CACHED_FLAG", "apiserver_reads", "proxy_answers", "work"]

# What kube-controller-manager lists and watches most (core ones; with
# apps/v1 replicasets in the flag).
CACHED = ("pods", "nodes", "namespaces", "serviceaccounts", "secrets", "configmaps")
CACHED_FLAG = ",".join((*CACHED, "apps/v1/replicasets"))
SETTINGS = {
    "before": ["--resources", "pods,nodes", "--discovery-ttl", "0"],
    "after": ["--resources", CACHED_FLAG],
    "auto": ["--auto-cache", "--resources="],
}
READS = ("get", "list", "watch")


def samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    """Every sample of the counter ``name`` (``_total`` included)."""
    return [
        (sample.labels, sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    ]


def proxy_answers(proxy: str) -> Counter[tuple[str, str]]:
    """The proxy's requests by (verb, served_by)."""
    with urllib.request.urlopen(proxy + "/metrics", timeout=30) as reply:
        text = reply.read().decode()
    counts: Counter[tuple[str, str]] = Counter()
    for labels, value in samples(text, "watchcache_requests_total"):
        counts[labels["verb"], labels["served_by"]] += int(value)
    return counts


def apiserver_reads(cluster: DevCluster, content_type: str) -> Counter[tuple[str, str]]:
    """kube-apiserver's GET/LIST/WATCH in ``content_type`` by (verb, resource)."""
    code, text = cluster.request("GET", "/metrics")
    assert code == 200
    counts: Counter[tuple[str, str]] = Counter()
    for labels, value in samples(text, "apiserver_request_total"):
        if labels["contentType"] == content_type and labels["verb"] in ("GET", "LIST", "WATCH"):
            counts[labels["verb"], labels["resource"]] += int(value)
    return counts


def until(check: Callable[[], bool], what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within {timeout}s: {what}")
        time.sleep(0.5)


def work(cluster: DevCluster, namespace: str) -> None:
    """What kube-controller-manager is made to do: a namespace's service
    account, a ReplicaSet's 3 pods, then the namespace's deletion."""
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
    assert cluster.request("POST", "/api/v1/namespaces", body)[0] == 201
    sa = f"/api/v1/namespaces/{namespace}/serviceaccounts/default"
    until(lambda: bool(cluster.request("GET", sa)[1].get("secrets")), "a token")
    labels = {"app": namespace}
    rs = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "c", "image": "registry.invalid/x:1"}]},
            },
        },
    }
    path = f"/apis/apps/v1/namespaces/{namespace}/replicasets"
    assert cluster.request("POST", path, rs)[0] == 201
    status = f"{path}/web"
    until(lambda: cluster.request("GET", status)[1].get("status", {}).get("replicas") == 3, "pods")
    assert cluster.request("DELETE", f"/api/v1/namespaces/{namespace}")[0] == 200
    until(lambda: cluster.request("GET", f"/api/v1/namespaces/{namespace}")[0] == 404, "deleted")


def measure(setting: str, seconds: float, out: Path) -> Counter[tuple[str, str]]:
    where = out / setting
    config = ClusterConfig(workdir=where / "cluster")
    with DevCluster(config, find_binaries()) as cluster:
        args = ["--kubeconfig", str(cluster.kubeconfig), *SETTINGS[setting]]
        with running_proxy(out / f"serve-{setting}.log", args) as url:
            started = time.monotonic()
            cluster.restart_controller_manager(proxy_kubeconfig(where / "kubeconfig", url))
            work(cluster, f"bench-{setting}")
            time.sleep(max(0.0, seconds - (time.monotonic() - started)))
            with urllib.request.urlopen(url + "/metrics", timeout=30) as reply:
                for line in reply.read().decode().splitlines():
                    if line.startswith("watchcache_auto_") and not line.endswith(" 0.0"):
                        print(f"    {line}")
            return proxy_answers(url)


def shares(answers: Counter[tuple[str, str]]) -> tuple[float, float, int, int]:
    reads = {k: n for k, n in answers.items() if k[0] in READS and k[1] != "local"}
    every = {k: n for k, n in answers.items() if k[1] != "local"}
    cached_reads = sum(n for (_, by), n in reads.items() if by == "cache")
    cached = sum(n for (_, by), n in every.items() if by == "cache")
    total_reads, total = sum(reads.values()), sum(every.values())
    return cached_reads / max(1, total_reads), cached / max(1, total), total_reads, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument(
        "--settings",
        default=",".join(SETTINGS),
        help="which, comma-separated; the first is the base",
    )
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="bench-kcm-"))
    results = {}
    chosen = args.settings.split(",")
    for setting in chosen:
        print(f"{setting}: {' '.join(SETTINGS[setting])}", flush=True)
        results[setting] = measure(setting, args.seconds, out)
        for (verb, by), n in sorted(results[setting].items()):
            print(f"    {verb:>16} {by:>8} {n:6d}")
    print(f"\nkube-controller-manager through the proxy, {args.seconds:g} s each:")
    base = shares(results[chosen[0]])
    for setting, answers in results.items():
        read_share, share, reads, total = shares(answers)
        print(
            f"  {setting:>6}: reads from cache {read_share:6.1%} of {reads}, "
            f"all requests {share:6.1%} of {total}  "
            f"(x{read_share / max(base[0], 1e-9):.1f} the reads' share of {chosen[0]!r})"
        )


if __name__ == "__main__":
    main()
