"""One cached resource: its cache, reflector, watchers and prober together.

Glossary:
    cached resource   one (group, version, resource) named by --resources,
                      mirrored from the read upstream by a reflector and
                      served by the read path (reads.py); the proxy's
                      cached resources are a dict by GroupVersionResource,
                      made at start by ``caches.open_caches``
    staleness         how long since the reflector last heard from upstream
                      (``Reflector.silence``); past ``max_staleness`` the
                      resource is not ready (/readyz), whatever the cause:
                      upstream unreachable, refusing, or silently stuck
    outage            with --serve-stale-on-outage, staleness past
                      ``max_staleness``: ready and serving, but consistent
                      reads are answered 500 ServerTimeout (reads.py)
    supervisor        what runs a reflector (cache/supervisor.py): a run
                      that raises is a bug of ours, logged, counted
                      (``restarts``), reported in readiness while the
                      supervisor waits to run it again, relisting

Invariant: when upstream lost its state (its RV went backwards) every
watcher is ended with a 410 ERROR event (``state_lost``), since the RVs
its client holds mean nothing now.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field

from watchcache.api.resources import GroupVersionResource, ResourceInfo
from watchcache.api.status import expired
from watchcache.cache.cache import Cache
from watchcache.cache.reflector import Reflector
from watchcache.cache.supervisor import Supervisor
from watchcache.fanout.registry import Registry
from watchcache.proxy.prober import Prober
from watchcache.proxy.rendering import error_line

__all__ = ["MAX_STALENESS", "CachedResource", "collection_path", "parse_resource"]

# A healthy watch of a quiet resource hears a bookmark about once a minute
# and is renewed after 90 s of silence at worst (ReflectorConfig's
# stall_timeout): two minutes is past both.
MAX_STALENESS = 120.0


def parse_resource(text: str) -> GroupVersionResource:
    """``pods`` (core, v1) or ``group/version/resource``."""
    parts = text.strip().strip("/").split("/")
    if len(parts) == 1 and parts[0]:
        return GroupVersionResource("", "v1", parts[0])
    if len(parts) == 2 and parts[0] == "v1":
        return GroupVersionResource("", "v1", parts[1])
    if len(parts) == 3 and all(parts):
        return GroupVersionResource(*parts)
    raise ValueError(
        f"--resources {text!r}: expected a plural name (pods) or group/version/resource"
    )


def collection_path(gvr: GroupVersionResource) -> str:
    prefix = f"/apis/{gvr.group}/{gvr.version}" if gvr.group else f"/api/{gvr.version}"
    return f"{prefix}/{gvr.resource}"


@dataclass
class CachedResource:
    info: ResourceInfo
    path: str
    cache: Cache
    registry: Registry
    reflector: Reflector
    prober: Prober
    supervisor: Supervisor
    max_staleness: float = MAX_STALENESS
    # --serve-stale-on-outage: past max_staleness, ready and serving (outage).
    serve_stale: bool = False
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    # Consistency checks by result: match, mismatch, skipped (consistency.py).
    consistency: Counter[str] = field(default_factory=Counter)

    @property
    def restarts(self) -> int:
        return self.supervisor.restarts

    @property
    def failed(self) -> str | None:
        return self.supervisor.failed

    def unready(self) -> str | None:
        """Why this resource should not be served (readiness), or None."""
        reflector = self.reflector
        last = reflector.last_error
        tail = f"; last upstream error: {_one_line(last)}" if last else ""
        if self.failed is not None:
            return f"the reflector failed ({_one_line(self.failed)}); restarting it"
        if not reflector.synced.is_set():
            return "not synced yet" + tail
        if not reflector.confirmed():
            return "resuming from the saved state (--cache-dir): upstream's watch not begun" + tail
        silence = reflector.silence()
        if silence > self.max_staleness and not self.serve_stale:
            return (
                f"stale: nothing heard from upstream for {silence:.0f}s "
                f"(bound {self.max_staleness:.0f}s){tail}"
            )
        return None

    def outage(self) -> str | None:
        """With --serve-stale-on-outage, while upstream has been silent past
        max_staleness: what /readyz?verbose says beside the passing check.
        Consistent reads are then answered 500 ServerTimeout (reads.py)."""
        if not self.serve_stale or not self.reflector.synced.is_set():
            return None
        silence = self.reflector.silence()
        if silence <= self.max_staleness:
            return None
        last = self.reflector.last_error
        tail = f"; last upstream error: {_one_line(last)}" if last else ""
        return (
            f"serving stale: nothing heard from upstream for {silence:.0f}s "
            f"(bound {self.max_staleness:.0f}s){tail}"
        )

    def state_lost(self, old_rv: int, new_rv: int) -> None:
        """Upstream's RV went back from ``old_rv`` to ``new_rv``: end every
        watcher with 410, so its client lists again."""
        error = expired(
            f"the upstream's storage was replaced: its resourceVersion went back "
            f"from {old_rv} to {new_rv}; list again"
        )
        self.registry.expire_all("upstream lost its state", error_line(error))


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300]
