"""serve_watch over a real loopback socket, read by aiohttp's client."""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from tests.unit.fanout.fakes import EqSelector, Event, Obj

from watchcache.devcluster.pki import make_pki
from watchcache.fanout.filter import WatchFilter
from watchcache.fanout.registry import Registry
from watchcache.fanout.stream import serve_watch


async def start(
    registry: Registry, ssl_context: ssl.SSLContext | None = None, **options: object
) -> tuple[web.AppRunner, str]:
    async def handler(request: web.Request) -> web.StreamResponse:
        kwargs = dict(options)
        selector = request.query.get("color")
        flt = WatchFilter(None, EqSelector({"color": selector} if selector else {}), EqSelector())
        initial = kwargs.pop("initial", [])
        rv = kwargs.pop("initial_rv", 1)
        return await serve_watch(request, registry, flt, lambda: (initial, rv), **kwargs)  # type: ignore[arg-type]

    app = web.Application()
    app.router.add_get("/watch", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    scheme = "https" if ssl_context else "http"
    return runner, f"{scheme}://127.0.0.1:{port}/watch"


async def wait_for_watchers(registry: Registry, count: int) -> None:
    for _ in range(500):
        if len(registry) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("watchers did not register")


async def test_events_then_a_clean_end() -> None:
    registry = Registry()
    runner, url = await start(registry)
    try:
        async with aiohttp.ClientSession() as session, session.get(url + "?color=blue") as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"] == "application/json"
            assert resp.headers["Transfer-Encoding"] == "chunked"
            await wait_for_watchers(registry, 1)
            await registry.dispatch(Event("ADDED", 2, Obj("ns", "a", {"color": "blue"})))
            await registry.dispatch(Event("ADDED", 3, Obj("ns", "b", {"color": "red"})))
            await registry.dispatch(
                Event(
                    "MODIFIED",
                    4,
                    Obj("ns", "a", {"color": "red"}),
                    Obj("ns", "a", {"color": "blue"}),
                )
            )
            first = json.loads(await resp.content.readline())
            second = json.loads(await resp.content.readline())
            assert (first["type"], first["object"]["metadata"]["name"]) == ("ADDED", "a")
            assert (second["type"], second["object"]["metadata"]["resourceVersion"]) == (
                "DELETED",
                "4",
            )
            next(iter(registry.candidates(Event("ADDED", 5, Obj("ns", "z", {}))))).close("deadline")
            # The terminating chunk arrives: the body ends without an error.
            assert await asyncio.wait_for(resp.content.read(), 5) == b""
    finally:
        registry.close_all("test over")
        await runner.cleanup()


async def test_initial_events_come_first_even_with_live_ones_waiting() -> None:
    registry = Registry()
    initial = [
        json.dumps(
            {"type": "ADDED", "object": {"metadata": {"name": f"init-{i}", "resourceVersion": "1"}}}
        ).encode()
        + b"\n"
        for i in range(2000)
    ]
    runner, url = await start(registry, initial=initial, initial_rv=1)
    try:
        async with aiohttp.ClientSession() as session, session.get(url) as resp:
            await wait_for_watchers(registry, 1)
            await registry.dispatch(Event("ADDED", 2, Obj("ns", "live", {})))
            names = []
            while len(names) < 2001:
                names.append(
                    json.loads(await asyncio.wait_for(resp.content.readline(), 5))["object"][
                        "metadata"
                    ]["name"]
                )
            assert names[:2000] == [f"init-{i}" for i in range(2000)]
            assert names[2000] == "live"
    finally:
        registry.close_all("test over")
        await runner.cleanup()


async def _events_then_a_clean_end(
    url: str,
    registry: Registry,
    once_live: Callable[[aiohttp.ClientResponse], Awaitable[None]] | None = None,
    **client: object,
) -> None:
    """One watcher sees its events, live, then the terminating chunk;
    ``once_live`` checks more while it is open."""
    async with (
        aiohttp.ClientSession(**client) as session,  # type: ignore[arg-type]
        session.get(url + "?color=blue") as resp,
    ):
        assert resp.status == 200
        await wait_for_watchers(registry, 1)
        if once_live is not None:
            await once_live(resp)
        await registry.dispatch(Event("ADDED", 2, Obj("ns", "a", {"color": "blue"})))
        line = json.loads(await asyncio.wait_for(resp.content.readline(), 5))
        assert line["object"]["metadata"]["name"] == "a"
        registry.close_all("deadline")
        assert await asyncio.wait_for(resp.content.read(), 5) == b""


async def test_a_live_watch_is_handed_over_and_aiohttp_lets_go() -> None:
    """Once live, aiohttp holds nothing of the watch (that is what makes an
    idle watcher small), and events still flow until a clean end."""
    registry = Registry()
    runner, url = await start(registry)

    async def aiohttp_let_go(resp: aiohttp.ClientResponse) -> None:
        assert runner.server is not None
        for _ in range(100):
            if not runner.server.connections:
                break
            await asyncio.sleep(0.01)
        assert runner.server.connections == []
        assert resp.headers["Connection"] == "close"

    try:
        await _events_then_a_clean_end(url, registry, aiohttp_let_go)
    finally:
        registry.close_all("test over")
        await runner.cleanup()


async def test_a_client_that_leaves_a_handed_over_watch_is_forgotten_at_once() -> None:
    registry = Registry()
    runner, url = await start(registry)
    try:
        async with aiohttp.ClientSession() as session:
            resp = await session.get(url)
            await wait_for_watchers(registry, 1)
            watcher = next(iter(registry.candidates(Event("ADDED", 2, Obj("ns", "z", {})))))
            resp.close()
            # No tick: the connection's protocol hears the socket close.
            assert await asyncio.wait_for(watcher.closed, 5) == "client went away"
        assert len(registry) == 0
    finally:
        registry.close_all("test over")
        await runner.cleanup()


async def test_a_handed_over_watch_over_tls(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")  # its serving certificate names 127.0.0.1
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(pki.serving_crt, pki.serving_key)
    client = ssl.create_default_context(cafile=str(pki.ca_crt))
    registry = Registry()
    runner, url = await start(registry, ssl_context=server)
    try:
        await _events_then_a_clean_end(url, registry, connector=aiohttp.TCPConnector(ssl=client))
    finally:
        registry.close_all("test over")
        await runner.cleanup()


def test_a_handed_over_watch_under_uvloop() -> None:
    """The proxy runs on uvloop, whose transports are not asyncio's classes."""
    import uvloop

    async def scenario() -> None:
        registry = Registry()
        runner, url = await start(registry)
        try:
            await _events_then_a_clean_end(url, registry)
        finally:
            registry.close_all("test over")
            await runner.cleanup()

    # A thread of its own: this test's own event loop is not uvloop's.
    import threading

    errors: list[BaseException] = []

    def run() -> None:
        try:
            uvloop.run(scenario())
        except BaseException as err:  # reported below, in the test's thread
            errors.append(err)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    assert not thread.is_alive()
    assert errors == []


def server_side_connections(port: int) -> int:
    """TCP connections whose local port is ``port``, the listener aside, as
    the kernel holds them (closed sockets it still owes bytes included)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            next(lines)
            for line in lines:
                local, state = line.split()[1], line.split()[3]
                if int(local.rsplit(":", 1)[1], 16) == port and state != "0A":
                    count += 1
    return count


@pytest.mark.parametrize("held_by", ["the process", "the kernel"])
async def test_a_closed_watch_whose_client_does_not_read_is_dropped(held_by: str) -> None:
    """Ended with bytes its client will not take, in the proxy's buffer
    (closed as too slow) or only in the kernel's send buffer (the socket
    already closed): after the grace the connection is gone, with its
    buffers. Before: kept for as long as the client kept the connection
    (50 such clients pinned 135 MB of kernel memory)."""
    import socket

    registry = Registry()
    runner, url = await start(registry, end_grace=0.2)
    host, port = url.split("/")[2].split(":")
    stuck = socket.socket()
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # fills at once
    stuck.connect((host, int(port)))
    try:
        stuck.sendall(f"GET /watch HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        await wait_for_watchers(registry, 1)
        (watcher,) = registry.candidates(Event("ADDED", 2, Obj("ns", "z", {})))
        if held_by == "the process":
            big = "x" * 500_000
            for rv in range(2, 40):  # 19 MB: beyond any loopback socket's buffers
                await registry.dispatch(Event("ADDED", rv, Obj("ns", f"o{rv}", {"big": big})))
                if watcher.closed.done():
                    break
            assert watcher.close_reason is not None and watcher.close_reason.startswith("too slow")
            assert watcher.socket.queued_bytes() > 0
        else:
            await registry.dispatch(Event("ADDED", 2, Obj("ns", "o", {"big": "x" * 40_000})))
            await asyncio.sleep(0)  # the flush
            assert watcher.socket.queued_bytes() == 0, "the kernel took it all"
            watcher.close("deadline")
        assert server_side_connections(int(port)) == 1
        for _ in range(1000):  # bounded: 10 s against a 0.2 s grace
            if server_side_connections(int(port)) == 0:
                break
            await asyncio.sleep(0.01)
        assert server_side_connections(int(port)) == 0
    finally:
        stuck.close()
        registry.close_all("test over")
        await runner.cleanup()


async def test_a_watch_served_without_the_window_is_written_at_each_batch() -> None:
    """A registry's write window holds a busy watch's next events; a watch
    served with ``windowed=False`` (another watchcache's, reads.py) is
    written at the end of every batch all the same."""
    registry = Registry(write_window=3600.0)
    runner_held, url_held = await start(registry)
    runner_prompt, url_prompt = await start(registry, windowed=False)
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(url_held) as held,
            session.get(url_prompt) as prompt,
        ):
            await wait_for_watchers(registry, 2)
            for rv in (2, 3):  # a third would make a pair, written at once
                await registry.dispatch(Event("ADDED", rv, Obj("ns", f"p{rv}", {})))
                line = await asyncio.wait_for(prompt.content.readline(), 5)
                assert json.loads(line)["object"]["metadata"]["name"] == f"p{rv}"
            first = await asyncio.wait_for(held.content.readline(), 5)
            assert json.loads(first)["object"]["metadata"]["name"] == "p2"
            sockets = [
                w.socket.statistics()
                for w in registry.candidates(Event("ADDED", 5, Obj("ns", "x", {})))
            ]
            # Both accepted both; the held one wrote the first only.
            assert sorted((s.deliveries, s.writes) for s in sockets) == [(2, 1), (2, 2)]
    finally:
        registry.close_all("test over")
        await runner_held.cleanup()
        await runner_prompt.cleanup()


async def test_an_http_1_0_watch_is_streamed_unchunked_until_close() -> None:
    """HTTP/1.0 has no chunked encoding; Go's net/http (kube-apiserver)
    sends the body as it is and closes at its end. Before: a 500."""
    registry = Registry()
    runner, url = await start(registry, initial=[b'{"type":"ADDED","n":1}\n'])
    host, port = url.split("/")[2].split(":")
    try:
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(f"GET /watch HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
        await wait_for_watchers(registry, 1)
        await registry.dispatch(Event("ADDED", 2, Obj("ns", "a", {})))
        next(iter(registry.candidates(Event("ADDED", 3, Obj("ns", "z", {}))))).close("deadline")
        received = await asyncio.wait_for(reader.read(), 5)  # until the server closes
        writer.close()
        head, _, body = received.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.0 200 OK\r\n"), head
        assert b"transfer-encoding" not in head.lower()
        lines = body.splitlines()
        assert lines[0] == b'{"type":"ADDED","n":1}'
        assert json.loads(lines[1])["object"]["metadata"]["name"] == "a"
        assert len(lines) == 2
    finally:
        registry.close_all("test over")
        await runner.cleanup()


async def test_a_connect_disconnect_storm_leaves_no_watcher_behind() -> None:
    """Watches that clients open and leave are released with their sockets,
    timer entries included. Before: each stayed referenced by the deadline
    heap until its deadline (an hour here), 2,000 per storm round."""
    import gc

    from watchcache.fanout.watcher import Watcher

    def live_watchers() -> int:
        gc.collect()
        return sum(1 for o in gc.get_objects() if isinstance(o, Watcher))

    registry = Registry()
    runner, url = await start(registry, bookmarks=True, duration=3600)
    before = live_watchers()
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            for _ in range(3):
                responses = await asyncio.gather(*(session.get(url) for _ in range(100)))
                await wait_for_watchers(registry, 100)
                assert registry.statistics().timer_entries >= 300
                for resp in responses:
                    resp.close()
                for _ in range(500):  # each connection's protocol hears its client go
                    if len(registry) == 0:
                        break
                    await asyncio.sleep(0.01)
                assert len(registry) == 0
                assert registry.statistics().timer_entries == 0
                del responses, resp
        assert live_watchers() == before
    finally:
        registry.close_all("test over")
        await runner.cleanup()


async def test_a_watch_s_deadline_is_on_the_registry_s_clock() -> None:
    """timeoutSeconds counts on the injected clock: moving it past the
    deadline ends the watch on the next tick, with no wait on real time."""
    now = [1000.0]
    registry = Registry(clock=lambda: now[0])
    runner, url = await start(registry, duration=30.0)
    try:
        async with aiohttp.ClientSession() as session, session.get(url) as resp:
            await wait_for_watchers(registry, 1)
            (watcher,) = registry.candidates(Event("ADDED", 2, Obj("ns", "z", {})))
            assert watcher.deadline == 1030.0
            now[0] = 1029.0
            registry.tick()
            assert not watcher.closed.done()
            now[0] = 1030.0
            registry.tick()
            assert watcher.close_reason == "deadline"
            assert await asyncio.wait_for(resp.content.read(), 5) == b""
    finally:
        registry.close_all("test over")
        await runner.cleanup()
