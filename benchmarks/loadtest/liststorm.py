"""list storm: C clients listing every pod of a namespace, back to back.

Kinds of list (``ListPoint.kind``):
    rv0     resourceVersion=0: any recent state (kube-apiserver's watch
            cache; the proxy's cache)
    unset   no resourceVersion: a consistent read (kube-apiserver 1.20:
            etcd; the proxy: its cache after a probe of upstream's RV)
    paged   no resourceVersion, limit=500, following ``continue`` to the
            end; one "list" is all of its pages

Each client starts a new list as soon as its last one ended, until the
point's duration or its count of lists runs out. A list's latency is from
its first request to its last byte.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass
from typing import Any

import aiohttp
import msgspec

from benchmarks.loadtest.meter import Meter
from benchmarks.loadtest.progress import Progress
from benchmarks.loadtest.stack import Backend
from benchmarks.loadtest.workload import ensure_pods, open_target
from benchmarks.nodesim.ledger import percentiles
from benchmarks.nodesim.target import ApiStatusError, Target

__all__ = ["KINDS", "ListPoint", "run_liststorm"]

NAMESPACE = "lt-list"
PAGE = 500
KINDS = ("rv0", "unset", "paged")
_TIMEOUT = aiohttp.ClientTimeout(total=120)


@dataclass(frozen=True)
class ListPoint:
    kind: str
    clients: int
    pods: int
    pad: int = 6000
    duration: float = 15.0
    max_lists: int = 40


class _ListMeta(msgspec.Struct):
    resourceVersion: str = ""
    # "continue" is a Python keyword; msgspec maps the JSON name.
    next: str = msgspec.field(default="", name="continue")


class _ListHead(msgspec.Struct):
    metadata: _ListMeta


_decode_head = msgspec.json.Decoder(_ListHead).decode


async def prepare(backend: Backend, point: ListPoint, progress: Progress) -> None:
    key = f"{NAMESPACE}/{point.pods}/{point.pad}"
    if key in backend.prepared:
        return
    progress.stage(f"creating {point.pods} pods")
    async with open_target(backend.upstream) as writer:
        await ensure_pods(
            writer,
            NAMESPACE,
            point.pods,
            point.pad,
            lambda n: progress.fraction(n / point.pods),
            wait_for_token=backend.name == "apiserver",
        )
    backend.prepared.add(key)
    await asyncio.sleep(2)  # the proxy's cache catches up with the creates


async def run_liststorm(
    backend: Backend, mode: str, point: ListPoint, progress: Progress
) -> dict[str, Any]:
    await prepare(backend, point, progress)
    async with (
        open_target(backend.upstream) as admin,
        open_target(backend.endpoint(mode), connections=point.clients + 4) as client,
    ):
        await _one_list(client, point.kind)  # warm: connections, TLS sessions
        meter = Meter(
            backend,
            admin,
            profile_name=f"list-{point.kind}-C{point.clients}" if mode == "proxy" else None,
        )
        await meter.start()
        progress.stage(f"{point.clients} clients listing ({point.kind})")
        samples: list[tuple[float, int]] = []
        errors: list[str] = []
        end = time.monotonic() + point.duration
        started = time.monotonic()

        begun = 0  # lists started: a slot is taken before a list, so the cap holds

        async def client_loop() -> None:
            nonlocal begun
            while time.monotonic() < end and begun < point.max_lists:
                begun += 1
                began = time.monotonic()
                try:
                    size = await _one_list(client, point.kind)
                except (ApiStatusError, OSError, TimeoutError) as err:
                    errors.append(repr(err)[:200])
                    continue
                samples.append((time.monotonic() - began, size))
                progress.fraction(
                    max(
                        len(samples) / point.max_lists,
                        (time.monotonic() - started) / point.duration,
                    )
                )

        await asyncio.gather(*(client_loop() for _ in range(point.clients)))
        wall = time.monotonic() - started
        meter.freeze()
        cost = await meter.report()

    total_bytes = sum(size for _, size in samples)
    server = "proxy" if mode == "proxy" else "kube-apiserver"
    server_cpu = cost["cpu_seconds"].get(server, 0.0)
    return {
        "params": asdict(point),
        "lists": len(samples),
        "errors": len(errors),
        "first_errors": errors[:3],
        "lists_per_second": round(len(samples) / wall, 2),
        "latency_ms": percentiles([s * 1000 for s, _ in samples]),
        "mb_per_list": round(samples[0][1] / 1e6, 2) if samples else None,
        "mb_per_second": round(total_bytes / wall / 1e6, 1),
        "server_cpu_ms_per_list": round(server_cpu * 1000 / len(samples), 1) if samples else None,
        **cost,
    }


async def _one_list(client: Target, kind: str) -> int:
    """One whole list of the namespace's pods; its size in bytes."""
    path = f"/api/v1/namespaces/{NAMESPACE}/pods"
    if kind != "paged":
        params = {"resourceVersion": "0"} if kind == "rv0" else {}
        return await _get_size(client, path, params)
    size, token = 0, ""
    for _ in range(10_000):  # bounded: 10,000 pages is 5 million pods
        params = {"limit": str(PAGE), **({"continue": token} if token else {})}
        body = await _get(client, path, params)
        size += len(body)
        token = _decode_head(body).metadata.next
        if not token:
            break
    return size


async def _get_size(client: Target, path: str, params: dict[str, str]) -> int:
    """The size of a whole answer, counted as it arrives and not kept: the
    client's cost per byte is then what reading it costs (TLS, gunzip), not
    a copy of tens of megabytes joined, so that the client does not set the
    MB/s it measures. What a real client decodes is its own cost, the same
    through the proxy and directly."""
    async with client.session.get(path, params=params, timeout=_TIMEOUT) as resp:
        if resp.status != 200:
            body = await resp.read()
            raise ApiStatusError(resp.status, body[:300].decode(errors="replace"))
        size = 0
        async for data in resp.content.iter_any():
            size += len(data)
        return size


async def _get(client: Target, path: str, params: dict[str, str]) -> bytes:
    async with client.session.get(path, params=params, timeout=_TIMEOUT) as resp:
        body = await resp.read()
        if resp.status != 200:
            raise ApiStatusError(resp.status, body[:300].decode(errors="replace"))
        return body
