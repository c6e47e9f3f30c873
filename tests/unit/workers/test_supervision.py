"""supervision.py: N workers kept running, restarted with a bounded backoff,
stopped by SIGTERM then SIGKILL; the clock and sleep injected."""

from __future__ import annotations

import asyncio
import signal

import pytest

from watchcache.workers.supervision import Backoff, Supervisor


class FakeProcess:
    """A worker process whose exit the test decides."""

    next_pid = 100

    def __init__(self, slot: int, *, obeys_sigterm: bool = True) -> None:
        FakeProcess.next_pid += 1
        self.pid = FakeProcess.next_pid
        self.slot = slot
        self.returncode: int | None = None
        self.signals: list[int] = []
        self.obeys_sigterm = obeys_sigterm
        self._exited = asyncio.Event()
        self._listening = asyncio.Event()

    def exit(self, code: int) -> None:
        self.returncode = code
        self._exited.set()
        self._listening.set()

    def listen(self) -> None:
        self._listening.set()

    async def wait(self) -> int:
        await self._exited.wait()
        assert self.returncode is not None
        return self.returncode

    async def listening(self) -> None:
        await self._listening.wait()

    def send_signal(self, sig: int) -> None:
        self.signals.append(sig)
        if self.obeys_sigterm:
            self.exit(-sig)

    def kill(self) -> None:
        self.signals.append(signal.SIGKILL)
        self.exit(-signal.SIGKILL)


class Launcher:
    def __init__(self, *, obeys_sigterm: bool = True) -> None:
        self.started: list[FakeProcess] = []
        self.launched = asyncio.Condition()
        self.obeys_sigterm = obeys_sigterm

    async def __call__(self, slot: int) -> FakeProcess:
        proc = FakeProcess(slot, obeys_sigterm=self.obeys_sigterm)
        proc.listen()
        async with self.launched:
            self.started.append(proc)
            self.launched.notify_all()
        return proc

    async def until(self, count: int) -> None:
        async with self.launched:
            await asyncio.wait_for(self.launched.wait_for(lambda: len(self.started) >= count), 10)


class Clock:
    """Time that moves only when the supervisor sleeps, or the test says."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.slept.append(delay)
        self.now += delay


def supervisor(launcher: Launcher, clock: Clock, count: int = 2) -> Supervisor:
    backoff = Backoff(min=0.5, max=4.0, stable_after=60.0)
    return Supervisor(count, launcher, backoff=backoff, clock=clock, sleep=clock.sleep)


def test_backoff_doubles_up_to_its_bound() -> None:
    backoff = Backoff(min=0.5, max=4.0)
    assert [backoff.delay(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


async def test_start_launches_every_slot_and_returns_once_they_listen() -> None:
    launcher, clock = Launcher(), Clock()
    sup = supervisor(launcher, clock, count=3)
    await sup.start()
    assert [p.slot for p in launcher.started] == [0, 1, 2]
    assert set(sup.processes) == {0, 1, 2}
    await sup.stop(grace=5)


async def test_a_crashed_worker_is_started_again_in_its_slot_others_untouched() -> None:
    launcher, clock = Launcher(), Clock()
    sup = supervisor(launcher, clock)
    await sup.start()
    first, second = launcher.started
    clock.now = 100.0  # it ran long: no crash in a row before this one
    first.exit(-signal.SIGKILL)
    await launcher.until(3)
    assert launcher.started[2].slot == 0
    assert sup.restarts == [1, 0]
    assert clock.slept == [0.5]
    assert second.returncode is None and second.signals == []
    await sup.stop(grace=5)


async def test_crashes_in_a_row_back_off_longer_and_a_stable_run_resets_it() -> None:
    launcher, clock = Launcher(), Clock()
    sup = supervisor(launcher, clock, count=1)
    await sup.start()
    for n in range(5):  # each dies at once after its start
        launcher.started[-1].exit(1)
        await launcher.until(n + 2)
    assert clock.slept == [0.5, 1.0, 2.0, 4.0, 4.0]
    clock.now += 61.0  # the sixth lives past stable_after
    launcher.started[-1].exit(1)
    await launcher.until(7)
    assert clock.slept[-1] == 0.5
    assert sup.restarts == [6]
    await sup.stop(grace=5)


async def test_stop_sends_sigterm_and_restarts_nothing() -> None:
    launcher, clock = Launcher(), Clock()
    sup = supervisor(launcher, clock)
    await sup.start()
    await sup.stop(grace=5)
    assert [p.signals for p in launcher.started] == [[signal.SIGTERM], [signal.SIGTERM]]
    assert len(launcher.started) == 2
    assert sup.processes == {}


async def test_workers_that_ignore_sigterm_are_killed_after_the_grace() -> None:
    launcher, clock = Launcher(obeys_sigterm=False), Clock()
    sup = supervisor(launcher, clock)
    await sup.start()
    await sup.stop(grace=0.01)
    assert [p.signals for p in launcher.started] == [
        [signal.SIGTERM, signal.SIGKILL],
        [signal.SIGTERM, signal.SIGKILL],
    ]


async def test_stop_during_a_backoff_starts_nothing_more() -> None:
    launcher, clock = Launcher(), Clock()
    pausing = asyncio.Event()

    async def endless(delay: float) -> None:
        pausing.set()
        await asyncio.Event().wait()

    sup = Supervisor(1, launcher, clock=clock, sleep=endless)
    await sup.start()
    launcher.started[0].exit(1)
    await asyncio.wait_for(pausing.wait(), 10)
    await sup.stop(grace=5)
    assert len(launcher.started) == 1


async def test_stop_before_every_worker_listens_still_stops_the_started_ones() -> None:
    started: list[FakeProcess] = []

    async def launch(slot: int) -> FakeProcess:
        proc = FakeProcess(slot)  # never listens
        started.append(proc)
        return proc

    sup = Supervisor(2, launch)
    starting = asyncio.ensure_future(sup.start())
    while len(started) < 2:
        await asyncio.sleep(0)
    starting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await starting
    await sup.stop(grace=5)
    assert [p.signals for p in started] == [[signal.SIGTERM], [signal.SIGTERM]]
