"""WATCH: who hears which event, and the lines each watcher writes.

Glossary:
    SimWatcher   one WATCH request's state: its filter, its bounded queue of
                 encoded lines, its deadline and bookmark schedule.
    SimWatchHub  every open watcher, indexed per collection by the kind's
                 trigger field value (pods: spec.nodeName), so an event
                 reaches only the watchers that can match it.
    start        the lines a watch begins with before live events: the
                 synthetic ADDEDs (RV unset or 0, WatchList) or the history
                 replay after RV N. Built in the same sync step that
                 registers the watcher, so no event falls between the two.

Queue rule: a watcher's live queue holds at most ``capacity`` lines. An
event offered to a full queue is held in ``pending`` and the watcher waits
on a Grant of the collection's SimTimeBudget (budget.py), shared with every
other watcher that was full for that event. Draining its queue (``take``)
in time moves ``pending`` in; still full at the grant's deadline, or with
``pending`` itself at ``capacity``, the watcher is closed (reason
"overflow"); its client resumes from the last RV it saw, which history
still covers.

Invariants:
    - A watcher never emits an event with rv <= ``after``, and emits events
      in RV order.
    - A bookmark carries the store's RV only when the watcher's queue is
      empty, so it never claims an event it has not delivered.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from watchcache.api import status
from watchcache.api.listoptions import INITIAL_EVENTS_END, ListOptions
from watchcache.simulator.budget import Grant, SimTimeBudget
from watchcache.simulator.reads import entries_at
from watchcache.simulator.store import SimCollection, SimEntry, SimEvent, SimStore, full_object

__all__ = [
    "DEFAULT_CAPACITY",
    "INITIAL_EVENTS_END",
    "SimWatchHub",
    "SimWatcher",
    "too_old",
]

# Lines a watcher may have queued but not yet written; the apiserver's
# cacheWatcher buffers a few hundred events, and a test that stalls a
# watcher wants overflow to be reachable.
DEFAULT_CAPACITY = 1000


def too_old(rv: int, oldest: int) -> status.ApiError:
    return status.too_old_resource_version(rv, oldest)


@dataclass(eq=False)
class SimWatcher:
    coll: SimCollection
    namespace: str
    opts: ListOptions
    after: int
    capacity: int = DEFAULT_CAPACITY
    start: list[bytes] = field(default_factory=list)
    queue: deque[bytes] = field(default_factory=deque)
    # Lines that came while the queue was full, and the wait they are on.
    pending: deque[bytes] = field(default_factory=deque)
    grant: Grant | None = None
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    last_rv: int = 0
    closed: str | None = None  # why, once closed
    stalled: asyncio.Event | None = None  # set = may write; None = never stalled

    def matches(self, entry: SimEntry | None) -> bool:
        if entry is None:
            return False
        if self.namespace and entry.namespace != self.namespace:
            return False
        labels, fields = self.opts.label_selector, self.opts.field_selector
        return (labels.empty or labels.matches(entry.labels)) and (
            fields.empty or fields.matches(entry.fields)
        )

    def line_for(self, event: SimEvent) -> bytes | None:
        """The line this watcher writes for ``event``, if any: an object
        entering the selector is ADDED, one leaving it DELETED."""
        if event.rv <= self.after:
            return None
        old = event.type != "ADDED" and self.matches(event.prev)
        new = event.type != "DELETED" and self.matches(event.entry)
        if event.type == "DELETED":
            return event.line("DELETED") if old else None
        if new:
            return event.line("MODIFIED" if old else "ADDED")
        return event.deleted_line() if old else None

    def offer(self, event: SimEvent) -> bool:
        """Queue the event's line; False when this watcher is newly blocked
        (its queue is full) and must be given a grant to wait on."""
        line = self.line_for(event)
        if line is None or self.closed:
            return True
        self.last_rv = event.rv
        if self.grant is None and len(self.queue) < self.capacity:
            self.queue.append(line)
            self.wake.set()
            return True
        if len(self.pending) >= self.capacity:
            self.close("overflow")
            return True
        self.pending.append(line)
        self.wake.set()
        return self.grant is not None

    def close(self, reason: str) -> None:
        if self.closed is None:
            self.closed = reason
            self.wake.set()

    def take(self) -> list[bytes]:
        """Everything queued; the pending lines move into the queue, which
        unblocks a watcher waiting on a grant."""
        lines = list(self.queue)
        self.queue.clear()
        self.wake.clear()
        if self.pending:
            self.queue.extend(self.pending)
            self.pending.clear()
            self.wake.set()
        if self.grant is not None:
            self.grant.release(self)
            self.grant = None
        return lines

    def bookmark(self, rv: int, initial_end: bool = False) -> bytes:
        annotations = (
            b',"annotations":{"%s":"true"}' % INITIAL_EVENTS_END.encode() if initial_end else b""
        )
        meta = b'{"metadata":{"resourceVersion":"%d"%s}}' % (rv, annotations)
        return b'{"type":"BOOKMARK","object":%s}\n' % full_object(self.bookmark_prefix(), meta)

    def bookmark_prefix(self) -> bytes:
        gvr = self.coll.info.gvr
        api_version = gvr.api_version
        return b'{"kind":"%s","apiVersion":"%s",' % (
            self.coll.info.kind.encode(),
            api_version.encode(),
        )

    def __repr__(self) -> str:
        return f"Watcher({self.coll.info.gvr.resource} ns={self.namespace!r} after={self.after} queued={len(self.queue)} closed={self.closed})"


class SimWatchHub:
    """Open watchers by collection and trigger value; the store's listener."""

    def __init__(self, store: SimStore, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.monotonic = monotonic
        self._budgets: dict[SimCollection, SimTimeBudget] = {}
        # collection -> trigger value (None: unindexed) -> watchers
        self._index: dict[SimCollection, dict[str | None, set[SimWatcher]]] = {}

    def watchers(self) -> Iterator[SimWatcher]:
        for by_value in self._index.values():
            for group in by_value.values():
                yield from group

    def open(
        self,
        coll: SimCollection,
        namespace: str,
        opts: ListOptions,
        capacity: int = DEFAULT_CAPACITY,
    ) -> SimWatcher:
        """Register a watcher and compute its start lines, in one sync step."""
        watcher = SimWatcher(coll, namespace, opts, after=0, capacity=capacity)
        watcher.start, watcher.after = self._start(watcher)
        watcher.last_rv = watcher.after
        self._add(watcher)
        return watcher

    def _start(self, watcher: SimWatcher) -> tuple[list[bytes], int]:
        opts, coll = watcher.opts, watcher.coll
        rv_text = opts.resource_version
        if opts.send_initial_events or (
            opts.send_initial_events is None and rv_text in (None, "0")
        ):
            return self._initial(watcher), self.store.rv
        if rv_text in (None, "0"):
            # sendInitialEvents=false without an RV: changes from now on.
            return [], self.store.rv
        wanted = opts.rv
        if coll.history_truncated and wanted < coll.oldest_watchable():
            raise too_old(wanted, coll.oldest_watchable())
        replay = [line for e in coll.since(wanted) if (line := watcher.line_for(e)) is not None]
        # An RV newer than the store skips events up to it, as the cacher does.
        return replay, max(wanted, self.store.rv)

    def _initial(self, watcher: SimWatcher) -> list[bytes]:
        coll, prefix = watcher.coll, watcher.coll.prefix
        lo, hi = (
            (watcher.namespace + "/", watcher.namespace + "0") if watcher.namespace else ("", "")
        )
        lines = [
            b'{"type":"ADDED","object":%s}\n' % full_object(prefix, entry.body)
            for entry in entries_at(coll, self.store.rv, self.store.rv, lo, hi)
            if watcher.matches(entry)
        ]
        if watcher.opts.send_initial_events and watcher.opts.allow_watch_bookmarks:
            lines.append(watcher.bookmark(self.store.rv, initial_end=True))
        return lines

    def _trigger(self, watcher: SimWatcher) -> str | None:
        trigger = watcher.coll.info.trigger_field
        return watcher.opts.field_selector.exact(trigger) if trigger else None

    def _add(self, watcher: SimWatcher) -> None:
        by_value = self._index.get(watcher.coll)
        if by_value is None:
            by_value = self._index[watcher.coll] = {}
            watcher.coll.listeners.add(self._listener(watcher.coll))
        by_value.setdefault(self._trigger(watcher), set()).add(watcher)

    def _listener(self, coll: SimCollection) -> Callable[[SimEvent], None]:
        def dispatch(event: SimEvent) -> None:
            self.dispatch(coll, event)

        return dispatch

    def dispatch(self, coll: SimCollection, event: SimEvent) -> None:
        by_value = self._index.get(coll)
        if not by_value:
            return
        trigger = coll.info.trigger_field
        values: set[str | None] = {None}
        if trigger:
            values.add(event.entry.fields.get(trigger))
            if event.prev is not None:
                values.add(event.prev.fields.get(trigger))
        blocked = {
            watcher
            for value in values
            for watcher in list(by_value.get(value, ()))
            if not watcher.offer(event)
        }
        if blocked:
            self._wait(coll, blocked)

    def _wait(self, coll: SimCollection, blocked: set[SimWatcher]) -> None:
        budget = self._budgets.get(coll)
        if budget is None:
            budget = self._budgets[coll] = SimTimeBudget(self.monotonic)
        grant = Grant(budget, set(blocked))
        for watcher in blocked:
            if not watcher.closed:
                watcher.grant = grant

    def remove(self, watcher: SimWatcher) -> None:
        by_value = self._index.get(watcher.coll, {})
        group = by_value.get(self._trigger(watcher))
        if group is not None:
            group.discard(watcher)
            if not group:
                del by_value[self._trigger(watcher)]

    def close_all(self, reason: str) -> None:
        for watcher in list(self.watchers()):
            watcher.close(reason)

    def __repr__(self) -> str:
        return f"WatchHub({sum(1 for _ in self.watchers())} watchers)"
