"""How far a reflector falls behind when upstream misbehaves (issue 14, item 3).

Two scenarios against the simulator, with configmaps written at ``--rate``
per second throughout and each write timed from the moment it is made to
the moment the reflector hands it on (what a watcher of the proxy sees):

    cuts       the watch is cut ``--cuts`` times, ``--every`` seconds apart,
               as a flapping load balancer or apiserver restarts would
    refusals   every ``--every`` seconds the watch is cut and the next two
               watch requests are refused, one with 429 and one with 503,
               both with Retry-After: 1, for ``--trouble`` seconds

For each: the delivery delay (p50, max) and how many writes the cache was
behind when the trouble ended. The baseline in the same run is the delivery
delay with no trouble at all. Run it once per version to compare (e.g.
PYTHONPATH=<old checkout>/src for the code before a change).

    python benchmarks/bench_reflector_recovery.py [--rate 20] [--cuts 6] [--every 3]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script
from benchmarks.bench_proxy_latency import percentile
from watchcache.api.resources import GroupVersionResource, resource_info
from watchcache.cache.cache import Cache
from watchcache.cache.event import Event
from watchcache.cache.reflector import Reflector, ReflectorConfig
from watchcache.simulator.app import Simulator
from watchcache.upstream import UpstreamClient, UpstreamConfig

CONFIGMAPS = resource_info(GroupVersionResource("", "v1", "configmaps"))


class Run:
    """A simulator, a reflector following its configmaps, and a writer."""

    def __init__(self, sim: Simulator, client: UpstreamClient, rate: float) -> None:
        self.sim = sim
        self.rate = rate
        self.written: dict[int, float] = {}  # rv -> when written
        self.delays: list[float] = []
        self.cache = Cache(CONFIGMAPS)

        async def delivered(event: Event) -> None:
            made = self.written.pop(event.rv, None)
            if made is not None:
                self.delays.append(time.monotonic() - made)

        self.reflector = Reflector(
            client,
            "/api/v1/configmaps",
            self.cache,
            config=ReflectorConfig(watch_list=False),
            on_event=delivered,
        )

    def behind(self) -> int:
        return len(self.written)

    async def write_forever(self) -> None:
        i = 0
        while True:
            i += 1
            body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{i}"}}
            created = self.sim.verbs.create(CONFIGMAPS, "default", body)
            self.written[created.rv] = time.monotonic()
            await asyncio.sleep(1 / self.rate)


async def scenario(name: str, rate: float, trouble: object) -> None:
    async with Simulator() as sim, UpstreamClient(UpstreamConfig(sim.url)) as client:
        run = Run(sim, client, rate)
        reflecting = asyncio.create_task(run.reflector.run())
        await asyncio.wait_for(run.reflector.synced.wait(), 10)
        writing = asyncio.create_task(run.write_forever())
        await trouble(run)  # type: ignore[operator]
        behind = run.behind()
        ended = time.monotonic()
        while run.behind() > 1 and time.monotonic() - ended < 60:
            await asyncio.sleep(0.05)
        caught_up = time.monotonic() - ended
        writing.cancel()
        run.reflector.stop()
        await asyncio.gather(reflecting, writing, return_exceptions=True)
    delays = sorted(run.delays)
    print(
        f"{name:<34} writes {len(delays):>5}  delay p50 {percentile(delays, 0.5):6.2f}s  "
        f"max {delays[-1]:6.2f}s  behind at the end {behind:>4}  caught up {caught_up:5.1f}s later"
    )


def quiet(seconds: float):  # type: ignore[no-untyped-def]
    async def trouble(run: Run) -> None:
        await asyncio.sleep(seconds)

    return trouble


def cuts(count: int, every: float):  # type: ignore[no-untyped-def]
    async def trouble(run: Run) -> None:
        for _ in range(count):
            await asyncio.sleep(every)
            run.sim.faults.cut_watches()
        await asyncio.sleep(0.1)

    return trouble


def refusals(seconds: float, every: float):  # type: ignore[no-untyped-def]
    async def trouble(run: Run) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            await asyncio.sleep(every)
            run.sim.faults.fail_next(1, 429, retry_after=1)
            run.sim.faults.fail_next(1, 503, retry_after=1)
            run.sim.faults.cut_watches()

    return trouble


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--cuts", type=int, default=6)
    parser.add_argument("--every", type=float, default=3.0)
    parser.add_argument("--trouble", type=float, default=25.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    import watchcache

    print(
        f"watchcache from {Path(watchcache.__file__).parent}; {args.rate:.0f} writes/s", flush=True
    )
    await scenario("baseline: no trouble", args.rate, quiet(args.every * args.cuts))
    await scenario(
        f"{args.cuts} cuts {args.every:.0f}s apart", args.rate, cuts(args.cuts, args.every)
    )
    await scenario(
        f"429+503 every {args.every:.0f}s for {args.trouble:.0f}s",
        args.rate,
        refusals(args.trouble, args.every),
    )


if __name__ == "__main__":
    asyncio.run(main())
