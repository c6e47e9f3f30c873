"""Dispatch cost per event as non-matching watchers grow (issue 5).

N watchers each select one node's pods (fieldSelector spec.nodeName=node-i);
every event is a pod on node-0, so exactly one watcher matches. With the
trigger index, the cost per event should stay flat as N grows; the same run
measures the cost without the index (every watcher in one bucket, as a
naive registry would scan) as the baseline.

Prints microseconds per event and the ratio to N=100. Sinks discard bytes,
so this is the registry's and the filter's cost alone, not the socket's.

    python benchmarks/bench_fanout_dispatch.py [--events 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from watchcache.api.selectors import FieldSelector, LabelSelector
from watchcache.fanout.filter import WatchFilter
from watchcache.fanout.registry import Registry
from watchcache.fanout.watcher import Watcher


class NullSink:
    def write(self, data: bytes) -> None:
        pass

    def close(self) -> None:
        pass

    abort = close

    def get_extra_info(self, name: str, default: object = None) -> object:
        return default

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0

    def is_closing(self) -> bool:
        return False


class PodEvent:
    """A pre-encoded event, as the cache will hand them to the fan-out."""

    __slots__ = (
        "_line",
        "fields",
        "labels",
        "name",
        "namespace",
        "prev_fields",
        "prev_labels",
        "prev_uid",
        "rv",
        "type",
        "uid",
    )

    def __init__(self, rv: int) -> None:
        self.type = "MODIFIED"
        self.rv = rv
        self.namespace = "default"
        self.name = f"pod-{rv % 1000}"
        self.labels = {"app": "x"}
        self.fields = {
            "metadata.name": self.name,
            "metadata.namespace": "default",
            "spec.nodeName": "node-0",
        }
        self.prev_labels = self.labels
        self.prev_fields = self.fields
        self.uid = self.prev_uid = ""
        self._line = (
            json.dumps({"type": "MODIFIED", "object": {"metadata": {"name": self.name}}}).encode()
            + b"\n"
        )

    def line(self, event_type: str) -> bytes:
        return self._line

    def deleted_line(self) -> bytes:
        return self._line


async def measure(watchers: int, events: int, indexed: bool) -> float:
    registry = Registry(trigger_field="spec.nodeName" if indexed else None)
    for i in range(watchers):
        registry.add(
            Watcher(
                NullSink(),
                WatchFilter(None, LabelSelector(), FieldSelector.parse(f"spec.nodeName=node-{i}")),
                0,
            )
        )
    batch = [PodEvent(rv) for rv in range(1, events + 1)]
    start = time.process_time()
    for event in batch:
        await registry.dispatch(event)
        if event.rv % 256 == 0:
            await asyncio.sleep(0)  # let the batched flushes run, as a live loop would
    elapsed = time.process_time() - start
    return elapsed / events * 1e6


async def main(events: int) -> None:
    print(
        f"{'watchers':>9} {'indexed us/event':>17} {'ratio to 100':>13} {'scan us/event':>14} {'scan/indexed':>13}"
    )
    base = None
    for n in (100, 1_000, 10_000):
        indexed = await measure(n, events, indexed=True)
        scan = await measure(n, max(200, events // (n // 100)), indexed=False)
        base = base or indexed
        print(
            f"{n:>9} {indexed:>17.2f} {indexed / base:>13.2f} {scan:>14.1f} {scan / indexed:>13.0f}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=20_000)
    asyncio.run(main(parser.parse_args().events))
