"""`watchcache serve --auto-cache` in front of kube-apiserver 1.20, with no
--resources: a resource is cached on its first read (that read forwarded),
later reads come from the cache; custom resources' Tables come from the
cache with their CRD's printer columns, equal to kube-apiserver's column
for column and cell for cell, and kubectl prints the same through the
proxy; a CRD deleted drops its auto cache.

Who answered is read from the proxy's own count
(``watchcache_requests_total{served_by}``)."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.e2e.serving import ask, ask_direct, running_serve, wait_until_ready
from tests.e2e.test_proxy_auth import Requester
from tests.e2e.test_proxy_auth import call as auth_call
from tests.e2e.test_proxy_tables import _kubectl, _masked, _watched
from tests.e2e.test_table import CRD_GROUP, assert_same_table, call, make_crds, make_custom, ok
from tests.polling import until_blocking

from watchcache.devcluster import DevCluster

pytestmark = pytest.mark.e2e

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
TABLE_V1BETA1 = "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
_SAMPLE = re.compile(r"^(\w+)(?:\{(.*)\})? (\S+)$", re.M)
_LABEL = re.compile(r'(\w+)="([^"]*)"')


@pytest.fixture(scope="module")
def proxy(dev_cluster: DevCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("proxy") / "serve.log"
    args = ["--kubeconfig", str(dev_cluster.kubeconfig), "--auto-cache", "--resources="]
    with running_serve(log, *args) as url:
        wait_until_ready(url)
        yield url


def metric(proxy: str, name: str, **wanted: str) -> float:
    """The sum of ``name``'s samples whose labels include ``wanted``."""
    total = 0.0
    for family, labels_text, value in _SAMPLE.findall(ask(proxy, "/metrics").body.decode()):
        labels = dict(_LABEL.findall(labels_text))
        if family == name and all(labels.get(k) == v for k, v in wanted.items()):
            total += float(value)
    return total


def served(proxy: str, resource: str, verb: str, by: str) -> int:
    return int(
        metric(proxy, "watchcache_requests_total", resource=resource, verb=verb, served_by=by)
    )


def until_served_from_cache(proxy: str, path: str, resource: str, accept: str = "") -> None:
    """Read ``path`` at RV 0 until the cache answers (its auto cache has
    synced; a consistent read of a quiet resource may be forwarded even
    then, reads.py's QUIET_AFTER)."""

    def from_cache() -> bool:
        before = served(proxy, resource, "list", "cache")
        answer = ask(proxy, f"{path}?resourceVersion=0", {"Accept": accept} if accept else {})
        assert answer.status == 200
        return served(proxy, resource, "list", "cache") > before

    until_blocking(from_cache, f"{path} answered from the cache", timeout=60, every=0.2)


def cache_rv(proxy: str, path: str) -> str:
    """The RV the proxy's cache of ``path`` has reached: an exact LIST at
    it is the cache's (one at upstream's newer RV, moved by other
    resources' writes, would be forwarded)."""
    answer = ask(proxy, f"{path}?resourceVersion=0")
    assert answer.status == 200
    rv: str = json.loads(answer.body)["metadata"]["resourceVersion"]
    return rv


def test_first_list_forwarded_later_ones_from_the_cache(
    dev_cluster: DevCluster, proxy: str, namespace: str
) -> None:
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    ok(call(dev_cluster, "POST", path, {"metadata": {"name": "first"}, "data": {"a": "1"}}))
    assert served(proxy, "configmaps", "list", "cache") == 0
    answer = ask(proxy, path)
    assert answer.status == 200
    assert "first" in [i["metadata"]["name"] for i in json.loads(answer.body)["items"]]
    assert served(proxy, "configmaps", "list", "upstream") >= 1
    until_served_from_cache(proxy, path, "configmaps")
    assert metric(proxy, "watchcache_auto_caches") >= 1
    assert metric(proxy, "watchcache_cache_synced", resource="configmaps") == 1
    # What the cache answers is kube-apiserver's answer at the same RV.
    rv = cache_rv(proxy, path)
    exact = f"{path}?resourceVersion={rv}&resourceVersionMatch=Exact"
    before = served(proxy, "configmaps", "list", "cache")
    ours = json.loads(ask(proxy, exact).body)
    assert served(proxy, "configmaps", "list", "cache") == before + 1
    assert ours == json.loads(ask_direct(dev_cluster, exact).body)


