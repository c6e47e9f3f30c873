"""What ``--auth=delegated`` costs a request the proxy answers itself, and
a watch's events.

An in-process proxy application (build_app, its middleware as served)
answers a trivial handler that authorizes the request as the read path
does (``read_attributes`` then ``Authorizer.authorize``); a client on the
same loop sends sequential keep-alive GETs over loopback. Upstream's
reviews are answered in memory at once, so what is measured is the
proxy's own work: authentication and authorization from their caches
(``hit``: one token, one path), and with every request a new token
(``miss``: a TokenReview each, its decoding and caching). The baseline in
the same run is ``--auth=none`` (no review at all); the ratio is what
delegation costs per request.

Then watches (``--watchers``, default 1,000; issue 17 item 7): the same
application whose handler authorizes a watch as the read path does, then
serves it (fanout/stream.py) from one Registry; the watchers connect from a
client process, each with its own token (so each costs one TokenReview and
one SubjectAccessReview, answered by the same in-memory fake upstream),
and ``--events`` 1 KB events are dispatched to all. Two figures per mode,
CPU of the server process only (``time.process_time``): CPU per watch
opened (connect, authenticate, authorize, hand over), and deliveries per
CPU-second once open. ``--auth=none`` in the same run is the baseline: the
authentication is per watch, so the deliveries should not differ.

The fake upstream answers as kube-apiserver 1.20 does in shape (a
TokenReview with status.user, a SubjectAccessReview with status.allowed),
at once: upstream's own time for a review is not counted, only the
proxy's.

    python -m benchmarks.bench_auth [--requests 3000] [--watchers 1000] [--events 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import itertools
import multiprocessing as mp
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import msgspec
from aiohttp import web

from benchmarks.bench_fanout_broadcast import (
    CountingClient,
    Ev,
    event_line,
    raise_nofile,
    wait_event,
)
from watchcache.api.resources import parse_path
from watchcache.api.selectors import FieldSelector, LabelSelector
from watchcache.auth import Authenticator, Authorizer, Delegation
from watchcache.auth.authorizer import read_attributes
from watchcache.fanout.filter import WatchFilter
from watchcache.fanout.registry import Registry
from watchcache.fanout.stream import serve_watch
from watchcache.proxy.app import ProxyParts, build_app
from watchcache.proxy.config import ServeConfig
from watchcache.proxy.context import REQUEST_CONTEXT

PATH = "/api/v1/namespaces/web/pods?resourceVersion=0"


@dataclass
class _Answer:
    body: bytes

    def json(self) -> Any:
        return msgspec.json.decode(self.body)


class InstantUpstream:
    """Accepts every token as a user of its own name (``user-<token>``, in
    group dev) and allows everything, at once."""

    async def request(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        body: bytes | None = None,
        content_type: str = "application/json",
    ) -> _Answer:
        review = msgspec.json.decode(body or b"{}")
        if review["kind"] == "TokenReview":
            user = {"username": f"user-{review['spec']['token']}", "groups": ["dev"]}
            status = {"authenticated": True, "user": user}
        else:
            status = {"allowed": True}
        return _Answer(msgspec.json.encode({**review, "status": status}))


async def _handler(request: web.Request) -> web.StreamResponse:
    parts = request.app["bench_authorizer"]
    if parts is not None:
        where = parse_path(request.path)
        assert where is not None
        identity = request[REQUEST_CONTEXT].identity
        decision = await parts.authorize(identity, read_attributes(where, "list", request.query))
        assert decision.allowed
    return web.Response(body=b'{"items":[]}', content_type="application/json")


async def _run(delegated: bool, requests: int, new_tokens: bool) -> float:
    """Requests per second."""
    delegation = None
    if delegated:
        upstream = InstantUpstream()
        delegation = Delegation(Authenticator(upstream), Authorizer(upstream))
    app = build_app(ProxyParts(config=ServeConfig(), handle=_handler, delegation=delegation))
    app["bench_authorizer"] = delegation.authorizer if delegation else None
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = site.name + PATH
    tokens = (f"token-{i}" for i in itertools.count()) if new_tokens else itertools.repeat("t")
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(50):  # warm: connection, caches
                async with http.get(url, headers={"Authorization": "Bearer t"}) as r:
                    await r.read()
            start = time.perf_counter()
            for _ in range(requests):
                headers = {"Authorization": f"Bearer {next(tokens)}"}
                async with http.get(url, headers=headers) as r:
                    assert r.status == 200, await r.text()
                    await r.read()
            return requests / (time.perf_counter() - start)
    finally:
        await runner.cleanup()


# -- watches ------------------------------------------------------------------

WATCH = "/api/v1/namespaces/web/pods?watch=1&resourceVersion=0"


def _no_initial_events() -> tuple[tuple[bytes, ...], int]:
    return (), 0


async def _watch_server(
    delegated: bool,
) -> tuple[web.AppRunner, int, Registry, Delegation | None]:
    registry = Registry()
    delegation = None
    if delegated:
        upstream = InstantUpstream()
        delegation = Delegation(Authenticator(upstream), Authorizer(upstream))
    everything = WatchFilter(None, LabelSelector(), FieldSelector())

    async def handler(request: web.Request) -> web.StreamResponse:
        if delegation is not None:  # as ReadPath._authorize
            where = parse_path(request.path)
            assert where is not None
            identity = request[REQUEST_CONTEXT].identity
            attributes = read_attributes(where, "watch", request.query)
            assert (await delegation.authorizer.authorize(identity, attributes)).allowed
        return await serve_watch(request, registry, everything, _no_initial_events)

    app = build_app(ProxyParts(config=ServeConfig(), handle=handler, delegation=delegation))
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=4096)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, port, registry, delegation


def watch_clients(
    port: int,
    watchers: int,
    expected: int,
    ready: mp.Event,  # type: ignore[valid-type]
    finished: mp.Event,  # type: ignore[valid-type]
) -> None:
    raise_nofile(watchers + 1024)

    async def go() -> None:
        loop = asyncio.get_running_loop()
        dones = []
        for i in range(watchers):
            request = (
                f"GET {WATCH} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer token-{i}\r\n\r\n"
            ).encode()
            done: asyncio.Future[None] = loop.create_future()
            client = functools.partial(CountingClient, request, expected, done)
            await loop.create_connection(client, "127.0.0.1", port)
            dones.append(done)
        ready.set()  # type: ignore[attr-defined]
        await asyncio.wait_for(asyncio.gather(*dones), 600)
        finished.set()  # type: ignore[attr-defined]

    asyncio.run(go())


async def _watch_run(delegated: bool, watchers: int, lines: list[bytes]) -> tuple[float, float]:
    """CPU microseconds per watch opened, and deliveries per CPU-second."""
    runner, port, registry, delegation = await _watch_server(delegated)
    ready, finished = mp.Event(), mp.Event()
    clients = mp.Process(
        target=watch_clients, args=(port, watchers, len(lines), ready, finished), daemon=True
    )
    cpu = time.process_time()
    clients.start()
    await wait_event(ready)
    while len(registry) < watchers:
        await asyncio.sleep(0.001)
    opened = time.process_time() - cpu
    if delegation is not None:
        assert delegation.authenticator.reviews == watchers, "a review per watcher's token"
    events = [Ev(i + 1, line) for i, line in enumerate(lines)]
    cpu = time.process_time()
    for i, event in enumerate(events):
        await registry.dispatch(event)
        if i % 16 == 15:
            await asyncio.sleep(0)
    await wait_event(finished)
    used = time.process_time() - cpu
    assert registry.statistics().closed_slow == 0, "a watcher closed as slow: numbers wrong"
    registry.close_all("done")
    clients.terminate()
    await runner.cleanup()
    return opened / watchers * 1e6, watchers * len(lines) / used


async def watches(watchers: int, events: int) -> None:
    print(
        f"{watchers} watchers, each with its own token, {events} events of 1 KB to each; "
        "server CPU only, best of 3"
    )
    lines = [event_line(i + 1) for i in range(events)]
    modes = {"--auth=none": False, "--auth=delegated": True}
    opened = dict.fromkeys(modes, float("inf"))
    rate = dict.fromkeys(modes, 0.0)
    for _ in range(3):  # interleaved, as above
        for name, delegated in modes.items():
            per_watch, deliveries = await _watch_run(delegated, watchers, lines)
            opened[name] = min(opened[name], per_watch)
            rate[name] = max(rate[name], deliveries)
    base = rate["--auth=none"]
    for name in modes:
        print(
            f"{name:18} {opened[name]:6.0f} us CPU per watch opened   "
            f"{rate[name]:10,.0f} deliveries/CPU-s  ratio to --auth=none {rate[name] / base:4.2f}"
        )


async def main(requests: int) -> None:
    print(f"{requests} sequential keep-alive GETs, best of 3 (requests per second)")
    cases = [("--auth=none", False, False), ("delegated, hit", True, False)]
    cases.append(("delegated, miss", True, True))
    best = dict.fromkeys((name for name, _, _ in cases), 0.0)
    for _ in range(3):  # interleaved, so a noisy neighbour hits every case alike
        for name, delegated, new_tokens in cases:
            best[name] = max(best[name], await _run(delegated, requests, new_tokens))
    base = best["--auth=none"]
    for name, rate in best.items():
        per_request = (1 / rate - 1 / base) * 1e6
        print(
            f"{name:18} {rate:8.0f}/s  ratio to --auth=none {rate / base:4.2f}  +{per_request:5.0f} us"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--watchers", type=int, default=1000, help="0: no watch figures")
    parser.add_argument("--events", type=int, default=1000)
    args = parser.parse_args()
    asyncio.run(main(args.requests))
    if args.watchers:
        asyncio.run(watches(args.watchers, args.events))
