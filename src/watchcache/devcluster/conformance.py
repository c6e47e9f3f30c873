"""Kubernetes' own e2e tests (``e2e.test`` v1.20) against a server: a dev
cluster's kube-apiserver directly, or a ``watchcache serve`` in front of it.

Glossary:
    focus     ginkgo's regular expression choosing the specs to run
    run       one ``e2e.test`` process over the specs in focus, in order
              (ginkgo v1 runs them serially unless told otherwise)
    result    per spec: passed, failed or skipped, read from the JUnit
              report e2e.test writes into its report directory

How e2e.test is made to run on a control plane without nodes (what each
flag is for):
    --provider=skeleton      no cloud provider
    --num-nodes=0            the suite does not wait for nodes to be ready
    --kubeconfig             the server to test and how to reach it
    --report-dir             where the JUnit report (junit_01.xml) goes
    --ginkgo.noColor         plain text log
    --kube-api-content-type  the client's encoding for built-in kinds;
                             e2e.test's default is protobuf
The suite's preflight (system pods running and ready, daemon sets ready)
finds none in kube-system and passes at once; it also needs the default
service account of each test namespace, which the dev cluster's
kube-controller-manager creates.

Invariant: a run that ran no spec is reported as such (``ran == 0``), never
as a success; callers assert on ``passed``.
"""

from __future__ import annotations

import subprocess
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "CONTENT_JSON",
    "CONTENT_PROTOBUF",
    "WATCH_AND_CHUNKING",
    "Results",
    "proxy_kubeconfig",
    "run_e2e",
]

# The watch and chunked-list specs of sig-api-machinery: what a watch cache
# must get exactly right.
WATCH_AND_CHUNKING = (
    r"\[sig-api-machinery\] Watchers|\[sig-api-machinery\] Servers with support for API chunking"
)
CONTENT_PROTOBUF = "application/vnd.kubernetes.protobuf"
CONTENT_JSON = "application/json"


@dataclass
class Results:
    passed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    # e2e.test's exit code and where its output went.
    exit_code: int = 0
    log: Path | None = None
    seconds: float = 0.0

    @property
    def ran(self) -> int:
        return len(self.passed) + len(self.failed)

    def summary(self) -> str:
        return (
            f"{len(self.passed)} passed, {len(self.failed)} failed, "
            f"{len(self.skipped)} skipped in {self.seconds:.0f}s (exit {self.exit_code})"
        )


def proxy_kubeconfig(path: Path, server: str) -> Path:
    """A kubeconfig for a plain-HTTP server that needs no credentials (the
    proxy uses its own)."""
    path.write_text(
        f"""apiVersion: v1
kind: Config
clusters:
- name: proxy
  cluster: {{server: "{server}"}}
users:
- name: anyone
  user: {{}}
contexts:
- name: proxy
  context: {{cluster: proxy, user: anyone}}
current-context: proxy
"""
    )
    return path


def run_e2e(
    e2e_test: Path,
    kubeconfig: Path,
    report_dir: Path,
    *,
    focus: str = WATCH_AND_CHUNKING,
    skip: str = "",
    content_type: str = CONTENT_PROTOBUF,
    timeout: float = 1800.0,
    extra: tuple[str, ...] = (),
) -> Results:
    """Run the specs in ``focus`` (less ``skip``); their results. The
    output goes to ``report_dir/e2e.log``."""
    report_dir.mkdir(parents=True, exist_ok=True)
    args = [
        str(e2e_test),
        f"--kubeconfig={kubeconfig}",
        "--provider=skeleton",
        "--num-nodes=0",
        f"--report-dir={report_dir}",
        "--ginkgo.noColor",
        f"--ginkgo.focus={focus}",
        f"--kube-api-content-type={content_type}",
        *extra,
    ]
    if skip:
        args.append(f"--ginkgo.skip={skip}")
    log = report_dir / "e2e.log"
    started = time.monotonic()
    with open(log, "wb") as out:
        finished = subprocess.run(
            args, stdout=out, stderr=subprocess.STDOUT, cwd=report_dir, timeout=timeout
        )
    results = read_junit(report_dir)
    results.exit_code = finished.returncode
    results.log = log
    results.seconds = time.monotonic() - started
    return results


def read_junit(report_dir: Path) -> Results:
    """Every spec in the JUnit reports under ``report_dir``."""
    results = Results()
    for report in sorted(report_dir.glob("junit_*.xml")):
        for case in ET.parse(report).getroot().iter("testcase"):
            name = case.get("name", "")
            if case.find("skipped") is not None:
                results.skipped.append(name)
            elif case.find("failure") is not None or case.find("error") is not None:
                results.failed.append(name)
            else:
                results.passed.append(name)
    return results
