"""What one measured phase cost: CPU-seconds and memory of every process,
and the requests and watchers kube-apiserver itself counted.

``Meter`` is started just before a scenario's measured phase, frozen
just after it (CPU read), and reports once the phase's connections have
closed (kube-apiserver's request counters). While running it polls kube-apiserver's watcher gauge once
a second (the gauge is a level, so its peak is what a run reports) and
every process's RSS.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, ClassVar

from benchmarks.loadtest import procstat
from benchmarks.loadtest.apimetrics import (
    ApiCounters,
    content_type_delta,
    parse_metrics,
    request_delta,
)
from benchmarks.loadtest.stack import Backend
from benchmarks.nodesim.target import Target

__all__ = ["Meter", "per_thousand"]

POLL_SECONDS = 1.0


class Meter:
    # Set by ``run --py-spy DIR``: each measured phase in proxy mode records
    # the proxy with py-spy into DIR/<profile_name>.txt (collapsed stacks).
    profile_dir: ClassVar[Path | None] = None

    def __init__(self, backend: Backend, admin: Target, profile_name: str | None = None) -> None:
        self.backend = backend
        self._profile_name = profile_name
        self._spy: subprocess.Popen[bytes] | None = None
        self.admin = admin  # a session to the backend itself, for /metrics
        self._before: dict[str, procstat.ProcSample] = {}
        self._api_before: ApiCounters | None = None
        self._peak_watchers: dict[str, float] = {}
        self._peak_rss: dict[str, int] = {}
        self._poller: asyncio.Task[None] | None = None
        self._started = 0.0
        self._self_before = 0.0
        self._after: dict[str, procstat.ProcSample] | None = None
        self._self_after = 0.0
        self._wall = 0.0

    async def start(self) -> None:
        self._api_before = await self._scrape()
        self._before = procstat.sample(self.backend.pids)
        self._self_before = procstat.self_cpu()
        self._started = time.monotonic()
        self._poller = asyncio.get_running_loop().create_task(self._poll())
        self._start_profile()

    def freeze(self) -> None:
        """End the measured phase: CPU and wall time are read now."""
        self._after = procstat.sample(self.backend.pids)
        self._self_after = procstat.self_cpu()
        self._wall = time.monotonic() - self._started
        if self._poller:
            self._poller.cancel()
        self._stop_profile()

    def _start_profile(self) -> None:
        # In a venv that is not activated, py-spy sits beside the interpreter.
        spy = shutil.which("py-spy") or shutil.which(
            "py-spy", path=str(Path(sys.executable).parent)
        )
        if not (self.profile_dir and self._profile_name and spy and "proxy" in self.backend.pids):
            return
        self.profile_dir.mkdir(parents=True, exist_ok=True)
        out = self.profile_dir / f"{self._profile_name}.txt"
        pid = str(self.backend.pids["proxy"])
        self._spy = subprocess.Popen(
            [spy, "record", "--pid", pid, "--format", "raw", "--rate", "100", "-o", str(out)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def _stop_profile(self) -> None:
        if self._spy is None:
            return
        self._spy.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        try:
            self._spy.wait(30)
        except subprocess.TimeoutExpired:
            self._spy.kill()
        self._spy = None

    async def report(self) -> dict[str, Any]:
        """The phase's cost. Call after the phase's watches have closed:
        kube-apiserver counts a WATCH request when it ends."""
        if self._after is None:
            self.freeze()
        after = self._after or {}
        cpu = procstat.cpu_delta(self._before, after)
        cpu["generator"] = round(self._self_after - self._self_before, 3)
        wall = self._wall
        await asyncio.sleep(0.3)
        api_after = await self._scrape()
        for name, s in after.items():
            self._peak_rss[name] = max(self._peak_rss.get(name, 0), s.rss_bytes)
        result: dict[str, Any] = {
            "wall_seconds": round(wall, 2),
            "cpu_seconds": cpu,
            "system_cpu_seconds": procstat.system_delta(self._before, after),
            "rss_mb": {name: round(b / 2**20, 1) for name, b in self._peak_rss.items()},
        }
        if self._api_before is not None and api_after is not None:
            result["apiserver_requests"] = request_delta(self._api_before, api_after)
            result["apiserver_content_types"] = content_type_delta(self._api_before, api_after)
            result["apiserver_watchers_peak"] = {
                kind: int(n) for kind, n in self._peak_watchers.items() if kind in ("Pod", "Node")
            }
        return result

    async def _poll(self) -> None:
        while True:
            for name, s in procstat.sample(self.backend.pids).items():
                self._peak_rss[name] = max(self._peak_rss.get(name, 0), s.rss_bytes)
            counters = await self._scrape()
            if counters is not None:
                for kind, n in counters.watchers.items():
                    self._peak_watchers[kind] = max(self._peak_watchers.get(kind, 0), n)
            await asyncio.sleep(POLL_SECONDS)

    async def _scrape(self) -> ApiCounters | None:
        if self.backend.name != "apiserver":
            return None
        async with self.admin.session.get("/metrics") as resp:
            text = await resp.text()
        return parse_metrics(text)


def per_thousand(cpu: dict[str, float], deliveries: int) -> dict[str, float]:
    """Milliseconds of CPU per 1,000 deliveries, per process."""
    if not deliveries:
        return {}
    return {name: round(seconds * 1e6 / deliveries, 2) for name, seconds in cpu.items()}
