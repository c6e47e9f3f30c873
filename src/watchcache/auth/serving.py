"""Serving security: the listeners' TLS, and the Host check on plain HTTP.

Glossary:
    serving certificate   ``--tls-cert-file`` and ``--tls-private-key-file``,
                          or, without them, a self-signed certificate made
                          at start for development (``self_signed``)
    client CA             ``--client-ca-file``: the handshake asks for a
                          client certificate and takes any (checking only
                          that the client holds its key); the
                          authenticator verifies it against this file
                          (clientcert.py), as kube-apiserver does, so an
                          untrusted one gets 401, not a failed handshake.
                          A connection may present none
    live context          the SSLContext new handshakes use. The listeners
                          hold one outer context whose SNI callback (called
                          for every handshake, with or without SNI) hands
                          each connection the live one, so a reload swaps
                          certificate, key and CA whole, for new
                          connections only; open ones keep theirs
    accept-hosts          on plain HTTP (loopback only), regular expressions
                          one of which the Host header (its port removed)
                          must match: a web page that resolves its own name
                          to 127.0.0.1 (DNS rebinding) sends its own name
                          and gets 403

Accepting any certificate in the handshake: Python 3.11's ssl has no
verify callback, so ``_accept_any_certificate`` sets OpenSSL's own
(``SSL_CTX_set_cert_verify_callback``, answering "verified") on the
context through ctypes. Where that cannot be done (another ssl build), the
handshake verifies against the client CA as before and an untrusted
certificate fails it, with a warning at start.

Invariants: a reload that cannot load the files (one written but not the
other yet, a key that does not match) keeps the live context and is tried
again at the next check; the files are compared by content, so a rewrite
with the same bytes reloads nothing.
"""

from __future__ import annotations

import _ssl
import asyncio
import ctypes
import datetime
import ipaddress
import logging
import re
import ssl
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Middleware

from watchcache.api.status import ApiError
from watchcache.auth.clientcert import ClientCertificates

__all__ = [
    "RELOAD_INTERVAL",
    "ServingTLS",
    "host_filter",
    "host_of",
    "self_signed",
]

log = logging.getLogger(__name__)

# How often the certificate files are compared with what is loaded:
# kube-apiserver's dynamic serving certificates are checked once a minute.
RELOAD_INTERVAL = 60.0


class ServingTLS:
    """The listeners' TLS, reloaded when its files change; ``certificates``
    (the authenticator's verifier) trusts the client CA loaded with it."""

    def __init__(
        self,
        cert: str,
        key: str,
        client_ca: str | None = None,
        certificates: ClientCertificates | None = None,
    ) -> None:
        self._files = tuple(Path(p) for p in (cert, key, client_ca) if p)
        self._client_ca = client_ca
        self.certificates = certificates or ClientCertificates()
        self._loaded = self._read()
        self._live = self._build()
        self._trust(self._loaded)
        self.reloads = 0
        # The listeners' context: the same settings, and the callback that
        # hands every new connection the live context.
        self.context = self._build()
        self.context.sni_callback = self._choose

    def __repr__(self) -> str:
        return f"<ServingTLS {self._files[0]} client_ca={self._client_ca} reloads={self.reloads}>"

    def _read(self) -> tuple[bytes, ...]:
        return tuple(path.read_bytes() for path in self._files)

    def _build(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self._files[0], self._files[1])
        if self._client_ca:
            context.load_verify_locations(self._client_ca)
            context.verify_mode = ssl.CERT_OPTIONAL
            _accept_any_certificate(context)
        return context

    def _trust(self, contents: tuple[bytes, ...]) -> None:
        if self._client_ca:
            self.certificates.load(contents[2])

    def _choose(self, connection: ssl.SSLObject, server_name: str | None, _: object) -> None:
        connection.context = self._live

    def reload_if_changed(self) -> bool:
        """Load the files again if any changed; True when the live context
        was replaced."""
        try:
            contents = self._read()
            if contents == self._loaded:
                return False
            live = self._build()
        except (OSError, ssl.SSLError, ValueError) as err:
            log.warning("serving certificate not reloaded, keeping the current one: %s", err)
            return False
        try:
            self._trust(contents)
        except ValueError as err:
            log.warning("client CA not reloaded, keeping the current one: %s", err)
            return False
        self._live, self._loaded = live, contents
        self.reloads += 1
        log.info("serving certificate reloaded from %s", ", ".join(map(str, self._files)))
        return True

    async def watch(self, interval: float = RELOAD_INTERVAL) -> None:
        """Check the files every ``interval`` until cancelled."""
        while True:
            await asyncio.sleep(interval)
            self.reload_if_changed()


