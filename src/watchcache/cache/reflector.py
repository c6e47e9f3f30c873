"""Keeping one cache equal to upstream: list, then watch, for ever.

Glossary:
    WatchList one watch with sendInitialEvents (KEP-3157): the state as
              ADDED events, a bookmark marking their end, then changes;
              tried first, remembered as unsupported once upstream refuses
              it at an RV (see the decisions)
    list      a consistent, paginated LIST (resourceVersion unset, limit
              ``page_size``): the state at one RV, page after page
    watch     a WATCH from the cache's RV with allowWatchBookmarks, whose
              lines the cache applies one by one
    relist    a new list replacing the cache's state, after upstream's 410
              (its history no longer covers our RV), a broken list, or
              upstream's RV going backwards
    follower  anyone reading the cache's changes (the proxy's watchers);
              ``on_relist`` lets the owner close them, as kube-apiserver
              closes its watchers when its cache relists; ``on_replace``
              hands a follower that keeps its own state (an informer) the
              difference a list made, deletions missed while the watch was
              down included
    stall     a watch that sent nothing, not even a bookmark, for
              ``stall_timeout``: reconnected, because a silently dead
              connection otherwise looks exactly like a quiet resource
    heard     the last time upstream answered: a watch accepted, a line
              applied (event or bookmark), a list page, an RV probe.
              ``silence()`` is how long ago that was: how stale the cache
              may be, whatever upstream is doing
    state lost upstream's RV went backwards (a list, a probe or an event
              older than the cache's RV): its storage was replaced, e.g.
              etcd restored or restarted empty. The cache relists and
              ``on_state_lost`` tells followers to start over (410), since
              every RV they hold now means nothing upstream

Decisions, each where it is made:
    - After a disconnect the watch resumes from the cache's RV: nothing is
      lost or repeated while upstream's history covers it.
    - After a 410 the relist is a consistent list (RV unset). Never RV=0:
      that may be served from a stale apiserver cache, older than what
      followers already saw, and time would go backwards.
    - A WatchList asks for a consistent state (RV unset) at the first sync
      and after upstream lost its state; any other sync asks for a state
      not older than the cache's (RV=the cache's, NotOlderThan, as
      client-go's WatchList does): time cannot go backwards, and an
      upstream proxy answers it from its cache at once, where a consistent
      one it may have to forward (a quiet resource it cannot prove fresh)
      to a kube-apiserver that has no WatchList. A refusal (400, 422) of
      the consistent form only means this sync lists; of the other form,
      that upstream has no WatchList, and it is not asked again.
    - A watch that delivered a line or lasted ``short_watch`` ended
      normally, however it ended (timeoutSeconds, a cut connection, a
      stall): it resumes at once and the backoff starts over, as client-go's
      reflector does. One accepted and ended at once with nothing is a
      failure (upstream accepting and dropping watches in a loop).
    - Failures back off exponentially with full jitter between
      ``backoff_min`` and ``backoff_max``. A Retry-After from upstream
      (429, 503) is waited instead, as given, and does not grow the
      backoff: the server said when to come back.
    - Any answer that is not what kube-apiserver sends (a non-JSON line, an
      HTML page with 200, a wrong shape, an RV that is not a uint64) is a
      ``ProtocolError``: logged, counted, backed off from and retried like
      any other upstream failure. ``run`` raises only for a bug of ours
      (or of a transform or indexer the owner gave the cache);
      its owner runs it under a Supervisor (supervisor.py).
    - Each signal has a type of its own, and only those are caught: an
      ERROR line is ``WatchErrorLine``, bytes that are not kube-apiserver's
      are ``MalformedObject`` (or msgspec's ``DecodeError`` from the
      decoders here), a relist is ``_Relist``. A ``ValueError`` from
      anywhere else is a bug, not upstream's answer.
    - Upstream going back again within ``backoff_max`` of the last time is
      backed off from before the relist: its watch and its lists disagree
      (kube-apiserver running on over a restored etcd), and every
      consistent read would otherwise cause a full LIST.
    - ``synced`` is set after the first complete list and stays set:
      later relists keep serving the old state until the new one is whole.
    - ``confirmed()``: upstream vouched for the cache's state (a list, or a
      watch from its RV that delivered a line or stayed open
      ``short_watch``: a too-old RV's 410 comes at once). A cache started
      from a saved state (persist.py) is synced but not yet confirmed.

Every loop ends when ``stop()`` is called; the clock, sleep and random
source are injected so tests need no real waiting.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import msgspec

from watchcache.api.listoptions import INITIAL_EVENTS_END
from watchcache.cache.cache import Cache, WatchErrorLine
from watchcache.cache.entry import Entry, MalformedObject, parse_resource_version
from watchcache.cache.event import Event
from watchcache.upstream import (
    CredentialError,
    DisconnectedError,
    ProtocolError,
    StatusError,
    TLSError,
    UnreachableError,
    UpstreamClient,
    UpstreamError,
    UpstreamTimeoutError,
    WatchStream,
)

__all__ = ["ListBody", "ListMeta", "Reflector", "ReflectorConfig", "ReflectorStatistics"]

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
    # client-go's "very short watch": one that ends within a second having
    # delivered nothing counts as a failure; any other end is normal.
    short_watch: float = 1.0
    # Sync with one WatchList stream (KEP-3157) when upstream supports it;
    # upstreams that reject it (1.20: 422 on resourceVersionMatch for a
    # watch) are listed and watched instead, and not asked again.
    watch_list: bool = True
    # Ask upstream to end each watch after this long (randomised +-10 %),
    # as client-go does, so connections are renewed regularly.
    watch_timeout: int = 300


@dataclass(slots=True)
class ReflectorStatistics:
    """What one reflector has done since it was made: the one record its
    counters live in, read by the proxy's metrics (proxy/cachemetrics.py)
    and the informer's ``statistics()``. Counters only grow. The reflector
    (and, for ``restarts``, its Supervisor) update it in place;
    ``Reflector.statistics()`` hands out a copy, which never changes."""

    # Syncs by WatchList, and by paginated LIST.
    watch_lists: int = 0
    lists: int = 0
    # Watches opened (WatchList streams are counted in ``watch_lists``).
    watches: int = 0
    # Relists because upstream's history no longer covered the cache's RV.
    relists_after_410: int = 0
    # Relists because upstream's RV went backwards (state lost).
    relists_state_lost: int = 0
    # Watches that sent nothing for ``stall_timeout``.
    stalls: int = 0
    # Watches that ended normally (see the module's decisions).
    watch_ends: int = 0
    # Watch events applied to the cache.
    events: int = 0
    # Failures backed off from, and by kind: an HTTP code ("429"), or
    # malformed, disconnected, unreachable, timeout, tls, credentials,
    # short-watch, state-lost-again, other.
    errors: int = 0
    errors_by_kind: Counter[str] = field(default_factory=Counter)
    # The last failure's message, kept after recovery (for readiness
    # reasons).
    last_error: str | None = None
    # Times the reflector ended by a bug of ours and its Supervisor ran it
    # again (supervisor.py).
    restarts: int = 0
    # The first list completed (stays True, see ``synced`` in the module).
    synced: bool = False

    def copy(self) -> ReflectorStatistics:
        return replace(self, errors_by_kind=Counter(self.errors_by_kind))


class ListMeta(msgspec.Struct):
    resourceVersion: str = ""
    # "continue" is a Python keyword.
    continue_: str = msgspec.field(default="", name="continue")


class ListBody(msgspec.Struct):
    """A LIST answer's metadata and raw items (also proxy/shareforward.py's)."""

    metadata: ListMeta
    items: list[msgspec.Raw] = []


class _ErrorObject(msgspec.Struct):
    code: int = 0
    reason: str = ""
    message: str = ""


class _InitialLine(msgspec.Struct):
    type: str
    object: msgspec.Raw


class _BookmarkMeta(msgspec.Struct):
    resourceVersion: str = "0"
    annotations: dict[str, str] = {}


class _BookmarkObject(msgspec.Struct):
    metadata: _BookmarkMeta


class _LineRV(msgspec.Struct):
    """Any watch line, read only for its object's RV."""

    object: _BookmarkObject


