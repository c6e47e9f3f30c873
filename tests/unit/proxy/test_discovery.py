"""proxy/discovery.py against a fake upstream and a fake clock: what is
kept, for how long, and when it is dropped."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import make_mocked_request

from watchcache.proxy import discovery as discovery_module
from watchcache.proxy.discovery import SETTLE_SECONDS, UNWATCHED_TTL, Discovery


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Answer:
    def __init__(self, status: int, body: bytes) -> None:
        self.status = status
        self.body = body
        self.headers = {"Content-Type": "application/json", "Audit-Id": "x"}

    async def __aenter__(self) -> Answer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def read(self, max_bytes: int) -> bytes:
        return self.body


class Lines:
    """A watch upstream: yields what is put in ``events``; None ends it."""

    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream

    async def __aenter__(self) -> AsyncIterator[bytes]:
        return self._lines()

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def _lines(self) -> AsyncIterator[bytes]:
        while (line := await self.upstream.events.get()) is not None:
            yield line


class Upstream:
    def __init__(self) -> None:
        self.fetches: list[str] = []
        self.status = 200
        self.gate: asyncio.Event | None = None
        self.events: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.watches = 0

    async def forward(self, method: str, path: str, headers: dict[str, str]) -> Answer:
        self.fetches.append(path)
        if self.gate is not None:
            await self.gate.wait()
        return Answer(self.status, f"{path} #{len(self.fetches)}".encode())

    def watch(self, path: str) -> Lines:
        self.watches += 1
        return Lines(self)


def get(path: str, accept: str = "application/json") -> Any:
    return make_mocked_request("GET", path, headers={"Accept": accept})


@pytest.fixture
async def setup() -> AsyncIterator[tuple[Discovery, Upstream, Clock]]:
    upstream, clock = Upstream(), Clock()
    discovery = Discovery(upstream, ttl=300, clock=clock)  # type: ignore[arg-type]
    yield discovery, upstream, clock
    await discovery.close()


async def body(discovery: Discovery, path: str, accept: str = "application/json") -> bytes:
    answer = await discovery.answer(get(path, accept))
    assert answer is not None
    return answer.body  # type: ignore[attr-defined,no-any-return]


async def watched(discovery: Discovery) -> None:
    async with asyncio.timeout(5):
        while not discovery.watched:
            await asyncio.sleep(0)


async def test_kept_for_the_ttl_while_watched(setup: Any) -> None:
    discovery, upstream, clock = setup
    first = await body(discovery, "/apis")
    await watched(discovery)
    clock.now += 299
    assert await body(discovery, "/apis") == first
    clock.now += 2
    assert await body(discovery, "/apis") != first
    assert upstream.fetches == ["/apis", "/apis"]
    assert upstream.watches == 2  # CRDs and APIServices, from the first request on


async def test_an_event_drops_everything_and_nothing_is_kept_while_settling(setup: Any) -> None:
    discovery, upstream, clock = setup
    await body(discovery, "/apis")
    await watched(discovery)
    upstream.events.put_nowait(b'{"type":"ADDED"}')
    async with asyncio.timeout(5):
        while discovery._documents:
            await asyncio.sleep(0)
    await body(discovery, "/apis")
    await body(discovery, "/apis")  # fetched during the settling time: not kept
    clock.now += SETTLE_SECONDS
    await body(discovery, "/apis")
    await body(discovery, "/apis")
    assert len(upstream.fetches) == 4


async def test_only_briefly_kept_while_not_watched(setup: Any) -> None:
    discovery, upstream, clock = setup
    upstream.events.put_nowait(None)  # one watch ends at once
    await body(discovery, "/api")
    clock.now += SETTLE_SECONDS  # past the settling the end caused
    await body(discovery, "/api")
    assert not discovery.watched
    clock.now += UNWATCHED_TTL - 0.5
    await body(discovery, "/api")
    clock.now += 1
    await body(discovery, "/api")
    assert upstream.fetches == ["/api", "/api", "/api"]


async def test_each_accept_is_its_own_document(setup: Any) -> None:
    discovery, upstream, _ = setup
    await body(discovery, "/api/v1", "application/json")
    await body(discovery, "/api/v1", "application/vnd.kubernetes.protobuf")
    await body(discovery, "/api/v1", "application/json")
    assert upstream.fetches == ["/api/v1", "/api/v1"]


async def test_concurrent_misses_make_one_request(setup: Any) -> None:
    discovery, upstream, _ = setup
    upstream.gate = asyncio.Event()
    waiting = [asyncio.ensure_future(body(discovery, "/apis/apps/v1")) for _ in range(20)]
    await asyncio.sleep(0.01)
    upstream.gate.set()
    assert len(set(await asyncio.gather(*waiting))) == 1
    assert upstream.fetches == ["/apis/apps/v1"]


async def test_not_200_is_left_to_the_forwarder_and_not_kept(setup: Any) -> None:
    discovery, upstream, _ = setup
    upstream.status = 404
    assert await discovery.answer(get("/apis/nope/v1")) is None
    assert await discovery.answer(get("/apis/nope/v1")) is None
    assert len(upstream.fetches) == 2


async def test_bounded(setup: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    discovery, upstream, _ = setup
    monkeypatch.setattr(discovery_module, "MAX_DOCUMENTS", 3)
    for group in "abcd":
        await body(discovery, f"/apis/{group}")
    await body(discovery, "/apis/d")  # kept
    await body(discovery, "/apis/a")  # the oldest: dropped
    assert upstream.fetches == ["/apis/a", "/apis/b", "/apis/c", "/apis/d", "/apis/a"]


@pytest.mark.parametrize(
    ("path", "served"),
    [
        ("/api", True),
        ("/api/v1", True),
        ("/apis", True),
        ("/apis/apps", True),
        ("/apis/apps/v1", True),
        ("/version", True),
        ("/api/v1/pods", False),
        ("/apis/apps/v1/deployments", False),
        ("/healthz", False),
    ],
)
def test_which_paths(path: str, served: bool) -> None:
    discovery = Discovery(Upstream(), ttl=1)  # type: ignore[arg-type]
    assert discovery.serves(get(path)) is served
