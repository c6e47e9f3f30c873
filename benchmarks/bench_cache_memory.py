"""Memory per cached object, history included, for 100,000 5.9 KB pods.

Targets (issue 4): at most 1.4x the JSON size as received, 1.15x with
managedFields stripped (denominator: the JSON as received, managedFields
included). Same-run baselines: a dict of raw bytes (the floor) and a dict
of ``json.loads`` objects (what a naive cache costs; measured on fewer
objects and reported per byte, it would not fit otherwise).

Each variant runs in a fresh process and reports its resident-set growth:
what the allocator really holds, fragmentation included. After the adds,
``--updates`` MODIFIED events fill history with previous objects (10,000
by default: a 75 s window at ~130 updates/s), and one LIST at an exact past
RV is served to show snapshots retain nothing.

    .venv/bin/python benchmarks/bench_cache_memory.py [--pods N] [--updates N]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_cache_pods import POD_RESOURCE, PodFactory
from watchcache.cache import Cache, CacheConfig

_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss() -> int:
    gc.collect()
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE


def run_cache(pods: int, updates: int, strip: bool) -> dict[str, float]:
    factory = PodFactory()
    cache = Cache(POD_RESOURCE, CacheConfig(strip_managed_fields=strip))
    cache.replace([], 0)
    before = rss()
    received = 0
    for i in range(pods):
        data = factory.pod(i, 1 + i)
        received += len(data)
        cache.apply("ADDED", data)
    mid_rv = cache.rv + updates // 2
    for j in range(updates):
        data = factory.pod(j, 1 + pods + j, app="web2")
        cache.apply("MODIFIED", data)
    grown = rss() - before
    # A LIST page at an exact past RV: the overlay is built, used, dropped.
    tracemalloc.start()
    page = cache.list(rv=mid_rv, limit=500)
    transient = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    del page
    after_snapshot = rss() - before
    return {
        "snapshot_transient": transient,
        "snapshot_changed": updates - updates // 2,
        "snapshot_retained": after_snapshot - grown,
        "received": received,
        "grown": grown,
        "history_bytes": cache.history.retained_bytes,
        "history_events": len(cache.history),
    }


def run_raw(pods: int) -> dict[str, float]:
    factory = PodFactory()
    before = rss()
    store: dict[str, bytes] = {}
    received = 0
    for i in range(pods):
        data = factory.pod(i, 1 + i)
        received += len(data)
        store[f"ns/{i}"] = data
    return {"received": received, "grown": rss() - before}


def run_dict(pods: int) -> dict[str, float]:
    factory = PodFactory()
    before = rss()
    store: dict[str, object] = {}
    received = 0
    for i in range(pods):
        data = factory.pod(i, 1 + i)
        received += len(data)
        store[f"ns/{i}"] = json.loads(data)
    return {"received": received, "grown": rss() - before}


def child(variant: str, pods: int, updates: int) -> None:
    if variant == "cache":
        result = run_cache(pods, updates, strip=False)
    elif variant == "strip":
        result = run_cache(pods, updates, strip=True)
    elif variant == "raw":
        result = run_raw(pods)
    else:
        result = run_dict(pods)
    print(json.dumps(result))


def measure(variant: str, pods: int, updates: int) -> dict[str, float]:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        variant,
        "--pods",
        str(pods),
        "--updates",
        str(updates),
    ]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pods", type=int, default=100_000)
    parser.add_argument("--updates", type=int, default=10_000)
    parser.add_argument("--child", default=None)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.pods, args.updates)
        return
    raw = measure("raw", args.pods, 0)
    floor = raw["grown"] / raw["received"]
    print(
        f"{args.pods} pods, {raw['received'] / args.pods:.0f} bytes each as received; {args.updates} updates after"
    )
    print(f"baseline dict of raw bytes:   {floor:.2f}x the JSON")
    naive = measure("dict", max(1, args.pods // 10), 0)
    print(
        f"baseline dict of json.loads:  {naive['grown'] / naive['received']:.2f}x the JSON ({args.pods // 10} pods)"
    )
    for label, variant in (("cache", "cache"), ("cache, managedFields stripped", "strip")):
        r = measure(variant, args.pods, args.updates)
        ratio = r["grown"] / r["received"]
        print(
            f"{label:29} {ratio:.2f}x the JSON ({ratio / floor:.2f}x the raw-bytes floor), "
            f"{r['grown'] / args.pods:,.0f} bytes/object; history {r['history_events']:.0f} events "
            f"retaining {r['history_bytes'] / 1e6:.1f} MB"
        )
    print(
        f"snapshot (a 500-item page at an exact RV {r['snapshot_changed']:.0f} changes back): "
        f"{r['snapshot_transient'] / 1e6:.2f} MB transient peak, {r['snapshot_retained'] / 1e6:.2f} MB RSS kept after"
    )


if __name__ == "__main__":
    main()
