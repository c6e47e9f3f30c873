from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from tests.certificates import issue, make_ca

from watchcache.auth.clientcert import UnverifiedCertificate
from watchcache.auth.serving import ServingTLS, host_filter, host_of, self_signed
from watchcache.proxy.context import status_response


async def _handshake(port: int, context: ssl.SSLContext) -> tuple[str, Any]:
    """The server certificate's CN, and the subject the server saw of ours."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
    peer = writer.get_extra_info("ssl_object").getpeercert()
    seen = await reader.readline()
    writer.close()
    cn = dict(x[0] for x in peer["subject"])["commonName"]
    return cn, json.loads(seen)


async def _server(tls: ServingTLS) -> tuple[asyncio.Server, int]:
    """Answers who the client's certificate names once verified (the user
    and groups), why it names no one, or null when it sent none."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
        seen: Any = None
        if der is not None:
            try:
                identity = tls.certificates.identify(der)
                seen = [identity.user, *identity.groups] if identity else "no one"
            except UnverifiedCertificate as err:
                seen = str(err)
        writer.write(json.dumps(seen).encode() + b"\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=tls.context)
    return server, server.sockets[0].getsockname()[1]


def _client(ca: Path, cert: Path | None = None, key: Path | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca))
    if cert and key:
        context.load_cert_chain(cert, key)
    return context


async def test_a_changed_certificate_is_served_to_new_connections(tmp_path: Path) -> None:
    ca = make_ca(tmp_path)
    first = issue(ca, tmp_path, "first", client=False)
    second = issue(ca, tmp_path, "second", client=False)
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    cert.write_bytes(first.crt.read_bytes())
    key.write_bytes(first.key.read_bytes())
    tls = ServingTLS(str(cert), str(key))
    server, port = await _server(tls)
    async with server:
        assert (await _handshake(port, _client(ca.crt)))[0] == "first"
        assert not tls.reload_if_changed()
        # Half a rotation (the certificate written, not yet its key): kept.
        cert.write_bytes(second.crt.read_bytes())
        assert not tls.reload_if_changed()
        assert (await _handshake(port, _client(ca.crt)))[0] == "first"
        key.write_bytes(second.key.read_bytes())
        assert tls.reload_if_changed()
        assert (await _handshake(port, _client(ca.crt)))[0] == "second"
        assert tls.reloads == 1


async def test_client_certificates_of_the_client_ca_reach_the_request(tmp_path: Path) -> None:
    ca = make_ca(tmp_path)
    server_cert = issue(ca, tmp_path, "server", client=False)
    carol = issue(ca, tmp_path, "carol", ("readers",))
    tls = ServingTLS(str(server_cert.crt), str(server_cert.key), str(ca.crt))
    server, port = await _server(tls)
    async with server:
        _, seen = await _handshake(port, _client(ca.crt, carol.crt, carol.key))
        assert seen == ["carol", "readers", "system:authenticated"]
        # A client without a certificate is let in (as a token or anonymous).
        assert (await _handshake(port, _client(ca.crt)))[1] is None
        # One from another CA too, as kube-apiserver lets it in, but its
        # certificate names no one (401 unless a token names someone).
        stranger = issue(make_ca(tmp_path, "other-ca"), tmp_path, "mallory")
        _, seen = await _handshake(port, _client(ca.crt, stranger.crt, stranger.key))
        assert seen == "x509: certificate signed by unknown authority"


async def test_a_replaced_client_ca_stops_trusting_the_old_one(tmp_path: Path) -> None:
    old, new = make_ca(tmp_path, "old-ca"), make_ca(tmp_path, "new-ca")
    server_cert = issue(old, tmp_path, "server", client=False)
    client_ca = tmp_path / "client-ca.crt"
    client_ca.write_bytes(old.crt.read_bytes())
    tls = ServingTLS(str(server_cert.crt), str(server_cert.key), str(client_ca))
    alice = issue(old, tmp_path, "alice")
    server, port = await _server(tls)
    async with server:
        assert (await _handshake(port, _client(old.crt, alice.crt, alice.key)))[1][0] == "alice"
        client_ca.write_bytes(new.crt.read_bytes())
        assert tls.reload_if_changed()
        _, seen = await _handshake(port, _client(old.crt, alice.crt, alice.key))
        assert seen == "x509: certificate signed by unknown authority"


def test_a_self_signed_certificate_serves_its_hosts(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path, ["0.0.0.0", "proxy.example"])
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    text = Path(cert).read_text()
    assert text.startswith("-----BEGIN CERTIFICATE-----")
    assert oct(Path(key).stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize(
    ("header", "host"),
    [
        ("localhost:8001", "localhost"),
        ("127.0.0.1", "127.0.0.1"),
        ("[::1]:8001", "[::1]"),
        ("[::1]", "[::1]"),
        ("evil.example.com:8001", "evil.example.com"),
    ],
)
def test_host_of_drops_the_port_and_keeps_ipv6_brackets(header: str, host: str) -> None:
    assert host_of(header) == host


@pytest.fixture
async def filtered() -> AsyncIterator[str]:
    patterns = (r"^localhost$", r"^127\.0\.0\.1$", r"^\[::1\]$")
    app = web.Application(middlewares=[host_filter(patterns, status_response)])

    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app.router.add_get("/", ok)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield site.name
    await runner.cleanup()


@pytest.mark.parametrize(
    ("host", "code"),
    [("localhost:1", 200), ("127.0.0.1", 200), ("[::1]:8001", 200), ("evil.example.com", 403)],
)
async def test_dns_rebinding_gets_403_with_a_status(filtered: str, host: str, code: int) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(filtered, headers={"Host": host}) as answer:
            assert answer.status == code
            if code == 403:
                assert await answer.json() == {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "metadata": {},
                    "status": "Failure",
                    "message": "host 'evil.example.com' is not allowed: it matches no "
                    "--accept-hosts pattern",
                    "reason": "Forbidden",
                    "code": 403,
                }
