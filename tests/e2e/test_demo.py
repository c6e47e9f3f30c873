"""The README's first command: scripts/demo serves the embedded default,
and kubectl (both versions) sees a living cluster through it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

from watchcache.devcluster import DevCluster

ROOT = Path(__file__).parents[2]


def test_scripts_demo_serves_a_living_cluster(dev_cluster: DevCluster, tmp_path: Path) -> None:
    log = tmp_path / "demo.log"
    with open(log, "w") as out:
        demo = subprocess.Popen(
            [str(ROOT / "scripts" / "demo"), "--listen", "127.0.0.1:0"],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        url = None
        deadline = time.monotonic() + 120
        while url is None and time.monotonic() < deadline:
            found = re.search(r"serving on (http://127\.0\.0\.1:\d+)", log.read_text())
            url = found.group(1) if found else None
            assert demo.poll() is None, log.read_text()[-3000:]
            time.sleep(0.2)
        assert url, log.read_text()
        env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"} | {"HOME": str(tmp_path)}
        kubectls = [dev_cluster.binaries.kubectl_120] + (
            [dev_cluster.binaries.kubectl] if dev_cluster.binaries.kubectl else []
        )
        for kubectl in kubectls:
            nodes = subprocess.run(
                [str(kubectl), "--server", url, "get", "nodes", "-o", "name"],
                capture_output=True,
                text=True,
                env=env,
                timeout=30,
            )
            assert nodes.returncode == 0, nodes.stderr
            assert len(nodes.stdout.split()) >= 1
            pods = subprocess.run(
                [str(kubectl), "--server", url, "get", "pods", "-A", "-o", "name"],
                capture_output=True,
                text=True,
                env=env,
                timeout=30,
            )
            assert pods.returncode == 0 and pods.stdout.strip(), pods.stderr
    finally:
        os.killpg(demo.pid, signal.SIGTERM)
        assert demo.wait(30) == 0, log.read_text()[-3000:]
