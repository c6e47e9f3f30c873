"""The sizes a run uses: ``quick`` (seconds, for CI and a first look),
``full`` (the report in docs/benchmarks, tens of minutes) and ``spread``
(the headline broadcast point and a smaller nodes step, a few minutes a
pass, to run several times over with ``--repeat``).

kube-apiserver 1.20 here spends about 7 ms of CPU per pod write and
saturates near 100-150 writes a second on two shared cores, so the write
rates against it stay well below that; the larger node counts run against
the proxy in front of the simulated API server (``backend="simulator"``),
and the report says so beside each of them.
"""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.loadtest.broadcast import BroadcastPoint
from benchmarks.loadtest.kubelets import KubeletsPoint
from benchmarks.loadtest.liststorm import KINDS, ListPoint
from benchmarks.loadtest.nodes import NodesPoint
from benchmarks.loadtest.writes import WritesPoint

__all__ = ["APISERVER_ONLY", "PROFILES", "SCENARIOS", "Step"]

SCENARIOS = ("writes", "broadcast", "liststorm", "nodes", "kubelets")
# Scenarios that need a real kube-apiserver: hollow kubelets register
# with one and use APIs the simulator lacks (leases, events, node status).
APISERVER_ONLY = frozenset({"kubelets"})
BOTH = ("direct", "proxy")
PROXY = ("proxy",)
# The kubelets' own CPU is compared in three ways: protobuf from
# kube-apiserver, protobuf from the proxy's cache, JSON from it.
KUBELET_MODES = ("direct", "proxy", "proxy-json")

Point = WritesPoint | BroadcastPoint | ListPoint | NodesPoint | KubeletsPoint


@dataclass(frozen=True)
class Step:
    scenario: str
    backend: str  # "apiserver" or "simulator"
    modes: tuple[str, ...]
    point: Point

    @property
    def label(self) -> str:
        p = self.point
        match p:
            case WritesPoint():
                size = f"{p.requests} of each write"
            case BroadcastPoint():
                size = f"W={p.watchers} R={p.rate:g}/s"
            case ListPoint():
                size = f"{p.kind} C={p.clients} pods={p.pods}"
            case NodesPoint():
                size = f"N={p.nodes} pods={p.pods} R={p.churn:g}/s"
            case KubeletsPoint():
                size = f"N={p.nodes} hollow nodes, {p.pods_per_node} pods each"
        return f"{self.scenario} {size} on {self.backend}"


QUICK = [
    Step("writes", "apiserver", BOTH, WritesPoint(requests=20)),
    Step(
        "broadcast",
        "apiserver",
        BOTH,
        BroadcastPoint(watchers=10, rate=10, duration=3, pods=10, pad=200, settle=15),
    ),
    *(
        Step(
            "liststorm",
            "apiserver",
            BOTH,
            ListPoint(kind=k, clients=2, pods=60, pad=500, duration=2, max_lists=10),
        )
        for k in KINDS
    ),
    Step(
        "nodes",
        "apiserver",
        BOTH,
        NodesPoint(nodes=4, pods=12, churn=10, duration=2, settle=20),
    ),
    Step(
        "kubelets", "apiserver", KUBELET_MODES, KubeletsPoint(nodes=2, pods_per_node=3, duration=2)
    ),
]

# Hollow nodes (real kubelets) in the full run: each takes about 80 MB of
# RSS and a share of two cores; 20 leave the machine room for the servers.
KUBELETS = 20

# The broadcast sweep runs at one rate so its points differ only in W; the
# target's own point (200 watchers at 50 patches a second) runs apart.
SWEEP_RATE = 10.0

FULL = [
    Step("writes", "apiserver", BOTH, WritesPoint(requests=300)),
    *(
        Step(
            "broadcast", "apiserver", BOTH, BroadcastPoint(watchers=w, rate=SWEEP_RATE, duration=20)
        )
        for w in (100, 300, 1000)
    ),
    Step("broadcast", "apiserver", BOTH, BroadcastPoint(watchers=200, rate=50, duration=20)),
    *(
        Step("liststorm", "apiserver", BOTH, ListPoint(kind=k, clients=c, pods=10_000))
        for c in (1, 4)
        for k in KINDS
    ),
    Step("nodes", "apiserver", BOTH, NodesPoint(nodes=100, pods=1000, churn=20, duration=30)),
    Step("nodes", "apiserver", PROXY, NodesPoint(nodes=1000, pods=1000, churn=20, duration=20)),
    Step("nodes", "simulator", PROXY, NodesPoint(nodes=1000, pods=10_000, churn=50, duration=30)),
    Step("nodes", "simulator", PROXY, NodesPoint(nodes=5000, pods=10_000, churn=50, duration=30)),
    Step("kubelets", "apiserver", KUBELET_MODES, KubeletsPoint(nodes=KUBELETS, pods_per_node=10)),
]

# One pass of what ``--repeat`` runs for the spread: the headline point
# and a nodes step small enough to run several times in a few minutes.
SPREAD = [
    Step("broadcast", "apiserver", BOTH, BroadcastPoint(watchers=200, rate=50, duration=20)),
    Step("nodes", "apiserver", BOTH, NodesPoint(nodes=50, pods=500, churn=20, duration=20)),
]

PROFILES = {"quick": QUICK, "full": FULL, "spread": SPREAD}
