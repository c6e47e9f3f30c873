"""The fault suite's short version: a few seeds of random workloads
through ``watchcache serve`` (a subprocess) in front of the simulator
while every simulator and client fault is injected; every watcher and LIST
checked, and the proxy's peak RSS under its bound. Its seeds are printed
(``pytest -s``); a failure names its seed, replayed with
``python -m watchcache.testing.soak --seed N --rounds 1``."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from watchcache.testing.soak import FAULTS, TIER_FAULTS, ProxyProcess, SoakConfig, run_soak

# Three seeds of 8 s each by default (about 30 s in all); more with
# WATCHCACHE_SOAK_SEEDS.
SEEDS = int(os.environ.get("WATCHCACHE_SOAK_SEEDS", "3"))


async def test_no_watcher_or_list_diverges_under_faults() -> None:
    tally = await run_soak(SoakConfig(rounds=SEEDS, round_seconds=8, faults_per_second=1.5))
    print(tally.table())
    assert not tally.divergences, tally.table()
    assert tally.peak_rss_mib <= tally.rss_bound_mib, tally.table()
    assert tally.events_checked > 100 and tally.lists_checked > 0
    assert sum(tally.faults.values()) >= SEEDS * 3
    assert set(tally.faults) <= set(FAULTS)


async def test_the_suite_finds_a_lost_event() -> None:
    lost: list[str] = []

    def lose_one(event: dict[str, Any]) -> bool:
        # The first MODIFIED any informer receives never reaches it.
        if event["type"] == "MODIFIED" and not lost:
            lost.append(event["object"]["metadata"]["name"])
            return True
        return False

    tally = await run_soak(
        SoakConfig(
            rounds=1, round_seconds=4, first_seed=7, faults_per_second=0.01, lose_event=lose_one
        )
    )
    assert lost
    assert len(tally.divergences) == 1, tally.table()
    seed, divergence = tally.divergences[0]
    assert seed == 7
    assert f"{lost[0]}@" in str(divergence) and "dropped before it" in str(divergence)


async def test_a_restart_cancelled_midway_still_starts_the_proxy(tmp_path: Path) -> None:
    """A round ending while a proxy-restart is injected cancels the
    injector; the proxy must not stay down for the next round."""
    proxy = ProxyProcess(tmp_path / "kubeconfig", tmp_path / "proxy.log")
    stopping, release = asyncio.Event(), asyncio.Event()
    started: list[object] = []

    async def stop(*, kill: bool = False) -> None:
        stopping.set()
        await release.wait()

    async def start(session: object) -> None:
        started.append(session)

    proxy._stop = stop  # type: ignore[method-assign]
    proxy.start = start  # type: ignore[method-assign]
    restart = asyncio.create_task(proxy.restart(None))  # type: ignore[arg-type]
    await stopping.wait()
    restart.cancel()
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await restart
    await proxy.stop()  # waits for the restart to finish
    assert started == [None]


async def test_nothing_is_lost_when_the_middle_of_two_tiers_restarts_or_is_killed() -> None:
    """clients -> proxy -> proxy -> simulator: the middle proxy restarted
    (SIGTERM) and killed (SIGKILL) under the one clients use."""
    tally = await run_soak(
        SoakConfig(
            rounds=1,
            round_seconds=12,
            first_seed=41,
            tiers=2,
            faults_per_second=0.5,
            kinds=TIER_FAULTS,
            # A kill first: on a loaded machine a restart takes seconds,
            # and the round may have time for only one.
            first=("middle-kill", "middle-restart"),
        )
    )
    print(tally.table())
    assert tally.faults["middle-kill"] >= 1, tally.table()
    assert not tally.divergences, tally.table()
    assert tally.events_checked > 100, tally.table()
    assert tally.syncs["WatchList"] >= 1 and not tally.syncs["LIST"], tally.table()


async def test_every_storm_watch_is_counted() -> None:
    """Storms' watches are answered 200 and counted, each storm whole
    (the round's end waits for one in flight)."""
    tally = await run_soak(
        SoakConfig(
            rounds=1,
            round_seconds=3,
            first_seed=11,
            faults_per_second=2,
            storm_size=200,
            kinds=("connect-storm",),
        )
    )
    assert tally.faults["connect-storm"] >= 1, tally.table()
    assert tally.storm_watches == 200 * tally.faults["connect-storm"], tally.table()
    assert tally.peak_fds > 0 and not tally.divergences, tally.table()
