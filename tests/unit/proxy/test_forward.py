"""Forwarding through a real listening proxy to small upstreams the tests run."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import logging
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry
from tests.inprocess import serve_config
from tests.polling import until

from watchcache.devcluster.pki import make_pki
from watchcache.proxy.config import ServeConfig
from watchcache.proxy.context import context_middleware
from watchcache.proxy.drain import StreamTracker
from watchcache.proxy.forward import Forwarder
from watchcache.proxy.metrics import ProxyMetrics
from watchcache.proxy.requestinfo import parse_once
from watchcache.proxy.serve import open_proxy
from watchcache.proxy.server import RunningProxy
from watchcache.upstream import (
    ClientOptions,
    Credential,
    ForwardResponse,
    StaticCredentials,
    UpstreamClient,
    UpstreamConfig,
)


class Upstream:
    """A stand-in kube-apiserver that records what reached it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.seen: list[tuple[str, str, dict[str, str]]] = []
        self.release_watch = asyncio.Event()
        self.url = ""
        # Quiet watches: open now, and each one's end (its connection closed).
        self.quiet_open = 0
        self.quiet_ended = asyncio.Event()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/gz", self.gz)
        app.router.add_route("*", "/hang", self.hang)
        app.router.add_route("*", "/cut", self.cut)
        app.router.add_route("GET", "/api/v1/namespaces/quiet/configmaps", self.quiet)
        app.router.add_route("*", "/{tail:.*}", self.echo)
        return app

    async def echo(self, request: web.Request) -> web.StreamResponse:
        self.seen.append((request.method, request.path_qs, dict(request.headers)))
        if request.query.get("watch") == "true":
            response = web.StreamResponse(headers={"Content-Type": "application/json"})
            await response.prepare(request)
            await response.write(b'{"type":"ADDED","object":{"n":1}}\n')
            await self.release_watch.wait()
            await response.write(b'{"type":"ADDED","object":{"n":2}}\n')
            return response
        body = await request.read()
        return web.json_response(
            {
                "upstream": self.name,
                "method": request.method,
                "body_len": len(body),
                "content_type": request.headers.get("Content-Type"),
            },
            status=201 if request.method == "POST" else 200,
        )

    async def gz(self, request: web.Request) -> web.Response:
        return web.Response(
            body=gzip.compress(b'{"kind":"PodList"}'),
            headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
        )

    async def quiet(self, request: web.Request) -> web.StreamResponse:
        """A watch with one event, then nothing: ends only when its
        connection closes (the runner cancels handlers then)."""
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        await response.write(b'{"type":"ADDED","object":{"n":1}}\n')
        self.quiet_open += 1
        try:
            await asyncio.Event().wait()
        finally:
            self.quiet_open -= 1
            self.quiet_ended.set()
        return response

    async def cut(self, request: web.Request) -> web.StreamResponse:
        """Half an answer, then the connection dropped (a kube-apiserver or
        proxy killed while answering)."""
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        await response.write(b'{"kind":"Pod","metadata":{"na')
        assert request.transport is not None
        request.transport.abort()
        return response

    async def hang(self, request: web.Request) -> web.Response:
        await asyncio.sleep(3600)
        return web.Response()


