"""The watchers of one resource, indexed so an event meets only its audience.

Index (each watcher is in exactly one bucket, the narrowest its request
allows; kube-apiserver indexes the same way):

    trigger[value]       the watcher's field selector pins the resource's
                         trigger field (pods: spec.nodeName=value)
    name[(ns, name)]     it pins metadata.name (ns is None across namespaces)
    namespace[ns]        it watches one namespace
    everyone             the rest

An event's candidates are ``everyone``, its namespace's bucket, its name's
buckets, and the trigger buckets of both its new and its previous trigger
value (so watchers of the old node hear that a pod left). Each candidate
then applies its full filter (filter.py). The cost of an event therefore
grows with the watchers that could match it, not with all watchers.

Within a bucket, watchers with equal filters form one group, so an event's
line is chosen once per distinct filter, not once per watcher: a thousand
watchers of all pods cost one decision and a thousand appends.

Dispatch (``dispatch``): each group's line is framed once (``chunk``) and
the same bytes are offered to every candidate without waiting; what goes
on the wire is the sockets' business (socket.py), written once per socket
per batch of events, or per ``write_window`` (the registry's coalescer,
coalesce.py). Those whose buffers are
full share one time budget (budget.py): each is waited for in turn (woken
by its socket, not polled), within what is left; one still full when the
budget is spent is closed as too slow, and its client resumes from its
last resourceVersion. The fast path, where every buffer has room, never
awaits.

Bookmarks and deadlines (``tick``, called about once a second): a watcher
that asked for bookmarks gets one about every ``bookmark_interval`` and
once ``BOOKMARK_BEFORE_DEADLINE`` before its deadline, at the resource's
RV even when it has not moved (so through an upstream outage too); a watcher past its
deadline (timeoutSeconds) is closed.

Time: the clock (``now()``: bookmarks, deadlines, the budget) and the
sleep that bounds a wait for room are injected, so tests move time
themselves.

Timers are one heap of (due, seq, watcher) entries, at most three per
watcher (its next bookmark, and two for its deadline). A watcher that
closes leaves its entries behind (a heap cannot drop one cheaply); they
are dead. Invariant: ``_dead_timers`` counts them, and is never more than
half the heap: when it would be, the heap is rebuilt without them. So a
closed watcher is released at once or by the next rebuild, not kept until
its deadline (30-60 min for a client that sends no timeout; before, a
storm of 24,000 short watches kept every one of them, RSS 46 -> 100 MB).
"""

from __future__ import annotations

import asyncio
import functools
import heapq
import itertools
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from watchcache.fanout.budget import TimeBudget
from watchcache.fanout.coalesce import Coalescer
from watchcache.fanout.event import FanoutEvent
from watchcache.fanout.filter import WatchFilter
from watchcache.fanout.socket import chunk
from watchcache.fanout.watcher import Watcher

__all__ = ["BOOKMARK_BEFORE_DEADLINE", "BOOKMARK_INTERVAL", "Registry", "RegistryStatistics"]

# kube-apiserver 1.34 sends a bookmark about once a minute per watcher and
# one about 2 s before the watch's deadline.
BOOKMARK_INTERVAL = 60.0
BOOKMARK_BEFORE_DEADLINE = 2.0

IndexKey = tuple[str, object]


class _Group:
    """Watchers of one bucket that share a filter (by ``filter.key()``)."""

    __slots__ = ("filter", "watchers")

    def __init__(self, filter: WatchFilter) -> None:
        self.filter = filter
        self.watchers: set[Watcher] = set()


@dataclass(frozen=True)
class RegistryStatistics:
    watchers: int
    timer_entries: int  # bookmark and deadline checks queued, dead ones included
    dispatched_events: int
    deliveries: int
    closed_slow: int
    budget_waits: int
    # Bytes of watch events written to clients, closed watchers included.
    bytes_written: int = 0
    # Writes to clients' transports (each of one or more events), the same way.
    writes: int = 0


