"""In-cluster config: a pod reaching its own cluster's kube-apiserver.

Glossary:
    service-account dir   /var/run/secrets/kubernetes.io/serviceaccount,
                          where the kubelet mounts ``token`` (a projected
                          token it rewrites before expiry, about hourly),
                          ``ca.crt`` and ``namespace``. Injectable for tests.
    service env           KUBERNETES_SERVICE_HOST and
                          KUBERNETES_SERVICE_PORT, set in every pod.

Invariants (as client-go's InClusterConfig):
    Both service variables must be set, else NotInClusterError.
    The token is a TokenFile: re-read at most every 60 s and after a 401,
    so rotation is picked up without a restart.
    A missing ca.crt falls back to the system trust store; a missing
    namespace file means "default".
"""

from __future__ import annotations

import ipaddress
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from watchcache.upstream.config import UpstreamConfig
from watchcache.upstream.credentials import TokenFile
from watchcache.upstream.errors import ConfigError
from watchcache.upstream.tls import TLSConfig

__all__ = ["SERVICE_ACCOUNT_DIR", "NotInClusterError", "load_incluster"]

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


class NotInClusterError(ConfigError):
    """The process is not running in a pod (no service env)."""


def load_incluster(
    *,
    env: Mapping[str, str] | None = None,
    service_account_dir: Path = SERVICE_ACCOUNT_DIR,
    clock: Callable[[], float] = time.monotonic,
) -> UpstreamConfig:
    env = os.environ if env is None else env
    host, port = env.get("KUBERNETES_SERVICE_HOST"), env.get("KUBERNETES_SERVICE_PORT")
    if not host or not port:
        raise NotInClusterError(
            "not in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set"
        )
    token = TokenFile(service_account_dir / "token", clock=clock)
    # Fail now, not on the first request, when the token is not mounted.
    if not token.path.is_file():
        raise ConfigError(f"in-cluster service account token {token.path} is missing")
    namespace = _read_optional(service_account_dir / "namespace") or b""
    return UpstreamConfig(
        server=f"https://{_host_port(host, port)}",
        tls=TLSConfig(ca_pem=_read_optional(service_account_dir / "ca.crt")),
        credentials=token,
        namespace=namespace.decode().strip() or "default",
        origin="in-cluster",
    )


def _host_port(host: str, port: str) -> str:
    """host:port, with an IPv6 address bracketed (a dual-stack cluster's
    service host may be one)."""
    try:
        if isinstance(ipaddress.ip_address(host), ipaddress.IPv6Address):
            return f"[{host}]:{port}"
    except ValueError:
        pass  # a name, not an address
    return f"{host}:{port}"


def _read_optional(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as err:
        raise ConfigError(f"cannot read {path}: {err}") from err
