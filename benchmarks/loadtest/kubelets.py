"""kubelets: real kubelet code (kubemark's hollow nodes) pointed at the
backend directly or through the proxy.

A hollow node is the kubelet of Kubernetes 1.20 on a fake container
runtime (``kubemark --morph=kubelet``, built with the control plane): it
registers its Node, keeps its Lease, lists and watches its own pods and
the nodes and services, and reports each pod it is given as Running. Here
N of them are started with a kubeconfig for the endpoint under test, then
pods are bound to them (``spec.nodeName``, there is no scheduler) and
deleted again, and the step reports:

    start latency    pod created to its ``Running`` phase seen by a watch
                     of the backend itself (the kubelet must have heard of
                     the pod, "run" it, and written its status)
    delete latency   delete sent to the pod's DELETED event (the kubelet
                     must see the deletion and confirm it); the slowest
                     few are also named (``slowest_deletes_ms``, pod:
                     milliseconds), so an outlier can be followed in
                     its node's log (``KUBELET_VERBOSITY`` 4 logs each
                     pod's status syncs and its final delete)
    cost             CPU-seconds and peak RSS of kube-apiserver, the proxy
                     and the kubelets together, and the requests and
                     watchers kube-apiserver itself counted
    kubelets' CPU    the hollow nodes' own CPU-seconds (utime + stime of
                     each kubemark process, all its threads, from /proc),
                     from their start to the last pod deleted: in total,
                     per node, and per node per second of the step. The
                     kubelets ask for protobuf; ``direct`` they get it
                     from kube-apiserver, ``proxy`` from the proxy's cache,
                     ``proxy-json`` (a proxy with ``--protobuf=false``)
                     JSON from the cache for pods and nodes, so the three
                     compare a Go client's cost of decoding each

Every pod must start and be deleted within ``POD_TIMEOUT`` or the step
fails: nothing may be lost. A hollow node can die of its own: kubemark
1.20's fake OS (``FakeOS.Create``) writes a map without a lock, and a node
starting several pods at once has exited with "fatal error: concurrent map
writes" (seen here: one of 20 nodes with 10 pods each, in one of 21
runs; two earlier failed runs, direct and through the proxy, timed out
the same way but their logs were not kept). Pods are therefore created round-robin over
the nodes, so one node's pods arrive spread out, and a step that fails
names the nodes that died and their fatal line. A delete can also
stall inside the kubelet: a pod's sandbox not removed with its container
(its housekeeping's second kill of the pod failing beside it) is left to
the container garbage collection, once a minute from the kubelet's
start, and that pod's delete then takes 35-50 s (seen through the proxy, its watch event on time;
docs/benchmarks/README.md). Each hollow node needs its own kubelet port
and takes about 80 MB of RSS, which is what bounds N on one machine.

One host, many hollow nodes: kubemark 1.20 serves its fake runtime on a
fixed path, ``/tmp/kubelet_remote.sock``, so hollow nodes started side by
side take over one another's runtime (seen here: with 20, one node exited
at start and the others ran their pods in a neighbour's runtime). Each is
therefore started in a mount namespace of its own (``unshare``, which needs
root, as the CI runs) whose ``/tmp`` is its own directory, holding its
kubeconfig and CA.

The host's firewall is not theirs: the kubelet keeps chains of its own in
iptables (``KUBE-FIREWALL``, ``KUBE-POSTROUTING`` and their canaries; it
re-creates them if they go), and hollow nodes started as root wrote them
into the host's tables, where they stayed after the run: a DROP of
packets for 127.0.0.0/8 from other addresses, a MASQUERADE, and connection
tracking on every loopback packet (which cost a loopback write here about
10%: bench_write_path's plain proxy, 95-106k deliveries per CPU-second
with the chains, 115k in a network namespace without them). Each hollow
node therefore also gets a network namespace of its own for iptables only
(``/tmp/netns``, gone with the node's mount namespace), and finds
``iptables`` and its siblings first on its PATH (``/tmp/bin``) as scripts
that run the host's own in there (``IPTABLES_TOOLS``). Its sockets stay
on the host's network, so it reaches the endpoint on 127.0.0.1 as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchmarks.loadtest.meter import Meter
from benchmarks.loadtest.pacing import bounded
from benchmarks.loadtest.progress import Progress
from benchmarks.loadtest.stack import Backend, Endpoint
from benchmarks.loadtest.workload import ensure_namespace, open_target
from benchmarks.nodesim.ledger import percentiles
from benchmarks.nodesim.target import ApiStatusError, Target
from watchcache.devcluster.cluster import free_ports

__all__ = [
    "KubeletsPoint",
    "crashes",
    "kubelet_cpu_each",
    "pod_order",
    "run_kubelets",
    "slowest",
]

NAMESPACE = "lt-kubelets"
REGISTER_TIMEOUT = 120.0  # every node Ready
POD_TIMEOUT = 120.0  # every pod Running, then every pod gone
CREATE_CONCURRENCY = 16
# How many of the slowest deletes the step names.
SLOWEST = 3
# The hollow kubelets' log verbosity (klog's --v): 4 logs each pod's status
# syncs and its final delete, for following one slow pod.
KUBELET_VERBOSITY = 1
# Runs the rest of the command line with the directory given first bound
# over /tmp, in a mount namespace of its own, where /tmp/netns holds a
# network namespace for its iptables calls (see the module's docstring).
PRIVATE_TMP = (
    "unshare",
    "--mount",
    "--propagation",
    "private",
    "--",
    "sh",
    "-c",
    'mount --bind "$1" /tmp && touch /tmp/netns && unshare --net=/tmp/netns true'
    ' && shift && exec "$@"',
    "sh",
)
# What the kubelet runs to keep its chains (k8s.io/kubernetes/pkg/util/iptables
# looks each up on the PATH).
IPTABLES_TOOLS = (
    "iptables",
    "iptables-save",
    "iptables-restore",
    "ip6tables",
    "ip6tables-save",
    "ip6tables-restore",
)


@dataclass(frozen=True)
class KubeletsPoint:
    nodes: int
    pods_per_node: int
    # Seconds of steady state measured with every pod running.
    duration: float = 10.0


async def run_kubelets(
    backend: Backend, mode: str, point: KubeletsPoint, progress: Progress
) -> dict[str, Any]:
    if backend.cluster is None:
        raise RuntimeError("hollow kubelets need a real kube-apiserver (backend apiserver)")
    kubemark = backend.cluster.binaries.kubemark
    workdir = backend.cluster.workdir / f"kubelets-{mode}"
    workdir.mkdir(parents=True, exist_ok=True)
    names = [f"hollow-{mode}-{i}" for i in range(point.nodes)]
    async with open_target(backend.upstream, connections=64) as admin:
        await ensure_namespace(admin, NAMESPACE, wait_for_token=True)
        meter = Meter(backend, admin)
        async with _cleaned_up_on_error(admin, names, point.pods_per_node):
            with _hollow_nodes(kubemark, backend.endpoint(mode), names, workdir) as pids:
                backend.pids.update(pids)
                try:
                    await meter.start()  # the kubelets just started: measured from birth
                    progress.stage("registering")
                    registered = await _until_ready(admin, names)
                    progress.stage("starting pods")
                    began = time.monotonic()
                    try:
                        started = await _start_pods(admin, names, point.pods_per_node)
                    except TimeoutError as err:
                        raise TimeoutError(f"{err}{_crashes_text(workdir, names)}") from None
                    phases = {"start": time.monotonic() - began}
                    progress.stage("steady")
                    await asyncio.sleep(point.duration)
                    progress.stage("deleting pods")
                    began = time.monotonic()
                    deleted = await _delete_pods(admin, list(started))
                    phases["delete"] = time.monotonic() - began
                finally:
                    meter.freeze()
                    for name in pids:
                        backend.pids.pop(name, None)
        cost = await meter.report()
        await _delete_nodes(admin, names)
    cpu = cost["cpu_seconds"]
    rss = cost["rss_mb"]
    each = kubelet_cpu_each(cpu)
    kubelet_cpu = round(sum(each), 3)
    kubelet_rss = [v for k, v in rss.items() if k.startswith("kubelet-")]
    wall = cost.get("wall_seconds") or 0
    return {
        "params": asdict(point),
        "pods": len(started),
        "register_seconds": round(registered, 2),
        # Until the last pod Running, and until the last pod gone.
        "start_seconds": round(phases["start"], 2),
        "delete_seconds": round(phases["delete"], 2),
        "start_latency_ms": percentiles(list(started.values())),
        "delete_latency_ms": percentiles(list(deleted.values())),
        "slowest_deletes_ms": slowest(deleted, SLOWEST),
        "latency_ms": percentiles(list(started.values())),
        "kubelet_cpu_seconds": kubelet_cpu,
        "kubelet_cpu_seconds_each": each,
        "kubelet_cpu_seconds_per_node": round(kubelet_cpu / len(each), 3) if each else 0,
        "kubelet_cpu_ms_per_node_second": (
            round(kubelet_cpu * 1000 / len(each) / wall, 2) if each and wall else 0
        ),
        "kubelet_rss_mb_mean": round(sum(kubelet_rss) / len(kubelet_rss), 1) if kubelet_rss else 0,
        **{k: v for k, v in cost.items() if k not in ("cpu_seconds", "rss_mb")},
        "cpu_seconds": {k: v for k, v in cpu.items() if not k.startswith("kubelet-")},
        "rss_mb": {k: v for k, v in rss.items() if not k.startswith("kubelet-")},
    }


def kubelet_cpu_each(cpu: dict[str, float]) -> list[float]:
    """The hollow nodes' CPU-seconds, in node order, from a meter's
    per-process figures (``kubelet-<i>``; other processes left out). A node
    whose process had gone by the end has no figure and is left out."""
    found = {int(k.removeprefix("kubelet-")): v for k, v in cpu.items() if k.startswith("kubelet-")}
    return [found[i] for i in sorted(found)]


@contextlib.asynccontextmanager
async def _cleaned_up_on_error(
    admin: Target, names: list[str], per_node: int
) -> AsyncIterator[None]:
    """On an error, once the hollow nodes have stopped: their pods deleted at
    once (no kubelet is left to finish a graceful delete) and their Nodes,
    so the next run of the step (``--repeat``) starts from nothing."""
    try:
        yield
    except Exception:
        with contextlib.suppress(Exception):
            for pod in pod_order(names, per_node):
                await admin.call(
                    "DELETE",
                    f"/api/v1/namespaces/{NAMESPACE}/pods/{pod}",
                    params={"gracePeriodSeconds": "0"},
                    ok=(200, 404),
                )
            await _delete_nodes(admin, names)
        raise


@contextlib.contextmanager
def _hollow_nodes(
    kubemark: Path, endpoint: Endpoint, names: list[str], workdir: Path
) -> Iterator[dict[str, int]]:
    """One kubemark process per name, each with a /tmp of its own; their
    pids by "kubelet-<i>"; all stopped on exit."""
    procs: list[subprocess.Popen[bytes]] = []
    # Chosen now: fixed ports collided with a second load test on the same
    # host (its kubelets exited, their nodes never Ready).
    ports = free_ports(len(names))
    # The shims as the node sees them, in its own /tmp (_iptables_shims).
    env = {**os.environ, "PATH": f"/tmp/bin:{os.environ.get('PATH', '')}"}
    try:
        for i, name in enumerate(names):
            private = workdir / name
            private.mkdir(exist_ok=True)
            _kubeconfig(private, endpoint)
            _iptables_shims(private)
            argv = [
                *PRIVATE_TMP,
                str(private),
                str(kubemark),
                "--morph=kubelet",
                f"--name={name}",
                f"--kubelet-port={ports[i]}",
                "--kubelet-read-only-port=0",
                "--kubeconfig=/tmp/kubeconfig",
                f"--v={KUBELET_VERBOSITY}",
            ]
            with open(workdir / f"{name}.log", "wb") as log:
                procs.append(subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env))
        yield {f"kubelet-{i}": p.pid for i, p in enumerate(procs)}
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)


def _iptables_shims(private: Path) -> None:
    """``bin/``, in a node's ``private`` directory (its /tmp), of
    ``IPTABLES_TOOLS`` that run the host's own in the node's network
    namespace (/tmp/netns); a tool the host lacks is left out, as the
    kubelet would find it."""
    shims = private / "bin"
    shims.mkdir(exist_ok=True)
    for tool in IPTABLES_TOOLS:
        real = shutil.which(tool)
        if real is None:
            continue
        shim = shims / tool
        shim.write_text(f'#!/bin/sh\nexec nsenter --net=/tmp/netns {real} "$@"\n')
        shim.chmod(0o755)


def _kubeconfig(private: Path, endpoint: Endpoint) -> None:
    """``kubeconfig`` (and ``ca.crt``) in ``private``, naming the files by
    where they are seen from inside the namespace: /tmp."""
    cluster = f"    server: {endpoint.url}\n"
    if endpoint.ca_file and endpoint.url.startswith("https"):
        shutil.copyfile(endpoint.ca_file, private / "ca.crt")
        cluster += "    certificate-authority: /tmp/ca.crt\n"
    user = f"    token: {endpoint.token}\n" if endpoint.token else "    {}\n"
    (private / "kubeconfig").write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: lt\n"
        f"clusters:\n- name: lt\n  cluster:\n{cluster}"
        f"users:\n- name: lt\n  user:\n{user}"
        "contexts:\n- name: lt\n  context:\n    cluster: lt\n    user: lt\n"
    )


async def _until_ready(admin: Target, names: list[str]) -> float:
    """Seconds until every named node reports Ready."""
    started, wanted = time.monotonic(), set(names)
    while True:
        nodes = await admin.call("GET", "/api/v1/nodes")
        ready = {n["metadata"]["name"] for n in nodes.get("items", []) if _node_ready(n)}
        if wanted <= ready:
            return time.monotonic() - started
        if time.monotonic() - started > REGISTER_TIMEOUT:
            raise TimeoutError(
                f"nodes not Ready after {REGISTER_TIMEOUT}s: {sorted(wanted - ready)}"
            )
        await asyncio.sleep(0.5)


def _node_ready(node: dict[str, Any]) -> bool:
    conditions = node.get("status", {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _pod(name: str, node: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "loadtest-kubelets"}},
        "spec": {
            "nodeName": node,
            "automountServiceAccountToken": False,
            "terminationGracePeriodSeconds": 1,
            "containers": [{"name": "main", "image": "registry.invalid/loadtest:1"}],
        },
    }


def pod_order(nodes: list[str], per_node: int) -> dict[str, str]:
    """Pod name -> node, in the order they are created: round-robin over
    the nodes (every node's first pod, then every node's second, ...)."""
    return {f"{node}-pod-{j}": node for j in range(per_node) for node in nodes}


# A hollow node's log line that says it died: Go's runtime errors and panics.
_FATAL = re.compile(r"^(fatal error: .*|panic: .*)$", re.MULTILINE)


def crashes(logs: dict[str, str]) -> dict[str, str]:
    """The nodes whose log (by node name) holds a fatal error or a panic,
    with its first such line."""
    found = {}
    for name, text in logs.items():
        match = _FATAL.search(text)
        if match:
            found[name] = match.group(1)
    return found


def _crashes_text(workdir: Path, names: list[str]) -> str:
    logs = {}
    for name in names:
        with contextlib.suppress(OSError):
            logs[name] = (workdir / f"{name}.log").read_text(errors="replace")
    dead = crashes(logs)
    return f"; hollow nodes that died: {dead}" if dead else ""


async def _start_pods(admin: Target, nodes: list[str], per_node: int) -> dict[str, float]:
    """Create the pods; each one's milliseconds from create to Running."""
    pods = pod_order(nodes, per_node)
    sent: dict[str, float] = {}
    running: dict[str, float] = {}
    async with _pod_events(admin) as events:

        def create(name: str, node: str) -> Any:
            async def go() -> None:
                sent[name] = time.monotonic()
                await admin.call("POST", f"/api/v1/namespaces/{NAMESPACE}/pods", _pod(name, node))

            return go

        creating = asyncio.ensure_future(
            bounded(CREATE_CONCURRENCY, (create(n, node) for n, node in pods.items()))
        )
        phases: dict[str, str] = {}
        try:
            async with asyncio.timeout(POD_TIMEOUT):
                async for _kind, pod in events:
                    name, when = pod["metadata"]["name"], time.monotonic()
                    phases[name] = pod.get("status", {}).get("phase", "?")
                    if name in pods and name not in running and _running(pod):
                        running[name] = (when - sent[name]) * 1000
                    if len(running) == len(pods):
                        break
        except TimeoutError:
            missing = sorted(set(pods) - set(running))
            failure = _failure(creating)
            creating.cancel()
            raise TimeoutError(
                f"{len(running)} of {len(pods)} pods Running after {POD_TIMEOUT:g}s; "
                f"{len(sent)} created{failure}; not Running, by node: "
                f"{_count(pods[n] for n in missing)}; their phases: "
                f"{_count(phases.get(n, 'unseen') for n in missing)}"
            ) from None
        await creating
    return running


