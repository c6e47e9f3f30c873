"""The markdown report and its plots, from a run's JSON.

``render(data, out, name)`` writes ``out/NAME.md`` and, when matplotlib is
installed (``pip install -e '.[bench]'``), ``out/NAME-*.png``; without it
the report says the plots were skipped. Every figure in the report is read
from the JSON: nothing here measures.

Glossary (as in the JSON):
    run        one step in one mode: ``scenario``, ``backend``, ``mode``,
               ``params`` and what was measured; under ``--repeat`` also
               its ``repeat`` and the ``load_average`` it began with
    server     the process answering the clients: kube-apiserver (direct),
               the proxy (proxy, or proxy-json: the proxy that answers
               JSON only), or the simulator (direct, simulator)
    spread     a point's median and minimum-to-maximum over its repeats
               (``spread.py``); one run is a point without a spread
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from benchmarks.loadtest.spread import Spread, group_repeats, load_range, spread_of

__all__ = ["combine", "find", "render", "targets"]

Run = dict[str, Any]

PROCESSES = ("kube-apiserver", "etcd", "proxy", "simulator", "generator")


def find(runs: Iterable[Run], scenario: str, backend: str, mode: str, **params: Any) -> Run | None:
    """The first run that matches, error-free, or None."""
    for run in runs:
        if (run["scenario"], run["backend"], run["mode"]) != (scenario, backend, mode):
            continue
        if "error" in run:
            continue
        if all(run.get("params", {}).get(k) == v for k, v in params.items()):
            return run
    return None


def combine(datas: list[dict[str, Any]]) -> dict[str, Any]:
    """Several files of the load test as one: the first one's meta (with
    ``repeats``, how many passes there are in all), every run's ``repeat``
    numbered on from the previous file's (a file made with ``--repeat R``
    brings R). The plots then show the spread over the repeats."""
    runs: list[Run] = []
    sources = []
    offset = 0
    for data in datas:
        runs += [{**run, "repeat": offset + run.get("repeat", 0)} for run in data["runs"]]
        m = data["meta"]
        sources.append(
            {
                "repeats": f"{offset}-{offset + m.get('repeats', 1) - 1}",
                **{k: m.get(k) for k in ("when", "commit", "dirty", "command")},
                "load_average_at_start": m.get("machine", {}).get("load_average_at_start"),
            }
        )
        offset += m.get("repeats", 1)
    meta = {**datas[0]["meta"], "repeats": offset, "sources": sources}
    notes = [d["meta"]["identity_note"] for d in datas if d["meta"].get("identity_note")]
    if notes:
        meta["identity_note"] = "; ".join(notes)
    return {"meta": meta, "runs": runs}


def render(data: dict[str, Any], out: Path, name: str) -> Path:
    runs: list[Run] = data["runs"]
    plots = _plots(runs, out, name)
    lines = [*_header(data), *_targets_section(runs), *_spread_section(runs, plots)]
    lines += [*_writes(runs), *_broadcast(runs, plots)]
    lines += [*_liststorm(runs), *_nodes(runs, plots), *_kubelets(runs), *_failures(runs)]
    path = out / f"{name}.md"
    path.write_text("\n".join(lines).rstrip() + "\n")
    return path


# -- header ----------------------------------------------------------------------


def _header(data: dict[str, Any]) -> list[str]:
    meta = data["meta"]
    machine = meta["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
    dirty = " (with uncommitted changes)" if meta.get("dirty") else ""
    repeats = meta.get("repeats", 1)
    load = ", ".join(f"{x:.2f}" for x in machine.get("load_average_at_start", []))
    return [
        "# Load test: kube-apiserver 1.20 and `watchcache serve`, side by side",
        "",
        f"Profile `{meta['profile']}`, run {meta['when']} at commit `{meta['commit']}`{dirty} with:",
        "",
        "```sh",
        meta["command"],
        "```",
        "",
        f"- Machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gib']} GiB, "
        f"{machine['os']}, kernel {machine['kernel']}; load average at start {load}. "
        "The cores are shared with other work, so every comparison below is between runs "
        "made minutes apart in the same invocation, and cost is CPU-seconds from /proc, not "
        "wall time.",
        f"- Versions: {versions}.",
        *([f"- Note: {meta['identity_note']}."] if meta.get("identity_note") else []),
        *(
            [
                f"- Repeats {src['repeats']}: `{src['command']}` at `{src['commit']}`"
                f"{' (with uncommitted changes)' if src.get('dirty') else ''}, {src['when']}, "
                "load average at start "
                + ", ".join(f"{x:.2f}" for x in src.get("load_average_at_start") or [])
                + "."
                for src in meta.get("sources", [])
            ]
        ),
        "- Direct: clients talk to kube-apiserver over TLS. Proxy: clients talk to "
        "`watchcache serve --resources pods,nodes` over TLS (same certificate), which talks "
        "to the same kube-apiserver. Runs marked *simulator* put the simulated API server "
        "(`watchcache.simulator`, its own process) behind the proxy instead, for sizes "
        "kube-apiserver 1.20 cannot carry on this machine (about 7 ms of CPU per pod write).",
        "- Latency is from the moment a write was sent (a timestamp the writer puts in the "
        "object) to the event's arrival at each watcher. Every watcher's stream is checked "
        "against the writes' resourceVersions: lost, duplicated and out-of-order events must "
        "be 0.",
        "- `generator lag` is the load generator's own event-loop lag (p99): when it is "
        "high, latencies include the generator's queueing, on both sides alike.",
        *(
            [
                f"- {repeats} runs of the same steps (the first run's machine and command "
                "above): the tables list every run; the plots draw the median of each point, "
                "with its minimum-to-maximum spread as a band or error bar. Each run's load "
                "average as it began is in the JSON and in the spread table: the machine was "
                "shared, so the spread is the servers' own variation plus the neighbours' "
                "noise, not the servers' alone."
            ]
            if repeats > 1
            else []
        ),
        "",
    ]


# -- targets ---------------------------------------------------------------------


def targets(runs: list[Run]) -> list[tuple[str, str, str]]:
    """(target, measured, verdict) rows; a row whose runs are missing says so."""
    rows = []
    direct = _repeats(runs, "broadcast", "apiserver", "direct", watchers=200, rate=50.0)
    proxy = _repeats(runs, "broadcast", "apiserver", "proxy", watchers=200, rate=50.0)
    if direct and proxy:
        per_cpu = _field("deliveries_per_server_cpu_second")
        d_eff = _median_of(direct, per_cpu) or 0
        p_eff = _median_of(proxy, per_cpu) or 0
        d_p99 = _median_of(direct, lambda r: r["latency_ms"].get("p99"))
        d_p99_text = "-" if d_p99 is None else f"{d_p99:g}"
        ratio = p_eff / d_eff if d_eff else 0.0
        many = f" (medians of {len(proxy)} runs)" if len(proxy) > 1 else ""
        rows.append(
            (
                "broadcast 200 watchers x 50/s: proxy >= 4x deliveries per CPU-second",
                f"kube-apiserver {d_eff:,.0f}/CPU-s (p99 {d_p99_text} ms); "
                f"proxy {p_eff:,.0f}/CPU-s = {ratio:.1f}x{many}",
                _verdict(ratio >= 4, f"{ratio / 4:.0%} of the target"),
            )
        )
        p99 = _median_of(proxy, lambda r: r["latency_ms"].get("p99"))
        p99 = float("inf") if p99 is None else p99
        rows.append(
            (
                "broadcast 200 x 50/s: proxy p99 <= 50 ms",
                f"{p99:g} ms{many}",
                _verdict(p99 <= 50, f"{p99 / 50:.1f}x the target"),
            )
        )
    else:
        rows.append(("broadcast 200 x 50/s", "not measured (run missing or failed)", "-"))
    big = find(runs, "nodes", "simulator", "proxy", nodes=1000, pods=10_000)
    if big:
        p99 = _steady(big).get("p99", float("inf"))
        bad = big["lost"] + big["duplicated"] + big["out_of_order"]
        rows.append(
            (
                "nodes 1,000 / 10,000 pods (simulator behind the proxy): p99 <= 100 ms "
                "(steady churn), nothing lost (whole run)",
                f"p99 {p99} ms; lost {big['lost']}, duplicated {big['duplicated']}, "
                f"out of order {big['out_of_order']}",
                _verdict(p99 <= 100 and bad == 0, f"p99 {p99 / 100:.1f}x the target"),
            )
        )
    counts = [
        (r["params"]["nodes"], r.get("apiserver_watchers_peak", {}))
        for r in runs
        if r["scenario"] == "nodes"
        and r["backend"] == "apiserver"
        and r["mode"] == "proxy"
        and "error" not in r
    ]
    if len(counts) >= 2:
        pods = {n: w.get("Pod", 0) for n, w in counts}
        nodes = {n: w.get("Node", 0) for n, w in counts}
        flat = len(set(pods.values())) == 1 and len(set(nodes.values())) == 1
        shown = "; ".join(f"N={n}: {pods[n]} pod, {nodes[n]} node watchers" for n in sorted(pods))
        rows.append(
            (
                "kube-apiserver's watch count constant as N grows, behind the proxy",
                shown,
                _verdict(flat, "it grew"),
            )
        )
    for clients in (1, 4):
        d = find(runs, "liststorm", "apiserver", "direct", kind="rv0", clients=clients)
        p = find(runs, "liststorm", "apiserver", "proxy", kind="rv0", clients=clients)
        if d and p and d["lists_per_second"]:
            ratio = p["lists_per_second"] / d["lists_per_second"]
            rows.append(
                (
                    f"list storm RV=0, {clients} client(s): proxy >= 3x throughput",
                    f"{d['lists_per_second']} vs {p['lists_per_second']} lists/s = {ratio:.1f}x",
                    _verdict(ratio >= 3, f"{ratio / 3:.0%} of the target"),
                )
            )
    w = find(runs, "writes", "apiserver", "proxy")
    if w and "added_ms" in w:
        for verb in ("create", "patch"):
            added = w["added_ms"][verb]["p50"]
            rows.append(
                (
                    f"a {verb} through the proxy adds <= 2 ms at p50",
                    f"+{added} ms p50 (+{w['added_ms'][verb]['p99']} ms p99)",
                    _verdict(added <= 2, f"{added / 2:.1f}x the target"),
                )
            )
    return rows


def _repeats(runs: list[Run], scenario: str, backend: str, mode: str, **params: Any) -> list[Run]:
    """Every error-free run that matches: one step's repeats."""
    return [
        r
        for r in runs
        if (r["scenario"], r["backend"], r["mode"]) == (scenario, backend, mode)
        and "error" not in r
        and all(r.get("params", {}).get(k) == v for k, v in params.items())
    ]


