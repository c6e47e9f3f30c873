"""How the cache's objects are written for a client: one ``Rendering`` per form.

Glossary:
    rendering     one form a client may ask for in its Accept header, with
                  everything the read path writes in it: a LIST's head,
                  items and tail, a GET's body, a watch's lines (events,
                  bookmarks, ERRORs) and the Content-Type
    media family  the serializer an Accept media range names ("json" for
                  ``application/json``, ``application/*`` and ``*/*``); a
                  range of a family no rendering writes (YAML today, or
                  protobuf for a custom resource) is skipped, the client accepting something after it
    conversion    the ``as=`` parameter of a media range: the object turned
                  into another kind before it is serialized
                  (``PartialObjectMetadata``, ``Table``)
    canonical line  the JSON watch line the cache holds for an event
                  (``Event.line``) and the registry's shared bookmark line
                  (``bookmarks_for``); a rendering's watch filter converts
                  them, once per group of watchers with equal filters

The renderings today:
    JSON      the object as stored (``JSON``)
    METADATA  ``PartialObjectMetadata``, as metadata informers (client-go's
              metadata client, kopf's peering, garbage collectors) ask for
              with ``Accept: application/json;as=PartialObjectMetadataList;
              g=meta.k8s.io;v=v1`` on lists and ``as=PartialObjectMetadata``
              on GETs and watches. kube-apiserver then answers each object as
              ``{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1",
              "metadata":{...}}`` with the metadata as stored (managedFields
              included), and a list as a ``PartialObjectMetadataList`` whose
              items all carry kind and apiVersion. The Content-Type stays
              ``application/json``.
    PROTOBUF  kube's protobuf (``application/vnd.kubernetes.protobuf``) of
              built-in kinds, as Go clients ask for it first, written from
              each object's message, encoded on its first protobuf read and
              kept on its entry (docs/protobuf.md); PROTOBUF_METADATA is
              PartialObjectMetadata in protobuf. An object with no exact
              message turns the answer (and its kind, from then on) to JSON.
    TABLE_V1, TABLE_V1BETA1
              ``meta.k8s.io`` Tables, as ``kubectl get`` asks for them
              (``as=Table;v=v1;g=meta.k8s.io``), for built-in resources
              ``watchcache.table.printer_for`` prints, and, through
              ``with_custom_tables``, for custom resources whose CRD the
              proxy knows (crds.py: its ``additionalPrinterColumns``); any
              other resource's Tables come from upstream (``serves`` says
              no). Negotiation
              picks the unbound form; ``bind`` makes the per-read one
              (``TableRead``: printer, includeObject, the read path's wall
              clock, and a watch's ``WatchTables``). On a watch, every line
              passes through that one ``WatchTables``, so the column
              definitions are on the first line written whatever it is (an
              ADDED, a live event or a BOOKMARK), as kube-apiserver's watch
              sets NoHeaders after converting its first object. A BOOKMARK's
              object is converted as kube-apiserver converts its empty
              object: one row of a nameless object. ERRORs stay Status.

Adding a form is a ``Rendering`` subclass (its family
or conversion in ``accepts``, whether it exists for a resource in
``serves``, and the pieces it writes) and one entry in ``RENDERINGS``;
nothing else in the read path names a form. A form that depends on the
request beyond its Accept header (a Table's ``includeObject``) says so in
``bind``.

``negotiate`` walks the Accept header in the client's order, as
kube-apiserver does: the first range of a family some rendering writes
decides. It names the rendering, or None when that range asks for a
conversion no rendering does for the resource (a Table of a custom
resource whose CRD is not known), or when no range is of a family
rendered here: those reads go upstream.

Invariants: errors (``Status`` bodies) are JSON in every JSON rendering,
as kube-apiserver writes them for a JSON client, and protobuf Status in the
protobuf ones (``status_body``); every JSON watch line ends with a newline,
every protobuf frame starts with its 4-byte length.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from watchcache.api import protobuf
from watchcache.api.continuetoken import encode_continue
from watchcache.api.listoptions import INITIAL_EVENTS_END, ListOptions
from watchcache.api.protobuf.message import varint
from watchcache.api.resources import GroupVersionResource, ResourceInfo
from watchcache.api.shardselector import ShardSelector
from watchcache.api.status import ApiError, internal_error
from watchcache.api.watchevent import BOOKMARK, error_line, watch_line
from watchcache.cache.cache import ListPage
from watchcache.cache.entry import Entry
from watchcache.cache.event import Event, with_resource_version
from watchcache.fanout.event import FanoutEvent
from watchcache.fanout.filter import WatchFilter
from watchcache.table import (
    ListMeta,
    Printer,
    TableRenderer,
    WatchTables,
    parse_include,
    printer_for,
)

__all__ = [
    "JSON",
    "METADATA",
    "PROTOBUF",
    "PROTOBUF_METADATA",
    "RENDERINGS",
    "TABLE_V1",
    "TABLE_V1BETA1",
    "MetadataFilter",
    "ProtobufFilter",
    "Rendering",
    "TableFilter",
    "TableRead",
    "bookmarks_for",
    "entry_message",
    "error_line",
    "metadata_line",
    "metadata_object",
    "negotiate",
    "status_envelope",
    "with_custom_tables",
]

Chunk = bytes | memoryview
Clock = Callable[[], float]  # seconds since the epoch, like time.time


class Rendering:
    """One form of the answer. The base class is the JSON of the objects as
    stored; a subclass overrides what its form changes."""

    name = "json"
    # The media family ``negotiate`` matches it by.
    family = "json"
    content_type = "application/json"
    # A watch's Content-Type (protobuf's says ``;stream=watch``).
    watch_content_type = "application/json"

    def __repr__(self) -> str:
        return f"<Rendering {self.name}>"

    def serves(self, resource: ResourceInfo | None) -> bool:
        """Exists for this resource at all; when not, its media family is
        skipped as if unknown (kube-apiserver answers a custom resource in
        JSON whatever the client prefers: a protobuf rendering says no)."""
        return True

    def accepts(
        self, conversion: str | None, group: str | None, version: str | None, *, listing: bool
    ) -> bool:
        """Renders a media range of its family with these ``as``, ``g`` and
        ``v`` parameters, for a LIST (``listing``) or one object / a watch."""
        return conversion is None

    async def settle(
        self, entries: Sequence[Entry], shard: ShardSelector | None = None
    ) -> Rendering:
        """The rendering that answers these objects: this one, or another
        when this one cannot write them exactly (protobuf falls back to
        JSON). Called before a GET or LIST writes anything."""
        return self

    def bind(
        self, resource: ResourceInfo, query: Mapping[str, str], clock: Clock, *, watch: bool
    ) -> Rendering | ApiError | None:
        """The rendering of one read of ``resource`` with this query: itself
        for the forms the Accept header alone decides; an error to answer,
        or None to forward, when the query asks for what it cannot write."""
        return self

    # -- GET -------------------------------------------------------------------

    def object_body(self, raw: bytes) -> bytes:
        """A GET's body (kube-apiserver ends JSON bodies with a newline)."""
        return raw + b"\n"

    def entry_body(self, entry: Entry) -> bytes:
        """A GET's body for a cached object."""
        return self.object_body(entry.raw)

    # -- LIST ------------------------------------------------------------------

    def list_head(
        self, info: ResourceInfo, page: ListPage, shard: ShardSelector | None = None
    ) -> bytes:
        """The list object up to its first item."""
        return _json_list_head(info.list_kind, info.api_version, page, shard)

    def list_items(self, entries: Sequence[Entry], first: bool) -> list[Chunk]:
        """The items, as chunks to join; ``first``: the list's first batch."""
        parts: list[Chunk] = []
        for index, entry in enumerate(entries):
            if index or not first:
                parts.append(b",")
            parts.extend(entry.item_chunks())
        return parts

    list_tail = b"]}\n"

    # -- WATCH -----------------------------------------------------------------

    def watch_filter(self, namespace: str | None, options: ListOptions) -> WatchFilter:
        """The filter whose lines (events, bookmarks) are in this form."""
        return WatchFilter(
            namespace, options.label_selector, options.field_selector, options.shard_selector
        )

    def added_line(self, event: Event) -> bytes:
        """An initial event's line."""
        return event.line("ADDED")

    def error_line(self, error: ApiError) -> bytes:
        """A watch's ERROR event."""
        return error_line(error)

    def status_body(self, error: ApiError) -> bytes | None:
        """An error response's body in this form; None: the JSON Status."""
        return None