_list_decoder = msgspec.json.Decoder(ListBody)
_initial_decoder = msgspec.json.Decoder(_InitialLine)
_bookmark_decoder = msgspec.json.Decoder(_BookmarkObject)
_status_decoder = msgspec.json.Decoder(_ErrorObject)
_line_rv_decoder = msgspec.json.Decoder(_LineRV)


class _Relist(Exception):
    """The cache's state must be listed again (``reason``: expired,
    state-lost, or requested); not a failure, so nothing is backed off."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        super().__init__(detail)


class _ShortWatch(UpstreamError):
    """Upstream accepted a watch and ended it at once with nothing."""


class _StateLostAgain(UpstreamError):
    """Upstream's RV went back again soon after the cache took its state."""


@contextmanager
def _malformed(what: str, data: bytes) -> Iterator[None]:
    """Decoding an upstream answer: anything kube-apiserver would not have
    sent becomes a ProtocolError naming it. Only the cache's
    ``MalformedObject`` and the DecodeError of this module's decoders are
    caught; any other exception is not about upstream's bytes."""
    try:
        yield
    except msgspec.DecodeError as err:
        malformed = MalformedObject(str(err), data)
    except MalformedObject as err:
        malformed = err
    else:
        return
    raise ProtocolError(
        f"upstream sent {what} kube-apiserver would not: {malformed}"
    ) from malformed


