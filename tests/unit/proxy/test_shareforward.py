"""A forwarded LIST with a shardSelector (shareforward.py) through the read
path: upstream is a fake that answers canned pages and records what it was
asked; the read path is test_reads' Fake (pods at RV 10) whose cache cannot
answer the read (a consistent LIST after upstream moved on)."""

from __future__ import annotations

import contextlib
import gzip
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy
from tests.unit.cache.fakes import PODS, pod
from tests.unit.proxy.test_reads import PODS_PATH, TABLE, Fake

from watchcache.api.continuetoken import encode_continue
from watchcache.api.shardselector import ShardSelector, even_shards
from watchcache.proxy.compression import Compression
from watchcache.proxy.reads import ReadPath
from watchcache.proxy.shareforward import FORWARD_PAGE
from watchcache.upstream import DisconnectedError, ForwardResponse

SHARDS = even_shards(2)
NAMES = [f"x{i:02d}-{i:02d}" for i in range(20)]  # uids whose hashes spread over both shards


def _shard_of(name: str) -> int:
    """Which of SHARDS holds the pod ``name`` (its uid is test-made)."""
    uid = f"uid-default-{name}"
    return next(i for i, t in enumerate(SHARDS) if ShardSelector.parse(t).matches(uid, "default"))


def _list_body(names: list[str], rv: int, token: str = "", remaining: int | None = None) -> bytes:
    """A page as kube-apiserver writes it: untyped items, its metadata."""
    meta: dict[str, Any] = {"resourceVersion": str(rv)}
    if token:
        meta["continue"] = token
    if remaining is not None:
        meta["remainingItemCount"] = remaining
    items = [json.loads(pod(name, rv=rv, typed=False)) for name in names]
    return json.dumps(
        {"kind": "PodList", "apiVersion": "v1", "metadata": meta, "items": items}
    ).encode()


@dataclass
class _Answer:
    status: int
    body: bytes
    headers: CIMultiDictProxy[str] = field(
        default_factory=lambda: CIMultiDictProxy(CIMultiDict({"Content-Type": "application/json"}))
    )
    reason: str = ""
    broken: bool = False

    async def read(self, max_bytes: int) -> bytes:
        if self.broken:
            raise DisconnectedError("connection reset")
        assert len(self.body) <= max_bytes
        return self.body


@dataclass
class _Upstream:
    answers: list[_Answer]
    asked: list[tuple[dict[str, str], dict[str, str]]] = field(default_factory=list)

    @contextlib.asynccontextmanager
    async def ask(
        self, request: web.Request, query: Mapping[str, str], headers: Mapping[str, str]
    ) -> AsyncIterator[ForwardResponse | web.StreamResponse]:
        self.asked.append((dict(query), dict(headers)))
        yield cast(ForwardResponse, self.answers.pop(0))


def _two_pages(rv: int) -> tuple[_Upstream, str]:
    """An upstream that answers NAMES at ``rv`` in two pages of 10, and the
    first page's continue token."""
    first = encode_continue(rv, NAMES[9])
    pages = [_list_body(NAMES[:10], rv, first), _list_body(NAMES[10:], rv)]
    return _Upstream([_Answer(200, page) for page in pages]), first


def _behind(upstream: _Upstream, compression: Compression | None = None) -> Fake:
    """A Fake whose probe is ahead of its cache (a consistent LIST is
    forwarded at once) and whose read path asks ``upstream``."""
    fake = Fake(count=0)
    fake.prober.rv = 50
    fake.reads = ReadPath(
        {PODS.gvr: fake.resource},
        fake._forward,
        rng=None,
        freshness_wait=0.0,
        compression=compression or Compression(),
        ask=upstream.ask,
    )
    return fake


async def test_a_forwarded_page_holds_only_the_share_with_upstreams_rv_and_token() -> None:
    token = encode_continue(50, NAMES[9])
    upstream = _Upstream([_Answer(200, _list_body(NAMES[:10], 50, token, remaining=10))])
    fake = _behind(upstream)
    async with fake.client() as client:
        response = await client.get(
            PODS_PATH, params={"shardSelector": SHARDS[0], "limit": "10"}, headers={"Accept": "*/*"}
        )
        assert response.status == 200, await response.text()
        body = await response.json()
    names = [item["metadata"]["name"] for item in body["items"]]
    assert names == [n for n in NAMES[:10] if _shard_of(n) == 0]
    assert 0 < len(names) < 10  # the page is filtered, not made whole
    assert body["metadata"] == {
        "resourceVersion": "50",
        "continue": token,
        "shardInfo": {"selector": SHARDS[0]},
    }  # no remainingItemCount: upstream counted the whole
    assert body["kind"] == "PodList"
    assert all("kind" not in item for item in body["items"])  # list items, as upstream's
    ((query, headers),) = upstream.asked
    assert query == {"shardSelector": SHARDS[0], "limit": "10"}
    assert headers == {"Accept": "application/json", "Accept-Encoding": "identity"}
    assert fake.forwarded == []