class _Json(Rendering):
    pass


class _Metadata(Rendering):
    name = "metadata"

    def accepts(
        self, conversion: str | None, group: str | None, version: str | None, *, listing: bool
    ) -> bool:
        wanted = "PartialObjectMetadataList" if listing else "PartialObjectMetadata"
        return conversion == wanted and (group, version) == _META_GROUP_VERSION

    def object_body(self, raw: bytes) -> bytes:
        return metadata_object(raw) + b"\n"

    def list_head(
        self, info: ResourceInfo, page: ListPage, shard: ShardSelector | None = None
    ) -> bytes:
        return _json_list_head("PartialObjectMetadataList", "meta.k8s.io/v1", page, shard)

    def list_items(self, entries: Sequence[Entry], first: bool) -> list[Chunk]:
        parts: list[Chunk] = []
        for index, entry in enumerate(entries):
            if index or not first:
                parts.append(b",")
            parts.append(metadata_object(entry.raw))
        return parts

    def watch_filter(self, namespace: str | None, options: ListOptions) -> WatchFilter:
        return MetadataFilter(
            namespace, options.label_selector, options.field_selector, options.shard_selector
        )

    def added_line(self, event: Event) -> bytes:
        return metadata_line(event.line("ADDED"))


# -- protobuf ---------------------------------------------------------------------

