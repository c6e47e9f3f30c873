"""The per-client bounds on their own, then through the read path: one
client at its bound gets kube-apiserver's 429 while another is served."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer, make_mocked_request
from prometheus_client import CollectorRegistry, generate_latest
from tests.unit.cache.fakes import PODS
from tests.unit.proxy.test_reads import PODS_PATH, Fake

from watchcache.auth.identity import Identity
from watchcache.proxy.context import (
    PROXY_IDENTITY,
    REQUEST_CONTEXT,
    RequestContext,
    context_middleware,
)
from watchcache.proxy.fairness import Fairness, Limits
from watchcache.proxy.reads import ReadPath
from watchcache.proxy.requestinfo import REQUEST_INFO, parse_once, parse_request

ALICE = Identity("alice", ("dev", "system:authenticated"), delegated=True)
BOB = Identity("bob", ("system:authenticated",), delegated=True)
ADMIN = Identity("admin", ("system:masters", "system:authenticated"), delegated=True)

# kube-apiserver's 429 body, as the proxy must write it (the e2e test's too).
TOO_MANY = {
    "kind": "Status",
    "apiVersion": "v1",
    "metadata": {},
    "status": "Failure",
    "message": "Too many requests, please try again later.",
    "reason": "TooManyRequests",
    "details": {"retryAfterSeconds": 1},
    "code": 429,
}


def test_a_client_at_its_list_bound_is_refused_until_one_ends() -> None:
    fairness = Fairness(Limits(lists=2, watches=5))
    first = fairness.admit(ALICE, "10.0.0.1", "list")
    second = fairness.admit(ALICE, "10.0.0.1", "list")
    assert first is not None and second is not None
    assert fairness.admit(ALICE, "10.0.0.1", "list") is None
    assert fairness.rejected == {"list": 1, "watch": 0}
    with first:
        pass
    assert fairness.admit(ALICE, "10.0.0.1", "list") is not None


def test_lists_and_watches_are_bounded_apart_and_gets_not_at_all() -> None:
    fairness = Fairness(Limits(lists=1, watches=1))
    assert fairness.admit(ALICE, "a", "list") is not None
    assert fairness.admit(ALICE, "a", "watch") is not None
    assert fairness.admit(ALICE, "a", "watch") is None
    for _ in range(10):
        assert fairness.admit(ALICE, "a", "get") is not None
    assert fairness.held("alice", "a") == (1, 1)


def test_a_client_is_its_user_at_its_address() -> None:
    fairness = Fairness(Limits(lists=1))
    assert fairness.admit(ALICE, "10.0.0.1", "list") is not None
    assert fairness.admit(ALICE, "10.0.0.1", "list") is None
    # The same service account in another pod, and another user at the same address.
    assert fairness.admit(ALICE, "10.0.0.2", "list") is not None
    assert fairness.admit(BOB, "10.0.0.1", "list") is not None


def test_system_masters_and_the_proxys_own_identity_are_exempt() -> None:
    fairness = Fairness(Limits(lists=1, watches=1))
    for who in (ADMIN, PROXY_IDENTITY):
        for verb in ("list", "list", "watch", "watch"):
            assert fairness.admit(who, "a", verb) is not None
    assert fairness.clients == 0 and fairness.exempted == 8


def test_zero_is_no_bound() -> None:
    fairness = Fairness(Limits(lists=0, watches=1))
    for _ in range(100):
        assert fairness.admit(ALICE, "a", "list") is not None
    assert fairness.admit(ALICE, "a", "watch") is not None
    assert fairness.admit(ALICE, "a", "watch") is None


def test_the_table_holds_only_clients_in_flight() -> None:
    fairness = Fairness(Limits(lists=3, watches=3))
    tickets = [
        fairness.admit(Identity(f"user-{i}", delegated=True), f"10.0.{i}.1", verb)
        for i in range(1000)
        for verb in ("list", "watch")
    ]
    assert fairness.clients == 1000
    for ticket in tickets:
        assert ticket is not None
        with ticket:
            pass
    assert fairness.clients == 0


def test_a_ticket_is_given_back_once() -> None:
    fairness = Fairness(Limits(lists=1))
    ticket = fairness.admit(ALICE, "a", "list")
    assert ticket is not None
    assert fairness.admit(ALICE, "b", "list") is not None
    with ticket:
        pass
    ticket.__exit__(None, None, None)
    assert fairness.clients == 1  # b's still held
    assert fairness.admit(ALICE, "b", "list") is None


def test_rejections_and_counts_are_metrics() -> None:
    fairness = Fairness(Limits(lists=1, watches=1))
    held = [fairness.admit(ALICE, "a", "list"), fairness.admit(ALICE, "a", "watch")]
    assert fairness.admit(ALICE, "a", "watch") is None
    registry = CollectorRegistry()
    registry.register(fairness)
    text = generate_latest(registry).decode()
    assert 'watchcache_fairness_rejected_requests_total{kind="watch"} 1.0' in text
    assert 'watchcache_fairness_rejected_requests_total{kind="list"} 0.0' in text
    assert 'watchcache_fairness_in_flight{kind="list"} 1.0' in text
    assert "watchcache_fairness_clients 1.0" in text
    assert all(held)


# -- through the read path -----------------------------------------------------


class _BlockingProber:
    """A consistent read's probe that answers when told."""

    def __init__(self, rv: int) -> None:
        self.rv = rv
        self.go = asyncio.Event()
        self.waiting = asyncio.Event()

    async def current_rv(self) -> int:
        self.waiting.set()
        await self.go.wait()
        return self.rv


