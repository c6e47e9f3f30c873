"""``watchcache serve --workers 2`` in front of kube-apiserver 1.20: one
upstream watch for the host, every watcher's stream whole on either worker,
a SIGKILLed worker restarted and its clients resumed by RV, /metrics summed.

Glossary:
    follower   a client thread that watches configmaps of the test's
               namespace from an RV and, when its stream ends, watches
               again from the last RV it saw (as client-go's reflector
               does), until it has seen the configmap named ``end``
    reference  the same watch made on kube-apiserver directly: what every
               follower must have seen, event for event
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import ssl
import threading
import urllib.parse
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from tests.e2e.serving import ask, serve_process, wait_until_ready
from tests.e2e.test_proxy_forward import metric, upstream_watches
from tests.polling import until_blocking

from watchcache.devcluster import DevCluster

WATCHERS = 24
Event = tuple[str, str, str]  # type, name, resourceVersion


def upstream_configmap_watches(dev_cluster: DevCluster) -> float:
    """Cluster-wide configmap watches open in kube-apiserver: the proxy's,
    and kube-controller-manager's."""
    return upstream_watches(dev_cluster, "configmaps", "cluster")


@dataclass
class Proxy:
    url: str
    pid: int
    upstream_watches_before: float


@pytest.fixture(scope="module")
def proxy(dev_cluster: DevCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    before = upstream_configmap_watches(dev_cluster)
    log = tmp_path_factory.mktemp("workers") / "serve.log"
    args = ("--kubeconfig", str(dev_cluster.kubeconfig), "--resources", "configmaps")
    with serve_process(log, *args, "--workers", "2") as (url, proc):
        wait_until_ready(url)
        yield Proxy(url, proc.pid, before)


def workers_of(primary: int) -> dict[int, int]:
    """The primary's worker processes: pid by slot."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        if ppid == primary and b"watchcache.workers.worker" in argv:
            found[int(argv[argv.index(b"watchcache.workers.worker") + 2])] = int(entry.name)
    return found


@dataclass
class Follower:
    """See the module's glossary. ``resume`` gates each re-watch."""

    base: str
    path: str
    rv: str
    headers: dict[str, str] = field(default_factory=dict)
    context: ssl.SSLContext | None = None
    resume: threading.Event = field(default_factory=threading.Event)
    events: list[Event] = field(default_factory=list)
    watches: int = 0
    ends: int = 0  # streams that ended before ``end``
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.resume.set()

    def run(self) -> list[Event]:
        while not self.done():
            assert self.resume.wait(120), "never told to resume"
            assert self.watches < 10, f"watched {self.watches} times: {self.errors}"
            self.watches += 1
            self._watch_once()
        return self.events

    def done(self) -> bool:
        return bool(self.events) and self.events[-1][1] == "end"

    def _watch_once(self) -> None:
        url = urllib.parse.urlsplit(self.base)
        connection = (
            http.client.HTTPSConnection(url.netloc, timeout=120, context=self.context)
            if url.scheme == "https"
            else http.client.HTTPConnection(url.netloc, timeout=120)
        )
        try:
            connection.request(
                "GET", f"{self.path}?watch=1&resourceVersion={self.rv}", headers=self.headers
            )
            response = connection.getresponse()
            assert response.status == 200, response.read()
            while not self.done():
                line = response.readline()
                if not line:
                    self.ends += 1
                    return  # the stream ended: watch again from self.rv
                event = json.loads(line)
                assert event["type"] != "ERROR", event
                meta = event["object"]["metadata"]
                self.events.append((event["type"], meta["name"], meta["resourceVersion"]))
                self.rv = meta["resourceVersion"]
        except (OSError, http.client.HTTPException) as err:
            self.ends += 1
            self.errors.append(repr(err))  # the worker died: watch again
        finally:
            connection.close()


def write(dev_cluster: DevCluster, namespace: str, names: list[str]) -> None:
    """Create each configmap, then change it."""
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    for name in names:
        body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}
        code, answer = dev_cluster.request("POST", path, body)
        assert code == 201, answer
        patch = {"data": {"k": name}}
        code, answer = dev_cluster.request(
            "PATCH", f"{path}/{name}", patch, content_type="application/merge-patch+json"
        )
        assert code == 200, answer


def reference(dev_cluster: DevCluster, namespace: str, rv: str) -> Follower:
    return Follower(
        dev_cluster.url,
        f"/api/v1/namespaces/{namespace}/configmaps",
        rv,
        headers={"Authorization": f"Bearer {dev_cluster.admin_token}"},
        context=ssl.create_default_context(cafile=str(dev_cluster.ca_file)),
    )


def start_rv(proxy: Proxy, namespace: str) -> str:
    answer = ask(proxy.url, f"/api/v1/namespaces/{namespace}/configmaps")
    assert answer.status == 200, answer.body
    return str(json.loads(answer.body)["metadata"]["resourceVersion"])


def per_worker(text: str, name: str, **labels: str) -> dict[str, float]:
    return {slot: metric(text, name, worker=slot, **labels) for slot in ("0", "1")}


def watchers(proxy: Proxy) -> dict[str, float]:
    """Configmap watchers open on each worker."""
    text = ask(proxy.url, "/metrics").body.decode()
    return per_worker(text, "watchcache_registered_watchers", resource="configmaps")