class Registry:
    def __init__(
        self,
        *,
        trigger_field: str | None = None,
        bookmark_line: Callable[[int], bytes] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        budget: TimeBudget | None = None,
        bookmark_interval: float = BOOKMARK_INTERVAL,
        write_window: float = 0.0,
    ) -> None:
        self.trigger_field = trigger_field
        self.write_window = write_window
        self._coalescer: Coalescer | None = None  # made on first use, on the running loop
        self._bookmark_line = bookmark_line
        self._clock = clock
        self._sleep = sleep
        self.budget = budget or TimeBudget(clock)
        self.bookmark_interval = bookmark_interval
        # Invariant: a watcher is in exactly one bucket, the one named by its
        # index_key, and there in the group of its filter's key, from add()
        # until remove(); empty groups and buckets are deleted.
        self._buckets: dict[IndexKey, dict[str, _Group]] = defaultdict(dict)
        # (due, seq, watcher): bookmark and deadline checks; see the module
        # docstring for the dead entries of closed watchers.
        self._timers: list[tuple[float, int, Watcher]] = []
        self._dead_timers = 0
        self._seq = itertools.count()
        self.rv = 0
        self._dispatched = 0
        self._deliveries = 0
        self._closed_slow = 0
        self._budget_waits = 0
        self._bytes_of_removed = 0  # written by watchers no longer registered
        self._writes_of_removed = 0

    def __len__(self) -> int:
        return sum(len(g.watchers) for b in self._buckets.values() for g in b.values())

    def _all(self) -> list[Watcher]:
        return [w for b in self._buckets.values() for g in b.values() for w in g.watchers]

    def __repr__(self) -> str:
        return f"<Registry watchers={len(self)} buckets={len(self._buckets)} rv={self.rv}>"

    def now(self) -> float:
        """The registry's clock: deadlines are set on it."""
        return self._clock()

    def coalescer(self) -> Coalescer:
        """What decides when its watchers' sockets write (coalesce.py)."""
        if self._coalescer is None:
            self._coalescer = Coalescer(asyncio.get_running_loop(), self.write_window)
        return self._coalescer

    # -- membership --------------------------------------------------------------

    def add(self, watcher: Watcher) -> None:
        watcher.index_key = self._key_for(watcher)
        bucket = self._buckets[watcher.index_key]
        key = watcher.filter.key()
        group = bucket.get(key)
        if group is None:
            group = bucket[key] = _Group(watcher.filter)
        else:
            watcher.filter = group.filter  # equal: keep one copy, not one per watcher
        group.watchers.add(watcher)
        now = self._clock()
        if watcher.bookmarks:
            watcher.bookmark_due = now + self.bookmark_interval
            self._schedule(watcher, watcher.bookmark_due)
        if watcher.deadline is not None:
            self._schedule(watcher, watcher.deadline - BOOKMARK_BEFORE_DEADLINE)
            self._schedule(watcher, watcher.deadline)
        watcher.on_close = self.remove

    def remove(self, watcher: Watcher) -> None:
        bucket = self._buckets.get(watcher.index_key)
        if bucket is None:
            return
        key = watcher.filter.key()
        group = bucket.get(key)
        if group is None or watcher not in group.watchers:
            return
        self._bytes_of_removed += watcher.bytes_written
        self._writes_of_removed += watcher.socket.writes
        group.watchers.discard(watcher)
        if not group.watchers:
            del bucket[key]
        if not bucket:
            del self._buckets[watcher.index_key]
        self._dead_timers += watcher.timer_entries
        if self._dead_timers * 2 > len(self._timers):
            self._drop_dead_timers()

    def _drop_dead_timers(self) -> None:
        """Rebuild the heap from live watchers' entries: O(heap), once per
        at least as many removed entries, so O(1) per closed watcher."""
        self._timers = [entry for entry in self._timers if not entry[2].closed.done()]
        heapq.heapify(self._timers)
        self._dead_timers = 0

    def closers(self, reason: str) -> list[Callable[[], None]]:
        """A callback per open watcher that closes it for ``reason``."""
        return [functools.partial(watcher.close, reason) for watcher in self._all()]

    def close_all(self, reason: str) -> None:
        """End every stream: the cache relisted (clients resume by RV, as
        kube-apiserver's do after its own relist), or the proxy stops."""
        for watcher in self._all():
            watcher.close(reason)

    def expire_all(self, reason: str, error_line: bytes) -> None:
        """End every stream with ``error_line`` (a 410 ERROR event) last:
        upstream's state was replaced, so the RVs clients hold mean nothing
        now and they must list again, not resume."""
        for watcher in self._all():
            watcher.close(reason, watcher.filter.error_for(error_line))

    def _key_for(self, watcher: Watcher) -> IndexKey:
        fields = watcher.filter.fields
        exact = getattr(fields, "exact", None)
        if self.trigger_field and exact is not None:
            value = exact(self.trigger_field)
            if value is not None:
                return ("trigger", value)
        name = exact("metadata.name") if exact is not None else None
        if name is not None:
            return ("name", (watcher.filter.namespace, name))
        if watcher.filter.namespace is not None:
            return ("namespace", watcher.filter.namespace)
        return ("everyone", None)

    def candidate_buckets(self, event: FanoutEvent) -> list[dict[str, _Group]]:
        """The buckets an event's watchers are in. Each watcher is in one
        bucket, so distinct buckets never share a watcher: no set is built."""
        keys: dict[IndexKey, None] = {
            ("everyone", None): None,
            ("namespace", event.namespace): None,
            ("name", (event.namespace, event.name)): None,
            ("name", (None, event.name)): None,
        }
        if self.trigger_field:
            keys[("trigger", event.fields.get(self.trigger_field))] = None
            if event.prev_fields is not None:
                keys[("trigger", event.prev_fields.get(self.trigger_field))] = None
        buckets = self._buckets
        return [bucket for key in keys if (bucket := buckets.get(key))]

    def candidates(self, event: FanoutEvent) -> set[Watcher]:
        return {
            w
            for bucket in self.candidate_buckets(event)
            for g in bucket.values()
            for w in g.watchers
        }

    # -- dispatch ----------------------------------------------------------------

    async def dispatch(self, event: FanoutEvent) -> None:
        """Deliver one event; events must be dispatched in RV order."""
        blocked = self._offer_all(event)
        if blocked:
            await self._wait_within_budget(blocked, event.rv)

    def _offer_all(self, event: FanoutEvent) -> list[tuple[Watcher, bytes, bytes]]:
        self.rv = max(self.rv, event.rv)
        self._dispatched += 1
        blocked = []
        delivered = 0
        rv = event.rv
        line: bytes | None = None
        frame = b""
        for bucket in self.candidate_buckets(event):
            for group in bucket.values():
                group_line = group.filter.line_for(event)
                if group_line is None:
                    continue
                if group_line is not line:  # groups mostly share the event's one line
                    line, frame = group_line, chunk(group_line)
                for watcher in group.watchers:
                    # Watcher.offer, inlined: hot path.
                    if rv <= watcher.start_rv:
                        delivered += 1  # it has this event already
                    elif watcher.socket.offer(group_line, frame):
                        delivered += 1
                        if rv > watcher.last_rv:
                            watcher.last_rv = rv
                    else:
                        blocked.append((watcher, group_line, frame))
        self._deliveries += delivered
        return blocked

    async def _wait_within_budget(
        self, blocked: Iterable[tuple[Watcher, bytes, bytes]], rv: int
    ) -> None:
        budget = self.budget.take()
        started = self._clock()
        for watcher, line, frame in blocked:
            self._budget_waits += 1
            left = budget - (self._clock() - started)
            if (
                left > 0
                and await self._wait_for_room(watcher, len(frame), left)
                and watcher.offer(line, frame, rv)
            ):
                self._deliveries += 1
                continue
            self._closed_slow += 1
            watcher.close("too slow: its buffer stayed full beyond the dispatch time budget")
        self.budget.give_back(budget - (self._clock() - started))

    async def _wait_for_room(self, watcher: Watcher, size: int, within: float) -> bool:
        """Whether ``size`` more bytes fit in the watcher's socket within
        ``within`` seconds (the injected sleep bounds the wait)."""
        room = watcher.socket.room(size)
        if room.done():
            return True
        timeout = asyncio.ensure_future(self._sleep(within))
        try:
            await asyncio.wait((room, timeout), return_when=asyncio.FIRST_COMPLETED)
        finally:
            timeout.cancel()
            if not room.done():
                room.cancel()
        return not room.cancelled()

    # -- time --------------------------------------------------------------------

    def _schedule(self, watcher: Watcher, due: float) -> None:
        heapq.heappush(self._timers, (due, next(self._seq), watcher))
        watcher.timer_entries += 1

    def tick(self) -> None:
        """Send due bookmarks, close watchers past their deadline, and
        forget watchers whose clients left (an idle stream notices a
        vanished client only here: nothing is written to it otherwise)."""
        for watcher in self._all():
            watcher.socket.close_if_client_gone()
        now = self._clock()
        while self._timers and self._timers[0][0] <= now:
            _, _, watcher = heapq.heappop(self._timers)
            watcher.timer_entries -= 1
            if watcher.closed.done():
                self._dead_timers -= 1
                continue
            if watcher.deadline is not None and now >= watcher.deadline:
                watcher.close("deadline")
                continue
            # Also when the RV has not moved (a quiet resource, an outage
            # served stale): kube-apiserver keeps the cadence regardless.
            if watcher.bookmarks and self._bookmark_line is not None and self.rv > 0:
                watcher.send_bookmark(
                    watcher.filter.bookmark_for(self._bookmark_line(self.rv)), self.rv
                )
            if watcher.bookmarks and now >= watcher.bookmark_due:
                watcher.bookmark_due = now + self.bookmark_interval
                self._schedule(watcher, watcher.bookmark_due)

    def statistics(self) -> RegistryStatistics:
        return RegistryStatistics(
            watchers=len(self),
            timer_entries=len(self._timers),
            dispatched_events=self._dispatched,
            deliveries=self._deliveries,
            closed_slow=self._closed_slow,
            budget_waits=self._budget_waits,
            bytes_written=self._bytes_of_removed + sum(w.bytes_written for w in self._all()),
            writes=self._writes_of_removed + sum(w.socket.writes for w in self._all()),
        )
