"""The generator's own event-loop lag.

A generator too busy to read its sockets makes a fast server look slow. A
task asks to sleep ``interval`` and records how much later it woke; the
report carries the distribution next to the server's latencies, so a high
p99 with a high lag is read as the generator's fault, not the server's.
"""

from __future__ import annotations

import asyncio

from benchmarks.nodesim.ledger import percentiles

__all__ = ["LagMonitor"]


class LagMonitor:
    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.samples_ms: list[float] = []

    async def run(self, duration: float) -> None:
        loop = asyncio.get_running_loop()
        end = loop.time() + duration
        while loop.time() < end:
            before = loop.time()
            await asyncio.sleep(self.interval)
            self.samples_ms.append((loop.time() - before - self.interval) * 1000)

    def summary(self) -> dict[str, float]:
        return percentiles(self.samples_ms)
