"""``Cache``: one resource's store, history and RV behind one facade.

Glossary:
    rv        the newest resourceVersion the cache has reached: the last
              event applied, bookmark seen, or relist
    view      the state a read is answered from: the current store, or a
              ``Snapshot`` at an exact RV inside the history window
    page      one LIST answer: items in key order, and when more keys follow
              the last item, the key to continue after (relative to the
              request's prefix, as continue tokens carry it)

Every mutation (``apply``, ``bookmark``, ``replace``) is a sync method that
updates store, history and rv in one step and returns what must be
notified; the awaits (fan-out writes, waking followers) come after, in the
caller or in ``follow``. Nothing here buffers per follower: a follower is a
cursor into history, and one that falls behind the window gets
``TooOldResourceVersion`` (410), exactly like a watcher of kube-apiserver.

Reads answer like kube-apiserver 1.34+'s cache: lists in key order, a page
continues when any key follows its last item (selectors or not), and
``remaining`` is set only without selectors. Which RV a request may be
served at (RV=0, NotOlderThan waits, consistent reads) is the proxy's
policy; this facade answers "now" or "exactly at N".
"""

from __future__ import annotations

import asyncio
import builtins
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any, Protocol

import msgspec

from watchcache.cache.entry import (
    Entry,
    EntryCodec,
    MalformedObject,
    Transform,
    object_key,
    parse_resource_version,
)
from watchcache.cache.event import ADDED, DELETED, MODIFIED, Event
from watchcache.cache.history import (
    DEFAULT_MAX_BYTES,
    DEFAULT_WINDOW,
    MAX_EVENTS,
    MIN_EVENTS,
    History,
)
from watchcache.cache.shard import HashRange
from watchcache.cache.snapshot import Snapshot
from watchcache.cache.store import HashBy, IndexFunc, Store, namespace_bounds

__all__ = [
    "Cache",
    "CacheConfig",
    "CacheStatistics",
    "FieldPredicate",
    "LabelPredicate",
    "ListPage",
    "MalformedObject",
    "ResourceLike",
    "ShardPredicate",
    "TooNewResourceVersion",
    "WatchErrorLine",
]


class _GroupVersion(Protocol):
    @property
    def group(self) -> str: ...
    @property
    def version(self) -> str: ...


class ResourceLike(Protocol):
    """What the cache reads of ``watchcache.api.resources.ResourceInfo``."""

    @property
    def gvr(self) -> _GroupVersion: ...
    @property
    def kind(self) -> str: ...
    @property
    def namespaced(self) -> bool: ...
    @property
    def field_defaults(self) -> Mapping[str, str]: ...
    @property
    def trigger_field(self) -> str | None: ...
    @property
    def builtin(self) -> bool: ...
    @property
    def api_version(self) -> str: ...


class ShardPredicate(Protocol):
    """A KEP-5866 shard selector (watchcache.api.shardselector)."""

    def matches(self, uid: str, namespace: str) -> bool: ...


class LabelPredicate(Protocol):
    """``watchcache.api.selectors.LabelSelector``."""

    @property
    def empty(self) -> bool: ...
    def matches(self, labels: Mapping[str, str]) -> bool: ...


class FieldPredicate(Protocol):
    """``watchcache.api.selectors.FieldSelector``."""

    @property
    def empty(self) -> bool: ...
    @property
    def fields(self) -> frozenset[str]: ...
    def matches(self, fields: Mapping[str, str]) -> bool: ...
    def exact(self, field: str) -> str | None: ...


class TooNewResourceVersion(Exception):
    """An exact read at an RV the cache has not reached yet: wait, or go
    upstream."""

    def __init__(self, rv: int, current: int) -> None:
        self.rv = rv
        self.current = current
        super().__init__(f"resource version {rv} is newer than the cache ({current})")


class WatchErrorLine(Exception):
    """Upstream's watch sent an ERROR line: the watch failed, and ``object``
    (usually a kube ``Status``) says why. Its own type, so that nothing
    else raised while applying a line (a malformed one is a
    ``MalformedObject``) can be taken for it."""

    def __init__(self, obj: bytes) -> None:
        self.object = obj
        super().__init__(f"upstream watch sent ERROR: {obj[:200]!r}")


