"""The simulated kube-apiserver: ``Simulator``, its aiohttp app, its routes.

Routing, in order:
    /healthz /livez /readyz     "ok"
    /version                    discovery.version_info
    /api /api/v1 /apis ...      legacy discovery documents
    /openapi/v2                 OpenAPI v2 (protobuf or JSON) for explain,
                                apply and kubectl 1.20's dry-run check
    /openapi/v3[/GROUP/VERSION] OpenAPI v3 (JSON), for newer kubectl explain
    .../selfsubject*reviews     access reviews, answered not stored (reviews.py)
    /api/..., /apis/...         resources (endpoints.py)

Middleware, outermost first: authentication (any bearer token, unless a
token map is configured), injected failures (faults.py), then ApiError ->
Status response. Every error body is a Status.

Lifecycle: ``start`` binds 127.0.0.1 by default and returns the URL;
``stop`` cuts open watches first (so the runner's shutdown does not wait on
them), then cleans the runner up.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec
from aiohttp import web

from watchcache.api import status
from watchcache.api.resources import (
    GroupVersionResource,
    RequestPath,
    ResourceInfo,
    builtin_resource,
    parse_path,
)
from watchcache.simulator import discovery, openapi, reviews
from watchcache.simulator.admission import Clock
from watchcache.simulator.endpoints import (
    Endpoints,
    StreamSettings,
    error_response,
    json_response,
    read_body,
)
from watchcache.simulator.faults import Faults
from watchcache.simulator.store import DEFAULT_HISTORY, DEFAULT_LOG, SimStore
from watchcache.simulator.verbs import Verbs, _default_clock
from watchcache.simulator.watch import SimWatchHub

__all__ = ["SIMULATOR", "Simulator", "SimulatorConfig"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

INITIAL_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


@dataclass(frozen=True)
class SimulatorConfig:
    # None: history sized like kube-apiserver's (store.py); an int fixes it.
    history_size: int | None = DEFAULT_HISTORY
    log_size: int = DEFAULT_LOG
    stream: StreamSettings = field(default_factory=StreamSettings)
    # token -> whether that user may do anything; None accepts any request.
    tokens: Mapping[str, bool] | None = None
    clock: Clock = _default_clock
    monotonic: Callable[[], float] = time.monotonic
    seed: int | None = None


class Simulator:
    """An in-memory kube-apiserver with real resourceVersions."""

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self.config = config or SimulatorConfig()
        self.store = SimStore(self.config.history_size, self.config.log_size, self.config.monotonic)
        self.verbs = Verbs(self.store, self.config.clock, self.config.seed)
        self.hub = SimWatchHub(self.store, self.config.monotonic)
        self.faults = Faults(self.store, self.hub)
        self.endpoints = Endpoints(
            self.store, self.verbs, self.hub, self.config.stream, self.config.monotonic
        )
        self._runner: web.AppRunner | None = None
        self.url = ""
        namespaces = builtin_resource(GroupVersionResource("", "v1", "namespaces"))
        assert namespaces is not None
        for name in INITIAL_NAMESPACES:
            self.verbs.create(namespaces, "", {"metadata": {"name": name}})

    def register(
        self, group: str, version: str, resource: str, kind: str, namespaced: bool = True
    ) -> ResourceInfo:
        """Declare a CRD-like resource before anything is written to it."""
        return self.endpoints.register(
            GroupVersionResource(group, version, resource), kind, namespaced
        )

    def build_app(self) -> web.Application:
        # Request lines and headers up to kube-apiserver's 1 MiB (Go's
        # MaxHeaderBytes), not aiohttp's 8 KiB per line: a long query (a
        # resourceVersion of 5,000 digits) gets kube's Status, not a bare 400.
        limit = (1 << 20) + 4096
        app = web.Application(
            middlewares=[_pretty, self._auth, self._errors],
            handler_args={"max_line_size": limit, "max_field_size": limit},
        )
        app[SIMULATOR] = self
        for path in ("/healthz", "/livez", "/readyz"):
            app.router.add_get(path, _ok)
        app.router.add_get("/version", self._version)
        app.router.add_get("/openapi/v2", self._openapi)
        app.router.add_get("/openapi/v3", self._openapi_v3_index)
        app.router.add_get("/openapi/v3/{path:.+}", self._openapi_v3)
        app.router.add_route("*", "/{tail:.*}", self._resource)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._runner = web.AppRunner(self.build_app(), handle_signals=False)
        await self._runner.setup()
        # As large a queue of connections as the kernel allows, like a Go
        # listener: aiohttp's default (128) drops SYNs when thousands of
        # watchers connect at once.
        site = web.TCPSite(self._runner, host, port, backlog=65535)
        await site.start()
        bound = self._runner.addresses[0]
        self.url = f"http://{bound[0]}:{bound[1]}"
        return self.url

    async def stop(self) -> None:
        # 1. cut watches, so their handlers return; 2. close the listener
        # and the remaining connections.
        self.faults.restart()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- middleware ------------------------------------------------------

    @web.middleware
    async def _auth(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        tokens = self.config.tokens
        if tokens is None or request.path in ("/healthz", "/livez", "/readyz"):
            return await handler(request)
        header = request.headers.get("Authorization", "")
        token = header[len("Bearer ") :] if header.startswith("Bearer ") else None
        if token is None or token not in tokens:
            return error_response(status.unauthorized())
        if not tokens[token] and not _is_review(request.path):
            return error_response(_forbidden(request, token))
        request[_ALLOWED] = tokens[token]
        return await handler(request)

    @web.middleware
    async def _errors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        injected = self.faults.take(request.path)
        if injected is not None:
            return error_response(injected)
        # /openapi/v2 answers protobuf itself; everything else is JSON.
        openapi = request.path.startswith("/openapi/")
        if not openapi and not _accepts_json(request.headers.get("Accept", "")):
            return error_response(status.not_acceptable())
        try:
            return await handler(request)
        except status.ApiError as err:
            return error_response(err)

    # -- non-resource endpoints -------------------------------------------

    async def _version(self, request: web.Request) -> web.Response:
        return _json(discovery.version_info())

    async def _openapi(self, request: web.Request) -> web.Response:
        if "protobuf" in request.headers.get("Accept", ""):
            # kube-openapi labels the protobuf document octet-stream: Go's
            # mime parser rejects the media type clients ask for.
            return web.Response(body=openapi.V2_PROTO, content_type="application/octet-stream")
        return _json(openapi.V2_JSON)

    async def _openapi_v3_index(self, request: web.Request) -> web.Response:
        return _json(openapi.v3_index())

    async def _openapi_v3(self, request: web.Request) -> web.Response:
        body = openapi.v3_document(request.match_info["path"])
        if body is None:
            raise status.ApiError(
                404, "NotFound", "the server could not find the requested resource", {}
            )
        return json_response(body)

    def _discovery(self, path: str) -> dict[str, Any] | None:
        parts = [p for p in path.split("/") if p]
        if parts == ["api"]:
            return discovery.api_versions(self.url.removeprefix("http://"))
        if parts == ["apis"]:
            return discovery.api_group_list(self.store)
        if parts == ["api", "v1"]:
            return discovery.api_resource_list(self.store, "", "v1")
        if len(parts) == 2 and parts[0] == "apis":
            return discovery.api_group(self.store, parts[1])
        if len(parts) == 3 and parts[0] == "apis":
            return discovery.api_resource_list(self.store, parts[1], parts[2])
        return None

    async def _resource(self, request: web.Request) -> web.StreamResponse:
        path = parse_path(request.path)
        if path is None:
            doc = self._discovery(request.path) if request.method == "GET" else None
            if doc is None:
                raise status.ApiError(
                    404, "NotFound", "the server could not find the requested resource", {}
                )
            return _json(doc)
        if path.gvr.group == reviews.GROUP and path.gvr.resource in reviews.RESOURCES:
            return await self._review(request, path)
        return await self.endpoints.handle(request, path)

    async def _review(self, request: web.Request, path: RequestPath) -> web.Response:
        """An access review (reviews.py): created, answered, not stored."""
        if request.method != "POST" or path.name:
            raise status.method_not_allowed()
        body = await read_body(request) if request.can_read_body else {}
        allowed = request.get(_ALLOWED, True)
        doc = reviews.review(path.gvr.resource, path.gvr.version, body, allowed)
        return json_response(msgspec.json.encode(doc), 201)

    def __repr__(self) -> str:
        return f"Simulator({self.url or 'not started'}, {self.store!r}, {self.hub!r})"


SIMULATOR = web.AppKey("watchcache_simulator", Simulator)
# Whether the request's token may do anything (no token map: yes).
_ALLOWED = web.RequestKey("watchcache_simulator_allowed", bool)


def _is_review(path: str) -> bool:
    parsed = parse_path(path)
    return (
        parsed is not None
        and parsed.gvr.group == reviews.GROUP
        and parsed.gvr.resource in reviews.RESOURCES
    )


# kube-apiserver pretty-prints JSON for these user agents (and ?pretty=true).
_PRETTY_AGENTS = ("curl", "Wget", "Mozilla/5.0")


def _wants_pretty(request: web.Request) -> bool:
    asked = request.query.get("pretty")
    if asked is not None:
        return asked.lower() in ("1", "t", "true")
    return request.headers.get("User-Agent", "").startswith(_PRETTY_AGENTS)


@web.middleware
async def _pretty(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    if not isinstance(response, web.Response) or response.content_type != "application/json":
        return response
    if not _wants_pretty(request) or not isinstance(response.body, bytes):
        return response
    # json.MarshalIndent's layout (1.34+; 1.20's jsoniter splits empty
    # objects over lines), with no final newline.
    indented = json.dumps(json.loads(response.body), indent=2, ensure_ascii=False)
    response.body = indented.encode()
    return response


def _accepts_json(accept: str) -> bool:
    """Whether a JSON answer suits the client: the simulator speaks nothing
    else (protobuf-only clients get 406, as from a server without it)."""
    if not accept.strip():
        return True
    types = {clause.split(";")[0].strip() for clause in accept.split(",")}
    return bool(types & {"application/json", "application/*", "*/*"})


def _forbidden(request: web.Request, user: str) -> status.ApiError:
    """The RBAC authorizer's sentence for a user with no rights."""
    path = parse_path(request.path)
    if path is None:
        reason = f'User "{user}" cannot {request.method.lower()} path "{request.path}"'
        return status.forbidden("", "", reason)
    watching = request.query.get("watch") in ("1", "true") or path.legacy_watch
    verb = _verb(request.method, path.name, watching)
    gvr = path.gvr
    scope = f'in the namespace "{path.namespace}"' if path.namespace else "at the cluster scope"
    reason = (
        f'User "{user}" cannot {verb} resource "{gvr.resource}" in API group "{gvr.group}" {scope}'
    )
    return status.forbidden(gvr.resource, path.name, reason, gvr.group)


def _verb(method: str, name: str, watching: bool) -> str:
    if method == "GET":
        return "watch" if watching else ("get" if name else "list")
    if method == "DELETE" and not name:
        return "deletecollection"
    verbs = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
    return verbs.get(method, method.lower())


async def _ok(request: web.Request) -> web.Response:
    return web.Response(text="ok")


def _json(doc: Mapping[str, Any]) -> web.Response:
    return json_response(msgspec.json.encode(doc))