def _failure(task: asyncio.Future[Any]) -> str:
    """``", creating failed: ERROR"`` when ``task`` ended with an error."""
    if task.done() and not task.cancelled() and task.exception() is not None:
        return f", creating failed: {task.exception()!r}"
    return ""


def _count(values: Iterable[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return counts


def _running(pod: dict[str, Any]) -> bool:
    return bool(pod.get("status", {}).get("phase") == "Running")


def slowest(times: dict[str, float], n: int) -> dict[str, float]:
    """The ``n`` largest of ``times`` (name: milliseconds), largest first,
    rounded to the millisecond."""
    ranked = sorted(times.items(), key=lambda item: item[1], reverse=True)[:n]
    return {name: round(ms) for name, ms in ranked}


async def _delete_pods(admin: Target, names: list[str]) -> dict[str, float]:
    """Delete the pods; each one's milliseconds from delete to DELETED."""
    sent: dict[str, float] = {}
    gone: dict[str, float] = {}
    async with _pod_events(admin) as events:

        def delete(name: str) -> Any:
            async def go() -> None:
                sent[name] = time.monotonic()
                await admin.call("DELETE", f"/api/v1/namespaces/{NAMESPACE}/pods/{name}")

            return go

        deleting = asyncio.ensure_future(bounded(CREATE_CONCURRENCY, (delete(n) for n in names)))
        try:
            async with asyncio.timeout(POD_TIMEOUT):
                async for kind, pod in events:
                    name = pod["metadata"]["name"]
                    if kind == "DELETED" and name in sent:
                        gone[name] = (time.monotonic() - sent[name]) * 1000
                    if len(gone) == len(names):
                        break
        except TimeoutError:
            failure = _failure(deleting)
            deleting.cancel()
            raise TimeoutError(
                f"{len(gone)} of {len(names)} pods gone after {POD_TIMEOUT:g}s; "
                f"{len(sent)} deletes sent{failure}"
            ) from None
        await deleting
    return gone


@contextlib.asynccontextmanager
async def _pod_events(admin: Target) -> AsyncIterator[AsyncIterator[tuple[str, dict[str, Any]]]]:
    """The namespace's pod events from now on, from the backend itself."""
    listed = await admin.call("GET", f"/api/v1/namespaces/{NAMESPACE}/pods")
    rv = listed["metadata"]["resourceVersion"]
    queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()

    async def pump() -> None:
        path = f"/api/v1/namespaces/{NAMESPACE}/pods"
        async for event in admin.watch(path, {"resourceVersion": rv}):
            await queue.put((event["type"], event["object"]))

    task = asyncio.ensure_future(pump())

    async def events() -> AsyncIterator[tuple[str, dict[str, Any]]]:
        while True:
            get = asyncio.ensure_future(queue.get())
            done, _ = await asyncio.wait({get, task}, return_when=asyncio.FIRST_COMPLETED)
            if get not in done:
                get.cancel()
                task.result()  # the watch ended: its error, or
                raise RuntimeError("the pod watch ended")
            yield get.result()

    try:
        yield events()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _delete_nodes(admin: Target, names: list[str]) -> None:
    for name in names:
        with contextlib.suppress(ApiStatusError):
            await admin.call("DELETE", f"/api/v1/nodes/{name}", ok=(200, 404))
