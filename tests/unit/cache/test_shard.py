from __future__ import annotations

import pytest

from watchcache.cache.shard import FNV_OFFSET, ShardPlan, fnv1a64, in_ranges


def test_fnv1a64_known_vectors() -> None:
    # Published FNV-1a 64-bit test vectors.
    assert fnv1a64("") == FNV_OFFSET
    assert fnv1a64("a") == 0xAF63DC4C8601EC8C
    assert fnv1a64("foobar") == 0x85944171F73967E8


def test_shard_of_uses_top_bits() -> None:
    plan = ShardPlan(4)
    assert plan.shard_of(0) == 0
    assert plan.shard_of(0x4000_0000_0000_0000) == 1
    assert plan.shard_of(0xFFFF_FFFF_FFFF_FFFF) == 3
    assert ShardPlan(1).shard_of(0xFFFF_FFFF_FFFF_FFFF) == 0


def test_bounds_tile_the_hash_space() -> None:
    plan = ShardPlan(8)
    assert plan.bounds(0)[0] == 0 and plan.bounds(7)[1] == 1 << 64
    for i in range(7):
        assert plan.bounds(i)[1] == plan.bounds(i + 1)[0]


def test_cover_aligned_range_is_whole_shards() -> None:
    plan = ShardPlan(4)
    assert plan.cover([(0, 0x8000_0000_0000_0000)]) == ([0, 1], [])
    assert plan.cover([(0x1000, 0x8000_0000_0000_0000)]) == ([1], [0])
    assert plan.cover([(0, 1 << 64)]) == ([0, 1, 2, 3], [])


@pytest.mark.parametrize("count", [0, 3, 6])
def test_shard_count_must_be_a_power_of_two(count: int) -> None:
    with pytest.raises(ValueError):
        ShardPlan(count)


def test_in_ranges_half_open() -> None:
    assert in_ranges(5, [(0, 6)]) and not in_ranges(6, [(0, 6)])
    assert in_ranges(10, [(0, 1), (10, 11)])
