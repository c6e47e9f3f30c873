"""A cache's state on disk: written at intervals and at shutdown, read at start.

Glossary:
    state file  one resource's saved state: what it was made for (its key),
                the cache's RV, every object's raw JSON bytes as the cache
                holds them (typed, see entry.py), and the history window:
                each event's type, object and previous object, and the RV
                history answers from (``base_rv``). Loading decodes the
                bytes again with the cache's own codec, so the codec stays
                the one place that reads objects; a file never carries
                derived fields that a newer codec would read differently.
    window      with the history saved, a watcher of the previous process
                resumes from any RV that process could still answer from
                (not only from the saved RV): a rolling restart does not
                send every watcher back to relist. Older RVs get 410, as
                from a restarted kube-apiserver.
    key         what a file was made for: the format version, the upstream
                server URL, a fingerprint of the CA that upstream is
                trusted by (one URL such as https://kubernetes.default.svc
                names a different cluster in every cluster; their CAs
                differ), the resource (group, version, resource), and the
                cache settings that change the stored bytes
                (strip_managed_fields). A file whose key differs in any
                part is ignored, never loaded: its RVs mean nothing here.
    torn        a file not wholly written: short, long, or with a body whose
                checksum differs. Ignored, like a missing one.

Layout (integers little-endian)::

    b"WCSTATE\\n"                           magic, 8 bytes
    u32 n, n bytes                           header: msgpack of ``_Header``
    count x (u32 n, n bytes)                 the objects' raw bytes
    events x 3 x (u32 n, n bytes)            per event: type, object, previous
                                             object (empty when none)
    u32 crc, b"WCEND\\n\\0\\0"                 CRC-32 of everything between the
                                             magic and the crc; end marker

Length-prefixed records, so loading slices a memoryview instead of parsing
(bench_cache_persist.py: see docs/operations.md for the figures). The CRC
covers header and records; the count in the header and the end marker
right after the last record catch a file cut or extended at a record
boundary.

Crash safety: ``write_state`` writes ``<file>.tmp``, fsyncs it, renames it
over ``<file>`` and fsyncs the directory. A crash at any point leaves the
previous file or the new one, never a mix; a torn file (a disk that lies
about fsync) is detected by the checksum and ignored.

Taking the state (``capture``) is one sync step on the event loop: the RV
and lists of references to the entries' bytes, which are immutable, so
the write may run in a thread while the cache moves on.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import struct
import time
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import msgspec

from watchcache.cache.cache import Cache
from watchcache.cache.entry import Entry
from watchcache.cache.event import Event

__all__ = [
    "FORMAT_VERSION",
    "SavedEvent",
    "SavedState",
    "StateFileError",
    "StateKey",
    "ca_fingerprint",
    "capture",
    "read_state",
    "restore",
    "state_path",
    "write_state",
]

# Bump when the layout or what the records hold changes: older files are
# then ignored (a relist), never misread.
FORMAT_VERSION = 1
MAGIC = b"WCSTATE\n"
END = b"WCEND\n\0\0"
_U32 = struct.Struct("<I")
# Records handed to one writelines call: ~3.5 MB of pods, as LIST_BATCH.
_WRITE_BATCH = 500


class StateFileError(Exception):
    """A state file that cannot be loaded: missing, torn, or made for
    something else; ``reason`` is a short label for logs and counting
    (missing, torn, other-key)."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        super().__init__(detail)


@dataclass(frozen=True)
class StateKey:
    """What a state file was made for (see "key")."""

    server: str
    ca: str
    group: str
    version: str
    resource: str
    strip_managed_fields: bool = False
    format: int = FORMAT_VERSION

    def file_name(self) -> str:
        """One file per upstream and resource: two proxies sharing a
        directory by mistake do not overwrite each other's files."""
        where = hashlib.sha256(f"{self.server}\0{self.ca}".encode()).hexdigest()[:12]
        group = self.group or "core"
        return f"{group}_{self.version}_{self.resource}_{where}.state"


class _Header(msgspec.Struct, frozen=True):
    key: StateKey
    rv: int
    base_rv: int
    count: int
    events: int
    saved_at: float  # wall clock, for logs: how old the loaded state is


# An event as saved: type, object, previous object (b"" for none).
SavedEvent = tuple[str, bytes, bytes]


@dataclass(frozen=True)
class SavedState:
    rv: int
    objects: Sequence[bytes]
    # History: events after ``base_rv``, oldest first.
    base_rv: int = 0
    events: Sequence[SavedEvent] = ()
    saved_at: float = 0.0
    size: int = 0  # bytes in the file, once read


def ca_fingerprint(ca_pem: bytes | None) -> str:
    """The CA part of a key: SHA-256 of the CA bundle, "system" for the
    system's trust store."""
    return hashlib.sha256(ca_pem).hexdigest() if ca_pem else "system"


def state_path(directory: Path, key: StateKey) -> Path:
    return directory / key.file_name()


_header_encoder = msgspec.msgpack.Encoder()
_header_decoder = msgspec.msgpack.Decoder(_Header)


def capture(cache: Cache) -> SavedState:
    """The cache's RV, objects and history, in one sync step."""
    base = cache.history.oldest() - 1
    events = [
        (e.type, e.entry.raw, e.prev.raw if e.prev is not None else b"")
        for e in cache.history.since(base)
    ]
    objects = [entry.raw for entry in cache.store.entries()]
    return SavedState(cache.rv, objects, base, events, time.time())


