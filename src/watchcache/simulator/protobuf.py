"""Request bodies in kube's protobuf encoding, decoded to the JSON the same
object would have been sent as, for the kinds in protoschema.KINDS.

Why: kubectl 1.3x sends its typed generators' bodies (``kubectl create
deployment|service|job|configmap|secret|namespace|role|...``) as
``application/vnd.kubernetes.protobuf``, and client-go does not fall back to
JSON on a 415 (seen with kubectl 1.32: the command fails). Other kinds'
protobuf bodies still answer 415.

Glossary:
    envelope   ``k8s\\x00`` then a runtime.Unknown message: typeMeta (1:
               apiVersion 1, kind 2), raw (2: the object's own message),
               contentEncoding (3), contentType (4).
    wire       protobuf's tag = field << 3 | type; type 0 varint, 1 64-bit,
               2 length-delimited, 5 32-bit. Maps are repeated entries of
               key (1) and value (2).
    schema     protoschema.MESSAGES: per message, field number -> JSON name
               and type.

Invariant: ``decode`` returns the object as its JSON form would decode, or
raises ApiError 415 (a kind without a schema) or 400 (malformed bytes, or a
set field the schema lacks: dropping it would change the object).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from watchcache.api import status
from watchcache.simulator.protoschema import KINDS, MESSAGES, SPECIAL, Field

__all__ = ["PROTOBUF", "decode"]

PROTOBUF = "application/vnd.kubernetes.protobuf"
_MAGIC = b"k8s\x00"

Wire = tuple[int, int, Any]  # (number, wire type, value: int or bytes)


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


def _fields(data: bytes) -> Iterator[Wire]:
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


def _signed(value: int) -> int:
    """Go writes a negative int32 or int64 as a 10-byte two's complement."""
    return value - (1 << 64) if value >= 1 << 63 else value


def _time(data: bytes) -> str | None:
    seconds = 0
    for number, _, value in _fields(data):
        if number == 1:
            seconds = _signed(value)
    if seconds == 0:
        return None  # a zero Time: JSON null, which a create ignores
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _int_or_string(data: bytes) -> int | str:
    is_string, number_value, text = 0, 0, ""
    for number, _, value in _fields(data):
        if number == 1:
            is_string = value
        elif number == 2:
            number_value = _signed(value)
        elif number == 3:
            text = value.decode()
    return text if is_string else number_value


def _quantity(data: bytes) -> str:
    return "".join(value.decode() for number, _, value in _fields(data) if number == 1)


def _special(message: str, data: bytes) -> Any:
    if message == "Time":
        return _time(data)
    if message == "IntOrString":
        return _int_or_string(data)
    return _quantity(data)


def _map_entry(data: bytes, value_type: str) -> tuple[str, Any]:
    key: str = ""
    value: Any = b""
    for number, _, raw in _fields(data):
        if number == 1:
            key = raw.decode()
        elif number == 2:
            value = raw
    if value_type == "{bytes}":
        return key, base64.b64encode(value).decode()
    if value_type == "{Quantity}":
        return key, _quantity(value)
    return key, value.decode()


def _scalar(spec: Field, wire: int, value: Any) -> Any:
    if spec.type == "i":
        return _signed(value) if wire == 0 else value
    if spec.type == "b":
        return bool(value)
    if spec.type == "bytes":
        return base64.b64encode(value).decode()
    if spec.type in SPECIAL:
        return _special(spec.type, value)
    if spec.type in MESSAGES:
        return _message(spec.type, value)
    return value.decode()


def _is_zero(value: Any) -> bool:
    return not isinstance(value, dict) and value in ("", 0, False, None)


def _message(message: str, data: bytes) -> dict[str, Any]:
    schema = MESSAGES[message]
    obj: dict[str, Any] = {}
    for number, wire, value in _fields(data):
        spec = schema.get(number)
        if spec is None:
            _check_unknown(message, number, value)
        elif spec.type == "_":
            continue
        elif spec.type.startswith("{"):
            key, item = _map_entry(value, spec.type)
            obj.setdefault(spec.name, {})[key] = item
        elif spec.repeated and spec.type == "i" and wire == 2:
            obj.setdefault(spec.name, []).extend(_packed(value))
        elif spec.repeated:
            obj.setdefault(spec.name, []).append(_scalar(spec, wire, value))
        elif spec.inline:
            obj.update(_message(spec.type, value))
        else:
            decoded = _scalar(spec, wire, value)
            if spec.keep_zero or not _is_zero(decoded):
                obj[spec.name] = decoded
            else:
                obj.pop(spec.name, None)
    return obj


def _packed(data: bytes) -> list[int]:
    values, pos = [], 0
    while pos < len(data):
        value, pos = _varint(data, pos)
        values.append(_signed(value))
    return values


def _check_unknown(message: str, number: int, value: Any) -> None:
    """gogo writes every non-pointer field, so a zero one we do not know is
    harmless; a set one we would drop, and silently dropping it would lie."""
    if value in (0, b""):
        return
    raise status.bad_request(
        f"protobuf: field {number} of {message} is not one the simulator decodes; "
        "send this object as JSON"
    )


# Honest about what the simulator reads: protobuf only for KINDS.
_ACCEPTED = ("application/json",)


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
    if kind not in KINDS:
        raise status.unsupported_media_type(_ACCEPTED)
    return {"kind": kind, "apiVersion": api_version, **_message(kind, raw)}
