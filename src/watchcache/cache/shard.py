"""Shards: how KEP-5866 shard ranges map onto the store.

Glossary:
    hash         FNV-1a 64-bit of an object's ``metadata.uid`` (or of its
                 ``metadata.namespace`` in the namespace-hashed mode), the
                 value a ``shardRange(object.metadata.uid, lo, hi)`` selector
                 tests.
    shard        one of ``count`` (a power of two) contiguous slices of the
                 hash space: shard i holds hashes in
                 ``[i * 2**64 / count, (i + 1) * 2**64 / count)``, i.e. the
                 top ``log2(count)`` bits. A range aligned to those bounds is
                 a set of whole shards; only the shards a range cuts need a
                 hash per object.
    range        half-open ``(lo, hi)`` of hash values, as in the selector.

Invariant: an object is in exactly the shard its hash selects; the hash
input (uid or namespace) never changes for one object, and a store moves a
key between shards when a recreated object under the same key has a new uid.
"""

from __future__ import annotations

from collections.abc import Sequence

from watchcache.api.shardselector import FNV_OFFSET, fnv1a64

__all__ = ["FNV_OFFSET", "HashRange", "ShardPlan", "fnv1a64", "in_ranges"]

_SPACE = 1 << 64

HashRange = tuple[int, int]


class ShardPlan:
    """Which shard a hash falls in, and which shards a range covers."""

    def __init__(self, count: int) -> None:
        if count < 1 or count & (count - 1):
            raise ValueError(f"shard count must be a power of two, got {count}")
        self.count = count
        self._shift = 64 - (count.bit_length() - 1)

    def shard_of(self, h: int) -> int:
        return h >> self._shift if self.count > 1 else 0

    def bounds(self, shard: int) -> HashRange:
        width = _SPACE // self.count
        return shard * width, (shard + 1) * width

    def cover(self, ranges: Sequence[HashRange]) -> tuple[list[int], list[int]]:
        """Shards wholly inside some range, and shards a range only cuts
        (those need each object's hash tested)."""
        whole: list[int] = []
        cut: list[int] = []
        for shard in range(self.count):
            lo, hi = self.bounds(shard)
            if any(a <= lo and hi <= b for a, b in ranges):
                whole.append(shard)
            elif any(a < hi and lo < b for a, b in ranges):
                cut.append(shard)
        return whole, cut


def in_ranges(h: int, ranges: Sequence[HashRange]) -> bool:
    return any(lo <= h < hi for lo, hi in ranges)
