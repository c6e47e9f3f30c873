"""Starting the proxy's cached resources: one supervised reflector each.

``open_caches`` checks upstream's discovery (``check_served``), then builds
per resource a ``CachedResource`` (cachedresource.py) and starts its
supervisor, its registry's tick and its consistency checks
(consistency.py, when --consistency-check-interval is set); on exit it
stops them all. autocache.py starts and stops its caches the same way.

Wiring, per resource: the reflector applies each upstream change to the
cache and hands the event to the watcher registry; a relist closes every
watcher (its client resumes from its last RV, or relists from us after a
410, as kube-apiserver's clients do after its own relist); when upstream
lost its state (its RV went backwards) every watcher is ended with a 410
ERROR event instead (``CachedResource.state_lost``); once a second the
registry sends due bookmarks and closes expired watches.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass

from watchcache.api.resources import GroupVersionResource, ResourceInfo, resource_info
from watchcache.cache.cache import Cache, CacheConfig
from watchcache.cache.reflector import Reflector, ReflectorConfig
from watchcache.cache.supervisor import Supervisor
from watchcache.fanout.registry import Registry
from watchcache.proxy.cachedresource import (
    MAX_STALENESS,
    CachedResource,
    collection_path,
    parse_resource,
)
from watchcache.proxy.consistency import run_checks
from watchcache.proxy.persistence import StateDir
from watchcache.proxy.prober import Prober
from watchcache.proxy.rendering import bookmarks_for
from watchcache.upstream import ConfigError, StatusError, UpstreamClient, UpstreamError

__all__ = ["CacheFactory", "check_served", "open_caches"]

log = logging.getLogger(__name__)


async def _tick(registry: Registry) -> None:
    while True:
        await asyncio.sleep(1.0)
        registry.tick()


async def check_served(client: UpstreamClient, resources: Iterable[str]) -> None:
    """Fail at start, in one line (ConfigError), when upstream's discovery
    says it does not serve a resource named by --resources, or serves it
    without list and watch: its cache would otherwise retry for ever and
    /readyz stay 500. Discovery that cannot be read (upstream down, 5xx)
    is not a verdict: logged, and the caches retry as usual."""
    wanted: dict[tuple[str, str], list[tuple[str, GroupVersionResource]]] = {}
    for text in resources:
        try:
            gvr = parse_resource(text)
        except ValueError as err:
            raise ConfigError(str(err)) from None
        wanted.setdefault((gvr.group, gvr.version), []).append((text, gvr))
    server = client.config.server
    for (group, version), named in wanted.items():
        group_version = f"{group}/{version}" if group else version
        prefix = f"/apis/{group}/{version}" if group else f"/api/{version}"
        try:
            body = (await client.get(prefix)).json()
        except StatusError as err:
            if err.code != 404:
                log.warning("cannot check --resources against %s: %s", server, err)
                continue
            text = named[0][0]
            raise ConfigError(
                f"--resources {text}: {server} does not serve the API {group_version}"
            ) from None
        except UpstreamError as err:
            log.warning("cannot check --resources against %s: %s", server, err)
            continue
        served = {r.get("name"): r for r in body.get("resources", [])}
        for text, gvr in named:
            found = served.get(gvr.resource)
            if found is None:
                raise ConfigError(
                    f"--resources {text}: {server} serves no resource {gvr.resource!r} "
                    f"in {group_version}"
                )
            verbs = set(found.get("verbs", []))
            if not {"list", "watch"} <= verbs:
                raise ConfigError(
                    f"--resources {text}: {server} serves {gvr.resource!r} without list and watch"
                )


@dataclass(frozen=True)
class CacheFactory:
    """What every cache of one proxy is built with: ``build`` makes one
    (not started), ``start`` runs its reflector and registry tick,
    ``stop`` ends them. ``open_caches`` uses it for the named resources,
    autocache.py for those cached on first read."""

    client: UpstreamClient
    config: CacheConfig
    max_staleness: float = MAX_STALENESS
    serve_stale: bool = False
    reflector_config: ReflectorConfig | None = None
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    # serve's --watch-write-window (fanout/coalesce.py).
    write_window: float = 0.0
    # serve's --consistency-check-interval: each cache this factory starts,
    # named or auto, is checked as long as it runs (consistency.py).
    consistency_check_interval: float = 0.0

    def build(self, info: ResourceInfo) -> CachedResource:
        client, clock, sleep = self.client, self.clock, self.sleep
        path = collection_path(info.gvr)
        cache = Cache(info, self.config, clock=clock)
        registry = Registry(
            trigger_field=info.trigger_field,
            bookmark_line=bookmarks_for(info),
            clock=clock,
            write_window=self.write_window,
        )
        reflector = Reflector(
            client,
            path,
            cache,
            config=self.reflector_config or ReflectorConfig(),
            on_event=registry.dispatch,
            on_relist=functools.partial(registry.close_all, "the cache relisted"),
            clock=clock,
            sleep=sleep,
        )
        resource = CachedResource(
            info,
            path,
            cache,
            registry,
            reflector,
            Prober(client, path),
            Supervisor(reflector, sleep=sleep),
            self.max_staleness,
            self.serve_stale,
        )
        reflector.on_state_lost = resource.state_lost
        return resource

    def start(self, resource: CachedResource) -> None:
        """Run its reflector, its registry's tick and, when the interval is
        set, its consistency checks: all tasks of the resource, so that
        ``stop`` ends a check under way with the cache it checks."""
        loop = asyncio.get_running_loop()
        resource.tasks = [
            loop.create_task(resource.supervisor.run()),
            loop.create_task(_tick(resource.registry)),
        ]
        interval = self.consistency_check_interval
        if interval > 0:
            checks = run_checks(resource, self.client, interval, self.sleep)
            resource.tasks.append(loop.create_task(checks))

    @staticmethod
    async def stop(resources: Iterable[CachedResource], reason: str) -> None:
        """End the reflectors, close every watcher with ``reason``, and
        wait for their tasks to finish."""
        resources = list(resources)
        for resource in resources:
            resource.reflector.stop()
            resource.registry.close_all(reason)
            for task in resource.tasks:
                task.cancel()
        await asyncio.gather(*(t for r in resources for t in r.tasks), return_exceptions=True)


@contextlib.asynccontextmanager
async def open_caches(
    resources: Iterable[str],
    client: UpstreamClient,
    config: CacheConfig,
    *,
    max_staleness: float = MAX_STALENESS,
    serve_stale: bool = False,
    reflector_config: ReflectorConfig | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    state_dir: StateDir | None = None,
    seed: Callable[[str, Cache], Awaitable[None]] | None = None,
    write_window: float = 0.0,
    consistency_check_interval: float = 0.0,
) -> AsyncIterator[dict[GroupVersionResource, CachedResource]]:
    """Start a supervised reflector per resource; stop them all on exit.
    With ``state_dir``, caches start from their saved state and are saved
    at intervals and on exit (persistence.py). ``seed(path, cache)`` may
    fill a cache before its reflector starts, which then resumes by watch
    from the cache's RV (a worker's replica, watchcache.workers)."""
    resources = list(resources)
    await check_served(client, resources)
    factory = CacheFactory(
        client,
        config,
        max_staleness,
        serve_stale,
        reflector_config,
        clock,
        sleep,
        write_window,
        consistency_check_interval,
    )
    cached: dict[GroupVersionResource, CachedResource] = {}
    for text in resources:
        gvr = parse_resource(text)
        resource = factory.build(resource_info(gvr))
        if state_dir is not None:
            await state_dir.load(gvr, resource.cache)
        if seed is not None:
            await seed(resource.path, resource.cache)
        cached[gvr] = resource
    for resource in cached.values():
        factory.start(resource)
    if state_dir is not None:
        state_dir.start(cached)
    try:
        yield cached
    finally:
        await factory.stop(cached.values(), "shutting down")
        if state_dir is not None:
            await state_dir.close(cached)
