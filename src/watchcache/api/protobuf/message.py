"""A JSON object to its protobuf message, byte for byte as Go's gogo code writes it.

Glossary:
    wire        protobuf's tag = number << 3 | wire type; 0 varint, 2
                length-delimited (strings, bytes, messages, map entries).
    writer      a compiled field: ``writer(obj, out)`` appends the field's
                bytes (tag and value, or nothing) for the JSON object obj.
    plan        a message's writers in field-number order and the JSON keys
                it knows (its inlined messages' keys included).

Go's rules, which byte equality depends on (k8s.io/api generated.pb.go):
    - fields in field-number order; a non-pointer field is written even
      when zero ("" as a zero-length string, 0, false, an empty message),
      a pointer or []byte only when set; repeated scalars unpacked, one tag
      each; negative integers as 10-byte two's complement varints.
    - map entries sorted by key (bytewise: Python's order on str), each as
      key (1) and value (2); a []byte value only when not nil.
    - Time: Timestamp{seconds, nanos=0}, nothing when zero; MicroTime keeps
      the nanoseconds; Quantity: its canonical string (the JSON's, which
      kube-apiserver also wrote canonical); IntOrString: type, intVal,
      strVal, all three; FieldsV1 and RawExtension: the JSON value's bytes.
    - JSON null is absent; an absent non-pointer field decodes in Go to its
      zero value, which is then written.

Invariant: ``encode`` writes exactly what kube-apiserver writes for the same
object, or raises NotEncodable (a JSON key the schema lacks, a value of the
wrong type, a message this module does not render): never a message that
would decode to a different object.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from typing import Any

import msgspec

from watchcache.api.protobuf.schema import MESSAGES, SCALARS, Field, Message

__all__ = ["NotEncodable", "Plan", "encode", "plan", "varint"]

Writer = Callable[[dict[str, Any], bytearray], None]
Payload = Callable[[Any, bytearray], None]  # appends a value without its tag

_ONE_BYTE = tuple(bytes((n,)) for n in range(128))
_MASK64 = (1 << 64) - 1
_JSON = msgspec.json.Encoder()


class NotEncodable(Exception):
    """The object has no protobuf form here: answer it as JSON."""


def varint(value: int) -> bytes:
    if 0 <= value < 128:
        return _ONE_BYTE[value]
    value &= _MASK64
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _tag(number: int, wire: int) -> bytes:
    return varint(number << 3 | wire)


class Plan:
    """One message, compiled: ``encode(plan, obj)`` runs its writers."""

    __slots__ = ("name", "names", "writers")

    def __init__(self, name: str) -> None:
        self.name = name
        self.writers: tuple[Writer, ...] = ()
        self.names: frozenset[str] = frozenset()

    def __repr__(self) -> str:
        return f"Plan({self.name}, {len(self.writers)} fields)"


def encode(message: Plan, obj: Any) -> bytes:
    out = bytearray()
    _write_message(message, obj, out, check=True)
    return bytes(out)


def _write_message(message: Plan, obj: Any, out: bytearray, *, check: bool) -> None:
    if type(obj) is not dict:
        raise NotEncodable(f"{message.name}: expected an object, got {type(obj).__name__}")
    if check and not obj.keys() <= message.names:
        unknown = sorted(set(obj) - message.names)
        raise NotEncodable(f"{message.name}: fields not in the schema: {unknown}")
    for writer in message.writers:
        writer(obj, out)


# Scalars: (wire type, zero value, payload writer).
def _string(value: Any, out: bytearray) -> None:
    data = value.encode()
    out += varint(len(data))
    out += data


def _bytes(value: Any, out: bytearray) -> None:
    data = base64.b64decode(value, validate=True)
    out += varint(len(data))
    out += data


def _integer(value: Any, out: bytearray) -> None:
    if type(value) is not int:
        raise NotEncodable(f"expected an integer, got {value!r}")
    out += varint(value)


def _boolean(value: Any, out: bytearray) -> None:
    if type(value) is not bool:
        raise NotEncodable(f"expected a bool, got {value!r}")
    out += _ONE_BYTE[value]


_SCALAR: dict[str, tuple[int, Any, Payload]] = {
    "s": (2, "", _string),
    "y": (2, None, _bytes),
    "i32": (0, 0, _integer),
    "i64": (0, 0, _integer),
    "b": (0, False, _boolean),
}


# Special messages: payload writers that take the JSON value (None: zero).
def _delimited(data: bytes, out: bytearray) -> None:
    out += varint(len(data))
    out += data


@lru_cache(maxsize=4096)  # timestamps repeat (a list's pods share seconds); bounded
def _seconds_nanos(text: str) -> tuple[int, int]:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    whole = int(moment.replace(microsecond=0).timestamp())
    return whole, moment.microsecond * 1000


def _timestamp(seconds: int, nanos: int) -> bytes:
    return b"\x08" + varint(seconds) + b"\x10" + varint(nanos)


def _time(value: Any, out: bytearray) -> None:
    if value is None:
        out += b"\x00"
        return
    seconds, _ = _seconds_nanos(value)
    _delimited(_timestamp(seconds, 0), out)  # Time drops the nanoseconds


def _micro_time(value: Any, out: bytearray) -> None:
    if value is None:
        out += b"\x00"
        return
    _delimited(_timestamp(*_seconds_nanos(value)), out)


def _quantity(value: Any, out: bytearray) -> None:
    text = "0" if value is None else value
    if type(text) is not str:
        raise NotEncodable(f"Quantity: expected a string, got {value!r}")
    data = text.encode()
    _delimited(b"\x0a" + varint(len(data)) + data, out)


def _int_or_string(value: Any, out: bytearray) -> None:
    if value is None or type(value) is int:
        _delimited(b"\x08\x00\x10" + varint(value or 0) + b"\x1a\x00", out)
    elif type(value) is str:
        data = value.encode()
        _delimited(b"\x08\x01\x10\x00\x1a" + varint(len(data)) + data, out)
    else:
        raise NotEncodable(f"IntOrString: got {value!r}")


def _raw_json(value: Any, out: bytearray) -> None:
    if value is None:  # Go's Raw stays nil: nothing inside
        out += b"\x00"
        return
    data = _JSON.encode(value)
    _delimited(b"\x0a" + varint(len(data)) + data, out)


_SPECIAL: dict[str, Payload] = {
    "meta/v1.Time": _time,
    "meta/v1.MicroTime": _micro_time,
    "resource.Quantity": _quantity,
    "intstr.IntOrString": _int_or_string,
    "meta/v1.FieldsV1": _raw_json,
    "runtime.RawExtension": _raw_json,
}


def _unsupported(name: str) -> Payload:
    def payload(value: Any, out: bytearray) -> None:
        raise NotEncodable(f"{name} is not rendered in protobuf here")

    return payload


def _message_payload(target: Plan) -> Payload:
    def payload(value: Any, out: bytearray) -> None:
        inner = bytearray()
        _write_message(target, {} if value is None else value, inner, check=True)
        out += varint(len(inner))
        out += inner

    return payload


def _payload(ftype: str, plans: dict[str, Plan]) -> tuple[int, Any, Payload]:
    """(wire type, the value a non-pointer field writes when absent, writer)."""
    if ftype in SCALARS:
        return _SCALAR[ftype]
    if ftype in _SPECIAL:
        return 2, None, _SPECIAL[ftype]
    if ftype == "meta/v1.Duration" or MESSAGES[ftype].wraps_list:
        return 2, None, _unsupported(ftype)
    return 2, None, _message_payload(plans[ftype])


def _writer(field: Field, plans: dict[str, Plan]) -> Writer:
    wire, zero, payload = _payload(field.type, plans)
    tag, key = _tag(field.number, wire), field.json
    if field.inline:
        target = plans[field.type]

        def inline(obj: dict[str, Any], out: bytearray) -> None:
            inner = bytearray()
            _write_message(target, obj, inner, check=False)
            out += tag
            out += varint(len(inner))
            out += inner

        return inline
    if field.shape == "[":
        return _repeated(key, tag, payload)
    if field.shape == "{":
        return _map(key, tag, zero, payload)
    present_only = field.present_only

    def singular(obj: dict[str, Any], out: bytearray) -> None:
        value = obj.get(key)
        if value is None:
            if present_only:
                return
            value = zero
        out += tag
        payload(value, out)

    return singular


def _repeated(key: str, tag: bytes, payload: Payload) -> Writer:
    def repeated(obj: dict[str, Any], out: bytearray) -> None:
        values = obj.get(key)
        if values is None:
            return
        if type(values) is not list:
            raise NotEncodable(f"{key}: expected a list")
        for value in values:
            out += tag
            payload(value, out)

    return repeated


def _map(key: str, tag: bytes, zero: Any, payload: Payload) -> Writer:
    def entries(obj: dict[str, Any], out: bytearray) -> None:
        mapping = obj.get(key)
        if mapping is None:
            return
        if type(mapping) is not dict:
            raise NotEncodable(f"{key}: expected an object")
        for name in sorted(mapping):
            value = mapping[name]
            entry = bytearray(b"\x0a")
            _string(name, entry)
            if value is None:
                value = zero
            if value is not None:  # None stays only for a []byte: nil, not written
                entry += b"\x12"
                payload(value, entry)
            out += tag
            out += varint(len(entry))
            out += entry

    return entries


def _names(message: Message) -> frozenset[str]:
    names = {f.json for f in message.fields if not f.inline}
    for f in message.fields:
        if f.inline:
            names |= _names(MESSAGES[f.type])
    if any(f.json == "metadata" and f.number == 1 for f in message.fields):
        names |= {"apiVersion", "kind"}  # TypeMeta: JSON only
    return frozenset(names)


def _compile() -> dict[str, Plan]:
    plans = {name: Plan(name) for name in MESSAGES}
    for name, message in MESSAGES.items():
        plans[name].writers = tuple(_writer(f, plans) for f in message.fields)
        plans[name].names = _names(message)
    return plans


_PLANS = _compile()


def plan(name: str) -> Plan:
    return _PLANS[name]
