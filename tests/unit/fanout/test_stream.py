"""serve_watch over a real loopback socket, read by aiohttp's client."""

from __future__ import annotations

import asyncio
import json

import aiohttp
from aiohttp import web
from tests.unit.fanout.fakes import EqSelector, Event, Obj

from watchcache.fanout.filter import WatchFilter
from watchcache.fanout.registry import Registry
from watchcache.fanout.stream import serve_watch


async def start(registry: Registry, **options: object) -> tuple[web.AppRunner, str]:
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
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}/watch"


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


async def test_a_client_that_leaves_is_forgotten_on_tick() -> None:
    registry = Registry()
    runner, url = await start(registry)
    try:
        async with aiohttp.ClientSession() as session:
            resp = await session.get(url)
            await wait_for_watchers(registry, 1)
            resp.close()
        for _ in range(200):
            registry.tick()
            if len(registry) == 0:
                break
            await asyncio.sleep(0.01)
        assert len(registry) == 0
    finally:
        registry.close_all("test over")
        await runner.cleanup()
