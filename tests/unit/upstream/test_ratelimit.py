"""The proxy's own upstream requests are held to --kube-api-qps and
--kube-api-burst; callers wait in the order they asked."""

from __future__ import annotations

from watchcache.simulator.app import Simulator
from watchcache.upstream import UpstreamConfig
from watchcache.upstream.ratelimit import RateLimitedClient, TokenBucket


class Time:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


async def test_burst_then_one_every_qps_interval() -> None:
    t = Time()
    bucket = TokenBucket(2.0, 3, clock=t.clock, sleep=t.sleep)
    for _ in range(5):
        await bucket.take()
    # Three at once, then each waits for its own token: 0.5 s, then 1 s.
    assert t.slept == [0.5, 1.0]
    t.now += 10  # refilled, but never above the burst
    t.slept.clear()
    for _ in range(4):
        await bucket.take()
    assert t.slept == [0.5]
    assert bucket.waits == 3


async def test_zero_qps_is_no_limit() -> None:
    t = Time()
    bucket = TokenBucket(0, 1, clock=t.clock, sleep=t.sleep)
    for _ in range(100):
        await bucket.take()
    assert t.slept == []


async def test_every_request_of_the_client_takes_a_token() -> None:
    t = Time()
    async with Simulator() as sim:
        limiter = TokenBucket(1.0, 2, clock=t.clock, sleep=t.sleep)
        async with RateLimitedClient(UpstreamConfig(sim.url), limiter=limiter) as client:
            for _ in range(3):
                await client.get("/api/v1/pods")
            async with client.watch("/api/v1/pods", {"resourceVersion": "0"}):
                pass
    assert t.slept == [1.0, 2.0]
