"""What gzip answers cost and save: a LIST of 10,000 pods from the cache,
plain and gzip with ISA-L at level 1 (the proxy's) and zlib at levels 1, 4
(kube-apiserver 1.20's, in Go) and 6 (proxy/compression.py).

The read path (``ReadPath`` over a real ``Cache``) answers over loopback
through aiohttp, in a process of its own (one listener per level over
one cache); the client, here, reads the bytes as sent (undecoded). Per
LIST: bytes on the wire, the proxy process's CPU seconds (its
compression thread included, read from /proc), wall time on loopback,
and what gunzip costs the client. Same-run baseline: the plain LIST
(Accept-Encoding: identity), interleaved with the others.

Pods are benchmarks/bench_cache_pods.py's realistic pods (~5.9 KB) with
the fields that differ between real pods made to differ here too (images,
environment values, IPs, container and image IDs): from one template
alone they compress 80 times, which no cluster's pods do.

    .venv/bin/python benchmarks/bench_compression.py [--pods 10000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
import zlib
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import aiohttp
from aiohttp import web

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_cache_pods import POD_RESOURCE, PodFactory
from watchcache.cache import Cache, CacheConfig
from watchcache.proxy.cachedresource import CachedResource
from watchcache.proxy.compression import Compression
from watchcache.proxy.context import context_middleware
from watchcache.proxy.reads import ReadPath
from watchcache.proxy.requestinfo import parse_once

PATH = "/api/v1/pods?resourceVersion=0"


def varied_pods(count: int, seed: int = 1) -> list[bytes]:
    factory = PodFactory()
    rng = random.Random(seed)
    pods = []
    for i in range(count):
        pod = json.loads(factory.pod(i, 1000 + i))
        for container in pod["spec"]["containers"]:
            container["image"] = f"registry.example.com/team/{rng.getrandbits(32):08x}:v{i % 97}"
            for env in container["env"]:
                env["value"] = f"{rng.getrandbits(64):016x}"
        pod["status"]["podIP"] = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{i % 250}"
        for status in pod["status"].get("containerStatuses", []):
            status["containerID"] = f"containerd://{rng.getrandbits(256):064x}"
            status["imageID"] = f"sha256:{rng.getrandbits(256):064x}"
        pods.append(json.dumps(pod, separators=(",", ":")).encode())
    return pods


def read_path(pods: list[bytes]) -> ReadPath:
    cache = Cache(POD_RESOURCE, CacheConfig())
    cache.replace(pods, 1000 + len(pods))
    synced = asyncio.Event()
    synced.set()
    resource = SimpleNamespace(
        info=POD_RESOURCE,
        cache=cache,
        reflector=SimpleNamespace(synced=synced),
        serve_stale=False,
        outage=lambda: None,
    )

    async def forward(request: web.Request) -> web.StreamResponse:
        raise AssertionError(f"forwarded: {request.path_qs}")

    return ReadPath({POD_RESOURCE.gvr: cast(CachedResource, resource)}, forward)


CODECS = (("isal", 1), ("zlib", 1), ("zlib", 4), ("zlib", 6))


async def serve(pods: int) -> None:
    """The proxy's side, in a process of its own so its CPU is its own: one
    listener per level over one cache; prints the ports, serves until
    killed."""
    reads = [read_path(varied_pods(pods))]
    for _ in CODECS[1:]:
        other = read_path([])
        other.caches = reads[0].caches
        reads.append(other)
    ports = []
    for path, (codec, level) in zip(reads, CODECS, strict=True):
        path.compression = Compression(level=level, codec=codec)
        app = web.Application(middlewares=[context_middleware, parse_once])
        app.router.add_route("*", "/{tail:.*}", path)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        ports.append(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
    print(" ".join(map(str, ports)), flush=True)
    await asyncio.Event().wait()


def cpu_seconds(pid: int) -> float:
    """user + system CPU of process ``pid``, its threads included."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def one_list(
    session: aiohttp.ClientSession, url: str, encoding: str, pid: int
) -> tuple[float, float, bytes]:
    """The proxy's CPU seconds, wall seconds, and the body as sent."""
    cpu, wall = cpu_seconds(pid), time.perf_counter()
    async with session.get(url + PATH, headers={"Accept-Encoding": encoding}) as r:
        assert r.status == 200, r.status
        body = await r.read()
        assert (r.headers.get("Content-Encoding") == "gzip") == (encoding == "gzip")
    # The proxy's CPU as accounted by the kernel, in clock ticks.
    return cpu_seconds(pid) - cpu, time.perf_counter() - wall, body


async def measure(pods: int, rounds: int) -> None:
    proxy = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--serve",
        "--pods",
        str(pods),
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proxy.stdout is not None
        ports = (await proxy.stdout.readline()).split()
        urls = [f"http://127.0.0.1:{int(port)}" for port in ports]
        cases = [("plain", "identity", urls[0])] + [
            (f"gzip {codec} {level}", "gzip", url)
            for (codec, level), url in zip(CODECS, urls, strict=True)
        ]
        results: dict[str, list[tuple[int, float, float, float]]] = {c[0]: [] for c in cases}
        plain = b""
        async with aiohttp.ClientSession(auto_decompress=False) as session:
            for _ in range(rounds):  # interleaved, so drift hits every case alike
                for name, encoding, url in cases:
                    cpu, wall, body = await one_list(session, url, encoding, proxy.pid)
                    decode = 0.0
                    if encoding == "identity":
                        plain = body
                    else:
                        started = time.process_time()
                        assert zlib.decompress(body, 16 + zlib.MAX_WBITS) == plain
                        decode = time.process_time() - started
                    results[name].append((len(body), cpu, wall, decode))
    finally:
        proxy.kill()
        await proxy.wait()
    report(pods, rounds, results)


def report(
    pods: int, rounds: int, results: dict[str, list[tuple[int, float, float, float]]]
) -> None:
    base_bytes = results["plain"][0][0]
    base_cpu = statistics.median(r[1] for r in results["plain"])
    print(f"LIST of {pods} pods from the cache, median of {rounds} (same-run baseline: plain)")
    print(
        "| answer | bytes sent | smaller | proxy CPU per LIST | vs plain "
        "| gzip rate (MB/s of CPU) | wall on loopback | client's gunzip CPU |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, runs in results.items():
        sent = runs[0][0]
        cpu = statistics.median(r[1] for r in runs)
        wall = statistics.median(r[2] for r in runs)
        extra = cpu - base_cpu
        rate = f"{base_bytes / extra / 1e6:.0f}" if name != "plain" and extra > 0 else "-"
        decode = statistics.median(r[3] for r in runs)
        print(
            f"| {name} | {sent / 1e6:.2f} MB | {base_bytes / sent:.1f}x | {cpu * 1000:.0f} ms "
            f"| {_ratio(cpu, base_cpu)} | {rate} | {wall * 1000:.0f} ms "
            f"| {decode * 1000:.0f} ms |"
        )


def _ratio(cpu: float, base: float) -> str:
    # A tiny list's CPU may round to no clock tick at all.
    return f"{cpu / base:.2f}x" if base else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    asyncio.run(serve(args.pods) if args.serve else measure(args.pods, args.rounds))


if __name__ == "__main__":
    main()
