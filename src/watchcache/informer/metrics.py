"""Prometheus metrics of informers: events, relists, handler queues.

A registry per ``InformerMetrics`` (not prometheus_client's global one), so
several informers, factories or tests in one process never collide; pass
one ``InformerMetrics`` to every informer that should share it (a factory
does), and expose ``registry`` where the process serves metrics.

Labels: ``resource`` is the informer's name (``pods``, ``apps/v1/deployments``
with its namespace and selectors when set); ``handler`` is the name given to
``add_handler`` or ``handler-N``.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["InformerMetrics"]

# Handler calls range from a dict update (microseconds) to an API request
# per event (tens of milliseconds).
_SECONDS_BUCKETS = (0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0)


class InformerMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry
        self.events = Counter(
            "watchcache_informer_events",
            "Changes applied to informers' stores, by event type (relist differences included).",
            ["resource", "type"],
            registry=r,
        )
        self.relists = Counter(
            "watchcache_informer_relists",
            "Lists that replaced an informer's state after the first one "
            "(410 Expired, broken watches that could not resume).",
            ["resource"],
            registry=r,
        )
        self.objects = Gauge(
            "watchcache_informer_objects",
            "Objects in the informer's store.",
            ["resource"],
            registry=r,
        )
        self.queue_depth = Gauge(
            "watchcache_informer_handler_queue_depth",
            "Objects with a notification waiting for the handler.",
            ["resource", "handler"],
            registry=r,
        )
        self.handler_seconds = Histogram(
            "watchcache_informer_handler_seconds",
            "Time spent in one handler call.",
            ["resource", "handler"],
            buckets=_SECONDS_BUCKETS,
            registry=r,
        )
        self.handler_errors = Counter(
            "watchcache_informer_handler_errors",
            "Handler calls that raised (logged, then the next notification).",
            ["resource", "handler"],
            registry=r,
        )

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
