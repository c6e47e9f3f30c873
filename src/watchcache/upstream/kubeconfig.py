"""Loading a kubeconfig the way kubectl does.

Why PyYAML and our own reader: a kubeconfig is YAML, so a YAML parser is
needed, and PyYAML is the small, long-kept one (already installed with the
``kubernetes`` test client). The libraries that load kubeconfigs for you
each bring a whole client: ``kubernetes`` and ``kubernetes_asyncio`` ship
thousands of generated model modules and their own HTTP stack and
exceptions (the first is also synchronous), ``kr8s`` brings httpx. Only
the loading rules below are needed, and they fit in this module.

Glossary:
    file        one kubeconfig YAML document.
    merged      several files read as kubectl reads ``KUBECONFIG=a:b:c``:
                for each named cluster, user and context the first file
                that defines the name wins, and the first non-empty
                ``current-context`` wins. Files that do not exist are
                skipped (kubectl does the same), unless a single file was
                named explicitly.
    base dir    the directory of the file an entry came from; relative
                paths in that entry (certificate-authority,
                client-certificate, client-key, tokenFile, and an exec
                command containing a "/") are resolved against it.

Supported: server, certificate-authority(-data), insecure-skip-tls-verify,
tls-server-name; token, tokenFile (re-read as it rotates),
client-certificate(-data) + client-key(-data), exec plugins (v1, v1beta1);
a context's namespace. Rejected with a ConfigError naming the field:
proxy-url, auth-provider (removed from kubectl in 1.26: use the cloud's
exec plugin), username/password, impersonation, a server URL with a path,
and ambiguous combinations (exec with a token or client certificate,
insecure-skip-tls-verify with a CA). When both a value and its ``-data``
form are given, the data wins, as in client-go.
"""

from __future__ import annotations

import base64
import binascii
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from watchcache.upstream.config import UpstreamConfig
from watchcache.upstream.credentials import (
    ClientCert,
    Credential,
    CredentialSource,
    StaticCredentials,
    TokenFile,
)
from watchcache.upstream.errors import ConfigError
from watchcache.upstream.exec import EXEC_API_VERSIONS, ExecPlugin, ExecSpec
from watchcache.upstream.tls import TLSConfig

__all__ = ["Kubeconfig", "kubeconfig_paths", "load_kubeconfig"]

_UNSUPPORTED_CLUSTER = {
    "proxy-url": "proxy-url is not supported; reach the server directly",
}
_UNSUPPORTED_USER = {
    "auth-provider": "auth-provider is not supported (kubectl dropped it in 1.26); "
    "use the cloud's exec credential plugin",
    "username": "basic auth (username/password) is not supported",
    "password": "basic auth (username/password) is not supported",
    "as": "impersonation is not supported",
    "as-groups": "impersonation is not supported",
    "as-uid": "impersonation is not supported",
    "as-user-extra": "impersonation is not supported",
}


@dataclass(frozen=True)
class _Entry:
    """One named cluster, user or context and the directory it came from."""

    body: Mapping[str, Any]
    base_dir: Path


