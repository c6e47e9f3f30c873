"""The proxy's Prometheus metrics.

/metrics answers prometheus_client's default registry (the process and
Python collectors: CPU, memory, file descriptors, GC, which come with it)
followed by the application's own registry. The application's families
stay in a registry per app, so several proxies in one process, as the
tests run them, do not count into each other. No ``_created`` series:
they double the series count and Kubernetes' own metrics have none.

The cached resources' families (watchers, RVs, history, relists...) are
read from the caches at scrape time: cachemetrics.py.

Label values are bounded: ``verb`` is one of kube-apiserver's verbs,
``resource`` is the resource name from the path (or ``""`` for
non-resource paths), ``code`` the HTTP status. Resource names come from the
request, so an attacker could inflate them; until authentication delegation
lands the proxy listens on loopback only, and unknown resources are counted
under ``"(other)"`` once more than ``MAX_RESOURCE_LABELS`` are seen.
"""

from __future__ import annotations

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE_LATEST", "MAX_RESOURCE_LABELS", "ProxyMetrics"]

MAX_RESOURCE_LABELS = 200

# Process-wide in prometheus_client; every family here is made after it.
disable_created_metrics()  # type: ignore[no-untyped-call]

# Upstream latencies of interest run from a ~1 ms loopback GET to a
# multi-second LIST of 100k objects.
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class ProxyMetrics:
    def __init__(self, default: CollectorRegistry = REGISTRY) -> None:
        self.default = default
        self.registry = CollectorRegistry()
        self.request_duration = Histogram(
            "watchcache_request_duration_seconds",
            "Time to answer a request, by verb, resource and who served it; "
            "watches and connections (exec, attach, port-forward) are not timed.",
            ["verb", "resource", "served_by"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
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
        self.client_disconnects = Counter(
            "watchcache_client_disconnects_total",
            "Requests whose client closed its connection before the answer was "
            "complete (a watch its client ended, a read abandoned), by verb, "
            "resource, the code already sent (0: none) and who served them. "
            "They are counted in watchcache_requests_total under that code, "
            "never as 500.",
            ["verb", "resource", "code", "served_by"],
            registry=self.registry,
        )
        self._resources: set[str] = set()

    def resource_label(self, resource: str) -> str:
        if resource in self._resources or len(self._resources) < MAX_RESOURCE_LABELS:
            self._resources.add(resource)
            return resource
        return "(other)"

    def exposition(self) -> bytes:
        return generate_latest(self.default) + generate_latest(self.registry)
