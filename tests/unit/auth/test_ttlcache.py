from __future__ import annotations

from watchcache.auth.ttlcache import TTLCache

from .reviews import Clock


def test_an_entry_expires_at_its_ttl() -> None:
    clock = Clock()
    cache: TTLCache[str] = TTLCache(4, clock)
    cache.put("a", "x", 10)
    clock.now += 9.9
    assert cache.get("a") == "x"
    clock.now += 0.1
    assert cache.get("a") is None
    assert len(cache) == 0


def test_when_full_the_least_recently_used_is_forgotten() -> None:
    cache: TTLCache[int] = TTLCache(2, Clock())
    cache.put("a", 1, 60)
    cache.put("b", 2, 60)
    assert cache.get("a") == 1  # b is now the least recently used
    cache.put("c", 3, 60)
    assert cache.get("b") is None
    assert (cache.get("a"), cache.get("c"), len(cache), cache.evictions) == (1, 3, 2, 1)


def test_a_zero_ttl_remembers_nothing() -> None:
    cache: TTLCache[int] = TTLCache(2, Clock())
    cache.put("a", 1, 0)
    assert cache.get("a") is None
