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

Modules, lowest first: objects (KubeObject), metrics, handlers (per-handler
queues), lister (reads), sharding (KEP-5866 shard selectors, and filtering
what a server does not), source (resource, scope, config), informer,
factory (one watch per resource and scope), workqueue (rate-limited,
de-duplicating), leaderelection (coordination.k8s.io Leases).
"""

from watchcache.informer.factory import SharedInformerFactory
from watchcache.informer.handlers import HandlerRegistration
from watchcache.informer.informer import Indexer, Informer
from watchcache.informer.leaderelection import LeaderElectionConfig, LeaderElector
from watchcache.informer.lister import Lister
from watchcache.informer.metrics import InformerMetrics
from watchcache.informer.objects import KubeObject, ObjectMeta, OwnerReference
from watchcache.informer.source import load_config, parse_resource
from watchcache.informer.workqueue import ShutDown, WorkQueue, default_rate_limiter

__all__ = [
    "HandlerRegistration",
    "Indexer",
    "Informer",
    "InformerMetrics",
    "KubeObject",
    "LeaderElectionConfig",
    "LeaderElector",
    "Lister",
    "ObjectMeta",
    "OwnerReference",
    "SharedInformerFactory",
    "ShutDown",
    "WorkQueue",
    "default_rate_limiter",
    "load_config",
    "parse_resource",
]
