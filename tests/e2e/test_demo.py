"""The README's first command: scripts/demo serves the embedded default,
and kubectl (both versions) sees a living cluster through it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

from tests.polling import until_blocking

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

        def serving() -> str | None:
            found = re.search(r"serving on (http://127\.0\.0\.1:\d+)", log.read_text())
            assert found or demo.poll() is None, log.read_text()[-3000:]
            return found.group(1) if found else None

        url = until_blocking(serving, "the demo to serve", timeout=120, every=0.2)
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