_PROTO_TAIL = b"\x1a\x00\x22\x00"  # the envelope's contentEncoding "", contentType ""

# Objects encoded per turn of the event loop while a cold read encodes them
# (about 250 us each: some 25 ms, so other requests wait no longer).
ENCODE_SLICE = 100


class _Protobuf(Rendering):
    """kube's protobuf (``application/vnd.kubernetes.protobuf``) of built-in
    kinds, from each object's message, encoded on its first protobuf read
    and kept beside its JSON (``Entry.proto``). ``fallback`` is the JSON
    rendering that answers instead when an object has no exact message."""

    name = "protobuf"
    family = "protobuf"
    content_type = protobuf.CONTENT_TYPE
    watch_content_type = protobuf.STREAM_CONTENT_TYPE
    list_tail = _PROTO_TAIL

    def __init__(self, fallback: Rendering, unencodable: set[tuple[str, str]]) -> None:
        self.fallback = fallback
        # Kinds (apiVersion, kind) one of whose objects had no exact
        # message: JSON from then on, so a watch ended by such an object
        # resumes in JSON. Shared by both protobuf renderings; bounded by
        # the kinds there are.
        self.unencodable = unencodable

    def serves(self, resource: ResourceInfo | None) -> bool:
        return (
            resource is not None
            and protobuf.kind_for(resource.api_version, resource.kind) is not None
            and (resource.api_version, resource.kind) not in self.unencodable
        )

    async def settle(
        self, entries: Sequence[Entry], shard: ShardSelector | None = None
    ) -> Rendering:
        if shard is not None:
            return self.fallback  # 1.20's ListMeta has no shardInfo
        if not entries:
            return self
        kind = _proto_kind(entries[0])
        if kind is None:
            return self.fallback
        cold = 0
        for entry in entries:
            if entry.packed_proto is None:
                cold += 1
                if cold % ENCODE_SLICE == 0:
                    await asyncio.sleep(0)
            if not kept_message(kind, entry):
                self.unencodable.add((kind.api_version, kind.kind))
                return self.fallback
        return self

    def entry_body(self, entry: Entry) -> bytes:
        kind = _proto_kind(entry)
        assert kind is not None and entry.packed_proto  # settle() checked
        return protobuf.envelope(kind.api_version, kind.kind, self._message(kind, entry))

    def _message(self, kind: protobuf.ProtoKind, entry: Entry) -> bytes:
        message = entry.proto
        assert message
        return message

    def _list_kind(self, info: ResourceInfo) -> tuple[str, str]:
        return info.api_version, info.list_kind

    def list_head(
        self, info: ResourceInfo, page: ListPage, shard: ShardSelector | None = None
    ) -> bytes:
        kind = protobuf.kind_for(info.api_version, info.kind)
        assert kind is not None  # serves() checked
        meta: dict[str, object] = {"resourceVersion": str(page.rv)}
        if page.continue_after is not None:
            meta["continue"] = encode_continue(page.rv, page.continue_after)
            if page.remaining is not None:
                meta["remainingItemCount"] = page.remaining
        messages = [self._message(kind, entry) for entry in page.items]
        api_version, list_kind = self._list_kind(info)
        return protobuf.list_body(api_version, list_kind, meta, messages).head

    def list_items(self, entries: Sequence[Entry], first: bool) -> list[Chunk]:
        parts: list[Chunk] = []
        if not entries:
            return parts
        kind = _proto_kind(entries[0])
        assert kind is not None
        for entry in entries:
            message = self._message(kind, entry)
            parts.append(b"\x12" + varint(len(message)))
            parts.append(message)
        return parts

    def watch_filter(self, namespace: str | None, options: ListOptions) -> WatchFilter:
        return ProtobufFilter(
            namespace,
            options.label_selector,
            options.field_selector,
            options.shard_selector,
            rendering=self,
        )

    def added_line(self, event: Event) -> bytes:
        return self.frame("ADDED", event.entry)

    def error_line(self, error: ApiError) -> bytes:
        return protobuf.watch_frame("ERROR", status_envelope(error))

    def status_body(self, error: ApiError) -> bytes | None:
        return status_envelope(error)

    # -- frames -----------------------------------------------------------------

    def object_envelope(self, kind: protobuf.ProtoKind, entry: Entry) -> bytes | None:
        """The envelope a watch frame carries for this object; None when it
        has no exact message."""
        message = entry_message(kind, entry)
        if message is None:
            return None
        return protobuf.envelope(kind.api_version, kind.kind, message)

    def raw_envelope(self, kind: protobuf.ProtoKind, raw: bytes) -> bytes | None:
        """The same for JSON bytes that are no entry (not kept)."""
        try:
            return protobuf.envelope(kind.api_version, kind.kind, kind.message(raw))
        except protobuf.NotEncodable:
            return None

    def frame(self, event_type: str, entry: Entry) -> bytes:
        kind = _proto_kind(entry)
        envelope = None if kind is None else self.object_envelope(kind, entry)
        return self._frame_or_error(event_type, kind, envelope)

    def _frame_or_error(
        self, event_type: str, kind: protobuf.ProtoKind | None, envelope: bytes | None
    ) -> bytes:
        if envelope is not None:
            return protobuf.watch_frame(event_type, envelope)
        # kube-apiserver ends a watch whose object it cannot encode; a
        # group's line cannot end the stream, so an ERROR does (client-go
        # stops reading and watches again, in JSON: ``unencodable``).
        if kind is not None:
            self.unencodable.add((kind.api_version, kind.kind))
        return self.error_line(
            internal_error("an object of this watch has no exact protobuf form; watch again")
        )


