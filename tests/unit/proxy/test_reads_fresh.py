"""Consistent reads: when the cache is behind the probed RV, a busy
resource is waited for and a quiet one is not."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any, cast

from tests.unit.cache.fakes import PODS, Clock, pod

from watchcache.cache.cache import Cache, CacheConfig
from watchcache.proxy.cachedresource import CachedResource
from watchcache.proxy.reads import ReadPath


class _Prober:
    def __init__(self, rv: int) -> None:
        self.rv = rv

    async def current_rv(self) -> int:
        return self.rv


def _resource(clock: Clock, probed: int) -> tuple[CachedResource, Cache]:
    cache = Cache(PODS, CacheConfig(), clock=clock)
    cache.replace([], 1)
    cache.apply("ADDED", pod("a", rv=5))
    resource = SimpleNamespace(
        cache=cache, prober=_Prober(probed), serve_stale=False, outage=lambda: None
    )
    return cast(CachedResource, resource), cache


async def _unused(request: Any) -> Any:
    raise AssertionError("nothing is forwarded here")


async def test_a_quiet_resource_behind_the_probe_is_not_waited_for() -> None:
    clock = Clock()
    resource, _ = _resource(clock, probed=9)
    clock.now += 2  # no change for 2 s
    reads = ReadPath({}, _unused)
    # A 60 s wait would time this out if it were waited for.
    fresh = await asyncio.wait_for(reads._fresh(resource, 60, quiet_after=1.0), 5)
    assert fresh is False


async def test_a_busy_resource_behind_the_probe_is_waited_for() -> None:
    clock = Clock()
    resource, cache = _resource(clock, probed=9)
    clock.now += 0.2
    reads = ReadPath({}, _unused)
    waiting = asyncio.ensure_future(reads._fresh(resource, 60, quiet_after=1.0))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    cache.apply("MODIFIED", pod("a", rv=9))
    assert await asyncio.wait_for(waiting, 5) is True


async def test_a_quiet_resource_already_at_the_probe_is_fresh() -> None:
    clock = Clock()
    resource, _ = _resource(clock, probed=5)
    clock.now += 100
    assert await ReadPath({}, _unused)._fresh(resource, 60, quiet_after=1.0) is True


class _Reflector:
    def __init__(self) -> None:
        self.told: list[tuple[int, int]] = []

    def upstream_went_back(self, upstream_rv: int, seen: int) -> None:
        self.told.append((upstream_rv, seen))


async def test_a_probe_below_the_cache_rv_is_not_fresh_and_tells_the_reflector() -> None:
    """Upstream restarted empty (issue 14: RV 1,000 fell to 35): the cache
    is 'ahead' of the probe, which once passed as fresh and served the
    vanished objects."""
    resource, _ = _resource(Clock(), probed=3)
    reflector = _Reflector()
    resource.reflector = reflector  # type: ignore[assignment]
    assert await ReadPath({}, _unused)._fresh(resource, 60) is False
    assert reflector.told == [(3, 5)]


class _ProbeAnsweredAfterAnEvent:
    """The probe is answered at rv 6, then event 7 reaches the cache before
    the read looks: the cache ahead of the probe is no loss of state."""

    def __init__(self, cache: Cache) -> None:
        self.cache = cache

    async def current_rv(self) -> int:
        self.cache.apply("MODIFIED", pod("a", rv=7))
        return 6


async def test_a_probe_below_an_rv_reached_after_the_read_arrived_is_fresh() -> None:
    resource, cache = _resource(Clock(), probed=0)
    resource.prober = _ProbeAnsweredAfterAnEvent(cache)  # type: ignore[assignment]
    reflector = _Reflector()
    resource.reflector = reflector  # type: ignore[assignment]
    assert await ReadPath({}, _unused)._fresh(resource, 60) is True
    assert reflector.told == []
