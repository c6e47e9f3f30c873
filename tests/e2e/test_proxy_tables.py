"""Tables through `watchcache serve`, against kube-apiserver 1.20's own:
``kubectl get`` asks for a ``meta.k8s.io`` Table first, and the proxy now
renders it from the cache for the resources it has a printer for.

Each comparison reads the proxy and kube-apiserver at the same
resourceVersion (an exact LIST, a GET at an RV, a watch replayed from an
RV), so the objects are the same and only AGE may differ by the seconds
between the two reads (``assert_same_table`` allows that); the proxy's
metrics show the answer came from its cache. kubectl's output is compared
line by line with durations masked."""

from __future__ import annotations

import json
import re
import ssl
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from tests.e2e.serving import ask, ask_direct, kubectl_env, running_serve, wait_until_ready
from tests.e2e.serving import until_cached as until_cached_at
from tests.e2e.test_table import assert_same_table, call, make_pods, ok
from tests.polling import until_blocking

from watchcache.api.listoptions import ListOptions
from watchcache.api.resources import GroupVersionResource, resource_info
from watchcache.devcluster import DevCluster
from watchcache.proxy.rendering import TABLE_V1, TableRead, bookmarks_for

pytestmark = pytest.mark.e2e

V1 = "application/json;as=Table;v=v1;g=meta.k8s.io"
V1BETA1 = "application/json;as=Table;v=v1beta1;g=meta.k8s.io"
# What kubectl 1.20 sends for `kubectl get`.
KUBECTL_ACCEPT = f"{V1},{V1BETA1},application/json"
ACCEPTS = {"kubectl": KUBECTL_ACCEPT, "v1beta1": f"{V1BETA1},application/json"}


@pytest.fixture(scope="module")
def proxy(dev_cluster: DevCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("proxy") / "serve.log"
    args = ["--kubeconfig", str(dev_cluster.kubeconfig), "--resources", "pods,configmaps"]
    with running_serve(log, *args) as url:
        wait_until_ready(url)
        yield url


@pytest.fixture
def pods(dev_cluster: DevCluster, proxy: str, namespace: str) -> Iterator[str]:
    """test_table.py's pods (17, in every state 1.20 prints) in a new
    namespace, cached by the proxy; the RV they were listed at. The
    terminating pod's finalizer is taken off afterwards, so the namespace
    goes."""
    make_pods(dev_cluster, namespace)
    path = f"/api/v1/namespaces/{namespace}/pods"
    rv: str = ok(call(dev_cluster, "GET", path))["metadata"]["resourceVersion"]
    until_cached_at(proxy, path, rv)
    yield rv
    held = ok(call(dev_cluster, "GET", f"{path}/terminating"))
    held["metadata"]["finalizers"] = []
    ok(call(dev_cluster, "PUT", f"{path}/terminating", held))


_SAMPLE = re.compile(r"^watchcache_requests_total\{(.*)\} (\S+)$", re.M)
_LABEL = re.compile(r'(\w+)="([^"]*)"')


def served(proxy: str, served_by: str = "cache") -> dict[str, int]:
    """The proxy's count of pod reads by verb, answered by ``served_by``."""
    counts: dict[str, int] = {}
    for labels_text, value in _SAMPLE.findall(ask(proxy, "/metrics").body.decode()):
        labels = dict(_LABEL.findall(labels_text))
        if labels.get("resource") == "pods" and labels.get("served_by") == served_by:
            counts[labels["verb"]] = counts.get(labels["verb"], 0) + int(float(value))
    return counts


def both(dev_cluster: DevCluster, proxy: str, path: str, accept: str) -> tuple[Any, Any]:
    """The proxy's answer and kube-apiserver's, each as (status, JSON)."""
    ours, theirs = (
        ask(proxy, path, {"Accept": accept}),
        ask_direct(dev_cluster, path, {"Accept": accept}),
    )
    assert ours.content_type == theirs.content_type, path
    return (ours.status, json.loads(ours.body)), (theirs.status, json.loads(theirs.body))


@pytest.mark.parametrize("accept", ACCEPTS.values(), ids=ACCEPTS.keys())
def test_list_and_get_tables_match_kube_apiserver_from_the_cache(
    dev_cluster: DevCluster, proxy: str, namespace: str, pods: str, accept: str
) -> None:
    path = f"/api/v1/namespaces/{namespace}/pods"
    before = served(proxy)
    exact = f"resourceVersion={pods}&resourceVersionMatch=Exact"
    for query in (exact, f"{exact}&includeObject=Object", f"{exact}&includeObject=None"):
        (code, ours), (their_code, theirs) = both(dev_cluster, proxy, f"{path}?{query}", accept)
        assert code == their_code == 200, ours
        assert len(ours["rows"]) == 17
        assert_same_table(ours, theirs, f"LIST ?{query}")
    # Pages: the same rows, and the table's continue and remainingItemCount.
    (_, page), (_, their_page) = both(dev_cluster, proxy, f"{path}?{exact}&limit=5", accept)
    assert page["metadata"]["remainingItemCount"] == 12
    assert_same_table(page, their_page, "first page")
    token = page["metadata"]["continue"]
    (_, second), (_, their_second) = both(
        dev_cluster, proxy, f"{path}?limit=5&continue={token}", accept
    )
    assert_same_table(second, their_second, "second page")
    for row in page["rows"][:3]:
        one = f"{path}/{row['cells'][0]}?resourceVersion={pods}"
        (code, ours), (their_code, theirs) = both(dev_cluster, proxy, one, accept)
        assert code == their_code == 200
        assert_same_table(ours, theirs, f"GET {one}")
    after = served(proxy)
    assert after.get("list", 0) - before.get("list", 0) == 5
    assert after.get("get", 0) - before.get("get", 0) == 3


def test_a_bad_include_object_is_kube_apiservers_400(
    dev_cluster: DevCluster, proxy: str, namespace: str, pods: str
) -> None:
    path = f"/api/v1/namespaces/{namespace}/pods"
    for query in ("?includeObject=All", f"?watch=1&resourceVersion={pods}&includeObject=All"):
        (code, ours), (their_code, theirs) = both(dev_cluster, proxy, path + query, KUBECTL_ACCEPT)
        assert code == their_code == 400
        assert ours == theirs


def _pod(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"containers": [{"name": "c", "image": "x"}]}}


