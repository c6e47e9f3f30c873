"""gzip of large answers from the cache (compression.py): the rules on
their own, the body writer through a real aiohttp server, and the read
path's LIST, GET and WATCH as a client that accepts gzip gets them."""

from __future__ import annotations

import gzip
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from tests.unit.cache.fakes import pod
from tests.unit.proxy.test_reads import PODS_PATH, Fake

from watchcache.proxy.compression import (
    GZIP_THRESHOLD,
    BodyWriter,
    Compression,
    accepts_gzip,
)

GZIP = {"Accept-Encoding": "gzip"}
IDENTITY = {"Accept-Encoding": "identity"}
WRITTEN = web.AppKey("written", list[BodyWriter])


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        ("gzip", True),
        ("gzip, deflate", True),
        ("deflate ,  gzip ", True),
        ("br,gzip", True),
        ("", False),
        ("identity", False),
        ("deflate", False),
        ("*", False),  # kube-apiserver compares tokens whole
        ("gzip;q=1.0", False),
        ("x-gzip", False),
    ],
)
def test_gzip_is_accepted_as_kube_apiserver_reads_accept_encoding(
    header: str, accepted: bool
) -> None:
    assert accepts_gzip({"Accept-Encoding": header}) is accepted


class _Request:
    def __init__(self, headers: dict[str, str]) -> None:
        self.headers = headers


def test_a_whole_body_is_gzip_only_above_the_threshold() -> None:
    compression = Compression()
    request: Any = _Request(GZIP)
    base = {"Content-Type": "application/json"}
    at = b"x" * GZIP_THRESHOLD
    assert compression.whole(request, at, base) == (at, base)
    above = at + b"x"
    body, headers = compression.whole(request, above, base)
    assert gzip.decompress(body) == above
    assert headers == {**base, "Content-Encoding": "gzip", "Vary": "Accept-Encoding"}
    assert Compression(enabled=False).whole(request, above, base) == (above, base)
    assert compression.whole(_Request(IDENTITY), above, base) == (above, base)  # type: ignore[arg-type]


def _server(compression: Compression, pieces: list[bytes]) -> TestServer:
    """A server answering with ``pieces`` written through a BodyWriter."""
    written: list[BodyWriter] = []

    async def handle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        body = compression.body(request, response)
        written.append(body)
        for piece in pieces:
            await body.write(piece)
        await body.finish()
        return response

    app = web.Application()
    app.router.add_get("/", handle)
    app[WRITTEN] = written
    return TestServer(app)


@pytest.fixture
async def raw_client() -> AsyncIterator[Any]:
    """A client that reads bodies as sent, undecoded."""
    clients: list[TestClient[Any, Any]] = []

    async def make(server: TestServer) -> TestClient[Any, Any]:
        client: TestClient[Any, Any] = TestClient(server, auto_decompress=False)
        await client.start_server()
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


async def test_a_streamed_body_is_gzip_once_it_passes_the_threshold(raw_client: Any) -> None:
    pieces = [b"[" + b"a" * 50_000, b"b" * 50_000, b"c" * 50_000, b"d" * 200_000 + b"]"]
    client = await raw_client(_server(Compression(), pieces))
    response = await client.get("/", headers=GZIP)
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.headers["Vary"] == "Accept-Encoding"
    assert response.headers["Content-Type"] == "application/json"
    sent = await response.read()
    assert gzip.decompress(sent) == b"".join(pieces)
    assert len(sent) < len(b"".join(pieces)) // 10


@pytest.mark.parametrize(
    ("compression", "headers", "pieces"),
    [
        # Small: held until the end, then sent as it was.
        (Compression(), GZIP, [b"a" * 100, b"b" * (GZIP_THRESHOLD - 100)]),
        # Large, but the client did not ask.
        (Compression(), IDENTITY, [b"a" * GZIP_THRESHOLD, b"b"]),
        # Large and asked, but turned off.
        (Compression(enabled=False), GZIP, [b"a" * GZIP_THRESHOLD, b"b"]),
        # Nothing at all.
        (Compression(), GZIP, []),
    ],
)
async def test_a_streamed_body_goes_out_as_it_was(
    raw_client: Any, compression: Compression, headers: dict[str, str], pieces: list[bytes]
) -> None:
    client = await raw_client(_server(compression, pieces))
    response = await client.get("/", headers=headers)
    assert response.status == 200
    assert "Content-Encoding" not in response.headers
    assert "Vary" not in response.headers
    assert await response.read() == b"".join(pieces)


