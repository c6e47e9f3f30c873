"""The fault suite: random workloads through ``watchcache serve`` while
faults are injected, every client's history checked (history.py).

    python -m watchcache.testing.soak --minutes 30            # the simulator
    python -m watchcache.testing.soak --minutes 30 --dev-cluster
    python -m watchcache.testing.soak --seed 1234 --rounds 1  # replay a seed
    python -m watchcache.testing.soak --dev-cluster --tiers 2  # a read tier

Glossary:
    round      one seed's run: a namespace of its own, a writer, informers,
               listers and a fault injector for ``round_seconds``, then a
               final write every informer must reach, then the check. A
               failing round is replayed from its seed (the same choices
               of operation, fault and timing; the interleaving with the
               proxy's own work differs, as with any test over sockets).
    informer   a client that LISTs (or watches with initial events), then
               watches from the RV it got, resumes from its last RV when a
               watch ends, relists after 410: client-go's reflector.
    gate       writes pause while the proxy or upstream restarts, and a
               restart waits for the write in flight (``writing``), so no
               write is in flight when its connection dies (its outcome
               would be unknown to the history): a proxy killed with
               SIGKILL finishes nothing.
    fault      one of ``FAULTS``; kinds the upstream cannot suffer (429s
               on a real kube-apiserver, say) are not drawn.

Every write goes through the proxy (forwarded), every read comes from its
cache. The proxy runs as a subprocess on a fixed port so that its restart
is seen by clients as a real restart, and so that its RSS is its own: the
peak (VmHWM) must stay under ``rss_bound_mib`` (docs/soak.md says how the
bound is made).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from watchcache.testing.history import Divergence, History, Scope, WatchRecord, WatchSession

__all__ = ["FAULTS", "SoakConfig", "Tally", "main", "run_soak"]

FAULTS = (
    "watch-cut",  # simulator: upstream watch streams closed abruptly
    "watch-stall",  # simulator: upstream stops writing for 1-4 s
    "410-storm",  # simulator: the proxy's lists and watches get 410s, history shrunk
    "compaction",  # both: upstream compacts at its current RV
    "429",  # simulator: requests answered 429 with Retry-After
    "503",  # simulator: requests answered 503 with Retry-After
    "upstream-restart",  # dev cluster: etcd + kube-apiserver restarted, data kept
    "proxy-restart",  # both: the proxy SIGTERMed and started again
    "slow-clients",  # both: informers that read one line per 20-100 ms
    "stuck-clients",  # both: watches opened and never read for 2-5 s
    "connect-storm",  # both: many watches opened at once, then dropped
    "middle-restart",  # tiers=2: the middle proxy SIGTERMed and started again
    "middle-kill",  # tiers=2: the middle proxy SIGKILLed and started again
)
TIER_FAULTS = ("middle-restart", "middle-kill")
CLIENT_FAULTS = ("proxy-restart", "slow-clients", "stuck-clients", "connect-storm")
RESOURCE = "pods"  # its DELETE answers the object at the deletion's RV
# Measured: peak 47-51 MiB on the simulator's short run (storms of 300),
# 153-159 MiB with a storm of 10,000 connections held at once (about
# 11 KiB each); the bound leaves room for that and the history window (a
# few thousand small objects), and catches a leak. docs/soak.md.
DEFAULT_RSS_BOUND_MIB = 256

# How long one write is retried. A bound of 200 tries (40 s when each is
# a quick refusal) once fell short in CI after an upstream restart; the
# cause was not established. A restarted control plane may take this long:
# kube-controller-manager waits out the killed instance's lease (15 s)
# before it makes a new namespace's service account, which pods need.
WRITE_PATIENCE = 180.0

# A storm's watches wait this long to be connected and answered: on two
# shared cores a 10,000-watch storm takes the proxy tens of seconds
# (docs/soak.md), well past the informers' 10 s connect timeout; a watch
# not answered by then is a failure of the storm.
STORM_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=300, sock_read=300)


@dataclass
class SoakConfig:
    rounds: int = 3
    round_seconds: float = 10.0
    minutes: float | None = None  # instead of rounds: as many rounds as fit
    first_seed: int | None = None
    informers: int = 12
    names: int = 24
    writes_per_second: float = 40.0
    faults_per_second: float = 0.8
    storm_size: int = 300
    rss_bound_mib: int = DEFAULT_RSS_BOUND_MIB
    kubeconfig: str | None = None
    dev_cluster: bool = False
    catch_up_seconds: float = 30.0
    progress: Callable[[str], None] = print
    workdir: Path | None = None
    # For the suite's own tests: events for which this is true are not
    # recorded, as if the proxy had dropped them.
    lose_event: Callable[[dict[str, Any]], bool] | None = None
    # Only these fault kinds (of those the upstream can suffer); None: all.
    kinds: tuple[str, ...] | None = None
    # Injected first in each round, in this order, before the random draws:
    # a short round on a loaded machine may otherwise draw none of a kind
    # a test needs (how many faults fit in a round depends on how long
    # each restart takes).
    first: tuple[str, ...] = ()
    # Proxies in a chain: 1, clients -> proxy -> upstream; 2, clients ->
    # proxy -> middle proxy -> upstream (a read tier), where the middle one
    # is restarted and killed (TIER_FAULTS) under the one clients use.
    tiers: int = 1


@dataclass
class Tally:
    rounds: int = 0
    seeds: list[int] = field(default_factory=list)
    operations: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    watchers_checked: int = 0
    sessions_checked: int = 0
    events_checked: int = 0
    lists_checked: int = 0
    divergences: list[tuple[int, Divergence]] = field(default_factory=list)
    peak_rss_mib: float = 0.0
    rss_bound_mib: int = DEFAULT_RSS_BOUND_MIB
    peak_fds: int = 0  # the proxy's open descriptors, sampled with its RSS
    proxy_cpu_seconds: float = 0.0
    storm_watches: int = 0  # connect-storm watches answered 200
    storm_seconds: float = 0.0  # the longest storm, first request to last answer
    # How the clients' proxy's caches took upstream's state, from its log:
    # "WatchList" or "LIST" -> times.
    syncs: Counter[str] = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        return not self.divergences and self.peak_rss_mib <= self.rss_bound_mib

    def table(self) -> str:
        rows = [
            ("rounds (seeds)", f"{self.rounds} ({_seed_span(self.seeds)})"),
            ("operations (writes)", str(self.operations)),
            ("faults injected", str(sum(self.faults.values()))),
            *((f"  {kind}", str(n)) for kind, n in sorted(self.faults.items())),
            ("watchers checked", str(self.watchers_checked)),
            ("watch sessions checked", str(self.sessions_checked)),
            ("events checked", str(self.events_checked)),
            ("LISTs checked", str(self.lists_checked)),
            ("divergences", str(len(self.divergences))),
            ("peak RSS of the proxy", f"{self.peak_rss_mib:.1f} MiB (bound {self.rss_bound_mib})"),
            ("peak descriptors of the proxy", str(self.peak_fds)),
            ("CPU of the proxy", f"{self.proxy_cpu_seconds:.1f} s"),
            ("syncs of the proxy's caches", _syncs(self)),
            ("storm watches answered (longest storm)", _storms(self)),
        ]
        width = max(len(r[0]) for r in rows)
        lines = [f"| {'what'.ljust(width)} | value |", f"|{'-' * (width + 2)}|-------|"]
        lines += [f"| {a.ljust(width)} | {b} |" for a, b in rows]
        lines += [f"seed {seed}: {d}" for seed, d in self.divergences[:20]]
        return "\n".join(lines)


def _syncs(tally: Tally) -> str:
    return ", ".join(f"{n} by {how}" for how, n in sorted(tally.syncs.items())) or "none"


_SYNCED = re.compile(r"synced \d+ objects at rv \d+ by (\w+)")


def _storms(tally: Tally) -> str:
    if not tally.faults["connect-storm"]:
        return "no storm"
    return f"{tally.storm_watches} ({tally.storm_seconds:.1f} s)"


def _seed_span(seeds: list[int]) -> str:
    if not seeds:
        return "none"
    return str(seeds[0]) if len(seeds) == 1 else f"{seeds[0]}..{seeds[-1]}"


# -- upstreams ---------------------------------------------------------------


class SimulatorUpstream:
    """The simulator in this process: every simulator fault available."""

    kinds = tuple(k for k in FAULTS if k != "upstream-restart" and k not in TIER_FAULTS)

    def __init__(self, workdir: Path) -> None:
        from watchcache.simulator.app import Simulator

        self.sim = Simulator()
        self.workdir = workdir
        self.kubeconfig = workdir / "kubeconfig"
        self._resume: asyncio.TimerHandle | None = None

    async def __aenter__(self) -> SimulatorUpstream:
        url = await self.sim.start()
        self.kubeconfig.write_text(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": "sim", "cluster": {"server": url}}],
                    "users": [{"name": "u", "user": {}}],
                    "contexts": [{"name": "sim", "context": {"cluster": "sim", "user": "u"}}],
                    "current-context": "sim",
                }
            )
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.sim.faults.resume_watches()
        await self.sim.stop()

    async def inject(self, kind: str, rng: random.Random) -> None:
        faults = self.sim.faults
        if kind == "watch-cut":
            faults.cut_watches(RESOURCE)
        elif kind == "watch-stall":
            faults.stall_watches(RESOURCE)
            loop = asyncio.get_running_loop()
            self._resume = loop.call_later(rng.uniform(1, 4), faults.resume_watches)
        elif kind == "410-storm":
            faults.shrink_history(rng.randint(1, 5), RESOURCE)
            faults.fail_next(rng.randint(2, 8), 410, path_prefix=f"/api/v1/{RESOURCE}")
            faults.cut_watches(RESOURCE)
        elif kind == "compaction":
            faults.compact()
        elif kind in ("429", "503"):
            faults.fail_next(rng.randint(1, 6), int(kind), retry_after=1)

    def settle(self) -> None:
        """No fault left pending: stalls resumed."""
        if self._resume is not None:
            self._resume.cancel()
        self.sim.faults.resume_watches()


class ClusterUpstream:
    """A real kube-apiserver: a DevCluster of our own (restarts and
    compaction), or any kubeconfig (client-side faults only)."""

    def __init__(self, workdir: Path, kubeconfig: str | None) -> None:
        self.workdir = workdir
        self.cluster: Any = None
        self.kubeconfig = Path(kubeconfig) if kubeconfig else workdir / "none"
        self.kinds: tuple[str, ...] = CLIENT_FAULTS
        self._own = kubeconfig is None

    async def __aenter__(self) -> ClusterUpstream:
        if self._own:
            from watchcache.devcluster import ClusterConfig, DevCluster

            self.cluster = DevCluster(
                ClusterConfig(workdir=self.workdir / "dev-cluster", tie_to_parent=True)
            )
            await asyncio.to_thread(self.cluster.start)
            self.kubeconfig = self.cluster.kubeconfig
            self.kinds = (*CLIENT_FAULTS, "upstream-restart", "compaction")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.cluster is not None:
            await asyncio.to_thread(self.cluster.stop)

    async def inject(self, kind: str, rng: random.Random) -> None:
        if kind == "upstream-restart":
            await asyncio.to_thread(self.cluster.restart)
        elif kind == "compaction":
            await asyncio.to_thread(self.cluster.compact)

    def settle(self) -> None:
        pass


Upstream = SimulatorUpstream | ClusterUpstream


# -- the proxy ---------------------------------------------------------------


class ProxyProcess:
    """``watchcache serve`` on a fixed loopback port, restartable."""

    def __init__(self, kubeconfig: Path, log: Path) -> None:
        self.kubeconfig = kubeconfig
        self.log = log
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.peak_rss_mib = 0.0
        self.peak_fds = 0
        self.cpu_seconds = 0.0  # of the runs that ended (the last at the soak's end)
        self.starts = 0
        # The restart in progress, if any (``restart``).
        self.restarting: asyncio.Future[None] | None = None

    async def start(self, session: aiohttp.ClientSession) -> None:
        self.starts += 1
        self.proc = await asyncio.to_thread(self._spawn)
        await self._wait_ready(session)

    def _spawn(self) -> subprocess.Popen[bytes]:
        with open(self.log, "a") as out:
            out.write(f"--- start {self.starts}\n")
            out.flush()
            return subprocess.Popen(
                [
                    *(sys.executable, "-m", "watchcache", "serve"),
                    *("--kubeconfig", str(self.kubeconfig), "--resources", RESOURCE),
                    *("--listen", f"127.0.0.1:{self.port}", "--shutdown-spread", "0"),
                    # The proxy's own credentials for every client, as before --auth.
                    "--auth=none",
                    # One process, whose RSS and CPU the tally reports.
                    *("--workers", "1"),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )

    async def _wait_ready(self, session: aiohttp.ClientSession) -> None:
        async with asyncio.timeout(60):
            while True:
                assert self.proc is not None
                if self.proc.poll() is not None:
                    raise RuntimeError(f"the proxy exited: {self.log.read_text()[-2000:]}")
                with contextlib.suppress(aiohttp.ClientError):
                    async with session.get(self.url + "/readyz") as r:
                        if r.status == 200:
                            return
                await asyncio.sleep(0.1)

    def sample_rss(self) -> float:
        """The proxy's peak RSS so far (VmHWM), folded into ``peak_rss_mib``."""
        if self.proc is None or self.proc.poll() is not None:
            return self.peak_rss_mib
        with contextlib.suppress(OSError):
            status = Path(f"/proc/{self.proc.pid}/status").read_text()
            found = re.search(r"VmHWM:\s+(\d+) kB", status)
            if found:
                self.peak_rss_mib = max(self.peak_rss_mib, int(found.group(1)) / 1024)
        return self.peak_rss_mib

    def sample_fds(self) -> int:
        """The proxy's open descriptors now, folded into ``peak_fds``."""
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(OSError):
                fds = len(os.listdir(f"/proc/{self.proc.pid}/fd"))
                self.peak_fds = max(self.peak_fds, fds)
        return self.peak_fds

    def _cpu_now(self) -> float:
        """CPU seconds (user + system) of the running proxy."""
        if self.proc is None or self.proc.poll() is not None:
            return 0.0
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = Path(f"/proc/{self.proc.pid}/stat").read_text()
            fields = stat.rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return 0.0

    async def stop(self) -> None:
        if self.restarting is not None and not self.restarting.done():
            await self.restarting  # the last stop comes after it
        await self._stop()

    async def _stop(self, *, kill: bool = False) -> None:
        if self.proc is None:
            return
        self.sample_rss()
        self.cpu_seconds += self._cpu_now()
        self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            await asyncio.to_thread(self.proc.wait, 30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            await asyncio.to_thread(self.proc.wait)
        self.proc = None

    async def restart(self, session: aiohttp.ClientSession, *, kill: bool = False) -> None:
        """Stop (SIGTERM, or SIGKILL with ``kill``) and start again. Runs to
        its end even when its caller is cancelled (a round ending as a
        restart is injected): cancelled between the two, the proxy stayed
        down and the next round's writes failed after WRITE_PATIENCE (seen
        in 3 of 4 runs under load)."""
        self.restarting = asyncio.ensure_future(self._restart(session, kill))
        await asyncio.shield(self.restarting)

    async def _restart(self, session: aiohttp.ClientSession, kill: bool) -> None:
        await self._stop(kill=kill)
        await self.start(session)

    def kubeconfig_to_me(self, path: Path) -> Path:
        """A kubeconfig whose server is this proxy (no credentials: it
        runs with --auth=none), for a proxy in front of it."""
        path.write_text(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": "tier", "cluster": {"server": self.url}}],
                    "users": [{"name": "u", "user": {}}],
                    "contexts": [{"name": "tier", "context": {"cluster": "tier", "user": "u"}}],
                    "current-context": "tier",
                }
            )
        )
        return path


