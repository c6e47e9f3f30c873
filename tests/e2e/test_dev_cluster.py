"""The dev cluster is a real, usable kube-apiserver: proven with raw HTTP,
the official Python client, and both kubectl versions.

Each rule these tests rely on later (pagination, watch from an RV, 410 after
compaction, 403 for a user without rights) is exercised here once, so a
broken fixture shows up as a failure here and not as a mystery elsewhere.
"""

from __future__ import annotations

import base64
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

from watchcache.devcluster import CONTEXT_ADMIN, CONTEXT_CERT, CONTEXT_NOBODY, DevCluster


def configmap(name: str, **data: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


@pytest.fixture
def core(dev_cluster: DevCluster) -> Iterator[client.CoreV1Api]:
    api = config.new_client_from_config(
        config_file=str(dev_cluster.kubeconfig), context=CONTEXT_ADMIN
    )
    yield client.CoreV1Api(api)
    api.close()


# -- raw HTTP ----------------------------------------------------------------


def test_create_then_get_returns_the_same_object(dev_cluster: DevCluster, namespace: str) -> None:
    code, created = dev_cluster.request(
        "POST", f"/api/v1/namespaces/{namespace}/configmaps", configmap("a", k="v")
    )
    assert code == 201, created
    code, got = dev_cluster.request("GET", f"/api/v1/namespaces/{namespace}/configmaps/a")
    assert code == 200
    assert got["data"] == {"k": "v"}
    assert got["metadata"]["uid"] == created["metadata"]["uid"]
    assert got["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


def test_list_pages_with_limit_and_continue(dev_cluster: DevCluster, namespace: str) -> None:
    names = [f"cm-{i}" for i in range(5)] + ["kube-root-ca.crt"]
    for name in reversed(names[:-1]):
        assert (
            dev_cluster.request(
                "POST", f"/api/v1/namespaces/{namespace}/configmaps", configmap(name)
            )[0]
            == 201
        )
    path = f"/api/v1/namespaces/{namespace}/configmaps?limit=2"
    code, first = dev_cluster.request("GET", path)
    assert code == 200
    assert [i["metadata"]["name"] for i in first["items"]] == names[:2]
    assert first["metadata"]["remainingItemCount"] == 4
    token = first["metadata"]["continue"]
    # The token is base64url JSON naming the list's RV and the last key seen.
    decoded = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    assert decoded == {
        "v": "meta.k8s.io/v1",
        "rv": int(first["metadata"]["resourceVersion"]),
        "start": "cm-1\u0000",
    }

    seen = [i["metadata"]["name"] for i in first["items"]]
    while token:
        code, page = dev_cluster.request("GET", f"{path}&continue={token}")
        assert code == 200
        assert page["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
        seen += [i["metadata"]["name"] for i in page["items"]]
        token = page["metadata"].get("continue")
    assert seen == names


def test_410_for_exact_list_and_continue_token_after_compaction(
    dev_cluster: DevCluster, namespace: str
) -> None:
    base = f"/api/v1/namespaces/{namespace}/configmaps"
    for name in ("a", "b", "c"):
        dev_cluster.request("POST", base, configmap(name))
    code, first = dev_cluster.request("GET", f"{base}?limit=1")
    assert code == 200
    old_rv = first["metadata"]["resourceVersion"]
    # Something must be written after old_rv, or compacting at "now" would
    # leave old_rv as the newest revision, which etcd still serves.
    dev_cluster.request("POST", base, configmap("d"))
    dev_cluster.compact()

    code, status = dev_cluster.request(
        "GET", f"{base}?limit=1&continue={first['metadata']['continue']}"
    )
    assert code == 410
    assert (status["kind"], status["reason"], status["code"]) == ("Status", "Expired", 410)
    # The Status carries a token to go on inconsistently: rv -1, same start.
    fresh = status["metadata"]["continue"]
    assert json.loads(base64.urlsafe_b64decode(fresh + "=" * (-len(fresh) % 4)))["rv"] == -1

    code, status = dev_cluster.request(
        "GET", f"{base}?resourceVersion={old_rv}&resourceVersionMatch=Exact&limit=1"
    )
    assert code == 410
    assert status["reason"] == "Expired"


def test_user_without_rights_gets_403_status(dev_cluster: DevCluster, namespace: str) -> None:
    code, status = dev_cluster.request(
        "GET", f"/api/v1/namespaces/{namespace}/pods", token=dev_cluster.nobody_token
    )
    assert code == 403
    assert status["kind"] == "Status"
    assert status["reason"] == "Forbidden"
    assert status["message"] == (
        f'pods is forbidden: User "nobody" cannot list resource "pods" in API group "" in the namespace "{namespace}"'
    )


def test_bad_token_gets_401(dev_cluster: DevCluster) -> None:
    code, status = dev_cluster.request("GET", "/api/v1/namespaces", token="not-a-token")
    assert code == 401
    assert status["reason"] == "Unauthorized"


# -- the official Python client ---------------------------------------------


def test_python_client_paginates_and_watches_from_a_resource_version(
    core: client.CoreV1Api, namespace: str
) -> None:
    for i in range(3):
        core.create_namespaced_config_map(namespace, configmap(f"p{i}"))
    page = core.list_namespaced_config_map(namespace, limit=2)
    assert len(page.items) == 2 and page.metadata._continue
    rest = core.list_namespaced_config_map(namespace, limit=2, _continue=page.metadata._continue)
    assert [c.metadata.name for c in page.items + rest.items] == [
        "kube-root-ca.crt",
        "p0",
        "p1",
        "p2",
    ]

    start_rv = rest.metadata.resource_version
    core.create_namespaced_config_map(namespace, configmap("p3"))
    core.patch_namespaced_config_map("p0", namespace, {"data": {"x": "1"}})
    core.delete_namespaced_config_map("p1", namespace)
    events = []
    for event in watch.Watch().stream(
        core.list_namespaced_config_map, namespace, resource_version=start_rv, timeout_seconds=5
    ):
        events.append((event["type"], event["object"].metadata.name))
        if len(events) == 3:
            break
    assert events == [("ADDED", "p3"), ("MODIFIED", "p0"), ("DELETED", "p1")]


def test_python_client_sees_403_for_user_without_rights(
    dev_cluster: DevCluster, namespace: str
) -> None:
    api = config.new_client_from_config(
        config_file=str(dev_cluster.kubeconfig), context=CONTEXT_NOBODY
    )
    with pytest.raises(ApiException) as raised:
        client.CoreV1Api(api).list_namespaced_pod(namespace)
    api.close()
    assert raised.value.status == 403
    assert json.loads(raised.value.body)["reason"] == "Forbidden"


# -- kubectl, both versions ---------------------------------------------------


@pytest.fixture
def kubectl(kubectl_binary: Path) -> Path:
    return kubectl_binary


def run_kubectl(
    dev_cluster: DevCluster, kubectl: Path, *args: str, context: str = CONTEXT_ADMIN
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(kubectl), "--kubeconfig", str(dev_cluster.kubeconfig), "--context", context, *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_kubectl_create_list_in_chunks_and_delete(
    dev_cluster: DevCluster, kubectl: Path, namespace: str
) -> None:
    for name in ("k1", "k2", "k3"):
        done = run_kubectl(
            dev_cluster, kubectl, "-n", namespace, "create", "configmap", name, "--from-literal=a=b"
        )
        assert done.returncode == 0, done.stderr
    listed = run_kubectl(
        dev_cluster, kubectl, "-n", namespace, "get", "configmaps", "--chunk-size=1", "-o", "json"
    )
    assert listed.returncode == 0, listed.stderr
    names = [i["metadata"]["name"] for i in json.loads(listed.stdout)["items"]]
    assert names == ["k1", "k2", "k3", "kube-root-ca.crt"]
    deleted = run_kubectl(dev_cluster, kubectl, "-n", namespace, "delete", "configmap", "k2")
    assert deleted.returncode == 0, deleted.stderr
    after = run_kubectl(dev_cluster, kubectl, "-n", namespace, "get", "configmaps", "-o", "name")
    assert "configmap/k2" not in after.stdout.split()
    assert "configmap/k1" in after.stdout.split()


def test_kubectl_watch_sees_a_change(
    dev_cluster: DevCluster, kubectl: Path, namespace: str
) -> None:
    run_kubectl(dev_cluster, kubectl, "-n", namespace, "create", "configmap", "w1")
    watcher = subprocess.Popen(
        [
            str(kubectl),
            "--kubeconfig",
            str(dev_cluster.kubeconfig),
            "-n",
            namespace,
            "get",
            "configmaps",
            "--watch",
            "-o",
            "name",
            "--request-timeout=20s",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # Created before kubectl lists, w2 is an item of its list; after, an
        # event of its watch: printed either way.
        run_kubectl(dev_cluster, kubectl, "-n", namespace, "create", "configmap", "w2")
        seen: list[str] = []
        deadline = time.monotonic() + 60
        assert watcher.stdout is not None
        while "configmap/w2" not in seen and time.monotonic() < deadline:
            line = watcher.stdout.readline()
            if not line:
                break
            seen.append(line.strip())
        assert "configmap/w2" in seen, (
            seen,
            watcher.stderr.read() if watcher.poll() is not None else "",
        )
    finally:
        watcher.kill()
        watcher.wait()


def test_kubectl_forbidden_for_user_without_rights(
    dev_cluster: DevCluster, kubectl: Path, namespace: str
) -> None:
    done = run_kubectl(dev_cluster, kubectl, "-n", namespace, "get", "pods", context=CONTEXT_NOBODY)
    assert done.returncode != 0
    assert "Forbidden" in done.stderr


def test_kubectl_with_client_certificate(dev_cluster: DevCluster, kubectl: Path) -> None:
    done = run_kubectl(
        dev_cluster, kubectl, "get", "namespace", "default", "-o", "name", context=CONTEXT_CERT
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "namespace/default"
