"""Which line, if any, one watcher gets for one event.

kube-apiserver's rule, applied to the precomputed labels and fields of the
new and the previous object:

    new matches  old matches   the watcher gets
    yes          yes           MODIFIED with the new object
    yes          no            ADDED with the new object (entered)
    no           yes           DELETED with the previous object at the
                               event's RV (left, or deleted)
    no           no            nothing

A DELETED event's "new object" never matches: the object is gone.

A KEP-5866 shard selector is one more condition of the same rule, tested
on each object's own uid (or namespace). Neither changes for one object, so
it only decides which objects a watcher hears of at all; an object
recreated under the same key with a new uid may enter or leave the share,
which the rule turns into ADDED or DELETED.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from watchcache.fanout.event import FanoutEvent

__all__ = ["Selector", "ShardMatcher", "WatchFilter"]


class ShardMatcher(Protocol):
    """A parsed shard selector (watchcache.api.shardselector)."""

    def matches(self, uid: str, namespace: str) -> bool: ...

    def __str__(self) -> str: ...


class Selector(Protocol):
    """A parsed label or field selector (watchcache.api.selectors)."""

    @property
    def empty(self) -> bool: ...

    def matches(self, values: Mapping[str, str], /) -> bool: ...

    def __str__(self) -> str: ...


@dataclass(frozen=True)
class WatchFilter:
    # None: every namespace (or a cluster-scoped resource).
    namespace: str | None
    labels: Selector
    fields: Selector
    shard: ShardMatcher | None = None

    def matches(
        self,
        namespace: str,
        labels: Mapping[str, str],
        fields: Mapping[str, str],
        uid: str = "",
    ) -> bool:
        if self.namespace is not None and namespace != self.namespace:
            return False
        if self.shard is not None and not self.shard.matches(uid, namespace):
            return False
        return (self.labels.empty or self.labels.matches(labels)) and (
            self.fields.empty or self.fields.matches(fields)
        )

    def key(self) -> str:
        """Equal for filters that select the same objects, as the registry
        groups them (selectors print canonically; a shard selector as the
        client wrote it, so equal shards written differently group apart,
        which costs a rendering, never a wrong line)."""
        shard = "" if self.shard is None else str(self.shard)
        return f"{self.namespace}\x00{self.labels}\x00{self.fields}\x00{shard}"

    @property
    def everything(self) -> bool:
        """Selects every object: the decision needs no selector at all."""
        return (
            self.namespace is None
            and self.labels.empty
            and self.fields.empty
            and self.shard is None
        )

    def bookmark_for(self, line: bytes) -> bytes:
        """The resource's shared bookmark line, as this filter's watchers
        should see it (unchanged here; a metadata-only filter converts it)."""
        return line

    def error_for(self, line: bytes) -> bytes:
        """A JSON ERROR line, as this filter's watchers should see it
        (unchanged here; a protobuf filter writes a frame)."""
        return line

    def line_for(self, event: FanoutEvent) -> bytes | None:
        if self.everything:
            if event.type == "DELETED":
                return event.deleted_line()
            return event.line("MODIFIED" if event.prev_labels is not None else "ADDED")
        now = event.type != "DELETED" and self.matches(
            event.namespace, event.labels, event.fields, event.uid
        )
        prev_labels, prev_fields = event.prev_labels, event.prev_fields
        before = prev_labels is not None and self.matches(
            event.namespace, prev_labels, prev_fields or {}, event.prev_uid
        )
        if now:
            return event.line("MODIFIED" if before else "ADDED")
        if before:
            return event.deleted_line()
        return None
