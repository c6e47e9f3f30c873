"""The proxy's Prometheus metrics, one registry per application.

A registry per app (not prometheus_client's global one) keeps several
proxies in one process, as the tests run them, from counting into each
other.

Label values are bounded: ``verb`` is one of kube-apiserver's verbs,
``resource`` is the resource name from the path (or ``""`` for
non-resource paths), ``code`` the HTTP status. Resource names come from the
request, so an attacker could inflate them; until authentication delegation
lands the proxy listens on loopback only, and unknown resources are counted
under ``"(other)"`` once more than ``MAX_RESOURCE_LABELS`` are seen.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from watchcache.proxy.caches import CachedResource

__all__ = ["CONTENT_TYPE_LATEST", "MAX_RESOURCE_LABELS", "ProxyMetrics"]

MAX_RESOURCE_LABELS = 200

# Upstream latencies of interest run from a ~1 ms loopback GET to a
# multi-second LIST of 100k objects.
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class ProxyMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "watchcache_requests_total",
            "Requests answered, by verb, resource, HTTP code and who served them.",
            ["verb", "resource", "code", "served_by"],
            registry=self.registry,
        )
        self.upstream_latency = Histogram(
            "watchcache_upstream_request_duration_seconds",
            "Time to the upstream response's headers, by verb and resource.",
            ["verb", "resource"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.upstream_errors = Counter(
            "watchcache_upstream_errors_total",
            "Upstream requests that failed before a response, by kind of failure.",
            ["kind"],
            registry=self.registry,
        )
        self._resources: set[str] = set()

    def add_caches(self, caches: Iterable[CachedResource]) -> None:
        """Report each cached resource's reflector, read at scrape time."""
        self.registry.register(_CacheCollector(list(caches)))

    def resource_label(self, resource: str) -> str:
        if resource in self._resources or len(self._resources) < MAX_RESOURCE_LABELS:
            self._resources.add(resource)
            return resource
        return "(other)"

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class _CacheCollector(Collector):
    """The cached resources' reflectors, as they stand when scraped. The
    ``resource`` label takes the --resources names only, so it is bounded;
    ``kind`` is one of the reflector's error kinds (an HTTP code or one of
    a fixed few words), so it is too."""

    def __init__(self, caches: list[CachedResource]) -> None:
        self._caches = caches

    def collect(self) -> Iterator[Metric]:
        staleness = GaugeMetricFamily(
            "watchcache_cache_staleness_seconds",
            "Seconds since the cache last heard from upstream (an event, a bookmark, "
            "a list page, a watch accepted), by resource.",
            labels=["resource"],
        )
        errors = CounterMetricFamily(
            "watchcache_reflector_errors",
            "Upstream failures the reflector backed off from, by resource and kind "
            "(an HTTP code, malformed, disconnected, unreachable, timeout, short-watch, ...).",
            labels=["resource", "kind"],
        )
        relists = CounterMetricFamily(
            "watchcache_reflector_relists",
            "Relists after the sync, by resource and reason: expired (410) or state_lost "
            "(upstream's resourceVersion went backwards).",
            labels=["resource", "reason"],
        )
        restarts = CounterMetricFamily(
            "watchcache_reflector_restarts",
            "Times a reflector ended by an exception and was run again, by resource.",
            labels=["resource"],
        )
        for cached in self._caches:
            name = cached.info.gvr.resource
            stats = cached.reflector.statistics()
            staleness.add_metric([name], cached.reflector.silence())
            for kind, count in sorted(stats.errors_by_kind.items()):
                errors.add_metric([name, kind], count)
            relists.add_metric([name, "expired"], stats.relists_after_410)
            relists.add_metric([name, "state_lost"], stats.relists_state_lost)
            restarts.add_metric([name], cached.restarts)
        yield from (staleness, errors, relists, restarts)
