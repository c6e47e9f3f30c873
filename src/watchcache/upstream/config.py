"""Where upstream is and how to reach it: the result of loading a config.

Glossary:
    UpstreamConfig  the server URL, its TLS settings, the source of
                    credentials and the default namespace. Built by
                    ``watchcache.upstream.kubeconfig`` or
                    ``watchcache.upstream.incluster``, or by hand in tests;
                    consumed by ``watchcache.upstream.client``.
    unix socket     when set, every connection is made to this Unix
                    socket path instead of the server's host and port;
                    the server URL still names the Host header (a worker
                    process's feed, watchcache.workers).
    origin          a short human description of where the config came
                    from (file and context, or "in-cluster"), for logs and
                    error messages.

Invariant: ``server`` is an absolute http(s) URL without a trailing slash,
so request paths (which start with "/") can be appended to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from watchcache.upstream.credentials import CredentialSource, StaticCredentials
from watchcache.upstream.errors import ConfigError
from watchcache.upstream.tls import TLSConfig

__all__ = ["UpstreamConfig", "normalize_server"]


@dataclass(frozen=True)
class UpstreamConfig:
    server: str
    tls: TLSConfig = field(default_factory=TLSConfig)
    credentials: CredentialSource = field(default_factory=StaticCredentials)
    namespace: str = "default"
    origin: str = "explicit"
    unix_socket: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "server", normalize_server(self.server))

    def __repr__(self) -> str:
        return (
            f"<UpstreamConfig {self.server} from {self.origin} "
            f"credentials={self.credentials!r} {self.tls!r}>"
        )


def normalize_server(server: str) -> str:
    """The server URL with its trailing slashes removed; ConfigError unless
    it is an http(s) URL with a host and no path beyond "/"."""
    parts = urlsplit(server)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"server {server!r} is not an http(s) URL")
    if parts.path.strip("/"):
        # kubectl allows a path prefix; no managed cluster uses one and
        # supporting it would need every forwarded path rewritten.
        raise ConfigError(f"server {server!r} has a path; only a bare host is supported")
    return f"{parts.scheme}://{parts.netloc}"