async def run_upstream(upstream: Upstream) -> AsyncIterator[Upstream]:
    # handler_cancellation: a handler learns that its client left, as a Go
    # handler's context does in kube-apiserver.
    runner = web.AppRunner(upstream.app(), shutdown_timeout=0.1, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    upstream.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    try:
        yield upstream
    finally:
        upstream.release_watch.set()
        await runner.cleanup()


@pytest.fixture
async def reads() -> AsyncIterator[Upstream]:
    async for u in run_upstream(Upstream("reads")):
        yield u


@pytest.fixture
async def writes() -> AsyncIterator[Upstream]:
    async for u in run_upstream(Upstream("writes")):
        yield u


def settings(*argv: str) -> ServeConfig:
    # No cached resources: these tests are about forwarding.
    return serve_config("--resources", "", *argv)


def upstream_of(url: str, token: str = "proxy-token") -> UpstreamConfig:
    return UpstreamConfig(url, credentials=StaticCredentials(Credential(token=token)))


async def test_reads_and_writes_take_their_own_upstreams(reads: Upstream, writes: Upstream) -> None:
    config = settings("--read-upstream", reads.url, "--write-upstream", writes.url)
    async with open_proxy(config, upstream_of(reads.url)) as proxy, aiohttp.ClientSession() as s:
        base = proxy.urls[0]
        async with s.get(base + "/api/v1/namespaces/default/pods?limit=1") as r:
            assert (await r.json())["upstream"] == "reads"
        payload = json.dumps({"kind": "Pod", "pad": "x" * 200_000}).encode()
        async with s.post(
            base + "/api/v1/namespaces/default/pods",
            data=payload,
            headers={"Content-Type": "application/json"},
        ) as r:
            assert r.status == 201
            answer = await r.json()
            assert answer["upstream"] == "writes"
            assert answer["body_len"] == len(payload), "the request body was not passed on whole"
            assert answer["content_type"] == "application/json"


async def test_caller_identity_is_replaced_by_the_proxys(reads: Upstream) -> None:
    async with (
        open_proxy(settings(), upstream_of(reads.url)) as proxy,
        aiohttp.ClientSession() as s,
    ):
        headers = {
            "Authorization": "Bearer callers-token",
            "Impersonate-User": "admin",
            "Impersonate-Group": "system:masters",
            "Accept": "application/json;as=Table;v=v1;g=meta.k8s.io",
        }
        async with s.get(
            proxy.urls[0] + "/api/v1/pods?fieldSelector=spec.nodeName%3Dn1", headers=headers
        ) as r:
            assert r.status == 200
    method, path_qs, seen = reads.seen[-1]
    assert (method, path_qs) == ("GET", "/api/v1/pods?fieldSelector=spec.nodeName%3Dn1")
    assert seen["Authorization"] == "Bearer proxy-token"
    assert not any(k.lower().startswith("impersonate-") for k in seen)
    assert seen["Accept"] == "application/json;as=Table;v=v1;g=meta.k8s.io"


async def test_gzip_passes_through_still_compressed(reads: Upstream) -> None:
    async with (
        open_proxy(settings(), upstream_of(reads.url)) as proxy,
        aiohttp.ClientSession(auto_decompress=False) as s,
    ):
        async with s.get(proxy.urls[0] + "/gz", headers={"Accept-Encoding": "gzip"}) as r:
            assert r.headers["Content-Encoding"] == "gzip"
            assert gzip.decompress(await r.read()) == b'{"kind":"PodList"}'


async def test_an_answer_upstream_broke_off_is_broken_off_not_ended(reads: Upstream) -> None:
    """A write's answer cut short upstream reaches the client cut short
    (its connection dropped), never as a whole answer with half a body:
    the client must not take the write's outcome from it."""
    async with (
        open_proxy(settings(), upstream_of(reads.url)) as proxy,
        aiohttp.ClientSession() as s,
    ):
        with pytest.raises(aiohttp.ClientPayloadError):
            async with s.patch(proxy.urls[0] + "/cut", data=b"{}") as r:
                assert r.status == 200
                await r.read()
        async with s.get(proxy.urls[0] + "/api/v1/nodes") as r:
            assert r.status == 200  # the proxy goes on serving


async def test_a_watch_is_relayed_as_it_happens(reads: Upstream) -> None:
    async with (
        open_proxy(settings(), upstream_of(reads.url)) as proxy,
        aiohttp.ClientSession() as s,
    ):
        async with s.get(proxy.urls[0] + "/api/v1/pods?watch=true") as r:
            first = await asyncio.wait_for(r.content.readline(), 5)
            assert json.loads(first)["object"] == {"n": 1}, (
                "the first event waited for the stream's end"
            )
            reads.release_watch.set()
            second = await asyncio.wait_for(r.content.readline(), 5)
            assert json.loads(second)["object"] == {"n": 2}


async def test_shutdown_ends_relayed_watches(reads: Upstream) -> None:
    async with (
        open_proxy(settings(), upstream_of(reads.url)) as proxy,
        aiohttp.ClientSession() as s,
    ):
        async with s.get(proxy.urls[0] + "/api/v1/pods?watch=true") as r:
            await asyncio.wait_for(r.content.readline(), 5)
            await asyncio.wait_for(proxy.stop(), 10)
            try:
                rest = await asyncio.wait_for(r.content.read(), 5)
            except aiohttp.ClientPayloadError:
                rest = b""  # cut short: the client resumes just the same
            assert rest == b""


async def test_a_dead_upstream_is_a_503_status_not_a_hang() -> None:
    dead = "http://127.0.0.1:9"  # discard port: nothing listens
    async with open_proxy(settings(), upstream_of(dead)) as proxy, aiohttp.ClientSession() as s:
        async with s.get(proxy.urls[0] + "/api/v1/pods") as r:
            assert r.status == 503
            status = await r.json()
            assert (status["kind"], status["reason"], status["code"]) == (
                "Status",
                "ServiceUnavailable",
                503,
            )
            assert r.headers["Retry-After"] == "1"


async def test_an_upstream_that_never_answers_is_a_504(reads: Upstream) -> None:
    async with (
        open_proxy(settings("--upstream-timeout", "300ms"), upstream_of(reads.url)) as proxy,
        aiohttp.ClientSession() as s,
    ):
        async with s.get(proxy.urls[0] + "/hang") as r:
            assert r.status == 504
            status = await r.json()
            assert (status["reason"], status["code"]) == ("Timeout", 504)


async def test_a_chain_of_two_proxies(reads: Upstream, writes: Upstream) -> None:
    """A read tier: proxy B reads through proxy A, writes straight upstream."""
    async with open_proxy(settings(), upstream_of(reads.url)) as tier_a:
        config_b = settings("--read-upstream", tier_a.urls[0], "--write-upstream", writes.url)
        async with (
            open_proxy(config_b, upstream_of(reads.url)) as tier_b,
            aiohttp.ClientSession() as s,
        ):
            async with s.get(tier_b.urls[0] + "/api/v1/nodes") as r:
                assert (await r.json())["upstream"] == "reads"
            async with s.post(tier_b.urls[0] + "/api/v1/nodes", json={"kind": "Node"}) as r:
                assert (await r.json())["upstream"] == "writes"
    # The read went through A: reads saw it once, with A's credentials.
    assert [p for m, p, _ in reads.seen] == ["/api/v1/nodes"]


def sample(proxy: RunningProxy, name: str, **labels: str) -> float:
    value = proxy.parts.metrics.registry.get_sample_value(name, labels)
    return value or 0.0


async def test_open_forwarded_watches_never_starve_a_get(reads: Upstream) -> None:
    """Regression: forwarded watches and short requests shared the
    upstream pool of 100, so with 100 watches open a GET waited 30 s for a
    connection and was answered 504."""
    watches = ClientOptions().pool_limit + 1
    async with (
        open_proxy(settings(), upstream_of(reads.url)) as proxy,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as s,
        contextlib.AsyncExitStack() as held,
    ):
        base = proxy.urls[0]
        for _ in range(watches):
            r = await held.enter_async_context(s.get(base + "/api/v1/configmaps?watch=true"))
            assert r.status == 200
            await asyncio.wait_for(r.content.readline(), 10)
        async with s.get(base + "/api/v1/namespaces/default/configmaps/c") as r:
            assert r.status == 200, await r.text()
            assert (await r.json())["upstream"] == "reads"


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
async def test_a_client_leaving_a_quiet_watch_ends_it_upstream_at_once(
    reads: Upstream, tls: bool, tmp_path: Path
) -> None:
    """Regression: a forwarded watch noticed its client gone only at its
    next write, so a quiet one stayed open upstream for as long as upstream
    stayed quiet. Over TLS too, where the proxy's transport is TLS's."""
    argv: list[str] = []
    context = None
    if tls:
        pki = make_pki(tmp_path / "pki")  # its serving certificate names 127.0.0.1
        argv = ["--tls-cert-file", str(pki.serving_crt), "--tls-key-file", str(pki.serving_key)]
        context = ssl.create_default_context(cafile=str(pki.ca_crt))
    async with open_proxy(settings(*argv), upstream_of(reads.url)) as proxy:
        connector = aiohttp.TCPConnector(ssl=context) if context else None
        async with aiohttp.ClientSession(connector=connector) as s:
            url = proxy.urls[0] + "/api/v1/namespaces/quiet/configmaps?watch=true"
            async with s.get(url) as r:
                await asyncio.wait_for(r.content.readline(), 5)
                assert reads.quiet_open == 1
            # A short request on the same kept-alive connection still works:
            # aiohttp's protocol is back in place after each forwarded one.
            for _ in range(2):
                async with s.get(proxy.urls[0] + "/api/v1/namespaces") as r:
                    assert r.status == 200
        # The client's connection is closed; upstream's follows, though no
        # event comes that the proxy could fail to write.
        await asyncio.wait_for(reads.quiet_ended.wait(), 10)
        assert reads.quiet_open == 0
        assert len(proxy.parts.streams) == 0


async def test_a_client_closing_a_forwarded_watch_is_no_error(
    reads: Upstream, caplog: pytest.LogCaptureFixture
) -> None:
    """Regression: a write to the closed client raised out of the relay:
    an ERROR with a traceback, counted as a 500."""
    async with open_proxy(settings(), upstream_of(reads.url)) as proxy:
        async with aiohttp.ClientSession() as s:
            async with s.get(proxy.urls[0] + "/api/v1/pods?watch=true") as r:
                await asyncio.wait_for(r.content.readline(), 5)
        # Upstream sends its next event after the client left.
        reads.release_watch.set()
        watch = {"verb": "watch", "resource": "pods", "served_by": "upstream"}
        await until(
            lambda: sample(proxy, "watchcache_client_disconnects_total", code="200", **watch),
            "the disconnect to be counted",
        )
        assert sample(proxy, "watchcache_client_disconnects_total", code="200", **watch) == 1
        assert sample(proxy, "watchcache_requests_total", code="200", **watch) == 1
        assert sample(proxy, "watchcache_requests_total", code="500", **watch) == 0
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]