def _events(
    base: str, path: str, accept: str, count: int, cluster: DevCluster | None = None
) -> list[Any]:
    """The first ``count`` events of a watch, from the proxy or (with
    ``cluster``) from kube-apiserver as admin."""
    headers = {"Accept": accept}
    context = None
    if cluster is not None:
        headers["Authorization"] = f"Bearer {cluster.admin_token}"
        context = ssl.create_default_context(cafile=str(cluster.ca_file))
    request = urllib.request.Request(base + path, headers=headers)
    events = []
    with urllib.request.urlopen(request, context=context, timeout=130) as response:
        for line in response:
            events.append(json.loads(line))
            if len(events) == count:
                break
    return events


def watch_both(
    dev_cluster: DevCluster, proxy: str, path: str, accept: str, count: int
) -> tuple[list[Any], list[Any]]:
    ours = _events(proxy, path, accept, count)
    theirs = _events(dev_cluster.url, path, accept, count, dev_cluster)
    return ours, theirs


def _changes(dev_cluster: DevCluster, namespace: str) -> str:
    """Writes to two pods (w1 is created, relabelled, deleted; w2 created)
    after the returned RV."""
    path = f"/api/v1/namespaces/{namespace}/pods"
    rv: str = ok(call(dev_cluster, "GET", path))["metadata"]["resourceVersion"]
    ok(call(dev_cluster, "POST", path, _pod("w1")))
    ok(call(dev_cluster, "POST", path, _pod("w2")))
    w1 = ok(call(dev_cluster, "GET", f"{path}/w1"))
    w1["metadata"]["labels"] = {"changed": "yes"}
    ok(call(dev_cluster, "PUT", f"{path}/w1", w1))
    ok(call(dev_cluster, "DELETE", f"{path}/w1?gracePeriodSeconds=0"))
    return rv


