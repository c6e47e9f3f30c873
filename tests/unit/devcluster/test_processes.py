from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.polling import until_blocking

from watchcache.devcluster.processes import OwnedProcess, spawn


def test_spawned_process_runs_logs_and_stops(tmp_path: Path) -> None:
    proc = spawn(
        "sleeper", ["sh", "-c", "echo hello; exec sleep 60"], tmp_path / "s.log", tie_to_parent=True
    )
    assert proc.alive()
    until_blocking(lambda: "hello" in proc.log_tail(), "hello in the log", timeout=60)
    proc.stop(grace=5)
    assert not proc.alive()


def test_stop_escalates_to_sigkill_when_sigterm_is_ignored(tmp_path: Path) -> None:
    proc = spawn(
        "stubborn",
        [
            sys.executable,
            "-c",
            "import signal,time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint('ready', flush=True)\ntime.sleep(60)",
        ],
        tmp_path / "s.log",
        tie_to_parent=True,
    )
    until_blocking(lambda: "ready" in proc.log_tail(), "ready in the log", timeout=60)
    # Without the SIGKILL after the grace, stop() would return with the
    # process still running (it ignores SIGTERM and sleeps a minute).
    proc.stop(grace=0.5)
    assert not proc.alive()


def test_a_reused_pid_is_not_ours(tmp_path: Path) -> None:
    """A record whose start time differs is another process: never signalled."""
    victim = subprocess.Popen(["sleep", "60"])
    try:
        impostor = OwnedProcess("x", victim.pid, start_time=1, log=tmp_path / "none")
        assert not impostor.alive()
        impostor.stop(grace=0.1)
        assert victim.poll() is None, "stop() signalled a process it did not start"
    finally:
        victim.kill()
        victim.wait()


def test_round_trips_through_json(tmp_path: Path) -> None:
    proc = spawn("sleeper", ["sleep", "60"], tmp_path / "s.log", tie_to_parent=True)
    try:
        again = OwnedProcess.from_json(proc.to_json())
        assert again == proc and again.alive()
    finally:
        proc.stop()


def test_tied_children_die_with_a_killed_parent(tmp_path: Path) -> None:
    """What happens when pytest itself is SIGKILLed: the kernel kills the
    cluster's processes (PR_SET_PDEATHSIG), so nothing is left behind."""
    pid_file = tmp_path / "child.pid"
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
        import time
        from pathlib import Path
        from watchcache.devcluster.processes import spawn
        proc = spawn("child", ["sleep", "60"], Path({str(tmp_path / "c.log")!r}), tie_to_parent=True)
        Path({str(pid_file)!r}).write_text(str(proc.pid))
        time.sleep(60)
    """),
        ]
    )
    try:
        until_blocking(pid_file.exists, "the pid file", timeout=60)
        child = int(pid_file.read_text())
        assert Path(f"/proc/{child}").exists()
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        until_blocking(
            lambda: _gone_or_zombie(child), "the tied child to die with its parent", timeout=60
        )
    finally:
        parent.kill()
        parent.wait()


def _gone_or_zombie(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    if state == "Z":
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        return True
    return False
