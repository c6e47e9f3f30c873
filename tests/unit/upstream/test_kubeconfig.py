"""Kubeconfig loading: shapes a test writes, merged and resolved as kubectl does."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from watchcache.upstream import (
    ConfigError,
    ExecPlugin,
    Kubeconfig,
    StaticCredentials,
    TokenFile,
    load_kubeconfig,
)
from watchcache.upstream.kubeconfig import kubeconfig_paths

CA = b"-----BEGIN CERTIFICATE-----\nnot really\n-----END CERTIFICATE-----\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def simple(server: str = "https://10.0.0.1:6443", user: str = "token: abc") -> str:
    return f"""
apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: {server}
users:
- name: u
  user:
    {user}
contexts:
- name: ctx
  context: {{cluster: c, user: u, namespace: team-a}}
current-context: ctx
"""


async def test_token_user_and_current_context(tmp_path: Path) -> None:
    config = load_kubeconfig(write(tmp_path / "config", simple()))
    assert config.server == "https://10.0.0.1:6443"
    assert config.namespace == "team-a"
    assert isinstance(config.credentials, StaticCredentials)
    credential = await config.credentials.get()
    assert credential.token == "abc"
    assert credential.headers() == {"Authorization": "Bearer abc"}
    assert "ctx" in config.origin


def test_explicit_context_overrides_current(tmp_path: Path) -> None:
    text = simple().replace(
        "current-context: ctx",
        "- name: other\n  context: {cluster: c, user: u}\ncurrent-context: ctx",
    )
    config = load_kubeconfig(write(tmp_path / "config", text), context="other")
    assert config.namespace == "default"


def test_missing_context_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="context 'nope' not found"):
        load_kubeconfig(write(tmp_path / "config", simple()), context="nope")


def test_no_current_context(tmp_path: Path) -> None:
    text = simple().replace("current-context: ctx", "")
    with pytest.raises(ConfigError, match="no current-context"):
        load_kubeconfig(write(tmp_path / "config", text))


def test_explicit_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_kubeconfig(tmp_path / "absent")


def test_invalid_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_kubeconfig(write(tmp_path / "config", "clusters: [unclosed"))


def test_kubeconfig_env_merges_first_file_wins(tmp_path: Path) -> None:
    first = write(
        tmp_path / "a" / "config",
        """
clusters:
- name: c
  cluster: {server: "https://first:6443"}
users:
- name: u
  user: {token: first-token}
