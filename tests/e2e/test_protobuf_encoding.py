"""watchcache.api.protobuf against a real kube-apiserver v1.20: for objects of
every kind it renders, our encoding of the apiserver's JSON is byte for byte
the apiserver's own protobuf, for a GET, a LIST (with limit and continue),
PartialObjectMetadata, and watch frames (events, BOOKMARK, ERROR)."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from tests.e2e.protobuf_objects import POD_STATUS, objects

from watchcache.api import protobuf
from watchcache.devcluster import DevCluster

pytestmark = pytest.mark.e2e

PROTOBUF = "application/vnd.kubernetes.protobuf"
PARTIAL = f"{PROTOBUF};as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
PARTIAL_LIST = f"{PROTOBUF};as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"


def _open(cluster: DevCluster, path: str, accept: str, timeout: float = 30) -> Any:
    req = urllib.request.Request(cluster.url + path)
    req.add_header("Authorization", f"Bearer {cluster.admin_token}")
    req.add_header("Accept", accept)
    context = ssl.create_default_context(cafile=str(cluster.ca_file))
    return urllib.request.urlopen(req, context=context, timeout=timeout)


def _get(cluster: DevCluster, path: str, accept: str) -> bytes:
    with _open(cluster, path, accept) as resp:
        data: bytes = resp.read()
        return data


def _same_version(cluster: DevCluster, path: str, accept: str) -> tuple[Any, bytes]:
    """The JSON and the protobuf of one version of the object (retried while
    a controller changes it between the reads)."""
    for _ in range(10):
        before = json.loads(_get(cluster, path, "application/json"))
        data = _get(cluster, path, accept)
        after = json.loads(_get(cluster, path, "application/json"))
        if before == after:
            return before, data
    raise AssertionError(f"{path} kept changing")


def _wire(data: bytes, depth: int = 0) -> Iterator[str]:
    """A readable dump of protobuf wire fields, for assertion messages."""
    pos = 0
    while pos < len(data):
        tag, pos = _uvarint(data, pos)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            value, pos = _uvarint(data, pos)
            yield f"{'  ' * depth}{number}: {value}"
        elif wire == 2:
            length, pos = _uvarint(data, pos)
            chunk = data[pos : pos + length]
            pos += length
            try:
                inner = list(_wire(chunk, depth + 1)) if chunk and depth < 12 else None
            except (IndexError, ValueError):
                inner = None
            if inner and not chunk.isascii():
                yield f"{'  ' * depth}{number}: {{"
                yield from inner
                yield f"{'  ' * depth}}}"
            else:
                yield f"{'  ' * depth}{number}: {chunk!r}"
        else:
            raise ValueError(f"wire type {wire}")


def _uvarint(data: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos += 1
        if byte < 0x80:
            return value, pos
        shift += 7


def _field(message: bytes, number: int) -> bytes:
    """The first length-delimited field `number` of a message."""
    pos = 0
    while pos < len(message):
        tag, pos = _uvarint(message, pos)
        if tag & 7 == 0:
            _, pos = _uvarint(message, pos)
            continue
        length, pos = _uvarint(message, pos)
        if tag >> 3 == number:
            return message[pos : pos + length]
        pos += length
    raise AssertionError(f"no field {number}")


def _resource_version(frame: bytes) -> str:
    """metadata.resourceVersion of a watch frame's object: WatchEvent.object
    (2), RawExtension.raw (1), the envelope past its magic, Unknown.raw (2),
    metadata (1), resourceVersion (6)."""
    envelope = _field(_field(frame[4:], 2), 1)
    return _field(_field(_field(envelope[4:], 2), 1), 6).decode()


def _assert_same(ours: bytes, theirs: bytes) -> None:
    if ours != theirs:
        mine, upstream = list(_wire(ours[4:])), list(_wire(theirs[4:]))
        first = next(
            (i for i, (a, b) in enumerate(zip(mine, upstream, strict=False)) if a != b),
            min(len(mine), len(upstream)),
        )
        context = "\n".join(
            f"{a!s:60} | {b}"
            for a, b in zip(
                mine[first - 8 : first + 8], upstream[first - 8 : first + 8], strict=False
            )
        )
        raise AssertionError(
            f"encodings differ at wire line {first} (ours | apiserver):\n{context}"
        )


def _substitute(body: Any, namespace: str) -> Any:
    return json.loads(json.dumps(body).replace("{ns}", namespace))


@pytest.fixture(scope="module")
def created(dev_cluster: DevCluster) -> Iterator[tuple[str, list[str]]]:
    """A namespace holding one of each object; the objects' GET paths."""
    code, body = dev_cluster.request(
        "POST",
        "/api/v1/namespaces",
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "pb-e2e"}},
    )
    assert code in (201, 409), body
    namespace = "pb-e2e"
    paths = [f"/api/v1/namespaces/{namespace}"]
    for collection, template in objects():
        collection = collection.replace("{ns}", namespace)
        code, obj = dev_cluster.request("POST", collection, _substitute(template, namespace))
        assert code == 201, obj.get("message", obj)
        path = f"{collection}/{obj['metadata']['name']}"
        paths.append(path)
        if obj["kind"] == "Pod" and obj["spec"].get("nodeName"):
            code, obj = dev_cluster.request("PUT", f"{path}/status", {**obj, "status": POD_STATUS})
            assert code == 200, obj.get("message", obj)
    yield namespace, paths
    for path in paths[1:]:
        code, obj = dev_cluster.request("GET", path)
        if code == 200 and obj["metadata"].get("finalizers"):
            # the rich pod's finalizer would keep the namespace terminating
            obj["metadata"]["finalizers"] = []
            dev_cluster.request("PUT", path, obj)
        if "/namespaces/" not in path:
            dev_cluster.request("DELETE", path)
    dev_cluster.request("DELETE", f"/api/v1/namespaces/{namespace}")


