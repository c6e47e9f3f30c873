"""The cache against a real kube-apiserver v1.20: the bytes it serves, its
key order, its continue pages and its state at an exact RV must be what
kube-apiserver (from etcd) answers, byte for byte."""

from __future__ import annotations

import base64
import json
import ssl
import urllib.request

import msgspec
import pytest
from tests.unit.cache.fakes import PODS, Fields, Labels

from watchcache.cache import Cache
from watchcache.devcluster import DevCluster

pytestmark = pytest.mark.e2e


class _List(msgspec.Struct):
    class _Meta(msgspec.Struct):
        resourceVersion: str
        remainingItemCount: int | None = None
        # kube-apiserver's field is "continue", a Python keyword.
        cont: str = msgspec.field(default="", name="continue")

    metadata: _Meta
    items: list[msgspec.Raw]


def raw(cluster: DevCluster, path: str) -> bytes:
    req = urllib.request.Request(cluster.url + path)
    req.add_header("Authorization", f"Bearer {cluster.admin_token}")
    req.add_header("Accept", "application/json")
    context = ssl.create_default_context(cafile=str(cluster.ca_file))
    with urllib.request.urlopen(req, context=context, timeout=30) as resp:
        return bytes(resp.read())


def watch_lines(cluster: DevCluster, path: str) -> list[bytes]:
    req = urllib.request.Request(cluster.url + path)
    req.add_header("Authorization", f"Bearer {cluster.admin_token}")
    context = ssl.create_default_context(cafile=str(cluster.ca_file))
    with urllib.request.urlopen(req, context=context, timeout=30) as resp:
        return [line for line in resp if line.strip()]


def listing(cluster: DevCluster, path: str) -> tuple[_List, list[bytes]]:
    decoded = msgspec.json.decode(raw(cluster, path), type=_List)
    return decoded, [bytes(item) for item in decoded.items]


def token_parts(token: str) -> tuple[int, str]:
    body = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    return body["rv"], body["start"]


def create_pod(cluster: DevCluster, ns: str, name: str, app: str, node: str) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": app}},
        "spec": {"nodeName": node, "containers": [{"name": "c", "image": "busybox"}]},
    }
    code, body = cluster.request("POST", f"/api/v1/namespaces/{ns}/pods", pod)
    assert code == 201, body


def test_cache_serves_what_kube_apiserver_serves(dev_cluster: DevCluster, namespace: str) -> None:
    ns, base = namespace, f"/api/v1/namespaces/{namespace}/pods"
    for i in (7, 2, 11, 0, 5, 9, 1, 3, 10, 4, 8, 6):  # creation order is not key order
        create_pod(dev_cluster, ns, f"p{i:02d}", "a" if i % 2 else "b", f"n{i % 3}")
    first, items = listing(dev_cluster, base)
    r0 = int(first.metadata.resourceVersion)
    cache = Cache(PODS)  # type: ignore[arg-type]
    cache.replace(items, r0)

    # List items: same bytes (no kind/apiVersion), same (key) order.
    assert [e.item_bytes() for e in cache.list(namespace=ns).items] == items
    # GET form: kind and apiVersion first, same bytes.
    for entry in cache.list(namespace=ns).items:
        # (kube-apiserver ends every JSON body with a newline.)
        assert entry.raw + b"\n" == raw(dev_cluster, f"{base}/{entry.name}")

    # Changes, mirrored through a watch from r0: every line byte for byte.
    patch = {"metadata": {"labels": {"app": "b"}}}
    code, _ = dev_cluster.request(
        "PATCH", f"{base}/p03", patch, content_type="application/merge-patch+json"
    )
    assert code == 200
    assert dev_cluster.request("DELETE", f"{base}/p05?gracePeriodSeconds=0")[0] == 200
    create_pod(dev_cluster, ns, "p12", "a", "n1")
    lines = watch_lines(dev_cluster, f"{base}?watch=1&resourceVersion={r0}&timeoutSeconds=2")
    assert len(lines) >= 3
    for line in lines:
        event = cache.apply_line(line)
        assert event is not None
        assert event.line(event.type) == line
    now, items = listing(dev_cluster, base)
    assert cache.rv == int(now.metadata.resourceVersion) or cache.rv <= int(
        now.metadata.resourceVersion
    )
    assert [e.item_bytes() for e in cache.list(namespace=ns).items] == items

    # The state exactly at r0, from history.
    _, at_r0 = listing(dev_cluster, f"{base}?resourceVersion={r0}&resourceVersionMatch=Exact")
    assert [e.item_bytes() for e in cache.list(namespace=ns, rv=r0).items] == at_r0

    # Selectors: the node index and a label filter.
    _, on_n1 = listing(dev_cluster, f"{base}?fieldSelector=spec.nodeName%3Dn1")
    assert [
        e.item_bytes()
        for e in cache.list(namespace=ns, fields=Fields({"spec.nodeName": "n1"})).items
    ] == on_n1
    _, app_a = listing(dev_cluster, f"{base}?labelSelector=app%3Da")
    assert [
        e.item_bytes() for e in cache.list(namespace=ns, labels=Labels({"app": "a"})).items
    ] == app_a


