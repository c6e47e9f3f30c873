"""The aiohttp application: local endpoints, then everything else.

Routing, in order:
    /healthz /livez /readyz   the proxy's own health (health.py)
    /metrics                  the proxy's own Prometheus metrics (a
                              worker process's: every worker's, summed,
                              ``ProxyParts.exposition``)
    GET of a discovery path   ``ProxyParts.discovery`` (discovery.py), when
                              set (``--discovery-ttl`` above 0) and
                              upstream answers 200; else as below
    anything else             ``ProxyParts.handle``: the read path for what
                              the cache can answer, forwarding for the rest

Middleware: ``headers_arrived`` stops the connection's read-header timer
(connections.py); on plain HTTP, the Host allow-list (``--accept-hosts``,
watchcache.auth.serving) refuses what a web page could send by DNS
rebinding; ``context_middleware`` (request id, identity, access log) wraps
every request, local ones included; then ``_header_limit``
answers 431 where kube-apiserver would (headers over 1 MiB in all);
``parse_once`` parses the request once (requestinfo.py) for every stage
after it; the metrics middleware counts it by verb, resource and code.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

from watchcache.auth import Attributes, Delegation, host_filter, refusal
from watchcache.proxy.config import ServeConfig
from watchcache.proxy.connections import headers_arrived
from watchcache.proxy.context import AUTH, REQUEST_CONTEXT, context_middleware, status_response
from watchcache.proxy.discovery import Discovery
from watchcache.proxy.drain import StreamTracker
from watchcache.proxy.health import Health, add_health_routes
from watchcache.proxy.metrics import CONTENT_TYPE_LATEST, ProxyMetrics
from watchcache.proxy.requestinfo import parse_once, request_info

__all__ = ["PARTS", "ProxyParts", "build_app"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class ProxyParts:
    """Everything one proxy application shares between its handlers."""

    config: ServeConfig
    handle: Handler
    health: Health = field(default_factory=Health)
    metrics: ProxyMetrics = field(default_factory=ProxyMetrics)
    streams: StreamTracker = field(default_factory=StreamTracker)
    discovery: Discovery | None = None
    # --auth=delegated: who each request is (context.py); None: the proxy.
    delegation: Delegation | None = None
    # What /metrics answers; None: ``metrics.exposition()``, this process's
    # own. A worker process answers every process's (watchcache.workers).
    exposition: Callable[[], Awaitable[bytes]] | None = None


PARTS = web.AppKey("watchcache_parts", ProxyParts)

# kube-apiserver (Go's net/http, MaxHeaderBytes 1 MiB plus its 4 KiB read
# slack) accepts a request line and headers up to this many bytes in all,
# in any one of them, and answers 431 beyond. aiohttp limits each line and
# field instead (8 KiB by default, which would refuse what kube-apiserver
# takes, such as a 100 KB header): its per-line limits are set to the
# total, and ``_header_limit`` enforces the total itself.
MAX_HEADER_BYTES = (1 << 20) + 4096
MAX_FIELD_SIZE = MAX_HEADER_BYTES
MAX_LINE_SIZE = MAX_HEADER_BYTES


def header_bytes(request: web.BaseRequest) -> int:
    """The request line and headers as sent, less the final blank line."""
    line = len(request.method) + len(request.raw_path) + len("  HTTP/1.1\r\n")
    return line + sum(len(name) + len(value) + 4 for name, value in request.raw_headers)


@web.middleware
async def _header_limit(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Go's answer to headers over its limit: a plain-text 431, then close."""
    if header_bytes(request) > MAX_HEADER_BYTES:
        response = web.Response(status=431, text="431 Request Header Fields Too Large")
        response.force_close()
        return response
    return await handler(request)


def _metrics_middleware(metrics: ProxyMetrics) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Counts every request by the code it was answered with. A client
    that left mid-answer is not an error: aiohttp raises a
    ConnectionResetError for a write to its closed socket, which is taken
    here as the departure it is (the request context says so) rather than
    reaching aiohttp as a 500 with a traceback. The code counted is the one
    sent before the client left; 0 when none was, as kube-apiserver counts
    a request that wrote nothing, and when the handler could not finish."""

    @web.middleware
    async def count(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        code = 500
        context = request.get(REQUEST_CONTEXT)
        try:
            response = await handler(request)
            code = response.status
            if context is not None and context.client_gone and not response.prepared:
                code = 0
            return response
        except web.HTTPException as exc:
            code = exc.status
            raise
        except ConnectionResetError:
            code = 0
            if context is not None:
                context.client_gone = True
            # Never sent: aiohttp finds the connection closed and moves on.
            return web.Response(status=200)
        finally:
            info = request_info(request)
            served_by = context.served_by if context is not None else "local"
            labels = (info.verb, metrics.resource_label(info.resource), str(code), served_by)
            metrics.requests.labels(*labels).inc()
            if context is not None and context.client_gone:
                metrics.client_disconnects.labels(*labels).inc()
            if not info.long_running:
                metrics.request_duration.labels(*labels[:2], served_by).observe(
                    time.perf_counter() - started
                )

    return count


def build_app(parts: ProxyParts) -> web.Application:
    hosts = [host_filter(parts.config.accept_hosts, status_response)]
    app = web.Application(
        middlewares=[
            headers_arrived,
            *(hosts if parts.config.plain_http() else []),
            context_middleware,
            _header_limit,
            parse_once,
            _metrics_middleware(parts.metrics),
        ],
        handler_args={"max_field_size": MAX_FIELD_SIZE, "max_line_size": MAX_LINE_SIZE},
        client_max_size=0,  # bodies are streamed through, never buffered here
    )
    app[PARTS] = parts
    if parts.delegation is not None:
        app[AUTH] = parts.delegation
    add_health_routes(app, parts.health)
    parts.health.add_readiness("shutdown", lambda: "draining" if parts.streams.draining else None)

    async def refused(request: web.Request, path: str) -> web.Response | None:
        """kube-apiserver's 403 for a non-resource GET of ``path`` the
        requester may not make (RBAC: system:monitoring grants /metrics,
        system:discovery the discovery paths); None when allowed."""
        if parts.delegation is None:
            return None
        identity = request[REQUEST_CONTEXT].identity
        wanted = Attributes("get", path=path)
        decision = await parts.delegation.authorizer.authorize(identity, wanted)
        return None if decision.allowed else status_response(refusal(identity, wanted, decision))

    async def metrics(request: web.Request) -> web.Response:
        if (refusal_ := await refused(request, "/metrics")) is not None:
            return refusal_
        if parts.exposition is not None:
            body = await parts.exposition()
        else:
            body = parts.metrics.exposition()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def everything_else(request: web.Request) -> web.StreamResponse:
        discovery = parts.discovery
        if discovery is not None and discovery.serves(request):
            if (refusal_ := await refused(request, request.path)) is not None:
                return refusal_
            answer = await discovery.answer(request)
            if answer is not None:
                return answer
        return await parts.handle(request)

    app.router.add_get("/metrics", metrics)
    app.router.add_route("*", "/{tail:.*}", everything_else)
    return app