@contextlib.asynccontextmanager
async def _held(lock: asyncio.Lock) -> AsyncIterator[None]:
    """Releases ``lock``, already acquired, on the way out."""
    try:
        yield
    finally:
        lock.release()


def raise_open_file_limit(wanted: int) -> int:
    """The soft limit on descriptors raised towards ``wanted`` (up to the
    hard limit); the proxy, a child, inherits it. A storm of N watches
    holds N sockets here and N in the proxy, for a moment."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(hard, wanted)
    if target <= soft:
        return soft
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# -- one round ---------------------------------------------------------------


@dataclass
class Round:
    """One seed's run (see the module's glossary)."""

    seed: int
    config: SoakConfig
    proxy: ProxyProcess
    upstream: Upstream
    session: aiohttp.ClientSession
    # With tiers=2: the proxy between ``proxy`` and upstream.
    middle: ProxyProcess | None = None
    history: History = field(default_factory=History)
    gate: asyncio.Event = field(default_factory=asyncio.Event)  # set: writes may go
    writing: asyncio.Lock = field(default_factory=asyncio.Lock)  # held: a write in flight
    stopping: bool = False
    slow: set[int] = field(default_factory=set)  # informers reading slowly now
    progress: dict[str, int] = field(default_factory=dict)  # informer -> newest RV seen
    operations: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    background: set[asyncio.Task[None]] = field(default_factory=set)  # stuck clients
    writes_done: bool = False  # the writer ends after its write in flight, never mid-way
    storm_watches: int = 0  # connect-storm watches answered 200
    storm_seconds: float = 0.0  # the longest storm
    storm_failures: Counter[str] = field(default_factory=Counter)  # what the others got
    # The fault being injected: shielded from the round's end, which waits
    # for it (a restart cut half-way would leave no proxy to write to).
    in_flight: set[asyncio.Task[None]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.namespace = f"soak-{self.seed}"
        self.label = {"soak": str(self.seed)}
        self.gate.set()

    @property
    def base(self) -> str:
        return f"{self.proxy.url}/api/v1/namespaces/{self.namespace}/{RESOURCE}"

    # -- writes ------------------------------------------------------------

    async def _request(
        self, method: str, url: str, body: Any = None, content_type: str = "application/json"
    ) -> tuple[int, Any]:
        """One write through the proxy, retried while the answer is one
        the write was surely not applied with (429, 5xx from a fault), for
        up to WRITE_PATIENCE seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WRITE_PATIENCE
        last = "nothing"  # the last answer or error, for the failure's message
        while loop.time() < deadline:
            await self.gate.wait()
            try:
                data = None if body is None else json.dumps(body)
                headers = {"Content-Type": content_type}
                await self.writing.acquire()
                if not self.gate.is_set():  # a restart began as the gate opened
                    self.writing.release()
                    continue
                async with (
                    _held(self.writing),
                    self.session.request(method, url, data=data, headers=headers) as r,
                ):
                    answer = await r.json(content_type=None)
                    # kube-apiserver refuses pods until the namespace's
                    # default service account exists (made by a controller).
                    no_account = r.status == 403 and "service account" in str(answer)
                    if r.status in (429, 500, 503, 504) or r.status == 410 or no_account:
                        last = f"{r.status} {str(answer)[:200]}"
                        await asyncio.sleep(min(float(r.headers.get("Retry-After", "0.2")), 1.0))
                        continue
                    return r.status, answer
            except (aiohttp.ClientConnectionError, TimeoutError) as e:
                last = f"{type(e).__name__}: {e}"
                # Refused before sending (the gate was set while the proxy
                # came back): retried; a write that died mid-flight would
                # show as a divergence naming it.
                await asyncio.sleep(0.2)
        raise RuntimeError(f"{method} {url}: no answer within {WRITE_PATIENCE:.0f}s (last: {last})")

    async def setup(self) -> None:
        ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": self.namespace}}
        code, answer = await self._request("POST", f"{self.proxy.url}/api/v1/namespaces", ns)
        assert code in (201, 409), answer

    def _object(self, name: str, labels: dict[str, str]) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": self.namespace, "labels": labels},
            # No scheduler picks it up: on a cluster with nodes it stays
            # Pending, so nothing but the writer changes it.
            "spec": {
                "containers": [{"name": "c", "image": "soak"}],
                "schedulerName": "watchcache-soak-none",
            },
        }

    async def writer(self) -> None:
        live: dict[str, dict[str, Any]] = {}
        names = [f"cm-{i}" for i in range(self.config.names)]
        period = 1.0 / self.config.writes_per_second
        while not self.stopping and not self.writes_done:
            name = self.rng.choice(names)
            app = self.rng.choice(("a", "b", "c"))
            await self._write_one(live, name, {**self.label, "app": app})
            await asyncio.sleep(self.rng.expovariate(1.0 / period))

    async def _write_one(
        self, live: dict[str, dict[str, Any]], name: str, labels: dict[str, str]
    ) -> None:
        self.operations += 1
        current = live.get(name)
        if current is None:
            code, answer = await self._request("POST", self.base, self._object(name, labels))
            self._record(code, answer, "ADDED", live, name, 201)
        elif self.rng.random() < 0.2:
            # Unscheduled pods go at once; the answer has the deletion's RV.
            url = f"{self.base}/{name}?gracePeriodSeconds=0"
            code, answer = await self._request("DELETE", url)
            self._record(code, answer, "DELETED", live, name, 200)
        else:
            # Every update changes something, so every one gets a new RV.
            annotations = current["metadata"].get("annotations") or {}
            n = int(annotations.get("n", "0")) + 1
            patch = {"metadata": {"labels": labels, "annotations": {"n": str(n)}}}
            code, answer = await self._request(
                "PATCH", f"{self.base}/{name}", patch, "application/merge-patch+json"
            )
            self._record(code, answer, "MODIFIED", live, name, 200)

    def _record(
        self,
        code: int,
        answer: Any,
        type_: str,
        live: dict[str, dict[str, Any]],
        name: str,
        ok: int,
    ) -> None:
        if code != ok:
            raise RuntimeError(f"{type_} {name}: HTTP {code}: {answer}")
        self.history.write(type_, answer)
        if type_ == "DELETED":
            live.pop(name, None)
        else:
            live[name] = answer

    # -- informers -----------------------------------------------------------

    def scopes(self) -> list[Scope]:
        own = f"soak={self.seed}"
        return [
            Scope(self.namespace, own),
            Scope(self.namespace, f"{own},app=a"),
            Scope(self.namespace, f"{own},app in (a,b)"),
            Scope(self.namespace, f"{own},app!=b"),
            Scope(None, f"{own},app in (a,c)"),
        ]

    def _path(self, scope: Scope) -> str:
        if scope.namespace is None:
            return f"{self.proxy.url}/api/v1/{RESOURCE}"
        return self.base

    async def informer(self, n: int, record: WatchRecord) -> None:
        rng = random.Random(self.seed * 1000 + n)
        watch_list = n % 3 == 2  # a third start with a WatchList, no LIST
        rv = 0
        relist = True
        while not self.stopping:
            try:
                if relist and not watch_list:
                    rv = await self._list(record.name, record.scope, rng)
                    session = record.start(rv, after_list=True)
                else:
                    session = record.start(0 if relist else rv)
                relist = await self._watch(n, record, session, rng, initial=relist)
                rv = max(rv, self.progress.get(record.name, 0))
            except (aiohttp.ClientError, TimeoutError, asyncio.IncompleteReadError):
                if record.sessions:
                    record.sessions[-1].end("error")
                await asyncio.sleep(rng.uniform(0.1, 0.5))

    async def _list(self, name: str, scope: Scope, rng: random.Random) -> int:
        consistent = rng.random() < 0.5
        params = {"labelSelector": scope.label_selector}
        if not consistent:
            params["resourceVersion"] = "0"
        written_before = self.history.newest_write
        async with self.session.get(self._path(scope), params=params) as r:
            body = await r.json(content_type=None)
            if r.status != 200:
                raise aiohttp.ClientResponseError(r.request_info, (), status=r.status)
        rv = int(body["metadata"]["resourceVersion"])
        self.progress[name] = max(self.progress.get(name, 0), rv)
        self.history.list_answer(scope, rv, body["items"], consistent, written_before)
        return rv

    async def _watch(
        self, n: int, record: WatchRecord, session: WatchSession, rng: random.Random, initial: bool
    ) -> bool:
        """One watch request; True when the informer must relist."""
        params = {
            "watch": "1",
            "labelSelector": record.scope.label_selector,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(rng.randint(3, 20)),
        }
        if session.start_rv == 0:
            params.update(sendInitialEvents="true", resourceVersionMatch="NotOlderThan")
        else:
            params["resourceVersion"] = str(session.start_rv)
        in_initial = session.start_rv == 0
        async with self.session.get(self._path(record.scope), params=params) as r:
            if r.status == 410:
                session.end("410")
                return True
            if r.status != 200:
                session.end("error")
                await asyncio.sleep(0.2)
                return False
            while not self.stopping:
                line = await r.content.readline()
                if not line:
                    break
                if n in self.slow:
                    await asyncio.sleep(rng.uniform(0.02, 0.1))
                event = json.loads(line)
                if self.config.lose_event is not None and self.config.lose_event(event):
                    continue
                kind, obj = event["type"], event["object"]
                if kind == "ERROR":
                    expired: bool = obj.get("code") == 410
                    session.end("410" if expired else "error")
                    return expired
                rv = int(obj["metadata"]["resourceVersion"])
                if in_initial and kind == "ADDED":
                    session.initial_event(obj)
                    continue
                if kind == "BOOKMARK":
                    in_initial = False  # the initial-events-end bookmark, or any after it
                    session.bookmark(rv)
                else:
                    session.event(kind, obj)
                self.progress[record.name] = max(self.progress.get(record.name, 0), rv)
        session.end("closed")
        return False

    # -- faults --------------------------------------------------------------

    async def injector(self, kinds: tuple[str, ...]) -> None:
        first = [k for k in self.config.first if k in kinds]
        while not self.stopping:
            await asyncio.sleep(self.rng.expovariate(self.config.faults_per_second))
            if self.stopping:
                return
            count = 2 if self.rng.random() < 0.3 else 1  # in combination
            drawn = self.rng.sample(kinds, min(count, len(kinds)))
            for kind in [first.pop(0)] if first else drawn:
                self.faults[kind] += 1
                task = asyncio.create_task(self._inject(kind))
                self.in_flight.add(task)
                task.add_done_callback(self.in_flight.discard)
                await asyncio.shield(task)

    async def _inject(self, kind: str) -> None:
        if kind in ("proxy-restart", "upstream-restart", *TIER_FAULTS):
            self.gate.clear()
            await self.writing.acquire()  # the write in flight answered
            self.writing.release()
            try:
                if kind == "proxy-restart":
                    await self.proxy.restart(self.session)
                elif kind in TIER_FAULTS:
                    assert self.middle is not None
                    await self.middle.restart(self.session, kill=kind == "middle-kill")
                else:
                    await self.upstream.inject(kind, self.rng)
                    await self.proxy._wait_ready(self.session)
            finally:
                self.gate.set()
        elif kind == "slow-clients":
            chosen = set(self.rng.sample(range(self.config.informers), 2))
            self.slow |= chosen
            asyncio.get_running_loop().call_later(
                self.rng.uniform(1, 4), self.slow.difference_update, chosen
            )
        elif kind == "stuck-clients":
            task = asyncio.create_task(self._stuck(self.rng.randint(5, 20), self.rng.uniform(2, 5)))
            self.background.add(task)
            task.add_done_callback(self.background.discard)
        elif kind == "connect-storm":
            await self._storm(self.config.storm_size)
        else:
            await self.upstream.inject(kind, self.rng)

    async def _stuck(self, count: int, seconds: float) -> None:
        """Watches whose bodies are never read; dropped after ``seconds``."""
        async with contextlib.AsyncExitStack() as stack:
            for _ in range(count):
                with contextlib.suppress(aiohttp.ClientError):
                    await stack.enter_async_context(
                        self.session.get(self.base, params={"watch": "1", "resourceVersion": "0"})
                    )
            await asyncio.sleep(seconds)

    async def _storm(self, size: int) -> None:
        """``size`` watches opened at once, each dropped as its headers come.
        Every one must be answered 200 (the injector's faults come one at a
        time, so no restart is under way): what the others got is counted
        and reported as a divergence."""

        async def one() -> None:
            try:
                async with self.session.get(
                    self.base,
                    params={"watch": "1", "resourceVersion": "0"},
                    timeout=STORM_TIMEOUT,
                ) as r:
                    if r.status == 200:
                        self.storm_watches += 1
                    else:
                        self.storm_failures[f"HTTP {r.status}"] += 1
            except (aiohttp.ClientError, OSError, TimeoutError) as e:
                self.storm_failures[f"{type(e).__name__}: {e}"[:160]] += 1

        loop = asyncio.get_running_loop()
        started = loop.time()
        await asyncio.gather(*(one() for _ in range(size)))
        self.storm_seconds = max(self.storm_seconds, loop.time() - started)

    # -- the round -----------------------------------------------------------

    async def run(self) -> list[Divergence]:
        await self.setup()
        scopes = self.scopes()
        records = [
            self.history.watch(f"i{n}", scopes[n % len(scopes)])
            for n in range(self.config.informers)
        ]
        informers = [asyncio.create_task(self.informer(n, r)) for n, r in enumerate(records)]
        writer = asyncio.create_task(self.writer())
        wanted = self.config.kinds
        kinds = tuple(
            k for k in _kinds(self.upstream, self.config) if wanted is None or k in wanted
        )
        injector = asyncio.create_task(self.injector(kinds))
        sampler = asyncio.create_task(self._sample_rss())
        try:
            await asyncio.sleep(self.config.round_seconds)
            return await self._finish(records, informers, writer, injector)
        finally:
            self.stopping = True
            tasks = (*informers, writer, injector, sampler, *self.background, *self.in_flight)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self.upstream.settle()

    async def _sample_rss(self) -> None:
        while True:
            self.proxy.sample_rss()
            self.proxy.sample_fds()
            await asyncio.sleep(0.5)

    async def _finish(
        self,
        records: list[WatchRecord],
        informers: list[asyncio.Task[None]],
        writer: asyncio.Task[None],
        injector: asyncio.Task[None],
    ) -> list[Divergence]:
        injector.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await injector
        await asyncio.gather(*self.in_flight)
        self.upstream.settle()
        self.slow.clear()
        self.gate.set()
        self.writes_done = True
        await writer
        # The final write every scope sees: each informer must reach it.
        final = {**self.label, "app": "a"}
        await self._write_one({}, "final", final)
        target = self.history.newest_write
        found = []
        try:
            async with asyncio.timeout(self.config.catch_up_seconds):
                while any(self.progress.get(r.name, 0) < target for r in records):  # noqa: ASYNC110
                    await asyncio.sleep(0.05)  # polled: progress is plain data, 20 times a second
        except TimeoutError:
            for r in records:
                if self.progress.get(r.name, 0) < target:
                    found.append(
                        Divergence(
                            f"watch {r.name} ({r.scope})",
                            f"did not reach the final write at RV {target} within "
                            f"{self.config.catch_up_seconds:.0f} s (stuck at RV "
                            f"{self.progress.get(r.name, 0)}; {_last_session(r)})",
                        )
                    )
        self.stopping = True
        for task in informers:
            task.cancel()
        await asyncio.gather(*informers, return_exceptions=True)
        found += self.history.check()
        if self.storm_failures:
            failed = sum(self.storm_failures.values())
            found.append(
                Divergence(
                    "connect-storm",
                    f"{failed} watches not answered 200 ({self.storm_watches} were): "
                    + "; ".join(f"{n}x {what}" for what, n in self.storm_failures.most_common(3)),
                )
            )
        # The round's objects go with its namespace (best effort; the next
        # round's scopes do not see them).
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            async with self.session.delete(f"{self.proxy.url}/api/v1/namespaces/{self.namespace}"):
                pass
        return found


