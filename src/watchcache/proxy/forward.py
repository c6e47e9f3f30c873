"""Forwarding a request upstream unchanged, and its answer back.

Which upstream: reads (GET, HEAD, OPTIONS without a connection upgrade) go
to the read upstream, which may be another watchcache in a read tier;
everything else (writes, subresource POSTs, upgrades for exec, attach and
port-forward) goes to the write upstream, normally kube-apiserver itself.

What is changed on the way, and why:
    dropped  hop-by-hop headers (the upstream client drops them both ways)
    dropped  the caller's Authorization and Impersonate-* headers: until
             authentication delegation lands, every request is made as the
             proxy (context.py), and a caller must not borrow the proxy's
             right to impersonate
    kept     everything else: Accept (content negotiation: JSON, protobuf,
             Table), Accept-Encoding and Content-Encoding (gzip passes
             through still compressed), Content-Type, User-Agent, query

Bodies stream both ways in chunks as they arrive, never buffered whole;
a watch is relayed chunk by chunk and registered with the stream tracker
so shutdown can close it. Failures before upstream answered become a
``Status`` (503 unreachable or TLS, 504 timeout, 502-like cases as 503);
after the answer began, a broken upstream ends the response.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

from aiohttp import web

from watchcache.api.resources import parse_path
from watchcache.api.status import ApiError, service_unavailable, timeout
from watchcache.proxy.app import WATCH_VALUES, verb_and_resource, watch_requested
from watchcache.proxy.context import REQUEST_CONTEXT
from watchcache.proxy.drain import StreamTracker
from watchcache.proxy.metrics import ProxyMetrics
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


def status_response(error: ApiError) -> web.Response:
    """The error as kube-apiserver writes it: its JSON encoder ends the body
    with a newline, and every API response says not to cache it."""
    headers = {"Content-Type": "application/json", "Cache-Control": "no-cache, private"}
    if error.retry_after is not None:
        headers["Retry-After"] = str(error.retry_after)
    return web.Response(status=error.code, body=error.body() + b"\n", headers=headers)


def _is_upgrade(request: web.Request) -> bool:
    return "upgrade" in request.headers.get("Connection", "").lower()


def _is_watch(request: web.Request) -> bool:
    """A stream that may stay open: a watch, or a followed log."""
    return (
        watch_requested(request, parse_path(request.path))
        or request.query.get("follow", "") in WATCH_VALUES
    )


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
        verb, resource = verb_and_resource(request)
        return verb, self.metrics.resource_label(resource)

    def upstream_for(self, request: web.Request) -> UpstreamClient:
        if request.method in READ_METHODS and not _is_upgrade(request):
            return self.read
        return self.write

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        request[REQUEST_CONTEXT].served_by = "upstream"
        client = self.upstream_for(request)
        headers = {k: v for k, v in request.headers.items() if not _caller_identity(k)}
        if _is_upgrade(request):
            try:
                return await relay_upgrade(request, client, headers)
            except UpstreamError as err:
                self.metrics.upstream_errors.labels(type(err).__name__).inc()
                return status_response(_as_status(err, client))
        body = _body(request) if request.body_exists else None
        started = time.monotonic()
        patience = None if _is_watch(request) else self.answer_timeout
        try:
            async with asyncio.timeout(patience):
                answer = await client.forward(
                    request.method, request.path, request.query, headers, body
                )
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
            self.metrics.upstream_latency.labels(*self._labels(request)).observe(
                time.monotonic() - started
            )
        async with answer:
            return await self._relay(request, answer)

    async def _relay(self, request: web.Request, answer: ForwardResponse) -> web.StreamResponse:
        response = web.StreamResponse(
            status=answer.status, reason=answer.reason, headers=answer.headers
        )
        await response.prepare(request)
        # Shutdown closes a relayed watch by dropping its upstream
        # connection: the loop below ends and the client's stream ends
        # cleanly, so it resumes from its last resourceVersion.
        handle = self.streams.open(answer.release) if _is_watch(request) else None
        try:
            async for chunk in answer.chunks():
                await response.write(chunk)
        except DisconnectedError as err:
            # The answer had begun: there is no status left to change. The
            # client sees the stream end and resumes (a watch) or retries.
            if handle is None or not handle.closed:
                log.info("upstream broke off %s %s: %s", request.method, request.path_qs, err)
        finally:
            if handle is not None:
                handle.finish()
        return response


async def _body(request: web.Request) -> AsyncIterator[bytes]:
    async for chunk in request.content.iter_chunked(BODY_CHUNK):
        yield chunk


def _caller_identity(header: str) -> bool:
    lowered = header.lower()
    return lowered == "authorization" or lowered.startswith("impersonate-")


def _as_status(err: UpstreamError, client: UpstreamClient) -> ApiError:
    where = client.config.server
    if isinstance(err, UpstreamTimeoutError):
        return timeout(f"the upstream {where} did not answer in time: {err}", 1)
    if isinstance(err, UnreachableError | TLSError):
        return service_unavailable(f"the upstream {where} cannot be reached: {err}", 1)
    return service_unavailable(f"the upstream {where} failed: {err}", 1)
