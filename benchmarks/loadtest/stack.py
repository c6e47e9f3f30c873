"""The servers under test, started once per run and stopped in reverse.

Glossary:
    backend    what the proxy sits in front of: ``apiserver`` (a real
               kube-apiserver 1.20 + etcd from ``watchcache.devcluster``)
               or ``simulator`` (``watchcache.simulator`` in its own process,
               for sizes 1.20 cannot carry here)
    mode       how a scenario's clients reach the backend: ``direct`` or
               ``proxy`` (``watchcache serve`` in its own process, serving
               TLS with the same certificate kube-apiserver uses, so both
               sides pay for encryption), or ``proxy-json`` (a second
               ``watchcache serve``, started only for steps that name the
               mode, with ``--protobuf=false``: every cached answer JSON)
    endpoint   a URL plus what a client needs to talk to it (token, TLS
               context)

Every process is a child of this one, started with a bounded wait for
readiness, and stopped on exit; their pids are what ``procstat`` reads.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from watchcache.devcluster import ClusterConfig, DevCluster

__all__ = ["Backend", "Endpoint", "Stack"]

READY_TIMEOUT = 120.0
PROXY_RESOURCES = "pods,nodes"
# The proxies a mode may name, by mode: their extra ``serve`` flags. The
# pid of each is kept under its mode's name ("proxy", "proxy-json").
PROXY_MODES: dict[str, tuple[str, ...]] = {"proxy": (), "proxy-json": ("--protobuf=false",)}


@dataclass(frozen=True)
class Endpoint:
    url: str
    token: str | None
    ca_file: str | None

    def ssl_context(self) -> ssl.SSLContext | None:
        if not self.url.startswith("https"):
            return None
        return ssl.create_default_context(cafile=self.ca_file)


@dataclass
class Backend:
    """One upstream and the proxy in front of it."""

    name: str  # "apiserver" or "simulator"
    upstream: Endpoint
    proxy: Endpoint
    pids: dict[str, int] = field(default_factory=dict)  # process name -> pid
    cluster: DevCluster | None = None
    versions: dict[str, str] = field(default_factory=dict)
    # What scenarios already created on this backend (e.g. "lt-list/10000/6000").
    prepared: set[str] = field(default_factory=set)
    # Proxies started later for other modes (``proxy-json``), by mode.
    more_proxies: dict[str, Endpoint] = field(default_factory=dict)
    # Where a proxy for a mode is started from (set by the Stack).
    kubeconfig: Path | None = None

    def endpoint(self, mode: str) -> Endpoint:
        if mode == "direct":
            return self.upstream
        return self.proxy if mode == "proxy" else self.more_proxies[mode]


class Stack:
    """Backends started on first use; everything stopped on ``close``."""

    def __init__(self, workdir: Path | None = None, log: Callable[[str], None] = print) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="loadtest-") if workdir is None else None
        self.workdir = workdir or Path(self._tmp.name)  # type: ignore[union-attr]
        self._backends: dict[str, Backend] = {}
        self._exit = contextlib.ExitStack()
        self._log = log

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._exit.close()  # proxies first, then their upstreams (reverse order)
        if self._tmp is not None:
            self._tmp.cleanup()

    def started(self) -> list[Backend]:
        return list(self._backends.values())

    def backend(self, name: str, modes: tuple[str, ...] = ()) -> Backend:
        """The backend, started on first use, with a proxy for each of
        ``modes`` that needs one beyond the first (``proxy-json``)."""
        if name not in self._backends:
            start = {"apiserver": self._start_apiserver, "simulator": self._start_simulator}
            self._backends[name] = start[name]()
        backend = self._backends[name]
        for mode in modes:
            if mode in ("direct", "proxy") or mode in backend.more_proxies:
                continue
            backend.more_proxies[mode] = self._more_proxy(backend, mode)
        return backend

    def _more_proxy(self, backend: Backend, mode: str) -> Endpoint:
        assert backend.kubeconfig is not None
        cluster = backend.cluster
        tls = (cluster.pki.serving_crt, cluster.pki.serving_key) if cluster else None
        ca_file = cluster.ca_file if cluster else None
        url, pid = self._start_proxy(
            f"{backend.name}-{mode}", backend.kubeconfig, tls, ca_file, PROXY_MODES[mode]
        )
        backend.pids[mode] = pid
        return Endpoint(url, backend.proxy.token, backend.proxy.ca_file)

    # -- kube-apiserver ------------------------------------------------------

    def _start_apiserver(self) -> Backend:
        self._log("starting etcd + kube-apiserver 1.20 (dev cluster)")
        cluster = DevCluster(ClusterConfig(workdir=self.workdir / "cluster", tie_to_parent=True))
        cluster.start()
        self._exit.callback(cluster.stop)
        pids = {p.name: p.pid for p in cluster.processes if p.name != "kube-controller-manager"}
        direct = Endpoint(cluster.url, cluster.admin_token, str(cluster.ca_file))
        proxy_url, proxy_pid = self._start_proxy(
            "apiserver",
            cluster.kubeconfig,
            tls=(cluster.pki.serving_crt, cluster.pki.serving_key),
            ca_file=cluster.ca_file,
        )
        pids["proxy"] = proxy_pid
        code, version = cluster.request("GET", "/version")
        versions = {"kube-apiserver": version.get("gitVersion", "?") if code == 200 else "?"}
        versions["etcd"] = _etcd_version(cluster)
        return Backend(
            "apiserver",
            direct,
            Endpoint(proxy_url, cluster.admin_token, str(cluster.ca_file)),
            pids,
            cluster,
            versions,
            kubeconfig=cluster.kubeconfig,
        )

    # -- the simulator -------------------------------------------------------

    def _start_simulator(self) -> Backend:
        self._log("starting the simulated API server (watchcache.simulator)")
        log = self.workdir / "simulator.log"
        proc = self._spawn(
            [sys.executable, "-m", "benchmarks.loadtest.simserver"], log, name="simulator"
        )
        url = _wait_for_line(log, r"listening on (http://127\.0\.0\.1:\d+)", proc)
        token = secrets.token_hex(8)
        kubeconfig = self.workdir / "simulator.kubeconfig"
        kubeconfig.write_text(
            "apiVersion: v1\nkind: Config\ncurrent-context: sim\n"
            f"clusters:\n- name: sim\n  cluster:\n    server: {url}\n"
            f"users:\n- name: sim\n  user:\n    token: {token}\n"
            "contexts:\n- name: sim\n  context:\n    cluster: sim\n    user: sim\n"
        )
        proxy_url, proxy_pid = self._start_proxy("simulator", kubeconfig, tls=None, ca_file=None)
        return Backend(
            "simulator",
            Endpoint(url, token, None),
            Endpoint(proxy_url, token, None),
            {"simulator": proc.pid, "proxy": proxy_pid},
            versions={"simulator": "watchcache.simulator (this commit)"},
            kubeconfig=kubeconfig,
        )

    # -- the proxy -----------------------------------------------------------

    def _start_proxy(
        self,
        name: str,
        kubeconfig: Path,
        tls: tuple[Path, Path] | None,
        ca_file: Path | None,
        flags: tuple[str, ...] = (),
    ) -> tuple[str, int]:
        log = self.workdir / f"proxy-{name}.log"
        argv = [
            sys.executable,
            "-m",
            "watchcache",
            "serve",
            "--kubeconfig",
            str(kubeconfig),
            "--listen",
            "127.0.0.1:0",
            "--auth=none",
            # One process: its CPU and RSS are what the report compares with
            # kube-apiserver's (benchmarks/bench_workers.py measures workers).
            "--workers",
            "1",
            "--resources",
            PROXY_RESOURCES,
            "--shutdown-spread",
            "0",
            "--log-level",
            "warning",
            *flags,
        ]
        if tls:
            argv += ["--tls-cert-file", str(tls[0]), "--tls-private-key-file", str(tls[1])]
        proc = self._spawn(argv, log, name=f"proxy in front of {name}")
        url = _wait_for_line(log, r"serving on (https?://127\.0\.0\.1:\d+)", proc)
        _wait_ready(url, ca_file, proc)
        self._log(f"watchcache serve on {url} in front of the {name}")
        return url, proc.pid

    def _spawn(self, argv: list[str], log: Path, name: str) -> subprocess.Popen[bytes]:
        out = open(log, "w")  # noqa: SIM115 - the child writes to it until it exits
        root = Path(__file__).parents[2]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=root)
        self._exit.callback(_stop, proc, name)
        self._exit.callback(out.close)
        return proc


def _stop(proc: subprocess.Popen[bytes], name: str) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _wait_for_line(log: Path, pattern: str, proc: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        found = re.search(pattern, log.read_text())
        if found:
            return found.group(1)
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    raise RuntimeError(f"{proc.args!r} did not start:\n{log.read_text()[-3000:]}")


def _wait_ready(url: str, ca_file: Path | None, proc: subprocess.Popen[bytes]) -> None:
    """Until the proxy's caches have synced (its /readyz says ok)."""
    import urllib.request

    context = ssl.create_default_context(cafile=str(ca_file)) if ca_file else None
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline and proc.poll() is None:
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(url + "/readyz", context=context, timeout=5) as reply,
        ):
            if reply.status == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"the proxy at {url} never became ready")


def _etcd_version(cluster: DevCluster) -> str:
    import json
    import urllib.request

    with (
        contextlib.suppress(OSError, ValueError),
        urllib.request.urlopen(cluster.etcd_url + "/version", timeout=5) as reply,
    ):
        return str(json.loads(reply.read()).get("etcdserver", "?"))
    return "?"
