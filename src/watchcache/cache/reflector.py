"""Keeping one cache equal to upstream: list, then watch, for ever.

Glossary:
    WatchList one watch with sendInitialEvents (KEP-3157): the state as
              ADDED events, a bookmark marking their end, then changes;
              tried first, remembered as unsupported once refused
    list      a consistent, paginated LIST (resourceVersion unset, limit
              ``page_size``): the state at one RV, page after page
    watch     a WATCH from the cache's RV with allowWatchBookmarks, whose
              lines the cache applies one by one
    relist    a new list replacing the cache's state, after upstream's 410
              (its history no longer covers our RV) or a broken list
    follower  anyone reading the cache's changes (the proxy's watchers);
              ``on_relist`` lets the owner close them, as kube-apiserver
              closes its watchers when its cache relists; ``on_replace``
              hands a follower that keeps its own state (an informer) the
              difference a list made, deletions missed while the watch was
              down included
    stall     a watch that sent nothing, not even a bookmark, for
              ``stall_timeout``: reconnected, because a silently dead
              connection otherwise looks exactly like a quiet resource

Decisions, each where it is made:
    - After a disconnect the watch resumes from the cache's RV: nothing is
      lost or repeated while upstream's history covers it.
    - After a 410 the relist is a consistent list (RV unset). Never RV=0:
      that may be served from a stale apiserver cache, older than what
      followers already saw, and time would go backwards.
    - Failures back off exponentially with full jitter between
      ``backoff_min`` and ``backoff_max``, reset after a watch that stayed
      healthy for ``healthy_after``; a Retry-After from upstream (429, 503)
      is waited at least.
    - ``synced`` is set after the first complete list and stays set:
      later relists keep serving the old state until the new one is whole.

Every loop ends when ``stop()`` is called; the clock, sleep and random
source are injected so tests need no real waiting.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import msgspec

from watchcache.cache.cache import Cache
from watchcache.cache.entry import Entry
from watchcache.cache.event import Event
from watchcache.upstream import (
    DisconnectedError,
    StatusError,
    UpstreamClient,
    UpstreamError,
    WatchStream,
)

__all__ = ["Reflector", "ReflectorConfig", "ReflectorStatistics"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReflectorConfig:
    # 500 is client-go's page size; pages of ~3.5 MB of pods.
    page_size: int = 500
    # kube-apiserver sends a bookmark about once a minute (1.20: first one
    # seen 57 s into a watch); half a minute more before calling it a stall.
    stall_timeout: float = 90.0
    backoff_min: float = 0.8
    backoff_max: float = 30.0
    healthy_after: float = 30.0
    # Sync with one WatchList stream (KEP-3157) when upstream supports it;
    # upstreams that reject it (1.20: 422 on resourceVersionMatch for a
    # watch) are listed and watched instead, and not asked again.
    watch_list: bool = True
    # Ask upstream to end each watch after this long (randomised +-10 %),
    # as client-go does, so connections are renewed regularly.
    watch_timeout: int = 300


@dataclass(frozen=True)
class ReflectorStatistics:
    watch_lists: int
    lists: int
    watches: int
    relists_after_410: int
    stalls: int
    errors: int
    events: int
    synced: bool


class _ListMeta(msgspec.Struct):
    resourceVersion: str = ""
    # "continue" is a Python keyword.
    continue_: str = msgspec.field(default="", name="continue")


class _List(msgspec.Struct):
    metadata: _ListMeta
    items: list[msgspec.Raw] = []


class _ErrorObject(msgspec.Struct):
    code: int = 0
    reason: str = ""
    message: str = ""


class _ErrorLine(msgspec.Struct):
    type: str
    object: _ErrorObject


class _InitialLine(msgspec.Struct):
    type: str
    object: msgspec.Raw


class _BookmarkMeta(msgspec.Struct):
    resourceVersion: str = "0"
    annotations: dict[str, str] = {}


class _BookmarkObject(msgspec.Struct):
    metadata: _BookmarkMeta


INITIAL_EVENTS_END = "k8s.io/initial-events-end"
_list_decoder = msgspec.json.Decoder(_List)
_initial_decoder = msgspec.json.Decoder(_InitialLine)
_bookmark_decoder = msgspec.json.Decoder(_BookmarkObject)
_error_decoder = msgspec.json.Decoder(_ErrorLine)


class _Expired(Exception):
    """Upstream's history no longer covers our RV: relist."""


