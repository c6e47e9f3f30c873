"""Forwarding a request upstream unchanged, and its answer back.

Which upstream: reads (GET, HEAD, OPTIONS without a connection upgrade) go
to the read upstream, which may be another watchcache in a read tier;
everything else (writes, subresource POSTs, upgrades for exec, attach and
port-forward) goes to the write upstream, normally kube-apiserver itself.

What is changed on the way, and why:
    dropped  hop-by-hop headers (the upstream client drops them both ways)
    who      the request is made as its requester (the identity
             context.py decided; watchcache.auth.identity.Via):
             a bearer token goes on unchanged, without the proxy's own
             credentials, with the Impersonate-* headers the requester
             sent (already allowed by an impersonate review; upstream
             checks them again for the same token); an anonymous request
             goes with no credentials at all; a client-certificate user
             is impersonated with the proxy's credentials (Impersonate-User,
             -Group, -Uid, -Extra-*), the requester's own Impersonate-*
             headers dropped (the identity already is the impersonated
             one). With ``--auth=none`` (Via.PROXY) the caller's
             Authorization and Impersonate-* headers are dropped and the
             proxy's credentials used: a caller must not borrow the proxy's
             right to impersonate
    kept     everything else: Accept (content negotiation: JSON, protobuf,
             Table), Accept-Encoding and Content-Encoding (gzip passes
             through still compressed), Content-Type, User-Agent, query

Bodies stream both ways in chunks as they arrive, never buffered whole;
a watch is relayed chunk by chunk and registered with the stream tracker
so shutdown can close it. Failures before upstream answered become a
``Status`` (503 unreachable or TLS, 504 timeout, 502-like cases as 503);
after the answer began, a broken upstream ends a stream (the client
resumes a watch) and drops the client's connection under any other answer
(its body is incomplete, and must not be taken for whole).

Streams (a watch, a followed log) take their upstream connection from the
upstream client's stream pool, short requests from its own pool, so no
number of open watches delays a GET (upstream/client.py says why two
HTTP/1.1 pools rather than one HTTP/2 connection).

Glossary:
    departure   the client's connection closing while its forwarded
                request is in flight. ``ClientDeparture`` notices it the
                moment the socket closes, not at the next write: for the
                request's duration it stands in front of aiohttp's protocol
                on the transport, passes everything on to it, and on
                ``connection_lost`` ends the upstream side at once (cancels
                the wait for upstream's answer, or drops the upstream
                connection of a stream being relayed), so a quiet watch
                does not hold an upstream watch open after its client left.

Invariants: a departure is not an error. It is logged at debug without a
traceback, marked on the request context (the access log line and the
``watchcache_client_disconnects_total`` metric, whose ``code`` is what was
sent before it, ``0`` for nothing, as kube-apiserver counts a request that
wrote nothing), and never counted as a 500.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import cast

from aiohttp import web
from multidict import CIMultiDict

from watchcache.api.status import ApiError, service_unavailable, timeout
from watchcache.auth import Via, impersonation_headers, is_impersonation_header
from watchcache.proxy.context import REQUEST_CONTEXT, status_response
from watchcache.proxy.drain import StreamTracker
from watchcache.proxy.metrics import ProxyMetrics
from watchcache.proxy.requestinfo import request_info
from watchcache.proxy.tunnel import relay_upgrade
from watchcache.upstream import (
    DisconnectedError,
    ForwardResponse,
    TLSError,
    UnreachableError,
    UpstreamClient,
    UpstreamError,
    UpstreamTimeoutError,
)

__all__ = ["Forwarder", "status_response"]

log = logging.getLogger(__name__)

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Request bodies are passed on in pieces of at most this size.
BODY_CHUNK = 64 * 1024


def _is_upgrade(request: web.Request) -> bool:
    return "upgrade" in request.headers.get("Connection", "").lower()


class ClientDeparture(asyncio.Protocol):
    """Stands in front of aiohttp's protocol on a request's connection
    while the request is forwarded (module docstring: departure). Use as a
    context manager; ``on_departure`` sets what to do when the client
    leaves (the latest call wins)."""

    def __init__(self, request: web.Request) -> None:
        self._transport = request.transport
        # aiohttp's protocol, while this one stands in front of it.
        self._inner: asyncio.Protocol | None = None
        self._action: Callable[[], object] | None = None
        self.departed = self._transport is None or self._transport.is_closing()

    def __enter__(self) -> ClientDeparture:
        if self._transport is not None and not self.departed:
            self._inner = cast(asyncio.Protocol, self._transport.get_protocol())
            self._transport.set_protocol(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._inner is not None and self._transport is not None:
            if self._transport.get_protocol() is self:
                self._transport.set_protocol(self._inner)
            self._inner = None
        self._action = None

    def on_departure(self, action: Callable[[], object]) -> None:
        self._action = action
        if self.departed:
            action()

    # asyncio.Protocol: everything goes on to aiohttp's protocol.
    def data_received(self, data: bytes) -> None:
        if self._inner is not None:
            self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received() if self._inner is not None else None

    def pause_writing(self) -> None:
        if self._inner is not None:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._inner is not None:
            self._inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        inner, self._inner = self._inner, None
        self.departed = True
        if inner is not None:
            inner.connection_lost(exc)
        if self._action is not None:
            self._action()


class Forwarder:
    """The handler for everything the cache does not answer."""

    def __init__(
        self,
        read: UpstreamClient,
        write: UpstreamClient,
        streams: StreamTracker,
        metrics: ProxyMetrics,
        *,
        answer_timeout: float = 60.0,
    ) -> None:
        self.read = read
        self.write = write
        self.streams = streams
        self.metrics = metrics
        # How long upstream may take to start answering anything but a
        # watch (a watch may rightly be quiet for minutes).
        self.answer_timeout = answer_timeout

    def __repr__(self) -> str:
        return f"<Forwarder read={self.read.config.server} write={self.write.config.server}>"

    def _labels(self, request: web.Request) -> tuple[str, str]:
        info = request_info(request)
        return info.verb, self.metrics.resource_label(info.resource)

    def upstream_for(self, request: web.Request) -> UpstreamClient:
        if request.method in READ_METHODS and not _is_upgrade(request):
            return self.read
        return self.write

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        request[REQUEST_CONTEXT].served_by = "upstream"
        client = self.upstream_for(request)
        headers, own_credentials = _as_requester(request)
        if _is_upgrade(request):
            try:
                return await relay_upgrade(request, client, headers, own_credentials)
            except UpstreamError as err:
                self.metrics.upstream_errors.labels(type(err).__name__).inc()
                return status_response(_as_status(err, client))
        body = _body(request) if request.body_exists else None
        stream = request_info(request).stream
        with ClientDeparture(request) as departure:
            answer = await self._ask(
                request, client, headers, body, stream, departure, own_credentials, request.query
            )
            if isinstance(answer, web.StreamResponse):
                return answer
            async with answer:
                # The client leaving now drops the upstream connection: the
                # relay's read ends at once, however quiet upstream is.
                departure.on_departure(answer.close)
                return await self._relay(request, answer, stream, departure)

    @contextlib.asynccontextmanager
    async def asking(
        self, request: web.Request, query: Mapping[str, str], headers: Mapping[str, str]
    ) -> AsyncIterator[ForwardResponse | web.StreamResponse]:
        """Upstream's answer to this read (a GET, no body, not a stream)
        with ``query`` instead of its own and ``headers`` set over its own,
        for the caller to read and answer from itself (shareforward.py);
        or the response to send instead (a Status for a failure). The same
        requester as ``__call__``'s, the same departure handling: the
        client leaving drops the upstream connection, and a read of its
        body ends (DisconnectedError)."""
        client = self.upstream_for(request)
        sent, own_credentials = _as_requester(request)
        for name, value in headers.items():
            sent[name] = value
        with ClientDeparture(request) as departure:
            answer = await self._ask(
                request, client, sent, None, False, departure, own_credentials, query
            )
            if isinstance(answer, web.StreamResponse):
                yield answer
                return
            try:
                async with answer:
                    departure.on_departure(answer.close)
                    yield answer
            finally:
                if departure.departed:
                    self._departed(request, "while its answer was read")

    async def _ask(
        self,
        request: web.Request,
        client: UpstreamClient,
        headers: CIMultiDict[str],
        body: AsyncIterator[bytes] | None,
        stream: bool,
        departure: ClientDeparture,
        own_credentials: bool,
        query: Mapping[str, str],
    ) -> ForwardResponse | web.StreamResponse:
        """Upstream's answer, or the response to send instead (a Status
        for a failure, an empty one if the client left meanwhile)."""
        started = time.monotonic()
        patience = None if stream else self.answer_timeout
        asking = asyncio.ensure_future(
            client.forward(
                request.method,
                request.path,
                query,
                headers,
                body,
                stream=stream,
                use_credentials=own_credentials,
            )
        )
        departure.on_departure(asking.cancel)
        try:
            async with asyncio.timeout(patience):
                return await asking
        except asyncio.CancelledError:
            this = asyncio.current_task()
            if not departure.departed or (this is not None and this.cancelling()):
                raise
            return self._departed(request, "before upstream answered")
        except TimeoutError:
            self.metrics.upstream_errors.labels("UpstreamTimeoutError").inc()
            message = (
                f"the upstream {client.config.server} did not start answering "
                f"within {self.answer_timeout:g}s"
            )
            return status_response(timeout(message, 1))
        except UpstreamError as err:
            self.metrics.upstream_errors.labels(type(err).__name__).inc()
            return status_response(_as_status(err, client))
        finally:
            if not asking.done():
                asking.cancel()
            self.metrics.upstream_latency.labels(*self._labels(request)).observe(
                time.monotonic() - started
            )

    def _departed(self, request: web.Request, when: str) -> web.StreamResponse:
        """Note that the client left; the response returned is never sent."""
        request[REQUEST_CONTEXT].client_gone = True
        log.debug("client left %s %s %s", request.method, request.path_qs, when)
        return web.Response(status=200)

    async def _relay(
        self,
        request: web.Request,
        answer: ForwardResponse,
        stream: bool,
        departure: ClientDeparture,
    ) -> web.StreamResponse:
        response = web.StreamResponse(
            status=answer.status, reason=answer.reason, headers=answer.headers
        )
        # Shutdown closes a relayed watch by dropping its upstream
        # connection: the loop below ends and the client's stream ends
        # cleanly, so it resumes from its last resourceVersion.
        handle = self.streams.open(answer.release) if stream else None
        try:
            await response.prepare(request)
            async for chunk in answer.chunks():
                await response.write(chunk)
        except ConnectionResetError:
            # The client's socket closed under a write (aiohttp raises a
            # ConnectionResetError for that): drop upstream too.
            answer.close()
            self._departed(request, "during the answer")
        except DisconnectedError as err:
            # The answer had begun: there is no status left to change.
            if departure.departed:
                self._departed(request, "during the answer")
            elif handle is None:
                # Ended cleanly, half an answer would pass for a whole one
                # (a write's included, so its outcome misread): the client's
                # connection is dropped, so it sees the answer incomplete,
                # as Go's ReverseProxy aborts its handler.
                log.info("upstream broke off %s %s: %s", request.method, request.path_qs, err)
                if request.transport is not None:
                    request.transport.abort()
            elif not handle.closed:
                # A stream ends cleanly: the client resumes a watch from
                # its last resourceVersion.
                log.info("upstream broke off %s %s: %s", request.method, request.path_qs, err)
        finally:
            if handle is not None:
                handle.finish()
        return response


async def _body(request: web.Request) -> AsyncIterator[bytes]:
    async for chunk in request.content.iter_chunked(BODY_CHUNK):
        yield chunk


def _as_requester(request: web.Request) -> tuple[CIMultiDict[str], bool]:
    """The headers to send, and whether with the proxy's own credentials
    (module docstring: who)."""
    identity = request[REQUEST_CONTEXT].identity
    if identity.via in (Via.TOKEN, Via.ANONYMOUS):
        # Checked as they are (context.py), passed on as they are.
        return CIMultiDict(request.headers), False
    headers = CIMultiDict(
        (k, v)
        for k, v in request.headers.items()
        if k.lower() != "authorization" and not is_impersonation_header(k)
    )
    if identity.via is Via.IMPERSONATION:
        headers.extend(impersonation_headers(identity))
    return headers, True


def _as_status(err: UpstreamError, client: UpstreamClient) -> ApiError:
    where = client.config.server
    if isinstance(err, UpstreamTimeoutError):
        return timeout(f"the upstream {where} did not answer in time: {err}", 1)
    if isinstance(err, UnreachableError | TLSError):
        return service_unavailable(f"the upstream {where} cannot be reached: {err}", 1)
    return service_unavailable(f"the upstream {where} failed: {err}", 1)
