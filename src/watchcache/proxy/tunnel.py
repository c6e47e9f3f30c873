"""Relaying an upgraded connection (exec, attach, port-forward) byte for byte.

After upstream's ``101 Switching Protocols`` the proxy sends the same 101
to its client and then copies bytes both ways until either side closes:
client to upstream through a parser hook on aiohttp's connection (aiohttp
hands a connection's bytes to one after an upgrade), upstream to client
through the response. Anything but a 101 is passed on as an ordinary
response, so a 403 or 404 for an exec reaches the client as it was.

Backpressure: when upstream's send buffer holds ``HIGH_WATER`` bytes the
client's socket stops being read until it drains below it, so a fast
client cannot grow the proxy's memory without bound; the other direction
awaits the client's socket after every write.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping

from aiohttp import web

from watchcache.upstream.client import UpstreamClient
from watchcache.upstream.tunnel import open_tunnel

__all__ = ["relay_upgrade"]

HIGH_WATER = 1 << 20
READ_SIZE = 64 * 1024
# The connection's own framing: the client's answer is written for it.
_SKIP_HEADERS = frozenset({"content-length", "transfer-encoding", "date", "server"})


class _ToUpstream:
    """Takes the client's bytes from aiohttp (its ``set_parser`` hook)."""

    def __init__(self, writer: asyncio.StreamWriter, client: asyncio.Transport) -> None:
        self.writer = writer
        self.client = client
        self.ended = asyncio.get_running_loop().create_future()
        self._draining = False

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        if not self.writer.is_closing():
            self.writer.write(data)
            if self.writer.transport.get_write_buffer_size() > HIGH_WATER and not self._draining:
                self._draining = True
                self.client.pause_reading()
                asyncio.get_running_loop().create_task(self._drain())
        return False, b""

    async def _drain(self) -> None:
        with contextlib.suppress(OSError):
            await self.writer.drain()
        self._draining = False
        if not self.client.is_closing():
            self.client.resume_reading()

    def feed_eof(self) -> None:
        if not self.ended.done():
            self.ended.set_result(None)
        if self.writer.can_write_eof() and not self.writer.is_closing():
            with contextlib.suppress(OSError):
                self.writer.write_eof()


async def relay_upgrade(
    request: web.Request,
    client: UpstreamClient,
    headers: Mapping[str, str],
    use_credentials: bool = True,
) -> web.StreamResponse:
    tunnel = await open_tunnel(
        client, request.method, request.path_qs, headers, use_credentials=use_credentials
    )
    answer = [(k, v) for k, v in tunnel.headers if k.lower() not in _SKIP_HEADERS]
    if tunnel.status != 101:
        refused = web.Response(status=tunnel.status, reason=tunnel.reason or None, body=tunnel.body)
        for name, value in answer:
            refused.headers.add(name, value)
        return refused
    response = web.StreamResponse(status=101, reason=tunnel.reason or "Switching Protocols")
    for name, value in answer:
        response.headers.add(name, value)
    response.force_close()
    await response.prepare(request)
    transport = request.transport
    assert isinstance(transport, asyncio.Transport)
    to_upstream = _ToUpstream(tunnel.writer, transport)
    request.protocol.set_parser(to_upstream)  # type: ignore[arg-type]
    try:
        while data := await tunnel.reader.read(READ_SIZE):
            await response.write(data)
    except (OSError, ConnectionError):
        pass
    finally:
        tunnel.close()
        transport.close()
    return response
