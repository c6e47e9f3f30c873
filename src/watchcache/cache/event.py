"""A change to one object, as the cache recorded it.

Glossary:
    type    ADDED, MODIFIED or DELETED, as upstream said it
    rv      the change's resourceVersion (for DELETED, the deletion's)
    entry   the object after the change; for DELETED, the object upstream
            sent (its last state, stamped with the deletion's rv)
    prev    the object before the change, or None when the cache had none
    line    ``{"type":T,"object":<raw>}\\n`` (api/watchevent.py): the raw
            bytes are spliced in, never re-encoded

``Event`` satisfies ``watchcache.fanout.event.FanoutEvent``. Lines are
encoded on first use and memoised, so every watcher shares one copy; the
history drops the memo of events that fall behind its newest
``LINE_MEMO_EVENTS`` (see history.py), because those are only needed again
by a watcher resuming from an old RV, and keeping them would double the
bytes history holds.
"""

from __future__ import annotations

from collections.abc import Mapping

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


class Event:
    __slots__ = ("_deleted", "_lines", "entry", "prev", "rv", "type")

    def __init__(self, event_type: str, entry: Entry, prev: Entry | None, rv: int) -> None:
        self.type = event_type
        self.entry = entry
        self.prev = prev
        self.rv = rv
        self._lines: dict[str, bytes] | None = None
        self._deleted: bytes | None = None

    def __repr__(self) -> str:
        return f"<Event {self.type} {self.entry.key} rv={self.rv}>"

    @property
    def key(self) -> str:
        return self.entry.key

    @property
    def namespace(self) -> str:
        return self.entry.namespace

    @property
    def name(self) -> str:
        return self.entry.name

    @property
    def labels(self) -> Mapping[str, str]:
        return self.entry.labels

    @property
    def fields(self) -> Mapping[str, str]:
        return self.entry.fields

    @property
    def uid(self) -> str:
        return self.entry.uid

    @property
    def prev_uid(self) -> str:
        return self.prev.uid if self.prev is not None else ""

    @property
    def prev_labels(self) -> Mapping[str, str] | None:
        return self.prev.labels if self.prev is not None else None

    @property
    def prev_fields(self) -> Mapping[str, str] | None:
        return self.prev.fields if self.prev is not None else None

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
        if self.type == DELETED or self.prev is None:
            return self.line(DELETED)
        if self._deleted is None:
            raw = with_resource_version(self.prev.raw, self.prev.rv, self.rv)
            self._deleted = watch_line(DELETED, raw)
        return self._deleted

    def forget_lines(self) -> None:
        self._lines = None
        self._deleted = None

    def retained_bytes(self) -> int:
        """Bytes this event keeps alive beyond the store: the previous
        object, and a deleted object. (The new object of ADDED/MODIFIED is
        the store's until the next change, whose ``prev`` it becomes.)"""
        size = len(self.prev.raw) if self.prev is not None else 0
        return size + len(self.entry.raw) if self.type == DELETED else size
