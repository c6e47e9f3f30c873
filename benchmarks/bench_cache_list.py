"""LIST from the store: items per CPU-second for a 100,000-pod list, with
and without a label selector, for a namespace (key range) and a node
(field index) lookup, and at an exact past RV (snapshot by history replay).

Same-run baseline: what a dict cache does, filter a plain list of the same
entries and sort the matches by key. Full scans come out slower than it:
the baseline walks entries in allocation order while a list walks them in
key order, which here (pod i in namespace i % 100) jumps across memory;
lookups by namespace or node are index reads and win by orders of
magnitude. Selectors here are equality-only stand-ins for watchcache.api's.

    .venv/bin/python benchmarks/bench_cache_list.py [--pods N] [--shards N]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from operator import attrgetter
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_cache_pods import POD_RESOURCE, PodFactory
from watchcache.api.selectors import FieldSelector, LabelSelector
from watchcache.cache import Cache, CacheConfig, Entry


def per_call(fn: Callable[[], int], repeat: int) -> tuple[float, int]:
    """CPU seconds per call, and the items one call returns."""
    start = time.process_time()
    for _ in range(repeat):
        items = fn()
    return (time.process_time() - start) / repeat, items


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pods", type=int, default=100_000)
    parser.add_argument("--shards", type=int, default=1)
    args = parser.parse_args()
    factory = PodFactory(namespaces=100, nodes=1000)
    cache = Cache(POD_RESOURCE, CacheConfig(shard_count=args.shards))
    cache.replace([], 0)
    for i in range(args.pods):
        # Every 10th pod belongs to app "api": a selective label.
        cache.apply("ADDED", factory.pod(i, 1 + i, app="api" if i % 10 == 0 else "web"))
    past = cache.rv
    for j in range(10_000):
        cache.apply("MODIFIED", factory.pod(j, cache.rv + 1, app="web"))
    entries: list[Entry] = list(cache.store.entries())
    api = LabelSelector.parse("app=api")
    node = FieldSelector.parse("spec.nodeName=node-00042")
    by_key = attrgetter("key")

    def scan(pred: Callable[[Entry], bool]) -> int:
        # A dict cache's way: filter every object, then sort into key order.
        return len(sorted((e for e in entries if pred(e)), key=by_key))

    cases: list[tuple[str, Callable[[], int], Callable[[], int], int]] = [
        ("full list", lambda: len(cache.list().items), lambda: scan(lambda e: True), 5),
        ("full list, 500 per page", lambda: _paged(cache, 500), lambda: scan(lambda e: True), 3),
        (
            "label selector (10% match)",
            lambda: len(cache.list(labels=api).items),
            lambda: scan(lambda e: api.matches(e.labels)),
            5,
        ),
        (
            "namespace (1%, key range)",
            lambda: len(cache.list(namespace="ns-0042").items),
            lambda: scan(lambda e: e.namespace == "ns-0042"),
            50,
        ),
        (
            "node (0.1%, field index)",
            lambda: len(cache.list(fields=node).items),
            lambda: scan(lambda e: node.matches(e.fields)),
            50,
        ),
        (
            "exact past RV (10k changed)",
            lambda: len(cache.list(rv=past).items),
            lambda: scan(lambda e: True),
            3,
        ),
    ]
    print(
        f"{args.pods} pods, {args.shards} shard(s). Baseline: filter a list of the entries, sort by key."
    )
    print(
        f"{'case':30} {'items':>7} {'ms/list':>9} {'items/CPU-s':>13} {'objects/CPU-s':>14}  speed vs baseline"
    )
    for label, fn, base, repeat in cases:
        t, items = per_call(fn, repeat)
        tb, _ = per_call(base, max(1, repeat // 5))
        print(
            f"{label:30} {items:7} {t * 1e3:9.2f} {items / t:13,.0f} {args.pods / t:14,.0f}  {tb / t:.2f}x"
        )


def _paged(cache: Cache, limit: int) -> int:
    page = cache.list(limit=limit)
    total = len(page.items)
    while page.continue_after is not None:
        page = cache.list(limit=limit, rv=page.rv, continue_after=page.continue_after)
        total += len(page.items)
    return total


if __name__ == "__main__":
    main()
