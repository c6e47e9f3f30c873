"""A change to one object, as the cache recorded it.

Glossary:
    type    ADDED, MODIFIED or DELETED, as upstream said it
    rv      the change's resourceVersion (for DELETED, the deletion's)
    entry   the object after the change; for DELETED, the object upstream
            sent (its last state, stamped with the deletion's rv)
    prev    the object before the change, or None when the cache had none
    line    ``{"type":T,"object":<raw>}\\n``: the raw bytes are spliced in,
            never re-encoded
    packed  an entry kept with its raw bytes zlib-compressed (``pack``):
            what history does to superseded objects once they fall behind
            its newest ``LINE_MEMO_EVENTS``; ``entry`` and ``prev`` give
            them back whole, so a reader never sees the difference

``Event`` satisfies ``watchcache.fanout.event.FanoutEvent``. Lines are
encoded on first use and memoised, so every watcher shares one copy; the
history drops the memo of events that fall behind its newest
``LINE_MEMO_EVENTS`` (see history.py), because those are only needed again
by a watcher resuming from an old RV, and keeping them would double the
bytes history holds. For the same reason history packs those events'
superseded objects: only a watcher resuming far back or a LIST at an old
RV reads them again, and packed they take 0.1 to 0.6 of their size (see
``_PACK_LEVEL``).

Invariant: an object is packed only where nothing else holds it whole,
i.e. never the store's current object (``pack_prev``, ``pack_entry`` are
called by history, which knows).
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping

import msgspec

from watchcache.cache.entry import Entry

__all__ = ["ADDED", "DELETED", "MODIFIED", "Event", "watch_line", "with_resource_version"]

ADDED = "ADDED"
MODIFIED = "MODIFIED"
DELETED = "DELETED"


def watch_line(event_type: str, raw: bytes) -> bytes:
    return b'{"type":"' + event_type.encode() + b'","object":' + raw + b"}\n"


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


# What packing costs and saves per 7.8 KB pod (bench_proxy_memory.py's
# pods; measured on a loaded 2-core machine): zlib level 1 packs one with
# a random-hex annotation to 4.5 KB in ~0.3 ms and unpacks it in ~0.05 ms,
# one with a repeated annotation to 0.9 KB; level 6 packs 2% smaller in
# 1.5x the time. History packs each superseded object once, after the
# newest LINE_MEMO_EVENTS events; unpacking is for reads of old events.
_PACK_LEVEL = 1
_ENTRY_PACKED = 1
_PREV_PACKED = 2


def _pack(entry: Entry) -> Entry:
    return msgspec.structs.replace(entry, raw=zlib.compress(entry.raw, _PACK_LEVEL))


def _unpack(entry: Entry) -> Entry:
    return msgspec.structs.replace(entry, raw=zlib.decompress(entry.raw))


class Event:
    __slots__ = ("_deleted", "_entry", "_lines", "_packed", "_prev", "rv", "type")

    def __init__(self, event_type: str, entry: Entry, prev: Entry | None, rv: int) -> None:
        self.type = event_type
        self._entry = entry
        self._prev = prev
        self.rv = rv
        self._packed = 0  # _ENTRY_PACKED | _PREV_PACKED: which raw is zlib
        self._lines: dict[str, bytes] | None = None
        self._deleted: bytes | None = None

    def __repr__(self) -> str:
        return f"<Event {self.type} {self._entry.key} rv={self.rv}>"

    @property
    def entry(self) -> Entry:
        if self._packed & _ENTRY_PACKED:
            return _unpack(self._entry)
        return self._entry

    @property
    def prev(self) -> Entry | None:
        if self._prev is not None and self._packed & _PREV_PACKED:
            return _unpack(self._prev)
        return self._prev

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
        (a selector watcher may see a MODIFIED as ADDED)."""
        lines = self._lines
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
        if self._deleted is None:
            raw = with_resource_version(prev.raw, prev.rv, self.rv)
            self._deleted = watch_line(DELETED, raw)
        return self._deleted

    def forget_lines(self) -> None:
        self._lines = None
        self._deleted = None

    def pack_prev(self) -> Entry | None:
        """Keep the previous object packed; returns the packed entry (for
        the older event whose ``entry`` it was, see ``share_entry``)."""
        if self._prev is not None and not self._packed & _PREV_PACKED:
            self._prev = _pack(self._prev)
            self._packed |= _PREV_PACKED
        return self._prev

    def pack_entry(self) -> None:
        """Keep this event's own object packed (a DELETED event's, which
        nothing else holds)."""
        if not self._packed & _ENTRY_PACKED:
            self._entry = _pack(self._entry)
            self._packed |= _ENTRY_PACKED

    def share_entry(self, whole: Entry, packed: Entry) -> None:
        """A newer event packed ``whole``, this event's own object: hold
        the packed one instead, so the whole one is freed."""
        if self._entry is whole and not self._packed & _ENTRY_PACKED:
            self._entry = packed
            self._packed |= _ENTRY_PACKED

    def retained_bytes(self) -> int:
        """Bytes this event keeps alive beyond the store: the previous
        object, and a deleted object, packed or not. (The new object of
        ADDED/MODIFIED is the store's until the next change, whose
        ``prev`` it becomes.)"""
        size = len(self._prev.raw) if self._prev is not None else 0
        return size + len(self._entry.raw) if self.type == DELETED else size
