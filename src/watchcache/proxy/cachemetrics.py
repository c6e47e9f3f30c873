"""Metrics of the cached resources, read from them when /metrics is scraped.

Nothing here runs on the hot path: the cache, its reflector, the fan-out
registry and the prober keep plain integer counters (their
``statistics()`` and attributes), and ``CacheCollector`` turns them into
Prometheus families at scrape time. A scrape costs one pass over each
resource's watchers (for the bytes they wrote), about a millisecond per
10,000 watchers.

Every family has one label, ``resource``: the plural name, as in
``watchcache_requests_total``. Counters restart from zero with the process,
as Prometheus expects.

Glossary:
    probed RV   the newest resourceVersion a consistent read's probe got
                from upstream (prober.Prober); 0 until the first such read
    lag         probed RV minus the cache's RV, at least 0. RVs are etcd's
                one global counter, so a quiet resource lags by the other
                resources' writes until its next event or bookmark (about a
                minute): a lag that stays is the signal, not a lag
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Protocol

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from watchcache.cache.cache import Cache
from watchcache.cache.reflector import ReflectorStatistics
from watchcache.fanout.registry import RegistryStatistics

__all__ = ["CacheCollector"]


class _Reflector(Protocol):
    def statistics(self) -> ReflectorStatistics: ...
    def silence(self) -> float: ...


class _Registry(Protocol):
    def statistics(self) -> RegistryStatistics: ...


class _Prober(Protocol):
    sent: int
    coalesced: int
    last_rv: int


class _Resource(Protocol):
    """What the collector reads of a cachedresource.CachedResource."""

    @property
    def cache(self) -> Cache: ...
    @property
    def reflector(self) -> _Reflector: ...
    @property
    def registry(self) -> _Registry: ...
    @property
    def prober(self) -> _Prober: ...
    def outage(self) -> str | None: ...
    @property
    def consistency(self) -> Mapping[str, int]: ...


# (name, help, kind, value): one family each.
_Reading = Callable[[_Resource], float]
_FAMILIES: tuple[tuple[str, str, str, _Reading], ...] = (
    (
        "watchcache_cache_synced",
        "1 once the resource's cache completed its first list, else 0.",
        "gauge",
        lambda r: float(r.reflector.statistics().synced),
    ),
    (
        "watchcache_cache_resource_version",
        "The resourceVersion the cache has reached.",
        "gauge",
        lambda r: r.cache.rv,
    ),
    (
        "watchcache_cache_upstream_resource_version",
        "The newest resourceVersion a consistent read's probe got from upstream (0: none yet).",
        "gauge",
        lambda r: r.prober.last_rv,
    ),
    (
        "watchcache_cache_lag_resource_versions",
        "How far the cache's resourceVersion is behind the last probed upstream one.",
        "gauge",
        lambda r: max(0, r.prober.last_rv - r.cache.rv) if r.prober.last_rv else 0,
    ),
    (
        "watchcache_cache_objects",
        "Objects in the cache.",
        "gauge",
        lambda r: r.cache.statistics().objects,
    ),
    (
        "watchcache_cache_history_events",
        "Events kept in the watch history.",
        "gauge",
        lambda r: r.cache.statistics().history_events,
    ),
    (
        "watchcache_cache_history_bytes",
        "Bytes the watch history keeps alive beyond the cached objects: "
        "the previous versions of changed objects and deleted objects.",
        "gauge",
        lambda r: r.cache.statistics().history_bytes,
    ),
    (
        "watchcache_cache_history_window_seconds",
        "How far back, in seconds, the watch history reaches: a watch can resume within it.",
        "gauge",
        lambda r: r.cache.history.covered_seconds(),
    ),
    (
        "watchcache_registered_watchers",
        "Watches served from the cache that are open now.",
        "gauge",
        lambda r: r.registry.statistics().watchers,
    ),
    (
        "watchcache_cache_events_applied",
        "Watch events from upstream applied to the cache.",
        "counter",
        lambda r: r.reflector.statistics().events,
    ),
    (
        "watchcache_cache_staleness_seconds",
        "Seconds since the cache last heard from upstream (an event, a bookmark, "
        "a list page, a watch accepted); /readyz fails past --max-staleness.",
        "gauge",
        lambda r: r.reflector.silence(),
    ),
    (
        "watchcache_cache_serving_stale",
        "1 while the resource is served stale through an upstream outage "
        "(--serve-stale-on-outage, silent past --max-staleness), else 0.",
        "gauge",
        lambda r: 1.0 if r.outage() else 0.0,
    ),
    (
        "watchcache_reflector_restarts",
        "Times the resource's reflector ended by an exception and was run again.",
        "counter",
        lambda r: r.reflector.statistics().restarts,
    ),
    (
        "watchcache_upstream_watches",
        "Upstream watches (and WatchList streams) opened: the first, then every restart.",
        "counter",
        lambda r: r.reflector.statistics().watches + r.reflector.statistics().watch_lists,
    ),
    (
        "watchcache_upstream_lists",
        "Full states taken from upstream: LISTs (all their pages) and WatchList streams. "
        "A warm start (--cache-dir) that resumed by watch adds none.",
        "counter",
        lambda r: r.reflector.statistics().lists + r.reflector.statistics().watch_lists,
    ),
    (
        "watchcache_upstream_watch_stalls",
        "Upstream watches that sent nothing, not even a bookmark, for the stall timeout.",
        "counter",
        lambda r: r.reflector.statistics().stalls,
    ),
    (
        "watchcache_watchers_closed_slow",
        "Watchers closed because their buffer stayed full beyond the dispatch time budget.",
        "counter",
        lambda r: r.registry.statistics().closed_slow,
    ),
    (
        "watchcache_watch_bytes_written",
        "Bytes of watch events written to the cache's watchers.",
        "counter",
        lambda r: r.registry.statistics().bytes_written,
    ),
    (
        "watchcache_watch_deliveries",
        "Watch events accepted for the cache's watchers (each counted once per watcher).",
        "counter",
        lambda r: r.registry.statistics().deliveries,
    ),
    (
        "watchcache_watch_writes",
        "Writes to the cache's watchers' connections, each of one or more events: "
        "deliveries per write is what coalescing saves (--watch-write-window).",
        "counter",
        lambda r: r.registry.statistics().writes,
    ),
    (
        "watchcache_consistent_read_probes",
        "Requests sent upstream to learn its current RV for consistent reads.",
        "counter",
        lambda r: r.prober.sent,
    ),
    (
        "watchcache_consistent_read_probes_coalesced",
        "Consistent reads that shared a probe another read had asked for.",
        "counter",
        lambda r: r.prober.coalesced,
    ),
)


# Families with a second label: (name, help, label, reading of label -> count).
_Split = Callable[[_Resource], Mapping[str, int]]
_SPLIT_FAMILIES: tuple[tuple[str, str, str, _Split], ...] = (
    (
        "watchcache_cache_relists",
        "Times the cache listed again, by reason: expired (upstream's history no longer "
        "covered its RV, a 410) or state_lost (upstream's resourceVersion went backwards).",
        "reason",
        lambda r: {
            "expired": r.reflector.statistics().relists_after_410,
            "state_lost": r.reflector.statistics().relists_state_lost,
        },
    ),
    (
        "watchcache_upstream_watch_errors",
        "Upstream list or watch failures the reflector backed off after, by kind: an HTTP "
        "code, malformed, disconnected, unreachable, timeout, short-watch, ... (a fixed few).",
        "kind",
        lambda r: r.reflector.statistics().errors_by_kind,
    ),
    (
        "watchcache_consistency_checks",
        "Comparisons of the cache with upstream's LIST at the cache's RV "
        "(--consistency-check-interval), by result: match, mismatch (then the cache "
        "relists), skipped (upstream could not list at that RV).",
        "result",
        lambda r: {k: r.consistency.get(k, 0) for k in ("match", "mismatch", "skipped")},
    ),
)


class CacheCollector(Collector):
    """The families above, one sample per cached resource (per resource and
    second label for the split ones)."""

    def __init__(self, resources: Callable[[], Mapping[str, _Resource]]) -> None:
        # A callable: the caches are opened after the metrics are made.
        self._resources = resources

    def collect(self) -> Iterator[Metric]:
        resources = self._resources()
        for name, help_text, kind, read in _FAMILIES:
            family: GaugeMetricFamily | CounterMetricFamily = (
                GaugeMetricFamily(name, help_text, labels=["resource"])
                if kind == "gauge"
                else CounterMetricFamily(name, help_text, labels=["resource"])
            )
            for label, resource in resources.items():
                family.add_metric([label], float(read(resource)))
            yield family
        for name, help_text, second, split in _SPLIT_FAMILIES:
            counter = CounterMetricFamily(name, help_text, labels=["resource", second])
            for label, resource in resources.items():
                for value, count in sorted(split(resource).items()):
                    counter.add_metric([label, value], float(count))
            yield counter
