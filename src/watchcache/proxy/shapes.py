"""How an object is rendered for a client: whole, or metadata only.

Metadata informers (client-go's metadata client, kopf's peering, garbage
collectors) ask for ``Accept: application/json;as=PartialObjectMetadataList;
g=meta.k8s.io;v=v1`` on lists and ``as=PartialObjectMetadata`` on GETs and
watches. kube-apiserver then answers each object as

    {"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{...}}

with the object's metadata as stored (managedFields included), and a list
as a ``PartialObjectMetadataList`` whose items all carry kind and
apiVersion. The Content-Type stays ``application/json``.

``negotiate`` walks the Accept header in the client's order, as
kube-apiserver does, and says which shape to serve, or None when the
first acceptable choice is one the cache cannot render (a Table) or no
JSON is acceptable: those go upstream.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from watchcache.api.watchevent import watch_line
from watchcache.fanout.event import FanoutEvent
from watchcache.fanout.filter import WatchFilter

__all__ = ["FULL", "METADATA", "MetadataFilter", "metadata_line", "metadata_object", "negotiate"]

FULL = "full"
METADATA = "metadata"
_JSON = frozenset({"application/json", "application/*", "*/*"})
_META_GROUP_VERSION = ("meta.k8s.io", "v1")


def negotiate(accept: str, *, listing: bool) -> str | None:
    if not accept.strip():
        return FULL
    wanted = "PartialObjectMetadataList" if listing else "PartialObjectMetadata"
    for media_range in accept.split(","):
        kind, *raw = (p.strip() for p in media_range.split(";"))
        params = dict(p.partition("=")[::2] for p in raw)
        if kind not in _JSON:
            continue  # protobuf, YAML: the client accepts something after it
        conversion = params.get("as")
        if conversion is None:
            return FULL
        if conversion == wanted and (params.get("g"), params.get("v")) == _META_GROUP_VERSION:
            return METADATA
        return None  # a Table, or a conversion we do not render: upstream
    return None


class _Metadata(msgspec.Struct):
    metadata: msgspec.Raw


class _Line(msgspec.Struct):
    type: str
    object: msgspec.Raw


_metadata_decoder = msgspec.json.Decoder(_Metadata)
_line_decoder = msgspec.json.Decoder(_Line)
_PREFIX = b'{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":'


def metadata_object(raw: bytes | memoryview) -> bytes:
    """The PartialObjectMetadata rendering of one object's JSON."""
    return _PREFIX + bytes(_metadata_decoder.decode(raw).metadata) + b"}"


@dataclass(frozen=True)
class MetadataFilter(WatchFilter):
    """A watch filter whose watchers get metadata-only objects. Its key
    differs from the full filter's, so the registry groups such watchers
    apart and renders each event once per group."""

    def key(self) -> str:
        return "metadata\x00" + super().key()

    def line_for(self, event: FanoutEvent) -> bytes | None:
        line = super().line_for(event)
        return None if line is None else metadata_line(line)

    def bookmark_for(self, line: bytes) -> bytes:
        return metadata_line(line)


def metadata_line(line: bytes) -> bytes:
    """A watch line with its object rendered as PartialObjectMetadata."""
    decoded = _line_decoder.decode(line)
    return watch_line(decoded.type, metadata_object(decoded.object))