async def test_an_unpaged_forwarded_list_is_asked_page_by_page_at_the_first_pages_rv() -> None:
    upstream, first = _two_pages(50)
    fake = _behind(upstream)
    async with fake.client() as client:
        response = await client.get(PODS_PATH, params={"shardSelector": SHARDS[1]})
        assert response.status == 200, await response.text()
        body = await response.json()
    assert [item["metadata"]["name"] for item in body["items"]] == [
        n for n in NAMES if _shard_of(n) == 1
    ]
    assert body["metadata"] == {"resourceVersion": "50", "shardInfo": {"selector": SHARDS[1]}}
    queries = [query for query, _ in upstream.asked]
    assert queries == [
        {"shardSelector": SHARDS[1], "limit": str(FORWARD_PAGE)},
        {"shardSelector": SHARDS[1], "limit": str(FORWARD_PAGE), "continue": first},
    ]


async def test_a_continuation_drops_the_rv_upstream_refuses_beside_a_token() -> None:
    upstream, first = _two_pages(7)
    fake = _behind(upstream)
    async with fake.client() as client:
        # Exact at an RV the cache's history does not cover: forwarded.
        params = {"shardSelector": SHARDS[0], "resourceVersion": "7"}
        params["resourceVersionMatch"] = "Exact"
        response = await client.get(PODS_PATH, params=params)
        assert response.status == 200, await response.text()
    assert upstream.asked[1][0] == {
        "shardSelector": SHARDS[0],
        "limit": str(FORWARD_PAGE),
        "continue": first,
    }


async def test_upstreams_error_passes_as_it_is() -> None:
    status = b'{"kind":"Status","apiVersion":"v1","status":"Failure","code":410}\n'
    upstream = _Upstream([_Answer(410, status, reason="Gone")])
    fake = _behind(upstream)
    async with fake.client() as client:
        response = await client.get(PODS_PATH, params={"shardSelector": SHARDS[0]})
        assert response.status == 410
        assert await response.read() == status
        assert response.headers["Content-Type"] == "application/json"


async def test_a_broken_page_or_a_token_upstream_did_not_write_is_a_503() -> None:
    odd = encode_continue(49, NAMES[9])  # not at the list's RV
    upstream = _Upstream(
        [_Answer(200, b"", broken=True), _Answer(200, _list_body(NAMES[:10], 50, odd))]
    )
    fake = _behind(upstream)
    async with fake.client() as client:
        for _ in range(2):
            response = await client.get(PODS_PATH, params={"shardSelector": SHARDS[0]})
            assert response.status == 503
            assert (await response.json())["kind"] == "Status"


async def test_a_protobuf_or_table_client_gets_the_share_in_the_caches_forms() -> None:
    upstream = _Upstream([_Answer(200, _list_body(NAMES, 50)), _Answer(200, _list_body(NAMES, 50))])
    fake = _behind(upstream)
    share = [n for n in NAMES if _shard_of(n) == 0]
    async with fake.client() as client:
        proto = "application/vnd.kubernetes.protobuf, application/json"
        response = await client.get(
            PODS_PATH, params={"shardSelector": SHARDS[0]}, headers={"Accept": proto}
        )
        assert response.headers["Content-Type"] == "application/json"  # as from the cache
        assert [i["metadata"]["name"] for i in (await response.json())["items"]] == share
        response = await client.get(
            PODS_PATH, params={"shardSelector": SHARDS[0]}, headers={"Accept": TABLE}
        )
        table = await response.json()
    assert table["kind"] == "Table"
    assert [row["object"]["metadata"]["name"] for row in table["rows"]] == share
    assert all(headers["Accept"] == "application/json" for _, headers in upstream.asked)


async def test_the_share_is_gzip_by_the_proxys_rules_not_upstreams() -> None:
    upstream = _Upstream([_Answer(200, _list_body(NAMES, 50)), _Answer(200, _list_body(NAMES, 50))])
    fake = _behind(upstream, Compression(threshold=100))
    async with fake.client() as client:
        params = {"shardSelector": SHARDS[0]}
        zipped = await client.get(
            PODS_PATH, params=params, headers={"Accept-Encoding": "gzip"}, auto_decompress=False
        )
        assert zipped.headers["Content-Encoding"] == "gzip"
        unzipped = json.loads(gzip.decompress(await zipped.read()))
        plain = await client.get(PODS_PATH, params=params, headers={"Accept-Encoding": "identity"})
        assert "Content-Encoding" not in plain.headers
        assert await plain.json() == unzipped
    assert all(headers["Accept-Encoding"] == "identity" for _, headers in upstream.asked)
