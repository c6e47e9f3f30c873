"""Keeping ``--workers`` worker processes running, and stopping them.

Glossary:
    slot      a worker's index, 0 .. count-1: what a process is started
              for, and started for again when it dies (its control socket
              and its ``worker`` metrics label are named by it)
    launch    the injected coroutine that starts the process for a slot
              (the primary's spawns ``python -m watchcache.workers.worker``);
              the process's ``listening()`` returns once it listens, or
              has exited
    crash     a worker that exited while the supervisor was not stopping,
              by a signal (SIGKILL, the OOM killer) or with any exit code

Decisions:
    - A crashed slot is started again after a backoff that doubles from
      ``backoff_min`` up to ``backoff_max`` for each crash in a row; a
      worker that ran ``stable_after`` seconds or more before it died
      resets the row, so a worker killed once a day restarts at once, and
      one that dies on start does not spin.
    - The other workers go on serving meanwhile: a slot's crash is its
      own (its clients reconnect and resume by RV on a worker that is up).
    - ``stop`` sends SIGTERM to every worker (each drains its watches over
      ``--shutdown-spread`` and closes its listeners, server.py), waits at
      most ``grace`` for all of them, then SIGKILLs what is left. No slot
      is started again once stopping, nor while a backoff is under way.

The clock and sleep are injected: tests run crashes and backoffs without
waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

__all__ = ["Backoff", "Launch", "Supervisor", "WorkerProcess"]

log = logging.getLogger(__name__)


class WorkerProcess(Protocol):
    """What the supervisor needs of a process (asyncio's ``Process`` is one)."""

    @property
    def pid(self) -> int: ...
    @property
    def returncode(self) -> int | None: ...
    async def wait(self) -> int: ...
    async def listening(self) -> None: ...
    def send_signal(self, sig: int) -> None: ...
    def kill(self) -> None: ...


Launch = Callable[[int], Awaitable[WorkerProcess]]


@dataclass(frozen=True)
class Backoff:
    min: float = 0.5
    max: float = 30.0
    # A worker that lived this long before dying restarts after ``min``.
    stable_after: float = 60.0

    def delay(self, crashes_in_row: int) -> float:
        """Before restarting a slot after its ``crashes_in_row``-th crash in a row."""
        return min(self.max, self.min * 2.0 ** max(0, crashes_in_row - 1))


class Supervisor:
    """``count`` slots, each running one worker process while running."""

    def __init__(
        self,
        count: int,
        launch: Launch,
        *,
        backoff: Backoff = Backoff(),
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.count = count
        self._launch = launch
        self.backoff = backoff
        self._clock = clock
        self._sleep = sleep
        self._stopping = asyncio.Event()
        # The live process of each slot (absent while it is being restarted).
        self.processes: dict[int, WorkerProcess] = {}
        # Restarts after a crash, by slot.
        self.restarts = [0] * count
        self._tasks: list[asyncio.Task[None]] = []

    def __repr__(self) -> str:
        pids = {slot: proc.pid for slot, proc in sorted(self.processes.items())}
        return f"<Supervisor workers={pids} restarts={self.restarts} stopping={self.stopping}>"

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    async def start(self) -> None:
        """Start every slot's worker, returning once all listen (or have
        exited); each is kept running (restarted after a crash) until
        ``stop``, which stops them even while this is still waiting."""
        for slot in range(self.count):
            proc = await self._launch(slot)
            self.processes[slot] = proc
            self._tasks.append(asyncio.create_task(self._keep(slot, proc)))
        await asyncio.gather(*(proc.listening() for proc in list(self.processes.values())))

    async def _keep(self, slot: int, proc: WorkerProcess) -> None:
        crashes_in_row = 0
        while True:
            began = self._clock()
            code = await proc.wait()
            self.processes.pop(slot, None)
            if self.stopping:
                return
            lived = self._clock() - began
            crashes_in_row = 1 if lived >= self.backoff.stable_after else crashes_in_row + 1
            delay = self.backoff.delay(crashes_in_row)
            log.warning(
                "worker %d (pid %d) exited with %s after %.1fs; starting it again in %.1fs",
                slot,
                proc.pid,
                _exit_text(code),
                lived,
                delay,
            )
            if not await self._pause(delay):
                return
            proc = await self._launch(slot)
            self.restarts[slot] += 1
            if self.stopping:  # stop() came while it was starting
                _signal(proc, signal.SIGTERM)
                self.processes[slot] = proc
                await proc.wait()
                self.processes.pop(slot, None)
                return
            self.processes[slot] = proc

    async def _pause(self, delay: float) -> bool:
        """Sleep ``delay``; False if ``stop`` came first."""
        stopping = asyncio.ensure_future(self._stopping.wait())
        sleeping = asyncio.ensure_future(self._sleep(delay))
        await asyncio.wait({stopping, sleeping}, return_when=asyncio.FIRST_COMPLETED)
        for task in (stopping, sleeping):
            task.cancel()
        return not self.stopping

    async def stop(self, grace: float) -> None:
        """SIGTERM every worker, wait up to ``grace`` seconds for them all,
        then SIGKILL the rest (see the module's decisions)."""
        self._stopping.set()
        for proc in list(self.processes.values()):
            _signal(proc, signal.SIGTERM)
        waiting = asyncio.gather(*self._tasks, return_exceptions=True)
        try:
            await asyncio.wait_for(asyncio.shield(waiting), grace)
        except TimeoutError:
            for slot, proc in list(self.processes.items()):
                log.warning(
                    "worker %d (pid %d) still running after %.0fs: killed", slot, proc.pid, grace
                )
                _signal(proc, signal.SIGKILL)
            await waiting


def _signal(proc: WorkerProcess, sig: int) -> None:
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        if sig == signal.SIGKILL:
            proc.kill()
        else:
            proc.send_signal(sig)


def _exit_text(code: int) -> str:
    if code >= 0:
        return f"code {code}"
    try:
        return f"signal {signal.Signals(-code).name}"
    except ValueError:
        return f"signal {-code}"
