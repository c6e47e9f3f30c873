"""Broadcast deliveries per CPU-second, and memory per idle watcher (issue 5).

Two servers run in this process, one after the other, each with W watchers
(default 1,000) of everything, connected from a client process over
loopback:

- ceiling: a bare asyncio protocol server that writes the same pre-encoded
  1 KB event lines, 16 events joined per ``transport.write``: the fastest
  this machine can push these bytes from Python;
- watchcache: the aiohttp app with ``fanout.Registry`` and ``serve_watch``,
  the same events dispatched one by one, batched by the watchers per loop
  tick.

The figure is deliveries per CPU-second of the server process
(``time.process_time``; the clients' CPU is in another process), and the
ratio watchcache/ceiling. Then ``--idle`` watchers (default 10,000) are
opened on the watchcache server and left idle: Python heap bytes per
watcher (tracemalloc) and RSS growth per watcher are printed.

``--per-tick N`` (default 16) is how many events reach a watcher per loop
tick: the ceiling joins N per write, watchcache yields to the loop after N
dispatches. 1 is the trickle a real watch usually sees: one write per
delivery. ``--interval S`` paces the batches S seconds apart instead of
back to back (the load test's 50 events a second is 0.02 with
``--per-tick 1``), and ``--window S`` is the registry's write window
(``--watch-write-window``, fanout/coalesce.py): what coalescing a paced
stream saves. ``--tls`` serves both over TLS (a throwaway CA), as a shared
read tier in front of kube-apiserver would: each delivery is then also
encrypted for its own connection.

    python benchmarks/bench_fanout_broadcast.py [--watchers 1000] [--events 2000] [--idle 10000]
        [--per-tick 16] [--interval 0] [--window 0] [--tls]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing as mp
import resource
import ssl
import tempfile
import time
import tracemalloc
from pathlib import Path

from aiohttp import web

from watchcache.api.selectors import FieldSelector, LabelSelector
from watchcache.devcluster.pki import Pki, make_pki
from watchcache.fanout.filter import WatchFilter
from watchcache.fanout.registry import Registry
from watchcache.fanout.stream import serve_watch

# Set by main from --per-tick, --interval, --window and --tls.
BATCH = 16
INTERVAL = 0.0
WINDOW = 0.0
TLS: Pki | None = None


def server_tls() -> ssl.SSLContext | None:
    if TLS is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(TLS.serving_crt, TLS.serving_key)
    return context


def client_tls(ca_file: str | None) -> ssl.SSLContext | None:
    return ssl.create_default_context(cafile=ca_file) if ca_file else None


def raise_nofile(n: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(n, hard), hard))


class Ev:
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

    def __init__(self, rv: int, line: bytes) -> None:
        self.type, self.rv, self.namespace, self.name = "MODIFIED", rv, "default", f"p{rv}"
        self.labels: dict[str, str] = {}
        self.fields: dict[str, str] = {}
        self.prev_labels = self.labels
        self.prev_fields = self.fields
        self.uid = self.prev_uid = ""
        self._line = line

    def line(self, event_type: str) -> bytes:
        return self._line

    def deleted_line(self) -> bytes:
        return self._line


def event_line(rv: int) -> bytes:
    obj = {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {"name": f"p{rv}", "resourceVersion": str(rv)},
        "spec": {"pad": "x" * 900},
    }
    return json.dumps({"type": "MODIFIED", "object": obj}).encode() + b"\n"


# -- clients (a separate process) ---------------------------------------------


class CountingClient(asyncio.Protocol):
    def __init__(self, request: bytes, expected: int, done: asyncio.Future[None]) -> None:
        self.request, self.expected, self.done = request, expected, done
        self.lines = 0
        self.last = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.write(self.request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        # An event line ends with ``}\n``; counting every newline would also
        # count the chunk framing's and finish early by however many chunks
        # there are, flattering whichever server writes more of them.
        self.lines += data.count(b"}\n") + (self.last == b"}" and data[:1] == b"\n")
        self.last = data[-1:]
        if self.lines >= self.expected and not self.done.done():
            self.done.set_result(None)


def client_main(
    port: int,
    watchers: int,
    expected_lines: int,
    ready: mp.Event,  # type: ignore[valid-type]
    finished: mp.Event,  # type: ignore[valid-type]
    ca_file: str | None,
) -> None:
    raise_nofile(watchers + 1024)

    async def go() -> None:
        loop = asyncio.get_running_loop()
        tls = client_tls(ca_file)
        request = b"GET /watch HTTP/1.1\r\nHost: x\r\n\r\n"
        dones = []
        for _ in range(watchers):
            done: asyncio.Future[None] = loop.create_future()
            await loop.create_connection(
                lambda d=done: CountingClient(request, expected_lines, d),
                "127.0.0.1",
                port,
                ssl=tls,
            )
            dones.append(done)
        ready.set()  # type: ignore[attr-defined]
        if expected_lines:
            await asyncio.wait_for(asyncio.gather(*dones), 600)
            finished.set()  # type: ignore[attr-defined]
        else:
            await asyncio.sleep(3600)

    asyncio.run(go())


def start_clients(port: int, watchers: int, expected: int) -> tuple[mp.Process, mp.Event, mp.Event]:  # type: ignore[valid-type]
    ready, finished = mp.Event(), mp.Event()
    ca_file = str(TLS.ca_crt) if TLS else None
    proc = mp.Process(
        target=client_main,
        args=(port, watchers, expected, ready, finished, ca_file),
        daemon=True,
    )
    proc.start()
    return proc, ready, finished


async def wait_event(event: mp.Event, timeout: float = 600) -> None:  # type: ignore[valid-type]
    end = time.monotonic() + timeout
    while not event.is_set():  # type: ignore[attr-defined]
        if time.monotonic() > end:
            raise TimeoutError
        await asyncio.sleep(0.01)


# -- the ceiling: a bare protocol server ----------------------------------------


class BareWatch(asyncio.Protocol):
    peers: list[asyncio.Transport]

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if b"\r\n\r\n" in data:
            self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n")  # type: ignore[attr-defined]
            BareWatch.peers.append(self.transport)  # type: ignore[arg-type]


async def ceiling(watchers: int, lines: list[bytes]) -> float:
    BareWatch.peers = []
    loop = asyncio.get_running_loop()
    server = await loop.create_server(BareWatch, "127.0.0.1", 0, ssl=server_tls())
    port = server.sockets[0].getsockname()[1]
    proc, ready, finished = start_clients(port, watchers, len(lines))
    await wait_event(ready)
    while len(BareWatch.peers) < watchers:
        await asyncio.sleep(0.01)
    cpu = time.process_time()
    for i in range(0, len(lines), BATCH):
        chunk = b"".join(lines[i : i + BATCH])
        for peer in BareWatch.peers:
            peer.write(chunk)
        await asyncio.sleep(INTERVAL)
        while any(p.get_write_buffer_size() > 1 << 20 for p in BareWatch.peers):
            await asyncio.sleep(0.001)
    await wait_event(finished)
    used = time.process_time() - cpu
    proc.terminate()
    server.close()
    return watchers * len(lines) / used


# -- watchcache ---------------------------------------------------------------


def _no_initial_events() -> tuple[tuple[bytes, ...], int]:
    return (), 0


async def start_watchcache(registry: Registry) -> tuple[web.AppRunner, int]:
    async def handler(request: web.Request) -> web.StreamResponse:
        everything = WatchFilter(None, LabelSelector(), FieldSelector())
        return await serve_watch(request, registry, everything, _no_initial_events)

    app = web.Application()
    app.router.add_get("/watch", handler)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=4096, ssl_context=server_tls())
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]


async def watchcache(watchers: int, lines: list[bytes]) -> float:
    registry = Registry(write_window=WINDOW)
    runner, port = await start_watchcache(registry)
    proc, ready, finished = start_clients(port, watchers, len(lines))
    await wait_event(ready)
    while len(registry) < watchers:
        await asyncio.sleep(0.01)
    events = [Ev(i + 1, line) for i, line in enumerate(lines)]
    cpu = time.process_time()
    for i, event in enumerate(events):
        await registry.dispatch(event)
        if i % BATCH == BATCH - 1:
            await asyncio.sleep(INTERVAL)
    await wait_event(finished)
    used = time.process_time() - cpu
    stats = registry.statistics()
    assert stats.closed_slow == 0, "a watcher was closed as slow: the numbers would be wrong"
    print(f"  watchcache: {stats.deliveries / max(1, stats.writes):.2f} events per write")
    registry.close_all("done")
    proc.terminate()
    await runner.cleanup()
    return watchers * len(lines) / used


async def idle_memory(count: int) -> tuple[float, float]:
    registry = Registry()
    runner, port = await start_watchcache(registry)
    gc.collect()
    tracemalloc.start()
    before_heap = tracemalloc.get_traced_memory()[0]
    before_rss = _rss()
    proc, ready, _ = start_clients(port, count, 0)
    await wait_event(ready)
    while len(registry) < count:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    gc.collect()
    heap = (tracemalloc.get_traced_memory()[0] - before_heap) / count
    rss = (_rss() - before_rss) / count
    tracemalloc.stop()
    registry.close_all("done")
    proc.terminate()
    await runner.cleanup()
    return heap, rss


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


async def main(args: argparse.Namespace) -> None:
    global BATCH, INTERVAL, TLS, WINDOW
    BATCH, INTERVAL, WINDOW = args.per_tick, args.interval, args.window
    raise_nofile(max(args.watchers, args.idle) + 1024)
    lines = [event_line(i + 1) for i in range(args.events)]
    with tempfile.TemporaryDirectory() as scratch:
        TLS = make_pki(Path(scratch)) if args.tls else None
        await _measure(args, lines)


async def _measure(args: argparse.Namespace, lines: list[bytes]) -> None:
    print(
        f"{args.watchers} watchers of everything, {args.events} events of {len(lines[0])} bytes,"
        f" {BATCH} per loop tick, {'TLS' if TLS else 'plain TCP'},"
        f" {INTERVAL}s apart, write window {WINDOW}s"
    )
    top = await ceiling(args.watchers, lines)
    ours = await watchcache(args.watchers, lines)
    print(
        f"  bare asyncio server, {BATCH:>2} events per write: {top:>12,.0f} deliveries per CPU-second"
    )
    print(
        f"  watchcache fan-out (aiohttp + Registry):     {ours:>12,.0f} deliveries per CPU-second"
    )
    print(f"  ratio watchcache / ceiling: {ours / top:.2f} (target >= 0.5)")
    if args.idle:
        heap, rss = await idle_memory(args.idle)
        print(
            f"{args.idle} idle watchers: {heap / 1024:.1f} KiB Python heap and {rss / 1024:.1f} KiB RSS per watcher"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--watchers", type=int, default=1000)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--idle", type=int, default=10_000)
    parser.add_argument("--per-tick", type=int, default=16)
    parser.add_argument("--interval", type=float, default=0.0)
    parser.add_argument("--window", type=float, default=0.0)
    parser.add_argument("--tls", action="store_true")
    parser.add_argument("--no-uvloop", action="store_true")
    args = parser.parse_args()
    if not args.no_uvloop:
        import uvloop

        uvloop.install()
    asyncio.run(main(args))
