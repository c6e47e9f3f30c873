"""Request bodies in kube's protobuf encoding, for the kinds whose schemas
are small enough to carry here: Namespace, ConfigMap, Secret.

Why: kubectl 1.3x sends its typed generators' bodies (``kubectl create
namespace``, ``create configmap``, ``create secret``) as
``application/vnd.kubernetes.protobuf``, and client-go does not fall back to
JSON on a 415. Other kinds' protobuf bodies still answer 415.

Glossary:
    envelope   ``k8s\\x00`` then a runtime.Unknown message: typeMeta (1:
               apiVersion 1, kind 2), raw (2: the object's own message),
               contentEncoding (3), contentType (4).
    wire       protobuf's tag = field << 3 | type; type 0 varint, 1 64-bit,
               2 length-delimited, 5 32-bit. Maps are repeated entries of
               key (1) and value (2).

Invariant: ``decode`` returns the object as its JSON form would decode, or
raises ApiError 415 (unknown kind) or 400 (malformed bytes).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

from watchcache.api import status

__all__ = ["PROTOBUF", "decode"]

PROTOBUF = "application/vnd.kubernetes.protobuf"
_MAGIC = b"k8s\x00"

Field = tuple[int, int, Any]  # (number, wire type, value: int or bytes)


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if pos >= len(data):
            raise status.bad_request("protobuf: truncated varint")
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos += 1
        if byte < 0x80:
            return value, pos
        shift += 7


def _fields(data: bytes) -> Iterator[Field]:
    pos = 0
    while pos < len(data):
        tag, pos = _varint(data, pos)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            value, pos = _varint(data, pos)
            yield number, wire, value
        elif wire == 2:
            length, pos = _varint(data, pos)
            yield number, wire, data[pos : pos + length]
            pos += length
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            yield number, wire, data[pos : pos + size]
            pos += size
        else:
            raise status.bad_request(f"protobuf: unsupported wire type {wire}")


def _map_entry(data: bytes) -> tuple[str, bytes]:
    key, value = "", b""
    for number, _, raw in _fields(data):
        if number == 1:
            key = raw.decode()
        elif number == 2:
            value = raw
    return key, value


# ObjectMeta fields a client sets (the rest are the server's).
_META_STRINGS = {1: "name", 2: "generateName", 3: "namespace"}


def _object_meta(data: bytes) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    for number, _, raw in _fields(data):
        if number in _META_STRINGS and raw:
            # gogo-protobuf writes empty strings too; JSON would omit them.
            meta[_META_STRINGS[number]] = raw.decode()
        elif number in (11, 12):
            key, value = _map_entry(raw)
            meta.setdefault("labels" if number == 11 else "annotations", {})[key] = value.decode()
        elif number == 14:
            meta.setdefault("finalizers", []).append(raw.decode())
    return meta


def _namespace(raw: bytes) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for number, _, value in _fields(raw):
        if number == 1:
            obj["metadata"] = _object_meta(value)
    return obj


def _configmap(raw: bytes) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for number, wire, value in _fields(raw):
        if number == 1:
            obj["metadata"] = _object_meta(value)
        elif number == 2:
            key, text = _map_entry(value)
            obj.setdefault("data", {})[key] = text.decode()
        elif number == 3:
            key, blob = _map_entry(value)
            obj.setdefault("binaryData", {})[key] = base64.b64encode(blob).decode()
        elif number == 4 and wire == 0:
            obj["immutable"] = bool(value)
    return obj


def _secret(raw: bytes) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for number, wire, value in _fields(raw):
        if number == 1:
            obj["metadata"] = _object_meta(value)
        elif number in (2, 4):
            key, blob = _map_entry(value)
            if number == 2:
                obj.setdefault("data", {})[key] = base64.b64encode(blob).decode()
            else:
                obj.setdefault("stringData", {})[key] = blob.decode()
        elif number == 3:
            obj["type"] = value.decode()
        elif number == 5 and wire == 0:
            obj["immutable"] = bool(value)
    return obj


# Honest about what the simulator reads: protobuf only for _DECODERS' kinds.
_ACCEPTED = ("application/json",)

_DECODERS = {"Namespace": _namespace, "ConfigMap": _configmap, "Secret": _secret}


def decode(body: bytes) -> dict[str, Any]:
    if not body.startswith(_MAGIC):
        raise status.bad_request("protobuf: the body lacks kube's k8s\\x00 prefix")
    api_version, kind, raw = "", "", b""
    for number, _, value in _fields(body[len(_MAGIC) :]):
        if number == 1:
            for part, _, text in _fields(value):
                if part == 1:
                    api_version = text.decode()
                elif part == 2:
                    kind = text.decode()
        elif number == 2:
            raw = value
    decoder = _DECODERS.get(kind)
    if decoder is None:
        raise status.unsupported_media_type(_ACCEPTED)
    return {"kind": kind, "apiVersion": api_version, **decoder(raw)}
