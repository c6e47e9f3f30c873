"""The simulator's storage: every object of every resource, one global RV.

Glossary:
    RV             the store's revision, like etcd's: one counter for every
                   resource, increased by one per write (create, update, delete).
    SimCollection  everything stored for one resource (group + resource): its
                   live objects sorted by key, its event log and history.
    SimEntry       one stored version of one object: the item JSON (what a LIST
                   item carries) plus the decoded header reads need (key, RV,
                   uid, labels, field-selector values). Immutable once stored.
    SimEvent       one write: ADDED, MODIFIED or DELETED, the new entry and the
                   previous one. Its watch lines are encoded once, on first use,
                   and shared by every watcher.
    history        the newest events of a collection, what a WATCH from an RV
                   replays; older watches get 410 (watch.py). Sized like
                   kube-apiserver's watch cache: from HISTORY_MIN events, it
                   doubles when full while its oldest event is younger than
                   HISTORY_FRESH (75 s), and halves when full and even its
                   newest quarter is older than that, within HISTORY_MIN and
                   HISTORY_MAX. A fixed ``history_size`` turns sizing off.
    log            the events after the compaction RV; what an exact LIST at an
                   older RV rolls back through. Separate from history, as the
                   apiserver's watch cache is separate from etcd's compaction.

Invariants:
    - ``SimStore.rv`` only grows; every SimEntry's rv is <= it, and the entries of
      one collection's ``items`` are the state at ``SimStore.rv``.
    - ``log`` holds, in RV order, every event of its collection with rv >
      ``SimStore.compacted``; ``history`` is a suffix of the events ever made.
    - Writes are sync: the store is mutated, the event logged, and every
      listener told, with no await in between.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import msgspec
from sortedcontainers import SortedDict, SortedList  # type: ignore[import-untyped]

from watchcache.api.resources import ResourceInfo, field_values

__all__ = [
    "DEFAULT_HISTORY",
    "DEFAULT_LOG",
    "HISTORY_FRESH",
    "HISTORY_MAX",
    "HISTORY_MIN",
    "Listener",
    "SimCollection",
    "SimEntry",
    "SimEvent",
    "SimStore",
    "key_of",
    "object_prefix",
]

# kube-apiserver's watch cache bounds (watch_cache.go): at least 100
# events, at most 100 * 1024, sized to cover eventFreshDuration, 75 s.
HISTORY_MIN = 100
HISTORY_MAX = 102_400
HISTORY_FRESH = 75.0
# None: the history sizes itself as above.
DEFAULT_HISTORY: int | None = None
# Bound on each collection's rollback log: when it is full the store
# compacts up to the oldest logged event, as kube-apiserver's periodic etcd
# compaction would, and exact LISTs older than that get 410.
DEFAULT_LOG = 100_000


def key_of(namespace: str, name: str) -> str:
    return f"{namespace}/{name}" if namespace else name


@dataclass(frozen=True, slots=True, eq=False)
class SimEntry:
    key: str
    namespace: str
    name: str
    uid: str
    rv: int
    body: bytes
    labels: Mapping[str, str]
    fields: Mapping[str, str]
    # Only what verbs decide on without decoding the body.
    deleting: bool = False
    finalizers: tuple[str, ...] = ()

    def decode(self) -> dict[str, Any]:
        decoded: dict[str, Any] = msgspec.json.decode(self.body)
        return decoded


@dataclass(slots=True, eq=False)
class SimEvent:
    type: str
    rv: int
    key: str
    entry: SimEntry
    prev: SimEntry | None
    prefix: bytes
    at: float = 0.0  # the store's monotonic clock when it was written
    _lines: dict[str, bytes] = field(default_factory=dict)

    def object_bytes(self) -> bytes:
        return full_object(self.prefix, self.entry.body)

    def line(self, event_type: str) -> bytes:
        """``{"type":T,"object":<entry>}\\n``, encoded once per type."""
        cached = self._lines.get(event_type)
        if cached is None:
            cached = b'{"type":"%s","object":%s}\n' % (event_type.encode(), self.object_bytes())
            self._lines[event_type] = cached
        return cached

    def deleted_line(self) -> bytes:
        """DELETED with the previous object at this event's RV: what a
        watcher gets when the object leaves its selector."""
        cached = self._lines.get("leave")
        if cached is None:
            assert self.prev is not None, "an ADDED event cannot leave a selector"
            body = with_rv(self.prev.body, self.rv)
            cached = b'{"type":"DELETED","object":%s}\n' % full_object(self.prefix, body)
            self._lines["leave"] = cached
        return cached


def object_prefix(info: ResourceInfo) -> bytes:
    """``{"kind":K,"apiVersion":V,`` for a built-in kind served at
    ``info``'s version; empty for custom resources, stored whole."""
    if not info.builtin:
        return b""
    gvr = info.gvr
    api_version = gvr.api_version
    return b'{"kind":"%s","apiVersion":"%s",' % (info.kind.encode(), api_version.encode())


def full_object(prefix: bytes, body: bytes) -> bytes:
    """A GET's or a watch event's object: kind and apiVersion, then the item."""
    if not prefix:
        return body
    return prefix + body[1:] if body != b"{}" else prefix[:-1] + b"}"


def with_rv(body: bytes, rv: int) -> bytes:
    obj = msgspec.json.decode(body)
    obj.setdefault("metadata", {})["resourceVersion"] = str(rv)
    return msgspec.json.encode(obj)


Listener = Callable[[SimEvent], None]


@dataclass(eq=False)
class SimCollection:
    info: ResourceInfo
    # A fixed history capacity, or None: sized by age (module docstring).
    history_size: int | None
    log_size: int
    items: SortedDict = field(default_factory=SortedDict)  # key -> SimEntry
    history: deque[SimEvent] = field(init=False)
    capacity: int = field(init=False)
    log: deque[SimEvent] = field(init=False)
    # True once history lost an event: from then on old watches get 410.
    history_truncated: bool = False
    history_floor: int = 0
    listeners: set[Listener] = field(default_factory=set)
    # trigger field value -> sorted keys of the live items with that value
    # (pods: spec.nodeName), so a node's LIST reads only its own pods.
    by_trigger: dict[str, SortedList] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Full rule: appending to a full history first resizes it (when
        # sized by age), then drops its oldest event if still full (old
        # watches then get 410); the log is trimmed by SimStore.compact.
        self.history = deque()
        self.capacity = self.history_size or HISTORY_MIN
        self.log = deque()

    @property
    def prefix(self) -> bytes:
        """Bytes before a stored item that make it a full object."""
        return object_prefix(self.info)

    def get(self, key: str) -> SimEntry | None:
        entry: SimEntry | None = self.items.get(key)
        return entry

    def reindex(self, prev: SimEntry | None, entry: SimEntry, deleted: bool) -> None:
        trigger = self.info.trigger_field
        if trigger is None:
            return
        if prev is not None:
            keys = self.by_trigger.get(prev.fields.get(trigger, ""))
            if keys is not None:
                keys.discard(prev.key)
        if not deleted:
            self.by_trigger.setdefault(entry.fields.get(trigger, ""), SortedList()).add(entry.key)

    def oldest_watchable(self) -> int:
        """The oldest RV a watch may start from, the M of a 410's message."""
        if self.history:
            return self.history[0].rv - 1
        return self.history_floor

    def record(self, event: SimEvent) -> None:
        if len(self.history) >= self.capacity and self.history_size is None:
            self._resize(event.at)
        self._drop_oldest(len(self.history) + 1 - self.capacity)
        self.history.append(event)
        self.log.append(event)

    def _resize(self, now: float) -> None:
        """watch_cache.go's resizeCacheLocked, run when the history is full."""
        if now - self.history[0].at < HISTORY_FRESH:
            self.capacity = min(self.capacity * 2, HISTORY_MAX)
            return
        newest_quarter = self.history[len(self.history) - self.capacity // 4]
        if now - newest_quarter.at > HISTORY_FRESH:
            self.capacity = max(self.capacity // 2, HISTORY_MIN)

    def _drop_oldest(self, count: int) -> None:
        for _ in range(max(count, 0)):
            self.history_truncated = True
            self.history_floor = self.history.popleft().rv

    def shrink_history(self, size: int) -> None:
        """Keep only the newest ``size`` events (a fault a test injects);
        a self-sizing history may grow again from there."""
        self._drop_oldest(len(self.history) - size)
        self.capacity = max(size, 1)

    def since(self, rv: int) -> Iterator[SimEvent]:
        """History events after ``rv``, oldest first."""
        for event in self.history:
            if event.rv > rv:
                yield event

    def __repr__(self) -> str:
        return f"Collection({self.info.gvr.resource}: {len(self.items)} items, {len(self.history)} history)"


class SimStore:
    """All collections and the global RV.

    Only ``write`` changes objects; it returns the SimEvent after telling the
    collection's listeners (each must accept it without blocking).
    """

    def __init__(
        self,
        history_size: int | None = DEFAULT_HISTORY,
        log_size: int = DEFAULT_LOG,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.monotonic = monotonic
        self.rv = 1
        self.compacted = 0
        self.history_size = history_size
        self.log_size = log_size
        self.collections: dict[tuple[str, str], SimCollection] = {}

    def collection(self, info: ResourceInfo) -> SimCollection:
        ident = (info.gvr.group, info.gvr.resource)
        found = self.collections.get(ident)
        if found is None:
            found = SimCollection(info, self.history_size, self.log_size)
            self.collections[ident] = found
        return found

    def find(self, group: str, resource: str) -> SimCollection | None:
        return self.collections.get((group, resource))

    def write(
        self, coll: SimCollection, event_type: str, obj: dict[str, Any], prev: SimEntry | None
    ) -> SimEvent:
        """Store ``obj`` (or delete it, for DELETED) at the next RV."""
        self.rv += 1
        entry = make_entry(coll.info, obj, self.rv)
        if event_type == "DELETED":
            del coll.items[entry.key]
        else:
            coll.items[entry.key] = entry
        coll.reindex(prev, entry, event_type == "DELETED")
        event = SimEvent(event_type, self.rv, entry.key, entry, prev, coll.prefix, self.monotonic())
        coll.record(event)
        self._bound_log(coll)
        for listener in list(coll.listeners):
            listener(event)
        return event

    def preview(
        self, coll: SimCollection, event_type: str, obj: dict[str, Any], prev: SimEntry | None
    ) -> SimEntry:
        """What ``write`` would store, without storing it (dryRun=All): no
        RV bump, no event. A created object has no resourceVersion yet; an
        updated or deleted one keeps its current one."""
        if prev is None:
            entry = make_entry(coll.info, obj, 0)
            obj["metadata"].pop("resourceVersion", None)
            return replace(entry, body=msgspec.json.encode(_item(coll.info, obj)))
        return make_entry(coll.info, obj, prev.rv)

    def _bound_log(self, coll: SimCollection) -> None:
        if len(coll.log) > coll.log_size:
            self.compact(coll.log[len(coll.log) - coll.log_size - 1].rv)

    def compact(self, rv: int | None = None) -> int:
        """Forget every version older than ``rv`` (default: now), like etcd."""
        target = self.rv if rv is None else min(rv, self.rv)
        self.compacted = max(self.compacted, target)
        for coll in self.collections.values():
            while coll.log and coll.log[0].rv <= self.compacted:
                coll.log.popleft()
        return self.compacted

    def __repr__(self) -> str:
        return (
            f"Store(rv={self.rv}, compacted={self.compacted}, {len(self.collections)} collections)"
        )


def make_entry(info: ResourceInfo, obj: dict[str, Any], rv: int) -> SimEntry:
    """Stamp ``obj`` with ``rv`` and encode it once."""
    meta: dict[str, Any] = obj.setdefault("metadata", {})
    meta["resourceVersion"] = str(rv)
    namespace = meta.get("namespace", "") or ""
    name = meta.get("name", "")
    item = _item(info, obj)
    labels = meta.get("labels") or {}
    return SimEntry(
        key=key_of(namespace, name),
        namespace=namespace,
        name=name,
        uid=meta.get("uid", ""),
        rv=rv,
        body=msgspec.json.encode(item),
        labels=labels,
        fields=field_values(info, obj),
        deleting="deletionTimestamp" in meta,
        finalizers=tuple(meta.get("finalizers") or ()),
    )


def _item(info: ResourceInfo, obj: dict[str, Any]) -> dict[str, Any]:
    if not info.builtin:
        return obj
    # Built-in kinds' list items carry no kind/apiVersion; the prefix adds
    # them back for GETs and watch events.
    return {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}
