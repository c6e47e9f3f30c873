"""The consistency checker: now and then, each cache compared with upstream
at the same RV, as kube-apiserver 1.34 compares its watch cache with etcd.

Glossary:
    digest    of a state: the objects' (namespace/name, resourceVersion)
              pairs in key order, hashed (SHA-256); equal digests mean the
              same objects at the same versions
    check     one comparison: the cache's digest at its current RV R, then
              upstream's LIST at exactly R (resourceVersion=R,
              resourceVersionMatch=Exact, paged), its digest
    result    ``match``, ``mismatch``, or ``skipped`` (upstream could not
              answer at R: compacted past it, unreachable, ...)

Decisions:
    - Compared at the cache's own RV: the cache's snapshot there is exact,
      and kube-apiserver answers an exact LIST from etcd at that revision,
      so no write in between can make a false mismatch.
    - A mismatch is logged (counts, both digests, the first key that
      differs), counted in ``watchcache_consistency_checks_total{result}``,
      and the resource relists: the cache cannot be trusted, and a relist
      is what makes it right (its watchers are closed and resume, as after
      any relist).
    - Off unless ``--consistency-check-interval`` is set: each check is a
      full LIST upstream, which is what the cache exists to spare
      (kube-apiserver 1.34 runs its check every 5 minutes).

Which caches: every cache the proxy runs, named (--resources) or auto
(--auto-cache), and its CRD cache. The checks are one of the cached
resource's tasks (caches.CacheFactory.start), so a cache started later (an
auto cache on its first read) is checked from its start, and a cache
stopped (an auto cache dropped) takes its check with it: one under way is
cancelled, neither counted nor acted on.

Invariant: one check per resource at a time (one task each); a check keeps
nothing between periods; a resource is checked only once synced (before,
its state is not whole: a WatchList's initial events arrive one by one).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from watchcache.upstream import UpstreamError

__all__ = ["CheckResult", "check_once", "digest", "run_checks"]

log = logging.getLogger(__name__)

PAGE_SIZE = 500  # client-go's page size, as the reflector lists


class _Client(Protocol):
    async def get(self, path: str, params: Mapping[str, str] | None = None) -> Any: ...


class _Reflector(Protocol):
    @property
    def synced(self) -> asyncio.Event: ...
    def request_relist(self, reason: str) -> None: ...


class _Resource(Protocol):
    """What a check reads of cachedresource.CachedResource."""

    @property
    def path(self) -> str: ...
    @property
    def cache(self) -> Any: ...
    @property
    def reflector(self) -> _Reflector: ...
    @property
    def consistency(self) -> Counter[str]: ...


@dataclass(frozen=True, slots=True)
class CheckResult:
    result: str  # match, mismatch, skipped
    rv: int
    detail: str = ""


def digest(pairs: Iterable[tuple[str, int]]) -> str:
    """The digest of (key, rv) pairs, whatever order they come in."""
    h = hashlib.sha256()
    for key, rv in sorted(pairs):
        h.update(f"{key}\x00{rv}\n".encode())
    return h.hexdigest()[:16]


def _cache_state(cache: Any, rv: int) -> dict[str, int]:
    page = cache.list(rv=rv)
    return {f"{e.namespace}/{e.name}" if e.namespace else e.name: e.rv for e in page.items}


async def _upstream_state(client: _Client, path: str, rv: int) -> dict[str, int]:
    state: dict[str, int] = {}
    params = {"resourceVersion": str(rv), "resourceVersionMatch": "Exact", "limit": str(PAGE_SIZE)}
    while True:
        body = (await client.get(path, params)).json()
        for item in body.get("items") or ():
            meta = item["metadata"]
            key = f"{meta['namespace']}/{meta['name']}" if meta.get("namespace") else meta["name"]
            state[key] = int(meta["resourceVersion"])
        token = (body.get("metadata") or {}).get("continue")
        if not token:
            return state
        params = {"continue": token, "limit": str(PAGE_SIZE)}


def _first_difference(cached: Mapping[str, int], upstream: Mapping[str, int]) -> str:
    for key in sorted(set(cached) | set(upstream)):
        ours, theirs = cached.get(key), upstream.get(key)
        if ours != theirs:
            return f"{key}: cache has {ours if ours is not None else 'nothing'}, upstream has {theirs if theirs is not None else 'nothing'}"
    return "none"


async def check_once(resource: _Resource, client: _Client) -> CheckResult:
    """One check of ``resource`` (see the module's glossary); counted."""
    rv = resource.cache.rv
    cached = _cache_state(resource.cache, rv)
    try:
        upstream = await _upstream_state(client, resource.path, rv)
    except (UpstreamError, KeyError, ValueError, TypeError) as err:
        result = CheckResult("skipped", rv, f"upstream could not list at rv {rv}: {err}")
        log.info("%s: consistency check skipped: %s", resource.path, result.detail)
    else:
        ours, theirs = digest(cached.items()), digest(upstream.items())
        if ours == theirs:
            result = CheckResult("match", rv)
        else:
            detail = (
                f"at rv {rv} the cache has {len(cached)} objects (digest {ours}), upstream "
                f"{len(upstream)} (digest {theirs}); first difference {_first_difference(cached, upstream)}"
            )
            result = CheckResult("mismatch", rv, detail)
            log.error("%s: the cache is not upstream's state: %s; relisting", resource.path, detail)
            resource.reflector.request_relist(f"consistency check: {detail}")
    resource.consistency[result.result] += 1
    return result


async def run_checks(
    resource: _Resource,
    client: _Client,
    interval: float,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Check ``resource`` every ``interval`` seconds, once it has synced."""
    while True:
        await sleep(interval)
        if resource.reflector.synced.is_set() and resource.cache.rv:
            await check_once(resource, client)