def restore(cache: Cache, state: SavedState) -> None:
    """Make ``state`` the cache's state: decoded by the cache's codec;
    history answers from ``base_rv`` on, as it did when saved. An event's
    object and the next change's previous object are one entry, and the
    newest one the store's, as when the events were applied (history's
    byte count relies on it)."""
    entries = [cache.decode(raw) for raw in state.objects]
    cache.replace_entries(entries, state.rv)
    known: dict[tuple[str, int], Entry] = {(e.key, e.rv): e for e in entries}

    def shared(raw: bytes) -> Entry:
        entry = cache.decode(raw)
        return known.setdefault((entry.key, entry.rv), entry)

    cache.history.reset(state.base_rv)
    for event_type, raw, prev in state.events:
        entry = shared(raw)
        cache.history.append(Event(event_type, entry, shared(prev) if prev else None, entry.rv))


def write_state(path: Path, key: StateKey, state: SavedState) -> int:
    """Write the state file at ``path`` as a whole or not at all (see the
    module's crash safety); returns its size. Blocking: run it in a thread."""
    header = _header_encoder.encode(
        _Header(
            key,
            state.rv,
            state.base_rv,
            len(state.objects),
            len(state.events),
            state.saved_at,
        )
    )
    events = [part for t, obj, prev in state.events for part in (t.encode(), obj, prev)]
    tmp = path.with_name(path.name + ".tmp")
    crc = 0
    size = len(MAGIC)
    with open(tmp, "wb") as out:
        out.write(MAGIC)
        chunks = itertools.chain([_framed([header])], _batches(state.objects), _batches(events))
        for chunk in chunks:
            crc = _write(out, chunk, crc)
            size += sum(len(part) for part in chunk)
        out.write(_U32.pack(crc) + END)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)
    _fsync_directory(path.parent)
    return size + _U32.size + len(END)


def _batches(objects: Sequence[bytes]) -> Iterable[list[bytes]]:
    for start in range(0, len(objects), _WRITE_BATCH):
        yield _framed(objects[start : start + _WRITE_BATCH])


def _framed(records: Iterable[bytes]) -> list[bytes]:
    parts: list[bytes] = []
    for record in records:
        parts.append(_U32.pack(len(record)))
        parts.append(record)
    return parts


def _write(out: BinaryIO, parts: list[bytes], crc: int) -> int:
    for part in parts:
        crc = zlib.crc32(part, crc)
    out.writelines(parts)
    return crc


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_state(path: Path, key: StateKey) -> SavedState:
    """The state saved at ``path`` for ``key``; ``StateFileError`` when
    there is none, it is torn, or it was made for another key. Blocking:
    run it in a thread."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise StateFileError("missing", f"no saved state at {path}") from None
    view = memoryview(data)
    header = _read_header(view, path)
    if header.key != key:
        raise StateFileError(
            "other-key", f"{path} was saved for {_describe(header.key)}, not {_describe(key)}"
        )
    end = len(view) - _U32.size - len(END)
    (crc,) = _U32.unpack_from(view, end)
    if view[end + _U32.size :] != END or zlib.crc32(view[len(MAGIC) : end]) != crc:
        raise StateFileError("torn", f"{path} is torn (its checksum or end marker differs)")
    records = _records(view, header.count + 3 * header.events, end, path)
    objects = records[: header.count]
    flat = records[header.count :]
    events = [(flat[i].decode(), flat[i + 1], flat[i + 2]) for i in range(0, len(flat), 3)]
    return SavedState(header.rv, objects, header.base_rv, events, header.saved_at, len(data))


def _read_header(view: memoryview, path: Path) -> _Header:
    at = len(MAGIC)
    if view[:at] != MAGIC:
        raise StateFileError("torn", f"{path} is not a state file (no magic)")
    if len(view) < at + _U32.size + _U32.size + len(END):
        raise StateFileError("torn", f"{path} is torn (too short)")
    (length,) = _U32.unpack_from(view, at)
    try:
        return _header_decoder.decode(view[at + _U32.size : at + _U32.size + length])
    except (msgspec.DecodeError, msgspec.ValidationError) as err:
        # Another format version's header may not even decode.
        raise StateFileError("other-key", f"{path}: unreadable header ({err})") from None


def _records(view: memoryview, count: int, end: int, path: Path) -> list[bytes]:
    (length,) = _U32.unpack_from(view, len(MAGIC))
    at = len(MAGIC) + _U32.size + length
    objects: list[bytes] = []
    unpack = _U32.unpack_from
    for _ in range(count):
        if at + _U32.size > end:
            break
        (length,) = unpack(view, at)
        at += _U32.size
        objects.append(bytes(view[at : at + length]))
        at += length
    if len(objects) != count or at != end:
        raise StateFileError("torn", f"{path} is torn (records do not end where the file does)")
    return objects


def _describe(key: StateKey) -> str:
    group = f"{key.group}/" if key.group else ""
    strip = ", managedFields stripped" if key.strip_managed_fields else ""
    return (
        f"{group}{key.version}/{key.resource} from {key.server} "
        f"(CA {key.ca[:12]}, format {key.format}{strip})"
    )
