"""Client connections: a read-header deadline and an idle timeout, on every
kind of listener (TCP, TLS, Unix) and under uvloop; the deadline's states
with a fake loop."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import threading
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from tests.inprocess import serve_config

from watchcache.devcluster.pki import Pki, make_pki
from watchcache.proxy.app import Handler, ProxyParts
from watchcache.proxy.config import ServeConfig
from watchcache.proxy.connections import HeaderDeadline, deadline_of
from watchcache.proxy.server import RunningProxy, start_proxy

# Every wait below is for an event (the server closing the socket), bounded
# by this; the deadlines under test are far shorter.
BOUND = 15.0
STATES: list[str] = []


async def hello(request: web.Request) -> web.StreamResponse:
    deadline = deadline_of(request)
    STATES.append(deadline.state if deadline else "none")
    return web.Response(text="hello")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def _config(kind: str, tmp_path: Path, pki: Pki, *argv: str) -> ServeConfig:
    extra: list[str] = []
    if kind == "tls":
        extra = ["--tls-cert-file", str(pki.serving_crt), "--tls-key-file", str(pki.serving_key)]
    elif kind == "unix":
        extra = ["--listen-unix", str(tmp_path / "proxy.sock")]
    return serve_config(*extra, *argv)


@contextlib.asynccontextmanager
async def _serving(config: ServeConfig, handle: Handler) -> AsyncIterator[RunningProxy]:
    """A proxy of ``config`` answering with ``handle``, stopped on exit."""
    proxy = await start_proxy(ProxyParts(config=config, handle=handle))
    try:
        yield proxy
    finally:
        await proxy.stop()


def _connect(proxy: RunningProxy, kind: str, pki: Pki) -> socket.socket:
    """A blocking client socket to the proxy (TLS-wrapped for ``tls``)."""
    if kind == "unix":
        path = next(u for u in proxy.urls if u.startswith("unix://"))[len("unix://") :]
        conn = socket.socket(socket.AF_UNIX)
        conn.settimeout(BOUND)
        conn.connect(path)
        return conn
    host, port = proxy.urls[0].split("://")[1].rsplit(":", 1)
    conn = socket.create_connection((host, int(port)), timeout=BOUND)
    if kind == "tls":
        context = ssl.create_default_context(cafile=str(pki.ca_crt))
        return context.wrap_socket(conn, server_hostname=host)
    return conn


def _read_until_closed(conn: socket.socket) -> bytes:
    """Everything the server sends until it closes; a hang fails by the
    socket's timeout (BOUND)."""
    received = b""
    try:
        while chunk := conn.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    except (ssl.SSLError, OSError) as err:
        if isinstance(err, TimeoutError | socket.timeout):
            raise
    return received


async def _in_thread(fn: Callable[[], bytes]) -> bytes:
    return await asyncio.get_running_loop().run_in_executor(None, fn)


KINDS = ["tcp", "tls", "unix"]