def test_watch_tables_match_kube_apiserver_from_the_cache(
    dev_cluster: DevCluster, proxy: str, namespace: str, pods: str
) -> None:
    """A watch replayed from an RV: each event a Table of one row, columns
    on the first only; then the watch of one object by its path."""
    rv = _changes(dev_cluster, namespace)
    path = f"/api/v1/namespaces/{namespace}/pods"
    before = served(proxy)
    collection = f"{path}?watch=1&resourceVersion={rv}&timeoutSeconds=5"
    ours, theirs = watch_both(dev_cluster, proxy, collection, KUBECTL_ACCEPT, 5)
    assert [e["type"] for e in theirs] == ["ADDED", "ADDED", "MODIFIED", "MODIFIED", "DELETED"]
    for mine, real in zip(ours, theirs, strict=True):
        assert mine["type"] == real["type"]
        assert_same_table(mine["object"], real["object"], f"watch {real['type']}")
    assert all(e["object"]["columnDefinitions"] is None for e in ours[1:])
    # One object by its legacy path: kube-apiserver's watch of metadata.name=w1.
    one = f"/api/v1/watch/namespaces/{namespace}/pods/w1?resourceVersion={rv}&timeoutSeconds=5"
    ours, theirs = watch_both(dev_cluster, proxy, one, KUBECTL_ACCEPT, 4)
    assert [e["object"]["rows"][0]["cells"][0] for e in theirs] == ["w1"] * 4
    for mine, real in zip(ours, theirs, strict=True):
        assert mine["type"] == real["type"]
        assert_same_table(mine["object"], real["object"], f"watch w1 {real['type']}")
    ours, theirs = watch_both(dev_cluster, proxy, one, "application/json", 4)
    assert ours == theirs
    after = served(proxy)
    assert after.get("watch", 0) - before.get("watch", 0) == 3


@pytest.mark.parametrize(
    "selector",
    ["metadata.name%3Dw9", "spec.nodeName%3Dn", "metadata.name%3Dw1,spec.nodeName%3Dn"],
)
def test_a_named_watchs_field_selector_is_checked_as_kube_apiserver_does(
    dev_cluster: DevCluster, proxy: str, namespace: str, selector: str
) -> None:
    """On the legacy ``/watch/`` path; ``.../pods/w1?watch=1`` is a GET in
    1.20, whatever its selector (the proxy forwards it)."""
    ok(call(dev_cluster, "POST", f"/api/v1/namespaces/{namespace}/pods", _pod("w1")))
    query = f"timeoutSeconds=1&fieldSelector={selector}"
    path = f"/api/v1/namespaces/{namespace}/pods/w1?watch=1&{query}"
    ours, theirs = ask(proxy, path), ask_direct(dev_cluster, path)
    assert ours.status == theirs.status == 200
    assert json.loads(ours.body) == json.loads(theirs.body)
    path = f"/api/v1/watch/namespaces/{namespace}/pods/w1?{query}"
    ours, theirs = ask(proxy, path), ask_direct(dev_cluster, path)
    assert ours.status == theirs.status
    if theirs.status == 200:  # the selector requires w1, and selects nothing else
        assert ours.body == theirs.body == b""
    else:
        assert json.loads(ours.body) == json.loads(theirs.body)


def test_a_watch_error_is_a_status_in_a_table_watch(
    dev_cluster: DevCluster, proxy: str, namespace: str, pods: str
) -> None:
    """An RV older than the proxy's history: the ERROR line's Status is the
    same as on a JSON watch (kube-apiserver passes a Status through its
    Table conversion). Not compared with kube-apiserver's: its own watch
    cache still holds such an RV on this young cluster."""
    path = f"/api/v1/namespaces/{namespace}/pods?watch=1&resourceVersion=2"
    (table,) = _events(proxy, path, KUBECTL_ACCEPT, 1)
    (plain,) = _events(proxy, path, "application/json", 1)
    assert table["type"] == "ERROR"
    assert table["object"]["code"] == 410
    assert table == plain


