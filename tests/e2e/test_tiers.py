"""A read tier against kube-apiserver v1.20: clients -> proxy -> proxy ->
kube-apiserver, the middle proxy restarted (SIGTERM) and killed (SIGKILL)
while pods are written through the chain and twelve informers watch the
bottom one; every informer's history and every LIST checked
(watchcache.testing.history): nothing lost, duplicated or out of RV
order, and after a 410 a relist that leaves no gap; the lower proxy
syncing from the middle one by WatchList, which 1.20 itself lacks."""

from __future__ import annotations

import pytest

from watchcache.testing.soak import SoakConfig, run_soak

pytestmark = pytest.mark.e2e


# Each restart of the middle proxy is a Python start and a relist; on two
# loaded cores a round with a few takes minutes.
@pytest.mark.timeout(900)
async def test_nothing_is_lost_across_restarts_of_the_middle_tier() -> None:
    config = SoakConfig(
        rounds=1,
        round_seconds=40,
        first_seed=31,
        dev_cluster=True,
        tiers=2,
        faults_per_second=0.25,
        kinds=("middle-restart", "middle-kill"),
        first=("middle-kill", "middle-restart"),
    )
    tally = await run_soak(config)
    print(tally.table())
    assert tally.faults["middle-kill"] >= 1, tally.table()
    assert tally.faults["middle-restart"] >= 1, tally.table()
    assert not tally.divergences, tally.table()
    assert tally.events_checked > 100, tally.table()
    # The lower proxy took every state from the middle one by WatchList
    # (1.20 itself has none), relists after a restart included.
    assert tally.syncs["WatchList"] >= 1 and not tally.syncs["LIST"], tally.table()