async def test_asking_reads_upstreams_answer_with_another_query_and_headers(
    reads: Upstream,
) -> None:
    """``Forwarder.asking`` (for shareforward.py): the requester's request
    with the query and the headers given, its answer handed back unread."""
    async with UpstreamClient(upstream_of(reads.url)) as client:
        forwarder = Forwarder(client, client, StreamTracker(), ProxyMetrics(CollectorRegistry()))

        async def handle(request: web.Request) -> web.StreamResponse:
            asked = {"Accept": "application/json", "Accept-Encoding": "identity"}
            async with forwarder.asking(request, {"limit": "3"}, asked) as answer:
                assert isinstance(answer, ForwardResponse)
                return web.Response(status=answer.status, body=await answer.read(1 << 20))

        app = web.Application(middlewares=[context_middleware, parse_once])
        app.router.add_get("/{tail:.*}", handle)
        async with TestClient(TestServer(app)) as test_client:
            response = await test_client.get(
                "/api/v1/pods?limit=500",
                headers={
                    "Accept": "application/vnd.kubernetes.protobuf",
                    "Accept-Encoding": "gzip",
                },
            )
            assert response.status == 200
            assert json.loads(await response.read())["upstream"] == "reads"
    method, path_qs, seen = reads.seen[-1]
    assert (method, path_qs) == ("GET", "/api/v1/pods?limit=3")
    assert (seen["Accept"], seen["Accept-Encoding"]) == ("application/json", "identity")
    assert seen["Authorization"] == "Bearer proxy-token"