class Reflector:
    def __init__(
        self,
        client: UpstreamClient,
        path: str,
        cache: Cache,
        *,
        config: ReflectorConfig = ReflectorConfig(),
        on_event: Callable[[Event], Awaitable[None]] | None = None,
        on_relist: Callable[[], None] | None = None,
        on_replace: Callable[[list[Event]], Awaitable[None]] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.client = client
        self.path = path
        self.cache = cache
        self.config = config
        self._on_event = on_event
        self._on_relist = on_relist
        self._on_replace = on_replace
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()
        self.synced = asyncio.Event()
        self._stopping = asyncio.Event()
        self._failures = 0
        self._need_list = True
        self._stream: WatchStream | None = None
        # None until known; False once upstream refused WatchList.
        self._watch_list_works: bool | None = None if config.watch_list else False
        self._watch_lists = 0
        self._lists = self._watches = self._relists = self._stalls = self._errors = self._events = 0

    def __repr__(self) -> str:
        state = "synced" if self.synced.is_set() else "syncing"
        return f"<Reflector {self.path} {state} rv={self.cache.rv} failures={self._failures}>"

    def statistics(self) -> ReflectorStatistics:
        return ReflectorStatistics(
            self._watch_lists,
            self._lists,
            self._watches,
            self._relists,
            self._stalls,
            self._errors,
            self._events,
            self.synced.is_set(),
        )

    def stop(self) -> None:
        """End ``run`` soon: an open watch is dropped, a backoff cut short."""
        self._stopping.set()
        if self._stream is not None:
            self._stream.close()

    # -- the loop ------------------------------------------------------------

    async def run(self) -> None:
        """List, then watch, until stopped; never raises for upstream trouble.

        A cache that already holds a state (a reflector restarted over it)
        is watched from its RV without a list, and counts as synced."""
        # Invariant: True from a failure that needs a new state until a
        # LIST or WatchList has replaced the cache's state.
        self._need_list = self.cache.rv == 0
        if not self._need_list:
            self.synced.set()
        while not self._stopping.is_set():
            try:
                if self._need_list:
                    if await self._try_watch_list():
                        continue  # the stream ended after the sync: resume by RV
                    if self._need_list:
                        await self._list()
                await self._watch()
            except _Expired:
                self._relists += 1
                self._need_list = True
                log.info(
                    "%s: upstream's history no longer covers rv %d; relisting",
                    self.path,
                    self.cache.rv,
                )
            except StatusError as err:
                if err.code == 410:  # the same expiry, answered as a status
                    self._relists += 1
                    self._need_list = True
                    continue
                self._errors += 1
                await self._back_off(err, err.retry_after)
            except UpstreamError as err:
                if self._stopping.is_set():
                    break  # the watch was dropped by stop()
                self._errors += 1
                await self._back_off(err, None)

    async def _back_off(self, err: Exception, retry_after: int | None) -> None:
        self._failures += 1
        ceiling = min(self.config.backoff_max, self.config.backoff_min * 2 ** (self._failures - 1))
        delay = max(self._rng.uniform(self.config.backoff_min, ceiling), float(retry_after or 0))
        log.warning("%s: %s; retrying in %.1fs", self.path, err, delay)
        await self._interruptible_sleep(delay)

    async def _interruptible_sleep(self, delay: float) -> None:
        stopping = asyncio.ensure_future(self._stopping.wait())
        sleeping = asyncio.ensure_future(self._sleep(delay))
        await asyncio.wait({stopping, sleeping}, return_when=asyncio.FIRST_COMPLETED)
        for task in (stopping, sleeping):
            task.cancel()

    # -- WatchList -------------------------------------------------------------

    async def _try_watch_list(self) -> bool:
        """Sync through one WatchList stream, then keep reading it as a
        watch. False when upstream does not support it (use a LIST)."""
        if self._watch_list_works is False:
            return False
        params = {
            "sendInitialEvents": "true",
            "resourceVersionMatch": "NotOlderThan",
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(int(self.config.watch_timeout * self._rng.uniform(0.9, 1.1))),
        }
        try:
            async with self.client.watch(self.path, params) as stream:
                self._stream = stream
                try:
                    if not await self._initial_events(stream):
                        return False
                    await self._read(stream)
                finally:
                    self._stream = None
        except StatusError as err:
            if err.code not in (400, 422):
                raise
            self._watch_list_works = False
            log.info(
                "%s: upstream does not support WatchList (%s); listing instead",
                self.path,
                err.reason,
            )
            return False
        return True

    async def _initial_events(self, stream: WatchStream) -> bool:
        """Collect the ADDED events up to the initial-events-end bookmark and
        make them the cache's state. False (and WatchList is not tried
        again) if the stream shows upstream ignored sendInitialEvents."""
        items: list[Entry] = []
        lines = aiter(stream)
        while True:
            try:
                line = await asyncio.wait_for(anext(lines), self.config.stall_timeout)
            except StopAsyncIteration:
                raise DisconnectedError(
                    "the WatchList stream ended before its initial events"
                ) from None
            except TimeoutError:
                self._stalls += 1
                raise DisconnectedError(
                    "the WatchList stream went silent during its initial events"
                ) from None
            event = _initial_decoder.decode(line)
            if event.type == "ADDED":
                items.append(self.cache.decode(bytes(event.object)))
                continue
            if event.type == "BOOKMARK":
                meta = _bookmark_decoder.decode(event.object).metadata
                if meta.annotations.get(INITIAL_EVENTS_END) == "true":
                    break
            if event.type == "ERROR":
                await self._apply(line)  # raises: 410 relists, others back off
            # A change or a plain bookmark before the end marker: upstream
            # ignored sendInitialEvents. Fall back to LIST + WATCH.
            self._watch_list_works = False
            log.info("%s: upstream ignored sendInitialEvents; listing instead", self.path)
            return False
        self._watch_list_works = True
        self._watch_lists += 1
        relist = self.synced.is_set()
        changes = self.cache.replace_entries(items, int(meta.resourceVersion))
        self._need_list = False
        self.synced.set()
        log.info(
            "%s: synced %d objects at rv %s by WatchList",
            self.path,
            len(items),
            meta.resourceVersion,
        )
        if relist and self._on_relist is not None:
            self._on_relist()
        if self._on_replace is not None:
            await self._on_replace(changes)
        return True

    # -- list ----------------------------------------------------------------

    async def _list(self) -> None:
        items: list[Entry] = []
        token = ""
        rv = ""
        while True:
            params = {"limit": str(self.config.page_size)}
            if token:
                params["continue"] = token
            page = _list_decoder.decode((await self.client.get(self.path, params)).body)
            # Decoded page by page, so one page's bytes are held at a time
            # (holding all until the end cost 2x the JSON in RSS,
            # bench_informer.py). Each item is copied: a Raw view would
            # keep the whole page alive.
            items.extend(self.cache.decode(bytes(item)) for item in page.items)
            rv = rv or page.metadata.resourceVersion
            token = page.metadata.continue_
            if not token:
                break
        self._lists += 1
        relist = self.synced.is_set()
        changes = self.cache.replace_entries(items, int(rv))
        self._need_list = False
        self.synced.set()
        log.info("%s: listed %d objects at rv %s", self.path, len(items), rv)
        if relist and self._on_relist is not None:
            self._on_relist()
        if self._on_replace is not None:
            await self._on_replace(changes)

    # -- watch ---------------------------------------------------------------

    async def _watch(self) -> None:
        timeout = int(self.config.watch_timeout * self._rng.uniform(0.9, 1.1))
        params = {
            "resourceVersion": str(self.cache.rv),
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(timeout),
        }
        self._watches += 1
        opened = self._clock()
        async with self.client.watch(self.path, params) as stream:
            self._stream = stream
            try:
                await self._read(stream)
            finally:
                self._stream = None
        if self._clock() - opened >= self.config.healthy_after:
            self._failures = 0

    async def _read(self, stream: WatchStream) -> None:
        lines = aiter(stream)
        while not self._stopping.is_set():
            try:
                line = await asyncio.wait_for(anext(lines), self.config.stall_timeout)
            except StopAsyncIteration:
                break  # upstream ended the watch (timeoutSeconds): resume
            except TimeoutError:
                self._stalls += 1
                log.warning(
                    "%s: watch silent for %.0fs; reconnecting",
                    self.path,
                    self.config.stall_timeout,
                )
                break
            await self._apply(line)

    async def _apply(self, line: bytes) -> None:
        try:
            event = self.cache.apply_line(line)
        except ValueError:  # an ERROR event (the cache applies only changes)
            error = _error_decoder.decode(line).object
            if error.code == 410:
                raise _Expired from None
            raise StatusError(
                {"code": error.code, "reason": error.reason, "message": error.message}
            ) from None
        if event is not None:
            self._events += 1
            if self._on_event is not None:
                await self._on_event(event)
