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

Refusals are counted by reason (``watchcache_auto_cache_refusals_total``)
and remembered for ``REFUSED_FOR`` seconds, so a resource read often is not
considered again on every read: ``bound`` (``max_caches`` auto caches
exist), ``not_listwatch`` (upstream serves it without list or watch, or not
at all), ``unknown_kind`` (neither a known built-in nor CRD-defined),
``discovery_failed`` (its discovery document could not be read).

``custom_caching`` adds both the CRD cache (crds.py) and the auto caches
to a proxy (serve.py), with their metrics and their part in a drain.

Invariants:
    * A resource is in at most one of ``_caches``, ``_considering`` and
      ``_refused``; a named cache's resource in none.
    * ``len(_caches) <= max_caches``; ``_considering`` holds at most
      ``MAX_CONSIDERING``; ``_refused`` at most ``MAX_REFUSED`` (oldest
      forgotten first: a forgotten refusal is only considered again).
    * The CRD cache is never an auto cache: a read of CRDs is served from
      it once it is ready (it is not dropped, nor counted).
    * Auto caches are not in /readyz: until ready they are not served,
      so they cannot make a read wrong, only forwarded.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections import Counter, OrderedDict
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from watchcache.api.resources import GroupVersionResource, builtin_resource, resource_info
from watchcache.proxy.cachedresource import CachedResource
from watchcache.proxy.caches import CacheFactory
from watchcache.proxy.config import ServeConfig
from watchcache.proxy.crds import Definitions, definitions_kept
from watchcache.proxy.drain import StreamTracker
from watchcache.proxy.metrics import ProxyMetrics
from watchcache.upstream import StatusError, UpstreamError

__all__ = ["AutoCaches", "CustomCaching", "auto_caching", "custom_caching"]

log = logging.getLogger(__name__)

CHECK_EVERY = 1.0
# Long enough that a resource read in a loop costs upstream one discovery
# read per this long; short enough that one refused because its CRD was
# not yet in the CRD cache, or for the bound, is soon cached.
REFUSED_FOR = 10.0
MAX_CONSIDERING = 8
MAX_REFUSED = 1024


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
    ) -> None:
        self.factory = factory
        self.named = named
        self.max_caches = max_caches
        self.idle = idle
        self.definitions = definitions
        self.clock = clock
        self._caches: dict[GroupVersionResource, CachedResource] = {}
        # When each auto cache was started and last read.
        self._started: dict[GroupVersionResource, float] = {}
        self._last_read: dict[GroupVersionResource, float] = {}
        self._considering: dict[GroupVersionResource, asyncio.Task[None]] = {}
        self._refused: OrderedDict[GroupVersionResource, float] = OrderedDict()
        self.started = 0
        self.dropped: Counter[str] = Counter()
        self.refusals: Counter[str] = Counter()

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
            return resource if resource.unready() is None else None
        if self.definitions is not None and gvr == self.definitions.resource.info.gvr:
            # The CRD cache the proxy keeps anyway: served, never dropped.
            resource = self.definitions.resource
            return resource if resource.unready() is None else None
        if gvr in self._considering or len(self._considering) >= MAX_CONSIDERING:
            return None
        until = self._refused.get(gvr)
        if until is not None:
            if self.clock() < until:
                return None
            del self._refused[gvr]
        task = asyncio.get_running_loop().create_task(self._consider(gvr))
        self._considering[gvr] = task
        task.add_done_callback(lambda _: self._considering.pop(gvr, None))
        return None

    # -- starting -------------------------------------------------------------------

    async def _consider(self, gvr: GroupVersionResource) -> None:
        try:
            served = await self._served(gvr)
        except (UpstreamError, ValueError, KeyError, TypeError) as err:
            log.info("auto-cache: cannot read discovery of %s (%s)", gvr.api_version, err)
            self._refuse(gvr, "discovery_failed")
            return
        reason = self._why_not(gvr, served)
        if reason is not None:
            self._refuse(gvr, reason)
            return
        assert served is not None
        info = resource_info(gvr, served.get("kind"), namespaced=bool(served.get("namespaced")))
        resource = self.factory.build(info)
        self.factory.start(resource)
        now = self.clock()
        self._caches[gvr] = resource
        self._started[gvr] = self._last_read[gvr] = now
        self.started += 1
        log.info("auto-cache: caching %s on its first read (%d cached)", gvr, len(self._caches))

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
        self._refused[gvr] = self.clock() + REFUSED_FOR
        self._refused.move_to_end(gvr)
        while len(self._refused) > MAX_REFUSED:
            self._refused.popitem(last=False)

    async def _served(self, gvr: GroupVersionResource) -> dict[str, Any] | None:
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
        if dropped:
            await self.factory.stop(dropped, "the resource is no longer cached")

    async def run(self) -> None:
        """Drop due auto caches every ``CHECK_EVERY`` seconds, until cancelled."""
        while True:
            await self.factory.sleep(CHECK_EVERY)
            await self.drop_due()

    async def close(self) -> None:
        for task in list(self._considering.values()):
            task.cancel()
        await asyncio.gather(*self._considering.values(), return_exceptions=True)
        resources, self._caches = list(self._caches.values()), {}
        await self.factory.stop(resources, "shutting down")

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
        dropped = CounterMetricFamily(
            "watchcache_auto_cache_dropped",
            "Auto caches dropped, by reason: idle (no read and no watch for "
            "--auto-cache-idle), undefined (its CRD deleted or no longer serving the "
            "version), unsynced (not synced within --auto-cache-idle).",
            labels=["reason"],
        )
        for reason in ("idle", "undefined", "unsynced"):
            dropped.add_metric([reason], self.dropped[reason])
        yield dropped
        refused = CounterMetricFamily(
            "watchcache_auto_cache_refusals",
            "Resources read but not cached, by reason: bound (--auto-cache-max reached), "
            "not_listwatch, unknown_kind (neither a known built-in nor CRD-defined), "
            "discovery_failed. Their reads are forwarded.",
            labels=["reason"],
        )
        for reason in ("bound", "not_listwatch", "unknown_kind", "discovery_failed"):
            refused.add_metric([reason], self.refusals[reason])
        yield refused


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
) -> AsyncIterator[CustomCaching]:
    """A CRD cache when custom resources may be cached (one is named, or
    --auto-cache), and the auto caches with --auto-cache (their metrics
    registered, their watches closed by a drain); all stopped on exit."""
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
        )
        async with auto_caching(auto):
            metrics.registry.register(auto)
            streams.add_source(functools.partial(auto.closers, "shutting down"))
            yield CustomCaching(definitions, auto)
