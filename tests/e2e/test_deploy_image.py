"""deploy/Dockerfile builds, with buildah from a base made of Debian
packages (deploy/image/build.sh), into an image that runs watchcache as a
non-root user and carries no compiler, pip or source tree.

Needs root, buildah and debootstrap (`apt-get install buildah debootstrap`)
and the network to Debian's mirror and PyPI; skips, saying which is
missing, otherwise. The first build makes the base image (about a minute);
later ones reuse it."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from tests.manifests import DEPLOY

pytestmark = pytest.mark.e2e

TAG = "localhost/watchcache:test"


@pytest.fixture(scope="module")
def image() -> str:
    missing = [tool for tool in ("buildah", "debootstrap") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"no {' or '.join(missing)} (apt-get install buildah debootstrap)")
    if os.geteuid() != 0:
        pytest.skip("building the Debian base image needs root")
    done = subprocess.run(
        [str(DEPLOY / "image" / "build.sh"), TAG],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return TAG


def _buildah(*args: str) -> str:
    env = {"STORAGE_DRIVER": "vfs", "BUILDAH_ISOLATION": "chroot", **os.environ}
    done = subprocess.run(
        ["buildah", *args], capture_output=True, text=True, timeout=120, check=False, env=env
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_image_runs_watchcache_as_non_root_without_build_tools(image: str) -> None:
    assert _buildah("inspect", "--type", "image", "--format", "{{.OCIv1.Config.User}}", image)
    container = _buildah("from", image).strip()
    try:
        out = _buildah(
            "run",
            container,
            "--",
            "sh",
            "-c",
            "id -u; watchcache --version; "
            "python3 -c 'import uvloop, msgspec, aiohttp; print(\"imports ok\")'; "
            "for tool in gcc cc make pip pip3; do command -v $tool; done; "
            "ls -d /src /wheels /root/.cache/pip 2>/dev/null; true",
        )
    finally:
        _buildah("rm", container)
    lines = out.split()
    assert lines[0] == "65532"
    assert "watchcache" in out and "imports ok" in out
    assert lines[-2:] == ["imports", "ok"], f"build tools or build files in the image: {out}"