class _ProtobufMetadata(_Protobuf):
    """PartialObjectMetadata(List) in protobuf, for metadata-only Go clients
    (garbage collector, quota): each object's metadata, the first field of
    its kept message (the kinds whose conversion writes annotations the
    internal object lacks are re-encoded: ``protobuf.partial_message``)."""

    name = "protobuf-metadata"

    def accepts(
        self, conversion: str | None, group: str | None, version: str | None, *, listing: bool
    ) -> bool:
        return self.fallback.accepts(conversion, group, version, listing=listing)

    def _message(self, kind: protobuf.ProtoKind, entry: Entry) -> bytes:
        message = super()._message(kind, entry)
        return protobuf.partial_message(kind, _metadata_of(entry.raw), message)

    def entry_body(self, entry: Entry) -> bytes:
        kind = _proto_kind(entry)
        assert kind is not None and entry.packed_proto
        return protobuf.envelope(*_PARTIAL_KIND, self._message(kind, entry))

    def _list_kind(self, info: ResourceInfo) -> tuple[str, str]:
        return _PARTIAL_KIND[0], "PartialObjectMetadataList"

    def object_envelope(self, kind: protobuf.ProtoKind, entry: Entry) -> bytes | None:
        message = entry_message(kind, entry)
        if message is None:
            return None
        return protobuf.envelope(
            *_PARTIAL_KIND, protobuf.partial_message(kind, _metadata_of(entry.raw), message)
        )

    def raw_envelope(self, kind: protobuf.ProtoKind, raw: bytes) -> bytes | None:
        try:
            message = protobuf.partial_message(kind, _metadata_of(raw))
        except protobuf.NotEncodable:
            return None
        return protobuf.envelope(*_PARTIAL_KIND, message)


