"""Who is asking, and which request this is: the per-request context.

Every request passes through ``context_middleware`` first. It gives the
request an id (the client's ``X-Request-Id`` when it sent a sane one, else
a new one), decides the caller's identity, and logs one structured line when
the response is done.

The identity stage (:func:`identify`) is the one place authentication
happens. With ``--auth=none`` every caller is :data:`PROXY_IDENTITY` (the
proxy reads and writes with its own upstream credentials, like ``kubectl
proxy``). With ``--auth=delegated`` the application holds a
:class:`~watchcache.auth.Delegation` under :data:`AUTH`: the caller's client
certificate, bearer token (TokenReview) or anonymity, then its
Impersonate-* headers (SubjectAccessReview), decide the identity, or the
request is answered 401/403/400 here and goes no further. Later stages
read ``request[REQUEST_CONTEXT].identity``: the read path authorizes cached
reads for it, the forwarder acts as it (watchcache.auth.identity.Via).
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from watchcache.api.status import ApiError
from watchcache.auth import Delegation
from watchcache.auth.identity import Identity

__all__ = [
    "AUTH",
    "PROXY_IDENTITY",
    "REQUEST_CONTEXT",
    "Identity",
    "RequestContext",
    "context_middleware",
    "identify",
    "status_response",
]

log = logging.getLogger("watchcache.access")

_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


PROXY_IDENTITY = Identity(user="watchcache:proxy-credentials")


@dataclass
class RequestContext:
    request_id: str
    identity: Identity
    started: float
    # Filled in by the handler that answered: "cache", "upstream" or "local".
    served_by: str = "local"
    # The client closed its connection before its answer was complete.
    client_gone: bool = False


REQUEST_CONTEXT = web.RequestKey("watchcache_context", RequestContext)


AUTH = web.AppKey("watchcache_auth", Delegation)
# Who a request that failed authentication is logged as.
_UNAUTHENTICATED = Identity(user="")


async def identify(request: web.Request) -> Identity:
    """Authentication stage: the proxy's own credentials for everyone with
    ``--auth=none``; else the requester's (module docstring). Raises the
    ApiError to answer with."""
    delegation = request.app.get(AUTH)
    if delegation is None:
        return PROXY_IDENTITY
    transport = request.transport
    tls = transport.get_extra_info("ssl_object") if transport is not None else None
    # As presented: the handshake accepts any certificate, the
    # authenticator verifies it (watchcache.auth.clientcert).
    certificate = tls.getpeercert(binary_form=True) if tls is not None else None
    return await delegation.identify(request.headers, certificate or None)


def status_response(error: ApiError) -> web.Response:
    """The error as kube-apiserver writes it: its JSON encoder ends the body
    with a newline, and every API response says not to cache it."""
    headers = {"Content-Type": "application/json", "Cache-Control": "no-cache, private"}
    if error.retry_after is not None:
        headers["Retry-After"] = str(error.retry_after)
    return web.Response(status=error.code, body=error.body() + b"\n", headers=headers)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Health checks answered yes are logged at DEBUG: kubelets' probes and each
# worker's poll of the primary's /readyz (watchcache.workers) come every
# second or so and would bury the log.
_HEALTH_PATHS = ("/healthz", "/livez", "/readyz")


def _access_level(path: str, status: int) -> int:
    if 200 <= status < 300 and path.startswith(_HEALTH_PATHS):
        return logging.DEBUG
    return logging.INFO


@web.middleware
async def context_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    offered = request.headers.get("X-Request-Id", "")
    request_id = offered if _SANE_ID.match(offered) else secrets.token_hex(8)
    ctx = RequestContext(request_id, _UNAUTHENTICATED, time.monotonic())
    request[REQUEST_CONTEXT] = ctx
    status = 500
    try:
        try:
            ctx.identity = await identify(request)
        except ApiError as refused:
            status = refused.code
            return status_response(refused)
        response = await handler(request)
        # A client that left before anything was sent was answered nothing.
        status = 0 if ctx.client_gone and not response.prepared else response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        log.log(
            _access_level(request.path, status),
            "%s %s %d",
            request.method,
            request.path_qs,
            status,
            extra={
                "method": request.method,
                "path": request.path_qs,
                "code": status,
                "request_id": request_id,
                "user": ctx.identity.user,
                "served_by": ctx.served_by,
                "duration_ms": round((time.monotonic() - ctx.started) * 1000, 1),
                "remote": request.remote,
                **({"client_gone": True} if ctx.client_gone else {}),
            },
        )
