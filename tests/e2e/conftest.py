"""The real control plane every e2e test runs against.

``dev_cluster`` is one kube-apiserver v1.20.2 + etcd + kube-controller-
manager for the whole test session, tied to the pytest process so that its
children die with it even on SIGKILL. ``namespace`` gives each test a fresh
namespace (deleted afterwards) so tests never see each other's objects.

The first run on a machine builds the binaries (about ten minutes; the
build's progress goes to the terminal).
"""

from __future__ import annotations

import secrets
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.polling import until_blocking

from watchcache.devcluster import ClusterConfig, DevCluster, find_binaries

# Served from etcd, not from kube-apiserver's watch cache: 1.20's cache
# answers a watch from an old RV with the current state rather than 410,
# so this is the resource on which tests see a real watch 410 (after
# DevCluster.compact()). No other test uses it.
UNCACHED_RESOURCE = "podtemplates"


@pytest.fixture(scope="session")
def dev_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevCluster]:
    _sigterm_unwinds()
    binaries = find_binaries()
    cluster = DevCluster(
        ClusterConfig(
            workdir=tmp_path_factory.mktemp("dev-cluster"),
            tie_to_parent=True,
            extra_apiserver_args=[f"--watch-cache-sizes={UNCACHED_RESOURCE}#0"],
        ),
        binaries,
    )
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def namespace(dev_cluster: DevCluster) -> Iterator[str]:
    """A new namespace, ready as a real cluster's is: its ``default`` service
    account has a token and ``kube-root-ca.crt`` is published, so no object
    appears in it behind a test's back."""
    name = _ready_namespace(dev_cluster)
    yield name
    dev_cluster.request("DELETE", f"/api/v1/namespaces/{name}")


@pytest.fixture
def other_namespace(dev_cluster: DevCluster) -> Iterator[str]:
    """A second namespace like ``namespace``: for tests that do the same
    thing twice, once through the proxy and once directly, side by side."""
    name = _ready_namespace(dev_cluster)
    yield name
    dev_cluster.request("DELETE", f"/api/v1/namespaces/{name}")


def _ready_namespace(dev_cluster: DevCluster) -> str:
    name = f"t-{secrets.token_hex(4)}"
    code, body = dev_cluster.request(
        "POST",
        "/api/v1/namespaces",
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
    )
    assert code == 201, body
    until_blocking(
        lambda: (
            dev_cluster.request("GET", f"/api/v1/namespaces/{name}/configmaps/kube-root-ca.crt")[0]
            == 200
        ),
        "the namespace's kube-root-ca.crt",
        timeout=60,
    )
    until_blocking(
        lambda: bool(
            dev_cluster.request("GET", f"/api/v1/namespaces/{name}/serviceaccounts/default")[1].get(
                "secrets"
            )
        ),
        "the namespace's default service account token",
        timeout=60,
    )
    return name


@pytest.fixture(params=["1.20", "system"])
def kubectl_binary(request: pytest.FixtureRequest, dev_cluster: DevCluster) -> Path:
    """Each kubectl in turn: Debian's 1.20, then the machine's newer one
    (skipped where the machine has none)."""
    if request.param == "1.20":
        return dev_cluster.binaries.kubectl_120
    if dev_cluster.binaries.kubectl is None:
        pytest.skip("the machine has no kubectl on PATH")
    return dev_cluster.binaries.kubectl


def _sigterm_unwinds() -> None:
    """Turn SIGTERM into KeyboardInterrupt so fixtures are torn down (by
    default SIGTERM ends Python at once; the cluster's processes would still
    die with it, but its files would be left behind)."""
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")
