"""WorkQueue: de-duplication, one worker per item, delays, client-go's
rate limits, and a shutdown that drains."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from watchcache.informer.workqueue import (
    BucketRateLimiter,
    ItemExponentialRateLimiter,
    ShutDown,
    WorkQueue,
    default_rate_limiter,
)


class Timers:
    """A schedule the test fires by hand, and the clock it moves."""

    def __init__(self) -> None:
        self.now = 0.0
        self.pending: list[tuple[float, Callable[[], None], Timer]] = []

    def clock(self) -> float:
        return self.now

    def schedule(self, delay: float, fn: Callable[[], None]) -> Timer:
        timer = Timer()
        self.pending.append((self.now + delay, fn, timer))
        return timer

    def advance(self, seconds: float) -> None:
        self.now += seconds
        due = [p for p in self.pending if p[0] <= self.now]
        self.pending = [p for p in self.pending if p[0] > self.now]
        for _, fn, timer in sorted(due, key=lambda p: p[0]):
            if not timer.cancelled:
                fn()


class Timer:
    cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


async def test_an_item_is_queued_once_and_processed_by_one_worker_at_a_time() -> None:
    q: WorkQueue[str] = WorkQueue()
    q.add("a")
    q.add("b")
    q.add("a")
    assert len(q) == 2
    first = await q.get()
    assert first == "a"
    q.add("a")  # while processing: not handed to a second worker
    assert await q.get() == "b"
    assert len(q) == 0
    q.done("a")  # now it comes back, once
    assert len(q) == 1 and await q.get() == "a"


async def test_add_after_waits_and_keeps_the_earliest_due_time() -> None:
    t = Timers()
    q: WorkQueue[str] = WorkQueue(clock=t.clock, schedule=t.schedule)
    q.add_after("a", 10)
    q.add_after("a", 5)
    q.add_after("a", 20)  # later than the one waiting: ignored
    t.advance(4.9)
    assert len(q) == 0
    t.advance(0.1)
    assert len(q) == 1 and await q.get() == "a"
    t.advance(100)
    assert len(q) == 0  # the cancelled 10 s timer and the ignored 20 s one never fire


def test_client_go_default_rate_limits() -> None:
    t = Timers()
    limiter = default_rate_limiter(t.clock)
    waits = [limiter.when("x") for _ in range(5)]
    assert waits == [0.005, 0.01, 0.02, 0.04, 0.08]
    limiter.forget("x")
    assert limiter.when("x") == 0.005 and limiter.requeues("x") == 1
    exp = ItemExponentialRateLimiter()
    assert [exp.when("y") for _ in range(30)][-1] == 1000.0  # capped
    bucket = BucketRateLimiter(clock=t.clock)
    assert [bucket.when(i) for i in range(100)] == [0.0] * 100  # the burst
    assert bucket.when("over") == pytest.approx(0.1)  # then 10 per second
    assert bucket.when("over2") == pytest.approx(0.2)
    t.now += 1.0
    assert bucket.when("later") == pytest.approx(0.0)


async def test_rate_limited_retries_back_off_per_item() -> None:
    t = Timers()
    q: WorkQueue[str] = WorkQueue(clock=t.clock, schedule=t.schedule)
    for _ in range(3):
        q.add_rate_limited("flaky")
        t.advance(1.0)
        assert await q.get() == "flaky"
        q.done("flaky")
    assert q.num_requeues("flaky") == 3
    q.forget("flaky")
    assert q.num_requeues("flaky") == 0


async def test_shutdown_drains_then_get_raises() -> None:
    q: WorkQueue[str] = WorkQueue()
    for item in ("a", "b"):
        q.add(item)
    q.add_after("later", 60)
    processed: list[str] = []

    async def worker() -> None:
        async for item in q:
            await asyncio.sleep(0)
            processed.append(item)
            q.done(item)

    task = asyncio.create_task(worker())
    await asyncio.wait_for(q.shutdown(), 5)
    assert processed == ["a", "b"]  # the waiting item was dropped
    q.add("too-late")
    assert len(q) == 0
    with pytest.raises(ShutDown):
        await q.get()
    await asyncio.wait_for(task, 5)
