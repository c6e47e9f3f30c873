"""Assembling ``meta.k8s.io`` Tables from cached objects' JSON: the list, the
single object, and the watch event forms kubectl reads.

Glossary:
    include        ``?includeObject=``: what each row's ``object`` holds.
                   ``Metadata`` (the default, and what kubectl sends) is a
                   PartialObjectMetadata of the object; ``Object`` the
                   object as cached; ``None`` is null. Any other value is a
                   400 whose message is kube-apiserver's.
    list meta      a list Table's ``metadata``: resourceVersion, continue,
                   remainingItemCount, as the list it renders would carry
                   them. A single object's Table carries the object's
                   resourceVersion.
    watch tables   on a watch, each event's object is a Table of one row.
                   The first event's Table has ``columnDefinitions``;
                   every later one has null there (kube-apiserver sets
                   NoHeaders after the first), so ``WatchTables`` is one
                   per watch and remembers whether it has sent them.

Invariants:
    * every object is decoded once per rendering; its raw bytes are
      embedded unchanged when ``include`` is Object.
    * ``now`` comes from the injected clock once per Table, so all rows of
      one list age against the same instant.
    * a Status (a watch's ERROR event) is not a row: it passes through.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from watchcache.api.status import ApiError, bad_request
from watchcache.table.printer import Printer

__all__ = ["Include", "ListMeta", "TableRenderer", "WatchTables", "parse_include"]

Clock = Callable[[], float]  # seconds since the epoch, like time.time


class Include(enum.Enum):
    NONE = "None"
    METADATA = "Metadata"
    OBJECT = "Object"


def parse_include(value: str | None) -> Include:
    """``?includeObject=``'s value; empty or absent is Metadata."""
    if not value:
        return Include.METADATA
    try:
        return Include(value)
    except ValueError:
        raise _bad_include(value) from None


def _bad_include(value: str) -> ApiError:
    quoted = msgspec.json.encode(value).decode()
    return bad_request(
        "Unable to convert to Table as requested: includeObject: Invalid value: "
        f"{quoted}: must be 'Metadata', 'Object', 'None', or empty"
    )


@dataclass(frozen=True, slots=True)
class ListMeta:
    """``metav1.ListMeta``'s fields a Table carries; empty ones are left out."""

    resource_version: str = ""
    continue_token: str = ""
    remaining_item_count: int | None = None


class _Row(msgspec.Struct):
    cells: list[Any]
    object: msgspec.Raw | None


class _FinishedRow(msgspec.Struct):
    """A row with conditions (``conditions`` is omitempty in Go, and
    ``object`` is not: a row without conditions is a ``_Row``)."""

    cells: list[Any]
    conditions: list[dict[str, str]]
    object: msgspec.Raw | None


_decoder = msgspec.json.Decoder()
_encoder = msgspec.json.Encoder()


@dataclass(frozen=True, slots=True)
class TableRenderer:
    """Renders Tables of one printer, one include mode, one Table version."""

    printer: Printer
    clock: Clock
    include: Include = Include.METADATA
    version: str = "v1"
    _columns: bytes = field(init=False, repr=False)
    _partial_head: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_columns", _encoder.encode(list(self.printer.columns)))
        head = f'{{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/{self.version}","metadata":'
        object.__setattr__(self, "_partial_head", head.encode())

    def list_table(self, raws: Iterable[bytes], meta: ListMeta, *, headers: bool = True) -> bytes:
        """The Table of a list: ``raws`` are the items' JSON in list order."""
        now = self.clock()
        rows = _encoder.encode([self._row(raw, now) for raw in raws])
        return self._table(_list_meta(meta), rows, headers)

    def object_table(self, raw: bytes, *, headers: bool = True) -> bytes:
        """The Table of one object (a GET, or a watch event's object)."""
        obj = _decoder.decode(raw)
        rv = obj.get("metadata", {}).get("resourceVersion", "") if isinstance(obj, dict) else ""
        meta = _list_meta(ListMeta(resource_version=rv))
        rows = _encoder.encode([self._decoded_row(obj, raw, self.clock())])
        return self._table(meta, rows, headers)

    def list_head(self, meta: ListMeta) -> bytes:
        """A list Table streamed in pieces: up to and including the rows'
        ``[``; then ``rows`` for each batch of items, joined with commas,
        and ``]}`` to end it."""
        return self._head(_list_meta(meta), headers=True) + b"["

    def rows(self, raws: Iterable[bytes], now: float) -> bytes:
        """The rows of ``raws``, comma-separated, aged against ``now``."""
        return b",".join(_encoder.encode(self._row(raw, now)) for raw in raws)

    def _table(self, meta: bytes, rows: bytes, headers: bool) -> bytes:
        return self._head(meta, headers) + rows + b"}"

    def _head(self, meta: bytes, headers: bool) -> bytes:
        return b"".join(
            (
                b'{"kind":"Table","apiVersion":"meta.k8s.io/',
                self.version.encode(),
                b'","metadata":',
                meta,
                b',"columnDefinitions":',
                self._columns if headers else b"null",
                b',"rows":',
            )
        )

    def _row(self, raw: bytes, now: float) -> _Row | _FinishedRow:
        return self._decoded_row(_decoder.decode(raw), raw, now)

    def _decoded_row(self, obj: dict[str, Any], raw: bytes, now: float) -> _Row | _FinishedRow:
        cells, conditions = self.printer.cells(obj, now), self.printer.conditions(obj)
        if conditions:
            return _FinishedRow(cells, conditions, self._object(obj, raw))
        return _Row(cells, self._object(obj, raw))

    def _object(self, obj: dict[str, Any], raw: bytes) -> msgspec.Raw | None:
        if self.include is Include.METADATA:
            metadata = _encoder.encode(self._metadata(obj))
            return msgspec.Raw(self._partial_head + metadata + b"}")
        if self.include is Include.OBJECT:
            return msgspec.Raw(raw)
        return None

    def _metadata(self, obj: dict[str, Any]) -> Any:
        metadata = obj.get("metadata", {})
        hidden = self.printer.conversion_annotations
        annotations = metadata.get("annotations") if hidden else None
        if not annotations or hidden.isdisjoint(annotations):
            return metadata
        kept = {k: v for k, v in annotations.items() if k not in hidden}
        trimmed = {k: v for k, v in metadata.items() if k != "annotations" or kept}
        if kept:
            trimmed["annotations"] = kept
        return trimmed


def _list_meta(meta: ListMeta) -> bytes:
    parts = []
    if meta.resource_version:
        parts.append(b'"resourceVersion":' + _encoder.encode(meta.resource_version))
    if meta.continue_token:
        parts.append(b'"continue":' + _encoder.encode(meta.continue_token))
    if meta.remaining_item_count is not None:
        parts.append(b'"remainingItemCount":' + str(meta.remaining_item_count).encode())
    return b"{" + b",".join(parts) + b"}"


class WatchTables:
    """The objects of one watch's events as Tables: headers on the first."""

    __slots__ = ("_renderer", "_sent_headers")

    def __init__(self, renderer: TableRenderer) -> None:
        self._renderer = renderer
        self._sent_headers = False

    def event_line(self, event_type: str, raw: bytes) -> bytes:
        """One watch line, ``{"type":...,"object":<Table>}`` and a newline.
        An ERROR event's Status is not converted."""
        if event_type == "ERROR":
            body = raw
        else:
            body = self._renderer.object_table(raw, headers=not self._sent_headers)
            self._sent_headers = True
        return b'{"type":' + _encoder.encode(event_type) + b',"object":' + body + b"}\n"
