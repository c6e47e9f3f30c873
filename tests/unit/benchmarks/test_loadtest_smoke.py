"""The load test's one command runs end to end at tiny sizes against the
simulated API server (no control plane): every scenario, direct and
through a real ``watchcache serve`` process, JSON and report written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[3]


def _loadtest_run(*args: str, out: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    """``python -m benchmarks.loadtest run ARGS`` at the quick profile against
    the simulator, writing to ``out``; it must exit 0 within ``timeout``."""
    command = [sys.executable, "-m", "benchmarks.loadtest", "run", *args]
    command += ["--profile", "quick", "--backend", "simulator", "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


# Half a minute on a quiet machine; a loaded one may take several times
# that. The bound only stops a hang.
@pytest.mark.timeout(900)
def test_quick_profile_against_the_simulator(tmp_path: Path) -> None:
    done = _loadtest_run("--name", "smoke", out=tmp_path, timeout=870)
    data = json.loads((tmp_path / "smoke.json").read_text())
    runs = data["runs"]
    assert {r["scenario"] for r in runs} == {"writes", "broadcast", "liststorm", "nodes"}
    assert {r["mode"] for r in runs} == {"direct", "proxy"}
    assert not [r for r in runs if "error" in r]
    broadcast = [r for r in runs if r["scenario"] == "broadcast"]
    for run in broadcast:
        # 10 watchers x 30 patches, each seen once by each watcher
        assert run["deliveries"] == 10 * run["writes"] == 300
        assert run["cpu_seconds"]["proxy"] >= 0 and run["cpu_seconds"]["simulator"] > 0
    assert "done:" in done.stderr  # the progress lines
    report = (tmp_path / "smoke.md").read_text()
    assert "## Broadcast" in report and "## Nodes" in report


@pytest.mark.timeout(600)
def test_repeat_runs_the_steps_again_and_keeps_every_run(tmp_path: Path) -> None:
    _loadtest_run("writes", "--repeat", "2", "--name", "again", out=tmp_path, timeout=570)
    data = json.loads((tmp_path / "again.json").read_text())
    assert data["meta"]["repeats"] == 2
    seen = sorted((r["repeat"], r["mode"]) for r in data["runs"])
    assert seen == [(0, "direct"), (0, "proxy"), (1, "direct"), (1, "proxy")]
    for run in data["runs"]:
        assert len(run["load_average"]) == 3 and len(run["load_average_end"]) == 3
    report = (tmp_path / "again.md").read_text()
    assert "## Spread over repeated runs" in report
