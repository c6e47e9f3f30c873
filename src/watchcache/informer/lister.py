"""Reading an informer's store: get, list and index lookups.

Reads are sync and never await, so a read sees one state (the event loop
applies no change in the middle of it), and they never copy the store: a
``get`` is one dict lookup, a namespace ``list`` walks that namespace's key
range only, and ``by_index`` reads the index's key set. Each object handed
out is a fresh ``KubeObject`` view over the stored entry (see objects.py).

Label selectors are written as kubectl takes them (``app=web,tier!=db``),
as a mapping of required values, or as a parsed
``watchcache.api.selectors.LabelSelector``.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterator, Mapping

from watchcache.api.selectors import LabelSelector
from watchcache.cache import Cache, object_key
from watchcache.cache.store import namespace_bounds
from watchcache.informer.objects import KubeObject

__all__ = ["Lister", "Selector", "parse_selector"]

Selector = str | Mapping[str, str] | LabelSelector


def parse_selector(selector: Selector | None) -> LabelSelector | None:
    """Any accepted form as a ``LabelSelector`` (None or empty: None).
    A malformed string raises ``watchcache.api.status.ApiError`` (400)."""
    if selector is None:
        return None
    if isinstance(selector, LabelSelector):
        parsed = selector
    elif isinstance(selector, str):
        parsed = LabelSelector.parse(selector)
    else:
        parsed = LabelSelector.parse(",".join(f"{k}={v}" for k, v in selector.items()))
    return None if parsed.empty else parsed


class Lister:
    """Sync reads of one informer's current state."""

    def __init__(self, cache: Callable[[], Cache]) -> None:
        # The informer may rebuild its (empty) cache before it starts, when
        # indexers are added: always read the current one.
        self._cache = cache

    def __len__(self) -> int:
        return len(self._cache().store)

    def __repr__(self) -> str:
        return f"<Lister {len(self)} objects>"

    def get(self, namespace: str | None, name: str) -> KubeObject | None:
        """One object; ``namespace`` None or "" for cluster-scoped kinds."""
        entry = self._cache().store.get(object_key(namespace or "", name))
        return None if entry is None else KubeObject(entry)

    def list(
        self, namespace: str | None = None, label_selector: Selector | None = None
    ) -> builtins.list[KubeObject]:
        """Objects in key order (namespace, then name), in ``namespace`` if
        given, matching ``label_selector`` if given."""
        return builtins.list(self.iter(namespace, label_selector))

    def iter(
        self, namespace: str | None = None, label_selector: Selector | None = None
    ) -> Iterator[KubeObject]:
        """``list`` lazily. Consume it before awaiting: the store may change
        at any await, and a changed key range ends or skips keys."""
        store = self._cache().store
        lo, hi = namespace_bounds(namespace) if namespace else (None, None)
        entries = store.entries_of(store.keys(lo=lo, hi=hi))
        selector = parse_selector(label_selector)
        if selector is not None:
            entries = (e for e in entries if selector.matches(e.labels))
        return map(KubeObject, entries)

    def keys(self, namespace: str | None = None) -> builtins.list[str]:
        """Storage keys (``namespace/name`` or ``name``) in order."""
        lo, hi = namespace_bounds(namespace) if namespace else (None, None)
        return builtins.list(self._cache().store.keys(lo=lo, hi=hi))

    def by_index(self, index_name: str, value: str) -> builtins.list[KubeObject]:
        """Objects whose indexer ``index_name`` returned ``value``, in key
        order; ``KeyError`` for an index the informer does not have."""
        store = self._cache().store
        if not store.has_index(index_name):
            raise KeyError(index_name)
        return [KubeObject(e) for e in store.entries_of(iter(store.index_keys(index_name, value)))]

    def index_keys(self, index_name: str, value: str) -> builtins.list[str]:
        store = self._cache().store
        if not store.has_index(index_name):
            raise KeyError(index_name)
        return store.index_keys(index_name, value)