def test_a_bookmark_table_is_kube_apiservers(dev_cluster: DevCluster, namespace: str) -> None:
    """Slow: 1.20 sends a watch's first bookmark about a minute in (docs/
    protobuf.md says when). Its Table is compared with what the proxy's
    Table filter makes of the canonical bookmark line at the same RV."""
    path = f"/api/v1/namespaces/{namespace}/pods"
    rv = ok(call(dev_cluster, "GET", path))["metadata"]["resourceVersion"]
    watch = f"{path}?watch=1&resourceVersion={rv}&allowWatchBookmarks=true&timeoutSeconds=100"
    with ThreadPoolExecutor(1) as pool:
        events = pool.submit(_events, dev_cluster.url, watch, KUBECTL_ACCEPT, 2, dev_cluster)
        # The pod is written once the watch is open, so a bookmark follows it.
        until_blocking(lambda: _watching(dev_cluster), "the watch to open", timeout=30)
        ok(call(dev_cluster, "POST", path, _pod("b1")))
        added, bookmark = events.result(timeout=130)
    assert (added["type"], bookmark["type"]) == ("ADDED", "BOOKMARK")
    theirs = bookmark["object"]
    info = resource_info(GroupVersionResource("", "v1", "pods"))
    rendering = TABLE_V1.bind(info, {}, time.time, watch=True)
    assert isinstance(rendering, TableRead)
    table_filter = rendering.watch_filter(namespace, ListOptions())
    # The ADDED line went first, with the columns, through the same tables.
    pod = ok(call(dev_cluster, "GET", f"{path}/b1"))
    rendering.tables.event_line("ADDED", json.dumps(pod).encode())
    line = bookmarks_for(info)(int(theirs["metadata"]["resourceVersion"]))
    ours = json.loads(table_filter.bookmark_for(line))
    assert ours["type"] == "BOOKMARK"
    assert_same_table(ours["object"], theirs, "bookmark")


def _watching(dev_cluster: DevCluster) -> bool:
    code, text = dev_cluster.request("GET", "/metrics")
    return code == 200 and 'apiserver_registered_watchers{group="",kind="Pod"' in text


# -- kubectl -------------------------------------------------------------------

_DURATION = re.compile(r"\b\d+[smhdy](?:\d+[smhdy])?\b")


def _kubectl(binary: Path, target: list[str], namespace: str, *args: str) -> str:
    done = subprocess.run(
        [str(binary), *target, "-n", namespace, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=kubectl_env(),
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _masked(text: str) -> list[str]:
    return [" ".join(_DURATION.sub("<d>", line).split()) for line in text.splitlines()]


def _watched(
    binary: Path, target: list[str], namespace: str, args: list[str], change: Any
) -> list[str]:
    """What a long-running kubectl prints: its first two lines (the header
    and the object's row), then ``change()``, then one more line; then it
    is stopped."""
    process = subprocess.Popen(
        [str(binary), *target, "-n", namespace, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=kubectl_env(),
    )
    lines: list[str] = []
    printed = threading.Condition()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            with printed:
                lines.append(line)
                printed.notify_all()

    threading.Thread(target=read, daemon=True).start()
    try:
        with printed:
            assert printed.wait_for(lambda: len(lines) >= 2, 60), f"kubectl printed {lines}"
        change()
        with printed:
            assert printed.wait_for(lambda: len(lines) >= 3, 60), f"kubectl printed {lines}"
    finally:
        process.kill()
        process.wait()
    return _masked("".join(lines[:3]))


def test_kubectl_prints_the_same_through_the_proxy(
    dev_cluster: DevCluster, proxy: str, namespace: str, pods: str, kubectl_binary: Path
) -> None:
    """kubectl get pods (plain and wide) and get pod NAME -w: the watch's
    lines (the row again after a change) come from the proxy's cache."""
    direct = ["--kubeconfig", str(dev_cluster.kubeconfig)]
    through = ["--server", proxy]
    for args in (["get", "pods"], ["get", "pods", "-o", "wide"]):
        theirs = _masked(_kubectl(kubectl_binary, direct, namespace, *args))
        ours = _masked(_kubectl(kubectl_binary, through, namespace, *args))
        assert ours == theirs, " ".join(args)
        assert len(ours) == 18, ours  # the header and 17 pods
    path = f"/api/v1/namespaces/{namespace}/pods/running-ready"
    changes = iter(range(2))

    def relabel() -> None:
        pod = ok(call(dev_cluster, "GET", path))
        pod["metadata"]["labels"] = {"change": str(next(changes))}
        ok(call(dev_cluster, "PUT", path, pod))

    before = served(proxy)
    watch = ["get", "pod", "running-ready", "-w"]
    theirs = _watched(kubectl_binary, direct, namespace, watch, relabel)
    ours = _watched(kubectl_binary, through, namespace, watch, relabel)
    assert ours == theirs
    assert ours[1] == ours[2] and ours[1].startswith("running-ready 2/2 Running")
    assert served(proxy).get("watch", 0) > before.get("watch", 0)
