"""The cached resources of one proxy: a cache, its reflector, its watchers.

Glossary:
    cached resource   one (group, version, resource) named by --resources,
                      mirrored from the read upstream by a reflector and
                      served by the read path (reads.py)
    probe             a one-item LIST sent upstream to learn its current RV,
                      for consistent reads (see ``Prober``)
    staleness         how long since the reflector last heard from upstream
                      (``Reflector.silence``); past ``max_staleness`` the
                      resource is not ready (/readyz), whatever the cause:
                      upstream unreachable, refusing, or silently stuck
    supervisor        what runs a reflector (cache/supervisor.py): a run
                      that raises is a bug of ours, logged, counted
                      (``restarts``), reported in readiness while the
                      supervisor waits to run it again, relisting

Wiring, per resource: the reflector applies each upstream change to the
cache and hands the event to the watcher registry; a relist closes every
watcher (its client resumes from its last RV, or relists from us after a
410, as kube-apiserver's clients do after its own relist); when upstream
lost its state (its RV went backwards) every watcher is ended with a 410
ERROR event instead, since the RVs its client holds mean nothing now;
once a second the registry sends due bookmarks and closes expired watches.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from watchcache.api.listoptions import INITIAL_EVENTS_END
from watchcache.api.resources import GroupVersionResource, ResourceInfo, resource_info
from watchcache.api.status import expired
from watchcache.api.watchevent import BOOKMARK, error_line, watch_line
from watchcache.cache.cache import Cache, CacheConfig
from watchcache.cache.reflector import Reflector, ReflectorConfig
from watchcache.cache.supervisor import Supervisor
from watchcache.fanout.registry import Registry
from watchcache.upstream import ConfigError, StatusError, UpstreamClient, UpstreamError

__all__ = [
    "MAX_STALENESS",
    "CachedResource",
    "Prober",
    "check_served",
    "open_caches",
    "parse_resource",
]

log = logging.getLogger(__name__)

# A healthy watch of a quiet resource hears a bookmark about once a minute
# and is renewed after 90 s of silence at worst (ReflectorConfig's
# stall_timeout): two minutes is past both.
MAX_STALENESS = 120.0


def parse_resource(text: str) -> GroupVersionResource:
    """``pods`` (core, v1) or ``group/version/resource``."""
    parts = text.strip().strip("/").split("/")
    if len(parts) == 1 and parts[0]:
        return GroupVersionResource("", "v1", parts[0])
    if len(parts) == 2 and parts[0] == "v1":
        return GroupVersionResource("", "v1", parts[1])
    if len(parts) == 3 and all(parts):
        return GroupVersionResource(*parts)
    raise ValueError(
        f"--resources {text!r}: expected a plural name (pods) or group/version/resource"
    )


def collection_path(gvr: GroupVersionResource) -> str:
    prefix = f"/apis/{gvr.group}/{gvr.version}" if gvr.group else f"/api/{gvr.version}"
    return f"{prefix}/{gvr.resource}"


class Prober:
    """Upstream's current RV, for consistent reads, asked as seldom as is safe.

    A read may share a probe only if the probe was sent after the read
    arrived: one already sent might have been answered before a write the
    reader saw acknowledged. So a read joins the next probe while it is
    still unsent (the reads a burst brings within one event-loop turn all
    share it); a read arriving once it is out waits for the one after,
    which starts when the current one ends and serves every read that
    queued meanwhile: at most one probe in flight and one queued, however
    many reads arrive.
    """

    def __init__(self, client: UpstreamClient, path: str) -> None:
        self.client = client
        self.path = path
        self._inflight: asyncio.Future[int] | None = None
        self._inflight_sent = False
        self._queued: asyncio.Future[int] | None = None
        self.sent = 0
        # Reads that joined a probe another read had already asked for.
        self.coalesced = 0
        # The newest RV a probe has returned (0 before the first).
        self.last_rv = 0

    async def current_rv(self) -> int:
        if self._inflight is None:
            self._inflight = self._start()
            return await asyncio.shield(self._inflight)
        if not self._inflight_sent:
            self.coalesced += 1
            return await asyncio.shield(self._inflight)
        if self._queued is None:
            self._queued = asyncio.get_running_loop().create_future()
        else:
            self.coalesced += 1
        return await asyncio.shield(self._queued)

    def _start(self) -> asyncio.Future[int]:
        self.sent += 1
        self._inflight_sent = False
        task = asyncio.get_running_loop().create_task(self._ask())
        task.add_done_callback(self._promote)
        return task

    async def _ask(self) -> int:
        # From here on the request may be on the wire: later reads queue.
        self._inflight_sent = True
        body = (await self.client.get(self.path, {"limit": "1"})).json()
        rv = int(body["metadata"]["resourceVersion"])
        self.last_rv = max(self.last_rv, rv)
        return rv

    def _promote(self, done: asyncio.Future[int]) -> None:
        """The probe in flight ended: start the queued one, if any."""
        queued, self._queued = self._queued, None
        if queued is None:
            self._inflight = None
            return
        self._inflight = self._start()

        def settle(probe: asyncio.Future[int]) -> None:
            if queued.done():
                return
            if probe.cancelled():
                queued.cancel()
            elif (error := probe.exception()) is not None:
                queued.set_exception(error)
            else:
                queued.set_result(probe.result())

        self._inflight.add_done_callback(settle)


@dataclass
class CachedResource:
    info: ResourceInfo
    path: str
    cache: Cache
    registry: Registry
    reflector: Reflector
    prober: Prober
    supervisor: Supervisor
    max_staleness: float = MAX_STALENESS
    # --serve-stale-on-outage: past max_staleness, ready and serving (outage).
    serve_stale: bool = False
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    # Consistency checks by result: match, mismatch, skipped (consistency.py).
    consistency: Counter[str] = field(default_factory=Counter)

    @property
    def restarts(self) -> int:
        return self.supervisor.restarts

    @property
    def failed(self) -> str | None:
        return self.supervisor.failed

    def unready(self) -> str | None:
        """Why this resource should not be served (readiness), or None."""
        reflector = self.reflector
        last = reflector.last_error
        tail = f"; last upstream error: {_one_line(last)}" if last else ""
        if self.failed is not None:
            return f"the reflector failed ({_one_line(self.failed)}); restarting it"
        if not reflector.synced.is_set():
            return "not synced yet" + tail
        silence = reflector.silence()
        if silence > self.max_staleness and not self.serve_stale:
            return (
                f"stale: nothing heard from upstream for {silence:.0f}s "
                f"(bound {self.max_staleness:.0f}s){tail}"
            )
        return None

    def outage(self) -> str | None:
        """With --serve-stale-on-outage, while upstream has been silent past
        max_staleness: what /readyz?verbose says beside the passing check.
        Consistent reads are then answered 500 ServerTimeout (reads.py)."""
        if not self.serve_stale or not self.reflector.synced.is_set():
            return None
        silence = self.reflector.silence()
        if silence <= self.max_staleness:
            return None
        last = self.reflector.last_error
        tail = f"; last upstream error: {_one_line(last)}" if last else ""
        return (
            f"serving stale: nothing heard from upstream for {silence:.0f}s "
            f"(bound {self.max_staleness:.0f}s){tail}"
        )

    def state_lost(self, old_rv: int, new_rv: int) -> None:
        """Upstream's RV went back from ``old_rv`` to ``new_rv``: end every
        watcher with 410, so its client lists again."""
        error = expired(
            f"the upstream's storage was replaced: its resourceVersion went back "
            f"from {old_rv} to {new_rv}; list again"
        )
        self.registry.expire_all("upstream lost its state", error_line(error))


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300]


def bookmarks_for(
    info: ResourceInfo, *, initial_events_end: bool = False
) -> Callable[[int], bytes]:
    """A BOOKMARK line maker: an object of the kind with only its RV set
    (and, to end a WatchList's initial events, kube's annotation)."""
    metadata_extra = {"annotations": {INITIAL_EVENTS_END: "true"}} if initial_events_end else {}

    def line(rv: int) -> bytes:
        metadata = {"resourceVersion": str(rv), **metadata_extra}
        obj = {"kind": info.kind, "apiVersion": info.api_version, "metadata": metadata}
        return watch_line(BOOKMARK, json.dumps(obj, separators=(",", ":")).encode())

    return line


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
) -> AsyncIterator[dict[GroupVersionResource, CachedResource]]:
    """Start a supervised reflector per resource; stop them all on exit."""
    resources = list(resources)
    await check_served(client, resources)
    cached: dict[GroupVersionResource, CachedResource] = {}
    for text in resources:
        gvr = parse_resource(text)
        info = resource_info(gvr)
        path = collection_path(gvr)
        cache = Cache(info, config, clock=clock)
        registry = Registry(
            trigger_field=info.trigger_field, bookmark_line=bookmarks_for(info), clock=clock
        )
        reflector = Reflector(
            client,
            path,
            cache,
            config=reflector_config or ReflectorConfig(),
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
            max_staleness,
            serve_stale,
        )
        reflector.on_state_lost = resource.state_lost
        cached[gvr] = resource
    loop = asyncio.get_running_loop()
    for resource in cached.values():
        resource.tasks = [
            loop.create_task(resource.supervisor.run()),
            loop.create_task(_tick(resource.registry)),
        ]
    try:
        yield cached
    finally:
        for resource in cached.values():
            resource.reflector.stop()
            resource.registry.close_all("shutting down")
            for task in resource.tasks:
                task.cancel()
        await asyncio.gather(*(t for r in cached.values() for t in r.tasks), return_exceptions=True)
