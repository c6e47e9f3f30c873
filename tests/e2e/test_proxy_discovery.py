"""Discovery answered by the proxy (proxy/discovery.py) in front of the real
kube-apiserver: the same documents as kube-apiserver's, byte for byte, in
JSON and protobuf; repeated requests cost upstream nothing; a CRD created
or deleted shows in the proxy's discovery as soon as in kube-apiserver's."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.e2e.serving import ask, ask_direct, running_serve, wait_until_ready

from watchcache.devcluster import DevCluster

PATHS = ("/api", "/api/v1", "/apis", "/apis/apps", "/apis/apps/v1", "/version")
JSON = {"Accept": "application/json"}
PROTOBUF = {"Accept": "application/vnd.kubernetes.protobuf, application/json"}
GROUP = "discovery-test.watchcache.io"


@pytest.fixture(scope="module")
def proxy(dev_cluster: DevCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log: Path = tmp_path_factory.mktemp("proxy") / "serve.log"
    with running_serve(log, "--kubeconfig", str(dev_cluster.kubeconfig)) as url:
        wait_until_ready(url)
        yield url


def served_from_cache(proxy: str) -> int:
    """The proxy's count of requests it answered itself, any verb."""
    text = ask(proxy, "/metrics").body.decode()
    pattern = re.compile(r'^watchcache_requests_total\{.*served_by="cache".*\} (\S+)$', re.M)
    return int(sum(float(n) for n in pattern.findall(text)))


@pytest.mark.parametrize("accept", [JSON, PROTOBUF], ids=["json", "protobuf"])
def test_documents_are_kube_apiservers(
    dev_cluster: DevCluster, proxy: str, accept: dict[str, str]
) -> None:
    for path in PATHS:
        direct, proxied = ask_direct(dev_cluster, path, accept), ask(proxy, path, accept)
        assert (proxied.status, proxied.content_type) == (direct.status, direct.content_type)
        assert proxied.body == direct.body, path


def test_repeated_requests_are_answered_by_the_proxy(proxy: str) -> None:
    ask(proxy, "/apis/apps/v1", JSON)  # fetched (or already kept)
    before = served_from_cache(proxy)
    for _ in range(5):
        assert ask(proxy, "/apis/apps/v1", JSON).status == 200
    # Each of the 5, and the /metrics reads are local, not cache.
    assert served_from_cache(proxy) - before == 5


def test_an_unknown_group_is_kube_apiservers_404(dev_cluster: DevCluster, proxy: str) -> None:
    path = "/apis/no-such-group.example.com/v1"
    direct, proxied = ask_direct(dev_cluster, path, JSON), ask(proxy, path, JSON)
    assert proxied.status == direct.status == 404
    assert proxied.content_type == direct.content_type


def crd(plural: str) -> dict[str, object]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {"plural": plural, "singular": plural[:-1], "kind": "Widget"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": {"type": "object"}},
                }
            ],
        },
    }


def until(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Poll ``check`` until true; fail after ``timeout`` seconds (far below
    the proxy's 300 s TTL: only dropping documents on the change passes)."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not within {timeout}s: {what}"
        time.sleep(0.2)


def test_a_new_crd_appears_and_goes(dev_cluster: DevCluster, proxy: str) -> None:
    path = f"/apis/{GROUP}/v1"

    # Kept by the proxy before the CRD exists.
    assert GROUP.encode() not in ask(proxy, "/apis", JSON).body
    crds = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    code, _ = dev_cluster.request("POST", crds, crd("widgets"))
    assert code == 201
    until(lambda: ask_direct(dev_cluster, path, JSON).status == 200, "kube-apiserver serves it")
    until(lambda: ask(proxy, path, JSON).status == 200, "the proxy serves it")
    until(lambda: GROUP.encode() in ask(proxy, "/apis", JSON).body, "in the proxy's /apis")
    assert ask(proxy, path, JSON).body == ask_direct(dev_cluster, path, JSON).body
    code, _ = dev_cluster.request("DELETE", f"{crds}/widgets.{GROUP}")
    assert code == 200
    until(lambda: ask_direct(dev_cluster, path, JSON).status == 404, "gone from kube-apiserver")
    until(lambda: ask(proxy, path, JSON).status == 404, "gone from the proxy")
    until(lambda: GROUP.encode() not in ask(proxy, "/apis", JSON).body, "gone from /apis")
