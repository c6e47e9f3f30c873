"""Warm restart: the proxy's caches saved in ``--cache-dir``, loaded at start.

Glossary:
    state dir     ``--cache-dir``: one state file per cached resource and
                  upstream (the file format, its key and its crash safety
                  are cache/persist.py's)
    warm start    a cache filled from its state file before its reflector
                  first runs. The reflector then resumes by watch from the
                  loaded RV (reflector.py: a cache that holds a state is
                  watched from its RV); it lists only when upstream answers
                  that watch with 410 (its history no longer covers the RV),
                  exactly as after any other disconnect. So a rolling
                  restart of a read tier costs upstream one watch per
                  resource and replica, not one full LIST
    cold start    no usable file (none, torn, another upstream or resource,
                  another format): the cache lists, as without --cache-dir

Decisions:
    - Off unless ``--cache-dir`` is given: a directory must be chosen for
      it (a volume that outlives the container), and a file from another
      cluster behind the same URL is refused by its key only when the CAs
      differ (the key's CA fingerprint).
    - Reads of a warm-started cache: a loaded state is a whole state at its
      RV, so the reflector counts as synced and the read path serves it as
      it serves any state: RV=0 reads at once ("any state" is what they ask
      for), reads at RV=N once the cache reaches N, consistent reads after
      the probe as ever (they wait for the resumed watch to bring the
      cache up to upstream).
    - Readiness (/readyz) waits for more: until upstream vouched for the
      loaded state (``Reflector.confirmed``: the resumed watch delivered a
      line or stayed open ``short_watch`` without the 410 that a too-old RV
      gets at once, or a relist finished), the resource is "resuming". A
      load balancer so keeps sending clients to replicas that are known to
      follow upstream.
    - Watchers across a restart: the history window is saved and loaded
      with the objects, so a client resuming from any RV the previous
      process could answer from at its last save gets exactly the events
      after it: those of the loaded history, then those the resumed watch
      brings; none twice, none missed. From an RV newer than the loaded
      one (events the old process served after its last save, before a
      crash) the events up to it are skipped, as kube-apiserver does for a
      future RV. From an older RV: 410 "too old resource version", as from
      a restarted kube-apiserver.
    - Saved every ``--cache-save-interval`` when the RV moved since the last
      save, and at shutdown once the reflectors stopped (the final state).
      A resource not synced, or whose reflector failed (its state may be
      half-applied), is not saved. The write runs in a thread: the state is
      taken in one sync step (the entries' bytes are immutable), so the
      cache moves on meanwhile.
    - A save that fails (disk full, directory gone) is logged and counted;
      serving carries on. A file that cannot be loaded is logged with why.
    - Saves run one at a time (``_saving_lock``): the interval's and the
      final ones may overlap at shutdown, and two writes of one file
      share its temporary file.
    - Auto caches (--auto-cache, autocache.py) are saved as the named
      ones, and listed in ``auto-caches.json`` (the auto list: each one's
      group, version, resource, kind, scope and how long it had been idle,
      most recently read first, with the upstream's server and CA
      fingerprint), written whole or not at all after their files at each
      save. At the next start each listed resource is cached again as an
      auto cache from its file, after discovery and the CRDs say it is
      still served (autocache.py's restore). A dropped auto cache's file is
      deleted (``forget``): the directory does not fill with resources
      read once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import msgspec
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from watchcache.api.resources import GroupVersionResource, ResourceInfo
from watchcache.cache.cache import Cache
from watchcache.cache.persist import (
    StateFileError,
    StateKey,
    ca_fingerprint,
    capture,
    read_state,
    restore,
    state_path,
    write_state,
)
from watchcache.cache.reflector import Reflector
from watchcache.upstream import UpstreamConfig

__all__ = ["AUTO_LIST", "DEFAULT_SAVE_INTERVAL", "SavedAutoCache", "StateDir", "StateStatistics"]

log = logging.getLogger(__name__)

# Saving 10,000 pods (71 MB) costs the event loop 0.7 ms and a thread
# 0.2 s (bench_cache_persist.py); once a minute keeps the state at most a
# minute behind, inside the 5 minutes of history etcd keeps by default.
DEFAULT_SAVE_INTERVAL = 60.0
# The auto list's file name in the state dir (the module's decisions).
AUTO_LIST = "auto-caches.json"


class SavedAutoCache(msgspec.Struct, frozen=True):
    """One auto cache in the auto list."""

    group: str
    version: str
    resource: str
    kind: str
    namespaced: bool
    # Seconds since its last read (or open watch) when saved.
    idle_for: float = 0.0

    @property
    def gvr(self) -> GroupVersionResource:
        return GroupVersionResource(self.group, self.version, self.resource)

    @classmethod
    def of(cls, info: ResourceInfo, idle_for: float) -> SavedAutoCache:
        gvr = info.gvr
        return cls(gvr.group, gvr.version, gvr.resource, info.kind, info.namespaced, idle_for)


class _AutoList(msgspec.Struct):
    server: str
    ca: str
    caches: list[SavedAutoCache]


# The auto caches to save now: each one's entry and cached resource.
# (None: not running, still to be restored: listed, its file left as it is).
AutoSource = Callable[[], "Sequence[tuple[SavedAutoCache, _Resource | None]]"]


class _Resource(Protocol):
    """What is read of a caches.CachedResource."""

    @property
    def cache(self) -> Cache: ...
    @property
    def reflector(self) -> Reflector: ...
    @property
    def failed(self) -> str | None: ...


@dataclass
class StateStatistics:
    """Per resource (by plural name)."""

    # The RV a warm start loaded (absent: a cold start).
    loaded_rv: dict[str, int] = field(default_factory=dict)
    # Why a file was not loaded, by resource: missing, torn, other-key.
    not_loaded: dict[str, str] = field(default_factory=dict)
    saves: Counter[tuple[str, str]] = field(default_factory=Counter)  # (resource, ok|failed)
    saved_rv: dict[str, int] = field(default_factory=dict)
    saved_bytes: dict[str, int] = field(default_factory=dict)


class StateDir:
    def __init__(
        self,
        directory: Path,
        upstream: UpstreamConfig,
        *,
        save_interval: float = DEFAULT_SAVE_INTERVAL,
        strip_managed_fields: bool = False,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.directory = directory
        # Made now, so that a directory that cannot be fails the start.
        directory.mkdir(parents=True, exist_ok=True)
        self._server = upstream.server
        self._ca = ca_fingerprint(upstream.tls.ca_pem)
        self._strip = strip_managed_fields
        self.save_interval = save_interval
        self._sleep = sleep
        self.stats = StateStatistics()
        self._saving: asyncio.Task[None] | None = None
        # The write in a thread, if any (see ``save``).
        self._writing: asyncio.Future[int] | None = None
        self._saving_lock = asyncio.Lock()
        # The RV each resource was last saved or loaded at.
        self._saved_rv: dict[GroupVersionResource, int] = {}
        # The auto caches, while autocache.py tracks them (``track_auto``).
        self._auto: AutoSource | None = None

    def __repr__(self) -> str:
        return f"<StateDir {self.directory} every {self.save_interval:.0f}s>"

    def key(self, gvr: GroupVersionResource) -> StateKey:
        return StateKey(self._server, self._ca, gvr.group, gvr.version, gvr.resource, self._strip)

    async def load(self, gvr: GroupVersionResource, cache: Cache) -> bool:
        """Fill ``cache`` (still empty, its reflector not started) from its
        state file; False, logged, when there is none to use."""
        key = self.key(gvr)
        started = time.monotonic()
        try:
            state = await asyncio.to_thread(read_state, state_path(self.directory, key), key)
        except StateFileError as err:
            self.stats.not_loaded[gvr.resource] = err.reason
            level = logging.INFO if err.reason == "missing" else logging.WARNING
            log.log(level, "%s: cold start: %s", gvr.resource, err)
            return False
        restore(cache, state)
        self.stats.loaded_rv[gvr.resource] = state.rv
        self.stats.saved_rv[gvr.resource] = state.rv
        self._saved_rv[gvr] = state.rv
        log.info(
            "%s: warm start from %d objects at rv %d (history from rv %d) saved %.0fs ago "
            "(%.1f MB, %.2fs); resuming by watch",
            gvr.resource,
            len(state.objects),
            state.rv,
            state.base_rv,
            max(0.0, time.time() - state.saved_at),
            state.size / 1e6,
            time.monotonic() - started,
        )
        return True

    async def save(self, gvr: GroupVersionResource, resource: _Resource) -> bool:
        """Save one resource's state if it moved since the last save and
        is whole (see the module's decisions); True when written."""
        async with self._saving_lock:
            return await self._save(gvr, resource)

    async def _save(self, gvr: GroupVersionResource, resource: _Resource) -> bool:
        cache = resource.cache
        name = gvr.resource
        if not resource.reflector.synced.is_set() or resource.failed is not None:
            return False
        if self._saved_rv.get(gvr) == cache.rv:
            return False
        if self._writing is not None:  # a cancelled save's write, still running
            await asyncio.gather(self._writing, return_exceptions=True)
        key = self.key(gvr)
        state = capture(cache)
        path = state_path(self.directory, key)
        # Shielded: a cancelled save still ends its write before the next
        # one starts (both write the same temporary file).
        self._writing = asyncio.ensure_future(asyncio.to_thread(write_state, path, key, state))
        try:
            size = await asyncio.shield(self._writing)
        except OSError as err:
            self.stats.saves[name, "failed"] += 1
            log.error("%s: could not save the cache's state to %s: %s", name, path, err)
            return False
        self.stats.saves[name, "ok"] += 1
        self.stats.saved_rv[name] = state.rv
        self._saved_rv[gvr] = state.rv
        self.stats.saved_bytes[name] = size
        log.debug(
            "%s: saved %d objects and %d events at rv %d (%d bytes)",
            name,
            len(state.objects),
            len(state.events),
            state.rv,
            size,
        )
        return True

    async def save_all(self, resources: Mapping[GroupVersionResource, _Resource]) -> None:
        for gvr, resource in resources.items():
            await self.save(gvr, resource)

    # -- auto caches -------------------------------------------------------------------

    def track_auto(self, source: AutoSource | None) -> None:
        """Save ``source()``'s auto caches and the auto list with every
        interval's save; None: no longer (autocache.py, when it closes)."""
        self._auto = source

    async def save_auto(self, entries: Sequence[tuple[SavedAutoCache, _Resource | None]]) -> None:
        """Save each auto cache's state, then the auto list naming them all."""
        for entry, resource in entries:
            if resource is not None:
                await self.save(entry.gvr, resource)
        listed = _AutoList(self._server, self._ca, [entry for entry, _ in entries])
        path = self.directory / AUTO_LIST
        try:
            await asyncio.to_thread(_write_whole, path, msgspec.json.encode(listed))
        except OSError as err:
            log.error("could not save the list of auto caches to %s: %s", path, err)

    def load_auto(self) -> list[SavedAutoCache]:
        """The auto list a previous run saved for this upstream; [] if
        none, unreadable (logged) or another upstream's."""
        path = self.directory / AUTO_LIST
        try:
            listed = msgspec.json.decode(path.read_bytes(), type=_AutoList)
        except FileNotFoundError:
            return []
        except (OSError, msgspec.DecodeError) as err:
            log.warning("auto caches: %s cannot be read (%s); none restored", path, err)
            return []
        if (listed.server, listed.ca) != (self._server, self._ca):
            log.info("auto caches: %s was saved for another upstream; none restored", path)
            return []
        return listed.caches

    def forget(self, gvr: GroupVersionResource) -> None:
        """Delete ``gvr``'s state file: its auto cache was dropped, or will
        not be restored."""
        self._saved_rv.pop(gvr, None)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(state_path(self.directory, self.key(gvr)))

    def start(self, resources: Mapping[GroupVersionResource, _Resource]) -> None:
        """Save every ``save_interval`` from now on."""
        self._saving = asyncio.get_running_loop().create_task(self._keep_saving(resources))

    async def close(self, resources: Mapping[GroupVersionResource, _Resource]) -> None:
        """Stop saving at intervals and save the final state (the
        reflectors have stopped)."""
        if self._saving is not None:
            self._saving.cancel()
            await asyncio.gather(self._saving, return_exceptions=True)
        if self._writing is not None:
            await asyncio.gather(self._writing, return_exceptions=True)
        await self.save_all(resources)

    async def _keep_saving(self, resources: Mapping[GroupVersionResource, _Resource]) -> None:
        while True:
            await self._sleep(self.save_interval)
            await self.save_all(resources)
            if self._auto is not None:
                await self.save_auto(self._auto())

    def collect(self) -> Iterator[Metric]:
        """Prometheus families (a prometheus_client Collector)."""
        loaded = GaugeMetricFamily(
            "watchcache_cache_warm_start_resource_version",
            "The resourceVersion a warm start loaded from --cache-dir (0: listed cold).",
            labels=["resource"],
        )
        for name in self.stats.loaded_rv.keys() | self.stats.not_loaded.keys():
            loaded.add_metric([name], self.stats.loaded_rv.get(name, 0))
        saves = CounterMetricFamily(
            "watchcache_cache_state_saves",
            "Saves of a cache's state to --cache-dir, by result (ok, failed).",
            labels=["resource", "result"],
        )
        for (name, result), count in sorted(self.stats.saves.items()):
            saves.add_metric([name, result], count)
        size = GaugeMetricFamily(
            "watchcache_cache_state_bytes",
            "Size of the last state file saved.",
            labels=["resource"],
        )
        for name, value in sorted(self.stats.saved_bytes.items()):
            size.add_metric([name], value)
        yield from (loaded, saves, size)


def _write_whole(path: Path, data: bytes) -> None:
    """``data`` at ``path``, whole or not at all (as persist.py writes)."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)
