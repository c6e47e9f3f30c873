"""``SharedInformerFactory``: one informer, so one upstream watch, per
resource and scope, however many parts of a program ask for it.

Glossary:
    scope   resource, namespace, label and field selectors, metadata-only,
            shard (``source.Scope``): two requests with the same scope share one
            informer, its store and its watch
    share   the first request creates the informer; later ones get the same
            object, adding their indexers (before start) and their handlers

A request whose ``transform`` differs from the informer already made for
its scope is refused: the shared store holds one form of each object.
Informers asked for after ``start()`` are started at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping

from watchcache.api.resources import GroupVersionResource, ResourceInfo
from watchcache.cache.entry import Transform
from watchcache.cache.reflector import ReflectorConfig
from watchcache.informer.informer import Indexer, Informer
from watchcache.informer.lister import Selector, parse_selector
from watchcache.informer.metrics import InformerMetrics
from watchcache.informer.sharding import ShardSelector
from watchcache.informer.source import Scope, parse_resource
from watchcache.upstream import UpstreamClient

__all__ = ["SharedInformerFactory"]


class SharedInformerFactory:
    """Informers sharing one client and metrics registry. ``namespace`` and
    ``resync`` are defaults for the informers it makes."""

    def __init__(
        self,
        client: UpstreamClient,
        *,
        namespace: str | None = None,
        resync: float | None = None,
        metrics: InformerMetrics | None = None,
        reflector_config: ReflectorConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.resync = resync
        self.metrics = metrics or InformerMetrics()
        self._reflector_config = reflector_config
        self._clock = clock
        self._sleep = sleep
        self._informers: dict[Scope, Informer] = {}
        self._transforms: dict[Scope, Transform | None] = {}
        self._started = False

    def __repr__(self) -> str:
        synced = sum(i.has_synced() for i in self._informers.values())
        return f"<SharedInformerFactory {len(self._informers)} informers, {synced} synced>"

    def informer(
        self,
        resource: str | GroupVersionResource | ResourceInfo,
        *,
        namespace: str | None = None,
        label_selector: Selector | None = None,
        field_selector: str | None = None,
        metadata_only: bool = False,
        shard: str | None = None,
        transform: Transform | None = None,
        indexers: Mapping[str, Indexer] | None = None,
    ) -> Informer:
        """The informer for this scope: made on first request, shared after."""
        selector = parse_selector(label_selector)
        scope = Scope(
            parse_resource(resource),
            namespace if namespace is not None else (self.namespace or ""),
            str(selector) if selector is not None else "",
            field_selector or "",
            metadata_only,
            ShardSelector.parse(shard).text if shard else "",
        )
        found = self._informers.get(scope)
        if found is not None:
            if self._transforms[scope] is not transform:
                raise ValueError(f"{scope}: already shared with another transform")
            if indexers:
                found.add_indexers(indexers)
            return found
        made = Informer(
            self.client,
            scope.info,
            namespace=scope.namespace,
            label_selector=selector,
            field_selector=field_selector,
            metadata_only=metadata_only,
            shard=shard,
            transform=transform,
            indexers=indexers,
            resync=self.resync,
            metrics=self.metrics,
            reflector_config=self._reflector_config,
            clock=self._clock,
            sleep=self._sleep,
        )
        self._informers[scope] = made
        self._transforms[scope] = transform
        if self._started:
            made.start()
        return made

    def informers(self) -> list[Informer]:
        return list(self._informers.values())

    def start(self) -> None:
        """Start every informer made so far, and any made later."""
        self._started = True
        for informer in self._informers.values():
            informer.start()

    async def wait_for_sync(self, timeout: float | None = None) -> bool:  # noqa: ASYNC109 (False on timeout, as client-go's WaitForCacheSync)
        """True once every started informer has synced."""
        results = await asyncio.gather(
            *(i.wait_for_sync(timeout) for i in self._informers.values() if i.running)
        )
        return all(results)

    async def stop(self) -> None:
        await asyncio.gather(*(i.stop() for i in self._informers.values()))

    async def __aenter__(self) -> SharedInformerFactory:
        self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
