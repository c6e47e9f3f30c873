"""Client connections: how long one may take to send its request headers,
and how long one may sit idle between requests.

A client that opens a connection and never finishes its request line and
headers holds a descriptor, a protocol and a parser for as long as it
likes (one held 125 s, 3,000 held 40 s; about 20,000 would exhaust the
process's descriptors). kube-apiserver bounds both (k8s.io/apiserver
secure_serving.go since 1.25; 1.20 had neither):

    read-header timeout   32 s ("just shy of requestTimeoutUpperBound"):
                          from accepting a connection (the TLS handshake
                          included), or from the first byte of a later
                          request on it, to the end of its headers
    idle timeout          90 s ("matches http.DefaultTransport keep-alive
                          timeout"): a keep-alive connection waiting for
                          its next request

Both are settings (``--read-header-timeout``, ``--idle-timeout``, whose
defaults are those values: config.py). A
connection past either is closed without an answer, as Go's net/http does.

Where each is enforced:
    * idle: aiohttp's own keep-alive timer (``keepalive_timeout``), which
      closes a connection whose handler is waiting for a complete request;
      it runs from the end of a response, so on a kept-alive connection
      the wait and the next request's headers share it.
    * read-header: ``HeaderDeadline``, a thin protocol in front of
      aiohttp's handler on every accepted connection (plain TCP, TLS and
      Unix sockets, under asyncio's loop or uvloop: it is made by the
      listener's protocol factory, ``deadline_factory``). Its timer starts
      at accept and at the first bytes of each later request, and stops
      when ``headers_arrived`` (a middleware, the first code to run once
      aiohttp has parsed the headers) sees the request. The TLS handshake
      happens before the protocol sees the connection, so the listener's
      ``ssl_handshake_timeout`` is set to the same value.

States of a connection's deadline (invariant: the timer runs exactly in
``READING``):
    READING     headers expected: accepted, or bytes of a next request came
    IN_REQUEST  a request is being handled; bytes that arrive once its
                body is whole belong to a pipelined next request and start
                READING when it ends (bytes of its own body do not: a body
                that comes after its headers, as aiohttp's client and curl
                send it, would otherwise cut the kept-alive connection to
                the read-header timeout, 32 s, instead of the idle one, and
                reset it under a client about to reuse it)
    IDLE        between requests (aiohttp's idle timer governs)
    DETACHED    the connection is gone, or was closed for its deadline

A connection handed over to a watch stream (fanout/stream.py) goes from
IN_REQUEST to IDLE with no timer: its new protocol hears the socket.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Awaitable, Callable
from typing import Protocol, cast

from aiohttp import web

__all__ = ["HeaderDeadline", "deadline_factory", "deadline_of", "headers_arrived"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Body(Protocol):
    """A request's body as it arrives (aiohttp's ``request.content``)."""

    def is_eof(self) -> bool: ...


class _State(enum.Enum):
    READING = "reading"
    IN_REQUEST = "in request"
    IDLE = "idle"
    DETACHED = "detached"


class HeaderDeadline(asyncio.Protocol):
    """Passes everything to aiohttp's handler, and closes the connection if
    a request's headers take longer than ``timeout``."""

    __slots__ = (
        "_body",
        "_early",
        "_handler",
        "_loop",
        "_state",
        "_timeout",
        "_timer",
        "_transport",
    )

    def __init__(
        self, handler: asyncio.Protocol, timeout: float, loop: asyncio.AbstractEventLoop
    ) -> None:
        self._handler = handler
        self._timeout = timeout
        self._loop = loop
        self._state = _State.READING
        self._timer: asyncio.TimerHandle | None = None
        self._transport: asyncio.Transport | None = None
        self._early = False  # bytes arrived during a request (pipelining)
        # The body of the request being handled: bytes arriving before it is
        # whole are its own, not a next request's.
        self._body: Body | None = None

    def __repr__(self) -> str:
        return f"<HeaderDeadline {self._state.value} timeout={self._timeout}s>"

    @property
    def state(self) -> str:
        return self._state.value

    # -- the transport's calls, passed on ------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)
        self._arm()
        self._handler.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self._state is _State.IDLE and data:
            self._arm()  # the first bytes of the next request
        elif (
            self._state is _State.IN_REQUEST
            and data
            and (self._body is None or self._body.is_eof())
        ):
            self._early = True  # its body is whole: a next request's bytes
        self._handler.data_received(data)

    def eof_received(self) -> bool | None:
        return self._handler.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm(_State.DETACHED)
        self._transport = None
        self._handler.connection_lost(exc)

    def pause_writing(self) -> None:
        self._handler.pause_writing()

    def resume_writing(self) -> None:
        self._handler.resume_writing()

    # -- a request's life, told by headers_arrived -----------------------------

    def request_started(self, body: Body | None = None) -> None:
        """A request's headers are in; ``body`` is its body as it arrives
        (None: it has none, or it is whole)."""
        self._early = False
        self._body = body
        self._disarm(_State.IN_REQUEST)

    def request_ended(self) -> None:
        self._body = None
        if self._state is not _State.IN_REQUEST:
            return
        if self._early:  # part of a pipelined request is already here
            self._arm()
        else:
            self._state = _State.IDLE

    # -- the timer -------------------------------------------------------------

    def _arm(self) -> None:
        self._state = _State.READING
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._loop.call_later(self._timeout, self._expired)

    def _disarm(self, state: _State) -> None:
        self._state = state
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expired(self) -> None:
        self._timer = None
        transport = self._transport
        if self._state is not _State.READING or transport is None:
            return
        if transport.get_write_buffer_size():
            # A response is still being written (the next request was
            # pipelined behind it): its headers' time starts once it is out.
            self._arm()
            return
        self._state = _State.DETACHED
        # Nothing is owed to this client: no answer, as Go's net/http, and
        # no TLS close_notify exchange that a silent peer could stall.
        transport.abort()


def deadline_factory(
    make_handler: Callable[[], asyncio.Protocol], timeout: float
) -> Callable[[], asyncio.Protocol]:
    """A protocol factory for a listener: aiohttp's handler behind a
    ``HeaderDeadline``; ``timeout`` <= 0 leaves the handler bare."""
    if timeout <= 0:
        return make_handler

    def make() -> asyncio.Protocol:
        return HeaderDeadline(make_handler(), timeout, asyncio.get_running_loop())

    return make


def deadline_of(request: web.BaseRequest) -> HeaderDeadline | None:
    """The deadline in front of this request's connection, if any (none in
    tests that serve without one, or once the connection is handed over)."""
    transport = request.transport
    protocol = transport.get_protocol() if transport is not None else None
    return protocol if isinstance(protocol, HeaderDeadline) else None


@web.middleware
async def headers_arrived(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The request's headers are in: stop its connection's header timer
    until the request has been handled."""
    deadline = deadline_of(request)
    if deadline is None:
        return await handler(request)
    deadline.request_started(request.content)
    try:
        return await handler(request)
    finally:
        deadline.request_ended()
