"""The fault suite against a real kube-apiserver v1.20 and etcd of its own
(restarted under the proxy, so not the session's shared cluster): a round
of random pod writes through ``watchcache serve`` while etcd and
kube-apiserver restart with their data kept, etcd compacts and the proxy
restarts; every informer's history and every LIST checked."""

from __future__ import annotations

import pytest

from watchcache.testing.soak import SoakConfig, run_soak


# A round with two control-plane restarts can spend minutes waiting for
# writes to be accepted again (soak.WRITE_PATIENCE); the default 300 s
# bound would cut it short.
@pytest.mark.timeout(900)
async def test_nothing_is_lost_across_upstream_and_proxy_restarts() -> None:
    config = SoakConfig(
        rounds=1,
        round_seconds=25,
        first_seed=21,
        dev_cluster=True,
        faults_per_second=0.25,
        kinds=("upstream-restart", "compaction", "proxy-restart"),
        first=("upstream-restart",),
    )
    tally = await run_soak(config)
    print(tally.table())
    assert tally.faults["upstream-restart"] >= 1, tally.table()
    assert not tally.divergences, tally.table()
    assert tally.peak_rss_mib <= tally.rss_bound_mib, tally.table()
    assert tally.events_checked > 100


# Measured on two shared cores (docs/soak.md): a 10,000 storm takes the
# proxy about a minute under load.
@pytest.mark.timeout(900)
async def test_a_storm_of_10000_watches() -> None:
    """10,000 watches opened at once through the proxy in front of the
    simulator, each dropped as its headers come: all answered 200, the
    informers' histories intact, the proxy's RSS under its bound."""
    config = SoakConfig(
        rounds=1,
        round_seconds=8,
        first_seed=500,
        faults_per_second=2,
        storm_size=10_000,
        kinds=("connect-storm",),
    )
    tally = await run_soak(config)
    print(tally.table())
    assert tally.faults["connect-storm"] >= 1, tally.table()
    assert tally.storm_watches == 10_000 * tally.faults["connect-storm"], tally.table()
    assert not tally.divergences, tally.table()
    assert tally.peak_rss_mib <= tally.rss_bound_mib, tally.table()
    assert tally.peak_fds >= 1_000, tally.table()  # the storm's sockets were held at once
