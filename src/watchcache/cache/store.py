"""The current state of one resource: entries by key, sharded and indexed.

Glossary (as in client-go's index.go):
    key            storage key, ``namespace/name`` or ``name``
    index name     ``namespace`` is implicit (a key prefix); a field index is
                   named by its field path (``spec.nodeName``); custom
                   indexes by whatever name their function was registered
    indexed value  what an index function returns for an entry; an entry
                   may have several

Invariants:
    - a key is in ``_items`` if and only if it is in exactly one shard's
      sorted key list, the shard its entry's hash selects, and in ``_all``;
    - for every index, key k is in ``_index[name][v]`` if and only if v is
      one of the index function's values for ``_items[k]``; empty sets are
      removed.

Each shard keeps its keys sorted, so a list is a k-way merge of the shards
in key order and a page resumes at a key in O(log n). A namespace is a
contiguous key range (``ns/`` up to ``ns0``: ``0`` follows ``/``), so the
namespace index costs nothing. Mutations are sync and O(log n + indexes).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Literal

from sortedcontainers import SortedList  # type: ignore[import-untyped]

from watchcache.cache.entry import Entry
from watchcache.cache.shard import HashRange, ShardPlan, fnv1a64, in_ranges

__all__ = ["HashBy", "IndexFunc", "Store", "namespace_bounds"]

IndexFunc = Callable[[Entry], Iterable[str]]
HashBy = Literal["uid", "namespace"]


def namespace_bounds(namespace: str) -> tuple[str, str]:
    """The half-open key range ``[lo, hi)`` of one namespace."""
    return namespace + "/", namespace + "0"


def field_index(path: str) -> IndexFunc:
    """An index over one field-selector field (e.g. pods' spec.nodeName)."""

    def values(entry: Entry) -> tuple[str]:
        return (entry.fields.get(path, ""),)

    return values


class Store:
    """Entries of one resource. Not thread-safe: the event loop serialises."""

    def __init__(
        self,
        *,
        shard_count: int = 1,
        hash_by: HashBy = "uid",
        indexed_fields: Sequence[str] = (),
        indexers: Mapping[str, IndexFunc] | None = None,
    ) -> None:
        self.plan = ShardPlan(shard_count)
        self.hash_by: HashBy = hash_by
        self._items: dict[str, Entry] = {}
        self._shards: list[SortedList] = [SortedList() for _ in range(shard_count)]
        # Every key in order, for lists that want all shards: one sorted
        # list instead of a 16-way heap merge (~4x faster at 16 shards,
        # bench_cache_list.py) for ~8 bytes per key. Unsharded, it is the
        # one shard.
        self._all: SortedList = self._shards[0] if shard_count == 1 else SortedList()
        funcs = {path: field_index(path) for path in indexed_fields}
        funcs.update(indexers or {})
        self._funcs: dict[str, IndexFunc] = funcs
        self._index: dict[str, dict[str, set[str]]] = {name: {} for name in funcs}

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"<Store {len(self._items)} entries, {self.plan.count} shards, indexes {sorted(self._funcs)}>"

    def get(self, key: str) -> Entry | None:
        return self._items.get(key)

    def hash_of(self, entry: Entry) -> int:
        return fnv1a64(entry.uid if self.hash_by == "uid" else entry.namespace)

    def has_index(self, name: str) -> bool:
        return name in self._funcs

    # -- mutations -------------------------------------------------------

    def put(self, entry: Entry) -> Entry | None:
        """Insert or replace; returns the previous entry under the key."""
        prev = self._items.get(entry.key)
        self._items[entry.key] = entry
        if prev is not None and self._same_hash_input(prev, entry):
            self._reindex(entry.key, prev, entry)
            return prev  # same shard: the common update costs no hashing
        new_shard = self._shard_index(entry)
        if prev is None:
            self._shards[new_shard].add(entry.key)
            if self._all is not self._shards[0]:
                self._all.add(entry.key)
        elif (old_shard := self._shard_index(prev)) != new_shard:
            # Same key, new uid (recreated): the hash moved.
            self._shards[old_shard].remove(entry.key)
            self._shards[new_shard].add(entry.key)
        self._reindex(entry.key, prev, entry)
        return prev

    def delete(self, key: str) -> Entry | None:
        """Remove; returns the entry that was there, if any."""
        prev = self._items.pop(key, None)
        if prev is not None:
            self._shards[self._shard_index(prev)].remove(key)
            if self._all is not self._shards[0]:
                self._all.remove(key)
            self._reindex(key, prev, None)
        return prev

    def clear(self) -> None:
        self._items.clear()
        for shard in self._shards:
            shard.clear()
        self._all.clear()
        for values in self._index.values():
            values.clear()

    def _same_hash_input(self, a: Entry, b: Entry) -> bool:
        return a.uid == b.uid if self.hash_by == "uid" else a.namespace == b.namespace

    def _shard_index(self, entry: Entry) -> int:
        if self.plan.count == 1:
            return 0  # skip hashing: the common, unsharded case
        return self.plan.shard_of(self.hash_of(entry))

    def _reindex(self, key: str, old: Entry | None, new: Entry | None) -> None:
        for name, func in self._funcs.items():
            before = set(func(old)) if old is not None else set()
            after = set(func(new)) if new is not None else set()
            if before == after:
                continue
            table = self._index[name]
            for value in before - after:
                keys = table[value]
                keys.discard(key)
                if not keys:
                    del table[value]
            for value in after - before:
                table.setdefault(value, set()).add(key)

    # -- reads -----------------------------------------------------------

    def index_values(self, name: str, entry: Entry) -> set[str]:
        return set(self._funcs[name](entry))

    def index_keys(self, name: str, value: str) -> list[str]:
        """Keys whose entry has ``value`` under index ``name``, in key order."""
        return sorted(self._index[name].get(value, ()))

    def keys(
        self,
        *,
        lo: str | None = None,
        hi: str | None = None,
        after: str | None = None,
        shard_ranges: Sequence[HashRange] | None = None,
    ) -> Iterator[str]:
        """Keys in order within ``[lo, hi)``, strictly after ``after``, in
        the shards the hash ranges select."""
        start, inclusive = (
            (after, False) if after is not None and (lo is None or after >= lo) else (lo, True)
        )
        whole, cut = self._selected_shards(shard_ranges)
        if len(whole) == self.plan.count:
            return self._range(self._all, start, inclusive, hi)
        streams: list[Iterator[str]] = [
            self._range(self._shards[s], start, inclusive, hi) for s in whole
        ]
        if cut and shard_ranges is not None:
            ranges = shard_ranges
            streams += [
                (
                    k
                    for k in self._range(self._shards[s], start, inclusive, hi)
                    if in_ranges(self.hash_of(self._items[k]), ranges)
                )
                for s in cut
            ]
        if len(streams) == 1:
            return streams[0]
        return heapq.merge(*streams)

    def count(
        self, *, lo: str | None = None, hi: str | None = None, after: str | None = None
    ) -> int:
        """How many keys ``keys`` would yield over all shards, in O(log n)."""
        start, inclusive = (
            (after, False) if after is not None and (lo is None or after >= lo) else (lo, True)
        )
        keys = self._all
        first = 0
        if start is not None:
            first = keys.bisect_left(start) if inclusive else keys.bisect_right(start)
        last = len(keys) if hi is None else keys.bisect_left(hi)
        return max(0, last - first)

    def entries_of(self, keys: Iterator[str]) -> Iterator[Entry]:
        """The entries of ``keys`` (all present), lazily: consuming one
        entry consumes exactly one key."""
        return map(self._items.__getitem__, keys)

    def entries(self) -> Iterator[Entry]:
        """Every entry, in no particular order (cheap)."""
        return iter(self._items.values())

    def _selected_shards(self, ranges: Sequence[HashRange] | None) -> tuple[list[int], list[int]]:
        if ranges is None:
            return list(range(self.plan.count)), []
        return self.plan.cover(ranges)

    def _range(
        self, keys: SortedList, start: str | None, inclusive: bool, hi: str | None
    ) -> Iterator[str]:
        it: Iterator[str] = keys.irange(minimum=start, maximum=hi, inclusive=(inclusive, False))
        return it
