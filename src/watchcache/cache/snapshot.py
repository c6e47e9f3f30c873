"""A consistent state at an exact RV: the current store, seen through history.

Design: no copies. The state at RV N is the current store with every key
changed after N put back as it was: the ``prev`` of the first event after N
for that key (None if the key did not exist at N). History already keeps
those previous objects, so a snapshot costs no retained bytes: only a
transient overlay dict while one LIST page is built (about 100 bytes per
distinct key changed since N, plus the sorted list of those keys), built in
O(events since N). Every continue page rebuilds it from the token's RV, so
pages of one list are cut from the same state however much was written
between them, for as long as history still reaches back to N (else
``TooOldResourceVersion``: the read goes upstream).

Why not periodic copy-on-write snapshots (kube-apiserver's KEP-4988 keeps a
B-tree clone per RV)? In Python each clone of the key order costs ~8 bytes
per object and they pile up for the window; replaying history costs
nothing at rest and is bounded by the history's own bounds.

Glossary:
    overlay   key -> the first event after N, for keys changed since: its
              ``prev`` is the entry at N (None: absent at N), unpacked only
              when read (history packs settled events, see history.py)
    view      ``get``/``keys``/``count``/``index_keys``, with the store's
              signatures, answering for RV N
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Sequence
from itertools import filterfalse

from watchcache.cache.entry import Entry
from watchcache.cache.event import Event
from watchcache.cache.shard import HashRange, in_ranges
from watchcache.cache.store import Store

__all__ = ["Snapshot"]


class Snapshot:
    def __init__(self, store: Store, rv: int, events_after: Iterable[Event] = ()) -> None:
        self.rv = rv
        self._store = store
        # key -> the first event after rv: its prev is the entry at rv,
        # read (unpacked, when history packed it) only if asked for.
        overlay: dict[str, Event] = {}
        for event in events_after:
            overlay.setdefault(event.key, event)
        self._overlay = overlay
        self._present = sorted(k for k, e in overlay.items() if e.had_prev)

    def __repr__(self) -> str:
        return f"<Snapshot rv={self.rv} overlay={len(self._overlay)} keys>"

    def get(self, key: str) -> Entry | None:
        event = self._overlay.get(key)
        if event is not None:
            return event.prev
        return self._store.get(key)

    def entries_of(self, keys: Iterator[str]) -> Iterator[Entry]:
        """The entries at this RV of ``keys`` (as ``keys()`` yields them),
        lazily: consuming one entry consumes exactly one key."""
        if not self._overlay:
            return self._store.entries_of(keys)
        return (e for e in map(self.get, keys) if e is not None)

    def keys(
        self,
        *,
        lo: str | None = None,
        hi: str | None = None,
        after: str | None = None,
        shard_ranges: Sequence[HashRange] | None = None,
    ) -> Iterator[str]:
        current = self._store.keys(lo=lo, hi=hi, after=after, shard_ranges=shard_ranges)
        if not self._overlay:
            return current
        overlay = self._overlay
        unchanged = filterfalse(overlay.__contains__, current)
        restored = self._restored(lo, hi, after, shard_ranges)
        return heapq.merge(unchanged, restored)

    def count(
        self, *, lo: str | None = None, hi: str | None = None, after: str | None = None
    ) -> int:
        total = self._store.count(lo=lo, hi=hi, after=after)
        for key, event in self._overlay.items():
            if _in_bounds(key, lo, hi, after):
                total += event.had_prev - (self._store.get(key) is not None)
        return total

    def index_keys(self, name: str, value: str) -> list[str]:
        keys = [k for k in self._store.index_keys(name, value) if k not in self._overlay]
        keys += [
            k for k in self._present if value in self._store.index_values(name, self._entry(k))
        ]
        return sorted(keys)

    def _entry(self, key: str) -> Entry:
        entry = self._overlay[key].prev
        assert entry is not None
        return entry

    def _restored(
        self,
        lo: str | None,
        hi: str | None,
        after: str | None,
        shard_ranges: Sequence[HashRange] | None,
    ) -> Iterator[str]:
        for key in self._present:
            if not _in_bounds(key, lo, hi, after):
                continue
            if shard_ranges is None or in_ranges(
                self._store.hash_of(self._entry(key)), shard_ranges
            ):
                yield key


def _in_bounds(key: str, lo: str | None, hi: str | None, after: str | None) -> bool:
    return (lo is None or key >= lo) and (hi is None or key < hi) and (after is None or key > after)
