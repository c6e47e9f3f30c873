"""Where an informer's objects come from: resources, scopes, config."""

from __future__ import annotations

from pathlib import Path

import pytest

from watchcache.api.resources import GroupVersionResource
from watchcache.informer.source import Scope, load_config, parse_resource
from watchcache.upstream import ConfigError

KUBECONFIG = """
apiVersion: v1
kind: Config
current-context: c
contexts: [{name: c, context: {cluster: k, user: u}}]
clusters: [{name: k, cluster: {server: "https://10.0.0.1:6443", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: abc}}]
"""


def test_resources_and_their_paths() -> None:
    assert parse_resource("pods").gvr == GroupVersionResource("", "v1", "pods")
    assert parse_resource("v1/pods").gvr == GroupVersionResource("", "v1", "pods")
    deployments = parse_resource("apps/v1/deployments")
    assert deployments.kind == "Deployment"
    with pytest.raises(ValueError):
        parse_resource("a/b/c/d")
    assert Scope(deployments, "web").path == "/apis/apps/v1/namespaces/web/deployments"
    nodes = Scope(parse_resource("nodes"), "ignored-for-cluster-scope")
    assert nodes.path == "/api/v1/nodes"
    scoped = Scope(parse_resource("pods"), "", "app=web", "spec.nodeName=n1", True)
    assert scoped.params == {"labelSelector": "app=web", "fieldSelector": "spec.nodeName=n1"}
    assert str(scoped) == "pods labels app=web fields spec.nodeName=n1 (metadata)"


def test_config_is_in_cluster_in_a_pod_else_the_kubeconfig(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text(KUBECONFIG)
    assert load_config(path, env={}).server == "https://10.0.0.1:6443"
    assert load_config(env={"KUBECONFIG": str(path)}).server == "https://10.0.0.1:6443"
    pod_env = {"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    with pytest.raises(ConfigError, match="service account token"):
        load_config(env=pod_env)  # in a pod: the mounted token (absent here)
    assert load_config(path, env=pod_env).server == "https://10.0.0.1:6443"  # named: used
