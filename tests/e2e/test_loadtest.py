"""The load test against the real kube-apiserver 1.20, at tiny sizes: the
proxy in front of it over TLS, kube-apiserver's own counters read, every
event checked. (It starts its own control plane: the measured processes
must be the ones it started.)"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
LOADTEST = (sys.executable, "-m", "benchmarks.loadtest")


def _host_firewall() -> str:
    """The host's iptables rules, all tables, both families, without
    counters and comments: what a run must leave as it found it. Empty
    when the host has no iptables-save (nor then could a kubelet write
    rules)."""
    rules = []
    for tool in ("iptables-save", "ip6tables-save"):
        path = shutil.which(tool)
        if path is None:
            continue
        out = subprocess.run([path], capture_output=True, text=True, check=True).stdout
        rules += [re.sub(r"\[\d+:\d+\]", "", line) for line in out.splitlines()]
    return "\n".join(line for line in rules if not line.startswith("#"))


# About two minutes on a quiet machine; a loaded one (a cold build beside
# it) may take several times that. The bound only stops a hang.
@pytest.mark.timeout(900)
def test_quick_broadcast_and_lists_against_kube_apiserver(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.loadtest",
            "run",
            "broadcast",
            "liststorm",
            "--profile",
            "quick",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=870,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    runs = json.loads((tmp_path / "loadtest-quick.json").read_text())["runs"]
    assert not [r for r in runs if "error" in r]
    by = {(r["scenario"], r["mode"], r["params"].get("kind")): r for r in runs}
    direct, proxy = by[("broadcast", "direct", None)], by[("broadcast", "proxy", None)]
    assert direct["deliveries"] == proxy["deliveries"] == 300
    assert direct["cpu_seconds"]["kube-apiserver"] > 0 and proxy["cpu_seconds"]["proxy"] > 0
    # Direct, kube-apiserver served the 10 watches; through the proxy it
    # served none of them (the proxy's own watch was opened long before).
    assert direct["apiserver_requests"].get("WATCH pods", 0) >= 10
    assert proxy["apiserver_requests"].get("WATCH pods", 0) == 0
    # RV=0 lists never reach kube-apiserver through the proxy.
    rv0 = by[("liststorm", "proxy", "rv0")]
    assert rv0["lists"] > 0 and rv0["apiserver_requests"].get("LIST pods", 0) == 0
    assert by[("liststorm", "direct", "rv0")]["apiserver_requests"]["LIST pods"] >= rv0["lists"]


@pytest.mark.timeout(900)
def test_hollow_kubelets_direct_and_through_the_proxy(tmp_path: Path) -> None:
    """Two hollow nodes (the real 1.20 kubelet on kubemark's fake runtime)
    run their pods against kube-apiserver, through the proxy, and through a
    proxy that answers JSON only; through either proxy kube-apiserver
    serves none of their pod or node watches, and the JSON proxy's CPU is
    counted for its own mode. The kubelets' iptables chains stay in
    network namespaces of their own: the host's rules are as they were."""
    firewall = _host_firewall()
    done = subprocess.run(
        [*LOADTEST, "run", "kubelets", "--profile", "quick", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=870,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    runs = json.loads((tmp_path / "loadtest-quick.json").read_text())["runs"]
    assert not [r for r in runs if "error" in r], runs
    by = {r["mode"]: r for r in runs}
    assert set(by) == {"direct", "proxy", "proxy-json"}
    for run in by.values():
        assert run["pods"] == 6 and run["start_latency_ms"]["count"] == 6
        assert run["delete_latency_ms"]["count"] == 6
        assert run["kubelet_cpu_seconds"] > 0 and run["kubelet_rss_mb_mean"] > 0
        assert len(run["kubelet_cpu_seconds_each"]) == 2
        assert run["kubelet_cpu_seconds_per_node"] > 0
    assert by["proxy-json"]["cpu_seconds"]["proxy-json"] > 0
    json_watches = by["proxy-json"]["apiserver_requests"]
    assert json_watches.get("WATCH nodes", 0) == 0
    # The step's own pod watches (2, to time the pods) go to kube-apiserver
    # either way; the kubelets' (one each) only directly.
    direct, proxy = by["direct"]["apiserver_requests"], by["proxy"]["apiserver_requests"]
    assert direct.get("WATCH pods", 0) - proxy.get("WATCH pods", 0) >= 2
    assert direct.get("WATCH nodes", 0) >= 2 and proxy.get("WATCH nodes", 0) == 0
    assert _host_firewall() == firewall
