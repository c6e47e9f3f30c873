"""Test doubles for the fan-out: a sink that can stall, events, selectors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass, field


class FakeSink:
    """A transport that records each write; ``stalled`` makes written bytes
    stay 'in the buffer', and ``unstall`` tells its protocol, as asyncio's
    flow control does (``resume_writing``)."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.stalled = False
        self.closing = False
        self.protocol: asyncio.BaseProtocol | None = None
        self._held = 0

    def write(self, data: bytes) -> None:
        self.chunks.append(data)
        if self.stalled:
            self._held += len(data)

    def get_write_buffer_size(self) -> int:
        return self._held

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def abort(self) -> None:
        self.closing = True

    def get_extra_info(self, name: str, default: object = None) -> object:
        return default

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self.protocol = protocol

    def unstall(self) -> None:
        self.stalled = False
        self._held = 0
        if isinstance(self.protocol, asyncio.Protocol):
            self.protocol.resume_writing()

    def lines(self) -> list[dict[str, object]]:
        """Decode the chunk framing back into watch events."""
        out = []
        stream = b"".join(self.chunks)
        while stream:
            size, _, rest = stream.partition(b"\r\n")
            body, end, stream = (
                rest[: int(size, 16)],
                rest[int(size, 16) : int(size, 16) + 2],
                rest[int(size, 16) + 2 :],
            )
            assert end == b"\r\n", "bad chunk framing"
            out += [json.loads(line) for line in body.splitlines() if line]
        return out


@dataclass(frozen=True)
class EqSelector:
    """key=value requirements (a stand-in for watchcache.api selectors)."""

    required: Mapping[str, str] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.required

    def matches(self, values: Mapping[str, str]) -> bool:
        return all(values.get(k) == v for k, v in self.required.items())

    def exact(self, key: str) -> str | None:
        return self.required.get(key)


@dataclass
class Obj:
    namespace: str
    name: str
    labels: dict[str, str]
    node: str = ""
    uid: str = ""

    def fields(self) -> dict[str, str]:
        return {
            "metadata.name": self.name,
            "metadata.namespace": self.namespace,
            "spec.nodeName": self.node,
        }

    def as_json(self, rv: int) -> dict[str, object]:
        return {
            "metadata": {
                "namespace": self.namespace,
                "name": self.name,
                "labels": self.labels,
                "resourceVersion": str(rv),
            },
            "spec": {"nodeName": self.node},
        }


@dataclass
class Event:
    type: str
    rv: int
    obj: Obj
    prev: Obj | None = None

    @property
    def namespace(self) -> str:
        return self.obj.namespace

    @property
    def name(self) -> str:
        return self.obj.name

    @property
    def labels(self) -> Mapping[str, str]:
        return self.obj.labels

    @property
    def fields(self) -> Mapping[str, str]:
        return self.obj.fields()

    @property
    def prev_labels(self) -> Mapping[str, str] | None:
        return self.prev.labels if self.prev else None

    @property
    def uid(self) -> str:
        return self.obj.uid

    @property
    def prev_uid(self) -> str:
        return self.prev.uid if self.prev else ""

    @property
    def prev_fields(self) -> Mapping[str, str] | None:
        return self.prev.fields() if self.prev else None

    def line(self, event_type: str) -> bytes:
        return (
            json.dumps({"type": event_type, "object": self.obj.as_json(self.rv)}).encode() + b"\n"
        )

    def deleted_line(self) -> bytes:
        assert self.prev is not None
        return (
            json.dumps({"type": "DELETED", "object": self.prev.as_json(self.rv)}).encode() + b"\n"
        )


def bookmark(rv: int) -> bytes:
    return (
        json.dumps(
            {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": str(rv)}}}
        ).encode()
        + b"\n"
    )
