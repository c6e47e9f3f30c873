"""What ``--auth=delegated`` costs a request the proxy answers itself.

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

    python benchmarks/bench_auth.py [--requests 3000]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import msgspec
from aiohttp import web

from watchcache.api.resources import parse_path
from watchcache.auth import Authenticator, Authorizer, Delegation
from watchcache.auth.authorizer import read_attributes
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
    """Accepts every token as alice and allows everything, at once."""

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
            status = {"authenticated": True, "user": {"username": "alice", "groups": ["dev"]}}
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
    asyncio.run(main(parser.parse_args().requests))