@pytest.mark.parametrize("kind", KINDS)
async def test_a_client_that_never_finishes_its_headers_is_closed(
    kind: str, tmp_path: Path, pki: Pki
) -> None:
    """Before: held for as long as the client liked (125 s seen)."""
    config = _config(kind, tmp_path, pki, "--read-header-timeout", "0.3")
    async with _serving(config, hello) as proxy:

        def slow_client() -> bytes:
            with _connect(proxy, kind, pki) as conn:
                conn.sendall(b"GET /api/v1/pods HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
                return _read_until_closed(conn)

        assert await _in_thread(slow_client) == b"", "no answer: closed, as Go's net/http"


async def test_a_connection_that_sends_nothing_is_closed(tmp_path: Path, pki: Pki) -> None:
    config = _config("tcp", tmp_path, pki, "--read-header-timeout", "0.3")
    async with _serving(config, hello) as proxy:

        def silent_client() -> bytes:
            with _connect(proxy, "tcp", pki) as conn:
                return _read_until_closed(conn)

        assert await _in_thread(silent_client) == b""


async def test_a_stalled_tls_handshake_is_closed(tmp_path: Path, pki: Pki) -> None:
    """The handshake counts against the read-header timeout, as in Go."""
    config = _config("tls", tmp_path, pki, "--read-header-timeout", "0.3")
    async with _serving(config, hello) as proxy:

        def no_handshake() -> bytes:
            host, port = proxy.urls[0].split("://")[1].rsplit(":", 1)
            with socket.create_connection((host, int(port)), timeout=BOUND) as conn:
                conn.sendall(b"\x16\x03\x01")  # the start of a ClientHello, no more
                return _read_until_closed(conn)

        await _in_thread(no_handshake)  # returns (closed) instead of timing out


@pytest.mark.parametrize("kind", KINDS)
async def test_an_idle_keep_alive_connection_is_closed(kind: str, tmp_path: Path, pki: Pki) -> None:
    """A request, its answer, then nothing: closed after --idle-timeout."""
    config = _config(kind, tmp_path, pki, "--idle-timeout", "0.3")
    async with _serving(config, hello) as proxy:

        def one_request_then_idle() -> bytes:
            with _connect(proxy, kind, pki) as conn:
                conn.sendall(b"GET /api/v1/pods HTTP/1.1\r\nHost: localhost\r\n\r\n")
                return _read_until_closed(conn)

        received = await _in_thread(one_request_then_idle)
        assert received.startswith(b"HTTP/1.1 200 OK") and received.endswith(b"hello")


async def test_requests_within_the_deadline_are_served_and_the_timer_stops(
    tmp_path: Path, pki: Pki
) -> None:
    """Each request's handler runs with its connection's header timer
    stopped (a long watch or upload is not cut); two requests on one
    connection are both served."""
    STATES.clear()
    config = _config("tcp", tmp_path, pki, "--read-header-timeout", "5", "--idle-timeout", "5")
    async with _serving(config, hello) as proxy:

        def two_requests() -> bytes:
            with _connect(proxy, "tcp", pki) as conn:
                conn.sendall(b"GET /a HTTP/1.1\r\nHost: localhost\r\n\r\n")
                first = conn.recv(65536)
                conn.sendall(b"GET /b HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                return first + _read_until_closed(conn)

        received = await _in_thread(two_requests)
        assert received.count(b"HTTP/1.1 200 OK") == 2
        assert STATES == ["in request", "in request"]


async def test_a_body_sent_after_its_headers_leaves_the_connection_idle(
    tmp_path: Path, pki: Pki
) -> None:
    """A request whose body arrives after its headers (aiohttp's client and
    curl send them apart; the handler has already started) is no pipelined
    next request: once answered, the kept-alive connection is idle, under
    --idle-timeout, not reading headers under --read-header-timeout (it was
    reset 32 s after such a request however soon the client reused it)."""
    deadlines: list[HeaderDeadline] = []
    started = threading.Event()

    async def upload(request: web.Request) -> web.StreamResponse:
        deadline = deadline_of(request)
        assert deadline is not None
        deadlines.append(deadline)
        started.set()
        body = await request.read()
        return web.Response(text=f"got {len(body)}")

    config = _config("tcp", tmp_path, pki, "--read-header-timeout", "30", "--idle-timeout", "30")
    async with _serving(config, upload) as proxy:

        def headers_then_body() -> bytes:
            with _connect(proxy, "tcp", pki) as conn:
                conn.sendall(
                    b"PATCH /api/v1/namespaces/ns/pods/p/status HTTP/1.1\r\nHost: localhost\r\n"
                    b"Content-Type: application/merge-patch+json\r\nContent-Length: 2\r\n\r\n"
                )
                assert started.wait(BOUND), "the handler never started"
                conn.sendall(b"{}")
                received = b""
                while not received.endswith(b"got 2"):
                    chunk = conn.recv(65536)
                    assert chunk, "closed before the answer"
                    received += chunk
                return received

        received = await _in_thread(headers_then_body)
        assert received.startswith(b"HTTP/1.1 200 OK")
        # The answer is written after the request ended: its state is final.
        assert [d.state for d in deadlines] == ["idle"]


def test_the_deadline_under_uvloop(tmp_path: Path, pki: Pki) -> None:
    """The proxy runs on uvloop, whose transports are not asyncio's."""
    import uvloop

    async def scenario() -> None:
        for kind in KINDS:
            await test_a_client_that_never_finishes_its_headers_is_closed(kind, tmp_path, pki)
            await test_an_idle_keep_alive_connection_is_closed(kind, tmp_path, pki)
        await test_a_stalled_tls_handshake_is_closed(tmp_path, pki)

    _run_in_thread(uvloop.run, scenario())


def _run_in_thread(run: Callable[[Coroutine[Any, Any, None]], None], coro: Any) -> None:
    # A thread of its own: this test's own event loop is not uvloop's.
    errors: list[BaseException] = []

    def target() -> None:
        try:
            run(coro)
        except BaseException as err:  # reported below, in the test's thread
            errors.append(err)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(120)
    assert not thread.is_alive()
    if errors:
        raise errors[0]


# -- the deadline's states, with a fake loop and transport ---------------------


class FakeTimer:
    def __init__(self, when: float, callback: Callable[[], None]) -> None:
        self.when, self.callback, self.cancelled = when, callback, False

    def cancel(self) -> None:
        self.cancelled = True


class FakeLoop:
    def __init__(self) -> None:
        self.timers: list[FakeTimer] = []

    def call_later(self, delay: float, callback: Callable[[], None]) -> FakeTimer:
        timer = FakeTimer(delay, callback)
        self.timers.append(timer)
        return timer

    def live(self) -> list[FakeTimer]:
        return [t for t in self.timers if not t.cancelled]

    def fire(self) -> None:
        (timer,) = self.live()
        timer.cancelled = True
        timer.callback()


class FakeTransport:
    def __init__(self) -> None:
        self.aborted = False
        self.buffered = 0

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def abort(self) -> None:
        self.aborted = True


class FakeHandler(asyncio.Protocol):
    def __init__(self) -> None:
        self.data: list[bytes] = []

    def data_received(self, data: bytes) -> None:
        self.data.append(data)


def _deadline() -> tuple[HeaderDeadline, FakeLoop, FakeTransport, FakeHandler]:
    loop, transport, handler = FakeLoop(), FakeTransport(), FakeHandler()
    deadline = HeaderDeadline(handler, 32.0, loop)  # type: ignore[arg-type]
    deadline.connection_made(transport)  # type: ignore[arg-type]
    return deadline, loop, transport, handler


def test_the_timer_runs_from_accept_until_a_request_starts() -> None:
    deadline, loop, transport, handler = _deadline()
    assert [t.when for t in loop.live()] == [32.0] and deadline.state == "reading"
    deadline.data_received(b"GET / HTTP/1.1\r\n")
    assert handler.data == [b"GET / HTTP/1.1\r\n"]
    assert len(loop.live()) == 1, "bytes of the first request do not restart it"
    deadline.request_started()
    assert loop.live() == [] and deadline.state == "in request"
    deadline.request_ended()
    assert loop.live() == [] and deadline.state == "idle"
    deadline.data_received(b"G")  # the next request begins
    assert len(loop.live()) == 1 and deadline.state == "reading"
    loop.fire()
    assert transport.aborted


class FakeBody:
    def __init__(self) -> None:
        self.whole = False

    def is_eof(self) -> bool:
        return self.whole


def test_bytes_of_the_requests_own_body_do_not_start_the_timer() -> None:
    deadline, loop, _, handler = _deadline()
    body = FakeBody()
    deadline.request_started(body)
    deadline.data_received(b'{"status":{}}')
    body.whole = True
    deadline.request_ended()
    assert handler.data == [b'{"status":{}}']
    assert loop.live() == [] and deadline.state == "idle"


def test_bytes_after_a_whole_body_are_a_pipelined_request() -> None:
    deadline, loop, _, _ = _deadline()
    body = FakeBody()
    body.whole = True
    deadline.request_started(body)
    deadline.data_received(b"GET /next HTTP/1.1\r\n")
    deadline.request_ended()
    assert len(loop.live()) == 1 and deadline.state == "reading"


def test_bytes_pipelined_during_a_request_start_the_timer_when_it_ends() -> None:
    deadline, loop, _, _ = _deadline()
    deadline.request_started()
    deadline.data_received(b"GET /next HTTP/1.1\r\n")
    assert loop.live() == []
    deadline.request_ended()
    assert len(loop.live()) == 1 and deadline.state == "reading"


def test_a_response_still_being_written_is_not_cut() -> None:
    _, loop, transport, _ = _deadline()
    transport.buffered = 1000
    loop.fire()
    assert not transport.aborted and len(loop.live()) == 1
    transport.buffered = 0
    loop.fire()
    assert transport.aborted


def test_a_closed_connection_stops_the_timer() -> None:
    deadline, loop, _, _ = _deadline()
    deadline.connection_lost(None)
    assert loop.live() == [] and deadline.state == "detached"
