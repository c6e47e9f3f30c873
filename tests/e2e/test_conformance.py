"""Kubernetes' own watch and chunked-list conformance specs (e2e.test
v1.20, built with the control plane) against kube-apiserver directly and
through `watchcache serve`, with the resources they use cached and with
them forwarded: every spec must pass each way.

The specs (7): five ``[sig-api-machinery] Watchers`` specs (watch
notifications, starting and restarting from a resourceVersion, selector
transitions, the same order on concurrent watches) and two ``Servers with
support for API chunking`` specs (paged lists, and a continue token whose
version was compacted away). The latter waits for etcd compaction, so this
module runs its own control plane compacting every 10 s (the session's
compacts every 5 minutes).

One run takes about 2 minutes 15 s, mostly waiting (a spec watches a
minute for events that must not come). The runs share the control plane,
each in its own namespaces, and go at the same time, so the module costs
about one run's time.

The concurrent-watches spec is left out of the forwarded case
(RACY_FORWARDED says why), so that case runs 6.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.e2e.serving import running_serve, wait_until_ready

from watchcache.devcluster import ClusterConfig, DevCluster, find_binaries
from watchcache.devcluster.conformance import (
    CONTENT_JSON,
    CONTENT_PROTOBUF,
    Results,
    proxy_kubeconfig,
    run_e2e,
)

SPECS = 7
# The 1.20 version of this spec races with 1.20's watch cache whenever its
# first watch (from RV "0") starts late: that watch's initial events are
# the current state in no particular order (seen through the forwarding
# proxy in CI: first event RV 362, next 346), and the spec takes the next
# one for the next change. Forwarded, it failed in 2 of 4 CI runs; directly
# and cached it has not failed. Later Kubernetes versions start it from a
# listed RV. Left out of the forwarded case, and said so in the closing
# note of the issue it belongs to (14): not a pass.
RACY_FORWARDED = "should receive events on concurrent watches in same order"


@dataclass(frozen=True)
class Case:
    # None: kube-apiserver directly; else the proxy's --resources ("" for
    # its default, pods and nodes, which forwards the specs' configmaps).
    resources: str | None
    content_type: str = CONTENT_PROTOBUF
    skip: str = ""  # specs left out (a ginkgo regular expression)
    specs: int = SPECS  # how many then run


CASES = {
    "direct": Case(None),
    "proxy-cached": Case("configmaps,namespaces,pods"),
    "proxy-cached-json": Case("configmaps,namespaces,pods", CONTENT_JSON),
    "proxy-forwarded": Case("", skip=RACY_FORWARDED, specs=SPECS - 1),
}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevCluster]:
    config = ClusterConfig(
        workdir=tmp_path_factory.mktemp("conformance-cluster"),
        tie_to_parent=True,
        compaction_interval="10s",
    )
    with DevCluster(config, find_binaries()) as cluster:
        yield cluster


@dataclass
class Run:
    results: Results
    proxy_log: str = ""


@pytest.fixture(scope="module")
def runs(cluster: DevCluster, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """Every case, run at the same time."""
    where = tmp_path_factory.mktemp("conformance")
    with ThreadPoolExecutor(len(CASES)) as pool:
        futures = {
            name: pool.submit(run_case, cluster, case, where / name) for name, case in CASES.items()
        }
        return {name: future.result() for name, future in futures.items()}


def run_case(cluster: DevCluster, case: Case, where: Path) -> Run:
    where.mkdir()
    with contextlib.ExitStack() as stack:
        kubeconfig = cluster.kubeconfig
        log = where / "serve.log"
        if case.resources is not None:
            args = ["--kubeconfig", str(cluster.kubeconfig)]
            args += ["--resources", case.resources] if case.resources else []
            url = stack.enter_context(running_serve(log, *args))
            wait_until_ready(url)
            kubeconfig = proxy_kubeconfig(where / "kubeconfig", url)
        results = run_e2e(
            cluster.binaries.e2e_test,
            kubeconfig,
            where / "e2e",
            content_type=case.content_type,
            skip=case.skip,
            timeout=900,
        )
    return Run(results, log.read_text() if log.exists() else "")


@pytest.mark.parametrize("name", list(CASES))
def test_every_spec_passes(runs: dict[str, Run], name: str) -> None:
    run, specs = runs[name], CASES[name].specs
    results = run.results
    assert results.log is not None
    tail = results.log.read_text(errors="replace")[-6000:]
    assert results.ran == specs, f"{results.summary()}\n{tail}"
    assert results.failed == [], f"{results.summary()}: {results.failed}\n{tail}"
    assert len(results.passed) == specs and results.exit_code == 0, results.summary()
    assert "Traceback" not in run.proxy_log
