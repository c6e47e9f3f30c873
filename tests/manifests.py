"""deploy/kubernetes rendered as a user would render it, for tests.

Every overlay is rendered with the machine's ``kubectl kustomize`` (the
Kustomize built into kubectl; Debian's kubectl 1.20 carries one too old
for the ``labels`` field, so it is not used). Without a kubectl on PATH
the tests that need a rendering skip, saying so.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

__all__ = ["DEPLOY", "OVERLAYS", "render"]

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
OVERLAYS = ("read-tier", "sidecar")


def render(overlay: str) -> list[dict[str, Any]]:
    """The objects ``kubectl kustomize deploy/kubernetes/<overlay>`` prints."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("no kubectl on PATH: cannot render the Kustomize overlays")
    done = subprocess.run(
        [kubectl, "kustomize", str(DEPLOY / "kubernetes" / overlay)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]
