"""The node simulator against the real kube-apiserver: a small run must see
every event exactly once, in order, and clean up after itself."""

from __future__ import annotations

from benchmarks.nodesim.driver import RunConfig, run
from benchmarks.nodesim.target import Target

from watchcache.devcluster import DevCluster


async def test_small_fleet_sees_every_event_once_in_order(dev_cluster: DevCluster) -> None:
    config = RunConfig(
        nodes=5,
        pods=20,
        churn=20,
        duration=2,
        profile="kubelet",
        namespace="nodesim-e2e",
        settle=30,
        prefix="e2e-node",
    )
    async with Target(
        dev_cluster.url, token=dev_cluster.admin_token, ca_file=str(dev_cluster.ca_file)
    ) as target:
        result = await run(target, config, progress=lambda _m: None)
    delivery = result["delivery"]
    # 20 creates + 40 patches + 20 status + 20 graceful deletes + 20 final deletes, at least
    assert delivery["expected_events"] >= 120
    assert (delivery["lost"], delivery["duplicated"], delivery["out_of_order"]) == (0, 0, 0)
    assert delivery["latency_ms"]["count"] >= 60
    assert result["write_errors"] == 0 and result["node_errors"] == 0, result["first_errors"]
    code, nodes = dev_cluster.request("GET", "/api/v1/nodes?labelSelector=type%3Dkwok")
    assert code == 200 and nodes["items"] == [], "the run left nodes behind"
    code, pods = dev_cluster.request("GET", "/api/v1/namespaces/nodesim-e2e/pods")
    assert pods["items"] == []