@dataclass
class Kubeconfig:
    """Merged kubeconfig files, not yet resolved to one context."""

    paths: tuple[Path, ...]
    clusters: dict[str, _Entry] = field(default_factory=dict)
    users: dict[str, _Entry] = field(default_factory=dict)
    contexts: dict[str, _Entry] = field(default_factory=dict)
    current_context: str = ""

    def __repr__(self) -> str:
        return (
            f"<Kubeconfig {':'.join(map(str, self.paths))} current={self.current_context!r} "
            f"contexts={sorted(self.contexts)}>"
        )

    @classmethod
    def read(cls, paths: Sequence[Path], *, must_exist: bool = False) -> Kubeconfig:
        merged = cls(tuple(paths))
        for path in paths:
            document = _read_document(path, must_exist=must_exist)
            if document is not None:
                merged._merge(document, path.parent)
        return merged

    def _merge(self, document: Mapping[str, Any], base_dir: Path) -> None:
        for key, table in (
            ("clusters", self.clusters),
            ("users", self.users),
            ("contexts", self.contexts),
        ):
            for name, body in _named(document, key):
                table.setdefault(name, _Entry(body, base_dir))
        if not self.current_context:
            self.current_context = str(document.get("current-context") or "")

    def config(
        self,
        context: str | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> UpstreamConfig:
        """The UpstreamConfig of ``context`` (default: current-context)."""
        name = context or self.current_context
        if not name:
            raise ConfigError(f"{self._where()}: no context given and no current-context")
        ctx = _lookup(self.contexts, name, "context", self._where())
        cluster = _lookup(self.clusters, _str(ctx.body, "cluster"), "cluster", self._where())
        user_name = _str(ctx.body, "user")
        user = self.users.get(user_name, _Entry({}, cluster.base_dir)) if user_name else None
        return UpstreamConfig(
            server=_required_str(cluster.body, "server", "cluster"),
            tls=_tls(cluster),
            credentials=_credentials(user, cluster, clock),
            namespace=_str(ctx.body, "namespace") or "default",
            origin=f"kubeconfig {':'.join(map(str, self.paths))} context {name}",
        )

    def _where(self) -> str:
        return f"kubeconfig {':'.join(map(str, self.paths))}"


def kubeconfig_paths(env: Mapping[str, str] | None = None) -> list[Path]:
    """The files kubectl would read: $KUBECONFIG's list, else ~/.kube/config."""
    env = os.environ if env is None else env
    listed = [p for p in env.get("KUBECONFIG", "").split(os.pathsep) if p]
    if not listed:
        return [Path(env.get("HOME", str(Path.home()))) / ".kube" / "config"]
    unique = dict.fromkeys(Path(p).expanduser() for p in listed)
    return list(unique)


def load_kubeconfig(
    path: Path | str | None = None,
    *,
    context: str | None = None,
    env: Mapping[str, str] | None = None,
    clock: Callable[[], float] = time.time,
) -> UpstreamConfig:
    """Load one kubeconfig file (``path``) or kubectl's files, then resolve
    ``context`` (default: current-context) to an UpstreamConfig."""
    if path is not None:
        merged = Kubeconfig.read([Path(path)], must_exist=True)
    else:
        merged = Kubeconfig.read(kubeconfig_paths(env))
    return merged.config(context, clock=clock)


def _read_document(path: Path, *, must_exist: bool) -> Mapping[str, Any] | None:
    try:
        text = path.read_text()
    except FileNotFoundError:
        if must_exist:
            raise ConfigError(f"kubeconfig {path} does not exist") from None
        return None
    except OSError as err:
        raise ConfigError(f"cannot read kubeconfig {path}: {err}") from err
    try:
        document = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as err:
        raise ConfigError(f"kubeconfig {path} is not valid YAML: {err}") from err
    if document is None:
        return None
    if not isinstance(document, dict):
        raise ConfigError(f"kubeconfig {path} is not a mapping")
    return document


# The C loader is several times faster; both are "safe" (no object tags).
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _named(document: Mapping[str, Any], key: str) -> list[tuple[str, Mapping[str, Any]]]:
    """The (name, body) pairs of a kubeconfig list such as ``clusters``."""
    singular = key[:-1]
    items = document.get(key) or []
    if not isinstance(items, list):
        raise ConfigError(f"kubeconfig {key} is not a list")
    pairs: list[tuple[str, Mapping[str, Any]]] = []
    for item in items:
        if not isinstance(item, dict) or not item.get("name"):
            raise ConfigError(f"kubeconfig {key} has an entry without a name")
        body = item.get(singular) or {}
        if not isinstance(body, dict):
            raise ConfigError(f"kubeconfig {singular} {item['name']!r} is not a mapping")
        pairs.append((str(item["name"]), body))
    return pairs


def _lookup(table: Mapping[str, _Entry], name: str, kind: str, where: str) -> _Entry:
    entry = table.get(name)
    if entry is None:
        raise ConfigError(f"{where}: {kind} {name!r} not found")
    return entry


def _str(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    return "" if value is None else str(value)


def _required_str(body: Mapping[str, Any], key: str, kind: str) -> str:
    value = _str(body, key)
    if not value:
        raise ConfigError(f"kubeconfig {kind} has no {key}")
    return value


def _bool(body: Mapping[str, Any], key: str) -> bool:
    value = body.get(key, False)
    if not isinstance(value, bool):
        raise ConfigError(f"kubeconfig {key} must be true or false, not {value!r}")
    return value


def _reject(body: Mapping[str, Any], unsupported: Mapping[str, str]) -> None:
    for key, why in unsupported.items():
        if body.get(key):
            raise ConfigError(f"kubeconfig {key}: {why}")


def _file_or_data(entry: _Entry, file_key: str) -> bytes | None:
    """The bytes of ``<file_key>-data`` (base64) or else of the file named
    by ``<file_key>`` (relative to the entry's base dir); None if neither."""
    data = _str(entry.body, f"{file_key}-data")
    if data:
        try:
            return base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError) as err:
            raise ConfigError(f"kubeconfig {file_key}-data is not base64: {err}") from err
    path = _str(entry.body, file_key)
    if not path:
        return None
    try:
        return _resolve(entry, path).read_bytes()
    except OSError as err:
        raise ConfigError(f"kubeconfig {file_key}: cannot read {path}: {err}") from err


def _resolve(entry: _Entry, path: str) -> Path:
    expanded = Path(path).expanduser()
    return expanded if expanded.is_absolute() else entry.base_dir / expanded


def _tls(cluster: _Entry) -> TLSConfig:
    _reject(cluster.body, _UNSUPPORTED_CLUSTER)
    ca = _file_or_data(cluster, "certificate-authority")
    insecure = _bool(cluster.body, "insecure-skip-tls-verify")
    if insecure and ca is not None:
        raise ConfigError(
            "kubeconfig cluster sets both insecure-skip-tls-verify and a certificate authority"
        )
    return TLSConfig(
        ca_pem=ca,
        insecure_skip_verify=insecure,
        server_name=_str(cluster.body, "tls-server-name") or None,
    )


def _credentials(
    user: _Entry | None, cluster: _Entry, clock: Callable[[], float]
) -> CredentialSource:
    if user is None:
        return StaticCredentials()
    _reject(user.body, _UNSUPPORTED_USER)
    cert = _client_cert(user)
    token, token_file = _str(user.body, "token"), _str(user.body, "tokenFile")
    if user.body.get("exec"):
        if cert is not None or token or token_file:
            raise ConfigError(
                "kubeconfig user sets exec together with a token or client certificate"
            )
        return ExecPlugin(_exec_spec(user, cluster), clock=clock)
    if token_file:
        # As in client-go, a tokenFile wins over an inline token: it is the
        # one that rotates.
        return TokenFile(_resolve(user, token_file), client_cert=cert)
    if token or cert is not None:
        return StaticCredentials(Credential(token=token or None, client_cert=cert))
    return StaticCredentials()


def _client_cert(user: _Entry) -> ClientCert | None:
    cert = _file_or_data(user, "client-certificate")
    key = _file_or_data(user, "client-key")
    if (cert is None) != (key is None):
        raise ConfigError("kubeconfig user sets only one of client-certificate and client-key")
    return ClientCert(cert, key) if cert is not None and key is not None else None


def _exec_spec(user: _Entry, cluster: _Entry) -> ExecSpec:
    body = user.body["exec"]
    if not isinstance(body, dict):
        raise ConfigError("kubeconfig user exec is not a mapping")
    api_version = _str(body, "apiVersion")
    if api_version not in EXEC_API_VERSIONS:
        raise ConfigError(f"kubeconfig exec apiVersion {api_version!r} is not supported")
    if _str(body, "interactiveMode") == "Always":
        raise ConfigError("kubeconfig exec interactiveMode Always needs a terminal; we have none")
    command = _required_str(body, "command", "exec")
    if os.sep in command:
        command = str(_resolve(user, command))
    return ExecSpec(
        api_version=api_version,
        command=command,
        args=tuple(str(a) for a in body.get("args") or ()),
        env=_exec_env(body.get("env") or ()),
        install_hint=_str(body, "installHint"),
        cluster_info=_cluster_info(cluster) if body.get("provideClusterInfo") else None,
    )


def _exec_env(items: Any) -> tuple[tuple[str, str], ...]:
    pairs = []
    for item in items:
        if not isinstance(item, dict) or not item.get("name"):
            raise ConfigError("kubeconfig exec env entries need a name and a value")
        pairs.append((str(item["name"]), _str(item, "value")))
    return tuple(pairs)


def _cluster_info(cluster: _Entry) -> dict[str, Any]:
    """The cluster as KUBERNETES_EXEC_INFO's spec.cluster describes it."""
    info: dict[str, Any] = {"server": _str(cluster.body, "server")}
    ca = _file_or_data(cluster, "certificate-authority")
    if ca is not None:
        info["certificate-authority-data"] = base64.b64encode(ca).decode()
    if cluster.body.get("insecure-skip-tls-verify"):
        info["insecure-skip-tls-verify"] = True
    if cluster.body.get("tls-server-name"):
        info["tls-server-name"] = _str(cluster.body, "tls-server-name")
    return info
