"""``serve --workers``: broadcast and LIST throughput with 1 and 2 workers (issue 20).

One simulated kube-apiserver runs in this process (its CPU is not the
proxy's) holding ``--objects`` configmaps in one namespace. For each
worker count (1 first: the same-run baseline, then 2), a ``watchcache
serve --workers N --resources configmaps`` subprocess is started in front
of it (the counts in turn, ``--rounds`` times; each figure's best round is
compared, the baseline being 1 worker), and:

- broadcast: a client process opens ``--watchers`` watches of the
  namespace through the proxy; this process then changes one configmap
  ``--events`` times, as fast as the simulator takes it; the figure is
  deliveries (watchers times events, counted by the clients) per second,
  from the first write to the last delivery, and per CPU-second of the
  proxy's processes (the primary and every worker: /proc's utime+stime);
- LIST: ``--list-clients`` client processes each make ``--lists`` LISTs at
  resourceVersion=0 (from the cache), 8 at a time; LISTs per second and
  per proxy CPU-second;
- upstream watches: the watches the simulator holds open, by collection,
  during the broadcast (one per cached resource, whatever N).

The clients and this process share the machine's cores with the proxy,
and the machine is shared: the load average is printed beside each
figure. On two shared cores the clients take CPU the workers would use,
so the throughput ratio understates what cores of its own would give the
proxy; the "CPU-bound ceiling" line multiplies the measured efficiency
with 2 workers (per CPU-second of all its processes) by ``--cores``, the
most N workers can do with N cores, against one process's one core.

    python -m benchmarks.bench_workers [--watchers 1000] [--events 300] [--objects 500]
        [--lists 400] [--list-clients 2] [--workers 1,2] [--rounds 2] [--cores 8]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import multiprocessing as mp
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from benchmarks.bench_fanout_broadcast import CountingClient
from watchcache.api.resources import GroupVersionResource, resource_info
from watchcache.simulator.app import Simulator

NAMESPACE = "bench"
CONFIGMAPS = resource_info(GroupVersionResource("", "v1", "configmaps"))
TICK = os.sysconf("SC_CLK_TCK")


# -- the proxy's processes -------------------------------------------------------


def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()


def family(primary: int) -> list[int]:
    """The primary and its children (the workers)."""
    pids = [primary]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields is not None and int(fields[1]) == primary:
                pids.append(int(entry.name))
    return pids


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of ``pids``, in seconds."""
    total = 0
    for pid in pids:
        fields = _stat(pid)
        if fields is not None:
            total += int(fields[11]) + int(fields[12])
    return total / TICK


class Proxy:
    """``watchcache serve --workers N`` in front of the simulator."""

    def __init__(self, kubeconfig: Path, workers: int, log: Path) -> None:
        argv = [sys.executable, "-m", "watchcache", "serve", "--kubeconfig", str(kubeconfig)]
        argv += ["--resources", "configmaps", "--listen", "127.0.0.1:0", "--auth=none"]
        argv += ["--shutdown-spread", "0", "--log-level", "warning", "--workers", str(workers)]
        argv += ["--discovery-ttl", "0"]
        self.log = log
        with open(log, "w") as out:
            self.proc = subprocess.Popen(
                argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        self.url = ""

    async def ready(self) -> None:
        deadline = time.monotonic() + 120
        while not self.url:
            found = re.search(r"serving on (http://127\.0\.0\.1:\d+)", self.log.read_text())
            if found:
                self.url = found.group(1)
            elif self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(self.log.read_text())
            else:
                await asyncio.sleep(0.1)
        async with aiohttp.ClientSession() as session:
            while True:
                async with session.get(self.url + "/readyz") as response:
                    if response.status == 200:
                        return
                if time.monotonic() > deadline:
                    raise RuntimeError(self.log.read_text())
                await asyncio.sleep(0.1)

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def pids(self) -> list[int]:
        return family(self.proc.pid)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(60)


# -- watch clients (another process) -----------------------------------------------


def watch_clients(port: int, watchers: int, rv: str, expected: int, ready, finished) -> None:  # type: ignore[no-untyped-def]
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, watchers + 1024), hard))
    path = f"/api/v1/namespaces/{NAMESPACE}/configmaps?watch=1&resourceVersion={rv}"
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()

    async def go() -> None:
        loop = asyncio.get_running_loop()
        dones = []
        for _ in range(watchers):
            done: asyncio.Future[None] = loop.create_future()
            await loop.create_connection(
                functools.partial(CountingClient, request, expected, done), "127.0.0.1", port
            )
            dones.append(done)
        ready.set()
        await asyncio.wait_for(asyncio.gather(*dones), 900)
        finished.set()

    asyncio.run(go())


