"""The protobuf rendering through the read path: the bytes equal what
``watchcache.api.protobuf`` makes of the same JSON (which the e2e tests hold
byte-equal to kube-apiserver 1.20's), each object is encoded once and kept,
and an object with no exact protobuf form is answered in JSON."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tests.unit.cache.fakes import pod
from tests.unit.proxy.test_reads import PODS_PATH, Fake

from watchcache.api import protobuf
from watchcache.api.status import expired, not_found
from watchcache.proxy.reads import ReadPath
from watchcache.proxy.rendering import JSON, METADATA, PROTOBUF, error_line, status_envelope

ACCEPT = "application/vnd.kubernetes.protobuf, application/json"
PARTIAL = "application/vnd.kubernetes.protobuf;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
PARTIAL_LIST = "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
_POD = protobuf.kind_for("v1", "Pod")
assert _POD is not None
POD = _POD


def _envelope(raw: bytes) -> bytes:
    return protobuf.encode_object(POD, raw)


async def test_get_is_the_pods_protobuf_and_is_encoded_once() -> None:
    fake = Fake(count=2)
    async with fake.client() as client:
        response = await client.get(
            PODS_PATH + "/p0001?resourceVersion=0", headers={"Accept": ACCEPT}
        )
        assert response.headers["Content-Type"] == protobuf.CONTENT_TYPE
        assert await response.read() == _envelope(pod("p0001", rv=2))
        entry = fake.cache.get("default", "p0001")
        assert entry is not None and entry.proto == POD.message(pod("p0001", rv=2))
        kept = entry.packed_proto  # the message, packed against the JSON
        assert kept is not None and len(kept) < len(POD.message(pod("p0001", rv=2)))
        again = await client.get(PODS_PATH + "/p0001?resourceVersion=0", headers={"Accept": ACCEPT})
        await again.read()
        assert fake.cache.get("default", "p0001").packed_proto is kept  # type: ignore[union-attr]
        missing = await client.get(
            PODS_PATH + "/nope?resourceVersion=0", headers={"Accept": ACCEPT}
        )
        assert (missing.status, missing.headers["Content-Type"]) == (404, protobuf.CONTENT_TYPE)
        status = protobuf.kind_for("v1", "Status")
        assert status is not None
        expected = not_found("pods", "nope").status()
        assert await missing.read() == protobuf.encode_object(status, expected)
        untouched = fake.cache.get("default", "p0000")
        assert untouched is not None and untouched.proto is None  # only what was read
        partial = await client.get(
            PODS_PATH + "/p0001?resourceVersion=0", headers={"Accept": PARTIAL}
        )
        obj = json.loads(pod("p0001", rv=2))
        assert await partial.read() == protobuf.envelope(
            "meta.k8s.io/v1", "PartialObjectMetadata", protobuf.partial_message(POD, obj)
        )


async def test_list_is_the_lists_protobuf_in_batches() -> None:
    from watchcache.proxy.reads import LIST_BATCH

    fake = Fake(count=LIST_BATCH + 3)
    raws = [pod(f"p{i:04d}", rv=i + 1) for i in range(fake.count)]
    async with fake.client() as client:
        whole = await client.get(PODS_PATH + "?resourceVersion=0", headers={"Accept": ACCEPT})
        assert whole.headers["Content-Type"] == protobuf.CONTENT_TYPE
        body = await whole.read()
        paged = await client.get(
            PODS_PATH + "?limit=2&resourceVersion=10&resourceVersionMatch=Exact",
            headers={"Accept": ACCEPT},
        )
        page = await paged.read()
        partial = await client.get(
            PODS_PATH + "?resourceVersion=0", headers={"Accept": PARTIAL_LIST}
        )
        partial_body = await partial.read()
    assert body == protobuf.encode_list(POD, {"resourceVersion": "10"}, raws)
    json_page = await _json_page(fake)
    assert page == protobuf.encode_list(POD, json_page["metadata"], raws[:2])
    items = [protobuf.partial_message(POD, json.loads(raw)) for raw in raws]
    expected = protobuf.list_body(
        "meta.k8s.io/v1", "PartialObjectMetadataList", {"resourceVersion": "10"}, items
    )
    assert partial_body == b"".join(expected.chunks())


async def _json_page(fake: Fake) -> dict[str, Any]:
    async with fake.client() as client:
        response = await client.get(
            PODS_PATH + "?limit=2&resourceVersion=10&resourceVersionMatch=Exact"
        )
        page: dict[str, Any] = await response.json()
        return page


async def _frames(response: Any, count: int) -> list[bytes]:
    frames = []
    async with asyncio.timeout(30):
        for _ in range(count):
            head = await response.content.readexactly(4)
            frames.append(head + await response.content.readexactly(int.from_bytes(head, "big")))
    return frames


async def test_watch_frames_events_bookmarks_and_errors() -> None:
    fake = Fake(count=1)
    async with fake.client() as client:
        response = await client.get(
            PODS_PATH + "?watch=1&resourceVersion=0&allowWatchBookmarks=true",
            headers={"Accept": ACCEPT},
        )
        assert response.headers["Content-Type"] == protobuf.STREAM_CONTENT_TYPE
        (added,) = await _frames(response, 1)
        assert added == protobuf.watch_frame("ADDED", _envelope(pod("p0000", rv=1)))
        raw = pod("p0000", rv=11, labels={"x": "y"})
        event = fake.cache.apply("MODIFIED", raw)
        assert event is not None
        await fake.registry.dispatch(event)
        (modified,) = await _frames(response, 1)
        assert modified == protobuf.watch_frame("MODIFIED", _envelope(raw))
        response.close()
        gone = await client.get(
            PODS_PATH + "?watch=1&resourceVersion=5", headers={"Accept": ACCEPT}
        )
        (error,) = await _frames(gone, 1)
    status = protobuf.kind_for("v1", "Status")
    assert status is not None
    assert error[4:].startswith(b"\x0a\x05ERROR")
    envelope = error[4:].split(b"k8s\x00", 1)[1]
    assert b"Expired" in envelope  # a v1 Status, reason Expired
    assert b"\x0a\x02v1\x12\x06Status" in envelope


async def test_an_object_without_exact_protobuf_makes_the_answer_json() -> None:
    fake = Fake(count=2)
    odd = json.loads(pod("p0001", rv=12))
    odd["spec"]["notAField"] = 1  # a field 1.20 lacks: no exact message
    event = fake.cache.apply("MODIFIED", json.dumps(odd, separators=(",", ":")).encode())
    assert event is not None
    fake.cache.rv = 12  # type: ignore[misc]
    async with fake.client() as client:
        listed = await client.get(PODS_PATH + "?resourceVersion=0", headers={"Accept": ACCEPT})
        assert listed.headers["Content-Type"] == "application/json"
        body = json.loads(await listed.read())
        assert body["items"][1]["spec"]["notAField"] == 1
        got = await client.get(PODS_PATH + "/p0000?resourceVersion=0", headers={"Accept": ACCEPT})
        # The resource is JSON from then on (a watch would resume in it).
        assert got.headers["Content-Type"] == "application/json"
    PROTOBUF.unencodable.clear()  # type: ignore[attr-defined]


async def test_protobuf_off_answers_json() -> None:
    fake = Fake(count=1)
    fake.reads = ReadPath(
        {fake.resource.info.gvr: fake.resource}, fake.reads.forward, renderings=(JSON, METADATA)
    )
    async with fake.client() as client:
        response = await client.get(PODS_PATH + "?resourceVersion=0", headers={"Accept": ACCEPT})
        assert response.headers["Content-Type"] == "application/json"
        assert json.loads(await response.read())["kind"] == "PodList"


async def test_a_watch_expired_for_every_watcher_ends_with_a_protobuf_error() -> None:
    """Upstream lost its state: the registry's one JSON ERROR line reaches a
    protobuf watcher as a frame, so client-go sees the 410 and relists."""
    fake = Fake(count=1)
    async with fake.client() as client:
        response = await client.get(
            PODS_PATH + "?watch=1&resourceVersion=0", headers={"Accept": ACCEPT}
        )
        await _frames(response, 1)
        error = expired("upstream lost its state")
        fake.registry.expire_all("upstream lost its state", error_line(error))
        (frame,) = await _frames(response, 1)
    assert frame == protobuf.watch_frame("ERROR", status_envelope(error))


def _deleting(raw: bytes) -> bytes:
    """``raw`` marked for deletion, as kube-apiserver marks a graceful delete."""
    obj = json.loads(raw)
    obj["metadata"] |= {
        "deletionTimestamp": "2026-12-06T08:00:00Z",
        "deletionGracePeriodSeconds": 1,
    }
    return json.dumps(obj, separators=(",", ":")).encode()


async def test_a_kubelets_watch_gets_each_lone_event_at_once() -> None:
    """A kubelet's pod watch (protobuf, spec.nodeName=its node) hears of a
    delete by one MODIFIED (deletionTimestamp set), then the DELETED, each
    with nothing after it on that watch: each frame is written without
    waiting for a later event or bookmark (the bound in ``_frames`` only
    stops a hang). A pod moved onto the node is ADDED for it, one moved off
    is DELETED as it was at the move's RV."""
    fake = Fake(count=0)
    events: list[tuple[str, bytes, tuple[str, bytes] | None]] = [
        ("ADDED", pod("a", rv=11, node="n1"), ("ADDED", pod("a", rv=11, node="n1"))),
        (
            "MODIFIED",
            _deleting(pod("a", rv=12, node="n1")),
            ("MODIFIED", _deleting(pod("a", rv=12, node="n1"))),
        ),
        (
            "DELETED",
            _deleting(pod("a", rv=13, node="n1")),
            ("DELETED", _deleting(pod("a", rv=13, node="n1"))),
        ),
        ("ADDED", pod("b", rv=14, node="n2"), None),  # another node's pod
        ("MODIFIED", pod("b", rv=15, node="n1"), ("ADDED", pod("b", rv=15, node="n1"))),
        ("MODIFIED", pod("b", rv=16, node="n2"), ("DELETED", pod("b", rv=16, node="n1"))),
    ]
    async with fake.client() as client:
        response = await client.get(
            PODS_PATH + "?watch=1&resourceVersion=10&allowWatchBookmarks=true"
            "&fieldSelector=spec.nodeName%3Dn1",
            headers={"Accept": ACCEPT},
        )
        assert response.headers["Content-Type"] == protobuf.STREAM_CONTENT_TYPE
        for event_type, raw, wanted in events:
            event = fake.cache.apply(event_type, raw)
            assert event is not None
            await fake.registry.dispatch(event)
            if wanted is not None:
                (frame,) = await _frames(response, 1)
                assert frame == protobuf.watch_frame(wanted[0], _envelope(wanted[1]))
