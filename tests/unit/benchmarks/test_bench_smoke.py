"""The fan-out benchmarks still run (tiny sizes): a benchmark that breaks
silently when an interface changes reports nothing at all."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[3]


@pytest.mark.parametrize(
    ("script", "args", "expected"),
    [
        ("bench_fanout_dispatch.py", ["--events", "200"], "ratio to 100"),
        (
            "bench_fanout_broadcast.py",
            ["--watchers", "20", "--events", "64", "--idle", "20"],
            "ratio watchcache / ceiling",
        ),
        (
            "bench_fanout_broadcast.py",
            ["--watchers", "20", "--events", "64", "--idle", "0", "--per-tick", "1", "--tls"],
            "1 per loop tick, TLS",
        ),
        ("bench_table.py", ["--pods", "50", "--rounds", "1"], "ratio table(Metadata) / json list"),
        (
            "bench_cache_persist.py",
            ["--pods", "50", "--events", "10", "--rounds", "1"],
            "ratio load (read + restore) / baseline",
        ),
        ("bench_protobuf.py", ["--pods", "20", "--repeat", "1"], "ratio protobuf encode"),
        (
            "bench_auth.py",
            ["--requests", "50", "--watchers", "20", "--events", "32"],
            "deliveries/CPU-s",
        ),
        ("bench_compression.py", ["--pods", "300", "--rounds", "1"], "| gzip isal 1 |"),
        (
            "bench_fairness.py",
            ["--pods", "240", "--storm", "4", "--seconds", "0.5", "--rounds", "1"],
            "p99 ratio storm, bound 8 / no storm",
        ),
        (
            "bench_reflector_recovery.py",
            ["--rate", "10", "--cuts", "1", "--every", "0.5", "--trouble", "1"],
            "429+503 every",
        ),
    ],
)
def test_benchmark_runs(script: str, args: list[str], expected: str) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args],
        capture_output=True,
        text=True,
        timeout=290,  # seconds on a quiet machine; the bound only stops a hang
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},  # for ``from benchmarks.x import``
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert expected in done.stdout
