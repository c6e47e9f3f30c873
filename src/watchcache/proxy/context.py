"""Who is asking, and which request this is: the per-request context.

Every request passes through ``context_middleware`` first. It gives the
request an id (the client's ``X-Request-Id`` when it sent a sane one, else
a new one), decides the caller's identity, and logs one structured line when
the response is done.

The identity stage is the one place authentication and authorization will
go: today every caller is :data:`PROXY_IDENTITY` (the proxy reads and writes
with its own upstream credentials, like ``kubectl proxy``). Delegation
(TokenReview for the caller's token, SubjectAccessReview per read,
impersonation for writes) replaces :func:`identify` and nothing else.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

__all__ = [
    "PROXY_IDENTITY",
    "REQUEST_CONTEXT",
    "Identity",
    "RequestContext",
    "context_middleware",
    "identify",
]

log = logging.getLogger("watchcache.access")

_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


@dataclass(frozen=True)
class Identity:
    """The user a request acts as. ``delegated`` is False while the proxy
    acts with its own credentials for everyone."""

    user: str
    groups: tuple[str, ...] = ()
    delegated: bool = False


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


async def identify(request: web.Request) -> Identity:
    """Authentication stage. Today: everyone is the proxy's own credentials."""
    return PROXY_IDENTITY


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def context_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    offered = request.headers.get("X-Request-Id", "")
    request_id = offered if _SANE_ID.match(offered) else secrets.token_hex(8)
    ctx = RequestContext(request_id, await identify(request), time.monotonic())
    request[REQUEST_CONTEXT] = ctx
    status = 500
    try:
        response = await handler(request)
        # A client that left before anything was sent was answered nothing.
        status = 0 if ctx.client_gone and not response.prepared else response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        log.info(
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
