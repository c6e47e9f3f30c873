"""Warm restart against the real kube-apiserver 1.20 (``--cache-dir``).

A proxy is started, stopped, objects are written while none runs, and a
second proxy starts from the saved state: it resumes by watch (no LIST, by
its own metrics and by kube-apiserver's request counts), serves the new
objects, and a watcher resuming from an RV of the first proxy gets exactly
what it missed. After an etcd compaction (podtemplates bypass the watch
cache, so upstream really answers 410, conftest.py) it relists instead.
"""

from __future__ import annotations

import http.client
import json
import secrets
import urllib.parse
from pathlib import Path
from typing import Any

from tests.e2e.serving import ask, running_serve, until_cached, upstream_requests, wait_until_ready
from tests.e2e.test_proxy_autocache import until_served_from_cache
from tests.e2e.test_table import CRD_GROUP, call, make_crds, ok
from tests.polling import until_blocking
from tests.unit.proxy.test_metrics import parse, value

from watchcache.devcluster import DevCluster

LIMITS = {"spec": {"limits": [{"type": "Container", "max": {"cpu": "2"}}]}}
TEMPLATE = {"template": {"spec": {"containers": [{"name": "c", "image": "x"}]}}}


def create(cluster: DevCluster, base: str, kind: str, name: str, spec: dict[str, Any]) -> str:
    code, body = cluster.request(
        "POST", base, {"apiVersion": "v1", "kind": kind, "metadata": {"name": name}, **spec}
    )
    assert code == 201, body
    return str(body["metadata"]["resourceVersion"])


def watch_lines(url: str, path: str, count: int) -> list[dict[str, Any]]:
    """The first ``count`` lines of a watch through the proxy."""
    connection = http.client.HTTPConnection(urllib.parse.urlsplit(url).netloc, timeout=60)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        assert response.status == 200, response.read()
        return [json.loads(response.readline()) for _ in range(count)]
    finally:
        connection.close()


