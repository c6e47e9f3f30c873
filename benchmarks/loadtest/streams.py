"""Many cheap watch clients, and the check of what each one saw.

A load generator that decodes every event fully spends more CPU than the
server it measures. A ``WatchStream`` decodes only what the check needs
(the event type, ``metadata.resourceVersion`` and the writer's
``SENT_AT`` annotation) with a msgspec schema that skips the rest, and
stores the RVs it saw in a compact array.

Glossary:
    expected   the RVs of the writes every watcher should see (from the
               writes' responses), all newer than the watch's start RV
    seen       the RVs a watcher received, in arrival order
    lost       expected, not seen
    duplicated seen more than once
    out of order  seen after a higher RV
    unexpected seen but not written by the writer (e.g. another client's
               write in the same namespace); reported, not an error
"""

from __future__ import annotations

import asyncio
import time
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import msgspec

from benchmarks.nodesim.objects import SENT_AT
from benchmarks.nodesim.target import ApiStatusError, Target

__all__ = ["StreamCheck", "WatchStream", "check_stream"]


class _Meta(msgspec.Struct):
    resourceVersion: str = "0"
    annotations: dict[str, str] | None = None


class _Object(msgspec.Struct):
    metadata: _Meta


class _Event(msgspec.Struct):
    type: str
    object: _Object


_decode = msgspec.json.Decoder(_Event).decode


@dataclass(frozen=True)
class StreamCheck:
    lost: int
    duplicated: int
    out_of_order: int
    unexpected: int


def check_stream(expected: Iterable[int], start_rv: int, seen: Sequence[int]) -> StreamCheck:
    """What one watcher got wrong, against the writes made after its start."""
    wanted = {rv for rv in expected if rv > start_rv}
    got: set[int] = set()
    duplicated = out_of_order = 0
    highest = start_rv
    for rv in seen:
        if rv in got:
            duplicated += 1
            continue
        if rv < highest:
            out_of_order += 1
        got.add(rv)
        highest = max(highest, rv)
    return StreamCheck(len(wanted - got), duplicated, out_of_order, len(got - wanted))


class WatchStream:
    """One watch: opened from ``start_rv``, read until cancelled or ended.

    ``latencies_ms`` is shared by all the streams of a run: each event that
    carries a ``SENT_AT`` stamp adds arrival minus stamp to it.
    """

    def __init__(self, target: Target, path: str, start_rv: int, latencies_ms: array[float]):
        self.target = target
        self.path = path
        self.start_rv = start_rv
        self.seen: array[int] = array("q")
        self.latencies_ms = latencies_ms
        self.connected = asyncio.Event()
        self.error: str | None = None
        self.last_arrival = 0.0  # time.monotonic() of the last event

    def __repr__(self) -> str:
        return f"<WatchStream {self.path} from {self.start_rv}: {len(self.seen)} events>"

    async def run(self, timeout_seconds: int) -> None:
        params = {
            "watch": "true",
            "resourceVersion": str(self.start_rv),
            "timeoutSeconds": str(timeout_seconds),
        }
        try:
            async with self.target.session.get(self.path, params=params) as resp:
                if resp.status != 200:
                    raise ApiStatusError(resp.status, await resp.text())
                self.connected.set()
                rest = b""
                async for chunk in resp.content.iter_any():
                    lines = (rest + chunk).split(b"\n")
                    rest = lines.pop()
                    self._on_lines(lines)
        except (TimeoutError, ApiStatusError, OSError) as err:
            self.error = repr(err)
            self.connected.set()

    def _on_lines(self, lines: list[bytes]) -> None:
        now_ns = time.time_ns()
        for line in lines:
            if not line.strip():
                continue
            event = _decode(line)
            if event.type in ("BOOKMARK", "ERROR"):
                if event.type == "ERROR":
                    self.error = line[:300].decode(errors="replace")
                continue
            meta = event.object.metadata
            self.seen.append(int(meta.resourceVersion))
            stamp = (meta.annotations or {}).get(SENT_AT)
            if stamp is not None:
                self.latencies_ms.append((now_ns - int(stamp)) / 1e6)
        self.last_arrival = time.monotonic()
