"""A change to one object, as the cache recorded it.

Glossary:
    type    ADDED, MODIFIED or DELETED, as upstream said it
    rv      the change's resourceVersion (for DELETED, the deletion's)
    entry   the object after the change; for DELETED, the object upstream
            sent (its last state, stamped with the deletion's rv)
    prev    the object before the change, or None when the cache had none
    line    ``{"type":T,"object":<raw>}\\n`` (api/watchevent.py): the raw
            bytes are spliced in, never re-encoded
    packed  an entry kept with its raw bytes compressed: what history
            does to superseded objects once they fall behind its newest
            ``PACK_AFTER_EVENTS``; ``entry`` and ``prev`` give them back
            whole, so a reader never sees the difference
    delta   a prev packed by LZ4 with this event's entry as its dictionary:
            unpacking it needs the entry whole, which may itself be the
            delta-packed prev of the next event of the key (``_base``);
            history bounds how many in a row (history.py)
    standalone  a packed object that needs no other (zlib): the end of a
            row of deltas, and a DELETED event's own object

``Event`` satisfies ``watchcache.fanout.event.FanoutEvent``. Lines are
encoded on first use and memoised, so every watcher shares one copy; the
history drops the memo of events that fall behind its newest
``LINE_MEMO_EVENTS`` (see history.py), and none is made again: those are
only needed by a watcher resuming from an old RV, and keeping them would
double the bytes history holds. For the same reason history packs the
superseded objects of events behind its newest ``PACK_AFTER_EVENTS``:
only a live watcher whose selector an object leaves, a watcher resuming
far back or a LIST at an old RV reads them again, and packed they take
0.01 to 0.6 of their size (see ``_PACK_LEVEL``), for ~4.6 us of CPU per
MODIFIED of a 5.9 KB pod (zlib deltas took ~20 us: bench_cache_apply.py's
rate fell to 0.65x of its rate without packing; with LZ4 ~0.85x).

Invariant: an object is packed only where nothing else holds it whole,
i.e. never the store's current object (``pack`` is called by history,
which knows). A packed object is a new ``Entry``: a reader still holding
the whole one (a LIST in progress) is unaffected. It keeps no protobuf
message (``Entry.proto``): one read in protobuf is encoded again.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping

import lz4.block  # type: ignore[import-untyped]
import msgspec

from watchcache.api.watchevent import watch_line
from watchcache.cache.entry import Entry

__all__ = ["ADDED", "DELETED", "MODIFIED", "Event", "with_resource_version"]

ADDED = "ADDED"
MODIFIED = "MODIFIED"
DELETED = "DELETED"


def with_resource_version(raw: bytes, old: int, new: int) -> bytes:
    """``raw`` with its metadata.resourceVersion changed from ``old`` to
    ``new``. kube-apiserver serialises kind, apiVersion, then metadata, and
    nothing before metadata.resourceVersion has that field, so the first
    occurrence is the object's own."""
    needle = b'"resourceVersion":"' + str(old).encode() + b'"'
    at = raw.find(needle)
    if at < 0:
        return raw
    return raw[:at] + b'"resourceVersion":"' + str(new).encode() + b'"' + raw[at + len(needle) :]


# What packing costs and saves per pod version (bench_cache_pods.py's 5.9
# KB pods and bench_proxy_memory.py's 7.8 KB ones; quiet 2-core machine).
# A delta (LZ4 with the next version's bytes as its dictionary: only its
# last 64 KiB are reached) of a version that differs from the next by a
# label takes ~0.05 KB, in ~4 us, and unpacks in ~1.5 us; zlib level 1
# with the next version as preset dictionary took ~0.15 KB in ~15 us.
# Standalone, zlib level 1 packs a 7.8 KB pod with a random-hex annotation
# to 4.5 KB in ~0.3 ms (LZ4 has no entropy coding: ~7 KB), one with a
# repeated annotation to 0.9 KB; level 6 packs 2% smaller in 1.5x the time.
_PACK_LEVEL = 1
# ``Event._lines`` once forgotten: never written to.
_FORGOTTEN: dict[str, bytes] = {}
_ENTRY_PACKED = 1  # _entry is packed: the _base event's prev, or standalone
_PREV_PACKED = 2  # _prev is packed
_PREV_DELTA = 4  # ... as a delta against this event's entry


def _pack(entry: Entry, base: bytes | None) -> Entry:
    """``entry`` packed standalone, or as a delta against ``base``."""
    if base is None:
        packed = zlib.compress(entry.raw, _PACK_LEVEL)
    else:
        packed = lz4.block.compress(entry.raw, dict=base)
    return msgspec.structs.replace(entry, raw=packed, packed_proto=None)


def _unpack(entry: Entry, base: bytes | None) -> Entry:
    if base is None:
        return msgspec.structs.replace(entry, raw=zlib.decompress(entry.raw))
    return msgspec.structs.replace(entry, raw=lz4.block.decompress(entry.raw, dict=base))


