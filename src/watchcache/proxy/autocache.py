"""Caching a resource on its first read (``--auto-cache``), so a read tier
need not be told in advance what its clients will read.

Glossary:
    named cache   a resource --resources names: cached from the start,
                  for as long as the proxy runs (caches.py)
    auto cache    a resource cached because a client read it: started on
                  its first read, dropped when idle or no longer defined
    read          a GET of a resource's collection or of one object (a
                  LIST, GET or WATCH); never a subresource, which is never
                  cached
    eligible      served by upstream with both list and watch (its
                  group-version's discovery document), and either a
                  built-in kind the proxy knows (api/resources.py) or a
                  custom resource a CRD defines (crds.py). Other resources
                  (an aggregated API's) are forwarded for ever: whether
                  their lists and watches keep etcd's resourceVersion rules
                  is not known
    idle          no read for ``idle`` seconds and no watch open on the
                  cache

The life of an auto cache:
    1. A read of a resource neither named nor auto-cached is forwarded,
       never held for a sync. ``reading`` starts one ``_consider`` task for
       the resource (at most ``MAX_CONSIDERING`` at once; a read past
       that is forwarded and the resource considered on a later read).
    2. ``_consider`` learns whether the resource is eligible; if so, and
       fewer than ``max_caches`` auto caches exist, it starts one: a
       reflector lists and watches it as any named cache's.
    3. Reads go on being forwarded until the cache is synced and ready;
       then the read path answers them from it, exactly as for a named
       cache (authorization per request included: caching is not access).
       A watch forwarded meanwhile stays upstream until it ends; its
       client's next watch comes to the cache (from an RV before the
       cache's first list: 410, and the client lists again, here).
    4. It is dropped (reflector stopped, watchers closed, memory released)
       when idle, or when the CRD cache says its CRD is gone or no longer
       serves its version (kube-apiserver ends those watches too), or
       when it did not sync within ``idle`` (upstream refuses the proxy's
       own credentials, say): checked every ``CHECK_EVERY`` seconds.

Behind --workers (watchcache.workers), the primary's auto caches are the
host's: a worker asks the primary (``upper``, its control socket) whether
it caches a resource instead of reading discovery, and starts its own
cache only once the primary's has synced, seeded from the primary's
history (``seed``), so that its lists and watches are answered from the
primary's cache and never forwarded upstream; that question counts as a
read in the primary. The primary (``serve_unready``, it serves nobody but
its workers) serves an auto cache and its CRD cache from their creation as
a named cache is served (429 before the first sync) instead of forwarding
a worker's watch upstream. A worker's watch is a reader of the primary's
cache: the primary drops one only ``idle`` after every worker has.

With --cache-dir (``state_dir``, persistence.py) auto caches are saved
as the named ones, a dropped one's file deleted. ``restore`` starts the
ones the previous run saved, at start, as if read then (their idle time at
the save carried over, at most ``max_caches``, most recently read first),
once discovery and the CRD cache say they are still served; one upstream
no longer serves, or no CRD defines, is discarded (logged, its file
deleted). Restoring resources are forwarded meanwhile, not considered.

Refusals are counted by reason (``watchcache_auto_cache_refusals_total``)
and remembered for ``REFUSED_FOR`` seconds, so a resource read often is not
considered again on every read: ``bound`` (``max_caches`` auto caches
exist), ``not_listwatch`` (upstream serves it without list or watch, or not
at all), ``unknown_kind`` (neither a known built-in nor CRD-defined),
``discovery_failed`` (its discovery document, or a worker's question to
the primary, could not be read), ``unsynced`` (a worker: the primary's
cache did not sync within ``idle``).

``custom_caching`` adds both the CRD cache (crds.py) and the auto caches
to a proxy (serve.py), with their metrics and their part in a drain.

Invariants:
    * A resource is in at most one of ``_caches``, ``_considering``,
      ``_refused`` and ``_restoring``; a named cache's resource in none.
    * ``len(_caches) <= max_caches``; ``_considering`` holds at most
      ``MAX_CONSIDERING``; ``_refused`` at most ``MAX_REFUSED`` (oldest
      forgotten first: a forgotten refusal is only considered again).
    * The CRD cache is never an auto cache: a read of CRDs is served from
      it once it is ready (it is not dropped, nor counted).
    * Auto caches are not in /readyz: until ready they are not served,
      so they cannot make a read wrong, only forwarded (the primary of
      --workers excepted: 429 before the first sync, as a named cache).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections import Counter, OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from watchcache.api.resources import (
    GroupVersionResource,
    ResourceInfo,
    builtin_resource,
    resource_info,
)
from watchcache.cache.cache import Cache
from watchcache.proxy.cachedresource import CachedResource
from watchcache.proxy.caches import CacheFactory
from watchcache.proxy.config import ServeConfig
from watchcache.proxy.crds import Definitions, definitions_kept
from watchcache.proxy.drain import StreamTracker
from watchcache.proxy.metrics import ProxyMetrics
from watchcache.proxy.persistence import SavedAutoCache, StateDir
from watchcache.upstream import StatusError, UpstreamError

__all__ = ["AutoCaches", "CustomCaching", "Verdict", "auto_caching", "custom_caching"]

log = logging.getLogger(__name__)

CHECK_EVERY = 1.0
# Long enough that a resource read in a loop costs upstream one discovery
# read per this long; short enough that one refused because its CRD was
# not yet in the CRD cache, or for the bound, is soon cached.
REFUSED_FOR = 10.0
MAX_CONSIDERING = 8
MAX_REFUSED = 1024
# How long a restore waits for the CRD cache's first sync before it leaves
# the custom resources it could not check uncached (their files kept).
RESTORE_CRD_WAIT = 60.0


class Verdict(msgspec.Struct, frozen=True):
    """The primary's answer to a worker asking about a resource: ``cached``
    (synced: the worker may cache it, with this kind and scope),
    ``pending`` (being considered, or not synced yet: ask again), or
    ``refused`` (with the refusal's reason)."""

    state: str
    reason: str = ""
    kind: str = ""
    namespaced: bool = True


Upper = Callable[[GroupVersionResource], Awaitable[Verdict]]
Seed = Callable[[str, Cache], Awaitable[None]]


class AutoCaches(Collector):
    """The auto caches of one proxy (module docstring)."""

    def __init__(
        self,
        factory: CacheFactory,
        named: dict[GroupVersionResource, CachedResource],
        *,
        max_caches: int,
        idle: float,
        definitions: Definitions | None = None,
        clock: Callable[[], float] = time.monotonic,
        serve_unready: bool = False,
        upper: Upper | None = None,
        seed: Seed | None = None,
        state_dir: StateDir | None = None,
    ) -> None:
        self.factory = factory
        self.named = named
        self.max_caches = max_caches
        self.idle = idle
        self.definitions = definitions
        self.clock = clock
        # The primary of --workers (module docstring).
        self.serve_unready = serve_unready
        # A worker: the primary's verdicts, and its history to start from.
        self.upper = upper
        self.seed = seed
        self.state_dir = state_dir
        self._caches: dict[GroupVersionResource, CachedResource] = {}
        # When each auto cache was started and last read.
        self._started: dict[GroupVersionResource, float] = {}
        self._last_read: dict[GroupVersionResource, float] = {}
        self._considering: dict[GroupVersionResource, asyncio.Task[None]] = {}
        # Refused until when, and why.
        self._refused: OrderedDict[GroupVersionResource, tuple[float, str]] = OrderedDict()
        # Saved by the previous run, being restored (``restore``).
        self._restoring: dict[GroupVersionResource, SavedAutoCache] = {}
        self._restore_task: asyncio.Task[None] | None = None
        self.started = 0
        self.dropped: Counter[str] = Counter()
        self.refusals: Counter[str] = Counter()
        # Saved auto caches at start, by result: restored, undefined, skipped.
        self.restores: Counter[str] = Counter()

    def __repr__(self) -> str:
        names = sorted(str(gvr) for gvr in self._caches)
        return f"<AutoCaches {len(names)}/{self.max_caches} {names}>"

    @property
    def caches(self) -> dict[GroupVersionResource, CachedResource]:
        """The auto caches now (a copy)."""
        return dict(self._caches)

    @property
    def considering(self) -> frozenset[GroupVersionResource]:
        """The resources whose eligibility is being learnt now."""
        return frozenset(self._considering)

    # -- the read path's question -------------------------------------------------

    def reading(self, gvr: GroupVersionResource) -> CachedResource | None:
        """A read of ``gvr``, which no named cache holds: its auto cache
        when ready to serve it, else None (forward), having started to
        consider caching it if nothing is under way."""
        resource = self._caches.get(gvr)
        if resource is not None:
            self._last_read[gvr] = self.clock()
            return self._served(resource)
        if self.definitions is not None and gvr == self.definitions.resource.info.gvr:
            # The CRD cache the proxy keeps anyway: served, never dropped.
            return self._served(self.definitions.resource)
        if gvr in self._restoring:
            return None
        if gvr in self._considering or len(self._considering) >= MAX_CONSIDERING:
            return None
        refused = self._refused.get(gvr)
        if refused is not None:
            if self.clock() < refused[0]:
                return None
            del self._refused[gvr]
        task = asyncio.get_running_loop().create_task(self._consider(gvr))
        self._considering[gvr] = task
        task.add_done_callback(lambda _: self._considering.pop(gvr, None))
        return None

    def _served(self, resource: CachedResource) -> CachedResource | None:
        return resource if self.serve_unready or resource.unready() is None else None

    def verdict(self, gvr: GroupVersionResource) -> Verdict:
        """A worker's question about ``gvr`` (the module docstring): a read
        of it here, then whether it is cached and synced."""
        resource = self.named.get(gvr)
        if resource is None:
            self.reading(gvr)
            resource = self._caches.get(gvr)
            if self.definitions is not None and gvr == self.definitions.resource.info.gvr:
                resource = self.definitions.resource
        if resource is None:
            refused = self._refused.get(gvr)
            return Verdict("refused", refused[1]) if refused else Verdict("pending")
        if not resource.reflector.synced.is_set():
            return Verdict("pending")
        return Verdict("cached", kind=resource.info.kind, namespaced=resource.info.namespaced)

    # -- starting -------------------------------------------------------------------

    async def _consider(self, gvr: GroupVersionResource) -> None:
        found = await (self._ask_upper(gvr) if self.upper else self._discover(gvr))
        if isinstance(found, str):
            self._refuse(gvr, found)
            return
        await self._start(gvr, found, "on its first read")

    async def _discover(self, gvr: GroupVersionResource) -> ResourceInfo | str:
        """What upstream's discovery says of ``gvr``: its info, or why it is
        not cached."""
        try:
            served = await self._discovered(gvr)
        except (UpstreamError, ValueError, KeyError, TypeError) as err:
            log.info("auto-cache: cannot read discovery of %s (%s)", gvr.api_version, err)
            return "discovery_failed"
        reason = self._why_not(gvr, served)
        if reason is not None:
            return reason
        assert served is not None
        return resource_info(gvr, served.get("kind"), namespaced=bool(served.get("namespaced")))

    async def _ask_upper(self, gvr: GroupVersionResource) -> ResourceInfo | str:
        """A worker: the primary's verdict on ``gvr``, asked again every
        ``CHECK_EVERY`` seconds while pending, for at most ``idle``."""
        assert self.upper is not None
        deadline = self.clock() + self.idle
        while True:
            verdict = await self.upper(gvr)
            if verdict.state == "refused":
                return verdict.reason or "discovery_failed"
            if verdict.state == "cached":
                return resource_info(gvr, verdict.kind, namespaced=verdict.namespaced)
            if self.clock() >= deadline:
                return "unsynced"
            await self.factory.sleep(CHECK_EVERY)

    async def _start(
        self, gvr: GroupVersionResource, info: ResourceInfo, why: str, idle_for: float = 0.0
    ) -> None:
        """Start ``gvr``'s auto cache: from its saved state (--cache-dir)
        or the primary's history (a worker) when there is one."""
        if gvr in self.named or gvr in self._caches:
            return  # started meanwhile
        resource = self.factory.build(info)
        if self.state_dir is not None:
            await self.state_dir.load(gvr, resource.cache)
        elif self.seed is not None:
            await self.seed(resource.path, resource.cache)
        if gvr in self._caches:
            return  # started meanwhile
        if len(self._caches) >= self.max_caches:
            self._refuse(gvr, "bound")  # others started while this one loaded
            return
        self.factory.start(resource)
        now = self.clock()
        self._caches[gvr] = resource
        self._started[gvr] = now
        self._last_read[gvr] = now - idle_for
        self.started += 1
        log.info("auto-cache: caching %s %s (%d cached)", gvr, why, len(self._caches))

    def _why_not(self, gvr: GroupVersionResource, served: dict[str, Any] | None) -> str | None:
        """Why ``gvr`` is not cached now, or None to cache it."""
        if gvr in self.named or gvr in self._caches:
            return "cached"  # started meanwhile (not counted)
        if served is None or not {"list", "watch"} <= set(served.get("verbs") or ()):
            return "not_listwatch"
        if builtin_resource(gvr) is None and not self._defines(gvr):
            return "unknown_kind"
        if len(self._caches) >= self.max_caches:
            return "bound"
        return None

    def _refuse(self, gvr: GroupVersionResource, reason: str) -> None:
        if reason == "cached":
            return
        log.debug("auto-cache: not caching %s (%s)", gvr, reason)
        self.refusals[reason] += 1
        self._refused[gvr] = (self.clock() + REFUSED_FOR, reason)
        self._refused.move_to_end(gvr)
        while len(self._refused) > MAX_REFUSED:
            self._refused.popitem(last=False)

    async def _discovered(self, gvr: GroupVersionResource) -> dict[str, Any] | None:
        """Upstream discovery's entry for ``gvr``, or None if not served.
        Read afresh each time (once per resource considered): a CRD just
        created adds a resource to a group-version already read."""
        try:
            body = (await self.factory.client.get(gvr.api_prefix)).json()
        except StatusError as err:
            if err.code != 404:
                raise
            return None
        for served in body.get("resources", []):
            if served.get("name") == gvr.resource:
                return dict(served)
        return None

    # -- dropping -------------------------------------------------------------------

    def due(self) -> list[tuple[GroupVersionResource, str]]:
        """The auto caches to drop now, each with why."""
        now = self.clock()
        out: list[tuple[GroupVersionResource, str]] = []
        for gvr, resource in self._caches.items():
            if len(resource.registry):
                self._last_read[gvr] = now  # an open watch is a reader
            if builtin_resource(gvr) is None and self._defines(gvr) is False:
                out.append((gvr, "undefined"))
            elif not resource.reflector.synced.is_set() and now - self._started[gvr] >= self.idle:
                out.append((gvr, "unsynced"))
            elif now - self._last_read[gvr] >= self.idle:
                out.append((gvr, "idle"))
        return out

    def _defines(self, gvr: GroupVersionResource) -> bool | None:
        return None if self.definitions is None else self.definitions.defines(gvr)

    async def drop_due(self) -> None:
        """Drop what ``due`` names: out of the read path at once, then
        stopped (its watchers closed)."""
        dropped = []
        for gvr, reason in self.due():
            resource = self._caches.pop(gvr)
            del self._started[gvr], self._last_read[gvr]
            self.dropped[reason] += 1
            dropped.append(resource)
            log.info("auto-cache: dropped %s (%s)", gvr, reason)
            if self.state_dir is not None:
                self.state_dir.forget(gvr)
        if dropped:
            await self.factory.stop(dropped, "the resource is no longer cached")

    async def run(self) -> None:
        """Drop due auto caches every ``CHECK_EVERY`` seconds, until cancelled."""
        while True:
            await self.factory.sleep(CHECK_EVERY)
            await self.drop_due()

    async def close(self) -> None:
        """Stop every auto cache; with --cache-dir, save their final states
        and the auto list."""
        if self.state_dir is not None:
            self.state_dir.track_auto(None)
        # Listed before the restore is cancelled: what it had not restored
        # yet is listed again, for the next start.
        saving = self.saving()
        tasks = [*self._considering.values(), *([self._restore_task] if self._restore_task else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        resources, self._caches = list(self._caches.values()), {}
        await self.factory.stop(resources, "shutting down")
        if self.state_dir is not None:
            await self.state_dir.save_auto(saving)

    # -- --cache-dir ----------------------------------------------------------------

    def saving(self) -> list[tuple[SavedAutoCache, CachedResource | None]]:
        """Each auto cache as the auto list saves it, most recently read
        first, then those still waiting to be restored (listed as they
        were, their files untouched: None)."""
        now = self.clock()
        order = sorted(self._caches, key=lambda gvr: self._last_read[gvr], reverse=True)
        running: list[tuple[SavedAutoCache, CachedResource | None]] = [
            (
                SavedAutoCache.of(self._caches[gvr].info, now - self._last_read[gvr]),
                self._caches[gvr],
            )
            for gvr in order
        ]
        waiting = [(e, None) for gvr, e in self._restoring.items() if gvr not in self._caches]
        return running + waiting

    def restore(self, saved: list[SavedAutoCache]) -> None:
        """Start restoring what the previous run saved (module docstring)."""
        saved = [e for e in saved if e.gvr not in self.named]
        for entry in saved:
            if entry.idle_for >= self.idle:  # it would be dropped at once
                self.restores["skipped"] += 1
                log.info("auto-cache: not restoring %s: it was idle when saved", entry.gvr)
                if self.state_dir is not None:
                    self.state_dir.forget(entry.gvr)
        wanted = [e for e in saved if e.idle_for < self.idle][: self.max_caches]
        if not wanted:
            return
        self._restoring = {e.gvr: e for e in wanted}
        task = asyncio.get_running_loop().create_task(self._restore(wanted))
        task.add_done_callback(lambda _: self._restoring.clear())
        self._restore_task = task

    async def _restore(self, saved: list[SavedAutoCache]) -> None:
        # Built-ins first: a custom resource waits for the CRD cache.
        for entry in sorted(saved, key=lambda e: builtin_resource(e.gvr) is None):
            gvr = entry.gvr
            if builtin_resource(gvr) is None and not await self._definitions_known():
                self.restores["skipped"] += 1
                log.warning("auto-cache: not restoring %s: the CRDs are not known yet", gvr)
                continue
            try:
                await self._restore_one(entry)
            finally:
                self._restoring.pop(gvr, None)

    async def _restore_one(self, entry: SavedAutoCache) -> None:
        gvr = entry.gvr
        found = await self._discover(gvr)
        if found in ("not_listwatch", "unknown_kind"):
            self.restores["undefined"] += 1
            log.warning(
                "auto-cache: discarding %s saved in --cache-dir: upstream no longer serves "
                "it with list and watch, or no CRD defines it (%s)",
                gvr,
                found,
            )
            if self.state_dir is not None:
                self.state_dir.forget(gvr)
            return
        if isinstance(found, str):
            self.restores["skipped"] += 1
            log.warning("auto-cache: not restoring %s saved in --cache-dir (%s)", gvr, found)
            return
        before = self.started
        await self._start(gvr, found, "as saved in --cache-dir", entry.idle_for)
        self.restores["restored" if self.started > before else "skipped"] += 1

    async def _definitions_known(self) -> bool:
        """The CRD cache has synced, waiting ``RESTORE_CRD_WAIT`` at most."""
        if self.definitions is None:
            return False
        synced = self.definitions.resource.reflector.synced
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(RESTORE_CRD_WAIT):
                await synced.wait()
        return synced.is_set()

    def closers(self, reason: str) -> list[Callable[[], None]]:
        """Every auto cache's watchers' close callbacks, and the CRD
        cache's (a drain's source)."""
        resources = list(self._caches.values())
        if self.definitions is not None and self.definitions.resource.info.gvr not in self.named:
            resources.append(self.definitions.resource)
        return [close for r in resources for close in r.registry.closers(reason)]

    # -- metrics --------------------------------------------------------------------

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "watchcache_auto_caches",
            "Resources cached because a client read them (--auto-cache), now.",
            value=len(self._caches),
        )
        yield CounterMetricFamily(
            "watchcache_auto_cache_started",
            "Auto caches started, on a resource's first read.",
            value=self.started,
        )
        yield _counted_by(
            "watchcache_auto_cache_dropped",
            "Auto caches dropped, by reason: idle (no read and no watch for "
            "--auto-cache-idle), undefined (its CRD deleted or no longer serving the "
            "version), unsynced (not synced within --auto-cache-idle).",
            "reason",
            self.dropped,
            ("idle", "undefined", "unsynced"),
        )
        yield _counted_by(
            "watchcache_auto_cache_refusals",
            "Resources read but not cached, by reason: bound (--auto-cache-max reached), "
            "not_listwatch, unknown_kind (neither a known built-in nor CRD-defined), "
            "discovery_failed, unsynced (a worker: the primary's cache did not sync in "
            "--auto-cache-idle). Their reads are forwarded.",
            "reason",
            self.refusals,
            ("bound", "not_listwatch", "unknown_kind", "discovery_failed", "unsynced"),
        )
        yield _counted_by(
            "watchcache_auto_cache_restores",
            "Auto caches saved in --cache-dir by the previous run, at start, by result: "
            "restored, undefined (no longer served upstream, or no CRD defines it: "
            "discarded), skipped (could not be checked, or the bound).",
            "result",
            self.restores,
            ("restored", "undefined", "skipped"),
        )


def _counted_by(
    name: str, help_text: str, label: str, counts: Mapping[str, int], values: tuple[str, ...]
) -> CounterMetricFamily:
    """A counter with one sample per value of ``label``, every one of
    ``values`` present, 0 until counted."""
    family = CounterMetricFamily(name, help_text, labels=[label])
    for value in values:
        family.add_metric([value], counts.get(value, 0))
    return family


@contextlib.asynccontextmanager
async def auto_caching(auto: AutoCaches) -> AsyncIterator[AutoCaches]:
    """``auto`` with its drop checks running; every auto cache stopped on exit."""
    checks = asyncio.get_running_loop().create_task(auto.run())
    try:
        yield auto
    finally:
        checks.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await checks
        await auto.close()


@dataclass(frozen=True)
class CustomCaching:
    """What custom resources and --auto-cache add to a proxy: the CRDs
    (custom resources' Tables, auto caches' ends) and the auto caches."""

    definitions: Definitions | None
    auto: AutoCaches | None

    def labelled(
        self, named: Mapping[GroupVersionResource, CachedResource]
    ) -> dict[str, CachedResource]:
        """Every cache, named and auto, by its metrics label: the plural,
        or group/version/resource when two caches share a plural."""
        every = {**named, **(self.auto.caches if self.auto is not None else {})}
        plurals = Counter(gvr.resource for gvr in every)
        return {
            (gvr.resource if plurals[gvr.resource] == 1 else str(gvr)): r
            for gvr, r in every.items()
        }


@contextlib.asynccontextmanager
async def custom_caching(
    config: ServeConfig,
    named: dict[GroupVersionResource, CachedResource],
    factory: CacheFactory,
    metrics: ProxyMetrics,
    streams: StreamTracker,
    *,
    state_dir: StateDir | None = None,
    serve_unready: bool = False,
    upper: Upper | None = None,
    seed: Seed | None = None,
) -> AsyncIterator[CustomCaching]:
    """A CRD cache when custom resources may be cached (one is named, or
    --auto-cache), and the auto caches with --auto-cache (their metrics
    registered, their watches closed by a drain, with ``state_dir`` saved
    and those of the previous run restored); all stopped on exit.
    ``serve_unready``, ``upper`` and ``seed``: AutoCaches' (--workers)."""
    custom_named = any(not r.info.builtin for r in named.values())
    if not (config.auto_cache or custom_named):
        yield CustomCaching(None, None)
        return
    async with definitions_kept(named, factory) as definitions:
        if not config.auto_cache:
            yield CustomCaching(definitions, None)
            return
        auto = AutoCaches(
            factory,
            named,
            max_caches=config.auto_cache_max,
            idle=config.auto_cache_idle,
            definitions=definitions,
            serve_unready=serve_unready,
            upper=upper,
            seed=seed,
            state_dir=state_dir,
        )
        async with auto_caching(auto):
            if state_dir is not None:
                auto.restore(state_dir.load_auto())
                state_dir.track_auto(auto.saving)
            metrics.registry.register(auto)
            streams.add_source(functools.partial(auto.closers, "shutting down"))
            yield CustomCaching(definitions, auto)
