"""kube-controller-manager (1.20, a Go client reading protobuf) pointed at
`watchcache serve` in front of kube-apiserver does its job: service
accounts and their tokens for a new namespace, a ReplicaSet's pods, a
namespace's deletion (which walks discovery and every resource); its
watches of the cached resources are served by the proxy, not by
kube-apiserver, and so is its discovery.

The control plane is this module's own: its kube-controller-manager is
restarted to reach the API through the proxy.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from benchmarks.bench_controller_manager import (
    CACHED,
    CACHED_FLAG,
    apiserver_reads,
    proxy_answers,
    work,
)
from tests.e2e.serving import running_serve, wait_until_ready

from watchcache.devcluster import ClusterConfig, DevCluster, find_binaries
from watchcache.devcluster.conformance import proxy_kubeconfig

PROTOBUF = "application/vnd.kubernetes.protobuf"


@dataclass
class Setup:
    cluster: DevCluster
    proxy: str
    # kube-apiserver's protobuf reads once kube-controller-manager went
    # through the proxy (the proxy itself reads JSON).
    before: Counter[tuple[str, str]]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    where = tmp_path_factory.mktemp("kcm")
    config = ClusterConfig(workdir=where / "cluster", tie_to_parent=True)
    with DevCluster(config, find_binaries()) as cluster:
        args = ["--kubeconfig", str(cluster.kubeconfig), "--resources", CACHED_FLAG]
        with running_serve(where / "serve.log", *args) as url:
            wait_until_ready(url)
            # Waits until the restarted one gives a new namespace its token.
            cluster.restart_controller_manager(proxy_kubeconfig(where / "kubeconfig", url))
            yield Setup(cluster, url, apiserver_reads(cluster, PROTOBUF))
            log: Path = where / "serve.log"
            assert "Traceback" not in log.read_text()


def test_it_does_its_job(setup: Setup) -> None:
    """A namespace's service account and token, a ReplicaSet's 3 pods, the
    namespace's deletion: each within 120 s, or TimeoutError."""
    work(setup.cluster, "kcm-job")


def test_its_reads_are_the_proxys(setup: Setup) -> None:
    """Runs last: what kube-apiserver and the proxy counted meanwhile."""
    after = apiserver_reads(setup.cluster, PROTOBUF)
    served = {key: n - setup.before[key] for key, n in after.items() if n > setup.before[key]}
    answers = proxy_answers(setup.proxy)
    reads = {k: n for k, n in answers.items() if k[0] in ("get", "list", "watch")}
    cache = sum(n for (_, by), n in reads.items() if by == "cache")
    total = sum(reads.values())
    print(f"\nkube-apiserver's protobuf reads meanwhile: {served}")
    print(f"the proxy's answers: {dict(answers)}; reads from cache {cache} of {total}")
    for resource in (*CACHED, "replicasets"):
        assert served.get(("WATCH", resource), 0) == 0, (resource, served)
    assert cache > 0
