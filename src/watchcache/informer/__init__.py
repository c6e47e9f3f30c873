"""Informers for Python controllers: Kubernetes resources kept in memory.

    config = load_config()                      # in-cluster, else kubeconfig
    async with UpstreamClient(config) as client:
        pods = Informer(client, "pods", namespace="web", label_selector="app=shop")
        pods.add_handler(on_add=..., on_update=..., on_delete=...)
        async with pods:
            await pods.wait_for_sync(timeout=60)
            pod = pods.lister.get("web", "shop-0")

Modelled on client-go's SharedIndexInformer, in asyncio. Objects are held
in the cache's form (metadata plus the JSON bytes) and handed out as
``KubeObject`` views. docs/informer.md is the API reference.

What it offers (``__all__``), by module, lowest first:
    objects         ``KubeObject``, ``ObjectMeta``, ``OwnerReference``
    metrics         ``InformerMetrics``
    handlers        ``HandlerRegistration`` (per-handler queues), the
                    callback types ``OnAdd``, ``OnUpdate``, ``OnDelete``
    lister          ``Lister`` (reads), ``Selector`` (what a label selector
                    may be given as)
    sharding        ``even_shards`` (KEP-5866 shard selectors for N
                    replicas), and filtering what a server does not
    source          ``load_config``, ``parse_resource`` (resource, scope)
    informer        ``Informer``, ``Indexer``
    factory         ``SharedInformerFactory`` (one watch per resource and
                    scope)
    workqueue       ``WorkQueue`` (rate-limited, de-duplicating),
                    ``ShutDown``, ``default_rate_limiter``, ``RateLimiter``,
                    ``ItemExponentialRateLimiter``, ``BucketRateLimiter``,
                    ``MaxOfRateLimiter``
    leaderelection  ``LeaderElector``, ``LeaderElectionConfig``
                    (coordination.k8s.io Leases)

What the informer is built from stays in its modules (``Scope``,
``ScopedClient``, ``ShardedWatch``, ``filter_page``, ``LeaseRecord``,
``parse_selector``); ``Informer.statistics()`` is the cache package's
``ReflectorStatistics``.
"""

from watchcache.informer.factory import SharedInformerFactory
from watchcache.informer.handlers import HandlerRegistration, OnAdd, OnDelete, OnUpdate
from watchcache.informer.informer import Indexer, Informer
from watchcache.informer.leaderelection import LeaderElectionConfig, LeaderElector
from watchcache.informer.lister import Lister, Selector
from watchcache.informer.metrics import InformerMetrics
from watchcache.informer.objects import KubeObject, ObjectMeta, OwnerReference
from watchcache.informer.sharding import even_shards
from watchcache.informer.source import load_config, parse_resource
from watchcache.informer.workqueue import (
    BucketRateLimiter,
    ItemExponentialRateLimiter,
    MaxOfRateLimiter,
    RateLimiter,
    ShutDown,
    WorkQueue,
    default_rate_limiter,
)

__all__ = [
    "BucketRateLimiter",
    "HandlerRegistration",
    "Indexer",
    "Informer",
    "InformerMetrics",
    "ItemExponentialRateLimiter",
    "KubeObject",
    "LeaderElectionConfig",
    "LeaderElector",
    "Lister",
    "MaxOfRateLimiter",
    "ObjectMeta",
    "OnAdd",
    "OnDelete",
    "OnUpdate",
    "OwnerReference",
    "RateLimiter",
    "Selector",
    "SharedInformerFactory",
    "ShutDown",
    "WorkQueue",
    "default_rate_limiter",
    "even_shards",
    "load_config",
    "parse_resource",
]
