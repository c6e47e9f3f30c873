"""The upstream client against a real kube-apiserver v1.20: every way of
logging in that the dev cluster offers, TLS failures, RBAC denials and a
watch stream."""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
from pathlib import Path

import pytest

from watchcache.devcluster import CONTEXT_CERT, CONTEXT_NOBODY, DevCluster
from watchcache.devcluster.pki import make_pki
from watchcache.upstream import (
    ExecPlugin,
    StatusError,
    TLSConfig,
    TLSError,
    UpstreamClient,
    UpstreamConfig,
    load_incluster,
    load_kubeconfig,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def cluster(dev_cluster: DevCluster) -> DevCluster:
    """The session's real control plane (tests/e2e/conftest.py)."""
    return dev_cluster


@pytest.fixture(scope="module")
def namespace(cluster: DevCluster) -> str:
    name = f"up-{secrets.token_hex(4)}"
    code, body = cluster.request(
        "POST",
        "/api/v1/namespaces",
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
    )
    assert code == 201, body
    return name


def configmap(cluster: DevCluster, namespace: str, name: str) -> None:
    code, body = cluster.request(
        "POST",
        f"/api/v1/namespaces/{namespace}/configmaps",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}},
    )
    assert code == 201, body


async def list_names(config: UpstreamConfig, path: str) -> list[str]:
    async with UpstreamClient(config) as client:
        body = await client.list(path)
    return [item["metadata"]["name"] for item in body["items"]]


async def test_token_auth_lists_pods_and_namespaces(cluster: DevCluster, namespace: str) -> None:
    config = load_kubeconfig(cluster.kubeconfig)
    async with UpstreamClient(config) as client:
        pods = await client.list("/api/v1/pods", {"limit": "10"})
        namespaces = await client.list("/api/v1/namespaces")
    assert pods["kind"] == "PodList"
    assert int(pods["metadata"]["resourceVersion"]) > 0
    assert namespace in [n["metadata"]["name"] for n in namespaces["items"]]


async def test_client_certificate_auth(cluster: DevCluster, namespace: str) -> None:
    configmap(cluster, namespace, "by-cert")
    config = load_kubeconfig(cluster.kubeconfig, context=CONTEXT_CERT)
    assert "by-cert" in await list_names(config, f"/api/v1/namespaces/{namespace}/configmaps")


def exec_kubeconfig(cluster: DevCluster, tmp_path: Path, first_token: str) -> Path:
    """A kubeconfig whose user logs in with an exec plugin: the plugin answers
    ``first_token`` on its first run and the admin token after that."""
    plugin = tmp_path / "plugin.py"
    plugin.write_text(
        "import json, os, pathlib\n"
        "runs = pathlib.Path(os.environ['RUNS'])\n"
        "n = int(runs.read_text()) + 1 if runs.exists() else 1\n"
        "runs.write_text(str(n))\n"
        "token = os.environ['FIRST'] if n == 1 else os.environ['ADMIN']\n"
        "print(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1', "
        "'kind': 'ExecCredential', 'status': {'token': token}}))\n"
    )
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        f"""apiVersion: v1
kind: Config
clusters:
- name: dev
  cluster: {{server: "{cluster.url}", certificate-authority: "{cluster.ca_file}"}}
users:
- name: exec
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: "{sys.executable}"
      args: ["{plugin}"]
      interactiveMode: Never
      env:
      - {{name: RUNS, value: "{tmp_path / "runs"}"}}
      - {{name: FIRST, value: "{first_token}"}}
      - {{name: ADMIN, value: "{cluster.admin_token}"}}
contexts:
- name: exec
  context: {{cluster: dev, user: exec}}
current-context: exec
"""
    )
    return kubeconfig


async def test_exec_plugin_auth(cluster: DevCluster, namespace: str, tmp_path: Path) -> None:
    configmap(cluster, namespace, "by-exec")
    config = load_kubeconfig(exec_kubeconfig(cluster, tmp_path, cluster.admin_token))
    assert "by-exec" in await list_names(config, f"/api/v1/namespaces/{namespace}/configmaps")


async def test_exec_plugin_rerun_after_401(cluster: DevCluster, tmp_path: Path) -> None:
    config = load_kubeconfig(exec_kubeconfig(cluster, tmp_path, "not-a-valid-token"))
    async with UpstreamClient(config) as client:
        body = await client.list("/api/v1/namespaces")
        assert client.retried_401 == 1
    assert body["kind"] == "NamespaceList"
    assert isinstance(config.credentials, ExecPlugin)
    assert config.credentials.runs == 2


async def test_wrong_ca_fails_with_a_tls_error(cluster: DevCluster, tmp_path: Path) -> None:
    other_ca = make_pki(tmp_path / "other").ca_crt.read_bytes()
    config = load_kubeconfig(cluster.kubeconfig)
    wrong = UpstreamConfig(
        server=config.server, tls=TLSConfig(ca_pem=other_ca), credentials=config.credentials
    )
    async with UpstreamClient(wrong) as client:
        with pytest.raises(TLSError, match="certificate verify failed"):
            await client.list("/api/v1/namespaces")


async def test_nobody_is_forbidden(cluster: DevCluster, namespace: str) -> None:
    config = load_kubeconfig(cluster.kubeconfig, context=CONTEXT_NOBODY)
    async with UpstreamClient(config) as client:
        with pytest.raises(StatusError) as caught:
            await client.list(f"/api/v1/namespaces/{namespace}/pods")
    err = caught.value
    assert (err.code, err.reason) == (403, "Forbidden")
    assert 'User "nobody" cannot list resource "pods"' in err.message
    assert err.details == {"kind": "pods"}
    # The ApiError renders what kube-apiserver sent, field for field, in order.
    assert err.api_error.body() == json.dumps(err.status, separators=(",", ":")).encode()


async def test_in_cluster_config_with_a_mounted_token(cluster: DevCluster, tmp_path: Path) -> None:
    (tmp_path / "token").write_text(cluster.admin_token)
    (tmp_path / "ca.crt").write_bytes(cluster.ca_file.read_bytes())
    host, port = cluster.url.removeprefix("https://").rsplit(":", 1)
    env = {"KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": port}
    config = load_incluster(env=env, service_account_dir=tmp_path)
    assert "default" in await list_names(config, "/api/v1/namespaces")


async def test_watch_yields_event_lines(cluster: DevCluster, namespace: str) -> None:
    config = load_kubeconfig(cluster.kubeconfig)
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    async with UpstreamClient(config) as client:
        rv = (await client.list(path))["metadata"]["resourceVersion"]
        async with client.watch(path, {"resourceVersion": rv, "timeoutSeconds": "30"}) as lines:
            await asyncio.to_thread(configmap, cluster, namespace, "watched")
            line = await anext(aiter(lines))
    event = json.loads(line)
    assert event["type"] == "ADDED"
    assert event["object"]["metadata"]["name"] == "watched"
    assert int(event["object"]["metadata"]["resourceVersion"]) > int(rv)


async def test_watch_ends_cleanly_at_its_timeout(cluster: DevCluster, namespace: str) -> None:
    config = load_kubeconfig(cluster.kubeconfig)
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    async with UpstreamClient(config) as client:
        rv = (await client.list(path))["metadata"]["resourceVersion"]
        query = {"resourceVersion": rv, "timeoutSeconds": "1"}
        async with client.watch(path, query) as lines:
            events = [line async for line in lines]
    # Nothing changed: the stream ends without an event and without an error.
    assert events == []