def test_one_upstream_watch_and_every_stream_whole_on_both_workers(
    proxy: Proxy, dev_cluster: DevCluster, namespace: str
) -> None:
    until_blocking(
        lambda: upstream_configmap_watches(dev_cluster) == proxy.upstream_watches_before + 1,
        "kube-apiserver to hold the primary's one configmap watch",
        timeout=60,
        every=0.2,
    )
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    rv = start_rv(proxy, namespace)
    followers = [Follower(proxy.url, path, rv) for _ in range(WATCHERS)]
    direct = reference(dev_cluster, namespace, rv)
    with ThreadPoolExecutor(WATCHERS + 1) as pool:
        streams = [pool.submit(f.run) for f in [direct, *followers]]
        until_blocking(
            lambda: sum(watchers(proxy).values()) >= WATCHERS,
            "every follower's watch to open",
            timeout=60,
            every=0.1,
        )
        opened = watchers(proxy)
        write(dev_cluster, namespace, [f"cm-{i}" for i in range(15)] + ["end"])
        expected = streams[0].result(timeout=120)
        for stream in streams[1:]:
            assert stream.result(timeout=120) == expected
    assert len(expected) == 31  # ends at ADDED end
    assert [int(e[2]) for e in expected] == sorted({int(e[2]) for e in expected})
    assert all(slot > 0 for slot in opened.values()), opened  # both workers served watches
    assert upstream_configmap_watches(dev_cluster) == proxy.upstream_watches_before + 1


def test_a_killed_worker_is_restarted_and_its_clients_resume_by_rv(
    proxy: Proxy, dev_cluster: DevCluster, namespace: str
) -> None:
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    rv = start_rv(proxy, namespace)
    followers = [Follower(proxy.url, path, rv) for _ in range(WATCHERS)]
    direct = reference(dev_cluster, namespace, rv)
    before = workers_of(proxy.pid)
    assert sorted(before) == [0, 1], before
    with ThreadPoolExecutor(WATCHERS + 1) as pool:
        streams: list[Future[list[Event]]] = [pool.submit(f.run) for f in [direct, *followers]]
        until_blocking(
            lambda: sum(watchers(proxy).values()) >= WATCHERS,
            "every follower's watch to open",
            timeout=60,
            every=0.1,
        )
        write(dev_cluster, namespace, [f"a-{i}" for i in range(5)])
        until_blocking(
            lambda: all(len(f.events) == 10 for f in followers),
            "the first writes to arrive",
            timeout=60,
        )
        # Until worker 0 is back, nobody watches again: then some land on it.
        for follower in followers:
            follower.resume.clear()
        os.kill(before[0], signal.SIGKILL)
        write(dev_cluster, namespace, [f"b-{i}" for i in range(5)])  # while it is down
        until_blocking(
            lambda: workers_of(proxy.pid).get(0, before[0]) != before[0],
            "worker 0 to be started again",
            timeout=60,
            every=0.1,
        )
        wait_until_ready(proxy.url)
        until_blocking(
            lambda: (
                metric(ask(proxy.url, "/metrics").body.decode(), "watchcache_workers_scraped") == 3
            ),
            "the restarted worker to answer its control socket",
            timeout=60,
            every=0.1,
        )
        dropped = [f for f in followers if f.ends]
        for follower in followers:
            follower.resume.set()
        until_blocking(
            lambda: sum(watchers(proxy).values()) >= WATCHERS,
            "every follower to watch again",
            timeout=60,
            every=0.1,
        )
        resumed_on_restarted = watchers(proxy)["0"]
        write(dev_cluster, namespace, [f"c-{i}" for i in range(5)] + ["end"])
        expected = streams[0].result(timeout=120)
        for stream in streams[1:]:
            assert stream.result(timeout=120) == expected
    assert len(expected) == 31  # ends at ADDED end
    assert dropped, "no follower was on the killed worker"
    assert any(f.watches > 1 for f in followers)
    assert resumed_on_restarted > 0, "no follower resumed on the restarted worker"
    assert workers_of(proxy.pid)[1] == before[1]  # the other worker was left alone
    until_blocking(
        lambda: upstream_configmap_watches(dev_cluster) == proxy.upstream_watches_before + 1,
        "kube-apiserver to hold still just the primary's one watch",
        timeout=60,
        every=0.2,
    )


def test_metrics_sum_the_workers_counters(proxy: Proxy, namespace: str) -> None:
    labels = {"verb": "list", "resource": "configmaps", "code": "200", "served_by": "cache"}

    def lists_counted() -> float:
        text = ask(proxy.url, "/metrics").body.decode()
        summed = [
            line for line in text.splitlines() if line.startswith("watchcache_requests_total{")
        ]
        return sum(
            metric(line, "watchcache_requests_total", **labels)
            for line in summed
            if "worker=" not in line
        )

    before = lists_counted()
    for _ in range(40):
        answer = ask(proxy.url, f"/api/v1/namespaces/{namespace}/configmaps?resourceVersion=0")
        assert answer.status == 200
    assert lists_counted() == before + 40
    text = ask(proxy.url, "/metrics").body.decode()
    assert metric(text, "watchcache_workers_scraped") == 3
    # Each worker's gauges by worker; the primary's upstream watch its own.
    objects = [line for line in text.splitlines() if line.startswith("watchcache_cache_objects{")]
    assert {w for line in objects for w in ('worker="0"', 'worker="1"') if w in line} == {
        'worker="0"',
        'worker="1"',
    }
    assert metric(text, "watchcache_cache_synced", resource="configmaps", worker="primary") == 1
    assert metric(text, "process_cpu_seconds_total") > 0
