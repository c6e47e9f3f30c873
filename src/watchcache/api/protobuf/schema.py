"""The protobuf schemas of Kubernetes' built-in kinds, as lookup tables.

Parses schema_data.py (written by scripts/gen-protoschema.py from the
release's generated.proto files and Go structs) into Message and Field
values, and names the top-level kinds.

Glossary:
    message name   ``package.Message``, e.g. ``core/v1.Pod``,
                   ``meta/v1.ObjectMeta``; packages as schema_data names them.
    kind           a top-level object with an apiVersion, e.g. ("v1", "Pod");
                   its list kind is the message ``<Kind>List`` of the same
                   package whose ``items`` repeat it.
    present_only   the Go field is a pointer (or a []byte): gogo writes it
                   only when set, where a non-pointer field is written even
                   when zero. In JSON terms: written iff the key is there and
                   not null.
    inline         the field's message is spread into its parent's JSON
                   object (``json:",inline"``), though protobuf nests it.
    special        a message whose JSON form is not an object: Time and
                   MicroTime (RFC 3339 strings), Quantity (a string),
                   IntOrString (a number or a string), FieldsV1 and
                   RawExtension (any JSON value, carried as its bytes).

Invariants: a message's fields are in field-number order, the order gogo
writes them; every message a field names is in MESSAGES (a test checks).
"""

from __future__ import annotations

from dataclasses import dataclass

from watchcache.api.protobuf.schema_data import PACKAGES, RELEASE

__all__ = ["KINDS", "MESSAGES", "RELEASE", "SCALARS", "SPECIAL", "Field", "Message"]

SCALARS = frozenset({"s", "i32", "i64", "b", "y"})
SPECIAL = frozenset(
    {
        "meta/v1.Time",
        "meta/v1.MicroTime",
        "meta/v1.FieldsV1",
        "meta/v1.Duration",
        "resource.Quantity",
        "intstr.IntOrString",
        "runtime.RawExtension",
    }
)


@dataclass(frozen=True, slots=True)
class Field:
    json: str
    number: int
    shape: str  # "" singular, "[" repeated, "{" map from string
    type: str  # a SCALARS code or a message name
    present_only: bool
    inline: bool


@dataclass(frozen=True, slots=True)
class Message:
    name: str
    fields: tuple[Field, ...]
    wraps_list: bool  # a Go slice type (``type Verbs []string``); JSON is a list


def _parse_field(word: str, package: str) -> Field:
    json_name, _, rest = word.partition("=")
    number, _, ftype = rest.partition(":")
    shape = ftype[0] if ftype[0] in "[{" else ""
    ftype = ftype[len(shape) :]
    flags = ftype[len(ftype.rstrip("*^")) :]
    ftype = ftype.rstrip("*^")
    if ftype not in SCALARS and "." not in ftype:
        ftype = f"{package}.{ftype}"
    return Field(json_name, int(number), shape, ftype, "*" in flags, "^" in flags)


def _parse() -> tuple[dict[str, Message], dict[tuple[str, str], str]]:
    messages: dict[str, Message] = {}
    kinds: dict[tuple[str, str], str] = {}
    for package, (api_version, text) in PACKAGES.items():
        for line in text.split("\n"):
            if not line:
                continue
            head, *words = line.split(" ")
            name, _, marker = head.partition("@")
            fields = tuple(_parse_field(word, package) for word in words)
            full = f"{package}.{name}"
            messages[full] = Message(full, fields, marker == "list")
        if api_version:
            for full, message in messages.items():
                if full.startswith(package + ".") and full.endswith("List"):
                    items = [f for f in message.fields if f.json == "items" and f.shape == "["]
                    if items and items[0].type == full.removesuffix("List"):
                        kinds[(api_version, items[0].type.rpartition(".")[2])] = items[0].type
    # Status is "unversioned": every group writes it as v1, kind Status.
    kinds[("v1", "Status")] = "meta/v1.Status"
    return messages, kinds


MESSAGES, KINDS = _parse()
