"""What one request asks, parsed once from its method, path and query.

Glossary:
    request info  kube-apiserver's RequestInfo: the verb, the resource path
                  (group, version, resource, namespace, name, subresource)
                  and who asks (``RequestInfo``)
    verb          kube-apiserver's verb for the request: get, list, watch,
                  create, update, patch, delete, deletecollection, or the
                  method in lower case for anything else
    stream        a response that lasts as long as the client wants: a
                  watch, or a followed log

Invariants: a request's path is parsed here and nowhere else;
``parse_once`` (a middleware, app.py) stores the result on the request
before any handler runs, and every later stage (metrics, the read path,
the forwarder) reads it with ``request_info``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from aiohttp import web

from watchcache.api.resources import RequestPath, parse_path
from watchcache.proxy.context import REQUEST_CONTEXT, Identity

__all__ = [
    "CONNECT_SUBRESOURCES",
    "REQUEST_INFO",
    "WATCH_VALUES",
    "RequestInfo",
    "parse_once",
    "parse_request",
    "request_info",
]

# Go's strconv.ParseBool true values: what kube-apiserver accepts for watch=.
WATCH_VALUES = frozenset({"1", "t", "T", "true", "TRUE", "True"})

# kube-apiserver's verb for these subresources is "connect"; they last as
# long as the client wants.
CONNECT_SUBRESOURCES = frozenset({"exec", "attach", "portforward", "proxy"})

_WRITE_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch"}


@dataclass(frozen=True, slots=True)
class RequestInfo:
    method: str
    verb: str
    # None: not a resource path (discovery, /version, /healthz, ...).
    path: RequestPath | None
    requester: Identity
    # ``watch=<true>`` or a legacy ``/watch/`` path (the verb says watch
    # only for a GET of a resource path).
    watch: bool = False
    # A followed log (``follow=<true>``), which streams like a watch.
    follow: bool = False

    @property
    def resource(self) -> str:
        """The resource as metrics label it: ``pods``, ``pods/log``, or ``""``."""
        if self.path is None:
            return ""
        subresource = self.path.subresource
        return self.path.gvr.resource + (f"/{subresource}" if subresource else "")

    @property
    def stream(self) -> bool:
        """A watch or a followed log: a response that may stay open."""
        return self.watch or self.follow

    @property
    def long_running(self) -> bool:
        """A watch, a tunnel, or a followed log: timing it says nothing about
        the proxy (kube-apiserver leaves these out of its latency too)."""
        subresource = self.path.subresource if self.path is not None else ""
        return (
            self.verb == "watch"
            or subresource in CONNECT_SUBRESOURCES
            or (subresource == "log" and self.follow)
        )


def parse_request(
    method: str, path: str, query: Mapping[str, str], requester: Identity
) -> RequestInfo:
    where = parse_path(path)
    watch = (where is not None and where.legacy_watch) or query.get("watch", "") in WATCH_VALUES
    follow = query.get("follow", "") in WATCH_VALUES
    return RequestInfo(method, _verb(method, where, watch), where, requester, watch, follow)


def _verb(method: str, where: RequestPath | None, watch: bool) -> str:
    if where is None:
        return method.lower()
    if method == "GET":
        if watch:
            return "watch"
        return "get" if where.name else "list"
    if method == "DELETE":
        return "delete" if where.name else "deletecollection"
    return _WRITE_VERBS.get(method, method.lower())


REQUEST_INFO = web.RequestKey("watchcache_request_info", RequestInfo)


def request_info(request: web.Request) -> RequestInfo:
    """The request's info, as ``parse_once`` stored it."""
    return request[REQUEST_INFO]


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def parse_once(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Parses the request for every stage after it; runs after
    ``context_middleware``, whose identity becomes the requester."""
    identity = request[REQUEST_CONTEXT].identity
    request[REQUEST_INFO] = parse_request(request.method, request.path, request.query, identity)
    return await handler(request)
