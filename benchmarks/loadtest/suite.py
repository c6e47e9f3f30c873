"""Running a list of steps and writing what they measured.

A step that fails is recorded with its error and the suite goes on: a
report with a hole in it, marked, is worth more than no report.

The JSON written has two keys: ``meta`` (machine, versions, the exact
command, when) and ``runs`` (one object per step, mode and repeat, with
the step's ``scenario``, ``backend``, ``mode`` and ``label``, ``repeat``
(0 to R-1 under ``--repeat R``) and ``load_average``: the machine's 1-,
5- and 15-minute load averages as the run began and ``load_average_end``
as it ended, because on a shared machine the neighbours are part of
every figure).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import platform
import subprocess
import sys
import time
import traceback
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks.loadtest.broadcast import BroadcastPoint, run_broadcast
from benchmarks.loadtest.kubelets import KubeletsPoint, run_kubelets
from benchmarks.loadtest.liststorm import ListPoint, run_liststorm
from benchmarks.loadtest.nodes import NodesPoint, run_nodes
from benchmarks.loadtest.profiles import Step
from benchmarks.loadtest.progress import Progress
from benchmarks.loadtest.stack import Stack
from benchmarks.loadtest.writes import WritesPoint, run_writes

__all__ = ["machine_info", "run_identity", "run_steps"]

ROOT = Path(__file__).parents[2]


async def run_steps(
    steps: list[Step], stack: Stack, progress: Progress, repeats: int = 1
) -> list[dict[str, Any]]:
    """Every step in every mode, the whole list ``repeats`` times over
    (the same servers throughout)."""
    runs: list[dict[str, Any]] = []
    for repeat in range(repeats):
        for step in steps:
            base = {
                "scenario": step.scenario,
                "backend": step.backend,
                "label": step.label,
                "repeat": repeat,
            }
            try:
                backend = stack.backend(step.backend, step.modes)
            except Exception as err:
                runs += [{**base, "mode": m, "error": repr(err)} for m in step.modes]
                progress.note(f"{step.label}: could not start the {step.backend}: {err!r}")
                continue
            for mode, result in (await _run_step(step, backend, progress)).items():
                runs.append({**base, "mode": mode, **result})
    return runs


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


async def _run_step(step: Step, backend: Any, progress: Progress) -> dict[str, dict[str, Any]]:
    point = step.point
    if isinstance(point, WritesPoint):
        progress.begin(f"{step.label}, {' and '.join(step.modes)} interleaved")
        load = _load()
        try:
            results = await run_writes(backend, step.modes, point, progress)
        except Exception as err:
            results = {m: _failed(err) for m in step.modes}
        for mode in step.modes:
            results[mode] |= {"load_average": load, "load_average_end": _load()}
            progress.end(_summary(step.scenario, results[mode]))
        return results
    results = {}
    for mode in step.modes:
        progress.begin(f"{step.label}, {mode}")
        load = _load()
        try:
            match point:
                case BroadcastPoint():
                    results[mode] = await run_broadcast(backend, mode, point, progress)
                case ListPoint():
                    results[mode] = await run_liststorm(backend, mode, point, progress)
                case NodesPoint():
                    results[mode] = await run_nodes(backend, mode, point, progress)
                case KubeletsPoint():
                    results[mode] = await run_kubelets(backend, mode, point, progress)
        except Exception as err:
            results[mode] = _failed(err)
        results[mode] |= {"load_average": load, "load_average_end": _load()}
        progress.end(_summary(step.scenario, results[mode]))
        await asyncio.sleep(1)  # let the servers finish what the step left behind
    return results


def _failed(err: BaseException) -> dict[str, Any]:
    return {"error": repr(err), "traceback": traceback.format_exc()[-2000:]}


def _summary(scenario: str, result: dict[str, Any]) -> str:
    if "error" in result:
        return f"FAILED {result['error'][:200]}"
    latency = result.get("latency_ms", {})
    if scenario == "writes":
        parts = [f"{verb} p50 {q.get('p50')} ms" for verb, q in latency.items()]
        return ", ".join(parts)
    text = f"p50 {latency.get('p50')} ms p99 {latency.get('p99')} ms"
    if scenario == "kubelets":
        start, delete = result["start_latency_ms"], result["delete_latency_ms"]
        return (
            f"{result['pods']} pods Running: start p50 {start.get('p50')} ms "
            f"p99 {start.get('p99')} ms, delete p50 {delete.get('p50')} ms, "
            f"kubelets {result['kubelet_cpu_seconds']} CPU-s"
        )
    if scenario == "liststorm":
        return f"{result['lists']} lists, {text}, {result['mb_per_second']} MB/s"
    return (
        f"{result['deliveries']} deliveries, {text}, lost {result['lost']} "
        f"dup {result['duplicated']} ooo {result['out_of_order']}"
    )


def run_identity(argv: list[str]) -> dict[str, Any]:
    """What was run, read as the run begins: a run takes minutes, and the
    checkout may move on meanwhile."""
    return {
        "when": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "command": " ".join(["python", "-m", "benchmarks.loadtest", *argv]),
        "commit": _git("rev-parse", "--short", "HEAD"),
        "dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
        "load_average_at_start": list(os.getloadavg()),
    }


def machine_info(
    stack: Stack, argv: list[str], identity: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The machine and versions (read once the servers have started), and
    ``identity`` (``run_identity``, taken at the start) or one taken now."""
    identity = identity or run_identity(argv)
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kib = int(f.readline().split()[1])
    versions = {"python": platform.python_version()}
    for package in ("watchcache", "aiohttp", "uvloop", "msgspec"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "?"
    for backend in stack.started():
        versions.update(backend.versions)
    return {
        "when": identity["when"],
        "command": identity["command"],
        "commit": identity["commit"],
        "dirty": identity["dirty"],
        "machine": {
            "cpu": cpu,
            "cores": os.cpu_count(),
            "memory_gib": round(mem_kib / 2**20, 1),
            "kernel": platform.release(),
            "os": _os_name(),
            "load_average_at_start": identity["load_average_at_start"],
        },
        "versions": versions,
        "python_executable": sys.executable,
    }


def step_dict(step: Step) -> dict[str, Any]:
    return {
        "scenario": step.scenario,
        "backend": step.backend,
        "modes": list(step.modes),
        **dataclasses.asdict(step.point),
    }


def _git(*args: str) -> str:
    try:
        done = subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=False
        )
    except OSError:
        return ""
    return done.stdout.strip()


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return platform.system()