@dataclass(frozen=True)
class CacheConfig:
    """How one resource is cached. Defaults keep what clients see intact."""

    shard_count: int = 1
    hash_by: HashBy = "uid"
    strip_managed_fields: bool = False
    transform: Transform | None = None
    # None: index the kind's trigger field (pods: spec.nodeName), if any.
    indexed_fields: Sequence[str] | None = None
    indexers: Mapping[str, IndexFunc] | None = None
    history_window: float = DEFAULT_WINDOW
    history_min_events: int = MIN_EVENTS
    history_max_events: int = MAX_EVENTS
    history_max_bytes: int = DEFAULT_MAX_BYTES
    # Pack superseded versions once they settle (history.py): ~1% of their
    # bytes for ~4 us of CPU each on the apply path. False: kept whole.
    history_packing: bool = True


@dataclass(frozen=True)
class CacheStatistics:
    rv: int
    objects: int
    history_events: int
    history_capacity: int
    history_bytes: int
    oldest_rv: int  # the first RV history can answer from


@dataclass(frozen=True)
class ListPage:
    items: list[Entry]
    rv: int
    continue_after: str | None  # relative key of the last item, when more follow
    remaining: int | None  # keys after this page; only without selectors


class _WatchLine(msgspec.Struct):
    type: str
    object: msgspec.Raw


class _Bookmark(msgspec.Struct):
    class _Meta(msgspec.Struct):
        resourceVersion: str = "0"

    metadata: _Meta = msgspec.field(default_factory=_Meta)


_CHANGES = frozenset(("ADDED", "MODIFIED", "DELETED"))
# A change's type as a line spells it -> the one string every event of
# that type holds (a string decoded per line was 57 bytes per event kept).
_CHANGE_OF = {change.encode(): change for change in (ADDED, MODIFIED, DELETED)}
_TYPE_START = len(b'{"type":"')
_OBJECT_AT = b'","object":'


def _split_line(line: bytes) -> tuple[str, bytes] | None:
    """The change type and object bytes of a line written as kube-apiserver
    writes it, by slicing: a full parse of the outer object would scan the
    whole object once more just to find its end (~3 us of ~17 us per 5.9 KB
    pod, bench_cache_apply.py). The object is still fully parsed when
    decoded, so a line of another shape fails there and takes the slow
    path, as does any line but a change (a bookmark, an error)."""
    if not line.startswith(b'{"type":"'):
        return None
    at = line.find(_OBJECT_AT, _TYPE_START, 40)
    change = _CHANGE_OF.get(line[_TYPE_START:at]) if at >= 0 else None
    body = line.rstrip()
    if change is None or not body.endswith(b"}"):
        return None
    return change, body[at + len(_OBJECT_AT) : -1]


_line_decoder = msgspec.json.Decoder(_WatchLine)
_bookmark_decoder = msgspec.json.Decoder(_Bookmark)