def _median_of(runs: list[Run], figure: Callable[[Run], Any]) -> float | None:
    s = spread_of(runs, figure)
    return None if s is None else s.median


def _targets_section(runs: list[Run]) -> list[str]:
    lines = ["## Targets", "", "| target | measured | met? |", "|---|---|---|"]
    lines += [f"| {t} | {m} | {v} |" for t, m, v in targets(runs)]
    return [*lines, ""]


def _verdict(ok: bool, how_far: str) -> str:
    return "yes" if ok else f"**no**: {how_far}"


# -- spread ----------------------------------------------------------------------

# The figures the spread table gives for each scenario: (heading, figure).
SPREAD_FIGURES: dict[str, tuple[tuple[str, Any], ...]] = {
    "broadcast": (
        ("deliv./server CPU-s", lambda r: r.get("deliveries_per_server_cpu_second")),
        ("tier CPU ms / 1,000 deliv.", lambda r: _tier_cpu_per_1000(r)),
        ("p99 ms", lambda r: r.get("latency_ms", {}).get("p99")),
    ),
    "nodes": (
        ("churn p99 ms", lambda r: _steady(r).get("p99")),
        ("server CPU s", lambda r: r.get("cpu_seconds", {}).get(_server(r))),
        ("tier CPU s", lambda r: _tier_cpu(r)),
    ),
    "kubelets": (
        ("kubelet CPU s per node", lambda r: r.get("kubelet_cpu_seconds_per_node")),
        ("start p99 ms", lambda r: r.get("start_latency_ms", {}).get("p99")),
        ("tier CPU s", lambda r: _tier_cpu(r)),
    ),
    "liststorm": (
        ("lists/s", lambda r: r.get("lists_per_second")),
        ("server CPU ms per list", lambda r: r.get("server_cpu_ms_per_list")),
        ("p99 ms", lambda r: r.get("latency_ms", {}).get("p99")),
    ),
    "writes": (
        ("create p50 ms", lambda r: r.get("latency_ms", {}).get("create", {}).get("p50")),
        ("patch p50 ms", lambda r: r.get("latency_ms", {}).get("patch", {}).get("p50")),
        ("delete p50 ms", lambda r: r.get("latency_ms", {}).get("delete", {}).get("p50")),
    ),
}