@dataclass(frozen=True)
class ProtobufFilter(WatchFilter):
    """A watch filter whose watchers get protobuf frames: the JSON filter's
    decision, written from the objects' kept messages."""

    rendering: _Protobuf | None = field(default=None, compare=False)

    def key(self) -> str:
        # Watchers of the two protobuf renderings never share frames.
        assert self.rendering is not None
        return f"{self.rendering.name}\x00" + super().key()

    def line_for(self, event: FanoutEvent) -> bytes | None:
        line = super().line_for(event)
        if line is None:
            return None
        rendering = self.rendering
        assert rendering is not None
        if not isinstance(event, Event):
            return self._from_line(line)
        event_type = _line_type(line)
        entry = event.entry
        if event_type == "DELETED" and event.type != "DELETED" and event.prev is not None:
            # Left the selector: the previous object at this event's RV.
            kind = _proto_kind(event.prev)
            raw = with_resource_version(event.prev.raw, event.prev.rv, event.rv)
            envelope = None if kind is None else rendering.raw_envelope(kind, raw)
            return rendering._frame_or_error(event_type, kind, envelope)
        return rendering.frame(event_type, entry)

    def bookmark_for(self, line: bytes) -> bytes:
        return self._from_line(line)

    def error_for(self, line: bytes) -> bytes:
        status = _line_decoder.decode(line).object
        return protobuf.watch_frame("ERROR", protobuf.encode_object(_STATUS_KIND, bytes(status)))

    def _from_line(self, line: bytes) -> bytes:
        """A canonical JSON line (a bookmark) as a frame."""
        rendering = self.rendering
        assert rendering is not None
        decoded = _line_decoder.decode(line)
        raw = bytes(decoded.object)
        typed = _typed_decoder.decode(raw)
        kind = protobuf.kind_for(typed.apiVersion, typed.kind)
        envelope = None if kind is None else rendering.raw_envelope(kind, raw)
        return rendering._frame_or_error(decoded.type, kind, envelope)


