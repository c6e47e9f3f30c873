"""What the fan-out needs to know about one change, and nothing more.

The cache produces events; the fan-out only reads them through
``FanoutEvent``. Everything a watcher's decision needs is precomputed once
per event, not once per watcher:

    type            ADDED, MODIFIED or DELETED, as upstream said it
    rv              the event's resourceVersion (for DELETED, the deletion's)
    namespace/name  the object's key parts
    labels/fields   the new object's labels and field-selector values (for
                    a DELETED event, ignored: the object no longer exists)
    prev_labels/    the previous object's, or None when there was none
    prev_fields     (an ADDED event)
    line(t)         the watch line ``{"type":t,"object":<new object>}\\n``
                    for t in ADDED/MODIFIED, encoded once per type and
                    shared by every watcher
    deleted_line()  ``{"type":"DELETED","object":<previous object at this
                    event's rv>}\\n``: what a watcher gets when the object
                    leaves its selector or is deleted

Only the cache knows how to make the bytes; the fan-out never encodes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

__all__ = ["FanoutEvent"]


class FanoutEvent(Protocol):
    @property
    def type(self) -> str: ...
    @property
    def rv(self) -> int: ...
    @property
    def namespace(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def labels(self) -> Mapping[str, str]: ...
    @property
    def fields(self) -> Mapping[str, str]: ...
    @property
    def prev_labels(self) -> Mapping[str, str] | None: ...
    @property
    def prev_fields(self) -> Mapping[str, str] | None: ...
    @property
    def uid(self) -> str: ...
    @property
    def prev_uid(self) -> str: ...

    def line(self, event_type: str) -> bytes: ...

    def deleted_line(self) -> bytes: ...
