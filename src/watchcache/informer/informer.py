"""``Informer``: one resource kept in memory, with handlers and a lister.

Glossary:
    store     the cache's entries (``watchcache.cache``), equal to upstream's
              objects in the informer's scope as of its RV
    sync      the first complete list (a WatchList's initial events, or a
              paginated LIST): ``has_synced()`` from then on
    relist    a later list replacing the state (after 410 Expired): its
              difference from the state before reaches handlers as adds,
              updates and deletes, a delete missed while no watch was open
              flagged ``final_state_unknown``
    handler   callbacks with their own queue and task (handlers.py)

The reflector (``watchcache.cache.reflector``) does the listing, watching,
resuming by RV, bookmarks, 410s, backoff and stall detection; the informer
keeps no history (a window of one event) since nothing resumes from it.

Every change reaches handlers in one sync step after the store changed:
``_dispatch`` queues a notification per handler and returns. So the lister
and every handler's queue always agree, a handler added at any time gets the
store's state as adds followed by every later change, and no handler, slow
or not, holds up the watch or another handler.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import cast

from watchcache.api.resources import GroupVersionResource, ResourceInfo
from watchcache.cache import Cache, CacheConfig, Entry, Event
from watchcache.cache.entry import Transform
from watchcache.cache.event import ADDED, DELETED, MODIFIED
from watchcache.cache.reflector import Reflector, ReflectorConfig, ReflectorStatistics
from watchcache.cache.supervisor import Supervisor
from watchcache.informer.handlers import HandlerRegistration, OnAdd, OnDelete, OnUpdate
from watchcache.informer.lister import Lister, Selector, parse_selector
from watchcache.informer.metrics import InformerMetrics
from watchcache.informer.objects import KubeObject
from watchcache.informer.sharding import ShardSelector
from watchcache.informer.source import Scope, ScopedClient, parse_resource
from watchcache.upstream import UpstreamClient

__all__ = ["Indexer", "Informer"]

log = logging.getLogger(__name__)

Indexer = Callable[[KubeObject], Iterable[str]]

_EVENT_TYPES = (ADDED, MODIFIED, DELETED)


class Informer:
    """Keeps one resource (in ``namespace``, matching the selectors) in
    memory. ``start()``/``stop()`` or ``async with``; ``lister`` reads it;
    ``add_handler`` hears its changes.

    ``transform`` maps an object's JSON bytes to the bytes stored (before
    anything reads them); ``strip_managed_fields`` drops
    ``metadata.managedFields``, usually a third of an object. ``indexers``
    name functions from an object to the values it is found under with
    ``lister.by_index``. ``resync`` (seconds) re-delivers every object to
    every handler as an update from itself to itself. ``shard`` (a shard
    selector, see ``sharding.even_shards``) keeps only that share of the
    objects, for N replicas of a controller splitting the work.
    """

    def __init__(
        self,
        client: UpstreamClient,
        resource: str | GroupVersionResource | ResourceInfo,
        *,
        namespace: str | None = None,
        label_selector: Selector | None = None,
        field_selector: str | None = None,
        metadata_only: bool = False,
        shard: str | None = None,
        transform: Transform | None = None,
        strip_managed_fields: bool = False,
        indexers: Mapping[str, Indexer] | None = None,
        resync: float | None = None,
        metrics: InformerMetrics | None = None,
        reflector_config: ReflectorConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        selector = parse_selector(label_selector)
        self.scope = Scope(
            parse_resource(resource),
            namespace or "",
            str(selector) if selector is not None else "",
            field_selector or "",
            metadata_only,
            ShardSelector.parse(shard).text if shard else "",
        )
        self.client = client
        self.resync = resync
        self.metrics = metrics or InformerMetrics()
        self._transform = transform
        self._strip_managed_fields = strip_managed_fields
        self._indexers: dict[str, Indexer] = dict(indexers or {})
        self._reflector_config = reflector_config or ReflectorConfig()
        self._clock = clock
        self._sleep = sleep
        self._rng = rng
        self._name = str(self.scope)
        self._cache = self._new_cache()
        self.lister = Lister(lambda: self._cache)
        self._handlers: list[HandlerRegistration] = []
        self._handler_count = 0
        self._synced = False
        self._reflector: Reflector | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.metrics.objects.labels(self._name).set_function(lambda: len(self._cache.store))
        # One label lookup per type, not per event.
        self._counted = {t: self.metrics.events.labels(self._name, t) for t in _EVENT_TYPES}

    def __repr__(self) -> str:
        state = "synced" if self._synced else "syncing"
        return (
            f"<Informer {self._name} {state} rv={self._cache.rv} "
            f"{len(self._cache.store)} objects, {len(self._handlers)} handlers>"
        )

    def _new_cache(self) -> Cache:
        wrapped = {name: _entry_indexer(func) for name, func in self._indexers.items()}
        config = CacheConfig(
            strip_managed_fields=self._strip_managed_fields,
            transform=self._transform,
            indexed_fields=(),
            indexers=wrapped,
            # Nothing resumes a watch from an informer: keep one event.
            history_window=0.0,
            history_min_events=1,
            history_max_events=1,
            history_max_bytes=0,
        )
        return Cache(self.scope.stored_info(), config, clock=self._clock)

    # -- configuration -------------------------------------------------------

    def add_indexers(self, indexers: Mapping[str, Indexer]) -> None:
        """More indexers, before ``start`` (the store is built with them)."""
        if self._reflector is not None:
            raise RuntimeError("add indexers before the informer is first started")
        clash = [n for n, f in indexers.items() if self._indexers.get(n, f) is not f]
        if clash:
            raise ValueError(f"indexers {clash} already exist with other functions")
        self._indexers.update(indexers)
        self._cache = self._new_cache()

    # -- lifecycle -------------------------------------------------------------

    async def __aenter__(self) -> Informer:
        self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def start(self) -> None:
        """Begin listing and watching (idempotent). Returns at once; see
        ``wait_for_sync``. Started again after ``stop``, it resumes watching
        from the store's RV, or relists if upstream's history no longer
        reaches back to it."""
        if self._tasks:
            return
        self._reflector = Reflector(
            # The reflector calls only get and watch, which ScopedClient has.
            cast(UpstreamClient, ScopedClient(self.client, self.scope)),
            self.scope.path,
            self._cache,
            config=self._reflector_config,
            on_event=self._on_event,
            on_replace=self._on_replace,
            clock=self._clock,
            sleep=self._sleep,
            rng=self._rng,
        )
        loop = asyncio.get_running_loop()
        # Supervised: a bug of ours (or a transform's or indexer's error)
        # that ends the reflector is logged and it runs again, relisting,
        # rather than leaving the lister frozen; counted in ``statistics()``.
        supervisor = Supervisor(self._reflector, sleep=self._sleep)
        self._tasks.append(loop.create_task(supervisor.run()))
        if self.resync:
            self._tasks.append(loop.create_task(self._resync_loop(self.resync)))
        for handler in self._handlers:
            handler.start()

    async def stop(self) -> None:
        """Stop watching and every handler. The lister keeps answering from
        the last state; notifications still waiting are delivered if the
        informer is started again."""
        if self._reflector is not None:
            self._reflector.stop()
        tasks, self._tasks = self._tasks, []
        for task in tasks[1:]:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        for handler in self._handlers:
            await handler.stop()

    @property
    def running(self) -> bool:
        return bool(self._tasks)

    def has_synced(self) -> bool:
        return self._synced

    async def wait_for_sync(self, timeout: float | None = None) -> bool:  # noqa: ASYNC109 (False on timeout, as client-go's WaitForCacheSync)
        """True once synced; False if ``timeout`` passed first."""
        if self._reflector is None:
            raise RuntimeError("start the informer before waiting for it to sync")
        try:
            await asyncio.wait_for(self._reflector.synced.wait(), timeout)
        except TimeoutError:
            return False
        return True

    @property
    def resource_version(self) -> int:
        """The RV the store is current to (0 before the first sync)."""
        return self._cache.rv

    async def wait_for_resource_version(self, rv: int) -> None:
        """Return once the store has reached ``rv`` (e.g. a write's RV).
        Bound it (``asyncio.timeout``): an RV of another resource may never
        be reached by this one."""
        await self._cache.wait_until(rv)

    def statistics(self) -> ReflectorStatistics | None:
        """The reflector's counters since the last ``start`` (restarts by
        its Supervisor included); None before the first."""
        return self._reflector.statistics() if self._reflector is not None else None

    # -- handlers ----------------------------------------------------------------

    def add_handler(
        self,
        on_add: OnAdd | None = None,
        on_update: OnUpdate | None = None,
        on_delete: OnDelete | None = None,
        *,
        name: str | None = None,
    ) -> HandlerRegistration:
        """Register callbacks; the handler first hears every object already
        in the store as an add. Returns the handle (``remove()`` it)."""
        self._handler_count += 1
        handler = HandlerRegistration(
            name or f"handler-{self._handler_count}",
            self._name,
            on_add,
            on_update,
            on_delete,
            metrics=self.metrics,
            detach=self._detach,
        )
        for entry in self._cache.store.entries():
            handler.notify(entry.key, None, entry)
        if self._synced:
            handler.mark_synced()
        self._handlers.append(handler)
        if self._tasks:
            handler.start()
        return handler

    def remove_handler(self, handler: HandlerRegistration) -> None:
        handler.remove()

    def _detach(self, handler: HandlerRegistration) -> None:
        if handler in self._handlers:
            self._handlers.remove(handler)
            handler.close()

    # -- changes ---------------------------------------------------------------

    async def _on_event(self, event: Event) -> None:
        self._dispatch(event, unknown=False)
        # A turn of the loop per event: the reflector hands on a chunk's
        # events in one turn (so the proxy writes them to a watcher at
        # once), and without this a handler that keeps up would hear a
        # burst merged into one change; merging is for handlers that lag.
        await asyncio.sleep(0)

    async def _on_replace(self, changes: list[Event]) -> None:
        if self._synced:
            self.metrics.relists.labels(self._name).inc()
            log.info("%s: relisted, %d changes since the last state", self._name, len(changes))
        for event in changes:
            self._dispatch(event, unknown=True)
        if not self._synced:
            self._synced = True
            for handler in self._handlers:
                handler.mark_synced()

    def _dispatch(self, event: Event, *, unknown: bool) -> None:
        self._counted[event.type].inc()
        if event.type == DELETED:
            # A watch's DELETED carries the object's final state; a relist's
            # carries the last state seen, and says the final one is unknown.
            final = None if unknown else event.entry
            for handler in self._handlers:
                handler.notify(event.key, event.prev, None, final=final, unknown=unknown)
            return
        for handler in self._handlers:
            # (from a relist, a new uid under the key means a missed delete)
            handler.notify(event.key, event.prev, event.entry, unknown=unknown)

    async def _resync_loop(self, period: float) -> None:
        while True:
            await self._sleep(period)
            entries = list(self._cache.store.entries())
            for handler in self._handlers:
                handler.resync(entries)


def _entry_indexer(func: Indexer) -> Callable[[Entry], Iterable[str]]:
    def values(entry: Entry) -> Iterable[str]:
        return func(KubeObject(entry))

    return values
