"""Protobuf through ``watchcache serve`` in front of kube-apiserver 1.20:
a Go client's LIST, GET and WATCH of cached pods are answered from the cache
in protobuf, byte-equal to kube-apiserver's answers at the same RV."""

from __future__ import annotations

import re
import ssl
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.e2e.serving import ask, ask_direct, running_serve, until_cached, wait_until_ready

from watchcache.devcluster import DevCluster

pytestmark = pytest.mark.e2e

GO_CLIENT = {"Accept": "application/vnd.kubernetes.protobuf, application/json"}
PARTIAL = "application/vnd.kubernetes.protobuf;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
PARTIAL_LIST = PARTIAL.replace("PartialObjectMetadata", "PartialObjectMetadataList")


@pytest.fixture
def proxy(dev_cluster: DevCluster, tmp_path: Path) -> Iterator[str]:
    args = ("--kubeconfig", str(dev_cluster.kubeconfig), "--resources", "pods")
    with running_serve(tmp_path / "serve.log", *args) as url:
        wait_until_ready(url)
        yield url


def _pod(name: str) -> dict[str, Any]:
    container = {"name": "c", "image": "busybox", "command": ["sleep", "1"]}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {"containers": [container]},
    }


def _served_from_cache(proxy: str) -> int:
    text = ask(proxy, "/metrics").body.decode()
    pattern = re.compile(r'^watchcache_requests_total\{.*served_by="cache".*\} (\S+)$', re.M)
    return int(sum(float(n) for n in pattern.findall(text)))


def _frames(url: str, headers: dict[str, str], count: int, context: Any = None) -> list[bytes]:
    request = urllib.request.Request(url, headers={**GO_CLIENT, **headers})
    with urllib.request.urlopen(request, context=context, timeout=60) as response:
        assert response.headers["Content-Type"] == (
            "application/vnd.kubernetes.protobuf;stream=watch"
        )
        frames = []
        while len(frames) < count and (head := response.read(4)):
            frames.append(head + response.read(int.from_bytes(head, "big")))
        return frames


def test_protobuf_list_get_and_watch_are_kube_apiservers(
    dev_cluster: DevCluster, proxy: str, namespace: str
) -> None:
    base = f"/api/v1/namespaces/{namespace}/pods"
    for name in ("a", "b", "c"):
        code, created = dev_cluster.request("POST", base, _pod(name))
        assert code == 201, created
    # The last pod's own RV, not a LIST's: a LIST's is etcd's newest, which
    # another resource's write (kube-controller-manager's) may have moved
    # past every pod event, and the pods cache would not reach it until the
    # next one.
    rv = created["metadata"]["resourceVersion"]
    until_cached(proxy, base, rv)
    before = _served_from_cache(proxy)

    exact = f"{base}?resourceVersion={rv}&resourceVersionMatch=Exact"
    for path, accept in (
        (exact, GO_CLIENT),
        (exact + "&limit=2", GO_CLIENT),
        (f"{base}/b?resourceVersion=0", GO_CLIENT),
        (exact, {"Accept": f"{PARTIAL_LIST}, application/json"}),
        (f"{base}/b?resourceVersion=0", {"Accept": f"{PARTIAL}, application/json"}),
    ):
        theirs = ask_direct(dev_cluster, path.replace("resourceVersion=0", ""), accept)
        ours = ask(proxy, path, accept)
        assert (ours.status, ours.content_type) == (200, "application/vnd.kubernetes.protobuf")
        assert theirs.content_type == ours.content_type
        assert ours.body == theirs.body, path

    # Errors: a protobuf Status, as 1.20 writes one to a protobuf client.
    theirs = ask_direct(dev_cluster, f"{base}/missing", GO_CLIENT)
    ours = ask(proxy, f"{base}/missing?resourceVersion=0", GO_CLIENT)
    assert (ours.status, ours.content_type) == (404, theirs.content_type)
    assert ours.body == theirs.body

    # A watch from rv: the next pod's ADDED frame, from both.
    assert dev_cluster.request("POST", base, _pod("d"))[0] == 201
    watch = f"{base}?watch=1&resourceVersion={rv}"
    context = ssl.create_default_context(cafile=str(dev_cluster.ca_file))
    auth = {"Authorization": f"Bearer {dev_cluster.admin_token}"}
    (theirs_frame,) = _frames(dev_cluster.url + watch, auth, 1, context)
    (ours_frame,) = _frames(proxy + watch, {}, 1)
    assert ours_frame == theirs_frame
    assert _served_from_cache(proxy) - before == 7  # three LISTs, three GETs, a WATCH
