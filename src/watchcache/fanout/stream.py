"""Serving one watch over HTTP: aiohttp reads the request and sends the
headers, then the connection is handed to the watch's socket and aiohttp
lets go of it.

Why hand it over: aiohttp keeps a request handler, a request, a response,
a parser and a task per open request, about 10 KB of Python heap for a
stream that is idle almost always (measured with 10,000 idle watchers).
A watch needs only its socket, its filter and its buffer. So, once the
initial events are written, ``serve_watch`` makes the watch's socket
(socket.py) the transport's protocol (it notices the client leaving and
hears flow control) and tells aiohttp's handler that its connection is
gone, without closing the socket; the HTTP handler then returns and
everything aiohttp held is freed.

From then on the socket writes complete HTTP/1.1 chunks itself, one
write per batch of events (coalesce.py; aiohttp's ``StreamResponse.write``
costs about 11 us per event here; a batched ``transport.write`` reaches
over 2M deliveries per CPU-second), and ends the response when the watch
closes (socket.py).

What this relies on in aiohttp (tests/unit/fanout/test_stream.py checks
each): ``request.protocol`` is the connection's handler, whose
``connection_lost`` forgets the request and the connection but closes the
transport only through its ``transport`` attribute; and a response whose
``write_eof`` does nothing leaves the stream unterminated.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

from aiohttp import HttpVersion11, web

from watchcache.fanout.coalesce import Coalescer
from watchcache.fanout.filter import WatchFilter
from watchcache.fanout.registry import Registry
from watchcache.fanout.socket import DEFAULT_LIMIT, END_GRACE
from watchcache.fanout.watcher import Watcher

__all__ = ["END_GRACE", "Start", "serve_watch"]


# What a watch starts with: the initial lines and the RV they bring the
# client to. Called at the moment the watcher is registered, with no await
# in between, so no event can fall between the two.
Start = Callable[[], tuple[Iterable[bytes], int]]


class _WatchResponse(web.StreamResponse):
    """A streaming response whose end is written by its watch's socket, not
    by aiohttp: once handed over, ``write_eof`` does nothing."""

    handed_over = False

    async def write_eof(self, data: bytes = b"") -> None:
        if not self.handed_over:
            await super().write_eof(data)


async def serve_watch(
    request: web.Request,
    registry: Registry,
    filter: WatchFilter,
    start: Start,
    *,
    bookmarks: bool = False,
    duration: float | None = None,
    limit: int = DEFAULT_LIMIT,
    headers: dict[str, str] | None = None,
    end_grace: float = END_GRACE,
    started: Callable[[Watcher], object] | None = None,
    windowed: bool = True,
) -> web.StreamResponse:
    """Start a watch and return once it is handed over; it streams on until
    the watcher closes (``duration`` seconds on the registry's clock,
    slowness, shutdown, or the client leaving). ``start()`` gives the
    initial lines (ADDED events of a state, a history replay, or none) and
    the RV they reach; live events newer than that follow. ``started``, if
    given, is called with the watcher as it is registered (its ``closed``
    resolves when the watch ends, after this returns). ``windowed=False``:
    the watch writes at the end of each batch even when the registry has a
    write window (coalesce.py)."""
    response = _WatchResponse(headers={"Content-Type": "application/json", **(headers or {})})
    # HTTP/1.0 has no chunked encoding: as Go's net/http, the body is sent
    # as it is and ends when the connection closes.
    chunked = request.version >= HttpVersion11
    if chunked:
        response.enable_chunked_encoding()
    response.force_close()
    await response.prepare(request)
    transport = request.transport
    if transport is None or transport.is_closing():
        return response
    lines, start_rv = start()
    loop = asyncio.get_running_loop()
    coalescer = registry.coalescer() if windowed else Coalescer.shared(loop)
    watcher = Watcher(
        transport,
        filter,
        start_rv,
        limit=limit,
        bookmarks=bookmarks,
        deadline=None if duration is None else registry.now() + duration,
        replaying=True,
        chunked=chunked,
        end_grace=end_grace,
        coalescer=coalescer,
    )
    registry.add(watcher)
    if started is not None:
        started(watcher)
    try:
        await watcher.socket.write_initial(lines)
    except BaseException:
        watcher.close("cancelled during its initial events")
        raise
    if transport.is_closing():
        watcher.close("client went away")
        return response
    _hand_over(request, response, watcher)
    watcher.finish_replay(start_rv)
    return response


def _hand_over(request: web.Request, response: _WatchResponse, watcher: Watcher) -> None:
    watcher.socket.take_over()
    response.handed_over = True
    handler = request.protocol
    # aiohttp's handler closes its transport on connection_lost only
    # through this attribute: unset, the socket stays ours.
    handler.transport = None
    handler.connection_lost(None)