def _tier_cpu(run: Run) -> float | None:
    """CPU-seconds of the server and, behind a proxy, kube-apiserver's."""
    cpu = run.get("cpu_seconds", {})
    procs = {_server(run)}
    if run["mode"] != "direct" and run["backend"] == "apiserver":
        procs.add("kube-apiserver")
    if any(cpu.get(p) is None for p in procs):
        return None
    return round(float(sum(cpu[p] for p in procs)), 3)


def _tier_cpu_per_1000(run: Run) -> float | None:
    if run["mode"] == "direct":
        return _cpu_per_1000(run, (_server(run),))
    return _cpu_per_1000(run, (_server(run), "kube-apiserver"))


def _spread_section(runs: list[Run], plots: dict[str, str]) -> list[str]:
    """Per step and mode repeated more than once: each figure's median and
    minimum-to-maximum, and the load average the runs began with."""
    groups = [g for g in group_repeats(runs).values() if len(g) > 1]
    if not groups:
        return []
    out = [
        "## Spread over repeated runs",
        "",
        "Each step and mode that ran more than once: the median of each figure with its "
        "minimum and maximum over the runs in brackets, and the machine's 1-minute load "
        "average as each run began (this two-core machine was shared with other work: the "
        "spread includes that noise, and a quiet machine would show a narrower one).",
        "",
        "| step | mode | runs | figures: median [min-max] | load average at start |",
        "|---|---|---|---|---|",
    ]
    for group in groups:
        first = group[0]
        figures = "; ".join(
            f"{heading} {s.text(_digits(s))}"
            for heading, figure in SPREAD_FIGURES.get(first["scenario"], ())
            if (s := spread_of(group, figure)) is not None
        )
        load = load_range(group)
        out.append(
            f"| {first['label']} | {first['mode']} | {len(group)} | {figures} "
            f"| {load.text(2) if load else '-'} |"
        )
    out.append("")
    if "spread" in plots:
        out += [
            f"![Every repeated run, with the load average it began with]({plots['spread']})",
            "",
        ]
    return out


def _digits(s: Spread) -> int:
    return 0 if s.median >= 1000 else 1 if s.median >= 10 else 2


# -- scenarios -------------------------------------------------------------------


def _writes(runs: list[Run]) -> list[str]:
    out = []
    for backend in ("apiserver", "simulator"):
        d, p = find(runs, "writes", backend, "direct"), find(runs, "writes", backend, "proxy")
        if not (d and p):
            continue
        n = d["params"]["requests"]
        out += [
            f"## Writes ({_backend(backend)})",
            "",
            f"{n} of each, one at a time, direct and proxy interleaved. Milliseconds.",
            "",
            "| write | direct p50 | proxy p50 | added p50 | direct p99 | proxy p99 | added p99 |",
            "|---|---|---|---|---|---|---|",
        ]
        for verb, dq in d["latency_ms"].items():
            pq = p["latency_ms"][verb]
            added = p.get("added_ms", {}).get(verb, {})
            out.append(
                f"| {verb} | {dq.get('p50')} | {pq.get('p50')} | {added.get('p50', '-'):+} "
                f"| {dq.get('p99')} | {pq.get('p99')} | {added.get('p99', '-'):+} |"
            )
        out.append("")
    return out


