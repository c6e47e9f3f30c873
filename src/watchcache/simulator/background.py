"""The simulator on a thread of its own, for synchronous tests.

A controller's tests that use the official ``kubernetes`` client or run
kubectl block their thread; the simulator then needs its own event loop.

Glossary:
    call   run a function on the simulator's loop and wait for its result:
           how a test injects a fault or seeds objects without racing the
           requests the loop is serving.

Invariant: everything that touches the Simulator runs on its loop thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import TypeVar

from watchcache.simulator.app import Simulator, SimulatorConfig

__all__ = ["BackgroundSimulator"]

T = TypeVar("T")

# How long start, stop and a call may take before the test is told.
TIMEOUT_SECONDS = 30.0


class BackgroundSimulator:
    """``with BackgroundSimulator() as sim: ... sim.url ... sim.call(...)``"""

    def __init__(
        self, config: SimulatorConfig | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.host = host
        self.port = port
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="watchcache-simulator", daemon=True
        )
        self.simulator = Simulator(config)
        self.url = ""

    def start(self) -> str:
        self.thread.start()
        started = asyncio.run_coroutine_threadsafe(
            self.simulator.start(self.host, self.port), self.loop
        )
        self.url = started.result(TIMEOUT_SECONDS)
        return self.url

    def call(self, fn: Callable[[Simulator], T]) -> T:
        async def run() -> T:
            return fn(self.simulator)

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(TIMEOUT_SECONDS)

    def stop(self) -> None:
        # 1. stop serving (cuts watches); 2. stop the loop; 3. join the thread.
        asyncio.run_coroutine_threadsafe(self.simulator.stop(), self.loop).result(TIMEOUT_SECONDS)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(TIMEOUT_SECONDS)
        self.loop.close()

    def __enter__(self) -> BackgroundSimulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"BackgroundSimulator({self.url or 'not started'})"
