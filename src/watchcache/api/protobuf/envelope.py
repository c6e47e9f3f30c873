"""Kube's protobuf bodies around object messages: GET, LIST and WATCH frames.

What kube-apiserver 1.20 writes (apimachinery runtime/serializer/protobuf,
endpoints/handlers/watch.go, meta/v1 watch.go):

Glossary:
    message     an object's own protobuf message (message.encode), no
                envelope: what a cache keeps per object, once.
    envelope    ``k8s\\x00`` then runtime.Unknown: typeMeta (1: apiVersion
                1, kind 2), raw (2: the message), contentEncoding (3, ""),
                contentType (4, ""). The body of a GET; a LIST's body is the
                envelope of the list message.
    list message  ListMeta (1) then one items (2) field per item message:
                its length is known from the items' lengths, so a body can
                be written as head, items, tail without joining them.
    frame       a watch event on ``;stream=watch``: a 4-byte big-endian
                length, then a WatchEvent message with no envelope: type
                (1) and object (2: a RawExtension whose raw (1) is the
                object's envelope). BOOKMARK carries the kind's object with
                only metadata.resourceVersion set; ERROR a Status, whose
                envelope is always v1/Status.
    partial     meta.k8s.io/v1 PartialObjectMetadata: {metadata (1)}. Every
                kind's message starts with ObjectMeta as field 1, so the
                partial message is that prefix of the object's message,
                except where kube-apiserver's internal form differs
                (_INTERNAL_ONLY_ANNOTATIONS).

Invariant: lengths written before content are the content's lengths; a
ListBody's chunks join to exactly ``encode_list``'s bytes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from watchcache.api.protobuf.message import NotEncodable, Plan, encode, plan, varint
from watchcache.api.protobuf.schema import KINDS

__all__ = [
    "MAGIC",
    "ListBody",
    "ProtoKind",
    "encode_list",
    "encode_object",
    "envelope",
    "kind_for",
    "list_body",
    "partial_message",
    "watch_frame",
]

MAGIC = b"k8s\x00"
_TAIL = b"\x1a\x00\x22\x00"  # contentEncoding "", contentType ""
_LIST_META = plan("meta/v1.ListMeta")
_DECODER = msgspec.json.Decoder()


@dataclass(frozen=True, slots=True)
class ProtoKind:
    """A kind that has a protobuf form: its message plan and its list's."""

    api_version: str
    kind: str
    plan: Plan

    @property
    def list_kind(self) -> str:
        return self.kind + "List"

    def message(self, obj: dict[str, Any] | bytes) -> bytes:
        """The object's own message; raises NotEncodable."""
        if isinstance(obj, bytes | bytearray | memoryview):
            obj = _DECODER.decode(obj)
        try:
            return encode(self.plan, obj)
        except (TypeError, ValueError, AttributeError, UnicodeError) as err:
            raise NotEncodable(f"{self.kind}: {err}") from err


_KINDS = {key: ProtoKind(key[0], key[1], plan(name)) for key, name in KINDS.items()}


def kind_for(api_version: str, kind: str) -> ProtoKind | None:
    """The kind's protobuf form, or None (custom resources: JSON only)."""
    return _KINDS.get((api_version, kind))


def _type_meta(api_version: str, kind: str) -> bytes:
    a, k = api_version.encode(), kind.encode()
    type_meta = b"\x0a" + varint(len(a)) + a + b"\x12" + varint(len(k)) + k
    return b"\x0a" + varint(len(type_meta)) + type_meta


def _envelope_head(api_version: str, kind: str, raw_length: int) -> bytes:
    return MAGIC + _type_meta(api_version, kind) + b"\x12" + varint(raw_length)


def envelope(api_version: str, kind: str, message: bytes) -> bytes:
    return _envelope_head(api_version, kind, len(message)) + message + _TAIL


def encode_object(kind: ProtoKind, obj: dict[str, Any] | bytes) -> bytes:
    """A GET's body; raises NotEncodable."""
    return envelope(kind.api_version, kind.kind, kind.message(obj))


