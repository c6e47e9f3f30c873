"""The read path on its own: a real cache on a fake clock, a fake prober and
reflector, a forwarder that records what reached it. ``decide`` is driven
directly; serving is driven through aiohttp's test server with only the
two middlewares the read path relies on (request context, parse once)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, cast

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from tests.unit.cache.fakes import PODS, Clock, pod

from watchcache.api.listoptions import INITIAL_EVENTS_END
from watchcache.api.status import ApiError
from watchcache.cache.cache import Cache, CacheConfig
from watchcache.fanout.registry import Registry
from watchcache.proxy import reads
from watchcache.proxy.cachedresource import CachedResource
from watchcache.proxy.context import PROXY_IDENTITY, REQUEST_CONTEXT, context_middleware
from watchcache.proxy.reads import LIST_BATCH, ReadPath, ReadRequest
from watchcache.proxy.rendering import (
    JSON,
    METADATA,
    PROTOBUF,
    PROTOBUF_METADATA,
    TableRead,
    bookmarks_for,
)
from watchcache.proxy.requestinfo import parse_once, parse_request

META_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
META_ONE = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"
PODS_PATH = "/api/v1/namespaces/default/pods"
PROTO_ONE = "application/vnd.kubernetes.protobuf;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"


class _Prober:
    def __init__(self, rv: int) -> None:
        self.rv = rv
        self.last_rv = rv

    async def current_rv(self) -> int:
        return self.rv


@dataclass
class _Reflector:
    synced: asyncio.Event = field(default_factory=asyncio.Event)
    went_back: list[tuple[int, int]] = field(default_factory=list)

    def upstream_went_back(self, upstream_rv: int, seen: int) -> None:
        self.went_back.append((upstream_rv, seen))


@dataclass
class Fake:
    """One cached resource (pods) at RV 10 holding ``count`` pods in
    ``default``, and a read path in front of it."""

    count: int = 3
    clock: Clock = field(default_factory=Clock)
    forwarded: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.cache = Cache(PODS, CacheConfig(), clock=self.clock)
        self.cache.replace([pod(f"p{i:04d}", rv=i + 1) for i in range(self.count)], 10)
        self.reflector = _Reflector()
        self.reflector.synced.set()
        self.prober = _Prober(10)
        self.registry = Registry(bookmark_line=bookmarks_for(PODS), clock=self.clock)
        resource = SimpleNamespace(
            info=PODS,
            cache=self.cache,
            registry=self.registry,
            reflector=self.reflector,
            prober=self.prober,
            serve_stale=False,
            outage=lambda: None,
        )
        self.resource = cast(CachedResource, resource)
        self.reads = ReadPath({PODS.gvr: self.resource}, self._forward, rng=None)

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        self.forwarded.append(request.path_qs)
        request[REQUEST_CONTEXT].served_by = "upstream"
        return web.Response(text="from upstream")

    def decide(
        self, method: str, path_qs: str, headers: Mapping[str, str] | None = None
    ) -> ReadRequest | ApiError | None:
        path, _, query = path_qs.partition("?")
        pairs = dict(p.split("=", 1) if "=" in p else (p, "") for p in query.split("&") if p)
        info = parse_request(method, path, pairs, PROXY_IDENTITY)
        return self.reads.decide(info, headers or {}, pairs)

    def client(self) -> TestClient[Any, Any]:
        app = web.Application(middlewares=[context_middleware, parse_once])

        async def handle(request: web.Request) -> web.StreamResponse:
            return await self.reads(request)

        app.router.add_route("*", "/{tail:.*}", handle)
        return TestClient(TestServer(app))


# -- decide: parsed once, negotiated once --------------------------------------


def test_a_list_is_decided_into_one_read_request() -> None:
    fake = Fake()
    read = fake.decide("GET", PODS_PATH + "?resourceVersion=0&labelSelector=a=b")
    assert isinstance(read, ReadRequest)
    assert (read.verb, read.namespace, read.name) == ("list", "default", "")
    assert read.resource is fake.resource
    assert read.rendering is JSON
    assert read.requester == PROXY_IDENTITY
    assert read.options.resource_version == "0"
    assert str(read.options.label_selector) == "a=b"


def test_a_get_and_a_watch_across_namespaces() -> None:
    fake = Fake()
    get = fake.decide("GET", PODS_PATH + "/p0001")
    watch = fake.decide("GET", "/api/v1/pods?watch=true")
    assert isinstance(get, ReadRequest) and isinstance(watch, ReadRequest)
    assert (get.verb, get.namespace, get.name) == ("get", "default", "p0001")
    assert (watch.verb, watch.namespace, watch.name) == ("watch", None, "")


@pytest.mark.parametrize(
    ("path", "accept", "rendering"),
    [
        (PODS_PATH, "", JSON),
        (PODS_PATH, "application/vnd.kubernetes.protobuf, application/json", PROTOBUF),
        (PODS_PATH + "?watch=1", f"{PROTO_ONE}, application/json", PROTOBUF_METADATA),
        (PODS_PATH, f"{META_LIST}, application/json", METADATA),
        (PODS_PATH + "/p0001", META_ONE, METADATA),
        (PODS_PATH + "?watch=1", META_ONE, METADATA),
        (PODS_PATH + "?watch=1", META_LIST, None),
        (PODS_PATH, "application/vnd.kubernetes.protobuf", PROTOBUF),
    ],
)
def test_the_rendering_is_negotiated_once(path: str, accept: str, rendering: object) -> None:
    read = Fake().decide("GET", path, {"Accept": accept})
    if rendering is None:
        assert read is None  # forwarded: upstream renders it
    else:
        assert isinstance(read, ReadRequest)
        assert read.rendering is rendering


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("POST", PODS_PATH, {}),
        ("GET", PODS_PATH + "/p0001/status", {}),
        ("GET", "/api/v1/namespaces/default/configmaps", {}),
        ("GET", "/version", {}),
        ("GET", PODS_PATH, {"User-Agent": "curl/8.0"}),
    ],
)
def test_what_is_not_the_caches_is_forwarded(
    method: str, path: str, headers: dict[str, str]
) -> None:
    assert Fake().decide(method, path, headers) is None


@pytest.mark.parametrize(
    ("path", "answer"),
    [
        (PODS_PATH + "/p0001?resourceVersion=0", None),
        (PODS_PATH + "?limit=5", None),
        (PODS_PATH + "?limit=5&labelSelector=a%3Db", 429),
        (PODS_PATH, 429),
        (PODS_PATH + "?watch=1", 429),
        ("/api/v1/watch/namespaces/default/pods/p0001", 429),
        (PODS_PATH + "/p0001?watch=1", None),  # a GET in 1.20
    ],
)
def test_before_the_first_sync(path: str, answer: int | None) -> None:
    fake = Fake()
    fake.reflector.synced.clear()
    decided = fake.decide("GET", path)
    if answer is None:
        assert decided is None
    else:
        assert isinstance(decided, ApiError) and decided.code == answer


def test_options_kube_apiserver_refuses_are_answered_at_once() -> None:
    decided = Fake().decide("GET", PODS_PATH + "?fieldSelector=spec.bogus")
    assert isinstance(decided, ApiError) and decided.code == 400


# -- serving --------------------------------------------------------------------


@pytest.fixture
async def fake() -> AsyncIterator[Fake]:
    yield Fake(count=LIST_BATCH * 2 + 3)


async def test_get_renders_the_object_as_stored_or_as_its_metadata(fake: Fake) -> None:
    async with fake.client() as client:
        whole = await client.get(PODS_PATH + "/p0001?resourceVersion=0")
        assert whole.headers["Content-Type"] == "application/json"
        assert await whole.read() == pod("p0001", rv=2) + b"\n"
        meta = await client.get(
            PODS_PATH + "/p0001?resourceVersion=0", headers={"Accept": META_ONE}
        )
        assert meta.headers["Content-Type"] == "application/json"
        assert json.loads(await meta.read()) == {
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": json.loads(pod("p0001", rv=2))["metadata"],
        }
        missing = await client.get(PODS_PATH + "/nope?resourceVersion=0")
        assert missing.status == 404
        assert (await missing.json())["reason"] == "NotFound"
    assert fake.forwarded == []


async def test_list_renders_every_batch(fake: Fake) -> None:
    async with fake.client() as client:
        whole = await (await client.get(PODS_PATH + "?resourceVersion=0")).read()
        meta = await client.get(PODS_PATH + "?resourceVersion=0", headers={"Accept": META_LIST})
        meta_body = json.loads(await meta.read())
    assert whole.endswith(b"]}\n")
    body = json.loads(whole)
    assert (body["kind"], body["apiVersion"]) == ("PodList", "v1")
    assert body["metadata"] == {"resourceVersion": "10"}
    assert [i["metadata"]["name"] for i in body["items"]] == [
        f"p{i:04d}" for i in range(fake.count)
    ]
    stored = json.loads(pod("p0007", rv=8))
    assert body["items"][7] == {k: v for k, v in stored.items() if k not in ("kind", "apiVersion")}
    assert (meta_body["kind"], meta_body["apiVersion"]) == (
        "PartialObjectMetadataList",
        "meta.k8s.io/v1",
    )
    assert len(meta_body["items"]) == fake.count
    assert set(meta_body["items"][0]) == {"kind", "apiVersion", "metadata"}


async def http_chunks(response: Any) -> list[bytes]:
    """The body as the HTTP/1.1 chunks it was sent in (one per write)."""
    chunks, current = [], b""
    async for data, end_of_chunk in response.content.iter_chunks():
        current += data
        if end_of_chunk:
            chunks.append(current)
            current = b""
    return chunks


async def test_a_list_is_written_in_pieces_of_at_most_list_write_bytes(
    fake: Fake, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Plain answers: a gzip one is held until it proves large (compression.py).
    plain = {"Accept-Encoding": "identity"}
    async with fake.client() as client:
        monkeypatch.setattr(reads, "LIST_WRITE_BYTES", 1 << 30)
        whole = await http_chunks(await client.get(PODS_PATH + "?resourceVersion=0", headers=plain))
        monkeypatch.setattr(reads, "LIST_WRITE_BYTES", 2000)
        pieces = await http_chunks(
            await client.get(PODS_PATH + "?resourceVersion=0", headers=plain)
        )
    assert len(whole) == 1, "a list smaller than a piece is one write"
    assert b"".join(pieces) == whole[0]
    batch = len(whole[0]) // fake.count * reads.LIST_BATCH  # items here are all one size
    assert batch < 2000, "the test needs batches smaller than a piece"
    assert len(pieces) >= len(whole[0]) // 2000
    assert all(len(piece) <= 2000 for piece in pieces), [len(piece) for piece in pieces]


async def test_a_paged_list_continues_from_its_token(fake: Fake) -> None:
    async with fake.client() as client:
        first = await (
            await client.get(PODS_PATH + "?limit=2&resourceVersion=10&resourceVersionMatch=Exact")
        ).json()
        token = first["metadata"]["continue"]
        assert first["metadata"]["remainingItemCount"] == fake.count - 2
        second = await (await client.get(PODS_PATH + f"?limit=2&continue={token}")).json()
    assert [i["metadata"]["name"] for i in second["items"]] == ["p0002", "p0003"]
    assert fake.forwarded == []


async def test_a_consistent_list_is_served_once_the_cache_reached_the_probe(fake: Fake) -> None:
    async with fake.client() as client:
        fresh = await client.get(PODS_PATH)
        assert fresh.status == 200
        assert (await fresh.json())["metadata"]["resourceVersion"] == "10"
        fake.prober.rv = 20  # upstream moved on; this quiet resource is not waited for
        fake.clock.now += 60
        behind = await client.get(PODS_PATH)
        assert await behind.text() == "from upstream"
    assert fake.forwarded == [PODS_PATH]


async def test_a_get_without_resource_version_reads_upstream(fake: Fake) -> None:
    async with fake.client() as client:
        assert await (await client.get(PODS_PATH + "/p0001")).text() == "from upstream"


async def _lines(response: Any, count: int) -> list[dict[str, Any]]:
    async with asyncio.timeout(30):
        return [json.loads(await response.content.readline()) for _ in range(count)]


async def test_a_watch_from_zero_sends_the_state_then_changes() -> None:
    fake = Fake(count=2)
    async with fake.client() as client:
        response = await client.get(
            PODS_PATH + "?watch=1&resourceVersion=0", headers={"Accept": META_ONE}
        )
        assert response.headers["Content-Type"] == "application/json"
        added = await _lines(response, 2)
        assert [(e["type"], e["object"]["kind"]) for e in added] == [
            ("ADDED", "PartialObjectMetadata")
        ] * 2
        event = fake.cache.apply("MODIFIED", pod("p0001", rv=11, labels={"x": "y"}))
        assert event is not None
        await fake.registry.dispatch(event)
        (modified,) = await _lines(response, 1)
        assert modified["type"] == "MODIFIED"
        assert modified["object"]["metadata"]["labels"] == {"x": "y"}
        assert "spec" not in modified["object"]
        response.close()


async def test_a_watch_from_an_rv_history_no_longer_holds_is_410() -> None:
    fake = Fake(count=1)
    async with fake.client() as client:
        response = await client.get(PODS_PATH + "?watch=1&resourceVersion=5")
        assert response.status == 200
        (error,) = await _lines(response, 1)
        assert error["type"] == "ERROR"
        assert error["object"]["code"] == 410


async def test_a_watch_list_ends_its_initial_events_with_a_marked_bookmark() -> None:
    fake = Fake(count=2)
    query = (
        "?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan"
        "&resourceVersion=0&allowWatchBookmarks=true"
    )
    async with fake.client() as client:
        response = await client.get(PODS_PATH + query)
        first, second, end = await _lines(response, 3)
        response.close()
    assert (first["type"], second["type"]) == ("ADDED", "ADDED")
    assert end["type"] == "BOOKMARK"
    assert end["object"]["kind"] == "Pod"
    assert end["object"]["metadata"] == {
        "resourceVersion": "10",
        "annotations": {INITIAL_EVENTS_END: "true"},
    }


LEGACY_WATCH = "/api/v1/watch/namespaces/default/pods"


async def test_a_watch_of_one_object_by_its_legacy_path_is_served_as_a_selected_watch() -> None:
    """kube-apiserver turns ``/api/v1/watch/.../pods/NAME`` into a watch of
    the collection with fieldSelector metadata.name=NAME."""
    fake = Fake(count=3)
    async with fake.client() as client:
        response = await client.get(LEGACY_WATCH + "/p0001")
        (added,) = await _lines(response, 1)
        assert (added["type"], added["object"]["metadata"]["name"]) == ("ADDED", "p0001")
        for name in ("p0002", "p0001"):
            event = fake.cache.apply(
                "MODIFIED", pod(name, rv=fake.cache.rv + 1, labels={"x": name})
            )
            assert event is not None
            await fake.registry.dispatch(event)
        (modified,) = await _lines(response, 1)
        assert modified["object"]["metadata"]["labels"] == {"x": "p0001"}
        response.close()
    assert fake.forwarded == []


async def test_a_get_asking_to_watch_is_forwarded(fake: Fake) -> None:
    """1.20 answers ``.../pods/NAME?watch=1`` as a GET of the object."""
    async with fake.client() as client:
        answer = await client.get(PODS_PATH + "/p0001?watch=1")
        assert await answer.text() == "from upstream"


@pytest.mark.parametrize(
    ("query", "selector"),
    [
        ("", "metadata.name=p0001"),
        ("&fieldSelector=metadata.name%3Dp0001", "metadata.name=p0001"),
        # A selector requiring the name is kept whole.
        (
            "&fieldSelector=metadata.name%3Dp0001,spec.nodeName%3Dn",
            "metadata.name=p0001,spec.nodeName=n",
        ),
    ],
)
def test_a_named_watch_selects_its_name(query: str, selector: str) -> None:
    read = Fake().decide("GET", LEGACY_WATCH + "/p0001?" + query.replace("%3D", "="))
    assert isinstance(read, ReadRequest)
    assert str(read.options.field_selector) == selector


@pytest.mark.parametrize(
    "selector", ["metadata.name=other", "spec.nodeName=n", "metadata.name!=p0001"]
)
def test_a_named_watch_whose_selector_names_another_object_is_400(selector: str) -> None:
    error = Fake().decide("GET", LEGACY_WATCH + f"/p0001?fieldSelector={selector}")
    assert isinstance(error, ApiError)
    assert error.code == 400
    assert error.message == "fieldSelector metadata.name doesn't match requested name"


# -- Tables ----------------------------------------------------------------------

KUBECTL_ACCEPT = f"{TABLE},{TABLE.replace('v1', 'v1beta1')},application/json"
# Wall clock of the Table tests: the fake pods have no creationTimestamp.
WALL = 1_600_000_000.0


def _table_fake(count: int = 3) -> Fake:
    fake = Fake(count=count)
    fake.reads.clock = lambda: WALL
    return fake


@pytest.mark.parametrize(
    ("accept", "version"),
    [
        (KUBECTL_ACCEPT, "v1"),
        (f"{TABLE.replace('v1', 'v1beta1')},application/json", "v1beta1"),
    ],
)
def test_a_table_is_negotiated_and_bound_to_the_read(accept: str, version: str) -> None:
    read = _table_fake().decide("GET", PODS_PATH, {"Accept": accept})
    assert isinstance(read, ReadRequest)
    assert isinstance(read.rendering, TableRead)
    assert read.rendering.renderer.version == version
    assert read.rendering.renderer.clock() == WALL


def test_a_bad_include_object_goes_upstream_for_a_list_and_is_400_for_a_watch() -> None:
    fake = _table_fake()
    headers = {"Accept": KUBECTL_ACCEPT}
    assert fake.decide("GET", PODS_PATH + "?includeObject=All", headers) is None
    error = fake.decide("GET", PODS_PATH + "?watch=1&includeObject=All", headers)
    assert isinstance(error, ApiError) and error.code == 400
    assert error.message.startswith("Unable to convert to Table as requested: includeObject")


async def test_a_table_list_is_rendered_in_batches_from_the_cache(fake: Fake) -> None:
    fake.reads.clock = lambda: WALL
    async with fake.client() as client:
        response = await client.get(
            PODS_PATH + "?resourceVersion=0", headers={"Accept": KUBECTL_ACCEPT}
        )
        raw = await response.read()
    assert response.headers["Content-Type"] == "application/json"
    body = json.loads(raw)
    assert (body["kind"], body["apiVersion"]) == ("Table", "meta.k8s.io/v1")
    assert body["metadata"] == {"resourceVersion": "10"}
    assert [c["name"] for c in body["columnDefinitions"]][:5] == [
        "Name",
        "Ready",
        "Status",
        "Restarts",
        "Age",
    ]
    assert len(body["rows"]) == fake.count
    assert [r["cells"][0] for r in body["rows"]] == [f"p{i:04d}" for i in range(fake.count)]
    assert body["rows"][0]["cells"][1:5] == ["0/1", "", 0, "<unknown>"]
    assert body["rows"][0]["object"]["kind"] == "PartialObjectMetadata"
    assert fake.forwarded == []


async def test_a_paged_table_list_carries_its_continue_token(fake: Fake) -> None:
    async with fake.client() as client:
        query = "?limit=2&resourceVersion=10&resourceVersionMatch=Exact&includeObject=None"
        response = await client.get(PODS_PATH + query, headers={"Accept": KUBECTL_ACCEPT})
        first = await response.json()
        token = first["metadata"]["continue"]
        assert first["metadata"]["remainingItemCount"] == fake.count - 2
        assert [r["object"] for r in first["rows"]] == [None, None]
        second = await (
            await client.get(PODS_PATH + f"?limit=2&continue={token}", headers={"Accept": TABLE})
        ).json()
    assert [r["cells"][0] for r in second["rows"]] == ["p0002", "p0003"]


async def test_an_empty_table_list_has_no_rows() -> None:
    fake = _table_fake(count=0)
    async with fake.client() as client:
        response = await client.get(
            PODS_PATH + "?resourceVersion=0", headers={"Accept": KUBECTL_ACCEPT}
        )
        body = await response.json()
    assert body["rows"] == []
    assert body["columnDefinitions"]


async def test_a_table_get_is_one_row_at_the_objects_rv() -> None:
    fake = _table_fake()
    async with fake.client() as client:
        response = await client.get(
            PODS_PATH + "/p0001?resourceVersion=0&includeObject=Object",
            headers={"Accept": KUBECTL_ACCEPT},
        )
        body = json.loads(await response.read())
    assert body["metadata"] == {"resourceVersion": "2"}
    (row,) = body["rows"]
    assert row["object"] == json.loads(pod("p0001", rv=2))


async def test_a_table_watch_has_column_definitions_on_its_first_line_only() -> None:
    fake = _table_fake(count=2)
    async with fake.client() as client:
        response = await client.get(
            LEGACY_WATCH + "/p0001?resourceVersion=0", headers={"Accept": KUBECTL_ACCEPT}
        )
        (added,) = await _lines(response, 1)
        event = fake.cache.apply("MODIFIED", pod("p0001", rv=11, phase="Running"))
        assert event is not None
        await fake.registry.dispatch(event)
        (modified,) = await _lines(response, 1)
        response.close()
    assert added["type"] == "ADDED"
    assert added["object"]["kind"] == "Table"
    assert added["object"]["columnDefinitions"]
    assert modified["object"]["columnDefinitions"] is None
    assert modified["object"]["metadata"] == {"resourceVersion": "11"}
    assert modified["object"]["rows"][0]["cells"][:3] == ["p0001", "0/1", "Running"]


async def test_table_watchers_are_not_grouped() -> None:
    """Each Table watch renders its own lines: the first has columns."""
    fake = _table_fake(count=1)
    async with fake.client() as client:
        query = PODS_PATH + "?watch=1&resourceVersion=10"
        first = await client.get(query, headers={"Accept": KUBECTL_ACCEPT})
        second = await client.get(query, headers={"Accept": KUBECTL_ACCEPT})
        event = fake.cache.apply("MODIFIED", pod("p0000", rv=11))
        assert event is not None
        await fake.registry.dispatch(event)
        (one,) = await _lines(first, 1)
        (two,) = await _lines(second, 1)
        for response in (first, second):
            response.close()
    assert one["object"]["columnDefinitions"] and two["object"]["columnDefinitions"]