async def test_an_uncompressed_request_is_written_through_not_held(raw_client: Any) -> None:
    """Without gzip the writer holds nothing: the answer is prepared on its
    first write, as the read path wrote before there was compression."""
    server = _server(Compression(), [b"a" * 10, b"b" * 10])
    client = await raw_client(server)
    await (await client.get("/", headers=IDENTITY)).read()
    (body,) = server.app[WRITTEN]
    assert (body.compressed, body.raw_bytes, body.sent_bytes) == (False, 20, 20)


# -- through the read path ---------------------------------------------------------


@pytest.fixture
def fake() -> Fake:
    return Fake(count=1500)  # about 300 KB of pods: above the threshold


async def test_a_large_list_is_gzip_and_decodes_to_the_same_bytes(
    fake: Fake, raw_client: Any
) -> None:
    client = await raw_client(fake.client().server)
    plain = await client.get(PODS_PATH + "?resourceVersion=0", headers=IDENTITY)
    plain_body = await plain.read()
    assert len(plain_body) > GZIP_THRESHOLD
    zipped = await client.get(PODS_PATH + "?resourceVersion=0", headers=GZIP)
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert zipped.headers["Content-Type"] == plain.headers["Content-Type"]
    zipped_body = await zipped.read()
    assert gzip.decompress(zipped_body) == plain_body
    assert len(zipped_body) < len(plain_body) // 5


@pytest.mark.parametrize(
    "accept",
    [
        "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1",
        "application/json;as=Table;v=v1;g=meta.k8s.io",
        "application/vnd.kubernetes.protobuf",
    ],
)
async def test_every_rendering_of_a_large_list_is_gzip(
    fake: Fake, raw_client: Any, accept: str
) -> None:
    client = await raw_client(fake.client().server)
    path = PODS_PATH + "?resourceVersion=0"
    plain = await (await client.get(path, headers={**IDENTITY, "Accept": accept})).read()
    zipped = await client.get(path, headers={**GZIP, "Accept": accept})
    if len(plain) > GZIP_THRESHOLD:
        assert zipped.headers["Content-Encoding"] == "gzip"
        assert gzip.decompress(await zipped.read()) == plain
    else:
        assert "Content-Encoding" not in zipped.headers


async def test_a_small_list_is_not_compressed(raw_client: Any) -> None:
    client = await raw_client(Fake(count=5).client().server)
    response = await client.get(PODS_PATH + "?resourceVersion=0", headers=GZIP)
    assert "Content-Encoding" not in response.headers
    assert len(json.loads(await response.read())["items"]) == 5


async def test_a_large_object_is_gzip_and_a_small_one_is_not(raw_client: Any) -> None:
    fake = Fake(count=1)
    big = pod("big", rv=11, pad=GZIP_THRESHOLD)
    fake.cache.apply("ADDED", big)
    client = await raw_client(fake.client().server)
    zipped = await client.get(PODS_PATH + "/big?resourceVersion=0", headers=GZIP)
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(await zipped.read()) == big + b"\n"
    small = await client.get(PODS_PATH + "/p0000?resourceVersion=0", headers=GZIP)
    assert "Content-Encoding" not in small.headers
    assert await small.read() == pod("p0000", rv=1) + b"\n"


async def test_a_watch_is_never_compressed(fake: Fake, raw_client: Any) -> None:
    client = await raw_client(fake.client().server)
    response = await client.get(
        PODS_PATH + "?watch=1&resourceVersion=0&timeoutSeconds=1", headers=GZIP
    )
    assert "Content-Encoding" not in response.headers
    lines = []
    while len(lines) < fake.count:
        lines.append(json.loads(await response.content.readline()))
    assert {line["type"] for line in lines} == {"ADDED"}
    response.close()


async def test_turned_off_a_large_list_is_plain(raw_client: Any) -> None:
    fake = Fake(count=1500)
    fake.reads.compression = Compression(enabled=False)
    client = await raw_client(fake.client().server)
    response = await client.get(PODS_PATH + "?resourceVersion=0", headers=GZIP)
    assert "Content-Encoding" not in response.headers
    assert len(json.loads(await response.read())["items"]) == 1500