# kube-apiserver makes PartialObjectMetadata from the *internal* object, whose
# conversion to v1 adds these annotations from spec fields (seen in 1.20 for a
# DaemonSet; apps/v1 conversion.go): the partial form lacks them.
_INTERNAL_ONLY_ANNOTATIONS: dict[tuple[str, str], tuple[str, ...]] = {
    ("apps/v1", "DaemonSet"): ("deprecated.daemonset.template.generation",),
    ("apps/v1", "Deployment"): ("deprecated.deployment.rollback.to",),
}
_PARTIAL = plan("meta/v1.PartialObjectMetadata")


def partial_message(kind: ProtoKind, obj: dict[str, Any], message: bytes | None = None) -> bytes:
    """PartialObjectMetadata's message for obj: the prefix of obj's message
    (field 1, its ObjectMeta) when that message is at hand and the kind's
    metadata needs no change; raises NotEncodable."""
    metadata = obj.get("metadata") or {}
    dropped = _INTERNAL_ONLY_ANNOTATIONS.get((kind.api_version, kind.kind), ())
    annotations = metadata.get("annotations") or {}
    if any(key in annotations for key in dropped):
        kept = {k: v for k, v in annotations.items() if k not in dropped}
        metadata = {**metadata, "annotations": kept}
    elif message is not None:
        return _field_one(message)
    try:
        return encode(_PARTIAL, {"metadata": metadata})
    except (TypeError, ValueError, AttributeError, UnicodeError) as err:
        raise NotEncodable(f"{kind.kind}: {err}") from err


def _field_one(message: bytes) -> bytes:
    if message[:1] != b"\x0a":
        raise NotEncodable("the message does not start with its metadata")
    length, shift, pos = 0, 0, 1
    while True:
        byte = message[pos]
        length |= (byte & 0x7F) << shift
        pos += 1
        if byte < 0x80:
            return message[: pos + length]
        shift += 7


@dataclass(frozen=True, slots=True)
class ListBody:
    """A LIST's body in parts: ``head``, then each item's field, then ``tail``."""

    head: bytes
    items: Sequence[bytes]  # item messages, each written as field 2
    tail: bytes
    length: int  # of the whole body

    def chunks(self) -> Iterator[bytes]:
        yield self.head
        for item in self.items:
            yield b"\x12" + varint(len(item))
            yield item
        yield self.tail


def list_body(
    api_version: str, list_kind: str, list_meta: dict[str, Any] | None, items: Sequence[bytes]
) -> ListBody:
    """A LIST's body from item messages; list_meta is the JSON ``metadata``;
    raises NotEncodable."""
    try:
        meta = encode(_LIST_META, list_meta or {})
    except (TypeError, ValueError, AttributeError, UnicodeError) as err:
        raise NotEncodable(f"{list_kind}: {err}") from err
    meta_field = b"\x0a" + varint(len(meta)) + meta
    length = len(meta_field)
    for item in items:
        length += 1 + len(varint(len(item))) + len(item)
    head = _envelope_head(api_version, list_kind, length) + meta_field
    return ListBody(head, items, _TAIL, len(head) + length - len(meta_field) + len(_TAIL))


def encode_list(
    kind: ProtoKind, list_meta: dict[str, Any] | None, items: Sequence[dict[str, Any] | bytes]
) -> bytes:
    """A LIST's body, joined; raises NotEncodable."""
    messages = [kind.message(item) for item in items]
    return b"".join(list_body(kind.api_version, kind.list_kind, list_meta, messages).chunks())


def watch_frame(event_type: str, object_envelope: bytes) -> bytes:
    """One ``;stream=watch`` frame: length, then WatchEvent{type, object}."""
    kind = event_type.encode()
    raw = b"\x0a" + varint(len(object_envelope)) + object_envelope
    event = b"\x0a" + varint(len(kind)) + kind + b"\x12" + varint(len(raw)) + raw
    return len(event).to_bytes(4, "big") + event
