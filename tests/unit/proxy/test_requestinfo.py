from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from watchcache.proxy.context import PROXY_IDENTITY, context_middleware
from watchcache.proxy.requestinfo import RequestInfo, parse_once, parse_request, request_info


def _info(method: str, path_qs: str) -> RequestInfo:
    path, _, query = path_qs.partition("?")
    pairs = dict(p.partition("=")[::2] for p in query.split("&") if p)
    return parse_request(method, path, pairs, PROXY_IDENTITY)


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/api/v1/namespaces/ns/pods", ("list", "pods")),
        ("GET", "/api/v1/pods?watch=true", ("watch", "pods")),
        ("GET", "/api/v1/pods?watch=1", ("watch", "pods")),
        ("GET", "/api/v1/pods?watch=yes", ("list", "pods")),
        ("GET", "/api/v1/watch/namespaces/ns/pods", ("watch", "pods")),
        ("GET", "/api/v1/namespaces/ns/pods/p", ("get", "pods")),
        ("GET", "/api/v1/namespaces/ns/pods/p/log", ("get", "pods/log")),
        ("POST", "/apis/apps/v1/namespaces/ns/deployments", ("create", "deployments")),
        ("PATCH", "/api/v1/namespaces/ns/pods/p/status", ("patch", "pods/status")),
        ("DELETE", "/api/v1/namespaces/ns/pods", ("deletecollection", "pods")),
        ("DELETE", "/api/v1/namespaces/ns/pods/p", ("delete", "pods")),
        ("GET", "/version", ("get", "")),
        ("OPTIONS", "/api/v1/pods", ("options", "pods")),
    ],
)
def test_verbs_and_resources(method: str, path: str, expected: tuple[str, str]) -> None:
    info = _info(method, path)
    assert (info.verb, info.resource) == expected


@pytest.mark.parametrize(
    ("method", "path", "stream", "long_running"),
    [
        ("GET", "/api/v1/pods?watch=true", True, True),
        ("GET", "/api/v1/namespaces/ns/pods/p/log?follow=true", True, True),
        ("GET", "/api/v1/namespaces/ns/pods/p/log", False, False),
        ("POST", "/api/v1/namespaces/ns/pods/p/exec", False, True),
        ("GET", "/api/v1/pods", False, False),
        # Not a resource: no watch verb, but relayed as a stream all the same.
        ("GET", "/apis?watch=true", True, False),
    ],
)
def test_streams_and_long_running_requests(
    method: str, path: str, stream: bool, long_running: bool
) -> None:
    info = _info(method, path)
    assert (info.stream, info.long_running) == (stream, long_running)


async def test_the_middleware_parses_once_for_every_later_stage() -> None:
    """Every handler after ``parse_once`` reads the one parsed value, with
    the identity the context middleware decided as the requester."""
    seen: list[RequestInfo] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        seen.append(request_info(request))
        seen.append(request_info(request))
        return web.Response(text="ok")

    app = web.Application(middlewares=[context_middleware, parse_once])
    app.router.add_route("*", "/{tail:.*}", handler)
    async with TestClient(TestServer(app)) as client:
        assert (await client.get("/api/v1/namespaces/ns/pods?watch=1")).status == 200
    first, second = seen
    assert first is second
    assert (first.verb, first.resource, first.requester) == ("watch", "pods", PROXY_IDENTITY)
    assert first.path is not None and first.path.namespace == "ns"