def metrics(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return parse(ask(url, "/metrics").body.decode())


def test_a_restarted_proxy_resumes_by_watch_and_watchers_get_what_they_missed(
    dev_cluster: DevCluster, namespace: str, tmp_path: Path
) -> None:
    # limitranges: nothing else in the cluster writes them, so the RVs the
    # test holds are the cache's.
    base = f"/api/v1/namespaces/{namespace}/limitranges"
    for i in range(3):
        create(dev_cluster, base, "LimitRange", f"lr{i}", LIMITS)
    args = (
        "--kubeconfig",
        str(dev_cluster.kubeconfig),
        "--resources",
        "limitranges",
        "--cache-dir",
        str(tmp_path / "state"),
    )
    with running_serve(tmp_path / "first.log", *args) as url:
        wait_until_ready(url)
        listed = json.loads(ask(url, base + "?resourceVersion=0").body)
        seen = listed["metadata"]["resourceVersion"]  # what a watcher holds
        assert sorted(i["metadata"]["name"] for i in listed["items"]) == ["lr0", "lr1", "lr2"]
        early = create(dev_cluster, base, "LimitRange", "early", LIMITS)
        until_cached(url, base, early)
    lists_before = upstream_requests(dev_cluster, "limitranges")["LIST", "cluster"]

    # While no proxy runs: a create, an update, a delete.
    create(dev_cluster, base, "LimitRange", "new", LIMITS)
    code, body = dev_cluster.request("GET", f"{base}/lr1")
    body["spec"]["limits"][0]["max"]["cpu"] = "3"
    code, body = dev_cluster.request("PUT", f"{base}/lr1", body)
    assert code == 200, body
    code, body = dev_cluster.request("DELETE", f"{base}/lr2")
    assert code == 200, body

    with running_serve(tmp_path / "second.log", *args) as url:
        missed = watch_lines(url, f"{base}?watch=1&resourceVersion={seen}", 4)
        assert [(e["type"], e["object"]["metadata"]["name"]) for e in missed] == [
            ("ADDED", "early"),
            ("ADDED", "new"),
            ("MODIFIED", "lr1"),
            ("DELETED", "lr2"),
        ]
        wait_until_ready(url)
        listed = json.loads(ask(url, base + "?resourceVersion=0").body)
        names = sorted(i["metadata"]["name"] for i in listed["items"])
        assert names == ["early", "lr0", "lr1", "new"]
        samples = metrics(url)
        label = {"resource": "limitranges"}
        assert value(samples, "watchcache_upstream_lists_total", **label) == 0
        assert value(samples, "watchcache_cache_relists_total", reason="expired", **label) == 0
        assert value(samples, "watchcache_cache_warm_start_resource_version", **label) >= int(early)
        # kube-apiserver's own count: the second proxy listed nothing.
        assert upstream_requests(dev_cluster, "limitranges")["LIST", "cluster"] == lists_before
        # An RV older than the window the first proxy could answer from: 410.
        too_old = watch_lines(url, f"{base}?watch=1&resourceVersion={int(seen) - 1}", 1)
        assert too_old[0]["type"] == "ERROR"
        assert too_old[0]["object"]["code"] == 410
    assert "warm start from" in (tmp_path / "second.log").read_text()


def test_a_restarted_proxy_relists_when_upstream_compacted_its_rv(
    dev_cluster: DevCluster, namespace: str, tmp_path: Path
) -> None:
    base = f"/api/v1/namespaces/{namespace}/podtemplates"
    create(dev_cluster, base, "PodTemplate", "t0", TEMPLATE)
    args = (
        "--kubeconfig",
        str(dev_cluster.kubeconfig),
        "--resources",
        "podtemplates",
        "--cache-dir",
        str(tmp_path / "state"),
    )
    with running_serve(tmp_path / "first.log", *args) as url:
        wait_until_ready(url)
    for i in range(1, 4):
        create(dev_cluster, base, "PodTemplate", f"t{i}", TEMPLATE)
    dev_cluster.compact()

    with running_serve(tmp_path / "second.log", *args) as url:
        wait_until_ready(url)
        samples = metrics(url)
        label = {"resource": "podtemplates"}
        assert value(samples, "watchcache_cache_relists_total", reason="expired", **label) == 1
        assert value(samples, "watchcache_upstream_lists_total", **label) == 1
        listed = json.loads(ask(url, base + "?resourceVersion=0").body)
        assert sorted(i["metadata"]["name"] for i in listed["items"]) == ["t0", "t1", "t2", "t3"]


def test_auto_caches_come_back_as_auto_caches_and_a_gone_crd_is_discarded(
    dev_cluster: DevCluster, namespace: str, tmp_path: Path
) -> None:
    """limitranges and a custom resource are cached on their first reads
    and saved; the CRD is deleted while no proxy runs: the next start
    resumes limitranges by watch (no LIST) as an auto cache, and discards
    the custom resource, with a log line."""
    base = f"/api/v1/namespaces/{namespace}/limitranges"
    create(dev_cluster, base, "LimitRange", "lr0", LIMITS)
    suffix = secrets.token_hex(3)
    crds = make_crds(dev_cluster, suffix)
    gadgets = f"gadgets{suffix}"
    custom = f"/apis/{CRD_GROUP}/v1/namespaces/{namespace}/{gadgets}"
    args = (
        "--kubeconfig",
        str(dev_cluster.kubeconfig),
        "--resources=",
        "--auto-cache",
        "--cache-dir",
        str(tmp_path / "state"),
    )
    with running_serve(tmp_path / "first.log", *args) as url:
        until_served_from_cache(url, base, "limitranges")
        until_served_from_cache(url, custom, gadgets)
    lists_before = upstream_requests(dev_cluster, "limitranges")["LIST", "cluster"]
    new = create(dev_cluster, base, "LimitRange", "new", LIMITS)
    paths = [f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}" for name in crds]
    for path in paths:
        ok(call(dev_cluster, "DELETE", path))
    # Gone, not terminating: a terminating CRD still defines its resource.
    until_blocking(
        lambda: all(call(dev_cluster, "GET", path).code == 404 for path in paths),
        "the CRDs gone",
        timeout=60,
    )

    with running_serve(tmp_path / "second.log", *args) as url:

        def restores() -> dict[str, float]:
            samples = metrics(url)
            return {
                result: value(samples, "watchcache_auto_cache_restores_total", result=result)
                for result in ("restored", "undefined", "skipped")
            }

        until_blocking(lambda: sum(restores().values()) == 2, "both considered", timeout=60)
        assert restores() == {"restored": 1, "undefined": 1, "skipped": 0}
        until_served_from_cache(url, base, "limitranges")
        until_cached(url, base, new)
        listed = json.loads(ask(url, base + "?resourceVersion=0").body)
        assert sorted(i["metadata"]["name"] for i in listed["items"]) == ["lr0", "new"]
        samples = metrics(url)
        label = {"resource": "limitranges"}
        assert value(samples, "watchcache_upstream_lists_total", **label) == 0
        assert value(samples, "watchcache_auto_cache_started_total") == 1
        assert upstream_requests(dev_cluster, "limitranges")["LIST", "cluster"] == lists_before
        # The custom resource is upstream's again (gone there).
        assert ask(url, custom).status == 404
    log = (tmp_path / "second.log").read_text()
    assert f"discarding {CRD_GROUP}/v1/{gadgets} saved in --cache-dir" in log
