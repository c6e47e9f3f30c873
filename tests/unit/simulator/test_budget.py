"""budget.py: the shared time budget of watchers whose queues are full."""

from __future__ import annotations

import asyncio

import pytest

from watchcache.simulator.budget import MAX_BUDGET, Grant, SimTimeBudget


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Sink:
    def __init__(self) -> None:
        self.closed: str | None = None

    def close(self, reason: str) -> None:
        self.closed = reason


def test_take_spends_all_and_refills_50ms_per_second_up_to_100ms() -> None:
    clock = Clock()
    budget = SimTimeBudget(clock)
    assert budget.take_available() == pytest.approx(MAX_BUDGET)
    assert budget.take_available() == 0.0
    clock.now += 1.0
    assert budget.take_available() == pytest.approx(0.05)
    clock.now += 10.0
    assert budget.take_available() == pytest.approx(0.1)


def test_unused_time_comes_back_capped() -> None:
    clock = Clock()
    budget = SimTimeBudget(clock)
    budget.take_available()
    budget.return_unused(0.03)
    budget.return_unused(-1.0)
    assert budget.take_available() == pytest.approx(0.03)
    budget.return_unused(5.0)
    assert budget.take_available() == pytest.approx(MAX_BUDGET)


async def test_grant_closes_whoever_is_still_waiting_at_its_deadline() -> None:
    budget = SimTimeBudget(asyncio.get_running_loop().time)
    slow, quick = Sink(), Sink()
    grant = Grant(budget, {slow, quick})
    grant.release(quick)
    await asyncio.sleep(MAX_BUDGET + 0.05)
    assert (slow.closed, quick.closed) == ("overflow", None)


async def test_last_release_returns_the_rest_and_cancels_the_timer() -> None:
    clock = Clock()
    budget = SimTimeBudget(clock)
    sink = Sink()
    grant = Grant(budget, {sink})
    clock.now += 0.04  # it drained after 40 ms of the 100
    grant.release(sink)
    await asyncio.sleep(MAX_BUDGET + 0.05)
    assert sink.closed is None
    assert budget.take_available() == pytest.approx(0.06 + 0.04 * 0.05)


async def test_empty_budget_closes_at_once() -> None:
    budget = SimTimeBudget(Clock())
    budget.take_available()
    sink = Sink()
    Grant(budget, {sink})
    assert sink.closed == "overflow"
