"""A JSON object to its protobuf message, byte for byte as Go's gogo code writes it.

Glossary:
    wire        protobuf's tag = number << 3 | wire type; 0 varint, 2
                length-delimited (strings, bytes, messages, map entries).
    writer      a compiled field: ``writer(value, out)`` appends the field's
                tag and the JSON value's encoding.
    plan        a message's steps in field-number order (Plan) and the JSON
                keys it knows (its inlined messages' keys included).

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
from functools import cache, lru_cache
from typing import Any

import msgspec

from watchcache.api.protobuf.schema import MESSAGES, Field, Message

__all__ = ["NotEncodable", "Plan", "encode", "plan", "varint"]

Writer = Callable[[Any, bytearray], None]  # appends a field: tag, then value

_ONE_BYTE = tuple(bytes((n,)) for n in range(128))
_MASK64 = (1 << 64) - 1
_JSON = msgspec.json.Encoder()


class NotEncodable(Exception):
    """The object has no protobuf form here: answer it as JSON."""


def varint(value: int) -> bytes:
    """Go's encodeVarint of uint64(value): a negative int32 or int64 takes 10 bytes."""
    if 0 <= value < 128:
        return _ONE_BYTE[value]
    if 0 < value < 16384:
        return bytes((value & 0x7F | 0x80, value >> 7))
    value &= _MASK64  # a negative number: its 64-bit two's complement
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _tag(number: int, wire: int) -> bytes:
    return varint(number << 3 | wire)


class Plan:
    """One message, compiled: ``encode(plan, obj)`` runs its steps.

    A step is (JSON key, bytes written when the key is absent or null,
    writer of tag and value when present); key None marks an inlined
    message, whose writer takes the parent object itself. The absent bytes
    are constants: "" for a pointer, repeated or map field; the tag and a
    zero value for others; for a non-pointer message, its empty encoding.
    ``write`` runs the steps as straight-line code generated from them
    (_generate): no loop, and no call per string or integer field, the
    most common fields.
    """

    __slots__ = ("name", "names", "steps", "write")

    def __init__(self, name: str) -> None:
        self.name = name
        self.steps: tuple[tuple[str | None, bytes, Writer], ...] = ()
        self.names: frozenset[str] = frozenset()
        self.write: Writer = _unsupported(name)

    def __repr__(self) -> str:
        return f"Plan({self.name}, {len(self.steps)} fields)"


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
    message.write(obj, out)


def _generate(message: Plan, fields: tuple[Field, ...]) -> Writer:
    """The steps as one function: a string or integer field inline, others
    through their writers."""
    names: dict[str, Any] = {"varint": varint, "NotEncodable": NotEncodable}
    lines = ["def write(obj, out):", "    get = obj.get"]
    for i, ((key, absent, writer), field) in enumerate(zip(message.steps, fields, strict=True)):
        names[f"w{i}"] = writer
        if key is None:
            lines.append(f"    w{i}(obj, out)")
            continue
        lines.append(f"    v = get({key!r})")
        if absent:
            lines.append(f"    if v is None: out += {absent!r}")
            lines.append("    else:")
        else:
            lines.append("    if v is not None:")
        tag = _tag(field.number, 0 if field.type in ("i32", "i64", "b") else 2)
        if field.shape == "" and field.type == "s":
            lines += [
                "        d = v.encode()",
                f"        out += {tag!r}",
                "        n = len(d)",
                "        if n < 128: out.append(n)",
                "        else: out += varint(n)",
                "        out += d",
            ]
        elif field.shape == "" and field.type in ("i32", "i64"):
            lines += [
                "        if type(v) is not int: raise NotEncodable(f'expected an integer: {v!r}')",
                f"        out += {tag!r}",
                "        out += varint(v)",
            ]
        else:
            lines.append(f"        w{i}(v, out)")
    exec("\n".join(lines), names)  # source built above from the schema only
    write: Writer = names["write"]
    return write


# Writers: each appends its tag, then the value.
def _length(out: bytearray, n: int) -> None:
    if n < 128:
        out.append(n)
    else:
        out += varint(n)


def _string(tag: bytes) -> Writer:
    def write(value: Any, out: bytearray) -> None:
        data = value.encode()
        out += tag
        _length(out, len(data))
        out += data

    return write


def _bytes(tag: bytes) -> Writer:
    def write(value: Any, out: bytearray) -> None:
        data = base64.b64decode(value, validate=True)
        out += tag
        _length(out, len(data))
        out += data

    return write


def _integer(tag: bytes) -> Writer:
    def write(value: Any, out: bytearray) -> None:
        if type(value) is not int:
            raise NotEncodable(f"expected an integer, got {value!r}")
        out += tag
        out += varint(value)

    return write


def _boolean(tag: bytes) -> Writer:
    def write(value: Any, out: bytearray) -> None:
        if type(value) is not bool:
            raise NotEncodable(f"expected a bool, got {value!r}")
        out += tag
        out.append(value)

    return write


_SCALAR: dict[str, tuple[int, bytes, Callable[[bytes], Writer]]] = {
    # type: (wire type, zero value's bytes, writer factory)
    "s": (2, b"\x00", _string),
    "y": (2, b"", _bytes),  # a nil []byte is not written
    "i32": (0, b"\x00", _integer),
    "i64": (0, b"\x00", _integer),
    "b": (0, b"\x00", _boolean),
}


# Special messages: the value's payload (no tag) from its JSON.
@lru_cache(maxsize=4096)  # timestamps repeat (a list's pods share seconds); bounded
def _seconds_nanos(text: str) -> tuple[int, int]:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    whole = int(moment.replace(microsecond=0).timestamp())
    return whole, moment.microsecond * 1000


def _delimited(data: bytes) -> bytes:
    return varint(len(data)) + data


