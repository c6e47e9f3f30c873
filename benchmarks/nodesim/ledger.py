"""What each watcher should see, what it saw, and how late.

Glossary:
    watcher    one simulated node's pod watch, named by its node
    expected   the resourceVersions of every write to a pod on that node,
               taken from the write's response (create, patch, graceful
               delete, status, final delete: each is one watch event)
    seen       the resourceVersions the watcher received, in arrival order
    excused    RV ranges a watcher legitimately skipped: after a 410 it
               relists, and changes inside the gap arrive as list state,
               not as events

Invariants checked per watcher: RVs strictly increase (a repeat is a
duplicate, a step back is out of order); every expected RV newer than the
watcher's start and not excused is seen (else it is lost). Latency samples
come from writes that carried a ``SENT_AT`` timestamp; each keeps its send
time, so a phase's latency (``summary(phases=...)``: writes sent within
that phase's wall-clock window) can be told from another's.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Ledger", "percentiles"]


@dataclass
class WatcherRecord:
    start_rv: int = 0
    last_rv: int = 0
    seen: set[int] = field(default_factory=set)
    duplicates: int = 0
    out_of_order: int = 0
    relists: int = 0
    excused: list[tuple[int, int]] = field(default_factory=list)

    def is_excused(self, rv: int) -> bool:
        return any(low < rv <= high for low, high in self.excused)


class Ledger:
    def __init__(self) -> None:
        self.expected: dict[str, set[int]] = defaultdict(set)
        self.watchers: dict[str, WatcherRecord] = defaultdict(WatcherRecord)
        self.latencies_ns: list[int] = []
        self.sent_at_ns: list[int] = []  # parallel to latencies_ns
        self.deliveries = 0

    def expect(self, watcher: str, rv: int) -> None:
        self.expected[watcher].add(rv)

    def started(self, watcher: str, rv: int) -> None:
        record = self.watchers[watcher]
        if record.start_rv == 0:
            record.start_rv = rv
        record.last_rv = max(record.last_rv, rv)

    def relisted(self, watcher: str, from_rv: int, to_rv: int) -> None:
        record = self.watchers[watcher]
        record.relists += 1
        record.excused.append((from_rv, to_rv))
        record.last_rv = max(record.last_rv, to_rv)

    def seen(self, watcher: str, rv: int, sent_at_ns: int | None) -> None:
        arrival = time.time_ns()
        record = self.watchers[watcher]
        self.deliveries += 1
        if rv in record.seen:
            record.duplicates += 1
            return
        if rv < record.last_rv:
            record.out_of_order += 1
        record.seen.add(rv)
        record.last_rv = max(record.last_rv, rv)
        if sent_at_ns is not None:
            self.latencies_ns.append(arrival - sent_at_ns)
            self.sent_at_ns.append(sent_at_ns)

    def missing(self, watcher: str) -> list[int]:
        record = self.watchers[watcher]
        return sorted(
            rv
            for rv in self.expected[watcher]
            if rv > record.start_rv and rv not in record.seen and not record.is_excused(rv)
        )

    def outstanding(self) -> int:
        return sum(len(self.missing(w)) for w in self.expected)

    def latencies_sent_between(self, start_ns: int, end_ns: int) -> list[float]:
        """Latencies (ms) of writes sent in [start_ns, end_ns)."""
        return [
            latency / 1e6
            for latency, sent in zip(self.latencies_ns, self.sent_at_ns, strict=True)
            if start_ns <= sent < end_ns
        ]

    def summary(self, phases: dict[str, tuple[int, int]] | None = None) -> dict[str, Any]:
        """Totals; with ``phases`` (name -> wall-clock ns window) also the
        latency of the writes sent in each."""
        watchers = list(self.expected)
        by_phase = {
            name: percentiles(self.latencies_sent_between(start, end))
            for name, (start, end) in (phases or {}).items()
        }
        return {
            "watchers": len(watchers),
            "expected_events": sum(len(v) for v in self.expected.values()),
            "deliveries": self.deliveries,
            "lost": self.outstanding(),
            "duplicated": sum(r.duplicates for r in self.watchers.values()),
            "out_of_order": sum(r.out_of_order for r in self.watchers.values()),
            "relists": sum(r.relists for r in self.watchers.values()),
            "latency_ms": percentiles([n / 1e6 for n in self.latencies_ns]),
            "latency_ms_by_phase": by_phase,
        }


def percentiles(samples: list[float]) -> dict[str, float]:
    if not samples:
        return {"count": 0}
    ordered = sorted(samples)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)

    return {
        "count": len(ordered),
        "p50": at(0.50),
        "p90": at(0.90),
        "p99": at(0.99),
        "max": round(ordered[-1], 3),
    }