def _error_kind(err: UpstreamError) -> str:
    """A bounded label for what went wrong, for counting."""
    if isinstance(err, StatusError):
        return str(err.code)
    kinds: tuple[tuple[type[UpstreamError], str], ...] = (
        (ProtocolError, "malformed"),
        (_ShortWatch, "short-watch"),
        (_StateLostAgain, "state-lost-again"),
        (DisconnectedError, "disconnected"),
        (UnreachableError, "unreachable"),
        (UpstreamTimeoutError, "timeout"),
        (TLSError, "tls"),
        (CredentialError, "credentials"),
    )
    return next((kind for cls, kind in kinds if isinstance(err, cls)), "other")


# How early a silence's timer may fire and still count: the loop's timers
# are milliseconds.
_SILENCE_SLACK = 0.002


class _Silence:
    """The stall check of one watch stream's reads, for a ``with`` block:
    ``await silence.next(lines)`` is ``anext(lines)``, raising TimeoutError
    once it has waited ``seconds`` for a line. Only the wait for a line
    counts: what the caller does between reads (a dispatch waiting for slow
    watchers) is not silence.

    One timer a period, re-armed lazily, cancelling the reading task when
    it fires during a wait that long. Per line read on this machine's
    uvloop: 0.25 us, where ``asyncio.timeout`` around each read (a timer
    armed and cancelled per line) took 5.1-5.4 us, and ``wait_for`` (a
    WatchList's initial events) 6.1-6.8 us. ``wait_for`` also runs each
    read in a task of its own, so the loop turned between the lines of one chunk, and
    every watcher got one write per event instead of one per chunk
    (fanout/coalesce.py)."""

    __slots__ = ("_cancelling", "_fired", "_loop", "_seconds", "_task", "_timer", "_waiting_since")

    def __init__(self, seconds: float) -> None:
        self._loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        self._task = task
        self._cancelling = task.cancelling()
        self._seconds = seconds
        self._fired = False
        # Set while the task waits for a line, on the loop's clock.
        self._waiting_since: float | None = None
        self._timer: asyncio.TimerHandle | None = None

    def __enter__(self) -> _Silence:
        self._timer = self._loop.call_at(self._loop.time() + self._seconds, self._check)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._timer is not None:
            self._timer.cancel()

    async def next(self, lines: AsyncIterator[bytes]) -> bytes:
        self._waiting_since = self._loop.time()
        try:
            return await anext(lines)
        except asyncio.CancelledError:
            # Ours, and no one else cancelled the task too: a stall.
            if self._fired and self._task.uncancel() <= self._cancelling:
                raise TimeoutError from None
            raise
        finally:
            self._waiting_since = None

    def _check(self) -> None:
        now = self._loop.time()
        since = self._waiting_since
        # Between reads: checked again a period on.
        due = now + self._seconds if since is None else since + self._seconds
        if since is not None and now >= due - _SILENCE_SLACK:
            self._fired = True
            self._task.cancel()
        else:
            self._timer = self._loop.call_at(due, self._check)


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
        on_state_lost: Callable[[int, int], None] | None = None,
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
        # Called with (the cache's RV, upstream's lower one) once the cache
        # holds upstream's new state, before ``on_relist``.
        self.on_state_lost = on_state_lost
        self._on_replace = on_replace
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()
        self.synced = asyncio.Event()
        self._stopping = asyncio.Event()
        # Set when a relist is asked for: it ends a backoff from a failure
        # (not one from upstream going back again soon, _lost_again).
        self._relist_wake = asyncio.Event()
        self._failures = 0
        self._need_list = True
        self._stream: WatchStream | None = None
        # Why a relist was asked for from outside (``upstream_went_back``),
        # until the next list.
        self._relist_requested: str | None = None
        self._heard_at = clock()
        # None until known; False once upstream refused WatchList.
        self._watch_list_works: bool | None = None if config.watch_list else False
        # Upstream vouched for the state (see ``confirmed``); until then,
        # when the open watch from the cache's RV was accepted.
        self._confirmed = False
        self._watch_open_at: float | None = None
        # When the cache last took a state whose RV was below its own.
        self._state_lost_at: float | None = None
        # Upstream lost its state: the next sync must be consistent (RV
        # unset), until a list or WatchList replaced the cache's state.
        self._consistent_sync = False
        # Updated in place; its Supervisor adds ``restarts``.
        self.stats = ReflectorStatistics()

    def __repr__(self) -> str:
        state = "synced" if self.synced.is_set() else "syncing"
        return (
            f"<Reflector {self.path} {state} rv={self.cache.rv} failures={self._failures} "
            f"silent={self.silence():.1f}s>"
        )

    def statistics(self) -> ReflectorStatistics:
        """A copy of ``stats``, as of now."""
        return self.stats.copy()

    @property
    def last_error(self) -> str | None:
        """The last failure's message, kept after recovery."""
        return self.stats.last_error

    def confirmed(self) -> bool:
        """Upstream vouched for the cache's state (see the module's
        decisions): a warm start's readiness waits for this."""
        opened = self._watch_open_at
        if not self._confirmed and opened is not None:
            self._confirmed = self._clock() - opened >= self.config.short_watch
        return self._confirmed

    def silence(self) -> float:
        """Seconds since upstream last answered (see "heard"); since the
        reflector was made if it never has."""
        return self._clock() - self._heard_at

    @property
    def stopped(self) -> bool:
        """``stop()`` was called."""
        return self._stopping.is_set()

    def stop(self) -> None:
        """End ``run`` soon: an open watch is dropped, a backoff cut short."""
        self._stopping.set()
        if self._stream is not None:
            self._stream.close()

    def upstream_went_back(self, upstream_rv: int, seen: int) -> None:
        """A consistent read's probe found upstream at ``upstream_rv``,
        below the ``seen`` RV the cache had before the probe was sent:
        upstream lost state. Relist now (the open watch is dropped); the
        other reads that shared the probe say so again, to no effect."""
        if self._relist_requested is not None:
            return
        log.warning(
            "%s: upstream's resourceVersion went back from %d to %d (probe); relisting",
            self.path,
            seen,
            upstream_rv,
        )
        self._relist_requested = f"a probe found upstream at rv {upstream_rv}, below {seen}"
        self._relist_wake.set()
        if self._stream is not None:
            self._stream.close()

    def request_relist(self, reason: str) -> None:
        """Relist now, for ``reason`` (the consistency checker found the
        cache differs from upstream); the open watch is dropped."""
        if self._relist_requested is not None:
            return
        self._relist_requested = reason
        self._relist_wake.set()
        if self._stream is not None:
            self._stream.close()

    def _lost_again(self) -> bool:
        """Upstream went back again soon after the last time: an upstream
        whose watch and lists disagree (kube-apiserver kept running over a
        restored etcd replays the old state from its watch cache). Each
        relist is a full LIST; without a backoff every consistent read
        would cause one."""
        last = self._state_lost_at
        return last is not None and self._clock() - last < self.config.backoff_max

    def _heard(self) -> None:
        self._heard_at = self._clock()

    # -- the loop ------------------------------------------------------------

    async def run(self, *, relist: bool = False) -> None:
        """List, then watch, until stopped; never raises for upstream
        trouble, however malformed (see the module's decisions).

        A cache that already holds a state (a reflector restarted over it)
        is watched from its RV without a list, and counts as synced, unless
        ``relist`` (a restart after a crash: the state may be half-applied)."""
        # Invariant: True from a failure that needs a new state until a
        # LIST or WatchList has replaced the cache's state.
        self._need_list = relist or self.cache.rv == 0
        if self.cache.rv != 0:
            self._mark_synced()
        while not self._stopping.is_set():
            if self._relist_requested is not None:
                self._need_list = True
            try:
                if self._need_list:
                    if await self._try_watch_list():
                        continue  # the stream ended after the sync: resume by RV
                    if self._need_list:
                        await self._list()
                await self._watch()
            except _Relist as relist_:
                self._need_list = True
                self._consistent_sync |= relist_.reason == "state-lost"
                if relist_.reason == "expired":
                    self.stats.relists_after_410 += 1
                log.info("%s: %s; relisting", self.path, relist_)
                if relist_.reason == "state-lost" and self._lost_again():
                    await self._back_off(_StateLostAgain(str(relist_)))
            except UpstreamError as err:
                if self._stopping.is_set():
                    break  # the watch was dropped by stop()
                if isinstance(err, StatusError) and err.code == 410:
                    self.stats.relists_after_410 += 1  # the expiry, answered as a status
                    self._need_list = True
                    continue
                await self._back_off(err)

    async def _back_off(self, err: UpstreamError) -> None:
        self.stats.errors += 1
        self.stats.errors_by_kind[_error_kind(err)] += 1
        self.stats.last_error = str(err)
        retry_after = err.retry_after if isinstance(err, StatusError) else None
        if retry_after is not None:
            # As asked, not compounded: the backoff neither grows nor applies.
            delay = max(float(retry_after), self.config.backoff_min)
        else:
            self._failures += 1
            ceiling = min(
                self.config.backoff_max, self.config.backoff_min * 2 ** (self._failures - 1)
            )
            delay = self._rng.uniform(self.config.backoff_min, ceiling)
        log.warning("%s: %s; retrying in %.1fs", self.path, err, delay)
        # A relist asked for meanwhile (a consistent read's probe found
        # upstream went back) starts at once: backing off from a restarting
        # control plane could otherwise hold it, and the 410 every watcher
        # is owed, for up to backoff_max.
        await self._interruptible_sleep(delay, wake=not isinstance(err, _StateLostAgain))

    async def _interruptible_sleep(self, delay: float, *, wake: bool = False) -> None:
        waits = [asyncio.ensure_future(self._stopping.wait())]
        if wake:
            waits.append(asyncio.ensure_future(self._relist_wake.wait()))
        sleeping = asyncio.ensure_future(self._sleep(delay))
        await asyncio.wait({*waits, sleeping}, return_when=asyncio.FIRST_COMPLETED)
        for task in (*waits, sleeping):
            task.cancel()

    def _replaced(self, items: list[Entry], rv: int, how: str) -> list[Event]:
        """Make ``items`` at ``rv`` the cache's state and tell followers
        that keep no state of their own (``on_relist``, ``on_state_lost``);
        returns the difference, for ``on_replace``, awaited by the caller."""
        relist = self.synced.is_set()
        lost_from = self.cache.rv if relist and rv < self.cache.rv else None
        changes = self.cache.replace_entries(items, rv)
        self._need_list = False
        self._confirmed = True
        self._relist_requested = None
        self._relist_wake.clear()
        self._consistent_sync = False
        self._mark_synced()
        log.info("%s: synced %d objects at rv %d by %s", self.path, len(items), rv, how)
        if lost_from is not None:
            self.stats.relists_state_lost += 1
            self._state_lost_at = self._clock()
            log.warning(
                "%s: upstream's resourceVersion went back from %d to %d: its state was "
                "replaced; followers start over",
                self.path,
                lost_from,
                rv,
            )
            if self.on_state_lost is not None:
                self.on_state_lost(lost_from, rv)
        if relist and self._on_relist is not None:
            self._on_relist()
        return changes

    def _mark_synced(self) -> None:
        self.synced.set()
        self.stats.synced = True

    # -- WatchList -------------------------------------------------------------

    async def _try_watch_list(self) -> bool:
        """Sync through one WatchList stream, then keep reading it as a
        watch. False when upstream does not support it (use a LIST)."""
        if self._watch_list_works is False:
            return False
        rv = self._watch_list_rv()
        params = {
            "sendInitialEvents": "true",
            "resourceVersionMatch": "NotOlderThan",
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(int(self.config.watch_timeout * self._rng.uniform(0.9, 1.1))),
        }
        if rv:
            params["resourceVersion"] = rv
        accepted = False
        try:
            async with self.client.watch(self.path, params) as stream:
                accepted = True
                self._heard()  # upstream accepted the watch
                opened = self._clock()
                self._stream = stream
                try:
                    if not await self._initial_events(stream):
                        return False
                finally:
                    self._stream = None
                await self._follow(stream, opened)
        except StatusError as err:
            if accepted or err.code not in (400, 422):
                raise
            if rv:
                self._watch_list_works = False
            log.info(
                "%s: upstream refused a WatchList at rv %r (%s); listing instead",
                self.path,
                rv,
                err.reason,
            )
            return False
        return True

    def _watch_list_rv(self) -> str:
        """The RV a WatchList asks for: "" (consistent) at the first sync
        and after upstream lost its state, else the cache's (see the
        module's decisions)."""
        if self.cache.rv == 0 or self._consistent_sync or self._relist_requested is not None:
            return ""
        return str(self.cache.rv)

    async def _initial_events(self, stream: WatchStream) -> bool:
        """Collect the ADDED events up to the initial-events-end bookmark and
        make them the cache's state. False (and WatchList is not tried
        again) if the stream shows upstream ignored sendInitialEvents."""
        items: list[Entry] = []
        lines = aiter(stream)
        with _Silence(self.config.stall_timeout) as silence:
            while True:
                try:
                    line = await silence.next(lines)
                except StopAsyncIteration:
                    raise DisconnectedError(
                        "the WatchList stream ended before its initial events"
                    ) from None
                except TimeoutError:
                    self.stats.stalls += 1
                    raise DisconnectedError(
                        "the WatchList stream went silent during its initial events"
                    ) from None
                self._heard()
                with _malformed("a WatchList line", line):
                    event = _initial_decoder.decode(line)
                    if event.type == "ADDED":
                        items.append(self.cache.decode(bytes(event.object)))
                        continue
                    if event.type == "BOOKMARK":
                        meta = _bookmark_decoder.decode(event.object).metadata
                        rv = parse_resource_version(meta.resourceVersion, line)
                        if meta.annotations.get(INITIAL_EVENTS_END) == "true":
                            break
                if event.type == "ERROR":
                    await self._apply(line)  # raises: 410 relists, others back off
                # A change or a plain bookmark before the end marker: upstream
                # ignored sendInitialEvents. Fall back to LIST + WATCH.
                self._watch_list_works = False
                log.info("%s: upstream ignored sendInitialEvents; listing instead", self.path)
                return False
        changes = self._replaced(items, rv, "WatchList")
        self._watch_list_works = True
        self.stats.watch_lists += 1
        if self._on_replace is not None:
            await self._on_replace(changes)
        return True

    # -- list ----------------------------------------------------------------

    async def _list(self) -> None:
        items, rv = await self.list_upstream()
        changes = self._replaced(items, rv, "LIST")
        self.stats.lists += 1
        if self._on_replace is not None:
            await self._on_replace(changes)

    async def list_upstream(
        self, query: Mapping[str, str] | None = None
    ) -> tuple[list[Entry], int]:
        """A consistent LIST of upstream's, every page, decoded into entries
        (not applied to the cache), and its RV; ``query`` (a labelSelector,
        say) goes with every page."""
        items: list[Entry] = []
        token = ""
        rv: int | None = None
        while True:
            params = {**(query or {}), "limit": str(self.config.page_size)}
            if token:
                params["continue"] = token
            body = (await self.client.get(self.path, params)).body
            with _malformed("a LIST page", body):
                page = _list_decoder.decode(body)
                page_rv = parse_resource_version(page.metadata.resourceVersion, body)
                # Decoded page by page, so one page's bytes are held at a
                # time (holding all until the end cost 2x the JSON in RSS,
                # bench_informer.py). Each item is copied: a Raw view would
                # keep the whole page alive.
                items.extend(self.cache.decode(bytes(item)) for item in page.items)
            self._heard()
            rv = page_rv if rv is None else rv
            token = page.metadata.continue_
            if not token:
                return items, rv

    async def _probe_rv(self) -> None:
        """Upstream's current RV, by a one-item LIST: after a stall, the
        only way to learn that upstream went back when it sends nothing."""
        body = (await self.client.get(self.path, {"limit": "1"})).body
        with _malformed("a LIST page", body):
            rv = parse_resource_version(_list_decoder.decode(body).metadata.resourceVersion, body)
        self._heard()
        if rv < self.cache.rv:
            raise _Relist(
                "state-lost", f"upstream is at rv {rv}, below the cache's {self.cache.rv}"
            )

    # -- watch ---------------------------------------------------------------

    async def _watch(self) -> None:
        timeout = int(self.config.watch_timeout * self._rng.uniform(0.9, 1.1))
        params = {
            "resourceVersion": str(self.cache.rv),
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(timeout),
        }
        self.stats.watches += 1
        async with self.client.watch(self.path, params) as stream:
            heard_before = self._heard_at
            self._heard()  # upstream accepted the watch
            self._watch_open_at = self._clock()
            try:
                await self._follow(stream, self._clock())
            except _ShortWatch:
                # Accepting a watch only to drop it is no sign of health.
                self._heard_at = heard_before
                raise
            finally:
                self.confirmed()  # judged while the watch was still open
                self._watch_open_at = None

    async def _follow(self, stream: WatchStream, opened: float) -> None:
        """Apply the stream's lines until it ends, and judge the end (see
        the module's decisions)."""
        self._stream = stream
        stalled = False
        try:
            stalled = await self._read(stream)
        except (DisconnectedError, UpstreamTimeoutError) as err:
            if self._stopping.is_set():
                raise
            if self._relist_requested is None and not self._ended_normally(stream, opened):
                raise
            log.info("%s: watch lost after %d lines (%s); resuming", self.path, stream.lines, err)
        finally:
            self._stream = None
        if self._relist_requested is not None:
            raise _Relist("state-lost", self._relist_requested)
        if self._stopping.is_set():
            return
        if not stalled and not self._ended_normally(stream, opened):
            raise _ShortWatch(
                f"WATCH {self.path}: upstream ended the watch at once, sending nothing"
            )
        self._failures = 0
        self.stats.watch_ends += 1
        if stalled:
            await self._probe_rv()

    def _ended_normally(self, stream: WatchStream, opened: float) -> bool:
        return stream.lines > 0 or self._clock() - opened >= self.config.short_watch

    async def _read(self, stream: WatchStream) -> bool:
        """Apply lines until upstream ends the watch; True if it stalled."""
        lines = aiter(stream)
        with _Silence(self.config.stall_timeout) as silence:
            while not self._stopping.is_set():
                try:
                    line = await silence.next(lines)
                except StopAsyncIteration:
                    return False  # upstream ended the watch (timeoutSeconds): resume
                except TimeoutError:
                    self.stats.stalls += 1
                    log.warning(
                        "%s: watch silent for %.0fs; reconnecting",
                        self.path,
                        self.config.stall_timeout,
                    )
                    return True
                await self._apply(line)
        return False

    async def _apply(self, line: bytes) -> None:
        before = self.cache.rv
        with _malformed("a watch line", line):
            try:
                event = self.cache.apply_line(line)
            except WatchErrorLine as error:
                raise self._watch_error(error.object) from None
            # Nothing applied: a bookmark, or an event not newer than the
            # cache. On a watch from the cache's RV, either below it means
            # upstream went back.
            line_rv = (
                parse_resource_version(
                    _line_rv_decoder.decode(line).object.metadata.resourceVersion, line
                )
                if event is None
                else 0
            )
        self._heard()
        if event is None:
            if line_rv < before:
                raise _Relist(
                    "state-lost", f"a watch line at rv {line_rv}, below the cache's {before}"
                )
            self._confirmed = True
            return
        self._confirmed = True
        self.stats.events += 1
        if self._on_event is not None:
            await self._on_event(event)

    def _watch_error(self, obj: bytes) -> Exception:
        """What an ERROR line means: relist after a 410, else a failure."""
        error = _status_decoder.decode(obj)
        if error.code == 410:
            return _Relist("expired", f"upstream's history no longer covers rv {self.cache.rv}")
        return StatusError({"code": error.code, "reason": error.reason, "message": error.message})
