"""A watch event as it goes on the wire: one line per event.

Glossary:
    type    ADDED, MODIFIED, DELETED (a change), BOOKMARK (an RV reached,
            no change), or ERROR (the watch ends; the object is a Status)
    object  the event's object, as JSON bytes spliced in as they are,
            never re-encoded
    line    ``{"type":<type>,"object":<object>}\\n``, keys in that order,
            no spaces, one newline: what kube-apiserver writes (Go's
            ``metav1.WatchEvent``), byte for byte

``watch_line`` is the one place a line is assembled; readers of upstream
lines (cache.py, shapes.py) parse the same shape.
"""

from __future__ import annotations

from watchcache.api.status import ApiError

__all__ = ["BOOKMARK", "ERROR", "error_line", "watch_line"]

BOOKMARK = "BOOKMARK"
ERROR = "ERROR"


def watch_line(event_type: str, obj: bytes) -> bytes:
    """The line of one event of ``event_type`` whose object is ``obj``."""
    return b'{"type":"' + event_type.encode() + b'","object":' + obj + b"}\n"


def error_line(error: ApiError) -> bytes:
    """The ERROR event that ends a watch with ``error``'s Status."""
    return watch_line(ERROR, error.body().rstrip(b"\n"))