# int verify(X509_STORE_CTX *, void *arg): 1 is "verified".
_VERIFY_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)


def _verified(store: int | None, arg: int | None) -> int:
    return 1


_any_certificate = _VERIFY_CALLBACK(_verified)


def _set_verify_callback() -> Callable[[ssl.SSLContext], None] | None:
    """OpenSSL's SSL_CTX_set_cert_verify_callback, from the library Python's
    _ssl is linked with, applied to an SSLContext (whose SSL_CTX pointer is
    the first field after the object header, in CPython 3.8 to 3.13)."""
    if sys.implementation.name != "cpython" or not (3, 8) <= sys.version_info[:2] <= (3, 13):
        return None  # a layout not known to hold: keep the verifying handshake
    try:
        library = ctypes.CDLL(_ssl.__file__)
        function = library.SSL_CTX_set_cert_verify_callback
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_void_p, _VERIFY_CALLBACK, ctypes.c_void_p]
    function.restype = None
    header = object.__basicsize__

    def apply(context: ssl.SSLContext) -> None:
        ssl_ctx = ctypes.c_void_p.from_address(id(context) + header).value
        if not ssl_ctx:
            raise RuntimeError("an SSLContext without its SSL_CTX")
        function(ssl_ctx, _any_certificate, None)

    return apply


_SET_VERIFY_CALLBACK = _set_verify_callback()


def _accept_any_certificate(context: ssl.SSLContext) -> None:
    if _SET_VERIFY_CALLBACK is None:
        log.warning(
            "this Python's ssl cannot take client certificates unverified: one from "
            "another CA fails the handshake instead of getting 401"
        )
        return
    _SET_VERIFY_CALLBACK(context)


def self_signed(directory: Path, hosts: Sequence[str]) -> tuple[str, str]:
    """A self-signed certificate and its key for ``hosts`` (names and IP
    addresses, plus localhost and 127.0.0.1), valid for a year, written
    into ``directory``; their paths. For development only: clients must
    skip verification or trust this very certificate."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for host in dict.fromkeys((*hosts, "localhost", "127.0.0.1")):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "watchcache self-signed")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path = directory / "watchcache-self-signed.crt"
    key_path = directory / "watchcache-self-signed.key"
    key_path.touch(mode=0o600)
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return str(cert_path), str(key_path)


_PORT = re.compile(r":\d*$")


def host_of(header: str) -> str:
    """The Host header without its port; an IPv6 literal keeps its
    brackets (``[::1]``), so kubectl proxy's default patterns match it
    with and without a port."""
    if header.startswith("["):
        end = header.find("]")
        return header[: end + 1] if end > 0 else header
    return _PORT.sub("", header)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def host_filter(
    patterns: Sequence[str], render: Callable[[ApiError], web.StreamResponse]
) -> Middleware:
    """Middleware refusing, with 403 and a Status, a plain-HTTP TCP request
    whose Host matches none of ``patterns``. Unix-socket requests pass
    (no web page can reach a socket file)."""
    compiled = [re.compile(p) for p in patterns]

    @web.middleware
    async def check_host(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.transport is not None and _is_tcp(request):
            host = host_of(request.headers.get("Host", ""))
            if not any(p.search(host) for p in compiled):
                message = f"host {host!r} is not allowed: it matches no --accept-hosts pattern"
                return render(ApiError(403, "Forbidden", message))
        return await handler(request)

    return check_host


def _is_tcp(request: web.Request) -> bool:
    peer = request.transport.get_extra_info("peername") if request.transport else None
    return isinstance(peer, tuple)
