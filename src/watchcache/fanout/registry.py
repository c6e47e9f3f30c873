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

Dispatch (``dispatch``): the event is offered to every candidate without
waiting. Those whose buffers are full share one time budget (budget.py):
each is waited for in turn, within what is left; one still full when the
budget is spent is closed as too slow, and its client resumes from its
last resourceVersion. The fast path, where every buffer has room, never
awaits.

Bookmarks and deadlines (``tick``, called about once a second): a watcher
that asked for bookmarks gets one about every ``bookmark_interval`` and
once ``BOOKMARK_BEFORE_DEADLINE`` before its deadline; a watcher past its
deadline (timeoutSeconds) is closed.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from watchcache.fanout.budget import TimeBudget
from watchcache.fanout.event import FanoutEvent
from watchcache.fanout.watcher import Watcher

__all__ = ["BOOKMARK_BEFORE_DEADLINE", "BOOKMARK_INTERVAL", "Registry", "RegistryStatistics"]

# kube-apiserver 1.34 sends a bookmark about once a minute per watcher and
# one about 2 s before the watch's deadline.
BOOKMARK_INTERVAL = 60.0
BOOKMARK_BEFORE_DEADLINE = 2.0

IndexKey = tuple[str, object]


@dataclass(frozen=True)
class RegistryStatistics:
    watchers: int
    dispatched_events: int
    deliveries: int
    closed_slow: int
    budget_waits: int


class Registry:
    def __init__(
        self,
        *,
        trigger_field: str | None = None,
        bookmark_line: Callable[[int], bytes] | None = None,
        clock: Callable[[], float] = time.monotonic,
        budget: TimeBudget | None = None,
        bookmark_interval: float = BOOKMARK_INTERVAL,
    ) -> None:
        self.trigger_field = trigger_field
        self._bookmark_line = bookmark_line
        self._clock = clock
        self.budget = budget or TimeBudget(clock)
        self.bookmark_interval = bookmark_interval
        # Invariant: a watcher is in exactly one bucket, the one named by its
        # index_key, from add() until remove().
        self._buckets: dict[IndexKey, set[Watcher]] = defaultdict(set)
        # (due, seq, watcher): bookmark and deadline checks, lazily cleaned.
        self._timers: list[tuple[float, int, Watcher]] = []
        self._seq = itertools.count()
        self.rv = 0
        self._dispatched = 0
        self._deliveries = 0
        self._closed_slow = 0
        self._budget_waits = 0

    def __len__(self) -> int:
        return sum(len(b) for b in self._buckets.values())

    def __repr__(self) -> str:
        return f"<Registry watchers={len(self)} buckets={len(self._buckets)} rv={self.rv}>"

    # -- membership --------------------------------------------------------------

    def add(self, watcher: Watcher) -> None:
        watcher.index_key = self._key_for(watcher)
        self._buckets[watcher.index_key].add(watcher)
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
        if bucket is not None:
            bucket.discard(watcher)
            if not bucket:
                del self._buckets[watcher.index_key]

    def close_all(self, reason: str) -> None:
        """End every stream: the cache relisted (clients resume by RV, as
        kube-apiserver's do after its own relist), or the proxy stops."""
        for bucket in list(self._buckets.values()):
            for watcher in list(bucket):
                watcher.close(reason)

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

    def candidates(self, event: FanoutEvent) -> set[Watcher]:
        keys: list[IndexKey] = [
            ("everyone", None),
            ("namespace", event.namespace),
            ("name", (event.namespace, event.name)),
            ("name", (None, event.name)),
        ]
        if self.trigger_field:
            keys.append(("trigger", event.fields.get(self.trigger_field)))
            if event.prev_fields is not None:
                keys.append(("trigger", event.prev_fields.get(self.trigger_field)))
        found: set[Watcher] = set()
        for key in keys:
            bucket = self._buckets.get(key)
            if bucket:
                found |= bucket
        return found

    # -- dispatch ----------------------------------------------------------------

    async def dispatch(self, event: FanoutEvent) -> None:
        """Deliver one event; events must be dispatched in RV order."""
        blocked = self._offer_all(event)
        if blocked:
            await self._wait_within_budget(blocked, event.rv)

    def _offer_all(self, event: FanoutEvent) -> list[tuple[Watcher, bytes]]:
        self.rv = max(self.rv, event.rv)
        self._dispatched += 1
        blocked = []
        for watcher in self.candidates(event):
            line = watcher.filter.line_for(event)
            if line is None:
                continue
            if watcher.offer(line, event.rv):
                self._deliveries += 1
            else:
                blocked.append((watcher, line))
        return blocked

    async def _wait_within_budget(self, blocked: Iterable[tuple[Watcher, bytes]], rv: int) -> None:
        budget = self.budget.take()
        started = self._clock()
        for watcher, line in blocked:
            self._budget_waits += 1
            left = budget - (self._clock() - started)
            if (
                left > 0
                and await watcher.wait_for_room(len(line), left)
                and watcher.offer(line, rv)
            ):
                self._deliveries += 1
                continue
            self._closed_slow += 1
            watcher.close("too slow: its buffer stayed full beyond the dispatch time budget")
        self.budget.give_back(budget - (self._clock() - started))

    # -- time --------------------------------------------------------------------

    def _schedule(self, watcher: Watcher, due: float) -> None:
        heapq.heappush(self._timers, (due, next(self._seq), watcher))

    def tick(self) -> None:
        """Send due bookmarks, close watchers past their deadline, and
        forget watchers whose clients left (an idle stream notices a
        vanished client only here: nothing is written to it otherwise)."""
        for bucket in list(self._buckets.values()):
            for watcher in [w for w in bucket if w.sink.is_closing()]:
                watcher.close("client went away")
        now = self._clock()
        while self._timers and self._timers[0][0] <= now:
            _, _, watcher = heapq.heappop(self._timers)
            if watcher.closed.done():
                continue
            if watcher.deadline is not None and now >= watcher.deadline:
                watcher.close("deadline")
                continue
            if watcher.bookmarks and self._bookmark_line is not None and self.rv > watcher.last_rv:
                watcher.send_bookmark(self._bookmark_line(self.rv), self.rv)
            if watcher.bookmarks and now >= watcher.bookmark_due:
                watcher.bookmark_due = now + self.bookmark_interval
                self._schedule(watcher, watcher.bookmark_due)

    def statistics(self) -> RegistryStatistics:
        return RegistryStatistics(
            watchers=len(self),
            dispatched_events=self._dispatched,
            deliveries=self._deliveries,
            closed_slow=self._closed_slow,
            budget_waits=self._budget_waits,
        )
