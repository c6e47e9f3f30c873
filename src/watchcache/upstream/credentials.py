"""Credentials: what proves who we are to upstream, and when it is re-read.

Glossary:
    credential      one ``Credential``: a bearer token and/or a client
                    certificate, used for one or more requests.
    source          a ``CredentialSource``: hands out the current credential
                    (``get``) and hears that upstream rejected one
                    (``rejected``, after a 401).
    rotation        the credential changing under us: a projected
                    service-account token rewritten by the kubelet, an exec
                    plugin's token expiring.

Sources here: ``StaticCredentials`` (token / client certificate written in
the kubeconfig) and ``TokenFile`` (kubeconfig ``tokenFile`` and in-cluster
service accounts). Exec plugins live in ``watchcache.upstream.exec``.

Invariants:
    ``TokenFile`` re-reads its file at most every ``refresh_seconds`` (60,
    as client-go's cached file token source does) and at once after a 401,
    so a rotated token is picked up within a minute without a read per
    request. A failed re-read keeps the last good token: the kubelet
    rewrites the file atomically, so a read error is transient.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from watchcache.upstream.errors import CredentialError

__all__ = [
    "ClientCert",
    "Credential",
    "CredentialSource",
    "StaticCredentials",
    "TokenFile",
]

# client-go's NewCachedFileTokenSource period.
TOKEN_FILE_REFRESH_SECONDS = 60.0


@dataclass(frozen=True)
class ClientCert:
    """A PEM certificate chain and its private key, as bytes."""

    cert_pem: bytes
    key_pem: bytes

    def __repr__(self) -> str:
        return f"<ClientCert {len(self.cert_pem)} bytes, key redacted>"


@dataclass(frozen=True)
class Credential:
    token: str | None = None
    client_cert: ClientCert | None = None

    def __repr__(self) -> str:
        token = "redacted" if self.token else None
        return f"<Credential token={token} client_cert={self.client_cert is not None}>"

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


class CredentialSource(Protocol):
    async def get(self) -> Credential:
        """The credential to use now; may run a plugin or read a file."""
        ...

    def rejected(self, credential: Credential) -> bool:
        """Upstream answered 401 to ``credential``. Returns whether the next
        ``get`` may give a different one (so a retry is worth it)."""
        ...


class StaticCredentials:
    """A credential fixed in the configuration (or none at all)."""

    def __init__(self, credential: Credential | None = None) -> None:
        self._credential = credential or Credential()

    def __repr__(self) -> str:
        return f"<StaticCredentials {self._credential!r}>"

    async def get(self) -> Credential:
        return self._credential

    def rejected(self, credential: Credential) -> bool:
        return False


class TokenFile:
    """A bearer token read from a file, re-read as it rotates."""

    def __init__(
        self,
        path: Path,
        *,
        client_cert: ClientCert | None = None,
        clock: Callable[[], float] = time.monotonic,
        refresh_seconds: float = TOKEN_FILE_REFRESH_SECONDS,
    ) -> None:
        self.path = path
        self._client_cert = client_cert
        self._clock = clock
        self._refresh = refresh_seconds
        self._credential: Credential | None = None
        # When the file was last read; None forces a read on the next get().
        self._read_at: float | None = None

    def __repr__(self) -> str:
        state = "unread" if self._credential is None else f"read_at={self._read_at}"
        return f"<TokenFile {self.path} {state} refresh={self._refresh}s>"

    async def get(self) -> Credential:
        # A token file is a few hundred bytes on a local (often tmpfs) volume:
        # reading it inline is cheaper than a thread hop.
        if self._stale():
            self._reread()
        assert self._credential is not None
        return self._credential

    def rejected(self, credential: Credential) -> bool:
        self._read_at = None
        return True

    def _stale(self) -> bool:
        return self._read_at is None or self._clock() - self._read_at >= self._refresh

    def _reread(self) -> None:
        token = self._read_token()
        self._read_at = self._clock()
        if token:
            self._credential = Credential(token=token, client_cert=self._client_cert)
        elif self._credential is None:
            raise CredentialError(f"token file {self.path} is empty")

    def _read_token(self) -> str:
        """The file's token, or "" when a re-read fails but an older token
        is still held (the kubelet swaps the file atomically, so a failure
        is transient)."""
        try:
            return self.path.read_text().strip()
        except OSError as err:
            if self._credential is not None:
                return ""
            raise CredentialError(f"cannot read token file {self.path}: {err}") from err
