"""Where the control plane's programs come from.

kube-apiserver and kube-controller-manager v1.20.2, Kubernetes' own e2e
test binary (``e2e.test``, for the conformance tests run through the proxy)
and the hollow node ``kubemark`` (the real kubelet on a fake runtime) are
built from Debian's ``kubernetes`` source package by ``build-control-plane.sh`` (shipped beside
this module) and cached outside any checkout, keyed by version, so only the
first run on a machine pays the ~10 minute build. etcd is Debian's
``etcd-server``; ``kubectl`` 1.20 is unpacked from Debian's
``kubernetes-client`` next to the cached binaries, because installing that
package would replace the machine's newer kubectl.

The cache directory is ``$WATCHCACHE_CACHE_DIR``, else
``$XDG_CACHE_HOME/watchcache``, else ``~/.cache/watchcache``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["BUILD_SCRIPT", "KUBE_VERSION", "Binaries", "cache_dir", "find_binaries"]

KUBE_VERSION = "1.20.2"
BUILD_SCRIPT = Path(__file__).with_name("build-control-plane.sh")


def cache_dir() -> Path:
    if explicit := os.environ.get("WATCHCACHE_CACHE_DIR"):
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "watchcache"


@dataclass(frozen=True)
class Binaries:
    kube_apiserver: Path
    kube_controller_manager: Path
    e2e_test: Path
    kubemark: Path
    etcd: Path
    kubectl_120: Path
    # The machine's own kubectl (newer), when there is one on PATH.
    kubectl: Path | None

    @classmethod
    def in_dir(cls, bin_dir: Path) -> Binaries:
        system_kubectl = shutil.which("kubectl")
        return cls(
            kube_apiserver=bin_dir / "kube-apiserver",
            kube_controller_manager=bin_dir / "kube-controller-manager",
            e2e_test=bin_dir / "e2e.test",
            kubemark=bin_dir / "kubemark",
            etcd=Path(shutil.which("etcd") or "/usr/bin/etcd"),
            kubectl_120=bin_dir / "kubectl",
            kubectl=Path(system_kubectl) if system_kubectl else None,
        )

    def missing(self) -> list[Path]:
        required = [
            self.kube_apiserver,
            self.kube_controller_manager,
            self.e2e_test,
            self.kubemark,
            self.etcd,
            self.kubectl_120,
        ]
        return [p for p in required if not os.access(p, os.X_OK)]


def find_binaries(*, build: bool = True) -> Binaries:
    """The cached binaries; runs the build script first when any is missing.

    The build needs root for apt-get and takes about ten minutes on two
    cores; its progress goes to stderr.
    """
    found = Binaries.in_dir(cache_dir() / f"kube-v{KUBE_VERSION}" / "bin")
    if not found.missing():
        return found
    if not build:
        names = ", ".join(str(p) for p in found.missing())
        raise FileNotFoundError(
            f"control-plane binaries missing: {names}; run `watchcache dev-cluster build`"
        )
    env = {
        **os.environ,
        "WATCHCACHE_CACHE_DIR": str(cache_dir()),
        "WATCHCACHE_KUBE_VERSION": KUBE_VERSION,
    }
    result = subprocess.run(["bash", str(BUILD_SCRIPT)], env=env, stdout=subprocess.PIPE, text=True)
    if result.returncode != 0:
        raise RuntimeError(
            f"{BUILD_SCRIPT.name} failed with exit code {result.returncode} (its log is above)"
        )
    found = Binaries.in_dir(Path(result.stdout.strip().splitlines()[-1]))
    if missing := found.missing():
        raise RuntimeError(f"{BUILD_SCRIPT.name} finished but these are missing: {missing}")
    return found
