"""Informer sync and memory: watchcache.informer versus the Python
alternatives, side by side in one run against one kube-apiserver (issue 16).

Creates pods (about 7.8 KB of JSON each, as bench_list_pods.py makes them,
unscheduled so that no controller deletes them) in a dev cluster, then for each size and each variant starts a fresh process that
syncs every pod in ``default`` and reports the time to sync, the CPU it took
and its resident-set growth (what the allocator really holds, measured after
a gc, fragmentation included):

    watchcache        Informer("pods") with one handler, as a controller has
    watchcache-strip  the same with strip_managed_fields=True
    official          kubernetes.informer.SharedInformer (the official client
                      37.x, a thread; model objects in its cache), synced
                      when its ADDED handler has seen every pod
    dicts             a paginated LIST decoded with json.loads into a dict
                      by key: what a hand-written list+watch keeps
    kopf              a kopf operator (standalone, namespace ``default``)
                      with one ``@kopf.index`` of the pods by namespace and
                      name, each entry the pod's body as kopf hands it:
                      kopf's way to hold a resource's objects. kopf has no
                      has-synced signal; synced is when the indexing
                      function has returned for every pod

Memory is reported against the pods' JSON as kube-apiserver sent it (the
list items' bytes), the issue's target being at most 1.4x for watchcache.

Then, with the variant still running, the parent patches ``--events`` pods
(a label each, so one MODIFIED event apiece) and the variant reports how
many events it took in per CPU-second of its process (decoding, storing
and one handler call; ``dicts`` keeps its dict current from a WATCH with
json.loads). The writes are the parent's; the CPU counted is the variant's.

    python benchmarks/bench_informer.py [--pods 10000,50000] [--events 5000]
        [--variants watchcache,official,...]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import json
import os
import resource
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import aiohttp

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_list_pods import create_pods
from watchcache.devcluster import ClusterConfig, DevCluster

VARIANTS = ("watchcache", "watchcache-strip", "official", "dicts", "kopf")
_PAGE = os.sysconf("SC_PAGE_SIZE")
# How long a variant may take to sync before it reports how far it got
# (--sync-timeout; kopf only, so far: the others have always synced).
SYNC_TIMEOUT = float(os.environ.get("BENCH_INFORMER_SYNC_TIMEOUT", "600"))


def rss() -> int:
    gc.collect()
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# -- one variant, in its own process -------------------------------------------


def synced(took: float, cpu_s: float, grown: int) -> float:
    """Report the sync to the parent (which starts writing); the CPU clock
    from which events are counted."""
    print(json.dumps({"sync_s": took, "cpu_s": cpu_s, "rss": grown}), flush=True)
    return cpu()


def unsynced(took: float, cpu_s: float, grown: int, seen: int) -> None:
    """Report a sync that did not finish within SYNC_TIMEOUT."""
    print(json.dumps({"sync_s": took, "cpu_s": cpu_s, "rss": grown, "unsynced": seen}), flush=True)


def events_done(events: int, cpu_start: float) -> None:
    used = cpu() - cpu_start
    print(json.dumps({"events": events, "events_cpu_s": used}), flush=True)


async def _watchcache(kubeconfig: str, pods: int, events: int, strip: bool) -> None:
    from watchcache.informer import Informer, KubeObject
    from watchcache.upstream import UpstreamClient, load_kubeconfig

    seen = updates = 0
    all_updates = asyncio.Event()

    def on_add(obj: KubeObject) -> None:
        nonlocal seen
        seen += 1

    def on_update(old: KubeObject, new: KubeObject) -> None:
        nonlocal updates
        updates += 1
        if updates == events:
            all_updates.set()

    async with UpstreamClient(load_kubeconfig(kubeconfig)) as client:
        informer = Informer(client, "pods", namespace="default", strip_managed_fields=strip)
        handle = informer.add_handler(on_add=on_add, on_update=on_update)
        before, cpu0, start = rss(), cpu(), time.perf_counter()
        async with informer:
            assert await informer.wait_for_sync(600)
            assert await handle.wait_for_sync(600)
            took, cpu1 = time.perf_counter() - start, cpu()
            grown = rss() - before
            assert seen == pods == len(informer.lister), (seen, pods)
            counted_from = synced(took, cpu1 - cpu0, grown)
            if events:
                await asyncio.wait_for(all_updates.wait(), 1200)
                events_done(events, counted_from)


def _official(kubeconfig: str, pods: int, events: int) -> None:
    # Untyped: imported as Any.
    config: Any = importlib.import_module("kubernetes.config")
    client: Any = importlib.import_module("kubernetes.client")
    official: Any = importlib.import_module("kubernetes.informer")

    config.load_kube_config(config_file=kubeconfig)
    api = client.CoreV1Api()
    done = threading.Event()
    all_updates = threading.Event()
    seen = updates = 0

    def on_add(obj: Any) -> None:
        nonlocal seen
        seen += 1
        if seen == pods:
            done.set()

    def on_update(obj: Any) -> None:
        nonlocal updates
        updates += 1
        if updates == events:
            all_updates.set()

    informer = official.SharedInformer(api.list_namespaced_pod, namespace="default")
    informer.add_event_handler(official.ADDED, on_add)
    informer.add_event_handler(official.MODIFIED, on_update)
    before, cpu0, start = rss(), cpu(), time.perf_counter()
    informer.start()
    assert done.wait(600)
    took, cpu1 = time.perf_counter() - start, cpu()
    grown = rss() - before
    assert len(informer.cache.list()) == pods
    counted_from = synced(took, cpu1 - cpu0, grown)
    if events:
        assert all_updates.wait(1200)
        events_done(events, counted_from)
    # Its thread is a daemon blocked in a watch: leave it, the process ends.


async def _dicts(kubeconfig: str, pods: int, events: int) -> None:
    from watchcache.upstream import UpstreamClient, load_kubeconfig

    path = "/api/v1/namespaces/default/pods"
    store: dict[str, Any] = {}
    async with UpstreamClient(load_kubeconfig(kubeconfig)) as client:
        before, cpu0, start = rss(), cpu(), time.perf_counter()
        token = rv = ""
        while True:
            params = {"limit": "500", **({"continue": token} if token else {})}
            page = json.loads((await client.get(path, params)).body)
            for item in page["items"]:
                meta = item["metadata"]
                store[f"{meta['namespace']}/{meta['name']}"] = item
            rv = rv or page["metadata"]["resourceVersion"]
            token = page["metadata"].get("continue", "")
            if not token:
                break
        took, cpu1 = time.perf_counter() - start, cpu()
        grown = rss() - before
        assert len(store) == pods
        counted_from = synced(took, cpu1 - cpu0, grown)
        updates = 0
        async with client.watch(path, {"resourceVersion": rv}) as lines:
            async for line in lines:
                if updates == events:
                    break
                event = json.loads(line)
                meta = event["object"]["metadata"]
                store[f"{meta['namespace']}/{meta['name']}"] = event["object"]
                updates += event["type"] == "MODIFIED"
                if updates == events:
                    break
        if events:
            events_done(events, counted_from)


async def _kopf(kubeconfig: str, pods: int, events: int) -> None:
    # Untyped: imported as Any. kopf logs in with the official client, which
    # reads KUBECONFIG.
    os.environ["KUBECONFIG"] = kubeconfig
    kopf: Any = importlib.import_module("kopf")
    import logging

    logging.getLogger("kopf").setLevel(logging.ERROR)
    registry = kopf.OperatorRegistry()
    settings = kopf.OperatorSettings()
    settings.posting.enabled = False  # no k8s Events about the operator itself
    settings.watching.server_timeout = 600
    keys: set[str] = set()
    all_seen = asyncio.Event()
    all_updates = asyncio.Event()
    updates = 0
    counting = False

    @kopf.on.login(registry=registry)  # type: ignore[untyped-decorator]
    def login(**kwargs: Any) -> Any:
        return kopf.login_via_client(**kwargs)

    @kopf.index("pods", registry=registry)  # type: ignore[untyped-decorator]
    async def by_name(name: str, namespace: str, body: Any, **_: Any) -> dict[Any, Any]:
        # async: kopf runs a sync handler in a thread pool, which would be
        # its cost, not the index's.
        nonlocal updates
        if counting:
            updates += 1
            if updates == events:
                all_updates.set()
        else:
            keys.add(f"{namespace}/{name}")
            if len(keys) == pods:
                # Set now, seen by the waiter after this call returns and
                # kopf has stored its result.
                all_seen.set()
        return {(namespace, name): body}

    stop = asyncio.Event()
    before, cpu0, start = rss(), cpu(), time.perf_counter()
    operator = asyncio.ensure_future(
        kopf.operator(
            registry=registry,
            settings=settings,
            standalone=True,
            namespaces=["default"],
            stop_flag=stop,
            memo=kopf.Memo(),
        )
    )
    waiting = asyncio.ensure_future(all_seen.wait())
    await asyncio.wait(
        [operator, waiting], timeout=SYNC_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
    )
    if not all_seen.is_set():
        assert not operator.done(), operator.exception()
        # Not synced within the bound: report how far it got, and stop.
        unsynced(time.perf_counter() - start, cpu() - cpu0, rss() - before, len(keys))
        os._exit(0)  # kopf's tasks and its login thread would hold the exit
    took, cpu1 = time.perf_counter() - start, cpu()
    grown = rss() - before
    counting = True
    counted_from = synced(took, cpu1 - cpu0, grown)
    if events:
        await asyncio.wait_for(all_updates.wait(), 1200)
        events_done(events, counted_from)
    stop.set()
    await asyncio.wait([operator], timeout=30)


def run_variant(variant: str, kubeconfig: str, pods: int, events: int) -> None:
    """Prints the sync report, then (``events`` > 0) the events report."""
    if variant == "watchcache":
        asyncio.run(_watchcache(kubeconfig, pods, events, strip=False))
    elif variant == "watchcache-strip":
        asyncio.run(_watchcache(kubeconfig, pods, events, strip=True))
    elif variant == "official":
        _official(kubeconfig, pods, events)
    elif variant == "dicts":
        asyncio.run(_dicts(kubeconfig, pods, events))
    elif variant == "kopf":
        asyncio.run(_kopf(kubeconfig, pods, events))
    else:
        raise ValueError(variant)


# -- the run -------------------------------------------------------------------


def json_bytes(cluster: DevCluster) -> int:
    """The pods' JSON as kube-apiserver sends it: the list items' bytes."""
    code, body = cluster.request("GET", "/api/v1/namespaces/default/pods")
    assert code == 200
    return sum(len(json.dumps(item, separators=(",", ":"))) for item in body["items"])


def measure(
    cluster: DevCluster, variant: str, pods: int, events: int, rev: int
) -> dict[str, float]:
    """Run ``variant`` in a fresh process; once it has synced, patch
    ``events`` pods (label rev=``rev``) and collect its reports."""
    argv = [sys.executable, __file__, "--child", variant, "--kubeconfig", str(cluster.kubeconfig)]
    argv += ["--pods", str(pods), "--events", str(events)]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, text=True) as child:
        assert child.stdout is not None
        result: dict[str, float] = json.loads(child.stdout.readline())
        if events and "unsynced" not in result:
            asyncio.run(patch_pods(cluster, events, rev))
            result |= json.loads(child.stdout.readline())
        child.kill()
    return result


async def patch_pods(cluster: DevCluster, count: int, rev: int) -> None:
    context = ssl.create_default_context(cafile=str(cluster.ca_file))
    headers = {
        "Authorization": f"Bearer {cluster.admin_token}",
        "Content-Type": "application/merge-patch+json",
    }
    body = json.dumps({"metadata": {"labels": {"rev": str(rev)}}})
    gate = asyncio.Semaphore(32)
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=context, limit=64), headers=headers
    ) as session:

        async def one(i: int) -> None:
            url = f"{cluster.url}/api/v1/namespaces/default/pods/pod-{i:05d}"
            async with gate, session.patch(url, data=body) as r:
                assert r.status == 200, await r.text()

        await asyncio.gather(*(one(i) for i in range(count)))


def report(pods: int, json_total: int, results: dict[str, dict[str, float]]) -> None:
    print(f"\n{pods:,} pods, {json_total / 1e6:.1f} MB of JSON ({json_total / pods:,.0f} B each)")
    print(
        f"{'variant':18} {'sync s':>8} {'cpu s':>8} {'RSS MB':>8} {'x JSON':>7} {'events/cpu-s':>13}"
    )
    for variant, r in results.items():
        if "unsynced" in r:
            print(
                f"{variant:18} did not sync in {r['sync_s']:.0f} s: {r['unsynced']:,.0f} of "
                f"{pods:,} pods seen, {r['cpu_s']:.1f} cpu s, {r['rss'] / 1e6:.1f} MB RSS"
            )
            continue
        rate = r["events"] / r["events_cpu_s"] if r.get("events_cpu_s") else float("nan")
        print(
            f"{variant:18} {r['sync_s']:8.2f} {r['cpu_s']:8.2f} {r['rss'] / 1e6:8.1f} "
            f"{r['rss'] / json_total:7.2f} {rate:13,.0f}"
        )
    base = results.get("watchcache")
    if base is None:
        return
    for variant, r in results.items():
        if variant != "watchcache" and "unsynced" not in r:
            line = (
                f"  {variant} / watchcache: memory {r['rss'] / base['rss']:.2f}x, "
                f"sync time {r['sync_s'] / base['sync_s']:.2f}x, cpu {r['cpu_s'] / base['cpu_s']:.2f}x"
            )
            if r.get("events_cpu_s") and base.get("events_cpu_s"):
                line += f", cpu per event {r['events_cpu_s'] / base['events_cpu_s']:.2f}x"
            print(line)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pods", default="10000", help="comma-separated sizes, ascending")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--events", type=int, default=5000, help="pods patched per variant")
    parser.add_argument(
        "--sync-timeout", type=float, default=SYNC_TIMEOUT, help="seconds a variant may sync"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--kubeconfig", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ["BENCH_INFORMER_SYNC_TIMEOUT"] = str(args.sync_timeout)  # for the children
    if args.child:
        run_variant(args.child, args.kubeconfig, int(args.pods), args.events)
        return
    sizes = [int(n) for n in args.pods.split(",")]
    variants = args.variants.split(",")
    with (
        tempfile.TemporaryDirectory() as tmp,
        DevCluster(ClusterConfig(workdir=Path(tmp) / "c", tie_to_parent=True)) as cluster,
    ):
        made = rev = 0
        for size in sizes:
            asyncio.run(create_pods(cluster, size, start=made, on_nodes=False))
            made = size
            total = json_bytes(cluster)
            results = {}
            for variant in variants:
                rev += 1
                results[variant] = measure(cluster, variant, size, min(args.events, size), rev)
                print(f"  {size} {variant}: {json.dumps(results[variant])}", flush=True)
            report(size, total, results)


if __name__ == "__main__":
    main()
