"""CPU-seconds and memory of other processes, read from /proc.

On a shared two-core machine wall time says little about cost: a server
that waited for a core looks slow, not expensive. The kernel's own count
of the CPU time each process used (``utime + stime`` in
``/proc/PID/stat``) is what the load test compares, between two samples
taken around a measured phase.

Glossary:
    sample   one reading of a set of named processes: CPU-seconds so far
             (and of them, the kernel's: ``stime``), resident set size
             now (VmRSS) and its peak (VmHWM)
    delta    CPU-seconds used between two samples, per process
"""

from __future__ import annotations

import os
import resource
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "ProcSample",
    "cpu_delta",
    "parse_stat_cpu",
    "parse_stat_times",
    "parse_status_kib",
    "sample",
    "self_cpu",
    "system_delta",
]

_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class ProcSample:
    cpu_seconds: float
    rss_bytes: int
    peak_rss_bytes: int
    system_seconds: float = 0.0  # of cpu_seconds, in the kernel (stime)


def parse_stat_times(stat: str, ticks_per_second: int = _TICKS) -> tuple[float, float]:
    """utime and stime of one ``/proc/PID/stat`` line, in seconds.

    The command name (field 2) is in parentheses and may hold spaces, so
    fields are counted from the last ``)``: utime and stime are fields 14
    and 15 of the line, the 12th and 13th after the name.
    """
    after_name = stat[stat.rindex(")") + 2 :].split()
    return int(after_name[11]) / ticks_per_second, int(after_name[12]) / ticks_per_second


def parse_stat_cpu(stat: str, ticks_per_second: int = _TICKS) -> float:
    """utime + stime of one ``/proc/PID/stat`` line, in seconds."""
    return sum(parse_stat_times(stat, ticks_per_second))


def parse_status_kib(status: str, key: str) -> int:
    """A ``kB`` field of ``/proc/PID/status`` (VmRSS, VmHWM), in bytes."""
    for line in status.splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    return 0


def sample(pids: Mapping[str, int]) -> dict[str, ProcSample]:
    """Each named process now; a process that is gone is left out."""
    found = {}
    for name, pid in pids.items():
        try:
            with open(f"/proc/{pid}/stat") as f:
                user, system = parse_stat_times(f.read())
            with open(f"/proc/{pid}/status") as f:
                status = f.read()
        except (FileNotFoundError, ProcessLookupError):
            continue
        found[name] = ProcSample(
            user + system,
            parse_status_kib(status, "VmRSS"),
            parse_status_kib(status, "VmHWM"),
            system,
        )
    return found


def self_cpu() -> float:
    """This process's CPU-seconds (the load generator's own cost)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def cpu_delta(
    before: Mapping[str, ProcSample], after: Mapping[str, ProcSample], field: str = "cpu_seconds"
) -> dict[str, float]:
    """CPU-seconds each process used between two samples (both must have
    it); of them, the kernel's with ``field="system_seconds"``."""
    return {
        name: round(getattr(after[name], field) - getattr(before[name], field), 3)
        for name in after
        if name in before
    }


def system_delta(
    before: Mapping[str, ProcSample], after: Mapping[str, ProcSample]
) -> dict[str, float]:
    """Of ``cpu_delta``, the seconds each process spent in the kernel."""
    return cpu_delta(before, after, "system_seconds")
