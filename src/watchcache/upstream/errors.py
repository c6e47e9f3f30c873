"""The one exception hierarchy for everything that goes wrong upstream.

Glossary:
    upstream    the kube-apiserver this process talks to.
    mapped      an aiohttp, ssl, OS or timeout exception turned into one of
                these classes by ``watchcache.upstream.client``, the only
                module that catches them. Callers never see aiohttp's types.

Hierarchy::

    UpstreamError
    ├── ConfigError          a kubeconfig / in-cluster config cannot be used
    ├── CredentialError      a credential could not be obtained (exec plugin
    │                        failed, token file unreadable)
    ├── UnreachableError     no connection: refused, DNS, no route
    ├── TLSError             the TLS handshake failed (unknown CA, name
    │                        mismatch, bad client certificate)
    ├── UpstreamTimeoutError connecting or reading took too long
    ├── DisconnectedError    the connection broke after the request was sent
    │                        (reset mid-body, truncated chunked stream)
    ├── ProtocolError        upstream sent something that is not HTTP/JSON
    │                        as expected, or a line longer than allowed
    └── StatusError          upstream answered a non-2xx status; carries the
                             kube ``Status`` it sent, also as an ApiError

Invariant: ``retry_after`` is set only from an upstream ``Retry-After``
header (429, 503, 504), in whole seconds, so a caller can honour it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from watchcache.api.status import ApiError

__all__ = [
    "ConfigError",
    "CredentialError",
    "DisconnectedError",
    "ProtocolError",
    "StatusError",
    "TLSError",
    "UnreachableError",
    "UpstreamError",
    "UpstreamTimeoutError",
]


class UpstreamError(Exception):
    """Base of every error this package raises."""


class ConfigError(UpstreamError):
    """The configuration names something this client cannot use."""


class CredentialError(UpstreamError):
    """A credential source failed to produce a credential."""


class UnreachableError(UpstreamError):
    """No connection to upstream could be made."""


class TLSError(UpstreamError):
    """The TLS handshake with upstream failed."""


class UpstreamTimeoutError(UpstreamError):
    """Connecting to or reading from upstream took longer than allowed."""


class DisconnectedError(UpstreamError):
    """The connection broke after the request had been sent."""


class ProtocolError(UpstreamError):
    """Upstream's answer could not be understood."""


class StatusError(UpstreamError):
    """Upstream answered with an error status. ``status`` is the kube
    ``Status`` object it sent (or one built from the HTTP code when the body
    was not a Status); ``api_error`` is the same as an ApiError, ready to
    be raised on or rendered by the proxy. ``code``, ``reason``,
    ``message``, ``details`` and ``retry_after`` are its fields."""

    def __init__(self, status: Mapping[str, Any], retry_after: int | None = None) -> None:
        self.status = status
        self.api_error = _api_error(status, retry_after)
        super().__init__(f"{self.code} {self.reason}: {self.message}")

    @property
    def code(self) -> int:
        return self.api_error.code

    @property
    def reason(self) -> str:
        return self.api_error.reason

    @property
    def message(self) -> str:
        return self.api_error.message

    @property
    def details(self) -> dict[str, Any] | None:
        return self.api_error.details

    @property
    def retry_after(self) -> int | None:
        return self.api_error.retry_after


def _api_error(status: Mapping[str, Any], retry_after: int | None) -> ApiError:
    details = status.get("details")
    metadata = status.get("metadata")
    # An expired continue token's 410 carries its replacement here.
    kept = (
        {k: v for k, v in metadata.items() if isinstance(v, str)}
        if isinstance(metadata, dict)
        else {}
    )
    return ApiError(
        int(status.get("code") or 0),
        str(status.get("reason") or ""),
        str(status.get("message") or ""),
        details if isinstance(details, dict) else None,
        retry_after=retry_after,
        metadata=kept,
    )
