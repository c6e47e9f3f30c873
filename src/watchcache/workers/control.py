"""Control sockets: what the processes of one ``serve --workers`` ask each other.

Every process (the primary, each worker) serves a small HTTP app on a
Unix socket in the run directory's ``control/``, named ``<name>.sock``
(``primary``, or the worker's slot), reachable by this user only (the run
directory is mode 0700):

    GET /metrics             the process's own metrics (metrics.py merges
                             them for a client's /metrics)
    GET /history?path=P      the primary only: for the cached collection P,
                             ``{"from": M, "rv": R}``: its history answers
                             every watch from M on, its cache is at R; 503
                             until that cache has synced. A worker starts
                             its replica from M (replica.py)
    GET /auto-cache?resource=G/V/R
                             the primary only, with --auto-cache: a worker
                             about to cache that resource asks whether the
                             primary does (``autocache.Verdict``, JSON);
                             a read of it in the primary (autocache.py)

These are not the feed: the workers' lists and watches go to the primary's
feed socket, which speaks the Kubernetes API (serve's own app).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path

import msgspec
from aiohttp import web

from watchcache.api.resources import GroupVersionResource
from watchcache.proxy.autocache import AutoCaches
from watchcache.proxy.cachedresource import CachedResource

__all__ = [
    "HistoryStart",
    "auto_cache_route",
    "control_socket",
    "history_route",
    "serving_control",
]


class HistoryStart(msgspec.Struct):
    from_: int = msgspec.field(name="from")
    rv: int


def control_socket(control_dir: Path, name: str) -> Path:
    return control_dir / f"{name}.sock"


def history_route(caches: Callable[[], Mapping[str, CachedResource]]) -> web.RouteDef:
    """GET /history of the primary's caches, by collection path."""

    async def history(request: web.Request) -> web.Response:
        resource = caches().get(request.query.get("path", ""))
        if resource is None:
            return web.Response(status=404, text="no such cached collection")
        if not resource.reflector.synced.is_set():
            return web.Response(status=503, text="not synced yet")
        cache = resource.cache
        start = HistoryStart(from_=cache.history.oldest() - 1, rv=cache.rv)
        return web.Response(body=msgspec.json.encode(start), content_type="application/json")

    return web.get("/history", history)


def auto_cache_route(auto: AutoCaches) -> web.RouteDef:
    """GET /auto-cache of the primary's auto caches."""

    async def verdict(request: web.Request) -> web.Response:
        parts = request.query.get("resource", "").split("/")
        if len(parts) != 3 or not all(parts[1:]):
            return web.Response(status=400, text="resource: group/version/resource")
        found = auto.verdict(GroupVersionResource(*parts))
        return web.Response(body=msgspec.json.encode(found), content_type="application/json")

    return web.get("/auto-cache", verdict)


@contextlib.asynccontextmanager
async def serving_control(
    path: Path, metrics: Callable[[], bytes], *routes: web.RouteDef
) -> AsyncIterator[None]:
    """The control app on ``path`` until exit; the socket removed after."""

    async def own_metrics(_request: web.Request) -> web.Response:
        return web.Response(body=metrics(), content_type="text/plain")

    app = web.Application()
    app.add_routes([web.get("/metrics", own_metrics), *routes])
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    site = web.UnixSite(runner, str(path))
    await site.start()
    try:
        yield
    finally:
        # Gone from the directory first: a scrape no longer looks for it.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        await runner.cleanup()
