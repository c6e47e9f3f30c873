"""Protobuf encoding of cached pods: throughput, and what keeping it costs.

For N distinct 5.9 KB pods (bench_cache_pods.PodFactory, managedFields
included), measures in one run:

    encode       JSON object -> protobuf message (watchcache.api.protobuf),
                 pods/s and MB/s of JSON in and protobuf out
    decode+encode  the same from the JSON bytes (what a cache holding bytes
                 pays on an object's first protobuf request)
    baseline     msgspec JSON encode and decode of the same pods, same run
    GET, LIST    wrapping a cached message in its envelope; a LIST body of
                 all N messages as chunks (head, items, tail), against
                 joining the N JSON bodies
    memory       a message's bytes object against the JSON's, per pod

    .venv/bin/python benchmarks/bench_protobuf.py [--pods N] [--repeat R]
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_cache_pods import PodFactory
from watchcache.api import protobuf


def best(fn: Callable[[], Any], repeat: int) -> float:
    """The fastest of `repeat` runs, in seconds: the machine is shared. The
    collector is off while timing, as timeit has it: otherwise decoding
    thousands of pods times its full scans of the objects already kept."""
    times = []
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        finally:
            gc.enable()
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    n, repeat = args.pods, args.repeat

    factory = PodFactory()
    raws = [factory.pod(i, 1000 + i) for i in range(n)]
    decoder, encoder = msgspec.json.Decoder(), msgspec.json.Encoder()
    objs = [decoder.decode(raw) for raw in raws]
    pod = protobuf.kind_for("v1", "Pod")
    assert pod is not None
    messages = [pod.message(obj) for obj in objs]
    json_bytes = sum(map(len, raws))
    pb_bytes = sum(map(len, messages))

    rows: list[tuple[str, float, float]] = []  # (what, seconds, MB moved)

    def measure(what: str, fn: Callable[[], Any], megabytes: float) -> float:
        seconds = best(fn, repeat)
        rows.append((what, seconds, megabytes))
        return seconds

    json_mb, pb_mb = json_bytes / 1e6, pb_bytes / 1e6
    pb = measure("protobuf encode (object)", lambda: [pod.message(o) for o in objs], json_mb)
    measure("protobuf decode+encode (bytes)", lambda: [pod.message(r) for r in raws], json_mb)
    js = measure(
        "baseline: msgspec JSON encode", lambda: [encoder.encode(o) for o in objs], json_mb
    )
    measure("baseline: msgspec JSON decode", lambda: [decoder.decode(r) for r in raws], json_mb)
    measure(
        "GET envelope from cached message",
        lambda: [protobuf.envelope("v1", "Pod", m) for m in messages],
        pb_mb,
    )
    measure(
        "LIST chunks from cached messages",
        lambda: list(
            protobuf.list_body("v1", "PodList", {"resourceVersion": "1"}, messages).chunks()
        ),
        pb_mb,
    )
    measure("baseline: LIST join of JSON bodies", lambda: b",".join(raws), json_mb)

    print(f"{n} pods, {json_bytes / n:.0f} B JSON, {pb_bytes / n:.0f} B protobuf on average")
    print(f"{'':36} {'pods/s':>10} {'MB/s':>8}")
    for what, seconds, megabytes in rows:
        print(f"{what:36} {n / seconds:>10,.0f} {megabytes / seconds:>8.1f}")
    print(f"ratio protobuf encode / JSON encode time: {pb / js:.1f}x")

    stripped = []
    for obj in objs[:200]:
        meta = {k: v for k, v in obj["metadata"].items() if k != "managedFields"}
        stripped.append(len(pod.message({**obj, "metadata": meta})))
    json_sizeof = sum(sys.getsizeof(r) for r in raws) / n
    pb_sizeof = sum(sys.getsizeof(m) for m in messages) / n
    print(
        f"memory per pod: JSON bytes object {json_sizeof:.0f} B, protobuf message"
        f" {pb_sizeof:.0f} B (+{pb_sizeof / json_sizeof:.0%} of the JSON when kept beside it);"
        f" without managedFields {sum(stripped) / len(stripped):.0f} B"
    )


if __name__ == "__main__":
    main()
