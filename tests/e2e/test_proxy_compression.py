"""gzip answers through `watchcache serve` and straight from kube-apiserver
1.20, side by side: the same LISTs are compressed (over 128 KiB, with
Accept-Encoding: gzip) and the same are not (small ones, watches, clients
that did not ask); kubectl and the Python client, which accept gzip, read
large lists through the proxy as directly; ``--response-compression=false``
sends them plain."""

from __future__ import annotations

import contextlib
import gzip
import json
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client, config
from tests.e2e.serving import (
    Answer,
    ask,
    ask_direct,
    kubectl_env,
    running_serve,
    until_cached,
    wait_until_ready,
)

from watchcache.devcluster import CONTEXT_ADMIN, DevCluster
from watchcache.proxy.compression import GZIP_THRESHOLD

pytestmark = pytest.mark.e2e

GZIP = {"Accept-Encoding": "gzip"}
IDENTITY = {"Accept-Encoding": "identity"}
# The test's own ConfigMaps (1.20 publishes kube-root-ca.crt in every
# namespace, at a time of its choosing).
MINE = "labelSelector=test%3Dgzip"
# 48 ConfigMaps of 4 KiB of random hex: about 200 KiB listed, and
# incompressible enough that no Go or zlib level makes them small.
COUNT, SIZE = 48, 4096


@contextlib.contextmanager
def _serve(dev_cluster: DevCluster, log: Path, *args: str) -> Iterator[str]:
    with running_serve(
        log, "--kubeconfig", str(dev_cluster.kubeconfig), "--resources", "configmaps", *args
    ) as url:
        wait_until_ready(url)
        yield url


@pytest.fixture(scope="module")
def proxy(dev_cluster: DevCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with _serve(dev_cluster, tmp_path_factory.mktemp("gzip") / "serve.log") as url:
        yield url


@pytest.fixture(scope="module")
def large(dev_cluster: DevCluster, proxy: str) -> Iterator[str]:
    """A namespace of its own holding COUNT ConfigMaps, all cached."""
    name = f"gzip-{secrets.token_hex(3)}"
    code, answer = dev_cluster.request(
        "POST",
        "/api/v1/namespaces",
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
    )
    assert code == 201, answer
    rv = ""
    for i in range(COUNT):
        body = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"c{i:02}", "labels": {"test": "gzip"}},
            "data": {"k": secrets.token_hex(SIZE // 2)},
        }
        code, made = dev_cluster.request("POST", f"/api/v1/namespaces/{name}/configmaps", body)
        assert code == 201, made
        rv = made["metadata"]["resourceVersion"]
    until_cached(proxy, f"/api/v1/namespaces/{name}/configmaps", rv)
    yield name
    dev_cluster.request("DELETE", f"/api/v1/namespaces/{name}")


def _names(answer: Answer) -> list[str]:
    body = gzip.decompress(answer.body) if _encoding(answer) == "gzip" else answer.body
    return sorted(item["metadata"]["name"] for item in json.loads(body)["items"])


def _encoding(answer: Answer) -> str:
    return answer.headers.get("Content-Encoding", "")


def test_a_large_list_is_gzip_from_both(dev_cluster: DevCluster, proxy: str, large: str) -> None:
    path = f"/api/v1/namespaces/{large}/configmaps?resourceVersion=0&{MINE}"
    direct, through = ask_direct(dev_cluster, path, GZIP), ask(proxy, path, GZIP)
    for answer in (direct, through):
        assert answer.status == 200
        assert _encoding(answer) == "gzip", answer.headers
        assert answer.headers.get("Vary") == "Accept-Encoding"
        assert answer.content_type == "application/json"
        assert len(gzip.decompress(answer.body)) > GZIP_THRESHOLD
    assert _names(through) == _names(direct) == [f"c{i:02}" for i in range(COUNT)]
    # Not asked, not compressed; the same objects. Read at the gzip
    # answer's RV: another write in the cluster may move the cache's RV
    # between two RV=0 reads (seen once in CI: the bodies differed in it).
    rv = json.loads(gzip.decompress(through.body))["metadata"]["resourceVersion"]
    exact = path.replace("resourceVersion=0", f"resourceVersion={rv}&resourceVersionMatch=Exact")
    plain = ask(proxy, exact, IDENTITY)
    assert _encoding(plain) == "" and _encoding(ask_direct(dev_cluster, path, IDENTITY)) == ""
    assert gzip.decompress(through.body) == plain.body


@pytest.mark.parametrize(
    "query",
    [
        "resourceVersion=0&fieldSelector=metadata.name%3Dc00",  # one small item
        "resourceVersion=0&watch=1&timeoutSeconds=1",  # a watch, however large
    ],
)
def test_small_lists_and_watches_are_plain_from_both(
    dev_cluster: DevCluster, proxy: str, large: str, query: str
) -> None:
    path = f"/api/v1/namespaces/{large}/configmaps?{query}"
    direct, through = ask_direct(dev_cluster, path, GZIP), ask(proxy, path, GZIP)
    assert (direct.status, through.status) == (200, 200)
    assert _encoding(direct) == _encoding(through) == "", (direct.headers, through.headers)


def test_kubectl_reads_a_large_list_through_the_proxy(
    dev_cluster: DevCluster, proxy: str, large: str, kubectl_binary: Path
) -> None:
    def names(*target: str) -> list[str]:
        done = subprocess.run(
            [
                str(kubectl_binary),
                *target,
                "-n",
                large,
                "get",
                "configmaps",
                "-l",
                "test=gzip",
                "-o",
                "json",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env=kubectl_env(),
        )
        assert done.returncode == 0, done.stderr
        return sorted(item["metadata"]["name"] for item in json.loads(done.stdout)["items"])

    assert names("--server", proxy) == names("--kubeconfig", str(dev_cluster.kubeconfig))


@pytest.mark.parametrize("accept_gzip", [False, True])
def test_the_python_client_reads_a_large_list_through_the_proxy(
    dev_cluster: DevCluster, proxy: str, large: str, accept_gzip: bool
) -> None:
    through = client.ApiClient(client.Configuration(host=proxy))
    straight = config.new_client_from_config(
        config_file=str(dev_cluster.kubeconfig), context=CONTEXT_ADMIN
    )
    try:
        if accept_gzip:  # the client asks for no encoding unless told to
            for api in (through, straight):
                api.set_default_header("Accept-Encoding", "gzip")
        got, want = (
            [
                i.to_dict()
                for i in client.CoreV1Api(api)
                .list_namespaced_config_map(large, label_selector="test=gzip")
                .items
            ]
            for api in (through, straight)
        )
        assert len(got) == COUNT
        assert sorted(got, key=str) == sorted(want, key=str)
    finally:
        through.close()
        straight.close()


def test_turned_off_a_large_list_is_plain(
    dev_cluster: DevCluster, large: str, tmp_path: Path
) -> None:
    with _serve(dev_cluster, tmp_path / "serve.log", "--response-compression=false") as url:
        path = f"/api/v1/namespaces/{large}/configmaps?resourceVersion=0&{MINE}"
        answer = ask(url, path, GZIP)
        assert answer.status == 200 and _encoding(answer) == ""
        assert _names(answer) == [f"c{i:02}" for i in range(COUNT)]
