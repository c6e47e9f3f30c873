"""A bounded cache of answers that expire: what the authenticator and the
authorizer remember of upstream's reviews.

Glossary:
    entry   a key, its value and the clock time it expires at
    full    ``max_entries`` entries held: putting one more forgets the
            least recently used (read or written) entry, expired or not;
            a forgotten answer is simply asked for again

Invariants: never more than ``max_entries`` entries; an expired entry is
never returned (it is dropped when found); the clock is injected.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["TTLCache"]

V = TypeVar("V")


class TTLCache(Generic[V]):
    def __init__(self, max_entries: int, clock: Callable[[], float]) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self._clock = clock
        # key -> (expires at, value), least recently used first.
        self._entries: OrderedDict[Hashable, tuple[float, V]] = OrderedDict()
        self.evictions = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"<TTLCache {len(self._entries)}/{self.max_entries} evicted={self.evictions}>"

    def get(self, key: Hashable) -> V | None:
        found = self._entries.get(key)
        if found is None:
            return None
        expires, value = found
        if self._clock() >= expires:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    def put(self, key: Hashable, value: V, ttl: float) -> None:
        """Remember ``value`` for ``ttl`` seconds; a ttl of 0 or less
        remembers nothing (kube-apiserver's "0 turns the cache off")."""
        if ttl <= 0:
            self._entries.pop(key, None)
            return
        self._entries[key] = (self._clock() + ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
            self.evictions += 1
