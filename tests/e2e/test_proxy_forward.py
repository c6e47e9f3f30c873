"""`watchcache serve` forwarding to the real kube-apiserver: real clients
through the proxy get what they get directly."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client, watch
from tests.e2e.serving import ask, ask_direct, running_serve
from tests.polling import until_blocking

from watchcache.devcluster import DevCluster
from watchcache.upstream import ClientOptions


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


def open_watch(base: str, path: str) -> http.client.HTTPConnection:
    """A watch through ``base`` whose headers have arrived; close the
    connection to end it."""
    host = base.removeprefix("http://")
    connection = http.client.HTTPConnection(host, timeout=30)
    connection.request("GET", path)
    response = connection.getresponse()
    assert response.status == 200, response.read()
    return connection


def metric(text: str, name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels``."""
    total = 0.0
    for line in text.splitlines():
        found = re.match(r"^(\w+)(?:\{(.*)\})? (\S+)$", line)
        if not found or found.group(1) != name:
            continue
        have = dict(re.findall(r'(\w+)="([^"]*)"', found.group(2) or ""))
        if all(have.get(k) == v for k, v in labels.items()):
            total += float(found.group(3))
    return total


def upstream_watches(dev_cluster: DevCluster, resource: str, scope: str) -> float:
    """Watches of ``resource`` open in kube-apiserver at ``scope`` ("cluster"
    or "namespace"), from its own /metrics."""
    return metric(
        ask_direct(dev_cluster, "/metrics").body.decode(),
        "apiserver_longrunning_gauge",
        verb="WATCH",
        resource=resource,
        scope=scope,
    )


def upstream_namespaced_configmap_watches(dev_cluster: DevCluster) -> float:
    """Namespaced configmap watches open in kube-apiserver: only tests make
    them (kube-controller-manager watches configmaps cluster-wide)."""
    return upstream_watches(dev_cluster, "configmaps", "namespace")


def test_held_forwarded_watches_never_starve_a_get(
    proxy_url: str, namespace: str, dev_cluster: DevCluster
) -> None:
    """Regression (issue 14): forwarded watches and short requests shared
    one upstream pool of 100, so with 100 watches open a GET waited 30 s
    and was answered 504."""
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    start = upstream_namespaced_configmap_watches(dev_cluster)
    with contextlib.ExitStack() as held:
        for _ in range(ClientOptions().pool_limit + 1):
            held.callback(open_watch(proxy_url, path + "?watch=true").close)
        answer = ask(proxy_url, path + "/kube-root-ca.crt")
        assert answer.status == 200, answer.body
    # Not left for the next test to count: it compares this gauge.
    until_blocking(
        lambda: upstream_namespaced_configmap_watches(dev_cluster) <= start,
        "kube-apiserver to see the held watches end",
        timeout=60,
        every=0.2,
    )


def test_a_client_closing_a_forwarded_watch_ends_it_upstream(
    proxy_url: str, namespace: str, dev_cluster: DevCluster
) -> None:
    """Regression (issue 14): a quiet forwarded watch stayed open upstream
    after its client left, and its end was counted as a 500."""
    before = upstream_namespaced_configmap_watches(dev_cluster)
    watch_labels = {"verb": "watch", "resource": "configmaps", "served_by": "upstream"}
    disconnects_before = metric(
        ask(proxy_url, "/metrics").body.decode(),
        "watchcache_client_disconnects_total",
        **watch_labels,
    )
    connection = open_watch(proxy_url, f"/api/v1/namespaces/{namespace}/configmaps?watch=true")
    try:
        until_blocking(
            lambda: upstream_namespaced_configmap_watches(dev_cluster) == before + 1,
            "the forwarded watch to open upstream",
            timeout=20,
            every=0.1,
        )
    finally:
        connection.close()
    until_blocking(
        lambda: upstream_namespaced_configmap_watches(dev_cluster) == before,
        "kube-apiserver to see the forwarded watch end",
        timeout=20,
        every=0.1,
    )
    metrics = ask(proxy_url, "/metrics").body.decode()
    assert metric(metrics, "watchcache_requests_total", code="500") == 0
    assert (
        metric(metrics, "watchcache_client_disconnects_total", **watch_labels)
        == disconnects_before + 1
    )