def _broadcast(runs: list[Run], plots: dict[str, str]) -> list[str]:
    chosen = [r for r in runs if r["scenario"] == "broadcast"]
    if not chosen:
        return []
    out = [
        "## Broadcast",
        "",
        "W watchers of every pod in one namespace (100 pods of about 1.5 KB), R patches a "
        "second for the stated time. The writer patches kube-apiserver directly in both "
        "modes: only the watches move. *deliv./server CPU-s* divides the deliveries by the "
        "CPU of the process serving the watchers (kube-apiserver direct, the proxy through "
        "it); kube-apiserver's CPU in proxy mode is what the writes and the proxy's one "
        "watch cost it. *events per write*: the proxy's deliveries per write to its "
        "watchers (its /metrics; --watch-write-window).",
        "",
        "| W | R/s | mode | deliveries | deliv./s | p50 ms | p99 ms | max ms | lost/dup/ooo "
        "| CPU s apiserver / etcd / proxy / gen. | deliv./server CPU-s "
        "| CPU ms per 1,000 deliv. (server) | apiserver watchers (Pod) | generator lag p99 ms "
        "| events per write |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in chosen:
        if "error" in r:
            out.append(f"| {r['label']} | | {r['mode']} | failed: {r['error'][:120]} |")
            continue
        p = r["params"]
        cpu = r["cpu_seconds"]
        server = _server(r)
        per = r["cpu_ms_per_1000_deliveries"].get(server, "-")
        out.append(
            f"| {p['watchers']} | {p['rate']:g} | {_mode(r)} | {r['deliveries']:,} "
            f"| {r['deliveries_per_second']:,} | {_q(r, 'p50')} | {_q(r, 'p99')} | {_q(r, 'max')} "
            f"| {_bad(r)} | {_cpu(cpu)} | {_num(r.get('deliveries_per_server_cpu_second'))} "
            f"| {per} | {r.get('apiserver_watchers_peak', {}).get('Pod', '-')} "
            f"| {r['generator_lag_ms'].get('p99', '-')} "
            f"| {_num(r.get('events_per_write'))} |"
        )
    out.append("")
    for key, caption in (
        (
            "broadcast-headline",
            "The headline point: CPU per 1,000 deliveries, alone and behind the proxy",
        ),
        ("broadcast-latency", "Delivery latency against the number of watchers"),
        (
            "broadcast-cpu",
            "CPU per 1,000 deliveries against the number of watchers, with the tier's total",
        ),
    ):
        if key in plots:
            out += [f"![{caption}]({plots[key]})", ""]
    if not plots:
        out += ["(Plots skipped: matplotlib is not installed; `pip install -e '.[bench]'`.)", ""]
    return out


def _liststorm(runs: list[Run]) -> list[str]:
    chosen = [r for r in runs if r["scenario"] == "liststorm"]
    if not chosen:
        return []
    out = [
        "## List storm",
        "",
        "C clients each listing every pod of one namespace back to back. *rv0*: "
        "resourceVersion=0; *unset*: no resourceVersion (a consistent read: kube-apiserver "
        "1.20 reads etcd; the proxy probes kube-apiserver's current RV with a LIST limit=1, "
        "then answers from its cache once the cache has reached it, or forwards the list "
        "after a 100 ms wait when no pod event proves it); *paged*: no resourceVersion, "
        "limit=500, following `continue` to the end (one list = all pages). "
        "*apiserver LISTs* is what kube-apiserver's own metrics counted for pods.",
        "",
        "| kind | C | pods | mode | lists | lists/s | p50 ms | p99 ms | MB per list | MB/s "
        "| server CPU ms per list | CPU s apiserver / etcd / proxy / gen. | apiserver LISTs |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in chosen:
        if "error" in r:
            out.append(f"| {r['label']} | | | {r['mode']} | failed: {r['error'][:120]} |")
            continue
        p = r["params"]
        out.append(
            f"| {p['kind']} | {p['clients']} | {p['pods']:,} | {_mode(r)} | {r['lists']} "
            f"| {r['lists_per_second']} | {_q(r, 'p50')} | {_q(r, 'p99')} | {r['mb_per_list']} "
            f"| {r['mb_per_second']} | {r['server_cpu_ms_per_list']} | {_cpu(r['cpu_seconds'])} "
            f"| {r.get('apiserver_requests', {}).get('LIST pods', 0) if r['backend'] == 'apiserver' else '-'} |"
        )
    return [*out, ""]


def _steady(run: Run) -> dict[str, Any]:
    """A nodes run's latency over the writes sent during steady churn (older
    result files lack it: then the whole run's)."""
    by_phase: dict[str, dict[str, Any]] = run.get("latency_ms_by_phase", {})
    return by_phase.get("churn") or run.get("latency_ms", {})


def _nodes(runs: list[Run], plots: dict[str, str]) -> list[str]:
    chosen = [r for r in runs if r["scenario"] == "nodes"]
    if not chosen:
        return []
    out = [
        "## Nodes",
        "",
        "Simulated nodes (`benchmarks.nodesim`, kwok's lease schedule): each registers a "
        "Node and a Lease, watches its pods (fieldSelector spec.nodeName) and its Node, "
        "starts its pods (status Running) and finishes their graceful deletes, all through "
        "the endpoint under test. The driver creates the pods, patches them at R a second, "
        "and deletes them. Latency and the lost/dup/ooo check cover each node's pod watch. "
        "*apiserver watchers* is kube-apiserver's own gauge (its watch cache's watchers) at "
        "the run's peak; it includes kube-controller-manager's and, in proxy mode, the "
        "proxy's.",
        "",
        "Latency is given twice: over every write of the run, and over the writes sent "
        "during the steady churn (R patches a second), which excludes the creates and "
        "deletes sent 50 at a time as fast as the server takes them.",
        "",
        "| backend | N | pods | R/s | mode | deliveries | p50 ms | p99 ms | max ms "
        "| churn p50 / p99 ms | lost/dup/ooo "
        "| relists | errors | apiserver watchers Pod / Node | apiserver WATCH requests "
        "| CPU s apiserver / etcd / proxy / gen. | RSS MB server | generator lag p99 ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in chosen:
        if "error" in r:
            out.append(
                f"| {_backend(r['backend'])} | {r['label']} | | | {r['mode']} | failed: {r['error'][:120]} |"
            )
            continue
        p = r["params"]
        peak = r.get("apiserver_watchers_peak", {})
        reqs = r.get("apiserver_requests", {})
        watches = reqs.get("WATCH pods", 0) + reqs.get("WATCH nodes", 0)
        api = r["backend"] == "apiserver"
        rss = r["rss_mb"].get(_server(r), "-")
        watchers = f"{peak.get('Pod', '-')} / {peak.get('Node', '-')}"
        out.append(
            f"| {_backend(r['backend'])} | {p['nodes']:,} | {p['pods']:,} | {p['churn']:g} "
            f"| {_mode(r)} | {r['deliveries']:,} | {_q(r, 'p50')} | {_q(r, 'p99')} | {_q(r, 'max')} "
            f"| {_steady(r).get('p50', '-')} / {_steady(r).get('p99', '-')} "
            f"| {_bad(r)} | {r['relists']} | {r['write_errors'] + r['node_errors']} "
            f"| {watchers if api else '-'} "
            f"| {watches if api else '-'} | {_cpu(r['cpu_seconds'])} | {rss} "
            f"| {r['generator_lag_ms'].get('p99', '-')} |"
        )
    out.append("")
    if "nodes-watchers" in plots:
        out += [
            f"![kube-apiserver's watchers against the number of nodes]({plots['nodes-watchers']})",
            "",
        ]
    if "nodes-latency" in plots:
        out += [
            f"![Delivery latency during steady churn against the number of nodes]"
            f"({plots['nodes-latency']})",
            "",
        ]
    return out


def _kubelets(runs: list[Run]) -> list[str]:
    chosen = [r for r in runs if r["scenario"] == "kubelets"]
    if not chosen:
        return []
    out = [
        "## Kubelets",
        "",
        "Hollow nodes (`kubemark --morph=kubelet`: the kubelet of Kubernetes 1.20 on a fake "
        "container runtime), each given a kubeconfig for the endpoint under test, then pods "
        "bound to them and deleted. *start* is a pod's create to its Running phase, *delete* "
        "its delete to its DELETED event, both seen by a watch of kube-apiserver itself. CPU "
        "and apiserver requests cover the whole step, registration included; the step's own "
        "two pod watches go to kube-apiserver in every mode. The kubelets ask for protobuf: "
        "*direct* kube-apiserver answers it, *proxy* the proxy answers it from its cache, "
        "*proxy-json* a second proxy started with `--protobuf=false` answers their pod and "
        "node reads in JSON from its cache (the rest, forwarded, kube-apiserver answers in "
        "protobuf). The *proxy* CPU column is the CPU of the mode's own proxy. The last "
        "column counts the requests kube-apiserver answered by the Content-Type of its answer "
        "(its `apiserver_request_total`, every resource): the kubelets' protobuf, and the "
        "step's own client's JSON.",
        "",
        "| N | pods | mode | register / start / delete s | start p50 / p99 ms "
        "| delete p50 / p99 ms "
        "| CPU s apiserver / etcd / proxy / gen. | kubelets CPU s | kubelet RSS MB "
        "| apiserver WATCH pods / nodes | apiserver GET+LIST pods / nodes "
        "| apiserver answers protobuf / JSON |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in chosen:
        if "error" in r:
            out.append(f"| {r['label']} | | {r['mode']} | failed: {r['error'][:120]} |")
            continue
        p, reqs = r["params"], r.get("apiserver_requests", {})
        start, delete = r["start_latency_ms"], r["delete_latency_ms"]

        def reads(kind: str, reqs: dict[str, int] = reqs) -> int:
            return reqs.get(f"GET {kind}", 0) + reqs.get(f"LIST {kind}", 0)

        out.append(
            f"| {p['nodes']} | {r['pods']} | {r['mode']} | {r['register_seconds']} / "
            f"{r.get('start_seconds', '-')} / {r.get('delete_seconds', '-')} "
            f"| {start.get('p50', '-')} / {start.get('p99', '-')} "
            f"| {delete.get('p50', '-')} / {delete.get('p99', '-')} | {_cpu(r['cpu_seconds'], _proxy_of(r))} "
            f"| {r['kubelet_cpu_seconds']} | {r['kubelet_rss_mb_mean']} "
            f"| {reqs.get('WATCH pods', 0)} / {reqs.get('WATCH nodes', 0)} "
            f"| {reads('pods')} / {reads('nodes')} | {_content_types(r)} |"
        )
    return [*out, "", *_kubelet_cpu(chosen)]


def _content_types(run: Run) -> str:
    """Requests kube-apiserver answered in protobuf and in JSON (all
    resources: the kubelets' and the step's own JSON client's)."""
    types = run.get("apiserver_content_types")
    if types is None:
        return "-"
    protobuf = sum(n for t, n in types.items() if "protobuf" in t)
    json = sum(n for t, n in types.items() if "json" in t)
    return f"{protobuf:,} / {json:,}"


KUBELET_CPU = ("kubelet_cpu_seconds_per_node", "kubelet_cpu_ms_per_node_second")


def _field(key: str) -> Callable[[Run], Any]:
    return lambda run: run.get(key)


def _kubelet_cpu(runs: list[Run]) -> list[str]:
    """The kubelets' own CPU per node, by mode, against direct (medians over
    repeats when there are several)."""
    ok = [r for r in runs if "error" not in r and "kubelet_cpu_seconds_per_node" in r]
    sizes = sorted({(r["params"]["nodes"], r["params"]["pods_per_node"]) for r in ok})
    if not sizes:
        return []
    out = [
        "### The kubelets' own CPU",
        "",
        "CPU-seconds of the hollow nodes' processes (utime + stime from /proc, every "
        "thread), from their start to the last pod deleted, per node; *per node-second* "
        "divides by the step's wall time too, since an idle kubelet spends CPU all the "
        "while. This is a Go client's cost (client-go's decoders in the 1.20 kubelet) of "
        "protobuf from kube-apiserver against protobuf, then JSON, from the proxy. "
        "Medians over the runs, with min-max in brackets when there were several.",
        "",
        "| N | pods | mode | runs | kubelet CPU s per node | x direct "
        "| CPU ms per node-second | x direct | load average at start |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for nodes, per_node in sizes:
        mine = [
            r
            for r in ok
            if (r["params"]["nodes"], r["params"]["pods_per_node"]) == (nodes, per_node)
        ]
        direct = [r for r in mine if r["mode"] == "direct"]
        base = {key: spread_of(direct, _field(key)) for key in KUBELET_CPU}
        for mode in ("direct", "proxy", "proxy-json"):
            group = [r for r in mine if r["mode"] == mode]
            if not group:
                continue
            cells = []
            for key in KUBELET_CPU:
                s = spread_of(group, _field(key))
                b = base[key]
                cells.append(s.text(2) if s else "-")
                cells.append(f"{s.median / b.median:.2f}" if s and b and b.median else "-")
            load = load_range(group)
            out.append(
                f"| {nodes} | {nodes * per_node} | {mode} | {len(group)} | "
                + " | ".join(cells)
                + f" | {load.text(2) if load else '-'} |"
            )
    return [*out, ""]


def _failures(runs: list[Run]) -> list[str]:
    failed = [r for r in runs if "error" in r]
    if not failed:
        return []
    out = ["## Failed runs", ""]
    out += [f"- {r['label']} ({r['mode']}): `{r['error'][:300]}`" for r in failed]
    return [*out, ""]


# -- cells -----------------------------------------------------------------------


def _server(run: Run) -> str:
    if run["mode"] != "direct":
        return str(run["mode"])  # "proxy", "proxy-json": each proxy's pid by its mode
    return "kube-apiserver" if run["backend"] == "apiserver" else "simulator"


def _proxy_of(run: Run) -> str:
    return "proxy" if run["mode"] == "direct" else str(run["mode"])


def _backend(name: str) -> str:
    return "kube-apiserver 1.20" if name == "apiserver" else "simulator"


def _mode(run: Run) -> str:
    return run["mode"] if run["backend"] == "apiserver" else f"{run['mode']} (simulator)"


def _q(run: Run, q: str) -> Any:
    return run.get("latency_ms", {}).get(q, "-")


def _bad(run: Run) -> str:
    return f"{run['lost']}/{run['duplicated']}/{run['out_of_order']}"


def _cpu(cpu: dict[str, float], proxy: str = "proxy") -> str:
    """apiserver / etcd / proxy / generator; ``proxy`` names which proxy."""
    api = cpu.get("kube-apiserver", cpu.get("simulator", "-"))
    return f"{api} / {cpu.get('etcd', '-')} / {cpu.get(proxy, '-')} / {cpu.get('generator', '-')}"


def _num(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int | float) else "-"


# -- plots -----------------------------------------------------------------------


def _plots(runs: list[Run], out: Path, name: str) -> dict[str, str]:
    """File names of the plots drawn, by key; empty without matplotlib.

    Repeated runs of a step (several JSON files given to ``report``) are
    drawn as their median, with a band (lines) or an error bar (bars) from
    their minimum to their maximum: the spread over the repeats."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return {}
    drawn: dict[str, str] = {}
    ok = [r for r in runs if "error" not in r]
    sweep = [r for r in ok if r["scenario"] == "broadcast" and r["backend"] == "apiserver"]
    rates = sorted(
        {r["params"]["rate"] for r in sweep},
        key=lambda rate: -sum(1 for r in sweep if r["params"]["rate"] == rate),
    )
    if sweep:
        rate = rates[0]  # the rate most points share: the sweep
        points = [r for r in sweep if r["params"]["rate"] == rate]
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for mode, color in (("direct", "tab:red"), ("proxy", "tab:blue")):
            mine = [r for r in points if r["mode"] == mode]
            who = "kube-apiserver" if mode == "direct" else "watchcache serve"
            for q, style in (("p50", "--"), ("p99", "-"), ("max", ":")):
                _line(
                    ax,
                    mine,
                    lambda r: r["params"]["watchers"],
                    lambda r, q=q: r["latency_ms"].get(q),
                    style=style,
                    color=color,
                    label=f"{who} {q}",
                )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("watchers")
        ax.set_ylabel("delivery latency, ms")
        ax.set_title(f"Broadcast, {rate:g} patches/s: write sent to event received")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        drawn["broadcast-latency"] = _save(fig, out, f"{name}-broadcast-latency.png", points)
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for mode, procs, style, color, who in (
            ("direct", ("kube-apiserver",), "-", "tab:red", "kube-apiserver (direct)"),
            ("proxy", ("proxy",), "-", "tab:blue", "watchcache serve (proxy)"),
            ("proxy", ("kube-apiserver",), "-", "tab:orange", "kube-apiserver behind the proxy"),
            (
                "proxy",
                ("proxy", "kube-apiserver"),
                "-.",
                "tab:purple",
                "proxy + kube-apiserver behind it (the tier's total)",
            ),
        ):
            _line(
                ax,
                [r for r in points if r["mode"] == mode],
                lambda r: r["params"]["watchers"],
                lambda r, procs=procs: _cpu_per_1000(r, procs),
                style=style,
                color=color,
                label=who,
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("watchers")
        ax.set_ylabel("CPU ms per 1,000 deliveries")
        ax.set_title(f"Broadcast, {rate:g} patches/s: CPU per 1,000 deliveries")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        drawn["broadcast-cpu"] = _save(fig, out, f"{name}-broadcast-cpu.png", points)
    headline = [
        r for r in sweep if (r["params"]["watchers"], r["params"]["rate"]) == HEADLINE_BROADCAST
    ]
    if headline:
        drawn["broadcast-headline"] = _headline(plt, headline, out, name)
    nodes = [r for r in ok if r["scenario"] == "nodes"]
    on_apiserver = [r for r in nodes if r["backend"] == "apiserver"]
    if on_apiserver:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for mode, color in (("direct", "tab:red"), ("proxy", "tab:blue")):
            _line(
                ax,
                [r for r in on_apiserver if r["mode"] == mode],
                lambda r: r["params"]["nodes"],
                lambda r: sum(r.get("apiserver_watchers_peak", {}).values()),
                style="-",
                color=color,
                label="kube-apiserver (direct)" if mode == "direct" else "behind watchcache serve",
            )
        ax.set_xscale("log")
        ax.set_xlabel("simulated nodes")
        ax.set_ylabel("kube-apiserver's pod + node watchers (peak)")
        ax.set_title("Watches kube-apiserver holds")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        drawn["nodes-watchers"] = _save(fig, out, f"{name}-nodes-watchers.png", on_apiserver)
    if nodes:
        fig, ax = plt.subplots(figsize=(7, 5.5))
        for backend, mode, color, who in (
            ("apiserver", "direct", "tab:red", "kube-apiserver 1.20 (direct)"),
            ("apiserver", "proxy", "tab:blue", "proxy in front of kube-apiserver 1.20"),
            ("simulator", "proxy", "tab:green", "proxy in front of the simulator"),
        ):
            mine = [r for r in nodes if (r["backend"], r["mode"]) == (backend, mode)]
            for q, style in (("p50", "--"), ("p99", "-")):
                _line(
                    ax,
                    mine,
                    lambda r: r["params"]["nodes"],
                    lambda r, q=q: _steady(r).get(q),
                    style=style,
                    color=color,
                    label=f"{who} {q}",
                )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("simulated nodes (each with a pod watch and a node watch)")
        ax.set_ylabel("delivery latency during steady churn, ms")
        ax.set_title("Nodes: write sent to the node's pod watch, up to 5,000 nodes")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)
        drawn["nodes-latency"] = _save(fig, out, f"{name}-nodes-latency.png", nodes)
    spread_plot = _spread_plot(plt, ok, out, name)
    if spread_plot:
        drawn["spread"] = spread_plot
    plt.close("all")
    return drawn


# The headline point: 200 watchers of every pod, 50 patches a second.
HEADLINE_BROADCAST = (200, 50.0)


def _cpu_per_1000(run: Run, processes: tuple[str, ...]) -> float | None:
    """CPU ms per 1,000 deliveries of ``processes`` together; None when a
    process was not measured in ``run``."""
    per = run.get("cpu_ms_per_1000_deliveries", {})
    if any(per.get(p) is None for p in processes):
        return None
    return float(sum(per[p] for p in processes))


def _line(ax: Any, runs: list[Run], x: Any, y: Any, *, style: str, color: str, label: str) -> None:
    """``y`` against ``x``: the median of the runs at each x, and, where an
    x was run more than once, an error bar from their minimum to their
    maximum (a band too between such points)."""
    by_x: dict[float, list[Run]] = {}
    for r in runs:
        by_x.setdefault(x(r), []).append(r)
    rows = [(xv, spread_of(group, y)) for xv, group in sorted(by_x.items())]
    points = [(xv, s) for xv, s in rows if s is not None]
    if not points:
        return
    xs = [xv for xv, _ in points]
    medians = [s.median for _, s in points]
    ax.plot(xs, medians, style, color=color, marker="o", label=label)
    if any(s.count > 1 for _, s in points):
        ax.errorbar(
            xs,
            medians,
            yerr=[[s.median - s.low for _, s in points], [s.high - s.median for _, s in points]],
            fmt="none",
            ecolor=color,
            capsize=3,
            alpha=0.7,
        )
        if len(points) > 1:
            ax.fill_between(
                xs, [s.low for _, s in points], [s.high for _, s in points], color=color, alpha=0.12
            )


def _noise_note(fig: Any, runs: list[Run]) -> None:
    """Under a plot of repeated runs: how many, and the load average they
    began with, since the spread includes the neighbours' noise."""
    per_point = max((len(g) for g in group_repeats(runs).values()), default=1)
    load = load_range(runs)
    if per_point < 2 and load is None:
        return
    text = f"up to {per_point} runs per point: median, min-max bars" if per_point > 1 else ""
    if load is not None:
        text += (
            f"{'; ' if text else ''}1-min load average at run start {load.low:.2f}-{load.high:.2f} "
            f"on {_cores()} cores shared with other work: the spread includes that noise"
        )
    fig.text(0.01, 0.005, text, fontsize=6.5, color="dimgray", ha="left", va="bottom")


def _cores() -> int:
    import os

    return os.cpu_count() or 1


def _headline(plt: Any, runs: list[Run], out: Path, name: str) -> str:
    """Bars at the headline point: CPU per 1,000 deliveries of kube-apiserver
    alone against the proxy and the kube-apiserver behind it, stacked (the
    tier's total), and the p99 latency above each; error bars span the
    repeats."""
    direct = [r for r in runs if r["mode"] == "direct"]
    proxy = [r for r in runs if r["mode"] == "proxy"]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    bars = (
        (0, direct, ("kube-apiserver",), 0.0, "tab:red", "kube-apiserver (direct)"),
        (1, proxy, ("kube-apiserver",), 0.0, "tab:orange", "kube-apiserver behind the proxy"),
        (1, proxy, ("proxy",), None, "tab:blue", "watchcache serve (proxy)"),
    )
    for position, group, procs, bottom, color, who in bars:
        spread = spread_of(group, _cpu_of(procs))
        if spread is None:
            continue
        base = bottom
        if base is None:  # stacked on kube-apiserver behind the proxy
            below = spread_of(group, _cpu_of(("kube-apiserver",)))
            base = below.median if below else 0.0
        median, low, high = spread.median, spread.low, spread.high
        ax.bar(
            position,
            median,
            bottom=base,
            color=color,
            label=who,
            yerr=[[median - low], [high - median]] if len(group) > 1 else None,
            capsize=4,
        )
    for position, group, together in (
        (0, direct, ("kube-apiserver",)),
        (1, proxy, ("kube-apiserver", "proxy")),
    ):
        total = spread_of(group, _cpu_of(together))
        p99 = spread_of(group, lambda r: r["latency_ms"].get("p99"))
        if total is not None and p99 is not None:
            runs_note = (
                f"\n{len(group)} runs: {total.low:.1f}-{total.high:.1f} ms, "
                f"p99 {p99.low:.1f}-{p99.high:.1f} ms"
                if len(group) > 1
                else ""
            )
            ax.annotate(
                f"{total.median:.1f} ms total\np99 {p99.median:.1f} ms{runs_note}",
                (position, total.high),
                textcoords="offset points",
                xytext=(0, 4),
                ha="center",
                fontsize=8,
            )
    watchers, rate = HEADLINE_BROADCAST
    ax.set_xticks([0, 1], ["kube-apiserver alone", "proxy + kube-apiserver"])
    ax.set_ylabel("CPU ms per 1,000 deliveries")
    ax.set_title(f"Broadcast, {watchers} watchers x {rate:g} patches/s: what each costs")
    ax.margins(y=0.25)
    ax.legend(fontsize=8)
    return _save(fig, out, f"{name}-broadcast-headline.png", runs)


def _save(fig: Any, out: Path, file: str, runs: list[Run]) -> str:
    """Write the figure, with the note on repeats and load under it."""
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    _noise_note(fig, runs)
    fig.savefig(out / file, dpi=110)
    return file


def _cpu_of(processes: tuple[str, ...]) -> Callable[[Run], float | None]:
    return lambda run: _cpu_per_1000(run, processes)


def _spread_plot(plt: Any, runs: list[Run], out: Path, name: str) -> str | None:
    """Every run of each repeated step, by repeat: one panel per figure
    (the first two of SPREAD_FIGURES for the scenario), one series per step
    and mode with its median dashed, and the run's 1-minute load average at
    start on the right-hand axis (grey crosses)."""
    groups = [g for g in group_repeats(runs).values() if len(g) > 1]
    panels: list[tuple[str, str, Any]] = []
    for scenario in dict.fromkeys(g[0]["scenario"] for g in groups):
        panels += [(scenario, h, f) for h, f in SPREAD_FIGURES.get(scenario, ())[:2]]
    if not panels:
        return None
    fig, axes = plt.subplots(len(panels), 1, figsize=(7, 2.4 * len(panels) + 0.6), squeeze=False)
    colors = ("tab:red", "tab:blue", "tab:green", "tab:purple", "tab:orange", "tab:brown")
    for ax, (scenario, heading, figure) in zip(axes[:, 0], panels, strict=True):
        mine = [g for g in groups if g[0]["scenario"] == scenario]
        for i, group in enumerate(mine):
            points = [(r.get("repeat", 0), figure(r)) for r in group]
            points = [(x, y) for x, y in points if isinstance(y, int | float)]
            s = spread_of(group, figure)
            if not points or s is None:
                continue
            color = colors[i % len(colors)]
            label = f"{_short(group[0])} {group[0]['mode']}"
            ax.plot([x for x, _ in points], [y for _, y in points], "o", color=color, label=label)
            ax.axhline(s.median, color=color, linestyle="--", linewidth=0.8)
        loads = [
            (r.get("repeat", 0), r["load_average"][0])
            for g in mine
            for r in g
            if r.get("load_average")
        ]
        if loads:
            twin = ax.twinx()
            twin.plot([x for x, _ in loads], [y for _, y in loads], "x", color="grey", alpha=0.6)
            twin.set_ylabel("load avg", fontsize=7, color="grey")
            twin.set_ylim(bottom=0)
            twin.tick_params(labelsize=7, colors="grey")
        ax.set_title(f"{scenario}: {heading}", fontsize=9)
        ax.set_xlabel("repeat", fontsize=8)
        ax.set_xticks(sorted({r.get("repeat", 0) for g in mine for r in g}))
        ax.tick_params(labelsize=7)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=6.5, loc="best")
    return _save(fig, out, f"{name}-spread.png", [r for g in groups for r in g])


def _short(run: Run) -> str:
    """A step's label without its backend, for a legend."""
    return str(run["label"]).removesuffix(f" on {run['backend']}")
