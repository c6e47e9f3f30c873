"""The client against a local aiohttp server that misbehaves on purpose."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import itertools
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st

from watchcache.api.status import ApiError
from watchcache.upstream import (
    ClientOptions,
    Credential,
    DisconnectedError,
    ProtocolError,
    StaticCredentials,
    StatusError,
    UnreachableError,
    UpstreamClient,
    UpstreamConfig,
    UpstreamTimeoutError,
)
from watchcache.upstream.client import LineSplitter

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

EXPIRED = {
    "kind": "Status",
    "apiVersion": "v1",
    "metadata": {},
    "status": "Failure",
    "message": "too old resource version: 5 (10)",
    "reason": "Expired",
    "code": 410,
}


class Server:
    """A server whose routes the test fills in; records what it received."""

    def __init__(self) -> None:
        self.app = web.Application()
        self.app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self.routes: dict[tuple[str, str], Handler] = {}
        self.seen: list[web.Request] = []
        self.bodies: list[bytes] = []
        self.url = ""

    def route(self, method: str, path: str, handler: Handler) -> None:
        self.routes[(method, path)] = handler

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(request)
        self.bodies.append(await request.read())
        handler = self.routes.get((request.method, request.path))
        if handler is None:
            raise web.HTTPNotFound()
        return await handler(request)


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    srv = Server()
    runner = web.AppRunner(srv.app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    srv.url = f"http://127.0.0.1:{port}"
    yield srv
    await runner.cleanup()


def client_for(
    srv: Server, options: ClientOptions | None = None, credentials: Any = None
) -> UpstreamClient:
    config = UpstreamConfig(
        server=srv.url,
        credentials=credentials or StaticCredentials(Credential(token="abc")),
    )
    return UpstreamClient(config, options=options)


async def json_handler(request: web.Request) -> web.Response:
    return web.json_response({"kind": "PodList", "items": [], "query": dict(request.query)})


async def test_list_sends_token_and_params(server: Server) -> None:
    server.route("GET", "/api/v1/pods", json_handler)
    async with client_for(server) as client:
        body = await client.list("/api/v1/pods", {"limit": "5", "labelSelector": "a in (b,c)"})
    assert body["query"] == {"limit": "5", "labelSelector": "a in (b,c)"}
    assert server.seen[0].headers["Authorization"] == "Bearer abc"
    assert "UpstreamClient" in repr(client) and "requests=1" in repr(client)


async def test_status_410_is_parsed(server: Server) -> None:
    async def gone(request: web.Request) -> web.Response:
        return web.json_response(EXPIRED, status=410)

    server.route("GET", "/api/v1/pods", gone)
    async with client_for(server) as client:
        with pytest.raises(StatusError) as caught:
            await client.get("/api/v1/pods", {"resourceVersion": "5", "limit": "1"})
    err = caught.value
    assert (err.code, err.reason) == (410, "Expired")
    assert err.message == "too old resource version: 5 (10)"
    assert err.status == EXPIRED
    assert err.retry_after is None
    # As an ApiError it renders byte-for-byte what upstream sent.
    assert isinstance(err.api_error, ApiError)
    assert err.api_error.body() == json.dumps(EXPIRED, separators=(",", ":")).encode()


async def test_expired_continue_keeps_the_replacement_token(server: Server) -> None:
    async def gone(request: web.Request) -> web.Response:
        status = {**EXPIRED, "metadata": {"continue": "eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ"}}
        return web.json_response(status, status=410)

    server.route("GET", "/api/v1/pods", gone)
    async with client_for(server) as client:
        with pytest.raises(StatusError) as caught:
            await client.get("/api/v1/pods", {"continue": "old"})
    assert caught.value.api_error.metadata == {"continue": "eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ"}


async def test_429_exposes_retry_after(server: Server) -> None:
    async def busy(request: web.Request) -> web.Response:
        status = {**EXPIRED, "code": 429, "reason": "TooManyRequests", "message": "slow down"}
        return web.json_response(status, status=429, headers={"Retry-After": "7"})

    server.route("GET", "/api/v1/pods", busy)
    async with client_for(server) as client:
        with pytest.raises(StatusError) as caught:
            await client.list("/api/v1/pods")
    assert (caught.value.code, caught.value.retry_after) == (429, 7)
    assert caught.value.api_error.retry_after == 7


async def test_non_status_error_body_gets_a_synthesised_status(server: Server) -> None:
    async def html(request: web.Request) -> web.Response:
        return web.Response(status=503, text="<html>bad gateway</html>", content_type="text/html")

    server.route("GET", "/api/v1/pods", html)
    async with client_for(server) as client:
        with pytest.raises(StatusError) as caught:
            await client.get("/api/v1/pods")
    err = caught.value
    assert (err.code, err.reason) == (503, "ServiceUnavailable")
    assert "bad gateway" in err.message
    assert err.status["kind"] == "Status"


async def test_refused_connection_is_unreachable() -> None:
    # Bound but not listening: connections are refused, and no other process
    # can take the port meanwhile (as it could once the socket was closed).
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        async with UpstreamClient(UpstreamConfig(server=f"http://127.0.0.1:{port}")) as client:
            with pytest.raises(UnreachableError, match="cannot connect"):
                await client.get("/api/v1/pods")


async def test_hang_past_timeout(server: Server) -> None:
    async def hang(request: web.Request) -> web.Response:
        await asyncio.sleep(30)
        return web.Response()

    server.route("GET", "/api/v1/pods", hang)
    async with client_for(server, ClientOptions(request_timeout=0.3)) as client:
        with pytest.raises(UpstreamTimeoutError):
            await client.get("/api/v1/pods")


async def test_body_over_bound_is_refused(server: Server) -> None:
    async def big(request: web.Request) -> web.Response:
        return web.Response(body=b"x" * 5000)

    server.route("GET", "/big", big)
    async with client_for(server, ClientOptions(max_body_bytes=1000)) as client:
        with pytest.raises(ProtocolError, match="exceeds 1000"):
            await client.get("/big")


def streaming(*pieces: bytes, reset: bool = False, pause: float = 0.0) -> Handler:
    """A chunked response sending ``pieces`` as separate writes, then either
    ending cleanly or dropping the connection without the last chunk."""

    async def handler(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        for piece in pieces:
            await resp.write(piece)
            await asyncio.sleep(pause)
        if reset:
            assert request.transport is not None
            request.transport.abort()
            return resp
        await resp.write_eof()
        return resp

    return handler


async def collect(client: UpstreamClient, path: str) -> list[bytes]:
    async with client.watch(path, {"resourceVersion": "1"}) as lines:
        return [line async for line in lines]


async def test_watch_yields_lines_across_chunk_boundaries(server: Server) -> None:
    server.route(
        "GET",
        "/api/v1/pods",
        streaming(
            b'{"type":"ADDED"}\n{"type":', b'"MODIFIED"}\n\n', b'{"type":"DELETED"}', pause=0.01
        ),
    )
    async with client_for(server) as client:
        lines = await collect(client, "/api/v1/pods")
    assert lines == [b'{"type":"ADDED"}', b'{"type":"MODIFIED"}', b'{"type":"DELETED"}']
    assert server.seen[0].query["watch"] == "true"
    assert server.seen[0].query["resourceVersion"] == "1"


async def test_watch_reset_mid_stream_is_disconnected(server: Server) -> None:
    server.route("GET", "/api/v1/pods", streaming(b'{"type":"ADDED"}\n', reset=True, pause=0.05))
    received: list[bytes] = []
    async with client_for(server) as client:
        with pytest.raises(DisconnectedError):
            async with client.watch("/api/v1/pods") as lines:
                async for line in lines:
                    received.append(line)
    assert received == [b'{"type":"ADDED"}']


async def test_watch_refused_with_status(server: Server) -> None:
    async def gone(request: web.Request) -> web.Response:
        return web.json_response(EXPIRED, status=410)

    server.route("GET", "/api/v1/pods", gone)
    async with client_for(server) as client:
        with pytest.raises(StatusError, match="410 Expired"):
            async with client.watch("/api/v1/pods"):
                pass


async def test_watch_line_over_bound(server: Server) -> None:
    server.route("GET", "/api/v1/pods", streaming(b"y" * 300, b"y" * 300))
    async with client_for(server, ClientOptions(max_line_bytes=500)) as client:
        with pytest.raises(ProtocolError, match="longer than 500"):
            await collect(client, "/api/v1/pods")


async def test_watch_silent_past_read_timeout(server: Server) -> None:
    server.route("GET", "/api/v1/pods", streaming(b'{"a":1}\n', pause=5))
    async with client_for(server, ClientOptions(watch_read_timeout=0.3)) as client:
        with pytest.raises(UpstreamTimeoutError):
            await collect(client, "/api/v1/pods")


async def test_iterating_an_unopened_watch_is_a_bug(server: Server) -> None:
    async with client_for(server) as client:
        with pytest.raises(RuntimeError, match="async with"):
            aiter(client.watch("/api/v1/pods"))


class Rotating:
    """A credential source whose token changes each time one is rejected."""

    def __init__(self) -> None:
        self.generation = 1

    async def get(self) -> Credential:
        return Credential(token=f"tok-{self.generation}")

    def rejected(self, credential: Credential) -> bool:
        if credential.token == f"tok-{self.generation}":
            self.generation += 1
        return True


def accepting(token: str) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {token}":
            return web.json_response({**EXPIRED, "code": 401, "reason": "Unauthorized"}, status=401)
        return web.json_response({"kind": "PodList", "items": []})

    return handler


async def test_401_gets_a_new_credential_and_one_retry(server: Server) -> None:
    server.route("GET", "/api/v1/pods", accepting("tok-2"))
    async with client_for(server, credentials=Rotating()) as client:
        assert (await client.list("/api/v1/pods"))["kind"] == "PodList"
        assert client.retried_401 == 1
    assert [r.headers["Authorization"] for r in server.seen] == ["Bearer tok-1", "Bearer tok-2"]


async def test_401_twice_is_raised(server: Server) -> None:
    server.route("GET", "/api/v1/pods", accepting("tok-9"))
    async with client_for(server, credentials=Rotating()) as client:
        with pytest.raises(StatusError, match="401 Unauthorized"):
            await client.list("/api/v1/pods")
    assert len(server.seen) == 2  # one retry, not a loop


async def test_401_with_static_credentials_is_not_retried(server: Server) -> None:
    server.route("GET", "/api/v1/pods", accepting("other"))
    async with client_for(server) as client:
        with pytest.raises(StatusError):
            await client.list("/api/v1/pods")
    assert len(server.seen) == 1


async def test_forward_streams_both_ways_and_passes_statuses(server: Server) -> None:
    packed = gzip.compress(json.dumps({"kind": "Pod"}).encode())

    async def created(request: web.Request) -> web.Response:
        return web.Response(
            status=201,
            body=packed,
            headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
        )

    server.route("POST", "/api/v1/namespaces/ns/pods", created)

    async def body() -> AsyncIterator[bytes]:
        yield b'{"kind":'
        yield b'"Pod"}'

    async with client_for(server) as client:
        headers = {"Content-Type": "application/json", "Connection": "close", "X-Extra": "1"}
        async with await client.forward(
            "POST", "/api/v1/namespaces/ns/pods", {"dryRun": "All"}, headers, body()
        ) as resp:
            assert resp.status == 201
            assert resp.headers["Content-Encoding"] == "gzip"
            assert "Transfer-Encoding" not in resp.headers
            raw = b"".join([chunk async for chunk in resp.chunks()])
    assert raw == packed  # still encoded, as upstream sent it
    seen = server.seen[0]
    assert server.bodies[0] == b'{"kind":"Pod"}'
    assert seen.query["dryRun"] == "All"
    assert seen.headers["X-Extra"] == "1"
    assert seen.headers["Authorization"] == "Bearer abc"


async def test_forward_error_status_is_not_raised(server: Server) -> None:
    server.route("GET", "/api/v1/namespaces/ns/pods/x", accepting("nobody-has-this"))
    async with client_for(server) as client:
        resp = await client.forward("GET", "/api/v1/namespaces/ns/pods/x")
        async with resp:
            assert resp.status == 401
            assert json.loads(await resp.read(1 << 16))["reason"] == "Unauthorized"


async def test_forward_as_the_caller_sends_only_their_authorization(server: Server) -> None:
    server.route("GET", "/api/v1/pods", json_handler)
    async with client_for(server) as client:
        resp = await client.forward(
            "GET",
            "/api/v1/pods",
            headers={"Authorization": "Bearer callers"},
            use_credentials=False,
        )
        resp.release()
    assert server.seen[0].headers["Authorization"] == "Bearer callers"


@given(
    lines=st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")), max_size=20),
    cuts=st.lists(st.integers(min_value=0, max_value=1000), max_size=30),
    final_newline=st.booleans(),
)
def test_line_splitter_is_independent_of_chunking(
    lines: list[bytes], cuts: list[int], final_newline: bool
) -> None:
    stream = b"\n".join(lines) + (b"\n" if final_newline else b"")
    bounds = sorted({0, len(stream), *(c % (len(stream) + 1) for c in cuts)})
    splitter = LineSplitter(max_line_bytes=1000)
    out: list[bytes] = []
    for start, end in itertools.pairwise(bounds):
        out += splitter.feed(stream[start:end])
    if rest := splitter.rest():
        out.append(rest)
    assert out == [line for line in lines if line]


def test_line_splitter_bounds_an_unterminated_line() -> None:
    splitter = LineSplitter(max_line_bytes=10)
    assert splitter.feed(b"0123456789\n01234") == [b"0123456789"]
    with pytest.raises(ProtocolError):
        splitter.feed(b"567890")


async def test_full_pool_waits_at_most_pool_timeout(server: Server) -> None:
    server.route("GET", "/api/v1/pods", streaming(b'{"a":1}\n', pause=5))
    server.route("GET", "/api/v1/namespaces", json_handler)
    options = ClientOptions(pool_limit=1, pool_timeout=0.3)
    async with client_for(server, options) as client:
        async with await client.forward("GET", "/api/v1/pods"):
            # The one short connection is the unread answer's.
            with pytest.raises(UpstreamTimeoutError):
                await client.list("/api/v1/namespaces")
        # Releasing it frees the connection.
        assert (await client.list("/api/v1/namespaces"))["kind"] == "PodList"


async def test_open_streams_never_take_a_short_requests_connection(server: Server) -> None:
    """Regression: streams and short requests shared one pool, so as many
    open watches as the pool held made every GET wait, then fail."""
    server.route("GET", "/api/v1/pods", streaming(b'{"a":1}\n', pause=5))
    server.route("GET", "/api/v1/namespaces", json_handler)
    options = ClientOptions(pool_limit=1, stream_limit=3, pool_timeout=0.3)
    async with contextlib.AsyncExitStack() as held, client_for(server, options) as client:
        for _ in range(2):
            await held.enter_async_context(client.watch("/api/v1/pods"))
        forwarded = await client.forward("GET", "/api/v1/pods", {"watch": "1"}, stream=True)
        held.push_async_exit(forwarded)
        # Three streams open (the stream pool is full) and the one short
        # connection is still free, twice over.
        for _ in range(2):
            assert (await client.list("/api/v1/namespaces"))["kind"] == "PodList"
        # The stream pool is bounded too: a fourth stream waits, then fails.
        with pytest.raises(UpstreamTimeoutError):
            async with client.watch("/api/v1/pods"):
                pass


async def test_redirect_is_not_followed_and_is_an_error_for_get(server: Server) -> None:
    async def moved(request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": "/elsewhere"})

    server.route("GET", "/api/v1/pods", moved)
    server.route("GET", "/elsewhere", json_handler)
    async with client_for(server) as client:
        with pytest.raises(StatusError) as caught:
            await client.get("/api/v1/pods")
    assert caught.value.code == 302
    assert [r.path for r in server.seen] == ["/api/v1/pods"]


async def test_response_repr_is_short(server: Server) -> None:
    server.route("GET", "/big", lambda request: _text(b"z" * 10_000))
    async with client_for(server) as client:
        response = await client.get("/big")
    assert repr(response) == "<Response 200 10000 bytes>"


async def _text(body: bytes) -> web.Response:
    return web.Response(body=body)


async def test_injected_session_is_used_and_left_open(server: Server) -> None:
    server.route("GET", "/api/v1/pods", json_handler)
    async with aiohttp.ClientSession(headers={"X-Session": "injected"}) as session:
        config = UpstreamConfig(server=server.url)
        async with UpstreamClient(config, session=session) as client:
            await client.list("/api/v1/pods")
        assert not session.closed  # the caller's to close
    assert server.seen[0].headers["X-Session"] == "injected"


async def test_forward_adds_no_headers_of_its_own(server: Server) -> None:
    server.route("PATCH", "/api/v1/namespaces/ns/pods/x", json_handler)

    async def body() -> AsyncIterator[bytes]:
        yield b"{}"

    async with client_for(server) as client:
        resp = await client.forward("PATCH", "/api/v1/namespaces/ns/pods/x", body=body())
        resp.release()
    seen = server.seen[0].headers
    # kube-apiserver would answer 415 to aiohttp's octet-stream default, and
    # the caller never asked for gzip.
    assert "Content-Type" not in seen
    assert "Accept-Encoding" not in seen
    assert seen["Authorization"] == "Bearer abc"