def entry_message(kind: protobuf.ProtoKind, entry: Entry) -> bytes | None:
    """The object's protobuf message, encoded once and kept on the entry;
    None when it has no exact one (also kept, as b"")."""
    return entry.proto if kept_message(kind, entry) else None


def kept_message(kind: protobuf.ProtoKind, entry: Entry) -> bool:
    """Whether the object has an exact message, encoding and keeping it on
    its first read (without unpacking a kept one)."""
    if entry.packed_proto is None:
        try:
            message = kind.message(entry.raw)
        except protobuf.NotEncodable:
            message = b""
        entry.keep_message(message)
    return bool(entry.packed_proto)


def status_envelope(error: ApiError) -> bytes:
    """An error's Status in protobuf, as kube-apiserver writes it to a
    protobuf client (v1 Status in every group)."""
    return protobuf.encode_object(_STATUS_KIND, error.status())


class _Typed(msgspec.Struct):
    kind: str = ""
    apiVersion: str = ""


_typed_decoder = msgspec.json.Decoder(_Typed)
_STATUS = protobuf.kind_for("v1", "Status")
assert _STATUS is not None
_STATUS_KIND: protobuf.ProtoKind = _STATUS
_PARTIAL_KIND = ("meta.k8s.io/v1", "PartialObjectMetadata")


def _proto_kind(entry: Entry) -> protobuf.ProtoKind | None:
    typed = _typed_decoder.decode(entry.raw)
    return protobuf.kind_for(typed.apiVersion, typed.kind)


def _line_type(line: bytes) -> str:
    return line[9 : line.index(b'"', 9)].decode()


def _metadata_of(raw: bytes) -> dict[str, Any]:
    return {"metadata": msgspec.json.decode(bytes(_metadata_decoder.decode(raw).metadata))}


CustomPrinters = Callable[[GroupVersionResource], Printer | None]


class _Table(Rendering):
    """A Table of one version, as negotiated: ``bind`` makes the read's.
    ``custom`` gives a custom resource's printer (its CRD's columns,
    crds.py), or None to let upstream print it."""

    def __init__(self, version: str, custom: CustomPrinters | None = None) -> None:
        self.version = version
        self.name = f"table-{version}"
        self.custom = custom

    def serves(self, resource: ResourceInfo | None) -> bool:
        return resource is not None and self._printer(resource) is not None

    def _printer(self, resource: ResourceInfo) -> Printer | None:
        if resource.builtin:
            return printer_for(resource.gvr.group, resource.gvr.resource)
        return None if self.custom is None else self.custom(resource.gvr)

    def accepts(
        self, conversion: str | None, group: str | None, version: str | None, *, listing: bool
    ) -> bool:
        # kube-apiserver names a list's Table and an object's alike.
        return conversion == "Table" and (group, version) == ("meta.k8s.io", self.version)

    def bind(
        self, resource: ResourceInfo, query: Mapping[str, str], clock: Clock, *, watch: bool
    ) -> Rendering | ApiError | None:
        """A bad ``includeObject`` is kube-apiserver's 400: a watch checks it
        before any event, so it is answered here; a GET or LIST checks it
        only once the read succeeded (a missing object is a 404 first), so
        those go upstream, which answers in its order."""
        printer = self._printer(resource)
        if printer is None:
            return None  # its CRD went between negotiation and now
        try:
            include = parse_include(query.get("includeObject"))
        except ApiError as err:
            return err if watch else None
        return TableRead(TableRenderer(printer, clock, include, self.version))


