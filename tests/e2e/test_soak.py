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