@pytest.fixture(scope="module")
def crds(dev_cluster: DevCluster) -> Iterator[str]:
    """test_table.py's two CRDs (one with printer columns of every type, a
    filter path, an index, priority 1; one with none), under a fresh suffix."""
    suffix = secrets.token_hex(3)
    names = make_crds(dev_cluster, suffix)
    yield suffix
    for name in names:
        call(
            dev_cluster, "DELETE", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}"
        )


@pytest.mark.parametrize("plural", ["widgets", "gadgets"])
def test_custom_resource_tables_from_the_cache_match_kube_apiserver(
    dev_cluster: DevCluster, proxy: str, namespace: str, crds: str, plural: str
) -> None:
    make_custom(dev_cluster, namespace, crds)
    resource = f"{plural}{crds}"
    path = f"/apis/{CRD_GROUP}/v1/namespaces/{namespace}/{resource}"
    until_served_from_cache(proxy, path, resource, TABLE)
    rv = cache_rv(proxy, path)
    listed = ok(call(dev_cluster, "GET", f"{path}?resourceVersion={rv}&resourceVersionMatch=Exact"))
    exact = f"{path}?resourceVersion={rv}&resourceVersionMatch=Exact"
    cases = [(TABLE, q) for q in ("", "&includeObject=Object", "&includeObject=None")]
    for accept, query in [*cases, (TABLE_V1BETA1, "")]:
        before = served(proxy, resource, "list", "cache")
        ours = ask(proxy, exact + query, {"Accept": accept})
        theirs = ask_direct(dev_cluster, exact + query, {"Accept": accept})
        assert served(proxy, resource, "list", "cache") == before + 1
        assert ours.status == theirs.status == 200
        mine, real = json.loads(ours.body), json.loads(theirs.body)
        assert len(real["rows"]) == 4
        assert_same_table(mine, real, f"{resource} {accept} {query}")
        # Whole, descriptions included: kubectl compares them.
        assert mine["columnDefinitions"] == real["columnDefinitions"]
    # At each object's own RV: kube-apiserver's cache of a quiet resource
    # may be behind the list's (a 504 after 3 s).
    for item in listed["items"][:2]:
        meta = item["metadata"]
        one = f"{path}/{meta['name']}?resourceVersion={meta['resourceVersion']}"
        ours, theirs = (
            ask(proxy, one, {"Accept": TABLE}),
            ask_direct(dev_cluster, one, {"Accept": TABLE}),
        )
        assert (ours.status, theirs.status) == (200, 200), (ours.body, theirs.body)
        assert_same_table(json.loads(ours.body), json.loads(theirs.body), one)


def _relabeller(cluster: DevCluster, path: str) -> Callable[[], None]:
    """A change that leaves the object's row as it was: a new label."""
    changes = iter(range(100))

    def relabel() -> None:
        one = ok(call(cluster, "GET", path))
        one["metadata"]["labels"] = {"change": str(next(changes))}
        ok(call(cluster, "PUT", path, one))

    return relabel


def test_kubectl_prints_custom_resources_the_same_through_the_proxy(
    dev_cluster: DevCluster, proxy: str, namespace: str, crds: str, kubectl_binary: Path
) -> None:
    make_custom(dev_cluster, namespace, crds)
    direct = ["--kubeconfig", str(dev_cluster.kubeconfig)]
    through = ["--server", proxy]
    for plural in ("widgets", "gadgets"):
        resource = f"{plural}{crds}"
        path = f"/apis/{CRD_GROUP}/v1/namespaces/{namespace}/{resource}"
        until_served_from_cache(proxy, path, resource, TABLE)
        for args in (["get", resource], ["get", resource, "-o", "wide"]):
            theirs = _masked(_kubectl(kubectl_binary, direct, namespace, *args))
            ours = _masked(_kubectl(kubectl_binary, through, namespace, *args))
            assert ours == theirs, " ".join(args)
            assert len(ours) == 5, ours  # the header and 4 objects
        # kubectl's LIST is a consistent read, which the proxy forwards for
        # a resource this quiet; `get NAME -w` watches from the cache, so
        # the row printed after a change is the cache's Table.
        relabel = _relabeller(dev_cluster, f"{path}/full")
        before = served(proxy, resource, "watch", "cache")
        watch = ["get", resource, "full", "-w"]
        theirs = _watched(kubectl_binary, direct, namespace, watch, relabel)
        ours = _watched(kubectl_binary, through, namespace, watch, relabel)
        assert ours == theirs
        assert ours[1] == ours[2] and ours[1].startswith("full")
        assert served(proxy, resource, "watch", "cache") > before