def _client(fake: Fake) -> TestClient[Any, Any]:
    """The read path behind the request context, whose identity is the
    ``X-User`` header's (alice, bob or admin)."""
    people = {"alice": ALICE, "bob": BOB, "admin": ADMIN}

    @web.middleware
    async def as_user(request: web.Request, handler: Any) -> web.StreamResponse:
        request[REQUEST_CONTEXT].identity = people[request.headers["X-User"]]
        return await handler(request)

    app = web.Application(middlewares=[context_middleware, as_user, parse_once])

    async def handle(request: web.Request) -> web.StreamResponse:
        return await fake.reads(request)

    app.router.add_route("*", "/{tail:.*}", handle)
    return TestClient(TestServer(app))


@pytest.fixture
async def bounded() -> AsyncIterator[Fake]:
    fake = Fake(count=3)
    fake.reads = ReadPath(
        {PODS.gvr: fake.resource}, fake.reads.forward, fairness=Fairness(Limits(1, 1))
    )
    yield fake


async def test_a_client_past_its_watch_bound_gets_429_while_another_is_served(
    bounded: Fake,
) -> None:
    async with _client(bounded) as client:
        watch = PODS_PATH + "?watch=1&resourceVersion=0"
        held = await client.get(watch, headers={"X-User": "alice"})
        assert held.status == 200
        refused = await client.get(watch, headers={"X-User": "alice"})
        assert refused.status == 429
        assert refused.headers["Retry-After"] == "1"
        assert json.loads(await refused.read()) == TOO_MANY
        others = await client.get(watch, headers={"X-User": "bob"})
        assert others.status == 200
        got = await client.get(PODS_PATH + "/p0001?resourceVersion=0", headers={"X-User": "alice"})
        assert got.status == 200
        admin = [await client.get(watch, headers={"X-User": "admin"}) for _ in range(3)]
        assert [r.status for r in admin] == [200] * 3
        for response in (held, others, *admin):
            response.close()
    assert bounded.reads.fairness.rejected == {"list": 0, "watch": 1}


async def test_a_client_past_its_list_bound_gets_429_until_its_list_ends(bounded: Fake) -> None:
    prober = _BlockingProber(10)
    bounded.resource.prober = prober  # type: ignore[misc]
    async with _client(bounded) as client:
        in_flight = asyncio.create_task(client.get(PODS_PATH, headers={"X-User": "alice"}))
        async with asyncio.timeout(30):
            await prober.waiting.wait()
        refused = await client.get(PODS_PATH + "?resourceVersion=0", headers={"X-User": "alice"})
        assert (refused.status, refused.headers["Retry-After"]) == (429, "1")
        served = await client.get(PODS_PATH + "?resourceVersion=0", headers={"X-User": "bob"})
        assert served.status == 200
        assert len((await served.json())["items"]) == 3
        prober.go.set()
        assert (await in_flight).status == 200
        again = await client.get(PODS_PATH + "?resourceVersion=0", headers={"X-User": "alice"})
        assert again.status == 200
    assert bounded.reads.fairness.clients == 0


async def test_a_watch_holds_its_slot_until_it_ends_not_until_its_handler_returns(
    bounded: Fake,
) -> None:
    async with _client(bounded) as client:
        watch = PODS_PATH + "?watch=1&resourceVersion=0"
        held = await client.get(watch, headers={"X-User": "alice"})
        assert held.status == 200
        (watcher,) = bounded.registry._all()
        assert bounded.reads.fairness.held("alice", "127.0.0.1") == (0, 1)
        bounded.registry.close_all("test")
        async with asyncio.timeout(30):
            await watcher.closed
        await asyncio.sleep(0)  # the future's done callbacks run on the next tick
        assert bounded.reads.fairness.clients == 0
        again = await client.get(watch, headers={"X-User": "alice"})
        assert again.status == 200
        held.close()
        again.close()


async def test_lists_that_arrive_together_count_together() -> None:
    """Two LISTs of one client read in the same loop turn: the second is
    refused at a bound of 1, though the first would be answered without
    waiting for anything (a cached LIST at resourceVersion=0). Without the
    read path's one turn between admission and work, each LIST would be
    over before the next was admitted, and a fast client never bounded."""
    fake = Fake(count=3)
    reads = ReadPath({PODS.gvr: fake.resource}, fake.reads.forward, fairness=Fairness(Limits(1)))

    def request() -> web.Request:
        made = make_mocked_request("GET", PODS_PATH + "?resourceVersion=0")
        made[REQUEST_CONTEXT] = RequestContext("id", ALICE, 0.0)
        made[REQUEST_INFO] = parse_request("GET", PODS_PATH, {"resourceVersion": "0"}, ALICE)
        return made

    first, second = await asyncio.gather(reads(request()), reads(request()))
    assert (first.status, second.status) == (200, 429)
