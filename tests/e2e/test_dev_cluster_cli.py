"""``watchcache dev-cluster up`` / ``status`` / ``down`` as a person runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from watchcache.devcluster import DevCluster


def watchcache(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "watchcache", *args], capture_output=True, text=True, timeout=300
    )


def test_up_status_down(tmp_path: Path, dev_cluster: DevCluster) -> None:
    # dev_cluster is requested so the binaries are built before this runs.
    workdir = tmp_path / "cluster"
    up = watchcache("dev-cluster", "up", "--dir", str(workdir), "--compaction-interval", "1m")
    assert up.returncode == 0, up.stderr
    assert f"export KUBECONFIG={workdir}/kubeconfig" in up.stdout
    state = json.loads((workdir / "state.json").read_text())
    pids = [p["pid"] for p in state["processes"]]
    try:
        assert [p["name"] for p in state["processes"]] == [
            "etcd",
            "kube-apiserver",
            "kube-controller-manager",
        ]
        again = watchcache("dev-cluster", "up", "--dir", str(workdir))
        assert again.returncode == 1 and "already runs" in again.stderr

        status = watchcache("dev-cluster", "status", "--dir", str(workdir))
        assert status.returncode == 0, status.stdout
        cluster = DevCluster.attach(workdir)
        assert cluster.request("GET", "/version")[1]["gitVersion"] == "v1.20.2"
        assert cluster.request("GET", "/api/v1/namespaces/default")[0] == 200
    finally:
        down = watchcache("dev-cluster", "down", "--dir", str(workdir))
    assert down.returncode == 0, down.stderr
    assert not any(_running(pid) for pid in pids)
    assert not (workdir / "state.json").exists()


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