class Cache:
    def __init__(
        self,
        resource: ResourceLike,
        config: CacheConfig = CacheConfig(),
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.resource = resource
        self._codec = EntryCodec(
            kind=resource.kind,
            api_version=resource.api_version,
            namespaced=resource.namespaced,
            field_defaults=resource.field_defaults,
            builtin=resource.builtin,
            strip_managed_fields=config.strip_managed_fields,
            transform=config.transform,
        )
        indexed = config.indexed_fields
        if indexed is None:
            indexed = (resource.trigger_field,) if resource.trigger_field else ()
        self.store = Store(
            shard_count=config.shard_count,
            hash_by=config.hash_by,
            indexed_fields=indexed,
            indexers=config.indexers,
        )
        self.history = History(
            clock=clock,
            window=config.history_window,
            min_events=config.history_min_events,
            max_events=config.history_max_events,
            max_bytes=config.history_max_bytes,
            packing=config.history_packing,
        )
        self.rv = 0
        self._clock = clock
        # When the last change was applied (clock time; -inf before any).
        self._changed_at = float("-inf")
        self._changed: asyncio.Event | None = None

    def __repr__(self) -> str:
        return f"<Cache {self.resource.kind} rv={self.rv} {self.store!r} {self.history!r}>"

    # -- mutations (sync) ------------------------------------------------

    def decode(self, data: bytes) -> Entry:
        """Decode one object; no state changes (the phase before the step)."""
        return self._codec.decode(data)

    def apply(self, event_type: str, data: bytes) -> Event | None:
        """Apply one upstream ADDED/MODIFIED/DELETED object."""
        return self.apply_entry(event_type, self._codec.decode(data, self.store.get))

    def apply_line(self, line: bytes) -> Event | None:
        """Apply one upstream watch line ``{"type":..,"object":..}``.
        BOOKMARK advances rv; ERROR raises ``WatchErrorLine`` (the caller
        relists or reconnects); a line that is not a watch event as
        kube-apiserver writes it raises ``MalformedObject``. Any other
        exception is not upstream's doing (a transform's, an indexer's, a
        bug)."""
        split = _split_line(line)
        if split is not None:
            try:
                return self.apply(*split)
            except MalformedObject:
                pass  # not the shape kube-apiserver writes: parse it properly
        try:
            decoded = _line_decoder.decode(line)
            mark = _bookmark_decoder.decode(decoded.object) if decoded.type == "BOOKMARK" else None
        except msgspec.DecodeError as err:
            raise MalformedObject(f"not a watch line ({err})", line) from None
        if mark is not None:
            self.bookmark(parse_resource_version(mark.metadata.resourceVersion, line))
            return None
        if decoded.type == "ERROR":
            raise WatchErrorLine(bytes(decoded.object))
        if decoded.type not in _CHANGES:
            raise MalformedObject(f"a watch event of type {decoded.type!r}", line)
        return self.apply(decoded.type, bytes(decoded.object))

    def apply_entry(self, event_type: str, entry: Entry) -> Event | None:
        """Store + history + rv in one step. An event not newer than rv is a
        replay after a reconnect and is dropped (returns None)."""
        if entry.rv <= self.rv:
            return None
        older = self.store.get(entry.key)
        if older is not None:
            entry = entry.sharing(older)
        prev = self.store.delete(entry.key) if event_type == DELETED else self.store.put(entry)
        event = Event(event_type, entry, prev, entry.rv)
        self.history.append(event)
        self.rv = entry.rv
        self._changed_at = self._clock()
        self._wake()
        return event

    def idle_seconds(self) -> float:
        """How long since a change was applied (inf before any): how quiet
        the resource is, for the read path's bet on whether waiting for its
        next event is worth it."""
        return self._clock() - self._changed_at

    def bookmark(self, rv: int) -> None:
        """Upstream proved nothing changed up to ``rv``."""
        if rv > self.rv:
            self.rv = rv
            self._wake()

    def replace(self, objects: Iterable[bytes], rv: int) -> builtins.list[Event]:
        """A relist at ``rv``: the state becomes ``objects`` and history
        restarts (followers older than ``rv`` get 410 and relist).

        Returns the difference from the state before, as events no watch
        delivered (see ``relist_changes``): a follower that applies them
        sees the deletions that happened while it was not watching."""
        return self.replace_entries([self._codec.decode(data) for data in objects], rv)

    def replace_entries(self, entries: Sequence[Entry], rv: int) -> builtins.list[Event]:
        """``replace`` with objects already decoded (``decode``): a lister
        decoding page by page holds one page of bytes at a time, not the
        whole list twice."""
        changes = relist_changes(self.store, entries, rv)
        self.store.clear()
        for entry in entries:
            self.store.put(entry)
        self.history.reset(rv)
        self.rv = rv
        self._wake()
        return changes

    def _wake(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    # -- reads -----------------------------------------------------------

    def get(self, namespace: str, name: str, *, rv: int | None = None) -> Entry | None:
        """One object, now or exactly at ``rv`` (see ``snapshot``)."""
        key = object_key(namespace, name)
        if rv is None:
            return self.store.get(key)
        return self.snapshot(rv).get(key)

    def by_index(self, name: str, value: str, *, rv: int | None = None) -> builtins.list[Entry]:
        """Entries whose index ``name`` (a field path or a custom indexer's
        name) has ``value``, in key order; ``KeyError`` for an unknown index."""
        if not self.store.has_index(name):
            raise KeyError(name)
        view = self.snapshot(self.rv if rv is None else rv)
        return builtins.list(view.entries_of(iter(view.index_keys(name, value))))

    def snapshot(self, rv: int) -> Snapshot:
        """The state exactly at ``rv``. Raises ``TooOldResourceVersion``
        outside the history window and ``TooNewResourceVersion`` ahead of
        the cache."""
        if rv > self.rv:
            raise TooNewResourceVersion(rv, self.rv)
        if rv == self.rv:
            return Snapshot(self.store, rv)
        return Snapshot(self.store, rv, self.history.since(rv))

    def list(
        self,
        *,
        namespace: str | None = None,
        labels: LabelPredicate | None = None,
        fields: FieldPredicate | None = None,
        limit: int = 0,
        continue_after: str | None = None,
        rv: int | None = None,
        shard_ranges: Sequence[HashRange] | None = None,
        shard: ShardPredicate | None = None,
    ) -> ListPage:
        """One page in key order, now (``rv`` None) or exactly at ``rv``.

        ``continue_after`` is a continue token's key, relative to the
        request's prefix (``name`` when ``namespace`` is given). ``shard``
        (a client's KEP-5866 shard selector) filters like a selector: the
        page continues when any key follows, and ``remaining`` is unset.
        ``shard_ranges`` is the store's own partition (its hash_by field),
        which clients do not see."""
        view = self.snapshot(self.rv if rv is None else rv)
        lo, hi = namespace_bounds(namespace) if namespace else (None, None)
        after = None
        if continue_after is not None:
            after = object_key(namespace, continue_after) if namespace else continue_after
        labels = None if labels is None or labels.empty else labels
        fields = None if fields is None or fields.empty else fields
        keys, indexed = self._candidate_keys(view, fields, lo, hi, after, shard_ranges)
        items, more = _take(view, keys, _predicate(labels, fields, shard), limit)
        if indexed and limit and len(items) == limit:
            # As from etcd (and the unindexed path): a page continues when
            # any key follows its last item, matching or not. The index is
            # an optimisation clients must not see.
            rest = view.keys(lo=lo, hi=hi, after=items[-1].key, shard_ranges=shard_ranges)
            more = next(rest, None) is not None
        if not more:
            return ListPage(items, view.rv, None, None)
        last = items[-1].key
        remaining = None
        if labels is None and fields is None and shard is None:
            remaining = self._remaining(view, lo, hi, last, shard_ranges)
        relative = last[len(namespace) + 1 :] if namespace else last
        return ListPage(items, view.rv, relative, remaining)

    def _candidate_keys(
        self,
        view: Snapshot,
        fields: FieldPredicate | None,
        lo: str | None,
        hi: str | None,
        after: str | None,
        shard_ranges: Sequence[HashRange] | None,
    ) -> tuple[Iterator[str], bool]:
        """Index lookup when the field selector pins an indexed field, else
        the key range; and whether the index was used."""
        for path in sorted(fields.fields) if fields is not None else ():
            value = fields.exact(path) if fields is not None else None
            if value is not None and self.store.has_index(path):
                keys = view.index_keys(path, value)
                return _bounded(view, keys, lo, hi, after, shard_ranges, self.store), True
        return view.keys(lo=lo, hi=hi, after=after, shard_ranges=shard_ranges), False

    def _remaining(
        self,
        view: Snapshot,
        lo: str | None,
        hi: str | None,
        last: str,
        shard_ranges: Sequence[HashRange] | None,
    ) -> int:
        if shard_ranges is None:
            return view.count(lo=lo, hi=hi, after=last)
        return sum(1 for _ in view.keys(lo=lo, hi=hi, after=last, shard_ranges=shard_ranges))

    def initial_events(self, **list_args: Any) -> tuple[builtins.list[Event], int]:
        """The synthetic ADDED events a watch from RV 0 (or unset) starts
        with, as ``list`` selects them, and the RV to follow from after."""
        page = self.list(**list_args)
        return [Event(ADDED, entry, None, entry.rv) for entry in page.items], page.rv

    def statistics(self) -> CacheStatistics:
        history = self.history
        return CacheStatistics(
            rv=self.rv,
            objects=len(self.store),
            history_events=len(history),
            history_capacity=history.capacity,
            history_bytes=history.retained_bytes,
            oldest_rv=history.oldest(),
        )

    # -- following changes -----------------------------------------------

    def since(self, rv: int) -> builtins.list[Event]:
        """Events after ``rv`` in RV order; ``TooOldResourceVersion`` (410)
        when history no longer reaches back to ``rv``."""
        return self.history.since(rv)

    async def wait_until(self, rv: int) -> None:
        """Return once the cache has reached ``rv`` (callers bound the wait
        with a timeout)."""
        while self.rv < rv:
            await self._next_change()

    async def follow(self, rv: int) -> AsyncIterator[Event]:
        """Every event after ``rv``, as it happens. Raises
        ``TooOldResourceVersion`` when the follower falls behind history."""
        cursor = rv
        while True:
            events = self.history.since(cursor)
            for event in events:
                yield event
            if events:
                cursor = events[-1].rv
            else:
                await self._next_change()

    async def _next_change(self) -> None:
        if self._changed is None:
            self._changed = asyncio.Event()
        await self._changed.wait()


def relist_changes(store: Store, entries: Sequence[Entry], rv: int) -> builtins.list[Event]:
    """The events that turn ``store`` into ``entries`` (a relist at ``rv``):
    DELETED for each key no longer listed, carrying its last known object
    (the deletion's own RV is unknowable: the event's rv is the relist's),
    then ADDED for new keys and MODIFIED for keys whose object
    changed (another RV or, recreated, another uid), in list order.
    Unchanged objects produce nothing. None of these events enters history:
    their RVs are not a watch's strictly increasing sequence."""
    listed = {entry.key for entry in entries}
    changes = [Event(DELETED, old, old, rv) for old in store.entries() if old.key not in listed]
    for entry in entries:
        prev = store.get(entry.key)
        if prev is None:
            changes.append(Event(ADDED, entry, None, entry.rv))
        elif prev.rv != entry.rv or prev.uid != entry.uid:
            changes.append(Event(MODIFIED, entry, prev, entry.rv))
    return changes


def _predicate(
    labels: LabelPredicate | None,
    fields: FieldPredicate | None,
    shard: ShardPredicate | None = None,
) -> Callable[[Entry], bool] | None:
    if labels is None and fields is None and shard is None:
        return None

    def match(entry: Entry) -> bool:
        if labels is not None and not labels.matches(entry.labels):
            return False
        if fields is not None and not fields.matches(entry.fields):
            return False
        return shard is None or shard.matches(entry.uid, entry.namespace)

    return match


def _take(
    view: Snapshot, keys: Iterator[str], match: Callable[[Entry], bool] | None, limit: int
) -> tuple[list[Entry], bool]:
    """Up to ``limit`` matching entries, and whether any key follows the
    last one (kube-apiserver continues even if none of the rest match).
    The loops run in C (map, filter, islice); they are lazy, so ``keys`` is
    left just after the last item taken."""
    entries = view.entries_of(keys)
    matched = entries if match is None else filter(match, entries)
    if not limit:
        return list(matched), False
    items = list(islice(matched, limit))
    if len(items) < limit:
        return items, False
    return items, next(keys, None) is not None


def _bounded(
    view: Snapshot,
    keys: list[str],
    lo: str | None,
    hi: str | None,
    after: str | None,
    shard_ranges: Sequence[HashRange] | None,
    store: Store,
) -> Iterator[str]:
    for key in keys:
        if (
            (lo is not None and key < lo)
            or (hi is not None and key >= hi)
            or (after is not None and key <= after)
        ):
            continue
        entry = view.get(key)
        if shard_ranges is not None and entry is not None:
            h = store.hash_of(entry)
            if not any(a <= h < b for a, b in shard_ranges):
                continue
        yield key