class TableRead(Rendering):
    """The Tables of one read (a GET, a LIST or a watch): one renderer, and
    for a watch the ``WatchTables`` every one of its lines passes through."""

    name = "table"

    def __init__(self, renderer: TableRenderer) -> None:
        self.renderer = renderer
        self.tables = WatchTables(renderer)
        # A list's rows all age against the instant its head was written.
        self._now = 0.0

    def __repr__(self) -> str:
        return f"<Rendering table-{self.renderer.version} {self.renderer.include.value}>"

    def object_body(self, raw: bytes) -> bytes:
        return self.renderer.object_table(raw) + b"\n"

    def list_head(
        self, info: ResourceInfo, page: ListPage, shard: ShardSelector | None = None
    ) -> bytes:
        self._now = self.renderer.clock()
        meta = ListMeta(resource_version=str(page.rv))
        if page.continue_after is not None:
            token = encode_continue(page.rv, page.continue_after)
            meta = ListMeta(str(page.rv), token, page.remaining)
        return self.renderer.list_head(meta)

    def list_items(self, entries: Sequence[Entry], first: bool) -> list[Chunk]:
        rows = self.renderer.rows((entry.raw for entry in entries), self._now)
        return [rows] if first or not rows else [b",", rows]

    def watch_filter(self, namespace: str | None, options: ListOptions) -> WatchFilter:
        return TableFilter(
            namespace,
            options.label_selector,
            options.field_selector,
            options.shard_selector,
            tables=self.tables,
        )

    def added_line(self, event: Event) -> bytes:
        return self.tables.event_line("ADDED", event.entry.raw)


def with_custom_tables(
    renderings: Sequence[Rendering], custom: CustomPrinters
) -> tuple[Rendering, ...]:
    """``renderings`` whose Tables print custom resources too, each with
    the printer ``custom`` gives (None: upstream prints it)."""
    return tuple(_Table(r.version, custom) if isinstance(r, _Table) else r for r in renderings)


JSON: Rendering = _Json()
METADATA: Rendering = _Metadata()
_UNENCODABLE: set[tuple[str, str]] = set()
PROTOBUF: Rendering = _Protobuf(JSON, _UNENCODABLE)
PROTOBUF_METADATA: Rendering = _ProtobufMetadata(METADATA, _UNENCODABLE)
# Every rendering the cache writes, in the order ``negotiate`` tries them.
TABLE_V1: Rendering = _Table("v1")
TABLE_V1BETA1: Rendering = _Table("v1beta1")
RENDERINGS: tuple[Rendering, ...] = (
    JSON,
    METADATA,
    PROTOBUF,
    PROTOBUF_METADATA,
    TABLE_V1,
    TABLE_V1BETA1,
)

# The media types of each family. A family no rendering writes is skipped.
_FAMILIES = {
    "application/json": "json",
    "application/*": "json",
    "*/*": "json",
    "application/vnd.kubernetes.protobuf": "protobuf",
}
_META_GROUP_VERSION = ("meta.k8s.io", "v1")


def negotiate(
    accept: str,
    *,
    listing: bool,
    resource: ResourceInfo | None = None,
    renderings: Sequence[Rendering] = RENDERINGS,
) -> Rendering | None:
    """The rendering for a client's Accept header (module docstring); an
    empty header is JSON. ``listing``: a LIST, whose conversions are named
    with a List suffix (``as=PartialObjectMetadataList``); ``resource``:
    what is read, for the renderings that exist only for some."""
    if not accept.strip():
        return JSON
    renderings = [rendering for rendering in renderings if rendering.serves(resource)]
    families = {rendering.family for rendering in renderings}
    for media_range in accept.split(","):
        kind, *raw = (p.strip() for p in media_range.split(";"))
        family = _FAMILIES.get(kind)
        if family not in families:
            continue  # protobuf, YAML: the client accepts something after it
        params = dict(p.partition("=")[::2] for p in raw)
        conversion, group, version = params.get("as"), params.get("g"), params.get("v")
        for rendering in renderings:
            if rendering.family == family and rendering.accepts(
                conversion, group, version, listing=listing
            ):
                return rendering
        return None  # a conversion not rendered here (for this resource): upstream
    return None


# -- the JSON pieces ------------------------------------------------------------


