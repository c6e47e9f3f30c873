"""The in-memory cache: per-resource stores, history and snapshots.

Usable in-process without the proxy::

    cache = Cache(resource_info, CacheConfig(), clock=time.monotonic)
    cache.replace(list_items, rv)          # after a LIST upstream
    event = cache.apply_line(watch_line)   # each upstream watch line
    page = cache.list(namespace="ns", labels=sel, limit=500)
    page = cache.list(rv=page.rv, continue_after=page.continue_after, limit=500)
    async for event in cache.follow(rv): ...

Serving from it (for the proxy):
    - a GET body is ``entry.raw + b"\n"`` (kube-apiserver ends JSON bodies
      with a newline); a list item is ``entry.item_chunks()``; a watch line
      is ``event.line(type)`` / ``event.deleted_line()``. All verified byte
      for byte against kube-apiserver 1.20 in tests/e2e/test_cache_mirror.py.
    - ``page.continue_after`` and ``page.rv`` are what
      ``watchcache.api.continuetoken.encode_continue`` takes.
    - ``TooOldResourceVersion`` is the ``ApiError`` of a watch's 410 Expired,
      exactly kube-apiserver's Status; for an exact LIST or a continue page
      it means "go upstream". ``TooNewResourceVersion``: wait (``wait_until``) or go
      upstream.

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
    WatchErrorLine,
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
    "WatchErrorLine",
    "fnv1a64",
    "object_key",
]
