"""TLS: CA verification, server names, client certificates, insecure mode,
against a local HTTPS server with a throwaway PKI."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from watchcache.devcluster.pki import Pki, make_pki
from watchcache.upstream import (
    ClientCert,
    ConfigError,
    Credential,
    StaticCredentials,
    TLSConfig,
    TLSError,
    UpstreamClient,
    UpstreamConfig,
)
from watchcache.upstream.tls import MAX_CONTEXTS, TLSContexts, build_context


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def other_pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("other-pki"))


def admin_cert(pki: Pki) -> ClientCert:
    return ClientCert(pki.admin_crt.read_bytes(), pki.admin_key.read_bytes())


@pytest.fixture
async def https_url(pki: Pki) -> AsyncIterator[str]:
    """An HTTPS server that asks for (but does not require) a client
    certificate and says whose it got."""

    async def whoami(request: web.Request) -> web.Response:
        peer = request.transport.get_extra_info("peercert") if request.transport else None
        subject = dict(pair[0] for pair in peer["subject"]) if peer else {}
        return web.json_response({"cn": subject.get("commonName")})

    app = web.Application()
    app.router.add_get("/whoami", whoami)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pki.serving_crt, pki.serving_key)
    context.load_verify_locations(pki.ca_crt)
    context.verify_mode = ssl.CERT_OPTIONAL
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"https://127.0.0.1:{port}"
    await runner.cleanup()


async def whoami(url: str, tls: TLSConfig, cert: ClientCert | None = None) -> object:
    config = UpstreamConfig(
        server=url, tls=tls, credentials=StaticCredentials(Credential(client_cert=cert))
    )
    async with UpstreamClient(config) as client:
        return (await client.list("/whoami"))["cn"]


async def test_trusted_ca(https_url: str, pki: Pki) -> None:
    assert await whoami(https_url, TLSConfig(ca_pem=pki.ca_crt.read_bytes())) is None


async def test_wrong_ca_is_a_clear_tls_error(https_url: str, other_pki: Pki) -> None:
    with pytest.raises(TLSError, match="certificate verify failed"):
        await whoami(https_url, TLSConfig(ca_pem=other_pki.ca_crt.read_bytes()))


async def test_system_trust_store_does_not_know_a_private_ca(https_url: str) -> None:
    with pytest.raises(TLSError):
        await whoami(https_url, TLSConfig())


async def test_insecure_skip_verify(https_url: str) -> None:
    assert await whoami(https_url, TLSConfig(insecure_skip_verify=True)) is None


async def test_client_certificate_is_presented(https_url: str, pki: Pki) -> None:
    tls = TLSConfig(ca_pem=pki.ca_crt.read_bytes())
    assert await whoami(https_url, tls, admin_cert(pki)) == "watchcache-admin-cert"


async def test_tls_server_name(https_url: str, pki: Pki) -> None:
    ca = pki.ca_crt.read_bytes()
    # The serving cert names kubernetes.default.svc; 127.0.0.1 is dialled.
    assert (
        await whoami(https_url, TLSConfig(ca_pem=ca, server_name="kubernetes.default.svc")) is None
    )
    with pytest.raises(TLSError, match=r"wrong\.example"):
        await whoami(https_url, TLSConfig(ca_pem=ca, server_name="wrong.example"))


def test_invalid_pem_is_a_config_error(pki: Pki) -> None:
    with pytest.raises(ConfigError, match="certificate authority"):
        build_context(TLSConfig(ca_pem=b"garbage"), None)
    with pytest.raises(ConfigError, match="client certificate"):
        build_context(TLSConfig(), ClientCert(b"garbage", pki.admin_key.read_bytes()))


def test_contexts_cached_per_certificate_and_bounded(pki: Pki, tmp_path: Path) -> None:
    contexts = TLSContexts(TLSConfig(ca_pem=pki.ca_crt.read_bytes()))
    cert = admin_cert(pki)
    assert contexts.for_cert(cert) is contexts.for_cert(ClientCert(cert.cert_pem, cert.key_pem))
    assert contexts.for_cert(None) is not contexts.for_cert(cert)
    # Rotated certificates: same bytes with a trailing newline each time
    # (PEM parsers ignore it), so each is a distinct cache key.
    for n in range(MAX_CONTEXTS + 3):
        contexts.for_cert(ClientCert(cert.cert_pem + b"\n" * (n + 1), cert.key_pem))
    assert f"cached={MAX_CONTEXTS}" in repr(contexts)
