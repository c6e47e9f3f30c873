"""The in-memory cache of one resource, and the reflector that keeps it
equal to upstream.

Usable in-process without the proxy::

    cache = Cache(resource_info, CacheConfig(), clock=time.monotonic)
    reflector = Reflector(client, "/api/v1/pods", cache)   # list, then watch
    task = asyncio.create_task(Supervisor(reflector).run())
    await reflector.synced.wait()
    page = cache.list(namespace="ns", labels=sel, limit=500)
    page = cache.list(rv=page.rv, continue_after=page.continue_after, limit=500)
    async for event in cache.follow(rv): ...

or fed by hand: ``cache.replace(list_items, rv)`` after a LIST,
``cache.apply_line(watch_line)`` for each watch line.

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

What it offers (``__all__``), by module, lowest first:
    entry       ``Entry`` (one object, decoded once), ``EntryCodec``,
                ``MalformedObject`` (upstream's bytes are not an object as
                kube-apiserver writes one), ``object_key``
    shard       ``ShardPlan`` (FNV-1a ranges), ``fnv1a64``
    store       ``Store`` (sorted shards and indexes)
    event       ``Event`` (what changed, its previous object, its lines)
    history     ``History`` (the window), ``TooOldResourceVersion``
    snapshot    ``Snapshot`` (the state at an exact RV)
    cache       ``Cache`` (the facade over the above), ``CacheConfig``,
                ``CacheStatistics``, ``ListPage``, ``WatchErrorLine``
                (upstream sent an ERROR line), ``TooNewResourceVersion``;
                what it reads of a resource and of selectors:
                ``ResourceLike``, ``LabelPredicate``, ``FieldPredicate``,
                ``ShardPredicate``
    reflector   ``Reflector`` (list, then watch, for ever),
                ``ReflectorConfig``, ``ReflectorStatistics``
    supervisor  ``Supervisor`` (runs a reflector again after a bug of ours)
    persist     the state file a warm restart loads (imported from the
                module by the proxy: not re-exported)
    allocator   glibc's thresholds for large buffers, set by ``watchcache
                serve`` so freed LIST buffers go back to the OS, and the
                periodic trim of its heap (imported from the module: not
                re-exported)

Each error is a signal of its own type (``MalformedObject``,
``WatchErrorLine``, ``TooOldResourceVersion``, ``TooNewResourceVersion``),
never a general one. Importing this package loads the upstream client
(``watchcache.upstream``) for the reflector.
"""

from watchcache.cache.cache import (
    Cache,
    CacheConfig,
    CacheStatistics,
    FieldPredicate,
    LabelPredicate,
    ListPage,
    ResourceLike,
    ShardPredicate,
    TooNewResourceVersion,
    WatchErrorLine,
)
from watchcache.cache.entry import Entry, EntryCodec, MalformedObject, object_key
from watchcache.cache.event import Event
from watchcache.cache.history import History, TooOldResourceVersion
from watchcache.cache.reflector import Reflector, ReflectorConfig, ReflectorStatistics
from watchcache.cache.shard import ShardPlan, fnv1a64
from watchcache.cache.snapshot import Snapshot
from watchcache.cache.store import Store
from watchcache.cache.supervisor import Supervisor

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
    "MalformedObject",
    "Reflector",
    "ReflectorConfig",
    "ReflectorStatistics",
    "ResourceLike",
    "ShardPlan",
    "ShardPredicate",
    "Snapshot",
    "Store",
    "Supervisor",
    "TooNewResourceVersion",
    "TooOldResourceVersion",
    "WatchErrorLine",
    "fnv1a64",
    "object_key",
]