def test_get_of_every_kind_is_byte_equal(dev_cluster: DevCluster, created: Any) -> None:
    _, paths = created
    kinds = set()
    for path in paths:
        obj, theirs = _same_version(dev_cluster, path, PROTOBUF)
        kind = protobuf.kind_for(obj["apiVersion"], obj["kind"])
        assert kind is not None, (obj["apiVersion"], obj["kind"])
        kinds.add(obj["kind"])
        _assert_same(protobuf.encode_object(kind, obj), theirs)
    assert len(kinds) >= 20, kinds


def test_get_partial_object_metadata_is_byte_equal(dev_cluster: DevCluster, created: Any) -> None:
    partial = protobuf.kind_for("meta.k8s.io/v1", "PartialObjectMetadata")
    assert partial is not None
    for path in created[1]:
        obj, theirs = _same_version(dev_cluster, path, PARTIAL)
        kind = protobuf.kind_for(obj["apiVersion"], obj["kind"])
        assert kind is not None
        message = protobuf.partial_message(kind, obj, kind.message(obj))
        _assert_same(protobuf.envelope(partial.api_version, partial.kind, message), theirs)
        assert protobuf.partial_message(kind, obj) == message


@pytest.mark.parametrize(
    "collection",
    [
        "/api/v1/namespaces/{ns}/pods",
        "/api/v1/namespaces/{ns}/services",
        "/api/v1/namespaces/{ns}/configmaps",
        "/api/v1/namespaces/{ns}/secrets",  # s, and service account tokens
        "/api/v1/persistentvolumes",  # cluster-scoped; 1 item: no continue
    ],
)
def test_list_is_byte_equal(dev_cluster: DevCluster, created: Any, collection: str) -> None:
    path = collection.replace("{ns}", created[0])
    for query in ("", "?limit=1", "?limit=2"):
        body, theirs = _same_version(dev_cluster, path + query, PROTOBUF)
        kind = protobuf.kind_for(body["apiVersion"], body["kind"].removesuffix("List"))
        assert kind is not None
        _assert_same(protobuf.encode_list(kind, body["metadata"], body["items"]), theirs)
        parts = protobuf.list_body(
            kind.api_version,
            kind.list_kind,
            body["metadata"],
            [kind.message(item) for item in body["items"]],
        )
        assert b"".join(parts.chunks()) == theirs
        assert parts.length == len(theirs)
        if (
            query == "?limit=1" and "persistentvolumes" not in path
        ):  # continue and remainingItemCount covered
            assert body["metadata"]["continue"] and "remainingItemCount" in body["metadata"]


