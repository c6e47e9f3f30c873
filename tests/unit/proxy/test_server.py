"""The server around the handlers: health, metrics, request ids, listeners,
and an orderly shutdown that drains streams."""

from __future__ import annotations

import argparse
import asyncio
import ssl
from pathlib import Path

import aiohttp
from aiohttp import web
from tests.certificates import issue, make_ca

from watchcache.proxy.app import PARTS, ProxyParts
from watchcache.proxy.config import add_arguments, load_config
from watchcache.proxy.context import REQUEST_CONTEXT
from watchcache.proxy.server import start_proxy


def config_for(*argv: str):  # type: ignore[no-untyped-def]
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return load_config(parser.parse_args(["--listen", "127.0.0.1:0", *argv]), {})


async def echo(request: web.Request) -> web.StreamResponse:
    ctx = request[REQUEST_CONTEXT]
    if request.path == "/stream":
        response = web.StreamResponse()
        await response.prepare(request)
        done = asyncio.Event()
        handle = request.app[PARTS].streams.open(done.set)
        await response.write(b"open\n")
        await done.wait()
        handle.finish()
        await response.write(b"closed\n")
        return response
    return web.json_response(
        {"path": request.path, "id": ctx.request_id, "user": ctx.identity.user}
    )


async def start(tmp_path: Path, *argv: str):  # type: ignore[no-untyped-def]
    parts = ProxyParts(config=config_for("--shutdown-spread", "0", *argv), handle=echo)
    return await start_proxy(parts)


async def test_health_metrics_and_request_ids(tmp_path: Path) -> None:
    proxy = await start(tmp_path)
    base = proxy.urls[0]
    try:
        async with aiohttp.ClientSession() as session:
            for path in ("/healthz", "/livez", "/readyz"):
                async with session.get(base + path) as r:
                    assert (r.status, await r.text()) == (200, "ok")
            async with session.get(base + "/readyz?verbose") as r:
                assert "[+]shutdown ok" in await r.text()
            async with session.get(base + "/api/v1/pods", headers={"X-Request-Id": "abc-1"}) as r:
                body = await r.json()
                assert body["id"] == "abc-1" and body["path"] == "/api/v1/pods"
            async with session.get(
                base + "/x", headers={"X-Request-Id": "bad id with spaces"}
            ) as r:
                assert (await r.json())["id"] != "bad id with spaces"
            async with session.get(base + "/metrics") as r:
                assert r.status == 200
                text = await r.text()
            line = 'watchcache_requests_total{code="200",resource="pods",served_by="local",verb="list"} 1.0'
            assert line in text.splitlines()
    finally:
        await proxy.stop()


async def test_unix_socket_listener(tmp_path: Path) -> None:
    sock = tmp_path / "proxy.sock"
    proxy = await start(tmp_path, "--listen-unix", str(sock))
    try:
        assert f"unix://{sock}" in proxy.urls
        async with aiohttp.ClientSession(
            connector=aiohttp.UnixConnector(path=str(sock))
        ) as session:
            async with session.get("http://localhost/api") as r:
                assert (await r.json())["path"] == "/api"
    finally:
        await proxy.stop()


async def test_shutdown_closes_open_streams_and_readyz_fails_while_draining(tmp_path: Path) -> None:
    proxy = await start(tmp_path)
    base = proxy.urls[0]
    async with aiohttp.ClientSession() as session, session.get(base + "/stream") as r:
        assert await r.content.readline() == b"open\n"
        stopping = asyncio.create_task(proxy.stop())
        # The handler's close callback ran: the stream says so and ends.
        assert await asyncio.wait_for(r.content.readline(), 5) == b"closed\n"
        await asyncio.wait_for(stopping, 10)
    assert proxy.parts.streams.draining


async def test_serves_tls_with_the_configured_certificate(tmp_path: Path) -> None:
    import ssl

    from watchcache.devcluster.pki import make_pki

    pki = make_pki(tmp_path / "pki")  # its serving certificate names 127.0.0.1
    proxy = await start(
        tmp_path,
        "--tls-cert-file",
        str(pki.serving_crt),
        "--tls-private-key-file",
        str(pki.serving_key),
    )
    try:
        assert proxy.urls[0].startswith("https://127.0.0.1:")
        context = ssl.create_default_context(cafile=str(pki.ca_crt))
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context)) as session:
            async with session.get(proxy.urls[0] + "/api") as r:
                assert (await r.json())["path"] == "/api"
        untrusting = ssl.create_default_context()
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=untrusting)) as session:
            try:
                async with session.get(proxy.urls[0] + "/api"):
                    raise AssertionError("a client without the CA was let in")
            except aiohttp.ClientConnectorCertificateError:
                pass
    finally:
        await proxy.stop()


async def test_single_checks_answer_as_kube_apiserver_does(tmp_path: Path) -> None:
    proxy = await start(tmp_path)
    proxy.parts.health.add_readiness("cache-pods", lambda: "not synced yet")
    base = proxy.urls[0]
    try:
        async with aiohttp.ClientSession() as session:
            for path in ("/livez/ping", "/healthz/ping", "/readyz/ping", "/readyz/shutdown"):
                async with session.get(base + path) as r:
                    assert (r.status, await r.text()) == (200, "ok"), path
            async with session.get(base + "/readyz/cache-pods") as r:
                assert (r.status, await r.text()) == (
                    500,
                    "internal server error: not synced yet\n",
                )
            async with session.get(base + "/readyz/no-such-check") as r:
                assert r.status == 404
            async with session.get(base + "/livez/shutdown") as r:
                assert r.status == 404  # readiness checks are not liveness checks
    finally:
        await proxy.stop()


async def test_a_client_ca_without_a_certificate_serves_https_self_signed(tmp_path: Path) -> None:
    ca = make_ca(tmp_path)
    proxy = await start(tmp_path, "--client-ca-file", str(ca.crt))
    assert proxy.urls[0].startswith("https://")
    assert proxy.scratch is not None
    made = Path(proxy.scratch.name)
    try:
        client = issue(ca, tmp_path, "carol", ("readers",))
        tls = ssl.create_default_context()
        tls.check_hostname = False
        tls.verify_mode = ssl.CERT_NONE  # self-signed: nothing to verify it against
        tls.load_cert_chain(client.crt, client.key)
        async with aiohttp.ClientSession() as http:
            async with http.get(proxy.urls[0] + "/x", ssl=tls) as answer:
                assert answer.status == 200
    finally:
        await proxy.stop()
    assert not await asyncio.to_thread(made.exists)
