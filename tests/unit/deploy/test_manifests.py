"""deploy/: the Kustomize overlays render, every object is valid for the
current Kubernetes versions, and the manifests agree with the code they
deploy (settings that load, RBAC for what is cached, a grace period that
covers the staged shutdown, the image's user)."""

from __future__ import annotations

import argparse
import re
from typing import Any

import kubernetes_validate
import pytest
from kubernetes_validate.utils import all_versions
from tests.manifests import DEPLOY, OVERLAYS, render

from watchcache.proxy.cachedresource import parse_resource
from watchcache.proxy.config import ServeConfig, add_arguments, load_config
from watchcache.proxy.server import SHORT_REQUEST_GRACE
from watchcache.upstream import load_kubeconfig

# The newest three minor versions the installed kubernetes-validate ships
# schemas for: Kubernetes supports its last three releases.
CURRENT_VERSIONS = sorted(
    {v for v in all_versions() if not v.endswith(("-local", "-strict"))},
    key=lambda v: tuple(int(p) for p in v.split(".")),
)[-3:]


def _one(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = [
        o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)
    ]
    assert len(found) == 1, f"{kind} {name}: {len(found)} found"
    return found[0]


def _container(deployment: dict[str, Any], name: str) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    return next(c for c in containers if c["name"] == name)


def _serve_config(objects: list[dict[str, Any]], tmp_path: Any) -> ServeConfig:
    """The settings the watchcache container starts with: its --config
    file, taken from the ConfigMap it mounts, loaded as `serve` loads it."""
    (configmap,) = [
        o for o in objects if o["kind"] == "ConfigMap" and "watchcache.toml" in o["data"]
    ]
    path = tmp_path / "watchcache.toml"
    path.write_text(configmap["data"]["watchcache.toml"])
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    config = load_config(parser.parse_args([f"--config={path}"]), environ={})
    assert config.warnings == (), "deprecated settings in a shipped manifest"
    return config


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_is_valid_for_current_kubernetes(overlay: str) -> None:
    assert len(CURRENT_VERSIONS) == 3, CURRENT_VERSIONS
    objects = render(overlay)
    for version in CURRENT_VERSIONS:
        for obj in objects:
            # strict: a misspelt or misplaced field fails too.
            kubernetes_validate.validate(obj, version, strict=True)


def test_read_tier_has_every_part() -> None:
    kinds = sorted(o["kind"] for o in render("read-tier"))
    assert kinds == [
        "ClusterRole",
        "ClusterRoleBinding",
        "ConfigMap",
        "Deployment",
        "HorizontalPodAutoscaler",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "Service",
        "ServiceAccount",
    ]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_settings_load_and_rbac_covers_what_is_cached(overlay: str, tmp_path: Any) -> None:
    objects = render(overlay)
    config = _serve_config(objects, tmp_path)
    assert config.in_cluster
    rules = _one(objects, "ClusterRole", "watchcache")["rules"]
    for arg in config.resources:
        gvr = parse_resource(arg)
        allowed = {
            verb
            for rule in rules
            if gvr.group in rule["apiGroups"] and gvr.resource in rule["resources"]
            for verb in rule["verbs"]
        }
        assert {"list", "watch"} <= allowed, f"{arg}: the ClusterRole allows only {allowed}"
    if config.auth_mode(embedded=False) == "delegated":
        granted = {
            (group, resource, verb)
            for rule in rules
            for group in rule["apiGroups"]
            for resource in rule["resources"]
            for verb in rule["verbs"]
        }
        assert {
            ("authentication.k8s.io", "tokenreviews", "create"),
            ("authorization.k8s.io", "subjectaccessreviews", "create"),
            ("", "users", "impersonate"),
            ("", "groups", "impersonate"),
        } <= granted
    binding = _one(objects, "ClusterRoleBinding", "watchcache")
    account = _one(objects, "ServiceAccount", "watchcache")
    assert binding["subjects"] == [
        {
            "kind": "ServiceAccount",
            "name": "watchcache",
            "namespace": account["metadata"]["namespace"],
        }
    ]


def test_read_tier_grace_period_covers_the_staged_shutdown(tmp_path: Any) -> None:
    objects = render("read-tier")
    config = _serve_config(objects, tmp_path)
    deployment = _one(objects, "Deployment", "watchcache")
    pod = deployment["spec"]["template"]["spec"]
    container = _container(deployment, "watchcache")
    pre_stop = container["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    needed = float(pre_stop[1]) + config.shutdown_spread + SHORT_REQUEST_GRACE
    assert pod["terminationGracePeriodSeconds"] >= needed + 5, (
        f"grace {pod['terminationGracePeriodSeconds']}s, shutdown takes up to {needed}s"
    )
    # Readiness is the cache's sync (and turns off when draining).
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    # Listening beyond loopback is what the Service needs: HTTPS, every
    # client authenticated and its cached reads authorized.
    assert ("0.0.0.0", 8001) in config.listen_addresses()
    assert config.auth_mode(embedded=False) == "delegated" and not config.plain_http()
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["scheme"] == "HTTPS"
    # A rollout never dips below the replicas it had.
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_sidecar_kubeconfig_points_the_app_at_the_sidecar(tmp_path: Any) -> None:
    objects = render("sidecar")
    config = _serve_config(objects, tmp_path)
    assert config.listen_addresses() == [("127.0.0.1", 8001)]
    deployment = _one(objects, "Deployment", "example-controller")
    app = _container(deployment, "controller")
    env = {e["name"]: e["value"] for e in app["env"]}
    (mount,) = app["volumeMounts"]
    assert env["KUBECONFIG"].startswith(mount["mountPath"] + "/")
    volume = next(
        v for v in deployment["spec"]["template"]["spec"]["volumes"] if v["name"] == mount["name"]
    )
    configmap = _one(objects, "ConfigMap", volume["configMap"]["name"])
    key = env["KUBECONFIG"].removeprefix(mount["mountPath"] + "/")
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(configmap["data"][key])
    upstream = load_kubeconfig(str(kubeconfig))
    assert upstream.server == "http://127.0.0.1:8001"


def test_empty_service_env_makes_the_python_clients_incluster_config_fail(
    tmp_path: Any,
) -> None:
    """What the sidecar example relies on: with KUBERNETES_SERVICE_HOST and
    _PORT set empty, the Python client's in-cluster loader refuses (so a
    loader that tries it first falls back to $KUBECONFIG)."""
    from kubernetes.config.config_exception import ConfigException
    from kubernetes.config.incluster_config import InClusterConfigLoader

    token, ca = tmp_path / "token", tmp_path / "ca.crt"
    token.write_text("t")
    ca.write_text("c")
    env = {
        e["name"]: e["value"]
        for e in _container(_one(render("sidecar"), "Deployment"), "controller")["env"]
    }
    loader = InClusterConfigLoader(str(token), str(ca), environ=env)
    with pytest.raises(ConfigException, match="empty"):
        loader.load_and_set()


def test_image_user_is_the_pods_user() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    users = re.findall(r"^USER (\d+):(\d+)$", dockerfile, re.MULTILINE)
    assert users, "the final stage must set a numeric USER"
    uid, gid = users[-1]
    for overlay in OVERLAYS:
        for obj in render(overlay):
            if obj["kind"] != "Deployment":
                continue
            security = obj["spec"]["template"]["spec"]["securityContext"]
            assert security["runAsNonRoot"] is True
            assert (str(security["runAsUser"]), str(security["runAsGroup"])) == (uid, gid)