def test_partial_object_metadata_list_is_byte_equal(dev_cluster: DevCluster, created: Any) -> None:
    for collection in ("/api/v1/namespaces/{ns}/pods", "/apis/apps/v1/namespaces/{ns}/daemonsets"):
        path = collection.replace("{ns}", created[0])
        body, theirs = _same_version(dev_cluster, path, PARTIAL_LIST)
        kind = protobuf.kind_for(body["apiVersion"], body["kind"].removesuffix("List"))
        assert kind is not None
        items = [protobuf.partial_message(kind, item) for item in body["items"]]
        parts = protobuf.list_body(
            "meta.k8s.io/v1", "PartialObjectMetadataList", body["metadata"], items
        )
        _assert_same(b"".join(parts.chunks()), theirs)


def _json_events(cluster: DevCluster, path: str, count: int) -> list[dict[str, Any]]:
    with _open(cluster, path, "application/json", timeout=130) as resp:
        return _read_events(resp, count)


def _read_events(resp: Any, count: int) -> list[dict[str, Any]]:
    """The first `count` events, or fewer if the watch ends first."""
    events = []
    while len(events) < count and (line := resp.readline()):
        events.append(json.loads(line))
    return events


def _proto_frames(
    cluster: DevCluster, path: str, count: int, accept: str = PROTOBUF
) -> list[bytes]:
    with _open(cluster, path, accept, timeout=130) as resp:
        return _read_frames(resp, count)


def _read_frames(resp: Any, count: int) -> list[bytes]:
    assert resp.headers["Content-Type"] == protobuf.STREAM_CONTENT_TYPE
    frames = []
    while len(frames) < count and (head := resp.read(4)):
        frames.append(head + resp.read(int.from_bytes(head, "big")))
    return frames


def _frame_of(event: dict[str, Any]) -> bytes:
    obj = event["object"]
    kind = protobuf.kind_for(obj["apiVersion"], obj["kind"])
    assert kind is not None, obj
    return protobuf.watch_frame(event["type"], protobuf.encode_object(kind, obj))


def test_watch_frames_are_byte_equal(dev_cluster: DevCluster, created: Any) -> None:
    namespace = created[0]
    base = f"/api/v1/namespaces/{namespace}/configmaps"
    rv = json.loads(_get(dev_cluster, base, "application/json"))["metadata"]["resourceVersion"]
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "w"}, "data": {"a": "1"}}
    assert dev_cluster.request("POST", base, cm)[0] == 201
    cm["data"] = {"a": "2", "b": ""}
    assert dev_cluster.request("PUT", f"{base}/w", cm)[0] == 200
    assert dev_cluster.request("DELETE", f"{base}/w")[0] == 200
    watch = f"{base}?watch=1&resourceVersion={rv}"
    events = _json_events(dev_cluster, watch, 3)
    assert [e["type"] for e in events] == ["ADDED", "MODIFIED", "DELETED"]
    frames = _proto_frames(dev_cluster, watch, 3)
    for event, frame in zip(events, frames, strict=True):
        _assert_same(_frame_of(event), frame)


def test_partial_metadata_watch_frames_are_byte_equal(
    dev_cluster: DevCluster, created: Any
) -> None:
    """What metadata informers (the garbage collector's, quota's) receive,
    for DaemonSets, whose partial metadata differs from their v1 metadata."""
    base = f"/apis/apps/v1/namespaces/{created[0]}/daemonsets"
    rv = json.loads(_get(dev_cluster, base, "application/json"))["metadata"]["resourceVersion"]
    ds = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "wd", "labels": {"a": "1"}},
        "spec": {
            "selector": {"matchLabels": {"app": "wd"}},
            "template": {
                "metadata": {"labels": {"app": "wd"}},
                "spec": {"containers": [{"name": "c", "image": "busybox"}]},
            },
        },
    }
    assert dev_cluster.request("POST", base, ds)[0] == 201
    assert dev_cluster.request("DELETE", f"{base}/wd")[0] == 200
    watch = f"{base}?watch=1&resourceVersion={rv}"
    events = _json_events(dev_cluster, watch, 2)
    frames = _proto_frames(dev_cluster, watch, 2, accept=PARTIAL)
    partial = protobuf.kind_for("meta.k8s.io/v1", "PartialObjectMetadata")
    assert partial is not None
    for event, frame in zip(events, frames, strict=True):
        obj = event["object"]
        kind = protobuf.kind_for(obj["apiVersion"], obj["kind"])
        assert kind is not None
        message = protobuf.partial_message(kind, obj, kind.message(obj))
        envelope = protobuf.envelope(partial.api_version, partial.kind, message)
        _assert_same(protobuf.watch_frame(event["type"], envelope), frame)