# -- the run -------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _upstream(config: SoakConfig, workdir: Path) -> AsyncIterator[Upstream]:
    upstream: Upstream
    if config.kubeconfig or config.dev_cluster:
        upstream = ClusterUpstream(workdir, config.kubeconfig)
    else:
        upstream = SimulatorUpstream(workdir)
    async with upstream:
        yield upstream


async def run_soak(config: SoakConfig) -> Tally:
    """Rounds of the fault suite; the tally of what was done and found."""
    tally = Tally(rss_bound_mib=config.rss_bound_mib)
    limit = raise_open_file_limit(config.storm_size + 1024)
    if limit < config.storm_size + 256:
        config.progress(f"soak: only {limit} descriptors allowed; storms may fail for want of them")
    first = config.first_seed if config.first_seed is not None else random.randrange(1, 10**6)
    started = time.monotonic()
    deadline = started + config.minutes * 60 if config.minutes is not None else None
    with tempfile.TemporaryDirectory(prefix="watchcache-soak-") as tmp:
        workdir = config.workdir or Path(tmp)
        async with (
            _upstream(config, workdir) as upstream,
            aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0, force_close=False),
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=60),
            ) as session,
        ):
            middle = None
            kubeconfig = upstream.kubeconfig
            if config.tiers == 2:
                middle = ProxyProcess(kubeconfig, workdir / "middle.log")
                kubeconfig = middle.kubeconfig_to_me(workdir / "middle.kubeconfig")
                await middle.start(session)
            proxy = ProxyProcess(kubeconfig, workdir / "proxy.log")
            kinds = [
                k for k in _kinds(upstream, config) if config.kinds is None or k in config.kinds
            ]
            config.progress(f"soak: proxy log {proxy.log}; faults drawn from {', '.join(kinds)}")
            await proxy.start(session)
            try:
                seed = first
                while _more(config, tally, deadline):
                    config.progress(f"soak: round {tally.rounds + 1}, seed {seed}")
                    round_ = Round(seed, config, proxy, upstream, session, middle=middle)
                    found = await round_.run()
                    _add(tally, seed, round_, found)
                    for divergence in found[:5]:
                        config.progress(f"soak: seed {seed}: {divergence}")
                    config.progress(_progress_line(tally, started, proxy))
                    seed += 1
            finally:
                await proxy.stop()
                if middle is not None:
                    await middle.stop()
                tally.peak_rss_mib = proxy.peak_rss_mib
                tally.peak_fds = proxy.peak_fds
                tally.proxy_cpu_seconds = proxy.cpu_seconds
                tally.syncs.update(_SYNCED.findall(proxy.log.read_text()))
    return tally