class Event:
    __slots__ = (
        "_base",
        "_deleted",
        "_deltas",
        "_entry",
        "_lines",
        "_packed",
        "_prev",
        "rv",
        "type",
    )

    def __init__(self, event_type: str, entry: Entry, prev: Entry | None, rv: int) -> None:
        self.type = event_type
        self._entry = entry
        self._prev = prev
        self.rv = rv
        self._packed = 0  # _ENTRY_PACKED | _PREV_PACKED | _PREV_DELTA
        # With _ENTRY_PACKED: the newer event whose prev this entry is
        # (None: packed standalone, a DELETED event's own object).
        self._base: Event | None = None
        # Deltas in a row for this key up to this event's prev (0 when it
        # is standalone or not packed): bounds the unpacking a read costs.
        self._deltas = 0
        self._lines: dict[str, bytes] | None = None
        self._deleted: bytes | None = None

    def __repr__(self) -> str:
        return f"<Event {self.type} {self._entry.key} rv={self.rv}>"

    @property
    def entry(self) -> Entry:
        if not self._packed & _ENTRY_PACKED:
            return self._entry
        if self._base is not None:
            whole = self._base.prev
            assert whole is not None, "a packed entry's base holds it as its prev"
            return whole
        return _unpack(self._entry, None)

    @property
    def prev(self) -> Entry | None:
        prev = self._prev
        if prev is None or not self._packed & _PREV_PACKED:
            return prev
        return _unpack(prev, self.entry.raw if self._packed & _PREV_DELTA else None)

    @property
    def had_prev(self) -> bool:
        """Whether the cache had the object before (``prev`` is not None),
        without unpacking it."""
        return self._prev is not None

    # What filters read (key, labels, fields, uid) is never packed: these
    # read the stored entries without unpacking them.

    @property
    def key(self) -> str:
        return self._entry.key

    @property
    def namespace(self) -> str:
        return self._entry.namespace

    @property
    def name(self) -> str:
        return self._entry.name

    @property
    def labels(self) -> Mapping[str, str]:
        return self._entry.labels

    @property
    def fields(self) -> Mapping[str, str]:
        return self._entry.fields

    @property
    def uid(self) -> str:
        return self._entry.uid

    @property
    def prev_uid(self) -> str:
        return self._prev.uid if self._prev is not None else ""

    @property
    def prev_labels(self) -> Mapping[str, str] | None:
        return self._prev.labels if self._prev is not None else None

    @property
    def prev_fields(self) -> Mapping[str, str] | None:
        return self._prev.fields if self._prev is not None else None

    def line(self, event_type: str) -> bytes:
        """The watch line for this event's new object under ``event_type``
        (a selector watcher may see a MODIFIED as ADDED); memoised until
        ``forget_lines``, made afresh after."""
        lines = self._lines
        if lines is _FORGOTTEN:
            return watch_line(event_type, self.entry.raw)
        if lines is None:
            lines = self._lines = {}
        line = lines.get(event_type)
        if line is None:
            line = lines[event_type] = watch_line(event_type, self.entry.raw)
        return line

    def deleted_line(self) -> bytes:
        """DELETED with the previous object at this event's rv: what a
        watcher gets when the object leaves its selector (kube-apiserver's
        cache_watcher does the same). A DELETED event's own object already
        is exactly that."""
        prev = self.prev
        if self.type == DELETED or prev is None:
            return self.line(DELETED)
        deleted = self._deleted
        if deleted is None:
            raw = with_resource_version(prev.raw, prev.rv, self.rv)
            deleted = watch_line(DELETED, raw)
            if self._lines is not _FORGOTTEN:
                self._deleted = deleted
        return deleted

    def forget_lines(self) -> None:
        """Drop the memoised lines, and memoise none from now on: a watcher
        resuming far back must not make history hold every line again
        (history's byte bound counts no lines)."""
        self._lines = _FORGOTTEN
        self._deleted = None

    @property
    def deltas(self) -> int:
        """How many deltas in a row end at this event's packed prev."""
        return self._deltas

    def pack(self, older: Event | None, max_deltas: int) -> int:
        """Pack what only history holds of this event (history calls this
        once it settles, see history.py): the previous object, as a delta
        against this event's entry unless ``max_deltas`` deltas of the key
        already end there, then standalone; ``older``, the key's previous
        settled event, whose own object that was, holds the packed one
        instead; and a DELETED event's own object, standalone. Returns how
        much ``retained_bytes()`` changed."""
        before = self.retained_bytes()
        whole = self._prev
        if whole is not None and not self._packed & _PREV_PACKED:
            in_row = older._deltas if older is not None and older.holds(whole) else 0
            if in_row < max_deltas:
                self._prev = _pack(whole, self.entry.raw)
                self._packed |= _PREV_PACKED | _PREV_DELTA
                self._deltas = in_row + 1
            else:
                self._prev = _pack(whole, None)
                self._packed |= _PREV_PACKED
                self._deltas = 0
            if older is not None:
                older.share_entry(whole, self)
        if self.type == DELETED and not self._packed & _ENTRY_PACKED:
            self._entry = _pack(self._entry, None)
            self._packed |= _ENTRY_PACKED
        return self.retained_bytes() - before

    def holds(self, whole: Entry | None) -> bool:
        """Whether this event's own object is ``whole``, not yet packed."""
        return whole is not None and self._entry is whole and not self._packed & _ENTRY_PACKED

    def share_entry(self, whole: Entry, base: Event) -> None:
        """``base``, a newer event, packed ``whole``, this event's own
        object, as its prev: hold that packed one instead (read back
        through ``base``), so the whole one is freed."""
        if self.holds(whole):
            assert base._prev is not None
            self._entry = base._prev
            self._base = base
            self._packed |= _ENTRY_PACKED

    def retained_bytes(self) -> int:
        """Bytes this event keeps alive beyond the store: the previous
        object, and a deleted object, packed or not. (The new object of
        ADDED/MODIFIED is the store's until the next change, whose
        ``prev`` it becomes.)"""
        size = len(self._prev.raw) if self._prev is not None else 0
        return size + len(self._entry.raw) if self.type == DELETED else size
