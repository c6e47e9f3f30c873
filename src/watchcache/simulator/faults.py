"""Faults a test injects into a running simulator, through Python.

Glossary:
    failure plan   "answer the next N requests with code C": a countdown,
                   not a queue, so it needs no bound. Discovery and health
                   paths are exempt unless asked, so a client can still
                   find its resources.
    cut            end a watch stream abruptly: the connection is closed
                   without the final chunk, as a dying server or a proxy
                   timeout would.
    stall          stop writing to a watch stream; once its queue is full
                   it waits on the shared time budget (at most 100 ms) and
                   is then closed (watch.py's queue rule, budget.py).
    restart        every watch is cut, as when kube-apiserver restarts.

Invariant: faults change state only; the handlers in app.py read it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from watchcache.api import status
from watchcache.simulator.store import SimStore
from watchcache.simulator.watch import SimWatcher, SimWatchHub

__all__ = ["FailurePlan", "Faults"]

_MESSAGES = {
    410: "injected: resource version too old",
    429: "injected: too many requests, please try again later",
    500: "injected: internal error",
    503: "injected: service unavailable",
    504: "injected: timeout",
}


@dataclass(slots=True)
class FailurePlan:
    code: int
    remaining: int
    retry_after: int | None
    path_prefix: str

    def error(self) -> status.ApiError:
        message = _MESSAGES.get(self.code, "injected failure")
        if self.code == 410:
            return status.expired(message)
        if self.code == 429:
            return status.too_many_requests(message, self.retry_after or 1)
        if self.code == 503:
            return status.service_unavailable(message, self.retry_after)
        if self.code == 504:
            return status.timeout(message, self.retry_after or 1)
        return status.internal_error(message)


class Faults:
    def __init__(self, store: SimStore, hub: SimWatchHub) -> None:
        self.store = store
        self.hub = hub
        self.plans: list[FailurePlan] = []
        self._stall_gate: asyncio.Event | None = None

    # -- request failures ------------------------------------------------

    def fail_next(
        self, count: int, code: int, retry_after: int | None = None, path_prefix: str = "/api"
    ) -> None:
        """Answer the next ``count`` requests under ``path_prefix`` (both
        /api and /apis by default) with ``code``: 410, 429, 500, 503, 504."""
        if code not in _MESSAGES:
            raise ValueError(f"cannot inject HTTP {code}; choose one of {sorted(_MESSAGES)}")
        self.plans.append(FailurePlan(code, count, retry_after, path_prefix))

    def take(self, path: str) -> status.ApiError | None:
        """The injected error for a request to ``path``, counting it down."""
        for plan in self.plans:
            if plan.remaining > 0 and path.startswith(plan.path_prefix):
                plan.remaining -= 1
                return plan.error()
        self.plans = [p for p in self.plans if p.remaining > 0]
        return None

    # -- watch streams ---------------------------------------------------

    def _selected(self, resource: str | None) -> list[SimWatcher]:
        return [
            w
            for w in self.hub.watchers()
            if resource is None or w.coll.info.gvr.resource == resource
        ]

    def cut_watches(self, resource: str | None = None) -> int:
        """Close matching watch streams abruptly; returns how many."""
        chosen = self._selected(resource)
        for watcher in chosen:
            watcher.close("cut")
        return len(chosen)

    def stall_watches(self, resource: str | None = None) -> int:
        """Stop writing to matching watch streams until ``resume_watches``."""
        if self._stall_gate is None or self._stall_gate.is_set():
            self._stall_gate = asyncio.Event()
        chosen = self._selected(resource)
        for watcher in chosen:
            watcher.stalled = self._stall_gate
        return len(chosen)

    def resume_watches(self) -> None:
        if self._stall_gate is not None:
            self._stall_gate.set()

    def restart(self) -> int:
        """Cut every watch, as a restarting kube-apiserver does."""
        return self.cut_watches()

    # -- history and compaction -------------------------------------------

    def compact(self) -> int:
        """Compact at the current RV: exact LISTs and continue tokens for
        older RVs now get 410."""
        return self.store.compact()

    def shrink_history(self, size: int, resource: str | None = None) -> None:
        """Keep only the newest ``size`` events of history: older watches
        now get 410."""
        for coll in self.store.collections.values():
            if resource is None or coll.info.gvr.resource == resource:
                coll.shrink_history(size)