def list_client(url: str, lists: int, results) -> None:  # type: ignore[no-untyped-def]
    async def go() -> None:
        path = f"{url}/api/v1/namespaces/{NAMESPACE}/configmaps?resourceVersion=0"
        remaining = lists
        async with aiohttp.ClientSession() as session:

            async def one() -> None:
                nonlocal remaining
                while remaining > 0:
                    remaining -= 1
                    async with session.get(path) as response:
                        await response.read()
                        assert response.status == 200, response.status

            await asyncio.gather(*(one() for _ in range(8)))

    asyncio.run(go())
    results.put(lists)


async def until_set(event, timeout: float = 900) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while not event.is_set():
        if time.monotonic() > end:
            raise TimeoutError
        await asyncio.sleep(0.01)


# -- one worker count -----------------------------------------------------------------


@dataclass
class Figures:
    workers: int
    deliveries_per_s: float
    deliveries_per_cpu_s: float
    broadcast_load: float
    lists_per_s: float
    lists_per_cpu_s: float
    list_load: float
    upstream_watches: Counter[str]


async def measure(
    sim: Simulator, kubeconfig: Path, workers: int, args: argparse.Namespace
) -> Figures:
    with tempfile.TemporaryDirectory() as tmp:
        proxy = Proxy(kubeconfig, workers, Path(tmp) / "serve.log")
        try:
            await proxy.ready()
            return await _measure(sim, proxy, workers, args)
        finally:
            proxy.stop()
            await watches_gone(sim)


async def watches_gone(sim: Simulator) -> None:
    """Until the simulator has noticed the stopped proxy's watch end (it
    does when it next writes to it), so the next run counts its own."""
    deadline = time.monotonic() + 30
    while any(True for _ in sim.hub.watchers()) and time.monotonic() < deadline:
        touch(sim, "gone")
        await asyncio.sleep(0.1)


def touch(sim: Simulator, value: str) -> None:
    body = {"metadata": {"name": "cm-0", "namespace": NAMESPACE}, "data": {"n": value}}
    sim.verbs.update(CONFIGMAPS, NAMESPACE, "cm-0", body)


async def _measure(sim: Simulator, proxy: Proxy, workers: int, args: argparse.Namespace) -> Figures:
    listing = f"{proxy.url}/api/v1/namespaces/{NAMESPACE}/configmaps"
    async with aiohttp.ClientSession() as session, session.get(listing) as r:
        rv = str((await r.json())["metadata"]["resourceVersion"])
    ready, finished = mp.Event(), mp.Event()
    clients = mp.Process(
        target=watch_clients,
        args=(proxy.port, args.watchers, rv, args.events, ready, finished),
        daemon=True,
    )
    clients.start()
    await until_set(ready)
    await asyncio.sleep(1.0)  # the last watches registered
    pids = proxy.pids()
    cpu, began = cpu_seconds(pids), time.perf_counter()
    for i in range(args.events):
        touch(sim, str(i))
        if i % 10 == 9:
            await asyncio.sleep(0)  # the simulator's watch of the primary writes
    await until_set(finished)
    wall, used = time.perf_counter() - began, cpu_seconds(pids) - cpu
    upstream = Counter(w.coll.info.gvr.resource for w in sim.hub.watchers())
    broadcast_load = os.getloadavg()[0]
    clients.join(10)
    deliveries = args.watchers * args.events

    results: mp.Queue[int] = mp.Queue()
    listers = [
        mp.Process(target=list_client, args=(proxy.url, args.lists, results), daemon=True)
        for _ in range(args.list_clients)
    ]
    cpu, began = cpu_seconds(pids), time.perf_counter()
    for lister in listers:
        lister.start()
    done = 0
    while done < len(listers):
        while results.empty():
            await asyncio.sleep(0.01)
        results.get()
        done += 1
    list_wall, list_used = time.perf_counter() - began, cpu_seconds(pids) - cpu
    lists = args.lists * args.list_clients
    return Figures(
        workers,
        deliveries / wall,
        deliveries / used if used else float("inf"),
        broadcast_load,
        lists / list_wall,
        lists / list_used if list_used else float("inf"),
        os.getloadavg()[0],
        upstream,
    )


# -- main -----------------------------------------------------------------------------


def write_kubeconfig(path: Path, server: str) -> None:
    path.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "sim", "cluster": {"server": server}}],
                "users": [{"name": "sim", "user": {"token": "bench"}}],
                "contexts": [{"name": "sim", "context": {"cluster": "sim", "user": "sim"}}],
                "current-context": "sim",
            }
        )
    )


