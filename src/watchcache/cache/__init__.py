"""The in-memory cache: per-resource stores, history and snapshots.

Usable in-process without the proxy::

    cache = Cache(resource_info, CacheConfig(), clock=time.monotonic)
    cache.replace(list_items, rv)          # after a LIST upstream
    event = cache.apply_line(watch_line)   # each upstream watch line
    page = cache.list(namespace="ns", labels=sel, limit=500)
    page = cache.list(rv=page.rv, continue_after=page.continue_after, limit=500)
    async for event in cache.follow(rv): ...

Modules: entry (decode once), shard (FNV-1a ranges), store (sorted shards
and indexes), event (what changed, with its previous object and encoded
lines), history (the window), snapshot (state at an exact RV), cache (the
facade).
"""

from watchcache.cache.cache import (
    Cache,
    CacheConfig,
    CacheStatistics,
    FieldPredicate,
    LabelPredicate,
    ListPage,
    ResourceLike,
    TooNewResourceVersion,
)
from watchcache.cache.entry import Entry, EntryCodec, object_key
from watchcache.cache.event import Event
from watchcache.cache.history import History, TooOldResourceVersion
from watchcache.cache.shard import ShardPlan, fnv1a64
from watchcache.cache.snapshot import Snapshot
from watchcache.cache.store import Store

__all__ = [
    "Cache",
    "CacheConfig",
    "CacheStatistics",
    "Entry",
    "EntryCodec",
    "Event",
    "FieldPredicate",
    "History",
    "LabelPredicate",
    "ListPage",
    "ResourceLike",
    "ShardPlan",
    "Snapshot",
    "Store",
    "TooNewResourceVersion",
    "TooOldResourceVersion",
    "fnv1a64",
    "object_key",
]
