"""``watchcache serve --workers 2 --auto-cache`` in front of kube-apiserver
1.20: a resource first read through a worker is watched upstream once for
the host (the primary's watch), both workers serve it from their own
caches once synced, never through a watch the primary forwarded upstream,
and idle caches are dropped by the workers first, by the primary only
``--auto-cache-idle`` after the last worker's watch of it ended.

Glossary:
    primary's series   its metrics under ``worker="primary"`` in a worker's
                       merged /metrics; a counter without a ``worker`` label
                       is the workers' sum, a gauge is per ``worker``
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from tests.e2e.serving import ask, serve_process, wait_until_ready
from tests.e2e.test_proxy_forward import metric, upstream_watches
from tests.polling import until_blocking

from watchcache.devcluster import DevCluster

pytestmark = pytest.mark.e2e

# Short, so the drops are seen within the test; long enough that the reads
# below (a few seconds on a loaded machine) keep the caches.
IDLE = 15
_SAMPLE = re.compile(r"^(\w+)(?:\{(.*)\})? (\S+)$")


@dataclass
class Proxy:
    url: str
    upstream_watches_before: float


def upstream_limitrange_watches(dev_cluster: DevCluster) -> float:
    """Cluster-wide limitrange watches open in kube-apiserver: the proxy's,
    and kube-controller-manager's (its garbage collector watches every
    resource)."""
    return upstream_watches(dev_cluster, "limitranges", "cluster")


@pytest.fixture(scope="module")
def proxy(dev_cluster: DevCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    before = upstream_limitrange_watches(dev_cluster)
    log = tmp_path_factory.mktemp("workers-autocache") / "serve.log"
    args = ("--kubeconfig", str(dev_cluster.kubeconfig), "--resources=", "--auto-cache")
    with serve_process(log, *args, "--auto-cache-idle", f"{IDLE}s", "--workers", "2") as (
        url,
        _proc,
    ):
        wait_until_ready(url)
        yield Proxy(url, before)


def workers_only(text: str, name: str, **labels: str) -> float:
    """The workers' sum of a counter: its samples without a worker label."""
    lines = [line for line in text.splitlines() if "worker=" not in line]
    return metric("\n".join(lines), name, **labels)


def synced_in(text: str) -> set[str]:
    """Which processes (``primary``, ``0``, ``1``) hold a synced limitrange cache."""
    found = set()
    for line in text.splitlines():
        sample = _SAMPLE.match(line)
        if sample is None or sample.group(1) != "watchcache_cache_synced":
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', sample.group(2) or ""))
        if labels.get("resource") == "limitranges" and float(sample.group(3)) == 1:
            found.add(labels.get("worker", ""))
    return found


def test_one_upstream_watch_served_from_both_workers_then_dropped_workers_first(
    proxy: Proxy, dev_cluster: DevCluster, namespace: str
) -> None:
    path = f"/api/v1/namespaces/{namespace}/limitranges"
    body = {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": {"name": "lr"},
        "spec": {"limits": [{"type": "Container", "max": {"cpu": "2"}}]},
    }
    code, answer = dev_cluster.request("POST", path, body)
    assert code == 201, answer

    # The first reads are forwarded, and start the caches: the primary's
    # first, then each worker's (every read is a new connection, which the
    # kernel gives to either worker).
    def cached_everywhere() -> bool:
        answer = ask(proxy.url, f"{path}?resourceVersion=0")
        assert answer.status == 200, answer.body
        assert [i["metadata"]["name"] for i in json.loads(answer.body)["items"]] == ["lr"]
        return synced_in(ask(proxy.url, "/metrics").body.decode()) == {"primary", "0", "1"}

    until_blocking(cached_everywhere, "limitranges cached by all three", timeout=60, every=0.2)
    until_blocking(
        lambda: upstream_limitrange_watches(dev_cluster) == proxy.upstream_watches_before + 1,
        "kube-apiserver to hold the primary's one limitrange watch",
        timeout=60,
        every=0.2,
    )

    # Reads from the cache, on both workers (40 connections: the chance
    # that one worker gets none is 2^-39), once each worker's cache is
    # ready (its watch of the primary confirmed its state: a second).
    labels = {"resource": "limitranges", "verb": "list", "served_by": "cache"}

    def all_from_cache() -> bool:
        text = ask(proxy.url, "/metrics").body.decode()
        before = workers_only(text, "watchcache_requests_total", **labels)
        for _ in range(40):
            answer = ask(proxy.url, f"{path}?resourceVersion=0")
            assert answer.status == 200
            assert [i["metadata"]["name"] for i in json.loads(answer.body)["items"]] == ["lr"]
        text = ask(proxy.url, "/metrics").body.decode()
        return workers_only(text, "watchcache_requests_total", **labels) == before + 40

    until_blocking(all_from_cache, "40 reads from the workers' caches", timeout=60, every=0.2)
    text = ask(proxy.url, "/metrics").body.decode()
    assert upstream_limitrange_watches(dev_cluster) == proxy.upstream_watches_before + 1
    # The workers' lists and watches were the primary's cache's to answer,
    # never forwarded upstream by it.
    for verb in ("watch", "list"):
        forwarded = metric(
            text,
            "watchcache_requests_total",
            resource="limitranges",
            verb=verb,
            served_by="upstream",
            worker="primary",
        )
        assert forwarded == 0, (verb, forwarded)
    assert metric(text, "watchcache_auto_caches", worker="primary") >= 1

    # Idle: both workers drop theirs, the primary only once neither
    # watches it (seen at every scrape until the primary's is gone).
    def primary_dropped() -> bool:
        text = ask(proxy.url, "/metrics").body.decode()
        held = synced_in(text)
        assert "primary" in held or not held & {"0", "1"}, held
        return "primary" not in held

    until_blocking(primary_dropped, "the primary's idle drop", timeout=4 * IDLE + 60, every=0.2)
    text = ask(proxy.url, "/metrics").body.decode()
    idle = {"reason": "idle"}
    assert workers_only(text, "watchcache_auto_cache_dropped_total", **idle) >= 2
    assert metric(text, "watchcache_auto_cache_dropped_total", worker="primary", **idle) >= 1
    until_blocking(
        lambda: upstream_limitrange_watches(dev_cluster) == proxy.upstream_watches_before,
        "the primary's limitrange watch to end",
        timeout=60,
        every=0.2,
    )
