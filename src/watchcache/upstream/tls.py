"""TLS to upstream: the SSL contexts built from a cluster's settings.

Glossary:
    TLSConfig       a cluster's TLS settings as the kubeconfig (or the
                    in-cluster service account) gives them: the CA to trust,
                    whether to skip verification, the name to verify.
    context         an ``ssl.SSLContext`` for one (TLSConfig, client
                    certificate) pair.

Invariants:
    Contexts are cached per client certificate, because an exec plugin may
    hand out a new certificate at any time and each context pins one; the
    cache keeps only the ``MAX_CONTEXTS`` most recent (the oldest is
    dropped when full: a rotated-away certificate is never asked for again).
    No CA given means the system trust store, as kubectl does.
    A client key given as data is written to a private temporary file only
    for the moment ``load_cert_chain`` reads it: Python's ssl module loads
    certificates from files alone.
"""

from __future__ import annotations

import os
import ssl
import tempfile
from collections import OrderedDict
from dataclasses import dataclass

from watchcache.upstream.credentials import ClientCert
from watchcache.upstream.errors import ConfigError

__all__ = ["TLSConfig", "TLSContexts", "build_context"]

MAX_CONTEXTS = 4


@dataclass(frozen=True)
class TLSConfig:
    ca_pem: bytes | None = None
    insecure_skip_verify: bool = False
    # tls-server-name: the name to verify instead of the server URL's host.
    server_name: str | None = None

    def __repr__(self) -> str:
        ca = f"{len(self.ca_pem)} bytes" if self.ca_pem else "system"
        return (
            f"<TLSConfig ca={ca} insecure={self.insecure_skip_verify} "
            f"server_name={self.server_name}>"
        )


def build_context(tls: TLSConfig, client_cert: ClientCert | None) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    if tls.insecure_skip_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif tls.ca_pem is not None:
        _load_ca(context, tls.ca_pem)
    if client_cert is not None:
        _load_client_cert(context, client_cert)
    return context


def _load_ca(context: ssl.SSLContext, pem: bytes) -> None:
    try:
        context.load_verify_locations(cadata=pem.decode("ascii"))
    except (ssl.SSLError, ValueError, UnicodeDecodeError) as err:
        raise ConfigError(f"certificate authority is not valid PEM: {err}") from err


def _load_client_cert(context: ssl.SSLContext, cert: ClientCert) -> None:
    with tempfile.TemporaryDirectory(prefix="watchcache-tls-") as tmp:
        cert_path, key_path = os.path.join(tmp, "tls.crt"), os.path.join(tmp, "tls.key")
        _write_private(cert_path, cert.cert_pem)
        _write_private(key_path, cert.key_pem)
        try:
            context.load_cert_chain(cert_path, key_path)
        except ssl.SSLError as err:
            raise ConfigError(f"client certificate or key is not valid: {err}") from err


def _write_private(path: str, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


class TLSContexts:
    """The contexts for one cluster, one per client certificate in use."""

    def __init__(self, tls: TLSConfig) -> None:
        self.tls = tls
        # Bounded by MAX_CONTEXTS; least recently used dropped when full.
        self._contexts: OrderedDict[ClientCert | None, ssl.SSLContext] = OrderedDict()

    def __repr__(self) -> str:
        return f"<TLSContexts {self.tls!r} cached={len(self._contexts)}>"

    def for_cert(self, client_cert: ClientCert | None) -> ssl.SSLContext:
        context = self._contexts.get(client_cert)
        if context is None:
            context = build_context(self.tls, client_cert)
            self._contexts[client_cert] = context
            if len(self._contexts) > MAX_CONTEXTS:
                self._contexts.popitem(last=False)
        self._contexts.move_to_end(client_cert)
        return context
