"""Leader election over a Lease in the simulator, with clocks the tests
move: takeover only after the lease duration as observed locally, one
winner of a race, leadership lost after the renew deadline, release."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from watchcache.informer.leaderelection import LeaderElectionConfig, LeaderElector, LeaseRecord
from watchcache.simulator import Simulator
from watchcache.upstream import UpstreamClient


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def elector(client: UpstreamClient, identity: str, clock: Clock, **kw: object) -> LeaderElector:
    return LeaderElector(
        client,
        name="ctl",
        namespace="default",
        identity=identity,
        clock=clock,
        wall=lambda: datetime.fromtimestamp(clock.now, UTC),
        **kw,  # type: ignore[arg-type]
    )


async def lease(client: UpstreamClient) -> LeaseRecord:
    resp = await client.request("GET", "/apis/coordination.k8s.io/v1/namespaces/default/leases/ctl")
    return LeaseRecord.of(resp.json())


async def test_a_held_lease_is_taken_over_only_after_the_lease_duration(
    client: UpstreamClient,
) -> None:
    ca, cb = Clock(), Clock()
    a, b = elector(client, "a", ca), elector(client, "b", cb)
    assert await a.try_acquire_or_renew()
    assert (await lease(client)).holder == "a"
    assert not await b.try_acquire_or_renew()
    assert b.leader == "a"
    cb.now += 14.9  # b has seen no change for less than 15 s
    assert not await b.try_acquire_or_renew()
    ca.now += 10
    assert await a.try_acquire_or_renew()  # a renews: b sees a change
    cb.now += 14.9
    assert not await b.try_acquire_or_renew()
    cb.now += 15.1  # a stopped renewing 15 s ago, as b saw it
    assert await b.try_acquire_or_renew()
    record = await lease(client)
    assert (record.holder, record.transitions) == ("b", 1)
    assert not await a.try_acquire_or_renew()  # a sees b's fresh record


async def test_of_two_candidates_taking_over_at_once_one_wins(client: UpstreamClient) -> None:
    clock = Clock()
    old = elector(client, "old", clock)
    assert await old.try_acquire_or_renew()
    a, b = elector(client, "a", clock), elector(client, "b", clock)
    assert not await a.try_acquire_or_renew()
    assert not await b.try_acquire_or_renew()
    clock.now += 16
    results = await asyncio.gather(a.try_acquire_or_renew(), b.try_acquire_or_renew())
    assert sorted(results) == [False, True]  # the loser's write got 409


async def test_leading_ends_after_the_renew_deadline_and_a_clean_exit_releases(
    client: UpstreamClient, sim: Simulator
) -> None:
    clock = Clock()
    ticks: asyncio.Queue[None] = asyncio.Queue()

    async def sleep(delay: float) -> None:
        clock.now += delay
        await ticks.get()

    a = elector(client, "a", clock, sleep=sleep)
    started = asyncio.Event()
    stopped: list[str] = []

    async def lead() -> None:
        started.set()
        await asyncio.Event().wait()

    run = asyncio.create_task(a.run(lead, on_stopped_leading=lambda: stopped.append("a")))
    await asyncio.wait_for(started.wait(), 5)
    assert a.is_leader()
    sim.faults.fail_next(100, 500, path_prefix="/apis/coordination.k8s.io")
    for _ in range(5):  # 5 x 2 s of failed renewals reach the 10 s deadline
        ticks.put_nowait(None)
    await asyncio.wait_for(run, 5)
    assert stopped == ["a"] and not a.is_leader()
    sim.faults.plans.clear()
    # A fresh run, cancelled: the lease is released for the next candidate.
    started.clear()
    run = asyncio.create_task(a.run(lead))
    await asyncio.wait_for(started.wait(), 5)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert (await lease(client)).holder == ""
    assert await elector(client, "b", Clock()).try_acquire_or_renew()


def test_config_is_validated_as_client_go_does() -> None:
    with pytest.raises(ValueError):
        LeaderElectionConfig(lease_duration=10, renew_deadline=10)
    with pytest.raises(ValueError):
        LeaderElectionConfig(renew_deadline=2, retry_period=2)
