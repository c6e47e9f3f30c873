from __future__ import annotations

import argparse
import logging

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer, make_mocked_request

from watchcache.proxy.app import (
    MAX_HEADER_BYTES,
    ProxyParts,
    build_app,
    header_bytes,
)
from watchcache.proxy.config import add_arguments, load_config


def test_header_bytes_count_the_request_line_and_every_header() -> None:
    request = make_mocked_request("GET", "/api/v1/pods?x=1", headers={"A": "bc", "Host": "h"})
    line = len("GET /api/v1/pods?x=1 HTTP/1.1\r\n")
    assert header_bytes(request) == line + len("A: bc\r\n") + len("Host: h\r\n")


async def test_headers_over_kube_apiservers_limit_are_431() -> None:
    app = build_app(ProxyParts(config=load_config(_no_args(), {}), handle=_ok))
    async with TestClient(TestServer(app)) as client:
        fits = await client.get("/x", headers={"X-Big": "a" * 100_000})
        assert fits.status == 200
        too_many = {f"X-H{i}": "a" * 60_000 for i in range(MAX_HEADER_BYTES // 60_000 + 1)}
        over = await client.get("/x", headers=too_many)
        assert over.status == 431
        assert await over.text() == "431 Request Header Fields Too Large"


async def _ok(request: web.Request) -> web.StreamResponse:
    return web.Response(text="ok")


def _no_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args([])


async def test_a_client_gone_mid_answer_is_counted_not_a_500(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A handler whose write finds the client's socket closed (aiohttp
    raises ConnectionResetError) is a departure: counted under code 0 and
    as a disconnect, never a 500 with aiohttp's traceback."""

    async def abandoned(request: web.Request) -> web.StreamResponse:
        raise ConnectionResetError("Cannot write to closing transport")

    parts = ProxyParts(config=load_config(_no_args(), {}), handle=abandoned)
    async with TestClient(TestServer(build_app(parts))) as client:
        # Here the socket is in fact open: the empty answer meant for
        # nobody reaches the test's client.
        await client.get("/api/v1/pods")
    registry = parts.metrics.registry
    labels = {"verb": "list", "resource": "pods", "served_by": "local"}
    assert registry.get_sample_value("watchcache_requests_total", {**labels, "code": "0"}) == 1
    assert registry.get_sample_value("watchcache_requests_total", {**labels, "code": "500"}) is None
    assert (
        registry.get_sample_value("watchcache_client_disconnects_total", {**labels, "code": "0"})
        == 1
    )
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