def _json_list_head(
    kind: str, api_version: str, page: ListPage, shard: ShardSelector | None
) -> bytes:
    meta = f'"resourceVersion":"{page.rv}"'
    if page.continue_after is not None:
        meta += f',"continue":"{encode_continue(page.rv, page.continue_after)}"'
        if page.remaining is not None:
            meta += f',"remainingItemCount":{page.remaining}'
    if shard is not None:
        # ShardInfo: the selector applied, echoed so a client can tell a
        # share from the whole (1.36+ kube-apiserver does the same).
        meta += ',"shardInfo":{"selector":' + msgspec.json.encode(shard.text).decode() + "}"
    return (
        f'{{"kind":"{kind}","apiVersion":"{api_version}","metadata":{{{meta}}},"items":['.encode()
    )


def bookmarks_for(
    info: ResourceInfo, *, initial_events_end: bool = False
) -> Callable[[int], bytes]:
    """A canonical BOOKMARK line maker: an object of the kind with only its
    RV set (and, to end a WatchList's initial events, kube's annotation)."""
    metadata_extra = {"annotations": {INITIAL_EVENTS_END: "true"}} if initial_events_end else {}

    def line(rv: int) -> bytes:
        metadata = {"resourceVersion": str(rv), **metadata_extra}
        obj = {"kind": info.kind, "apiVersion": info.api_version, "metadata": metadata}
        return watch_line(BOOKMARK, json.dumps(obj, separators=(",", ":")).encode())

    return line


# -- PartialObjectMetadata --------------------------------------------------------


class _MetadataOnly(msgspec.Struct):
    metadata: msgspec.Raw


class _Line(msgspec.Struct):
    type: str
    object: msgspec.Raw


_metadata_decoder = msgspec.json.Decoder(_MetadataOnly)
_line_decoder = msgspec.json.Decoder(_Line)
_PREFIX = b'{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":'


def metadata_object(raw: bytes | memoryview) -> bytes:
    """The PartialObjectMetadata rendering of one object's JSON."""
    return _PREFIX + bytes(_metadata_decoder.decode(raw).metadata) + b"}"


def metadata_line(line: bytes) -> bytes:
    """A watch line with its object rendered as PartialObjectMetadata."""
    decoded = _line_decoder.decode(line)
    return watch_line(decoded.type, metadata_object(decoded.object))


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


# -- Table -------------------------------------------------------------------------


@dataclass(frozen=True)
class TableFilter(WatchFilter):
    """The filter of one Table watch: its lines are Tables, rendered by the
    watch's own ``WatchTables`` (column definitions on its first line
    only), so no two watches share a group (the key names the watch)."""

    tables: WatchTables | None = field(default=None, compare=False)

    def key(self) -> str:
        return f"table\x00{id(self.tables)}\x00" + super().key()

    def line_for(self, event: FanoutEvent) -> bytes | None:
        line = super().line_for(event)
        return None if line is None else self._table_line(line)

    def bookmark_for(self, line: bytes) -> bytes:
        return self._table_line(line, bookmark=True)

    def _table_line(self, line: bytes, *, bookmark: bool = False) -> bytes:
        assert self.tables is not None
        decoded = _line_decoder.decode(line)
        raw = bytes(decoded.object)
        if bookmark:
            raw = _bookmark_object(raw)
        return self.tables.event_line(decoded.type, raw)


def _bookmark_object(raw: bytes) -> bytes:
    """A canonical bookmark's object as kube-apiserver encodes its empty
    object: a zero creationTimestamp is written as null, so the row's
    PartialObjectMetadata carries it."""
    obj = json.loads(raw)
    metadata = obj.get("metadata", {})
    obj["metadata"] = {
        "resourceVersion": metadata.get("resourceVersion", ""),
        "creationTimestamp": None,
        **{k: v for k, v in metadata.items() if k != "resourceVersion"},
    }
    return json.dumps(obj, separators=(",", ":")).encode()