def _kinds(upstream: Upstream, config: SoakConfig) -> tuple[str, ...]:
    """The faults this setting can suffer: its upstream's, and with a
    middle tier the middle proxy's restarts."""
    return (*upstream.kinds, *(TIER_FAULTS if config.tiers == 2 else ()))


def _more(config: SoakConfig, tally: Tally, deadline: float | None) -> bool:
    if deadline is not None:
        return time.monotonic() + config.round_seconds < deadline or tally.rounds == 0
    return tally.rounds < config.rounds


def _add(tally: Tally, seed: int, round_: Round, found: list[Divergence]) -> None:
    tally.rounds += 1
    tally.seeds.append(seed)
    tally.operations += round_.operations
    tally.faults.update(round_.faults)
    tally.watchers_checked += len(round_.history.watches)
    tally.sessions_checked += sum(len(w.sessions) for w in round_.history.watches)
    tally.events_checked += sum(
        len(s.initial) + len(s.items) for w in round_.history.watches for s in w.sessions
    )
    tally.lists_checked += len(round_.history.lists)
    tally.storm_watches += round_.storm_watches
    tally.storm_seconds = max(tally.storm_seconds, round_.storm_seconds)
    tally.divergences.extend((seed, d) for d in found)


def _progress_line(tally: Tally, started: float, proxy: ProxyProcess) -> str:
    return (
        f"[{time.monotonic() - started:6.0f} s] rounds {tally.rounds}, ops {tally.operations}, "
        f"faults {sum(tally.faults.values())}, watchers {tally.watchers_checked}, "
        f"events {tally.events_checked}, divergences {len(tally.divergences)}, "
        f"proxy peak RSS {proxy.sample_rss():.0f} MiB"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m watchcache.testing.soak", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--minutes", type=float, help="run rounds for this long (default: --rounds)"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--round-seconds", type=float, default=None, help="default 10, or 60 with --minutes"
    )
    parser.add_argument(
        "--seed", type=int, help="the first round's seed (default: random, printed)"
    )
    parser.add_argument("--informers", type=int, default=12)
    parser.add_argument("--writes-per-second", type=float, default=40.0)
    parser.add_argument("--faults-per-second", type=float, default=0.8)
    parser.add_argument("--storm-size", type=int, default=300)
    parser.add_argument(
        "--faults", help=f"comma-separated kinds to draw from (default: all of {', '.join(FAULTS)})"
    )
    parser.add_argument("--rss-bound-mib", type=int, default=DEFAULT_RSS_BOUND_MIB)
    parser.add_argument("--kubeconfig", help="a real cluster (client-side faults only)")
    parser.add_argument(
        "--dev-cluster", action="store_true", help="a DevCluster of its own (upstream restarts too)"
    )
    parser.add_argument(
        "--tiers",
        type=int,
        choices=(1, 2),
        default=1,
        help="2: clients -> proxy -> middle proxy -> upstream, the middle one restarted and killed",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        help="keep the proxies' logs and the dev cluster's files here (default: a "
        "temporary directory, removed at the end)",
    )
    args = parser.parse_args(argv)
    config = SoakConfig(
        rounds=args.rounds,
        round_seconds=args.round_seconds or (60.0 if args.minutes else 10.0),
        minutes=args.minutes,
        first_seed=args.seed,
        informers=args.informers,
        writes_per_second=args.writes_per_second,
        faults_per_second=args.faults_per_second,
        storm_size=args.storm_size,
        rss_bound_mib=args.rss_bound_mib,
        kubeconfig=args.kubeconfig,
        dev_cluster=args.dev_cluster,
        kinds=tuple(args.faults.split(",")) if args.faults else None,
        tiers=args.tiers,
        workdir=args.workdir,
    )
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
    tally = asyncio.run(run_soak(config))
    print(tally.table())
    return 0 if tally.ok else 1


def _last_session(record: WatchRecord) -> str:
    """Where a watcher's last watch stood: what a stuck one was doing."""
    if not record.sessions:
        return "no watch made"
    last = record.sessions[-1]
    start = f"RV {last.start_rv}" if last.start_rv else "initial events"
    initial = "" if last.initial_done or last.start_rv != 0 else ", initial events not done"
    return (
        f"{len(record.sessions)} watches, the last from {start}: {len(last.items)} "
        f"events and bookmarks{initial}, {last.ended_by}"
    )


if __name__ == "__main__":
    sys.exit(main())