def _timestamp(seconds: int, nanos: int) -> bytes:
    return _delimited(b"\x08" + varint(seconds) + b"\x10" + varint(nanos))


def _time(value: Any) -> bytes:
    seconds, _ = _seconds_nanos(value)
    return _timestamp(seconds, 0)  # Time drops the nanoseconds


def _micro_time(value: Any) -> bytes:
    return _timestamp(*_seconds_nanos(value))


def _quantity(value: Any) -> bytes:
    if type(value) is not str:
        raise NotEncodable(f"Quantity: expected a string, got {value!r}")
    data = value.encode()
    return _delimited(b"\x0a" + varint(len(data)) + data)


def _int_or_string(value: Any) -> bytes:
    if type(value) is int:
        return _delimited(b"\x08\x00\x10" + varint(value) + b"\x1a\x00")
    if type(value) is str:
        data = value.encode()
        return _delimited(b"\x08\x01\x10\x00\x1a" + varint(len(data)) + data)
    raise NotEncodable(f"IntOrString: got {value!r}")


def _raw_json(value: Any) -> bytes:
    data = _JSON.encode(value)
    return _delimited(b"\x0a" + varint(len(data)) + data)


# name: (payload of a present value, payload when absent: Go's zero value)
_SPECIAL: dict[str, tuple[Callable[[Any], bytes], bytes]] = {
    "meta/v1.Time": (_time, b"\x00"),  # a zero Time writes nothing inside
    "meta/v1.MicroTime": (_micro_time, b"\x00"),
    "resource.Quantity": (_quantity, _quantity("0")),
    "intstr.IntOrString": (_int_or_string, _int_or_string(0)),
    "meta/v1.FieldsV1": (_raw_json, b"\x00"),  # nil Raw: nothing inside
    "runtime.RawExtension": (_raw_json, b"\x00"),
}


def _special(tag: bytes, payload: Callable[[Any], bytes]) -> Writer:
    def write(value: Any, out: bytearray) -> None:
        out += tag
        out += payload(value)

    return write


def _unsupported(name: str) -> Writer:
    def write(value: Any, out: bytearray) -> None:
        raise NotEncodable(f"{name} is not rendered in protobuf here")

    return write


def _nested(tag: bytes, target: Plan, *, check: bool = True) -> Writer:
    def write(value: Any, out: bytearray) -> None:
        inner = bytearray()
        _write_message(target, value, inner, check=check)
        out += tag
        _length(out, len(inner))
        out += inner

    return write


def _element(ftype: str, number: int, plans: dict[str, Plan]) -> tuple[Writer, bytes]:
    """A writer of one value of ftype as field `number`, and the bytes a
    non-pointer field of that type writes when absent."""
    if ftype in _SCALAR:
        wire, zero, factory = _SCALAR[ftype]
        tag = _tag(number, wire)
        return factory(tag), (tag + zero if zero else b"")
    tag = _tag(number, 2)
    if ftype in _SPECIAL:
        payload, zero = _SPECIAL[ftype]
        return _special(tag, payload), tag + zero
    if ftype == "meta/v1.Duration" or MESSAGES[ftype].wraps_list:
        return _unsupported(ftype), b""
    empty = _empty(ftype)
    return _nested(tag, plans[ftype]), tag + varint(len(empty)) + empty


@cache  # one entry per message of the schema
def _empty(name: str) -> bytes:
    """The message's encoding when its JSON is {}: every non-pointer field's zero."""
    out = bytearray()
    for field in MESSAGES[name].fields:
        if field.shape or field.present_only:
            continue
        if field.type in _SCALAR:
            wire, zero, _ = _SCALAR[field.type]
            out += _tag(field.number, wire) + zero if zero else b""
        elif field.type in _SPECIAL:
            out += _tag(field.number, 2) + _SPECIAL[field.type][1]
        else:
            inner = _empty(field.type)
            out += _tag(field.number, 2) + varint(len(inner)) + inner
    return bytes(out)


def _step(field: Field, plans: dict[str, Plan]) -> tuple[str | None, bytes, Writer]:
    tag = _tag(field.number, 2)
    if field.inline:
        return None, b"", _nested(tag, plans[field.type], check=False)
    if field.shape == "{":
        value, absent = _element(field.type, 2, plans)  # an entry: key 1, value 2
        return field.json, b"", _map(field.json, tag, value, absent)
    element, absent = _element(field.type, field.number, plans)
    if field.shape == "[":
        return field.json, b"", _repeated(field.json, element, absent)
    return field.json, (b"" if field.present_only else absent), element


def _repeated(key: str, element: Writer, absent: bytes) -> Writer:
    def write(values: Any, out: bytearray) -> None:
        if type(values) is not list:
            raise NotEncodable(f"{key}: expected a list")
        for value in values:
            if value is None:  # Go decodes a null element to its zero value
                out += absent
            else:
                element(value, out)

    return write


def _map(key: str, tag: bytes, value_writer: Writer, absent: bytes) -> Writer:
    def write(mapping: Any, out: bytearray) -> None:
        if type(mapping) is not dict:
            raise NotEncodable(f"{key}: expected an object")
        for name in sorted(mapping):
            value = mapping[name]
            data = name.encode()
            entry = bytearray(b"\x0a")
            _length(entry, len(data))
            entry += data
            if value is None:
                entry += absent  # nothing for a nil []byte
            else:
                value_writer(value, entry)
            out += tag
            _length(out, len(entry))
            out += entry

    return write


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
        plans[name].steps = tuple(_step(f, plans) for f in message.fields)
        plans[name].names = _names(message)
        plans[name].write = _generate(plans[name], message.fields)
    return plans


_PLANS = _compile()


def plan(name: str) -> Plan:
    return _PLANS[name]
