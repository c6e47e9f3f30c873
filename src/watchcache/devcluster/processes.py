"""Starting and stopping exactly the processes a dev cluster owns.

A started process is identified by its pid *and* its start time (field 22 of
/proc/PID/stat), so a later ``stop`` from another process (``watchcache
dev-cluster down``) never signals an unrelated process that reused the pid.

Each child runs in a session of its own, so a Ctrl-C in the terminal reaches
only the parent, which then stops the children in order. With
``tie_to_parent`` the kernel also kills a child when its parent dies
(PR_SET_PDEATHSIG), which covers a test runner killed by SIGKILL.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["OwnedProcess", "spawn"]

_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class OwnedProcess:
    name: str
    pid: int
    start_time: int
    log: Path

    def alive(self) -> bool:
        """True while the process we started (not a pid reuser) still runs."""
        current = _start_time(self.pid)
        return current is not None and current == self.start_time and not _is_zombie(self.pid)

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM, wait up to ``grace`` seconds, then SIGKILL."""
        if not self.alive():
            _reap(self.pid)
            return
        os.kill(self.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            _reap(self.pid)
            if not self.alive():
                return
            time.sleep(0.05)
        if self.alive():
            os.kill(self.pid, signal.SIGKILL)
        for _ in range(100):
            _reap(self.pid)
            if not self.alive():
                return
            time.sleep(0.02)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "pid": self.pid,
            "start_time": self.start_time,
            "log": str(self.log),
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> OwnedProcess:
        return cls(
            str(data["name"]),
            int(str(data["pid"])),
            int(str(data["start_time"])),
            Path(str(data["log"])),
        )


def spawn(name: str, argv: Sequence[str | Path], log: Path, *, tie_to_parent: bool) -> OwnedProcess:
    """Start ``argv`` with its output in ``log``; return its identity."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [str(a) for a in argv],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent if tie_to_parent else None,
        )
    # Popen's own handle is dropped on purpose: stop() works from the pid, so
    # a detached cluster and an in-process one are stopped the same way.
    proc.returncode = 0  # keeps Popen.__del__ from warning about a running child
    start = _start_time(proc.pid)
    if start is None:
        raise RuntimeError(f"{name} exited at once; log: {log}")
    return OwnedProcess(name, proc.pid, start, log)


def _die_with_parent() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces; it ends at the last ')'.
    return raw[raw.rindex(")") + 2 :].split()


def _start_time(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[19]) if fields else None  # field 22 overall


def _is_zombie(pid: int) -> bool:
    fields = _stat_fields(pid)
    return bool(fields) and fields[0] == "Z"  # type: ignore[index]


def _reap(pid: int) -> None:
    """Collect our own exited child so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
