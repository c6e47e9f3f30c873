"""`watchcache serve` forwarding to the real kube-apiserver: real clients
through the proxy get what they get directly."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client, watch
from tests.e2e.serving import running_serve

from watchcache.devcluster import DevCluster


@pytest.fixture(scope="module")
def proxy_url(dev_cluster: DevCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("proxy") / "serve.log"
    with running_serve(log, "--kubeconfig", str(dev_cluster.kubeconfig)) as url:
        yield url


def kubectl(binary: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    return subprocess.run(
        [str(binary), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**env, "HOME": "/nonexistent"},
    )


def test_kubectl_through_the_proxy(
    proxy_url: str, kubectl_binary: Path, namespace: str, dev_cluster: DevCluster
) -> None:
    via = ["--server", proxy_url, "-n", namespace]
    created = kubectl(
        kubectl_binary, *via, "create", "configmap", "via-proxy", "--from-literal=k=v"
    )
    assert created.returncode == 0, created.stderr
    got = kubectl(kubectl_binary, *via, "get", "configmap", "via-proxy", "-o", "json")
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)["data"] == {"k": "v"}
    # The same object as kube-apiserver has it (newer kubectls hide
    # managedFields in their output, so that is left out of the comparison).
    code, direct = dev_cluster.request(
        "GET", f"/api/v1/namespaces/{namespace}/configmaps/via-proxy"
    )
    assert code == 200
    through = json.loads(got.stdout)["metadata"]
    through.pop("managedFields", None)
    direct["metadata"].pop("managedFields", None)
    assert through == direct["metadata"]
    table = kubectl(kubectl_binary, *via, "get", "configmaps", "--chunk-size=1")
    assert table.returncode == 0 and "via-proxy" in table.stdout, table.stderr
    patched = kubectl(
        kubectl_binary, *via, "patch", "configmap", "via-proxy", "-p", '{"data":{"k":"w"}}'
    )
    assert patched.returncode == 0, patched.stderr
    applied = subprocess.run(
        [str(kubectl_binary), *via, "apply", "-f", "-"],
        input=json.dumps(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "applied"},
                "data": {"a": "1"},
            }
        ),
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if k != "KUBECONFIG"} | {"HOME": "/nonexistent"},
    )
    assert applied.returncode == 0 and "configmap/applied created" in applied.stdout, applied.stderr
    _, direct_applied = dev_cluster.request(
        "GET", f"/api/v1/namespaces/{namespace}/configmaps/applied"
    )
    assert direct_applied["data"] == {"a": "1"}
    assert (
        "kubectl.kubernetes.io/last-applied-configuration"
        in direct_applied["metadata"]["annotations"]
    )
    deleted = kubectl(kubectl_binary, *via, "delete", "configmap", "via-proxy")
    assert deleted.returncode == 0, deleted.stderr
    missing = kubectl(kubectl_binary, *via, "get", "configmap", "via-proxy")
    assert missing.returncode != 0 and "NotFound" in missing.stderr


def test_python_client_watch_through_the_proxy(
    proxy_url: str, namespace: str, dev_cluster: DevCluster
) -> None:
    config = client.Configuration(host=proxy_url)
    with client.ApiClient(config) as api:
        core = client.CoreV1Api(api)
        listed = core.list_namespaced_config_map(namespace)
        core.create_namespaced_config_map(
            namespace, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "w1"}}
        )
        events = []
        for event in watch.Watch().stream(
            core.list_namespaced_config_map,
            namespace,
            resource_version=listed.metadata.resource_version,
            timeout_seconds=10,
        ):
            events.append((event["type"], event["object"].metadata.name))
            break
        assert events == [("ADDED", "w1")]


def test_errors_come_back_as_upstream_said(proxy_url: str, namespace: str) -> None:
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(f"{proxy_url}/api/v1/namespaces/{namespace}/pods/nope", timeout=10)
    assert raised.value.code == 404
    status = json.loads(raised.value.read())
    assert (status["reason"], status["message"]) == ("NotFound", 'pods "nope" not found')


def test_health_and_metrics(proxy_url: str) -> None:
    import urllib.request

    assert urllib.request.urlopen(proxy_url + "/readyz", timeout=10).read() == b"ok"
    metrics = urllib.request.urlopen(proxy_url + "/metrics", timeout=10).read().decode()
    assert "watchcache_upstream_request_duration_seconds" in metrics


def test_kubectl_reads_cached_pods(proxy_url: str, kubectl_binary: Path, namespace: str) -> None:
    """Pods are cached by default: kubectl's JSON list and watch come from
    the cache (its table output is forwarded), and a pod it creates through
    the proxy shows up in both."""
    via = ["--server", proxy_url, "-n", namespace]
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p1", "labels": {"app": "x"}},
        "spec": {"containers": [{"name": "c", "image": "registry.invalid/x:1"}]},
    }
    watcher = subprocess.Popen(
        [str(kubectl_binary), *via, "get", "pods", "-w", "-o", "name", "--request-timeout=30s"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "KUBECONFIG"} | {"HOME": "/nonexistent"},
    )
    try:
        # Created before kubectl lists, p1 is the one item of its list;
        # after, the first event of its watch: its first line either way.
        created = subprocess.run(
            [str(kubectl_binary), *via, "create", "-f", "-"],
            input=json.dumps(pod),
            capture_output=True,
            text=True,
            timeout=60,
            env={k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
            | {"HOME": "/nonexistent"},
        )
        assert created.returncode == 0, created.stderr
        listed = kubectl(kubectl_binary, *via, "get", "pods", "-l", "app=x", "-o", "json")
        assert listed.returncode == 0, listed.stderr
        assert [i["metadata"]["name"] for i in json.loads(listed.stdout)["items"]] == ["p1"]
        assert watcher.stdout is not None
        assert watcher.stdout.readline().strip() == "pod/p1"
    finally:
        watcher.kill()
        watcher.wait()
        kubectl(kubectl_binary, *via, "delete", "pod", "p1", "--grace-period=0", "--force")


def test_kubectl_exec_and_port_forward_errors_pass_through(
    proxy_url: str, kubectl_binary: Path, namespace: str, dev_cluster: DevCluster
) -> None:
    """The test cluster has no kubelet, so exec and port-forward fail; they
    must fail through the proxy exactly as they do directly."""
    code, body = dev_cluster.request(
        "POST",
        f"/api/v1/namespaces/{namespace}/pods",
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "nowhere"},
            "spec": {"containers": [{"name": "c", "image": "registry.invalid/x:1"}]},
        },
    )
    assert code == 201, body
    for args in (["exec", "nowhere", "--", "true"], ["port-forward", "pod/nowhere", "18080:80"]):
        via = kubectl(kubectl_binary, "--server", proxy_url, "-n", namespace, *args)
        straight = subprocess.run(
            [
                str(kubectl_binary),
                "--kubeconfig",
                str(dev_cluster.kubeconfig),
                "-n",
                namespace,
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert via.returncode == straight.returncode != 0
        assert via.stderr.strip() == straight.stderr.strip()


def test_a_read_tier_chain_in_front_of_the_apiserver(
    proxy_url: str, dev_cluster: DevCluster, namespace: str, tmp_path: Path
) -> None:
    """Proxy B reads through proxy A (the read tier) and writes straight to
    kube-apiserver; a client of B sees its own write in a consistent read."""
    args = [
        "--kubeconfig",
        str(dev_cluster.kubeconfig),
        "--read-upstream",
        proxy_url,
        "--resources",
        "configmaps",
    ]
    with running_serve(tmp_path / "b.log", *args) as url:
        config = client.Configuration(host=url)
        with client.ApiClient(config) as api:
            core = client.CoreV1Api(api)
            core.create_namespaced_config_map(
                namespace,
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "chained"}},
            )
            names = [c.metadata.name for c in core.list_namespaced_config_map(namespace).items]
            assert "chained" in names
            _, direct_list = dev_cluster.request(
                "GET", f"/api/v1/namespaces/{namespace}/configmaps"
            )
            assert names == [i["metadata"]["name"] for i in direct_list["items"]]
