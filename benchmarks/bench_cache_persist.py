"""Saving and loading a cache's state (cache/persist.py), against the same
state arriving as a LIST body (issue 21 item 5).

For ``--pods`` pods (~5.9 KB each, bench_cache_pods.py) and ``--events``
history events: the file's size, the time to take the state on the event
loop (``capture``), to write it (``write_state``: framing, CRC-32, fsync,
rename; in a thread in the proxy), to read and check it (``read_state``)
and to rebuild the cache from it (``restore``: the codec's decode). The
baseline, in the same run, is what a cold start does with the same objects:
decode a LIST body (JSON) and replace the cache's state, without the
network. The ratio says what the file format adds over the decode both
need.

    .venv/bin/python benchmarks/bench_cache_persist.py [--pods 10000] [--events 1000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script
from benchmarks.bench_cache_pods import POD_RESOURCE, PodFactory
from watchcache.cache.cache import Cache
from watchcache.cache.persist import (
    StateKey,
    capture,
    read_state,
    restore,
    state_path,
    write_state,
)

T = TypeVar("T")
KEY = StateKey("https://10.0.0.1:6443", "system", "", "v1", "pods")


class _List(msgspec.Struct):
    items: list[msgspec.Raw]


def timed(what: Callable[[], T], rounds: int) -> tuple[float, T]:
    """The best of ``rounds`` runs, in seconds, and the last result."""
    best = float("inf")
    result: T
    for _ in range(rounds):
        start = time.perf_counter()
        result = what()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    factory = PodFactory()
    pods = [factory.pod(i, rv=10 + i) for i in range(args.pods)]
    cache = Cache(POD_RESOURCE)
    base = 10 + args.pods
    cache.replace(pods, base)
    for n in range(args.events):
        cache.apply("MODIFIED", factory.pod(n % args.pods, rv=base + 1 + n))
    body = b'{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":['
    body += b",".join(pods) + b"]}"

    with tempfile.TemporaryDirectory() as tmp:
        path = state_path(Path(tmp), KEY)
        capture_s, state = timed(lambda: capture(cache), args.rounds)
        write_s, size = timed(lambda: write_state(path, KEY, state), args.rounds)
        read_s, saved = timed(lambda: read_state(path, KEY), args.rounds)

        def rebuild() -> Cache:
            fresh = Cache(POD_RESOURCE)
            restore(fresh, saved)
            return fresh

        restore_s, loaded = timed(rebuild, args.rounds)
    assert loaded.rv == cache.rv and len(loaded.store) == len(cache.store)

    def cold() -> Cache:
        fresh = Cache(POD_RESOURCE)
        items = msgspec.json.decode(body, type=_List).items
        fresh.replace([bytes(item) for item in items], base)
        return fresh

    cold_s, _ = timed(cold, args.rounds)
    # The alternative to length-prefixed records written in batches: the
    # whole state as one msgpack document (one call each way, but the
    # whole file built in memory before it is written).
    document = msgspec.msgpack.encode(state.objects)
    encode_s, _ = timed(lambda: msgspec.msgpack.encode(state.objects), args.rounds)
    decode_s, _ = timed(lambda: msgspec.msgpack.decode(document, type=list[bytes]), args.rounds)
    mb = size / 1e6
    print(f"{args.pods} pods, {args.events} history events: state file {mb:.1f} MB")
    print(f"  capture (on the loop)   {capture_s * 1000:8.1f} ms")
    print(f"  write + fsync + rename  {write_s * 1000:8.1f} ms  {mb / write_s:6.0f} MB/s")
    print(f"  read + check (CRC-32)   {read_s * 1000:8.1f} ms  {mb / read_s:6.0f} MB/s")
    print(f"  restore (decode)        {restore_s * 1000:8.1f} ms")
    print(
        f"  alternative, one msgpack document: encode {encode_s * 1000:.1f} ms "
        f"(+{len(document) / 1e6:.0f} MB held), decode {decode_s * 1000:.1f} ms"
    )
    print(f"  baseline: decode a LIST body and replace {cold_s * 1000:8.1f} ms")
    print(f"  ratio load (read + restore) / baseline: {(read_s + restore_s) / cold_s:.2f}")


if __name__ == "__main__":
    main()
