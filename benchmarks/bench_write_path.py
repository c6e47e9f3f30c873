"""The write path against kube-apiserver 1.20, same run: broadcast
deliveries per CPU-second and LIST MB/s (issue 20, item 4).

One dev cluster (etcd + kube-apiserver 1.20) and two ``watchcache serve``
in front of it: one serving TLS with kube-apiserver's certificate (a
shared read tier), one plain HTTP on loopback (a sidecar). The load
test's own steps (``benchmarks.loadtest``) run against each, alternating
kube-apiserver, proxy over TLS and plain proxy within every round, so the
machine's neighbours weigh on all three alike; what counts is each
round's ratio to kube-apiserver in that round.

    broadcast  W watchers of one namespace's pods, R patches a second
               (default 200 x 50/s, the load test's target point):
               deliveries per CPU-second of the server process
    list       one client listing 10,000 pods at resourceVersion=0 over
               TLS, back to back: MB/s as received

Each broadcast round also says where a proxy's CPU per delivery went:
hearing the events (its CPU while kube-apiserver served the round's
direct step, the proxy following the same patches with no watchers of
its own), the kernel's time (stime: the writes to the watchers, loopback
TCP's receiving end included) and the rest, beside the budget a delivery
has at 10x kube-apiserver's figure in that round. On this 2-vCPU VM the
kernel and the hearing alone took more than that budget over plain HTTP.

    python benchmarks/bench_write_path.py [--rounds 3] [--duration 10]
        [--watchers 200] [--rate 50] [--no-list] [--no-broadcast]
        [--py-spy DIR] [--env WATCHCACHE_NAME=VALUE] [--baseline-src DIR]
        [--baseline-env NAME=VALUE]

``--baseline-src`` runs a second pair of proxies from another source tree
(``git archive BASE src | tar -x -C DIR``, then DIR/src) in the same
rounds: a same-run before and after. ``--env`` settings go to the proxies
under test only, ``--baseline-env`` to the baseline's: the same tree
twice with one setting apart is a same-run comparison of that setting.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
from pathlib import Path
from typing import Any

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script
from benchmarks.loadtest import procstat
from benchmarks.loadtest.broadcast import BroadcastPoint, run_broadcast
from benchmarks.loadtest.liststorm import ListPoint, run_liststorm
from benchmarks.loadtest.meter import Meter
from benchmarks.loadtest.progress import Progress
from benchmarks.loadtest.stack import Backend, Endpoint, Stack
from benchmarks.nodesim.driver import raise_open_file_limit


def _another_proxy(
    stack: Stack, backend: Backend, name: str, *, tls: bool, env: dict[str, str]
) -> Backend:
    """The same cluster behind another proxy: plain HTTP or TLS, with ``env``
    (settings as WATCHCACHE_* variables; PYTHONPATH to run other code)."""
    cluster = backend.cluster
    assert cluster is not None
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        url, pid = stack._start_proxy(
            name,
            cluster.kubeconfig,
            tls=(cluster.pki.serving_crt, cluster.pki.serving_key) if tls else None,
            ca_file=cluster.ca_file if tls else None,
        )
    finally:
        os.environ.clear()
        os.environ.update(saved)
    ca = str(cluster.ca_file) if tls else None
    return dataclasses.replace(
        backend, proxy=Endpoint(url, backend.proxy.token, ca), pids={**backend.pids, "proxy": pid}
    )


def _settings(pairs: list[str]) -> dict[str, str]:
    return dict(pair.split("=", 1) for pair in pairs)


async def _rounds(stack: Stack, args: argparse.Namespace) -> dict[str, list[dict[str, Any]]]:
    tls = stack.backend("apiserver")
    tls = _another_proxy(stack, tls, "apiserver-tls", tls=True, env=_settings(args.env))
    plain = _another_proxy(stack, tls, "apiserver-plain", tls=False, env=_settings(args.env))
    proxies = [("proxy tls", tls), ("proxy plain", plain)]
    if args.baseline_src:
        base_env = {"PYTHONPATH": str(args.baseline_src), **_settings(args.baseline_env)}
        base = _another_proxy(stack, tls, "apiserver-base-tls", tls=True, env=base_env)
        base_plain = _another_proxy(stack, tls, "apiserver-base-plain", tls=False, env=base_env)
        proxies += [("base tls", base), ("base plain", base_plain)]
    progress = Progress(args.rounds * (len(proxies) + 3), stream=sys.stderr)
    point = BroadcastPoint(watchers=args.watchers, rate=args.rate, duration=args.duration)
    listing = ListPoint(kind="rv0", clients=1, pods=10_000, duration=args.duration)
    out: dict[str, list[dict[str, Any]]] = {}
    for _ in range(args.rounds):
        if not args.no_broadcast:
            for label, backend, mode in (
                ("broadcast direct", tls, "direct"),
                *((f"broadcast {name}", b, "proxy") for name, b in proxies),
            ):
                progress.begin(label)
                idle = {name: b.pids["proxy"] for name, b in proxies} if mode == "direct" else {}
                before = procstat.sample(idle)
                result = await run_broadcast(backend, mode, point, progress)
                if mode == "direct":
                    # The proxies had no watchers, and heard every patch.
                    reflected = procstat.cpu_delta(before, procstat.sample(idle))
                    for name, cpu in reflected.items():
                        out.setdefault(f"reflect {name}", []).append(
                            {"cpu_seconds": cpu, "events": result["writes"]}
                        )
                progress.end(f"{result['deliveries_per_server_cpu_second']} per CPU-s")
                out.setdefault(label, []).append(result)
        if not args.no_list:
            for label, backend, mode in (
                ("list direct", tls, "direct"),
                ("list proxy tls", tls, "proxy"),
                *(("list base tls", b, "proxy") for name, b in proxies if name == "base tls"),
            ):
                progress.begin(label)
                result = await run_liststorm(backend, mode, listing, progress)
                progress.end(f"{result['mb_per_second']} MB/s")
                out.setdefault(label, []).append(result)
    return out


def _spread(result: dict[str, Any]) -> str:
    latency = result["latency_ms"]
    return "/".join(f"{latency.get(q, '-')}" for q in ("p50", "p90", "p99"))


def _client_ms(result: dict[str, Any]) -> float | None:
    """The listing client's CPU per list: if it nears the wall time per
    list, the client, not the server, sets the MB/s."""
    lists = result.get("lists")
    cpu = result.get("cpu_seconds", {}).get("generator")
    return round(cpu * 1000 / lists, 1) if lists and cpu is not None else None


def _breakdown(run: dict[str, Any], direct: dict[str, Any], reflect: dict[str, Any]) -> str:
    """Where a proxy's CPU per delivery went, in microseconds: hearing
    and applying the events (its CPU in the direct step of the same round,
    when it had no watchers, shared by the step's watchers), the kernel's
    time (its stime: mostly the writes to the watchers' sockets, TCP on
    loopback, the receiving end's included) and the rest; beside the
    budget a delivery has at 10x kube-apiserver's deliveries per
    CPU-second in the same round."""
    deliveries = run["deliveries"]
    cpu = run["cpu_seconds"].get("proxy", 0.0)
    system = run.get("system_cpu_seconds", {}).get("proxy")
    per_write = run.get("events_per_write")
    if not deliveries or not cpu or system is None or not reflect["events"]:
        return "no breakdown (no deliveries or no CPU counted)"
    total = cpu / deliveries * 1e6
    per_event = reflect["cpu_seconds"] / reflect["events"] * 1e6
    hearing = per_event / run["params"]["watchers"]
    kernel = system / deliveries * 1e6
    budget = 1e6 / (10 * direct["deliveries_per_server_cpu_second"])
    writes = f"; {kernel * per_write:.1f} us of it per write" if per_write else ""
    return (
        f"us of CPU per delivery {total:.1f} (at 10x: {budget:.1f}): hearing the event"
        f" {hearing:.1f} ({per_event:.0f} per event), the kernel"
        f" {kernel:.1f}{writes}, the rest {max(0.0, total - hearing - kernel):.1f}"
    )


def _report(out: dict[str, list[dict[str, Any]]]) -> None:
    print(f"load average at the end: {os.getloadavg()}")
    direct = out.get("broadcast direct", [])
    for label in [k for k in out if k.startswith("broadcast ") and k != "broadcast direct"]:
        runs = out.get(label, [])
        ratios = [
            r["deliveries_per_server_cpu_second"] / d["deliveries_per_server_cpu_second"]
            for r, d in zip(runs, direct, strict=True)
        ]
        for r, d in zip(runs, direct, strict=True):
            print(
                f"{label}: {r['deliveries_per_server_cpu_second']:>8} vs kube-apiserver"
                f" {d['deliveries_per_server_cpu_second']:>8} deliveries per CPU-s;"
                f" latency p50/p90/p99 {_spread(r)} vs {_spread(d)} ms;"
                f" {r.get('events_per_write', '-')} events per write;"
                f" lost {r['lost']} dup {r['duplicated']} ooo {r['out_of_order']}"
            )
        if ratios:
            print(
                f"{label}: ratio per round {[round(x, 2) for x in ratios]},"
                f" median {statistics.median(ratios):.2f}"
            )
        name = label.removeprefix("broadcast ")
        for r, d, reflect in zip(runs, direct, out.get(f"reflect {name}", []), strict=False):
            print(f"{label}: {_breakdown(r, d, reflect)}")
    for label in ("list proxy tls", "list base tls"):
        lists = list(zip(out.get(label, []), out.get("list direct", []), strict=True))
        for r, d in lists:
            print(
                f"{label} rv0 C1: {r['mb_per_second']} MB/s vs kube-apiserver"
                f" {d['mb_per_second']} MB/s ({r['mb_per_second'] / d['mb_per_second']:.2f}x);"
                f" server CPU ms per list {r['server_cpu_ms_per_list']}"
                f" vs {d['server_cpu_ms_per_list']};"
                f" the client's CPU ms per list {_client_ms(r)} vs {_client_ms(d)}"
            )
        if lists:
            ratios = [r["mb_per_second"] / d["mb_per_second"] for r, d in lists]
            print(f"{label}: MB/s ratio median {statistics.median(ratios):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--watchers", type=int, default=200)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--no-list", action="store_true")
    parser.add_argument("--no-broadcast", action="store_true")
    parser.add_argument("--py-spy", type=Path, metavar="DIR")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="WATCHCACHE_NAME=VALUE",
        help="a setting for the proxies under test (not the baseline's)",
    )
    parser.add_argument(
        "--baseline-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for the baseline's proxies (with --baseline-src)",
    )
    parser.add_argument(
        "--baseline-src",
        type=Path,
        help="also run proxies from this source tree (e.g. `git archive` of the commit before)",
    )
    args = parser.parse_args()
    raise_open_file_limit(65536)
    Meter.profile_dir = args.py_spy
    print(f"load average at the start: {os.getloadavg()}")
    with Stack(log=lambda text: print(text, file=sys.stderr)) as stack:
        out = uvloop.run(_rounds(stack, args))
    _report(out)


if __name__ == "__main__":
    main()