def test_a_deleted_crd_drops_its_auto_cache(
    dev_cluster: DevCluster, proxy: str, namespace: str
) -> None:
    suffix = secrets.token_hex(3)
    names = make_crds(dev_cluster, suffix)
    resource = f"gadgets{suffix}"
    path = f"/apis/{CRD_GROUP}/v1/namespaces/{namespace}/{resource}"
    until_served_from_cache(proxy, path, resource)
    before = metric(proxy, "watchcache_auto_cache_dropped_total", reason="undefined")
    for name in names:
        ok(
            call(
                dev_cluster,
                "DELETE",
                f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}",
            )
        )

    def dropped() -> bool:
        now = metric(proxy, "watchcache_auto_cache_dropped_total", reason="undefined")
        return now >= before + 1

    until_blocking(dropped, "the auto cache dropped", timeout=60, every=0.2)
    # Its reads are upstream's again: the resource is gone there.
    gone, theirs = ask(proxy, path), ask_direct(dev_cluster, path)
    assert gone.status == theirs.status == 404
    assert gone.body == theirs.body


# -- --auth=delegated: caching is not access ---------------------------------------


@pytest.fixture(scope="module")
def delegated(dev_cluster: DevCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pki = dev_cluster.pki
    log = tmp_path_factory.mktemp("auth-proxy") / "serve.log"
    with running_serve(
        log,
        "--auth=delegated",
        f"--kubeconfig={dev_cluster.kubeconfig}",
        "--auto-cache",
        "--resources=",
        f"--tls-cert-file={pki.serving_crt}",
        f"--tls-private-key-file={pki.serving_key}",
        f"--client-ca-file={dev_cluster.ca_file}",
    ) as url:
        yield url


def test_under_delegated_auth_every_read_from_an_auto_cache_is_authorized(
    dev_cluster: DevCluster, delegated: str, namespace: str
) -> None:
    """``nobody`` (authenticated, no rights) is the first to read secrets:
    the read is forwarded as nobody (403 from kube-apiserver) and starts
    the cache all the same; once it serves, nobody still gets
    kube-apiserver's own 403, from the proxy, and the admin the secrets."""
    ca = dev_cluster.ca_file
    admin = Requester("admin", token=dev_cluster.admin_token)
    nobody = Requester("nobody", token=dev_cluster.nobody_token)
    path = f"/api/v1/namespaces/{namespace}/secrets?resourceVersion=0"
    first = auth_call(delegated, nobody, ca, "GET", path)
    assert first.status == 403, first.body

    def from_cache() -> bool:
        metrics = auth_call(delegated, admin, ca, "GET", "/metrics").body
        assert isinstance(metrics, bytes)
        text = metrics.decode()
        return 'watchcache_cache_synced{resource="secrets"} 1.0' in text

    until_blocking(from_cache, "secrets auto-cached", timeout=60, every=0.2)
    ours = auth_call(delegated, nobody, ca, "GET", path)
    theirs = auth_call(dev_cluster.url, nobody, ca, "GET", path)
    assert ours == theirs and ours.status == 403

    def cache_answers() -> int:
        text = auth_call(delegated, admin, ca, "GET", "/metrics").body
        assert isinstance(text, bytes)
        return sum(
            int(float(value))
            for family, labels, value in _SAMPLE.findall(text.decode())
            if family == "watchcache_requests_total"
            and 'resource="secrets"' in labels
            and 'verb="list"' in labels
            and 'served_by="cache"' in labels
        )

    before = cache_answers()
    mine = auth_call(delegated, admin, ca, "GET", path)
    assert mine.status == 200 and cache_answers() == before + 1
    assert auth_call(delegated, nobody, ca, "GET", path) == theirs