async def main(args: argparse.Namespace) -> None:
    sim = Simulator()
    url = await sim.start("127.0.0.1", 0)
    namespaces = resource_info(GroupVersionResource("", "v1", "namespaces"))
    sim.verbs.create(namespaces, "", {"metadata": {"name": NAMESPACE}})
    for i in range(args.objects):
        sim.verbs.create(
            CONFIGMAPS, NAMESPACE, {"metadata": {"name": f"cm-{i}"}, "data": {"n": "x" * 200}}
        )
    counts = [int(n) for n in args.workers.split(",")] * args.rounds
    with tempfile.TemporaryDirectory() as tmp:
        kubeconfig = Path(tmp) / "kubeconfig"
        write_kubeconfig(kubeconfig, url)
        figures = [await measure(sim, kubeconfig, n, args) for n in counts]
    await sim.stop()
    report(figures, args)


def best(figures: list[Figures]) -> list[Figures]:
    """Per worker count, in first-run order, each figure's best over the
    rounds: on a shared machine the least disturbed run is the one to compare."""
    by_count: dict[int, list[Figures]] = {}
    for f in figures:
        by_count.setdefault(f.workers, []).append(f)
    return [
        Figures(
            n,
            max(f.deliveries_per_s for f in runs),
            max(f.deliveries_per_cpu_s for f in runs),
            max(f.broadcast_load for f in runs),
            max(f.lists_per_s for f in runs),
            max(f.lists_per_cpu_s for f in runs),
            max(f.list_load for f in runs),
            max((f.upstream_watches for f in runs), key=lambda c: sum(c.values())),
        )
        for n, runs in by_count.items()
    ]


def report(runs: list[Figures], args: argparse.Namespace) -> None:
    for f in runs:
        print(
            f"  run workers={f.workers}: {f.deliveries_per_s:,.0f} deliveries/s, "
            f"{f.deliveries_per_cpu_s:,.0f} per CPU-s (load {f.broadcast_load:.1f}); "
            f"{f.lists_per_s:,.0f} LISTs/s, {f.lists_per_cpu_s:,.1f} per CPU-s "
            f"(load {f.list_load:.1f})"
        )
    figures = best(runs)
    base = figures[0]
    print(f"best of {args.rounds} rounds (load: the highest seen in them):")
    print(
        f"broadcast: {args.watchers} watchers x {args.events} events; "
        f"LIST: {args.objects} configmaps at RV=0, {args.list_clients} clients x {args.lists}; "
        f"{os.cpu_count()} cores"
    )
    for f in figures:
        print(
            f"  workers={f.workers}: {f.deliveries_per_s:>10,.0f} deliveries/s "
            f"({f.deliveries_per_s / base.deliveries_per_s:.2f}x) "
            f"{f.deliveries_per_cpu_s:>10,.0f} per proxy CPU-s "
            f"({f.deliveries_per_cpu_s / base.deliveries_per_cpu_s:.2f}x)  load {f.broadcast_load:.1f}"
        )
        print(
            f"             {f.lists_per_s:>10,.0f} LISTs/s ({f.lists_per_s / base.lists_per_s:.2f}x) "
            f"{f.lists_per_cpu_s:>10,.1f} per proxy CPU-s "
            f"({f.lists_per_cpu_s / base.lists_per_cpu_s:.2f}x)  load {f.list_load:.1f}"
        )
        held = ", ".join(f"{path}: {n}" for path, n in sorted(f.upstream_watches.items()))
        print(f"             upstream watches held: {held}")
    two = next((f for f in figures if f.workers == 2), None)
    if two is None:
        return
    # One process uses one core at most; N workers up to N cores, at the
    # efficiency (per CPU-second, the primary's share included) measured.
    for name, one_per_cpu, two_per_cpu in (
        ("deliveries/s", base.deliveries_per_cpu_s, two.deliveries_per_cpu_s),
        ("LISTs/s", base.lists_per_cpu_s, two.lists_per_cpu_s),
    ):
        ceiling = two_per_cpu * args.cores
        print(
            f"  CPU-bound ceiling, {args.cores} cores and {args.cores} workers: "
            f"{ceiling:,.0f} {name}, against {one_per_cpu:,.0f} for one process on its "
            f"one core ({ceiling / one_per_cpu:.1f}x)"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--watchers", type=int, default=1000)
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--objects", type=int, default=500)
    parser.add_argument("--lists", type=int, default=400)
    parser.add_argument("--list-clients", type=int, default=2)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--cores", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    asyncio.run(main(parser.parse_args()))