def test_watch_bookmark_frame_is_byte_equal(dev_cluster: DevCluster, created: Any) -> None:
    """Slow: 1.20 sends its first bookmark about a minute into a watch, so
    both streams, JSON and protobuf, wait for it side by side. Its RV is the last event the cacher
    processed, and a watcher gets only what is newer than the last event it
    was sent on joining (cacher.go): so a secret is written once both
    watches are open (their response heads are in), and its ADDED comes
    first."""
    base = f"/api/v1/namespaces/{created[0]}/secrets"
    rv = json.loads(_get(dev_cluster, base, "application/json"))["metadata"]["resourceVersion"]
    watch = f"{base}?watch=1&resourceVersion={rv}&allowWatchBookmarks=true&timeoutSeconds=100"
    with (
        _open(dev_cluster, watch, "application/json", timeout=130) as json_stream,
        _open(dev_cluster, watch, PROTOBUF, timeout=130) as proto_stream,
        ThreadPoolExecutor(2) as pool,
    ):
        code, secret = dev_cluster.request(
            "POST", base, {"apiVersion": "v1", "kind": "Secret", "metadata": {"generateName": "b-"}}
        )
        assert code == 201, secret
        json_side = pool.submit(_read_events, json_stream, 2)
        proto_side = pool.submit(_read_frames, proto_stream, 2)
        events, frames = json_side.result(timeout=130), proto_side.result(timeout=130)
    assert [e["type"] for e in events] == ["ADDED", "BOOKMARK"], events
    _assert_same(_frame_of(events[0]), frames[0])
    bookmark = events[1]["object"]
    assert set(bookmark["metadata"]) == {"resourceVersion", "creationTimestamp"}
    assert int(bookmark["metadata"]["resourceVersion"]) >= int(
        secret["metadata"]["resourceVersion"]
    )
    # Each stream's bookmark carries the RV the cacher had reached when that
    # watcher's turn came: equal unless a secret changed in between. So the
    # expected frame is the JSON bookmark at the RV the protobuf one names.
    proto_rv = _resource_version(frames[1])
    expected = {**events[1], "object": {**bookmark, "metadata": {**bookmark["metadata"]}}}
    expected["object"]["metadata"]["resourceVersion"] = proto_rv
    _assert_same(_frame_of(expected), frames[1])


def test_watch_error_frame_is_byte_equal(dev_cluster: DevCluster, created: Any) -> None:
    # podtemplates bypass 1.20's watch cache (conftest), so a compacted RV
    # gets the ERROR event carrying a 410 Status.
    base = f"/api/v1/namespaces/{created[0]}/podtemplates"
    rv = json.loads(_get(dev_cluster, base, "application/json"))["metadata"]["resourceVersion"]
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "bump-"}}
    assert dev_cluster.request("POST", f"/api/v1/namespaces/{created[0]}/configmaps", cm)[0] == 201
    dev_cluster.compact()
    watch = f"{base}?watch=1&resourceVersion={int(rv) - 1}"
    (event,) = _json_events(dev_cluster, watch, 1)
    (frame,) = _proto_frames(dev_cluster, watch, 1)
    assert event["type"] == "ERROR" and event["object"]["code"] == 410, event
    _assert_same(_frame_of(event), frame)


def test_error_status_body_is_byte_equal(dev_cluster: DevCluster, created: Any) -> None:
    """kube-apiserver answers errors in protobuf too when asked for it."""
    for path in (
        f"/api/v1/namespaces/{created[0]}/pods/missing",
        f"/apis/apps/v1/namespaces/{created[0]}/deployments/missing",
    ):
        bodies = {}
        for accept in ("application/json", PROTOBUF):
            with pytest.raises(urllib.error.HTTPError) as failed:
                _get(dev_cluster, path, accept)
            assert failed.value.code == 404
            bodies[accept] = failed.value.read()
        status = json.loads(bodies["application/json"])
        kind = protobuf.kind_for(status["apiVersion"], status["kind"])
        assert kind is not None
        _assert_same(protobuf.encode_object(kind, status), bodies[PROTOBUF])
