"""A real, throwaway Kubernetes control plane on 127.0.0.1.

``DevCluster`` runs etcd, kube-apiserver and kube-controller-manager as
child processes on free loopback ports, with:

- token authentication: ``admin`` (group system:masters) and ``nobody``
  (no rights beyond what every authenticated user has), plus a client
  certificate for the admin, so every credential kind has a real server;
- RBAC authorization;
- a self-signed CA and serving certificate (:mod:`.pki`);
- service-account signing keys, so namespaces get their ``default``
  service account and its token;
- a configurable etcd compaction interval (``--etcd-compaction-interval``),
  and :meth:`DevCluster.compact` to compact on demand.

Its directory holds everything: keys, logs, etcd's data (or a link to it on
tmpfs), ``kubeconfig`` and ``state.json``. From ``state.json`` another
process can find the cluster again and stop exactly its processes
(``watchcache dev-cluster down``).

Lifecycle: ``start()`` is all-or-nothing (a failed start stops what it
started and raises with the failing process's log tail); ``stop()`` stops in
reverse order of starting and is safe to call twice.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import secrets
import shutil
import socket
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from watchcache.devcluster.binaries import Binaries, find_binaries
from watchcache.devcluster.kubeconfig import write_kubeconfig
from watchcache.devcluster.pki import Pki, make_pki
from watchcache.devcluster.processes import OwnedProcess, spawn

__all__ = ["ClusterConfig", "DevCluster", "DevClusterError", "free_ports"]

log = logging.getLogger(__name__)

ADMIN_USER = "admin"
NOBODY_USER = "nobody"
STATE_FILE = "state.json"

# Measured here: etcd answers /health in under 1 s; kube-apiserver 1.20 is
# ready in 8-20 s (RBAC bootstrap); the first service-account token follows
# kube-controller-manager's start by 2-5 s. Generous bounds for a busy CI.
ETCD_TIMEOUT = 60.0
APISERVER_TIMEOUT = 180.0
USABLE_TIMEOUT = 180.0


class DevClusterError(RuntimeError):
    """The control plane could not be started or reached."""


@dataclass
class ClusterConfig:
    """What a dev cluster looks like; every field has a working default."""

    # Where keys, logs, data and the kubeconfig go.
    workdir: Path
    # kube-apiserver's --etcd-compaction-interval; "0" turns it off.
    compaction_interval: str = "5m"
    # Put etcd's data on /dev/shm when it exists: fsyncs dominate write
    # latency on a VM disk, and the data is thrown away anyway.
    etcd_on_tmpfs: bool = True
    # Kill the children if the process that started them dies (tests).
    tie_to_parent: bool = False
    extra_apiserver_args: list[str] = field(default_factory=list)


@dataclass
class Endpoints:
    etcd_client: int
    etcd_peer: int
    apiserver: int
    controller_manager: int

    @classmethod
    def free(cls) -> Endpoints:
        return cls(*free_ports(4))


class DevCluster:
    """etcd + kube-apiserver + kube-controller-manager; see the module doc."""

    def __init__(self, config: ClusterConfig, binaries: Binaries | None = None) -> None:
        self.config = config
        self._binaries = binaries
        self.processes: list[OwnedProcess] = []
        self.ports: Endpoints | None = None
        self.admin_token = ""
        self.nobody_token = ""

    # -- what clients need ------------------------------------------------

    @property
    def workdir(self) -> Path:
        return self.config.workdir

    @property
    def pki(self) -> Pki:
        return Pki(self.workdir / "pki")

    @property
    def url(self) -> str:
        assert self.ports, "cluster not started"
        return f"https://127.0.0.1:{self.ports.apiserver}"

    @property
    def etcd_url(self) -> str:
        assert self.ports, "cluster not started"
        return f"http://127.0.0.1:{self.ports.etcd_client}"

    @property
    def ca_file(self) -> Path:
        return self.pki.ca_crt

    @property
    def kubeconfig(self) -> Path:
        return self.workdir / "kubeconfig"

    @property
    def binaries(self) -> Binaries:
        if self._binaries is None:
            self._binaries = find_binaries()
        return self._binaries

    def __repr__(self) -> str:
        running = [p.name for p in self.processes if p.alive()]
        where = self.url if self.ports else "not started"
        return f"<DevCluster {where} dir={self.workdir} running={running}>"

    # -- lifecycle --------------------------------------------------------

    def __enter__(self) -> DevCluster:
        self.start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        binaries = self.binaries
        self.workdir.mkdir(parents=True, exist_ok=True)
        make_pki(self.pki.dir)
        self.admin_token = secrets.token_hex(16)
        self.nobody_token = secrets.token_hex(16)
        self.ports = Endpoints.free()
        try:
            self._start_etcd(binaries)
            self._start_apiserver(binaries)
            write_kubeconfig(
                self.kubeconfig, self.url, self.pki, self.admin_token, self.nobody_token
            )
            self._start_controller_manager(binaries)
            self._wait_usable()
        except BaseException:
            self.stop()
            raise
        self._save_state()

    def stop(self) -> None:
        for proc in reversed(self.processes):
            proc.stop()
        self.processes.clear()
        (self.workdir / STATE_FILE).unlink(missing_ok=True)
        self._remove_tmpfs_data()

    def restart_apiserver(self) -> None:
        """Stop kube-apiserver and start it again on the same port, etcd and
        its data untouched: clients see their connections dropped and the
        server gone for a few seconds, as in a control-plane upgrade. Call it
        from a thread that outlives the cluster (the main one): with
        ``tie_to_parent`` the new process is killed when the thread that
        started it ends (PR_SET_PDEATHSIG is per thread)."""
        old = next(p for p in self.processes if p.name == "kube-apiserver")
        old.stop()
        self.processes.remove(old)
        self._start_apiserver(self.binaries)
        self._save_state()

    # -- reattaching from another process ----------------------------------

    @classmethod
    def attach(cls, workdir: Path) -> DevCluster:
        """The cluster whose state.json is in ``workdir`` (raises if none)."""
        try:
            state = json.loads((workdir / STATE_FILE).read_text())
        except FileNotFoundError:
            raise DevClusterError(f"no dev cluster is running from {workdir}") from None
        cluster = cls(
            ClusterConfig(workdir=workdir, compaction_interval=state["compaction_interval"])
        )
        cluster.ports = Endpoints(**state["ports"])
        cluster.admin_token = state["admin_token"]
        cluster.nobody_token = state["nobody_token"]
        cluster.processes = [OwnedProcess.from_json(p) for p in state["processes"]]
        return cluster

    def _save_state(self) -> None:
        assert self.ports
        state = {
            "url": self.url,
            "ports": self.ports.__dict__,
            "admin_token": self.admin_token,
            "nobody_token": self.nobody_token,
            "compaction_interval": self.config.compaction_interval,
            "processes": [p.to_json() for p in self.processes],
        }
        path = self.workdir / STATE_FILE
        path.write_text(json.dumps(state, indent=2) + "\n")
        path.chmod(0o600)

    # -- talking to it ----------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        content_type: str = "application/json",
    ) -> tuple[int, Any]:
        """One HTTPS call to kube-apiserver as admin (or ``token``); (code, JSON)."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {token or self.admin_token}")
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", content_type)
        context = ssl.create_default_context(cafile=str(self.ca_file))
        try:
            with urllib.request.urlopen(req, context=context, timeout=30) as resp:
                return resp.status, _json_or_text(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, _json_or_text(err.read())

    def etcd_revision(self) -> int:
        """etcd's current revision (what kube-apiserver calls resourceVersion)."""
        reply = self._etcd("/v3/kv/range", {"key": _b64(b"/registry/"), "limit": 1})
        return int(reply["header"]["revision"])

    def compact(self, revision: int | None = None) -> int:
        """Compact etcd up to ``revision`` (default: now); returns it.

        kube-apiserver then answers 410 Expired for exact reads and continue
        tokens older than it. Its watch cache is not affected: watch 410s
        come from the cache's own history window.
        """
        target = revision if revision is not None else self.etcd_revision()
        self._etcd("/v3/kv/compaction", {"revision": target, "physical": True})
        return target

    def restart_empty(self) -> None:
        """Stop every process, empty etcd's data directory and start again
        on the same ports with the same credentials: a control plane whose
        etcd was lost, or restored from an old backup. resourceVersions fall
        back to a few. kube-apiserver restarts too, as it must after an etcd
        restore: kept running, its watch cache would go on serving the old
        state."""
        for proc in reversed(self.processes):
            proc.stop()
        self.processes.clear()
        self._remove_tmpfs_data()
        shutil.rmtree(self.workdir / "etcd-data", ignore_errors=True)
        binaries = self.binaries
        self._start_etcd(binaries)
        self._start_apiserver(binaries)
        self._start_controller_manager(binaries)
        self._wait_usable()
        self._save_state()

    def restart_controller_manager(self, kubeconfig: Path | None = None) -> None:
        """Stop kube-controller-manager and start it again reaching the API
        through ``kubeconfig`` (a proxy in front of this kube-apiserver,
        say; default: the cluster's own), then wait until it works: a new
        namespace gets its default service account and token. Call it
        from a thread that outlives the cluster (see restart_apiserver)."""
        old = next(p for p in self.processes if p.name == "kube-controller-manager")
        old.stop()
        self.processes.remove(old)
        self._start_controller_manager(self.binaries, kubeconfig)
        self._wait_usable()
        self._save_state()

    def restart(self) -> None:
        """Stop every process and start them again on the same ports with
        the same credentials and etcd's data kept: a control plane
        restarted, as in an upgrade. Watches end; resourceVersions go on."""
        for proc in reversed(self.processes):
            proc.stop()
        self.processes.clear()
        binaries = self.binaries
        self._start_etcd(binaries, keep_data=True)
        self._start_apiserver(binaries)
        self._start_controller_manager(binaries)
        self._wait_usable()
        self._save_state()

    def _etcd(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        req = urllib.request.Request(
            self.etcd_url + path, data=json.dumps(body).encode(), method="POST"
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            reply: dict[str, Any] = json.loads(resp.read())
            return reply

    # -- starting each piece -----------------------------------------------

    def _spawn(self, name: str, argv: list[str | Path]) -> OwnedProcess:
        proc = spawn(
            name,
            argv,
            self.workdir / "logs" / f"{name}.log",
            tie_to_parent=self.config.tie_to_parent,
        )
        log.info("started %s (pid %d), log %s", name, proc.pid, proc.log)
        self.processes.append(proc)
        return proc

    def _etcd_data_dir(self, keep_data: bool = False) -> Path:
        local = self.workdir / "etcd-data"
        if keep_data and local.exists():
            return local.resolve()
        shm = Path("/dev/shm")
        if not (self.config.etcd_on_tmpfs and shm.is_dir() and os.access(shm, os.W_OK)):
            return local
        _remove_orphaned_tmpfs_data(shm)
        target = shm / f"{_TMPFS_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
        if local.is_symlink():
            local.unlink()
        elif local.exists():
            shutil.rmtree(local)
        local.symlink_to(target)
        return target

    def _remove_tmpfs_data(self) -> None:
        link = self.workdir / "etcd-data"
        if link.is_symlink():
            shutil.rmtree(link.resolve(), ignore_errors=True)
            link.unlink()

    def _start_etcd(self, binaries: Binaries, keep_data: bool = False) -> None:
        assert self.ports
        client = f"http://127.0.0.1:{self.ports.etcd_client}"
        peer = f"http://127.0.0.1:{self.ports.etcd_peer}"
        proc = self._spawn(
            "etcd",
            [
                binaries.etcd,
                "--name",
                "watchcache-dev",
                "--data-dir",
                self._etcd_data_dir(keep_data),
                "--listen-client-urls",
                client,
                "--advertise-client-urls",
                client,
                "--listen-peer-urls",
                peer,
                "--initial-advertise-peer-urls",
                peer,
                "--initial-cluster",
                f"watchcache-dev={peer}",
                "--initial-cluster-state",
                "new",
                # Room for load tests with 100k objects (default quota is 2 GiB).
                "--quota-backend-bytes",
                str(8 * 1024**3),
            ],
        )
        _wait(proc, ETCD_TIMEOUT, "etcd /health", lambda: self._etcd_healthy())

    def _etcd_healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.etcd_url + "/health", timeout=2) as resp:
                return bool(json.loads(resp.read()).get("health") == "true")
        except (OSError, ValueError):
            return False

    def _start_apiserver(self, binaries: Binaries) -> None:
        assert self.ports
        tokens = self.workdir / "tokens.csv"
        tokens.write_text(
            f'{self.admin_token},{ADMIN_USER},{ADMIN_USER}-uid,"system:masters"\n'
            f"{self.nobody_token},{NOBODY_USER},{NOBODY_USER}-uid\n"
        )
        tokens.chmod(0o600)
        pki = self.pki
        proc = self._spawn(
            "kube-apiserver",
            [
                binaries.kube_apiserver,
                "--etcd-servers",
                self.etcd_url,
                "--etcd-compaction-interval",
                self.config.compaction_interval,
                "--bind-address",
                "127.0.0.1",
                "--advertise-address",
                "127.0.0.1",
                "--secure-port",
                str(self.ports.apiserver),
                "--insecure-port",
                "0",
                "--tls-cert-file",
                pki.serving_crt,
                "--tls-private-key-file",
                pki.serving_key,
                "--client-ca-file",
                pki.ca_crt,
                "--token-auth-file",
                tokens,
                "--authorization-mode",
                "RBAC",
                "--service-account-key-file",
                pki.sa_pub,
                "--service-account-signing-key-file",
                pki.sa_key,
                "--service-account-issuer",
                "https://kubernetes.default.svc",
                "--service-cluster-ip-range",
                "10.96.0.0/16",
                "--allow-privileged",
                "--profiling=false",
                "--logtostderr",
                "-v",
                "1",
                *self.config.extra_apiserver_args,
            ],
        )
        _wait(proc, APISERVER_TIMEOUT, "kube-apiserver /readyz", lambda: self._get_ok("/readyz"))

    def _start_controller_manager(self, binaries: Binaries, kubeconfig: Path | None = None) -> None:
        assert self.ports
        proc = self._spawn(
            "kube-controller-manager",
            [
                binaries.kube_controller_manager,
                "--kubeconfig",
                kubeconfig or self.kubeconfig,
                "--bind-address",
                "127.0.0.1",
                "--secure-port",
                str(self.ports.controller_manager),
                "--port",
                "0",
                "--leader-elect=false",
                "--service-account-private-key-file",
                self.pki.sa_key,
                "--root-ca-file",
                self.pki.ca_crt,
                "--use-service-account-credentials=false",
                "--controllers",
                "*,-nodelifecycle,-nodeipam,-cloud-node-lifecycle,-service,-route",
                "--profiling=false",
                "--logtostderr",
                "-v",
                "1",
            ],
        )
        self._controller_manager = proc

    def _get_ok(self, path: str) -> bool:
        try:
            code, _ = self.request("GET", path)
        except OSError:
            return False
        return code == 200

    def _wait_usable(self) -> None:
        """A new namespace gets its ``default`` service account and token."""
        log.info("waiting until a new namespace gets its default service account")
        name = f"watchcache-ready-{secrets.token_hex(3)}"
        code, body = self.request(
            "POST",
            "/api/v1/namespaces",
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
        )
        if code != 201:
            raise DevClusterError(f"creating namespace {name}: HTTP {code}: {body}")

        def has_token() -> bool:
            code, sa = self.request("GET", f"/api/v1/namespaces/{name}/serviceaccounts/default")
            return code == 200 and bool(sa.get("secrets"))

        _wait(self._controller_manager, USABLE_TIMEOUT, "the default service account", has_token)
        self.request("DELETE", f"/api/v1/namespaces/{name}")


_TMPFS_PREFIX = "watchcache-etcd-"


def _remove_orphaned_tmpfs_data(shm: Path) -> None:
    """Remove etcd data left on tmpfs by a cluster whose owner was killed.

    The directory name carries the owner's pid; a cluster started in the
    background (``dev-cluster up``) outlives its owner, so a directory is
    only orphaned when no etcd process still has it open as its data dir.
    """
    in_use = {str(p) for p in _etcd_data_dirs_in_use()}
    for candidate in shm.glob(f"{_TMPFS_PREFIX}*"):
        if str(candidate) not in in_use:
            shutil.rmtree(candidate, ignore_errors=True)


def _etcd_data_dirs_in_use() -> list[Path]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if b"--data-dir" in argv[:-1]:
            found.append(Path(argv[argv.index(b"--data-dir") + 1].decode(errors="replace")))
    return found


def _wait(proc: OwnedProcess, timeout: float, what: str, ready: Callable[[], bool]) -> None:
    started = time.monotonic()
    deadline = started + timeout
    while time.monotonic() < deadline:
        if ready():
            log.info("%s ready after %.1fs", what, time.monotonic() - started)
            return
        if not proc.alive():
            raise DevClusterError(
                f"{proc.name} exited while waiting for {what}; log {proc.log}:\n{proc.log_tail()}"
            )
        time.sleep(0.2)
    raise DevClusterError(
        f"timed out after {timeout:.0f}s waiting for {what}; {proc.name} log {proc.log}:\n{proc.log_tail()}"
    )


def free_ports(count: int) -> list[int]:
    """Distinct free loopback ports (all held open until all are chosen)."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _json_or_text(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")