def test_continue_pages_match_kube_apiserver(dev_cluster: DevCluster, namespace: str) -> None:
    ns, base = namespace, f"/api/v1/namespaces/{namespace}/pods"
    for i in range(11):
        create_pod(dev_cluster, ns, f"q{i:02d}", "a" if i % 3 else "b", "n0" if i % 4 else "n1")
    first, items = listing(dev_cluster, base)
    cache = Cache(PODS)  # type: ignore[arg-type]
    cache.replace(items, int(first.metadata.resourceVersion))
    cases: list[tuple[str, Labels | None, Fields | None]] = [
        ("", None, None),
        ("&labelSelector=app%3Da", Labels({"app": "a"}), None),
        ("&fieldSelector=spec.nodeName%3Dn1", None, Fields({"spec.nodeName": "n1"})),  # indexed
    ]
    for selector, labels, fields in cases:
        theirs, their_items = listing(dev_cluster, f"{base}?limit=4{selector}")
        ours = cache.list(namespace=ns, limit=4, labels=labels, fields=fields)
        while True:
            assert [e.item_bytes() for e in ours.items] == their_items
            assert ours.remaining == theirs.metadata.remainingItemCount
            if not theirs.metadata.cont:
                assert ours.continue_after is None
                break
            rv, start = token_parts(theirs.metadata.cont)
            assert (rv, start) == (ours.rv, f"{ours.continue_after}\x00")
            theirs, their_items = listing(
                dev_cluster, f"{base}?limit=4{selector}&continue={theirs.metadata.cont}"
            )
            ours = cache.list(
                namespace=ns,
                limit=4,
                labels=labels,
                fields=fields,
                rv=ours.rv,
                continue_after=ours.continue_after,
            )


def test_cluster_wide_pages_at_an_exact_rv_match(dev_cluster: DevCluster, namespace: str) -> None:
    """Across namespaces the token's key is namespace/name; pages at an
    exact RV are the same however the cluster moves meanwhile."""
    for i in range(5):
        create_pod(dev_cluster, namespace, f"w{i}", "a", "n0")
    first, items = listing(dev_cluster, "/api/v1/pods")
    rv = int(first.metadata.resourceVersion)
    cache = Cache(PODS)  # type: ignore[arg-type]
    cache.replace(items, rv)
    assert [e.item_bytes() for e in cache.list().items] == items
    theirs, their_items = listing(
        dev_cluster, f"/api/v1/pods?limit=3&resourceVersion={rv}&resourceVersionMatch=Exact"
    )
    ours = cache.list(limit=3, rv=rv)
    while True:
        assert [e.item_bytes() for e in ours.items] == their_items
        assert ours.remaining == theirs.metadata.remainingItemCount
        if not theirs.metadata.cont:
            assert ours.continue_after is None
            break
        assert token_parts(theirs.metadata.cont) == (rv, f"{ours.continue_after}\x00")
        assert "/" in (ours.continue_after or "")
        theirs, their_items = listing(
            dev_cluster, f"/api/v1/pods?limit=3&continue={theirs.metadata.cont}"
        )
        ours = cache.list(limit=3, rv=ours.rv, continue_after=ours.continue_after)


def test_leaving_a_selector_is_the_old_object_at_the_new_rv(
    dev_cluster: DevCluster, namespace: str
) -> None:
    base = f"/api/v1/namespaces/{namespace}/pods"
    create_pod(dev_cluster, namespace, "x", "a", "n0")
    first, items = listing(dev_cluster, base)
    r0 = int(first.metadata.resourceVersion)
    cache = Cache(PODS)  # type: ignore[arg-type]
    cache.replace(items, r0)
    patch = {"metadata": {"labels": {"app": "b"}}}
    code, _ = dev_cluster.request(
        "PATCH", f"{base}/x", patch, content_type="application/merge-patch+json"
    )
    assert code == 200
    (everything,) = watch_lines(
        dev_cluster, f"{base}?watch=1&resourceVersion={r0}&timeoutSeconds=1"
    )
    (selected,) = watch_lines(
        dev_cluster, f"{base}?watch=1&resourceVersion={r0}&labelSelector=app%3Da&timeoutSeconds=1"
    )
    event = cache.apply_line(everything)
    assert event is not None and event.type == "MODIFIED"
    assert json.loads(selected)["type"] == "DELETED"
    assert event.deleted_line() == selected
