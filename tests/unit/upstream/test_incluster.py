"""In-cluster service-account config with the mount in a temp dir."""

from __future__ import annotations

from pathlib import Path

import pytest

from watchcache.upstream import ConfigError, NotInClusterError, TokenFile, load_incluster

ENV = {"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"}


def mount(tmp_path: Path, *, ca: bool = True, namespace: str | None = "kube-system") -> Path:
    (tmp_path / "token").write_text("sa-token-1")
    if ca:
        (tmp_path / "ca.crt").write_bytes(b"CA PEM")
    if namespace is not None:
        (tmp_path / "namespace").write_text(namespace)
    return tmp_path


async def test_incluster_config(tmp_path: Path) -> None:
    config = load_incluster(env=ENV, service_account_dir=mount(tmp_path))
    assert config.server == "https://10.96.0.1:443"
    assert config.tls.ca_pem == b"CA PEM"
    assert config.namespace == "kube-system"
    assert config.origin == "in-cluster"
    assert (await config.credentials.get()).token == "sa-token-1"


async def test_token_rotation_is_picked_up(tmp_path: Path) -> None:
    now = [0.0]
    config = load_incluster(env=ENV, service_account_dir=mount(tmp_path), clock=lambda: now[0])
    assert isinstance(config.credentials, TokenFile)
    await config.credentials.get()
    (tmp_path / "token").write_text("sa-token-2")
    now[0] += 60  # client-go re-reads about every minute
    assert (await config.credentials.get()).token == "sa-token-2"


def test_ipv6_service_host_is_bracketed(tmp_path: Path) -> None:
    env = {"KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443"}
    assert load_incluster(env=env, service_account_dir=mount(tmp_path)).server == (
        "https://[fd00::1]:443"
    )


def test_missing_ca_and_namespace_fall_back(tmp_path: Path) -> None:
    config = load_incluster(env=ENV, service_account_dir=mount(tmp_path, ca=False, namespace=None))
    assert config.tls.ca_pem is None
    assert config.namespace == "default"


@pytest.mark.parametrize("missing", ["KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"])
def test_not_in_cluster(tmp_path: Path, missing: str) -> None:
    env = {k: v for k, v in ENV.items() if k != missing}
    with pytest.raises(NotInClusterError):
        load_incluster(env=env, service_account_dir=mount(tmp_path))


def test_missing_token_fails_at_load(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="token"):
        load_incluster(env=ENV, service_account_dir=tmp_path)
