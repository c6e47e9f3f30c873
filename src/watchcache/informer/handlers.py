"""Event handlers: each with its own queue and task, none able to hold up
another or the watch.

Glossary:
    notification  what a handler still has to hear about one object: the
                  state the handler last saw (``before``, None if it never
                  saw the object) and the newest state (``after``, None once
                  deleted). Delivered as on_add, on_update or on_delete.
    view          the states a handler has been told: applying every
                  notification delivered so far to an empty map gives
                  exactly the informer's store as of the last one.
    resync        a periodic re-delivery of every object as an update from
                  itself to itself (client-go's resync), for handlers that
                  reconcile against the world as well as react to changes.
    synced        a handle is synced once every notification of the state
                  the informer held when it synced (or when the handler was
                  added, if later) has been delivered.

The queue's bound, and what happens when it fills: a handler holds at most
one notification per object. A change to an object that already has one
waiting merges into it (``before`` kept, ``after`` replaced), so a slow
handler hears fewer, coalesced transitions, each from a state it saw to a
newer one, and its queue never holds more entries than the objects its view
and the store name together. Nothing is dropped and nothing waits: the
informer's dispatch is a sync dict update per handler.

How a notification is delivered:
    before None, after X          on_add(X)
    before X, after None          on_delete(X) (``final_state_unknown`` set
                                  when a relist found it gone)
    before X, after Y, same uid   on_update(X, Y), unless Y is X and it is
                                  not a resync
    before X, after Y, new uid    on_delete(X), on_add(Y): recreated
    before None, after None       nothing (added and deleted unseen)

Callbacks may be plain functions or coroutine functions. An exception is
logged and counted; the next notification follows.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from watchcache.cache import Entry
from watchcache.informer.metrics import InformerMetrics
from watchcache.informer.objects import KubeObject

__all__ = ["HandlerRegistration", "OnAdd", "OnDelete", "OnUpdate"]

log = logging.getLogger(__name__)

OnAdd = Callable[[KubeObject], Any]
OnUpdate = Callable[[KubeObject, KubeObject], Any]
OnDelete = Callable[[KubeObject], Any]


class _Notification:
    __slots__ = ("after", "before", "final", "resync", "seq", "unknown")

    def __init__(
        self, seq: int, before: Entry | None, after: Entry | None, resync: bool, unknown: bool
    ) -> None:
        self.seq = seq
        self.before = before
        self.after = after
        self.resync = resync
        self.unknown = unknown
        # The object a watch's DELETED carried (its final state), if any.
        self.final: Entry | None = None


class HandlerRegistration:
    """The handle ``Informer.add_handler`` returns: ``remove()`` it to stop
    hearing events; ``has_synced()`` / ``wait_for_sync()`` tell when the
    initial state has reached the handler."""

    def __init__(
        self,
        name: str,
        resource: str,
        on_add: OnAdd | None,
        on_update: OnUpdate | None,
        on_delete: OnDelete | None,
        *,
        metrics: InformerMetrics,
        detach: Callable[[HandlerRegistration], None],
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.name = name
        self._on_add = on_add
        self._on_update = on_update
        self._on_delete = on_delete
        self._detach = detach
        self._timer = timer
        # Invariant: a key is in _pending iff the handler has a
        # notification for it not yet delivered; order is first arrival.
        self._pending: OrderedDict[str, _Notification] = OrderedDict()
        self._seq = 0
        # Notifications with seq <= _sync_mark are the initial state.
        self._sync_mark: int | None = None
        self._synced = asyncio.Event()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self._seconds = metrics.handler_seconds.labels(resource, name)
        self._errors = metrics.handler_errors.labels(resource, name)
        depth = metrics.queue_depth.labels(resource, name)
        depth.set_function(lambda: len(self._pending))
        self._metrics = metrics
        self._labels = (resource, name)
        self.delivered = 0

    def __repr__(self) -> str:
        state = "synced" if self.has_synced() else "syncing"
        return (
            f"<Handler {self.name} {state} pending={len(self._pending)} delivered={self.delivered}>"
        )

    # -- what the informer calls (sync) --------------------------------------

    def notify(
        self,
        key: str,
        before: Entry | None,
        after: Entry | None,
        *,
        final: Entry | None = None,
        unknown: bool = False,
    ) -> None:
        """Queue the change of ``key`` from ``before`` (the store's previous
        state) to ``after``, merging into a waiting notification. A delete
        (``after`` None) may bring the object's ``final`` state."""
        waiting = self._pending.get(key)
        if waiting is None:
            self._seq += 1
            waiting = self._pending[key] = _Notification(self._seq, before, after, False, unknown)
        else:
            # ``unknown`` says how the deletion of the object the handler saw
            # was learnt; it is set once, when that deletion is first heard
            # of. A delete the watch delivered stays known when a relist
            # later finds the key recreated, and a delete a relist found
            # stays unknown when the watch then brings the new object.
            if not _deletion_heard(waiting):
                waiting.unknown = unknown
            waiting.after = after
        if final is not None:
            waiting.final = final
        self._idle.clear()
        self._wake.set()

    def resync(self, entries: Iterable[Entry]) -> None:
        """Queue an update-to-itself for every object with nothing waiting
        (one waiting already brings the handler up to date)."""
        for entry in entries:
            if entry.key not in self._pending:
                self._seq += 1
                self._pending[entry.key] = _Notification(self._seq, entry, entry, True, False)
        if self._pending:
            self._idle.clear()
            self._wake.set()

    def mark_synced(self) -> None:
        """The informer's initial state is queued: once delivered, synced."""
        if self._sync_mark is None:
            self._sync_mark = self._seq
            self._check_synced()

    # -- the handler's side ------------------------------------------------

    def has_synced(self) -> bool:
        return self._synced.is_set()

    async def wait_for_sync(self, timeout: float | None = None) -> bool:  # noqa: ASYNC109 (False on timeout, as client-go's WaitForCacheSync)
        try:
            await asyncio.wait_for(self._synced.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def wait_idle(self) -> None:
        """Return once nothing is waiting for the handler (for tests and
        orderly shutdowns; under constant churn it may never be idle, so
        bound the wait)."""
        await self._idle.wait()

    def remove(self) -> None:
        """Stop delivering; notifications still waiting are dropped."""
        self._detach(self)

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop delivering; what is waiting stays for ``start``. A call in
        progress is cancelled."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def close(self) -> None:
        """Removed: stop for good and drop what is waiting."""
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self._pending.clear()
        self._idle.set()
        with contextlib.suppress(KeyError):
            self._metrics.queue_depth.remove(*self._labels)

    async def _run(self) -> None:
        while True:
            if not self._pending:
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            key, note = self._pending.popitem(last=False)
            try:
                await self._deliver(note)
            except asyncio.CancelledError:
                self._requeue(key, note)  # stopped mid-call: made again on start
                raise
            self.delivered += 1
            self._check_synced()

    def _requeue(self, key: str, note: _Notification) -> None:
        """Put ``note`` back first; a change that arrived meanwhile merges
        into it (its first state stays the one the handler saw)."""
        newer = self._pending.pop(key, None)
        if newer is not None:
            note.after, note.final, note.unknown = newer.after, newer.final, newer.unknown
            note.resync = False
        self._pending[key] = note
        self._pending.move_to_end(key, last=False)

    def _check_synced(self) -> None:
        if self._sync_mark is None or self._synced.is_set():
            return
        first = next(iter(self._pending.values()), None)
        if first is None or first.seq > self._sync_mark:
            self._synced.set()

    async def _deliver(self, note: _Notification) -> None:
        before, after = note.before, note.after
        if before is None:
            if after is not None:
                await self._call(self._on_add, KubeObject(after))
        elif after is None:
            gone = KubeObject(_last_state(note, before), final_state_unknown=note.unknown)
            await self._call(self._on_delete, gone)
        elif before.uid != after.uid:  # recreated: the old object was deleted
            gone = KubeObject(_last_state(note, before), final_state_unknown=note.unknown)
            await self._call(self._on_delete, gone)
            await self._call(self._on_add, KubeObject(after))
        elif note.resync or before.rv != after.rv:
            await self._call(self._on_update, KubeObject(before), KubeObject(after))

    async def _call(self, callback: Callable[..., Any] | None, *args: KubeObject) -> None:
        if callback is None:
            return
        started = self._timer()
        try:
            result = callback(*args)
            if inspect.isawaitable(result):
                await result
        except asyncio.CancelledError:
            raise
        except Exception:
            self._errors.inc()
            log.exception("handler %s failed on %r", self.name, args[-1])
        finally:
            self._seconds.observe(self._timer() - started)


def _deletion_heard(note: _Notification) -> bool:
    """The object the handler saw is already known to be gone."""
    before, after = note.before, note.after
    return before is not None and (after is None or after.uid != before.uid)


def _last_state(note: _Notification, before: Entry) -> Entry:
    """What on_delete gets: the deleted object's final state as the watch
    sent it, when that is the object the handler saw (same uid), else the
    last state the handler saw."""
    final = note.final
    return final if final is not None and final.uid == before.uid else before
