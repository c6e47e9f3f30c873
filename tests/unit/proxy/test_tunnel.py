"""exec/attach/port-forward style upgrades through the proxy, over SPDY-like
raw streams and real WebSockets, against upstreams the tests stand up."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from tests.inprocess import serve_config

from watchcache.proxy.config import ServeConfig
from watchcache.proxy.serve import open_proxy
from watchcache.upstream import Credential, StaticCredentials, UpstreamConfig


def settings() -> ServeConfig:
    return serve_config("--resources", "")


def upstream(url: str) -> UpstreamConfig:
    return UpstreamConfig(url, credentials=StaticCredentials(Credential(token="proxy-token")))


class SpdyLike:
    """Answers an upgrade with 101, then echoes bytes upper-cased."""

    def __init__(self) -> None:
        self.heads: list[str] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        self.heads.append(head)
        if "/forbidden" in head:
            body = json.dumps({"kind": "Status", "code": 403, "reason": "Forbidden"}).encode()
            writer.write(
                b"HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%b"
                % (len(body), body)
            )
            writer.close()
            return
        writer.write(
            b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
            b"X-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n"
        )
        while data := await reader.read(65536):
            writer.write(data.upper())
            await writer.drain()
        writer.close()


@pytest.fixture
async def spdy() -> AsyncIterator[tuple[SpdyLike, str]]:
    server_side = SpdyLike()
    server = await asyncio.start_server(server_side.handle, "127.0.0.1", 0)
    yield server_side, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    server.close()


async def upgrade(
    proxy_url: str, path: str
) -> tuple[str, asyncio.StreamReader, asyncio.StreamWriter]:
    host, port = proxy_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        f"POST {path} HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
        "X-Stream-Protocol-Version: v4.channel.k8s.io\r\nAuthorization: Bearer callers\r\n"
        "Content-Length: 0\r\n\r\n".encode()
    )
    head = (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)).decode()
    return head, reader, writer


async def refusal(head: str, reader: asyncio.StreamReader) -> dict[str, object]:
    """The JSON body of an upgrade answered without switching (``head`` its
    status line and headers), read by its Content-Length."""
    length = int(
        next(
            line.split(":")[1]
            for line in head.split("\r\n")
            if line.lower().startswith("content-length")
        )
    )
    body: dict[str, object] = json.loads(await reader.readexactly(length))
    return body


async def test_spdy_upgrade_relays_bytes_both_ways(spdy: tuple[SpdyLike, str]) -> None:
    upstream_side, url = spdy
    async with open_proxy(settings(), upstream(url)) as proxy:
        head, reader, writer = await upgrade(
            proxy.urls[0], "/api/v1/namespaces/ns/pods/p/exec?command=sh&stdin=true"
        )
        assert head.startswith("HTTP/1.1 101")
        assert "X-Stream-Protocol-Version: v4.channel.k8s.io" in head
        writer.write(b"hello")
        assert await asyncio.wait_for(reader.readexactly(5), 5) == b"HELLO"
        big = b"x" * (3 << 20)  # past the relay's high-water mark
        writer.write(big)
        assert await asyncio.wait_for(reader.readexactly(len(big)), 20) == big.upper()
        writer.close()
    sent = upstream_side.heads[0]
    assert sent.startswith("POST /api/v1/namespaces/ns/pods/p/exec?command=sh&stdin=true HTTP/1.1")
    assert "Authorization: Bearer proxy-token" in sent and "Bearer callers" not in sent
    assert "Upgrade: SPDY/3.1" in sent


async def test_a_refused_upgrade_is_passed_on(spdy: tuple[SpdyLike, str]) -> None:
    _, url = spdy
    async with open_proxy(settings(), upstream(url)) as proxy:
        head, reader, writer = await upgrade(proxy.urls[0], "/forbidden")
        assert head.startswith("HTTP/1.1 403")
        assert (await refusal(head, reader))["reason"] == "Forbidden"
        writer.close()


async def test_websocket_through_the_proxy() -> None:
    async def echo(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(protocols=("v4.channel.k8s.io",))
        await ws.prepare(request)
        async for message in ws:
            await ws.send_bytes(b"\x01" + message.data[1:])
        return ws

    app = web.Application()
    app.router.add_get("/api/v1/namespaces/ns/pods/p/exec", echo)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    try:
        async with open_proxy(settings(), upstream(url)) as proxy, aiohttp.ClientSession() as s:
            async with s.ws_connect(
                proxy.urls[0] + "/api/v1/namespaces/ns/pods/p/exec?command=ls",
                protocols=("v4.channel.k8s.io",),
            ) as ws:
                assert ws.protocol == "v4.channel.k8s.io"
                await ws.send_bytes(b"\x00ls -l")
                reply = await asyncio.wait_for(ws.receive(), 5)
                assert reply.data == b"\x01ls -l"
    finally:
        await runner.cleanup()


async def test_an_unreachable_upstream_for_an_upgrade_is_a_503() -> None:
    async with open_proxy(settings(), upstream("http://127.0.0.1:9")) as proxy:
        head, reader, writer = await upgrade(proxy.urls[0], "/api/v1/namespaces/ns/pods/p/exec")
        assert head.startswith("HTTP/1.1 503")
        assert (await refusal(head, reader))["reason"] == "ServiceUnavailable"
        writer.close()
