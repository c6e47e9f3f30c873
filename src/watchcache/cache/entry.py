"""One cached object: its bytes as received, and what the cache reads from it.

Glossary:
    raw          the object's JSON bytes, always *typed*: they begin with
                 ``{"kind":K,"apiVersion":A,`` exactly as kube-apiserver
                 serialises a GET or a watch event. Served as is, never
                 re-encoded. Allocated in a size class (allocator.py),
                 the previous version's while it fits: ``spare``
    item_offset  where the list-item form starts: a list item is ``{`` plus
                 ``raw[item_offset:]``. Built-in kinds' list items carry no
                 kind/apiVersion, so for them the offset skips the typed
                 prefix; custom resources keep it (offset 1). One int per
                 entry instead of a second copy of the bytes.
    key          ``namespace/name``, or ``name`` when cluster-scoped; the
                 order of every list.
    fields       every field-selector label of the kind -> its value, as
                 ``watchcache.api.resources.field_values`` renders it: the
                 default when the object leaves it unset or empty, bools as
                 true/false, and the few labels kube-apiserver reads
                 elsewhere (pods' status.podIP from status.podIPs[0]) derived
                 the same way (``_DERIVED``).

Decoding happens once, on the way in (``EntryCodec.decode``): one msgspec
pass over a struct made for the kind that names only the fields the cache
reads, so msgspec skips the rest of the object without building it. An
object that does not fit that struct (a null ``spec``, a field of another
JSON type) is decoded again by slower, more permissive means, never
refused. The
struct's strings are fresh objects, never views into the input, and ``raw``
is a copy: nothing here keeps the upstream read buffer alive (a
``msgspec.Raw`` view would keep the whole buffer).

Transforms run before the cache stores an object. The built-in one strips
``metadata.managedFields`` (off by default: clients see what upstream sent).
A custom ``transform`` maps bytes to bytes before decoding; it pays for its
own parsing.

Bytes that are not an object as kube-apiserver writes one (not JSON, not an
object, a resourceVersion that is not a uint64) raise ``MalformedObject``,
and nothing else does: a caller that catches it (the reflector) cannot
mistake a bug of ours, or an error raised by a ``transform``, for upstream's
answer being wrong.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from operator import attrgetter
from typing import Any

import lz4.block  # type: ignore[import-untyped]
import msgspec

from watchcache.api.strconv import NumError, parse_uint64
from watchcache.cache.allocator import kept

__all__ = [
    "Entry",
    "EntryCodec",
    "MalformedObject",
    "Transform",
    "object_key",
    "parse_resource_version",
]

Transform = Callable[[bytes], bytes]


class Entry(msgspec.Struct, gc=False, frozen=True):
    """A decoded object. Immutable: an update makes a new entry, so a
    history event or a list in progress may keep the old one."""

    key: str
    namespace: str
    uid: str
    rv: int
    labels: Mapping[str, str]
    fields: Mapping[str, str]
    raw: bytes
    item_offset: int
    # raw's protobuf message (watchcache.api.protobuf), made on the first
    # protobuf read of this version and kept, as kube-apiserver's
    # cachingObject keeps a serialization, packed as an LZ4 delta against
    # raw (``proto`` unpacks it): its strings are raw's, so it takes ~0.1 of
    # its size (a 7.8 KB pod's 6.5 KB message: ~0.6 KB) for ~2 us per read.
    # b"" when raw has none that is exact. The one field filled after
    # construction (``keep_message``): a memo derived from raw, so the
    # entry stays immutable in meaning.
    packed_proto: bytes | None = None
    # Bytes raw was allocated with beyond its length (its size class,
    # allocator.py): the object's next version is allocated as large while
    # it fits, so that each fits the memory the other leaves. 0: allocated
    # exactly. The version's, kept by its packed and unpacked copies.
    spare: int = 0

    @property
    def proto(self) -> bytes | None:
        """The kept protobuf message; None before it was made, b"" when
        there is no exact one."""
        packed = self.packed_proto
        if not packed:
            return packed
        unpacked: bytes = lz4.block.decompress(packed, dict=self.raw)
        return unpacked

    @property
    def name(self) -> str:
        # Derived, not stored: a second copy of every name would cost ~1%
        # of the memory budget (bench_cache_memory.py).
        return self.key[len(self.namespace) + 1 :] if self.namespace else self.key

    def sharing(self, older: Entry) -> Entry:
        """This entry holding ``older``'s key, uid, labels and fields
        wherever they are equal, so that the versions history keeps hold
        them once (~0.4 KB a pod version, bench_proxy_memory.py)."""
        if self.key != older.key or self.key is older.key:
            return self  # another object's, or decoded sharing it already
        key, uid, labels, fields = _shared(older, self.uid, self.labels, self.fields)
        return msgspec.structs.replace(self, key=key, uid=uid, labels=labels, fields=fields)

    def item_chunks(self) -> tuple[bytes, memoryview]:
        """The list-item form as two chunks, to write without a copy."""
        return b"{", memoryview(self.raw)[self.item_offset :]

    def item_bytes(self) -> bytes:
        """The list-item form (copies; prefer ``item_chunks`` on hot paths)."""
        return b"{" + self.raw[self.item_offset :]

    def keep_message(self, message: bytes) -> None:
        """Keep ``message`` as ``proto`` (once; equal values if two readers
        race)."""
        _set_packed_proto(self, lz4.block.compress(message, dict=self.raw) if message else b"")


# A frozen struct refuses setattr; the field's slot descriptor does not.
_set_packed_proto = Entry.__dict__["packed_proto"].__set__


class MalformedObject(Exception):
    """Upstream sent bytes that are not what kube-apiserver writes: not
    JSON, not an object or watch line, or a resourceVersion that is not a
    uint64. Its own type, not a ValueError, so that no other error raised
    on the way (a bug, a transform's) is taken for it."""

    def __init__(self, what: str, data: bytes) -> None:
        excerpt = bytes(data[:120]).decode("utf-8", "replace")
        super().__init__(f"{what}: {excerpt!r}")


# 19 digits are always below 2**64: such an RV needs no range check.
_SHORT_RV = 19


def parse_resource_version(text: str, data: bytes = b"") -> int:
    """An RV upstream sent, read as kube-apiserver reads one
    (``strconv.ParseUint``): no sign, space or underscore, which ``int()``
    would accept. ``MalformedObject`` (quoting ``data``) otherwise."""
    if len(text) <= _SHORT_RV and text.isascii() and text.isdigit():
        return int(text)  # the common case, without parse_uint64's regex
    try:
        return parse_uint64(text)
    except NumError as err:
        raise MalformedObject(f"a resourceVersion that is not a uint64 ({err})", data) from None


def object_key(namespace: str, name: str) -> str:
    """The storage key: what lists are ordered by (kube-apiserver 1.34+)."""
    return f"{namespace}/{name}" if namespace else name


_EMPTY: Mapping[str, str] = {}


def _shared(
    older: Entry, uid: str, labels: Mapping[str, str], fields: Mapping[str, str]
) -> tuple[str, str, Mapping[str, str], Mapping[str, str]]:
    """A new version's key, uid, labels and fields, each ``older``'s own
    object where equal (the key always is: same object)."""
    return (
        older.key,
        older.uid if uid == older.uid else uid,
        older.labels if labels == older.labels else labels,
        older.fields if fields == older.fields else fields,
    )


class EntryCodec:
    """Decodes one kind's objects into entries.

    ``field_defaults`` is the kind's field-selector table (path -> default).
    ``builtin`` decides the list-item form (see ``item_offset``).
    ``kind``/``api_version`` type objects that arrive untyped (built-in list
    items); an object that carries its own kind/apiVersion keeps them.
    """

    def __init__(
        self,
        *,
        kind: str,
        api_version: str,
        namespaced: bool,
        field_defaults: Mapping[str, str],
        builtin: bool,
        strip_managed_fields: bool = False,
        transform: Transform | None = None,
    ) -> None:
        self._namespaced = namespaced
        self._builtin = builtin
        self._strip_managed = strip_managed_fields
        self._transform = transform
        self._with_namespace = "metadata.namespace" in field_defaults
        self._prefix = _typed_prefix(kind, api_version)
        self._plan, self._paths = _field_plan(kind if builtin else "", field_defaults)
        # One C call reads every field: attrgetter over always-present
        # nested structs (see _shape), instead of a Python loop per path.
        self._getter = attrgetter(*(_attr_path(p) for p in self._paths)) if self._paths else None
        self._decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(
            _shape(self._paths, strip_managed_fields, nullable=False)
        )
        self._null_decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(
            _shape(self._paths, strip_managed_fields, nullable=True)
        )
        self._meta_decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(
            _shape((), strip_managed_fields, nullable=True)
        )

    def decode(self, data: bytes, previous: Callable[[str], Entry | None] | None = None) -> Entry:
        """Decode ``data`` (one object, typed or not) into an entry, its raw
        bytes kept in their size class (allocator.py). ``previous`` gives
        the version of the object it replaces, if any: the entry keeps that
        one's size class while it fits, and is ``sharing`` it.

        Raises ``MalformedObject`` for bytes that are not an object.
        """
        if self._transform is not None:
            data = self._transform(data)
        try:
            obj, generic = self._decode(data)
        except msgspec.DecodeError as err:
            raise MalformedObject(f"not an object ({err})", data) from None
        meta = obj.metadata
        if self._strip_managed and len(meta.managedFields):
            data = _strip_managed_fields(data, bytes(meta.managedFields))
        raw, prefix_len = self._typed(data, obj.kind, obj.apiVersion)
        namespace = sys.intern(meta.namespace) if self._namespaced else ""
        key = object_key(namespace, meta.name)
        uid = meta.uid
        labels = _shared_labels(meta.labels)
        fields: Mapping[str, str] = self._field_values(obj, generic, namespace, meta.name)
        older = previous(key) if previous is not None else None
        if older is None:
            raw, spare = kept(raw)
        else:
            # ``sharing``, without making the entry twice.
            key, uid, labels, fields = _shared(older, uid, labels, fields)
            raw, spare = kept(raw, len(older.raw) + older.spare)
        return Entry(
            key=key,
            namespace=namespace,
            uid=uid,
            rv=parse_resource_version(meta.resourceVersion, data) if meta.resourceVersion else 0,
            labels=labels,
            fields=fields,
            raw=raw,
            item_offset=prefix_len if self._builtin else 1,
            spare=spare,
        )

    def _typed(self, data: bytes, kind: str, api_version: str) -> tuple[bytes, int]:
        """The typed bytes and the length of their ``{"kind":..,`` prefix."""
        if data.startswith(self._prefix):
            return bytes(data), len(self._prefix)
        if not kind and not api_version:
            return self._prefix + data[data.index(b"{") + 1 :], len(self._prefix)
        own = _typed_prefix(kind, api_version)
        if data.startswith(own):
            return bytes(data), len(own)
        return _retype(data, kind, api_version)

    def _decode(self, data: bytes) -> tuple[Any, Any]:
        """The decoded shape, and a generic decode when fields must be read
        from that instead (a field of an unexpected JSON type)."""
        try:
            return self._decoder.decode(data), None
        except msgspec.ValidationError:
            pass
        try:
            # e.g. "spec": null, which the fast shape does not allow.
            return self._null_decoder.decode(data), None
        except msgspec.ValidationError:
            return self._meta_decoder.decode(data), msgspec.json.decode(data)

    def _field_values(self, obj: Any, generic: Any, namespace: str, name: str) -> dict[str, str]:
        values = {"metadata.name": name}
        if self._with_namespace:
            values["metadata.namespace"] = namespace
        if self._getter is None:
            return values
        if generic is not None:
            read = tuple(_dict_path(generic, path) for path in self._paths)
        else:
            try:
                read = self._getter(obj)
                if len(self._paths) == 1:
                    read = (read,)
            except AttributeError:  # a null part (the fallback decoder's shape)
                read = tuple(_read_path(obj, path) for path in self._paths)
        for label, default, at, derive in self._plan:
            value = read[at] if derive is None else derive(*(read[i] for i in at))
            if type(value) is str:
                values[label] = sys.intern(value) if value else default
            else:
                values[label] = _field_string(value, default)
        return values


def _first_ip(ips: object) -> object:
    # kube-apiserver reads status.podIPs[0].ip, never status.podIP.
    if isinstance(ips, list) and ips and isinstance(ips[0], dict):
        return ips[0].get("ip")
    return None


def _component_or_reporting(component: object, reporting: object) -> object:
    return component or reporting


Derive = Callable[..., object]

# Field labels whose value is not at their own dotted path: (built-in kind,
# label) -> (the paths read, how the value follows from them). The
# reference is watchcache.api.resources.field_values; test_entry.py checks
# this codec agrees with it for every built-in kind.
_DERIVED: Mapping[tuple[str, str], tuple[tuple[str, ...], Derive]] = {
    ("Pod", "status.podIP"): (("status.podIPs",), _first_ip),
    ("Event", "source"): (("source.component", "reportingComponent"), _component_or_reporting),
}

_Step = tuple[str, str, Any, Derive | None]


def _field_plan(kind: str, defaults: Mapping[str, str]) -> tuple[list[_Step], tuple[str, ...]]:
    """For each label beyond metadata.name/namespace: its default, where its
    inputs sit among the paths decoded, and how to derive it; and those
    paths."""
    paths: list[str] = []

    def at(path: str) -> int:
        if path not in paths:
            paths.append(path)
        return paths.index(path)

    plan: list[_Step] = []
    for label, default in defaults.items():
        if _is_key_field(label):
            continue
        derived = _DERIVED.get((kind, label))
        if derived is None:
            plan.append((label, default, at(label), None))
        else:
            sources, derive = derived
            plan.append((label, default, tuple(at(p) for p in sources), derive))
    return plan, tuple(paths)


def _shared_labels(labels: dict[str, str] | None) -> Mapping[str, str]:
    """Labels with interned strings: replicas share keys and most values
    (app, tier, pod-template-hash), which saves ~300 bytes per pod, 5% of
    the memory budget (bench_cache_memory.py)."""
    if not labels:
        return _EMPTY
    intern = sys.intern
    return {intern(k): intern(v) for k, v in labels.items()}


def _is_key_field(path: str) -> bool:
    return path in ("metadata.name", "metadata.namespace")


def _typed_prefix(kind: str, api_version: str) -> bytes:
    enc = msgspec.json.encode
    return b'{"kind":' + enc(kind) + b',"apiVersion":' + enc(api_version) + b","


def _retype(data: bytes, kind: str, api_version: str) -> tuple[bytes, int]:
    """Slow path for objects not serialised kind-first (never seen from
    kube-apiserver): re-encode once so the typed prefix leads."""
    obj = msgspec.json.decode(data)
    obj.pop("kind", None)
    obj.pop("apiVersion", None)
    prefix = _typed_prefix(kind, api_version)
    body = msgspec.json.encode(obj)
    return prefix + body[1:] if body != b"{}" else prefix[:-1] + b"}", len(prefix)


def _strip_managed_fields(data: bytes, value: bytes) -> bytes:
    """Cut ``"managedFields":<value>`` and one adjacent comma out of
    ``data``, found by its exact bytes; re-encodes when not compact."""
    needle = b'"managedFields":' + value
    at = data.find(needle)
    if at < 0:
        obj = msgspec.json.decode(data)
        obj.get("metadata", {}).pop("managedFields", None)
        return msgspec.json.encode(obj)
    end = at + len(needle)
    if data[at - 1 : at] == b",":
        return data[: at - 1] + data[end:]
    if data[end : end + 1] == b",":
        end += 1
    return data[:at] + data[end:]


def _field_string(value: object, default: str) -> str:
    if value is None or value == "":
        return default
    # kube-apiserver's field sets format bools as "true"/"false".
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _read_path(obj: Any, path: str) -> object:
    node = obj
    for part in path.split("."):
        node = getattr(node, _attr(part), None)
    return node


def _dict_path(obj: Any, path: str) -> object:
    node = obj
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _attr_path(path: str) -> str:
    return ".".join(_attr(part) for part in path.split("."))


def _attr(part: str) -> str:
    return "f_" + part


def _shape(paths: tuple[str, ...], with_managed: bool, *, nullable: bool) -> type:
    """The msgspec struct that reads just what the cache needs. Not
    ``nullable``: nested parts default to empty structs, so every field
    path exists (an explicit JSON null there fails validation)."""
    meta_fields: list[tuple[str, Any, Any]] = [
        ("name", str, ""),
        ("namespace", str, ""),
        ("uid", str, ""),
        ("resourceVersion", str, ""),
        ("labels", dict[str, str] | None, None),
    ]
    if with_managed:
        meta_fields.append(("managedFields", msgspec.Raw, msgspec.Raw()))
    meta = msgspec.defstruct("Meta", meta_fields)
    tree: dict[str, Any] = {}
    for path in paths:
        node = tree
        for part in path.split("."):
            node = node.setdefault(part, {})
    top: list[tuple[str, Any, Any]] = [
        ("kind", str, ""),
        ("apiVersion", str, ""),
        ("metadata", meta, msgspec.field(default_factory=meta)),
    ]
    tree.pop("metadata", None)  # metadata.* beyond name/namespace: not supported by kube either
    return msgspec.defstruct("Shape", top + _tree_fields(tree, nullable), rename=_json_name)


def _tree_fields(tree: Mapping[str, Any], nullable: bool) -> list[tuple[str, Any, Any]]:
    out: list[tuple[str, Any, Any]] = []
    for part, sub in tree.items():
        if not sub:
            out.append((_attr(part), Any, None))
            continue
        nested = msgspec.defstruct("Part", _tree_fields(sub, nullable), rename=_json_name)
        if nullable:
            out.append((_attr(part), nested | None, None))
        else:
            out.append((_attr(part), nested, msgspec.field(default_factory=nested)))
    return out


def _json_name(attr: str) -> str:
    return attr[2:] if attr.startswith("f_") else attr
