"""``python -m benchmarks.loadtest``: the load test, one command.

    python -m benchmarks.loadtest run all --profile full   # the report in docs/benchmarks
    python -m benchmarks.loadtest run broadcast --profile quick --out /tmp/lt
    python -m benchmarks.loadtest run --profile spread --repeat 4   # the spread
    python -m benchmarks.loadtest report docs/benchmarks/loadtest.json

``run`` starts what the chosen steps need (a dev cluster: etcd +
kube-apiserver 1.20; ``watchcache serve`` in front of it over TLS; the
simulated API server and a proxy in front of it for the large node
counts), runs every step directly and through the proxy, prints progress
on stderr, writes ``NAME.json`` into ``--out`` and renders ``NAME.md``
with its plots beside it. ``--repeat R`` runs the chosen steps R times
over (the whole list, again and again, on the same servers): the JSON
keeps every run, tagged with its repeat and the load average, and the
report plots each point's median with its spread. ``report`` renders
again from a JSON file, or from several of them as one.
``--backend simulator`` runs the apiserver steps against the simulator
instead, less those only a real kube-apiserver can carry (kubelets) (no control plane needed: what the unit smoke test does).

Exit status: 0 when every step ran and no watcher lost, duplicated or
reordered an event; 1 otherwise (the report is written either way).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

import uvloop

from benchmarks.loadtest.meter import Meter
from benchmarks.loadtest.profiles import APISERVER_ONLY, PROFILES, SCENARIOS, Step
from benchmarks.loadtest.progress import Progress
from benchmarks.loadtest.report import combine, render
from benchmarks.loadtest.stack import Stack
from benchmarks.loadtest.suite import machine_info, run_identity, run_steps, step_dict
from benchmarks.nodesim.driver import raise_open_file_limit

DEFAULT_OUT = Path(__file__).parents[2] / "docs" / "benchmarks"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.loadtest",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run scenarios and write the report")
    run.add_argument(
        "scenarios",
        nargs="*",
        metavar="SCENARIO",
        help=f"all (the default) or some of: {', '.join(SCENARIOS)}",
    )
    run.add_argument("--profile", choices=sorted(PROFILES), default="quick")
    run.add_argument(
        "--backend",
        choices=("apiserver", "simulator"),
        help="run every step against this backend (default: each step's own)",
    )
    run.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="directory (default: %(default)s)"
    )
    run.add_argument("--name", default=None, help="file name stem (default: loadtest-PROFILE)")
    run.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="R",
        help="run the chosen steps R times over; the report plots each point's median and "
        "spread (default: %(default)s)",
    )
    run.add_argument(
        "--py-spy",
        type=Path,
        metavar="DIR",
        help="record the proxy with py-spy during each proxy-mode broadcast and list phase",
    )
    report = sub.add_parser(
        "report",
        help="render the markdown report from a JSON file, or from several runs of the "
        "same steps (their spread is plotted), written beside the first as --name",
    )
    report.add_argument("json", type=Path, nargs="+")
    report.add_argument("--name", help="the report's name (default: the first file's stem)")
    args = parser.parse_args(argv)

    if args.command == "run":
        args.scenarios = args.scenarios or ["all"]
        unknown = set(args.scenarios) - {"all", *SCENARIOS}
        if unknown:
            parser.error(f"unknown scenario {', '.join(sorted(unknown))}")
        if args.repeat < 1:
            parser.error("--repeat must be at least 1")
    if args.command == "report":
        datas = [json.loads(path.read_text()) for path in args.json]
        data = datas[0] if len(datas) == 1 else combine(datas)
        first = args.json[0]
        print(render(data, first.parent, args.name or first.stem))
        return 0
    return _run(args, argv)


def _run(args: argparse.Namespace, argv: list[str]) -> int:
    steps = _select(PROFILES[args.profile], args.scenarios, args.backend)
    name = args.name or f"loadtest-{args.profile}"
    args.out.mkdir(parents=True, exist_ok=True)
    raise_open_file_limit(65536)
    Meter.profile_dir = args.py_spy
    progress = Progress(sum(len(s.modes) for s in steps) * args.repeat)
    identity = run_identity(argv)
    with Stack(log=progress.note) as stack:
        runs = uvloop.run(run_steps(steps, stack, progress, args.repeat))
        meta = machine_info(stack, argv, identity)
    data: dict[str, Any] = {
        "meta": {
            **meta,
            "profile": args.profile,
            "repeats": args.repeat,
            "steps": [step_dict(s) for s in steps],
        },
        "runs": runs,
    }
    path = args.out / f"{name}.json"
    path.write_text(json.dumps(data, indent=1) + "\n")
    report = render(data, args.out, name)
    print(f"wrote {path} and {report}", file=sys.stderr)
    return 0 if _clean(runs) else 1


def _select(steps: list[Step], scenarios: list[str], backend: str | None) -> list[Step]:
    chosen = [s for s in steps if "all" in scenarios or s.scenario in scenarios]
    if backend == "simulator":
        chosen = [s for s in chosen if s.scenario not in APISERVER_ONLY]
    if backend:
        chosen = [dataclasses.replace(s, backend=backend) for s in chosen]
    return chosen


def _clean(runs: list[dict[str, Any]]) -> bool:
    return all(
        "error" not in r and not any(r.get(k) for k in ("lost", "duplicated", "out_of_order"))
        for r in runs
    )


if __name__ == "__main__":
    raise SystemExit(main())