""",
    )
    second = write(
        tmp_path / "b" / "config",
        simple(server="https://second:6443", user="token: second-token"),
    )
    env = {"KUBECONFIG": os.pathsep.join([str(first), str(tmp_path / "missing"), str(second)])}
    config = load_kubeconfig(env=env)
    # current-context from the second file; cluster and user from the first.
    assert config.server == "https://first:6443"
    assert config.namespace == "team-a"


async def test_first_file_wins_for_user_too(tmp_path: Path) -> None:
    first = write(tmp_path / "a", "users:\n- name: u\n  user: {token: first-token}\n")
    second = write(tmp_path / "b", simple(user="token: second-token"))
    merged = Kubeconfig.read([first, second])
    assert (await merged.config().credentials.get()).token == "first-token"


def test_kubeconfig_paths_default_and_dedup(tmp_path: Path) -> None:
    assert kubeconfig_paths({"HOME": str(tmp_path)}) == [tmp_path / ".kube" / "config"]
    listed = os.pathsep.join(["/x/a", "", "/x/b", "/x/a"])
    assert kubeconfig_paths({"KUBECONFIG": listed}) == [Path("/x/a"), Path("/x/b")]


def test_relative_paths_resolve_against_the_file_that_names_them(tmp_path: Path) -> None:
    write(tmp_path / "kube" / "certs" / "ca.crt", CA.decode())
    text = simple().replace(
        "server: https://10.0.0.1:6443",
        "server: https://10.0.0.1:6443\n    certificate-authority: certs/ca.crt",
    )
    config = load_kubeconfig(write(tmp_path / "kube" / "config", text))
    assert config.tls.ca_pem == CA


def test_ca_data_wins_over_file(tmp_path: Path) -> None:
    data = base64.b64encode(b"from data").decode()
    text = simple().replace(
        "server: https://10.0.0.1:6443",
        "server: https://10.0.0.1:6443\n    certificate-authority: /nonexistent\n"
        f"    certificate-authority-data: {data}",
    )
    assert load_kubeconfig(write(tmp_path / "config", text)).tls.ca_pem == b"from data"


def test_bad_base64(tmp_path: Path) -> None:
    text = simple().replace(
        "server: https://10.0.0.1:6443",
        "server: https://10.0.0.1:6443\n    certificate-authority-data: '!!notb64'",
    )
    with pytest.raises(ConfigError, match="not base64"):
        load_kubeconfig(write(tmp_path / "config", text))


def test_unreadable_ca_file_is_a_config_error(tmp_path: Path) -> None:
    text = simple().replace(
        "server: https://10.0.0.1:6443",
        "server: https://10.0.0.1:6443\n    certificate-authority: missing.crt",
    )
    with pytest.raises(ConfigError, match=r"cannot read missing\.crt"):
        load_kubeconfig(write(tmp_path / "config", text))


def test_insecure_and_server_name(tmp_path: Path) -> None:
    text = simple().replace(
        "server: https://10.0.0.1:6443",
        "server: https://10.0.0.1:6443\n    insecure-skip-tls-verify: true\n"
        "    tls-server-name: kubernetes.default",
    )
    tls = load_kubeconfig(write(tmp_path / "config", text)).tls
    assert tls.insecure_skip_verify is True
    assert tls.server_name == "kubernetes.default"
    assert tls.ca_pem is None


def test_insecure_with_ca_is_rejected(tmp_path: Path) -> None:
    data = base64.b64encode(CA).decode()
    text = simple().replace(
        "server: https://10.0.0.1:6443",
        "server: https://10.0.0.1:6443\n    insecure-skip-tls-verify: true\n"
        f"    certificate-authority-data: {data}",
    )
    with pytest.raises(ConfigError, match="insecure-skip-tls-verify"):
        load_kubeconfig(write(tmp_path / "config", text))


async def test_client_certificate_files_and_data(tmp_path: Path) -> None:
    write(tmp_path / "u.crt", "CERT")
    key = base64.b64encode(b"KEY").decode()
    text = simple(user=f"client-certificate: u.crt\n    client-key-data: {key}")
    credential = await load_kubeconfig(write(tmp_path / "config", text)).credentials.get()
    assert credential.token is None
    assert credential.client_cert is not None
    assert credential.client_cert.cert_pem == b"CERT"
    assert credential.client_cert.key_pem == b"KEY"
    assert "KEY" not in repr(credential)


def test_certificate_without_key(tmp_path: Path) -> None:
    write(tmp_path / "u.crt", "CERT")
    with pytest.raises(ConfigError, match="only one of client-certificate and client-key"):
        load_kubeconfig(write(tmp_path / "config", simple(user="client-certificate: u.crt")))


async def test_token_file_relative_and_wins_over_token(tmp_path: Path) -> None:
    write(tmp_path / "secrets" / "token", "from-file\n")
    text = simple(user="token: inline\n    tokenFile: secrets/token")
    source = load_kubeconfig(write(tmp_path / "config", text)).credentials
    assert isinstance(source, TokenFile)
    assert source.path == tmp_path / "secrets" / "token"
    assert (await source.get()).token == "from-file"


async def test_user_named_but_not_defined_means_anonymous(tmp_path: Path) -> None:
    text = simple().replace("user: u, namespace", "user: ghost, namespace")
    credential = await load_kubeconfig(write(tmp_path / "config", text)).credentials.get()
    assert credential.token is None and credential.client_cert is None


@pytest.mark.parametrize(
    ("cluster_extra", "user", "message"),
    [
        ("proxy-url: http://proxy:3128", "token: t", "proxy-url"),
        ("", "auth-provider: {name: gcp}", "auth-provider"),
        ("", "username: admin\n    password: secret", "basic auth"),
        ("", "as: someone\n    token: t", "impersonation"),
        (
            "",
            "token: t\n    exec: {apiVersion: client.authentication.k8s.io/v1, command: x}",
            "exec",
        ),
    ],
)
def test_unsupported_fields_are_rejected_clearly(
    tmp_path: Path, cluster_extra: str, user: str, message: str
) -> None:
    text = simple(user=user).replace(
        "server: https://10.0.0.1:6443", f"server: https://10.0.0.1:6443\n    {cluster_extra}"
    )
    with pytest.raises(ConfigError, match=message):
        load_kubeconfig(write(tmp_path / "config", text))


@pytest.mark.parametrize(
    "server",
    ["10.0.0.1:6443", "ftp://host", "https://host:6443/prefix"],
)
def test_bad_server_urls(tmp_path: Path, server: str) -> None:
    with pytest.raises(ConfigError, match="server"):
        load_kubeconfig(write(tmp_path / "config", simple(server=server)))


def test_exec_plugin_spec(tmp_path: Path) -> None:
    ca = base64.b64encode(CA).decode()
    text = simple(
        user="""exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: bin/get-token
      args: [eks, get-token, --cluster-name, prod]
      env: [{name: AWS_PROFILE, value: prod}]
      installHint: install it
      provideClusterInfo: true
      interactiveMode: IfAvailable"""
    ).replace(
        "server: https://10.0.0.1:6443",
        f"server: https://10.0.0.1:6443\n    certificate-authority-data: {ca}",
    )
    source = load_kubeconfig(write(tmp_path / "config", text)).credentials
    assert isinstance(source, ExecPlugin)
    spec = source.spec
    # A command with a slash is relative to the kubeconfig; a bare one uses PATH.
    assert spec.command == str(tmp_path / "bin" / "get-token")
    assert spec.args == ("eks", "get-token", "--cluster-name", "prod")
    assert spec.env == (("AWS_PROFILE", "prod"),)
    assert spec.cluster_info == {
        "server": "https://10.0.0.1:6443",
        "certificate-authority-data": ca,
    }


def test_exec_bare_command_is_left_for_path(tmp_path: Path) -> None:
    text = simple(user="exec: {apiVersion: client.authentication.k8s.io/v1, command: aws}")
    source = load_kubeconfig(write(tmp_path / "config", text)).credentials
    assert isinstance(source, ExecPlugin)
    assert source.spec.command == "aws"
    assert source.spec.cluster_info is None


@pytest.mark.parametrize(
    ("exec_body", "message"),
    [
        ("{apiVersion: client.authentication.k8s.io/v1alpha1, command: x}", "apiVersion"),
        (
            "{apiVersion: client.authentication.k8s.io/v1, command: x, interactiveMode: Always}",
            "Always",
        ),
        ("{apiVersion: client.authentication.k8s.io/v1}", "no command"),
    ],
)
def test_exec_rejections(tmp_path: Path, exec_body: str, message: str) -> None:
    text = simple(user=f"exec: {exec_body}")
    with pytest.raises(ConfigError, match=message):
        load_kubeconfig(write(tmp_path / "config", text))
