"""deploy/kubernetes against the real kube-apiserver 1.20: every object of
every overlay whose kind 1.20 serves passes ``kubectl apply
--dry-run=server`` (admission, defaulting and validation run, nothing is
stored). The objects 1.20 predates (policy/v1 PodDisruptionBudget, GA in
1.21; autoscaling/v2 HorizontalPodAutoscaler, GA in 1.23) are checked
against current schemas by tests/unit/deploy instead."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
import yaml
from tests.manifests import OVERLAYS, render

from watchcache.devcluster import DevCluster

pytestmark = pytest.mark.e2e

NEWER_THAN_120 = {
    ("policy/v1", "PodDisruptionBudget"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
}


def _served(dev_cluster: DevCluster, api_version: str, kind: str) -> bool:
    prefix = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    code, body = dev_cluster.request("GET", prefix)
    return code == 200 and any(r["kind"] == kind for r in body["resources"])


def _into(namespace: str, obj: dict[str, Any]) -> dict[str, Any]:
    """The object as the overlay makes it, moved to the test's namespace."""
    if "namespace" in obj["metadata"]:
        obj["metadata"]["namespace"] = namespace
    for subject in obj.get("subjects", []):
        subject["namespace"] = namespace
    return obj


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_passes_server_side_dry_run(
    overlay: str, dev_cluster: DevCluster, namespace: str
) -> None:
    objects = render(overlay)
    known = [o for o in objects if _served(dev_cluster, o["apiVersion"], o["kind"])]
    skipped = {(o["apiVersion"], o["kind"]) for o in objects} - {
        (o["apiVersion"], o["kind"]) for o in known
    }
    assert skipped <= NEWER_THAN_120, f"1.20 does not serve {skipped}"
    manifest = yaml.safe_dump_all([_into(namespace, o) for o in known])
    done = subprocess.run(
        [
            str(dev_cluster.binaries.kubectl_120),
            f"--kubeconfig={dev_cluster.kubeconfig}",
            "apply",
            "--dry-run=server",
            "-f",
            "-",
        ],
        input=manifest,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    applied = [line for line in done.stdout.splitlines() if line.strip()]
    assert len(applied) == len(known), done.stdout
    assert all(line.endswith("(server dry run)") for line in applied), done.stdout
