"""``python -m benchmarks.loadtest.simserver``: the simulated API server
(``watchcache.simulator``) alone in a process, as an upstream for the sizes
kube-apiserver 1.20 cannot carry on this machine.

Prints ``listening on URL`` once bound, serves until SIGTERM or SIGINT.
Its own process, so its CPU is counted apart from the proxy's.
"""

from __future__ import annotations

import argparse
import asyncio
import signal

import uvloop

from watchcache.simulator import Simulator, SimulatorConfig

# Big enough that a 5,000-node run's writes stay in history while the
# proxy's reflector catches up after a burst.
HISTORY = 200_000


async def serve(port: int) -> None:
    simulator = Simulator(SimulatorConfig(history_size=HISTORY, log_size=HISTORY))
    url = await simulator.start("127.0.0.1", port)
    print(f"listening on {url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await simulator.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.loadtest.simserver")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    uvloop.run(serve(args.port))


if __name__ == "__main__":
    main()
