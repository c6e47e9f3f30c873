"""watch.py and the stream in endpoints.py: events, RV rules, selectors,
bookmarks, WatchList, timeouts."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest

from watchcache.simulator import Simulator, SimulatorConfig, StreamSettings

PODS = "/api/v1/namespaces/default/pods"


@asynccontextmanager
async def stream(sim: Simulator, path: str, **params: str) -> AsyncIterator[Any]:
    """Open a watch; yields a coroutine function returning the next event."""
    async with aiohttp.ClientSession() as session:
        async with session.get(sim.url + path, params=params) as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("application/json")

            async def next_event() -> dict[str, Any] | None:
                line = await response.content.readline()
                return json.loads(line) if line else None

            yield next_event


def _summary(event: dict[str, Any] | None) -> tuple[str, str] | None:
    if event is None:
        return None
    return event["type"], event["object"]["metadata"].get("name", "")


async def test_rv_unset_starts_with_synthetic_added(
    sim: Simulator, client: Any, make_pod: Any
) -> None:
    await client.call("POST", PODS, make_pod("a"))
    async with stream(sim, PODS, watch="true") as next_event:
        assert _summary(await next_event()) == ("ADDED", "a")
        await client.call("POST", PODS, make_pod("b"))
        event = await next_event()
        assert _summary(event) == ("ADDED", "b")
        assert event is not None and event["object"]["kind"] == "Pod"


async def test_rv_n_replays_changes_after_n(sim: Simulator, client: Any, make_pod: Any) -> None:
    _, a = await client.call("POST", PODS, make_pod("a"))
    await client.call("POST", PODS, make_pod("b"))
    await client.call("DELETE", PODS + "/a")
    rv = a["metadata"]["resourceVersion"]
    events = await client.lines(PODS, watch="1", resourceVersion=rv, timeoutSeconds="1")
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("ADDED", "b"),
        ("DELETED", "a"),
    ]
    deleted_rv = int(events[1]["object"]["metadata"]["resourceVersion"])
    assert deleted_rv == sim.store.rv


async def test_legacy_watch_path(sim: Simulator, client: Any, make_pod: Any) -> None:
    await client.call("POST", PODS, make_pod("a"))
    await client.call("POST", PODS, make_pod("b"))
    events = await client.lines("/api/v1/watch/namespaces/default/pods/b", timeoutSeconds="1")
    assert [_summary(e) for e in events] == [("ADDED", "b")]


async def test_too_old_rv_is_error_event_after_history_shrinks(
    sim: Simulator, client: Any, make_pod: Any
) -> None:
    for name in ("a", "b", "c"):
        await client.call("POST", PODS, make_pod(name))
    sim.faults.shrink_history(1)
    oldest_kept = sim.store.rv
    events = await client.lines(PODS, watch="1", resourceVersion="2")
    assert len(events) == 1 and events[0]["type"] == "ERROR"
    assert events[0]["object"] == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": f"too old resource version: 2 ({oldest_kept - 1})",
        "reason": "Expired",
        "code": 410,
    }
    # An RV equal to M is still accepted.
    ok = await client.lines(
        PODS, watch="1", resourceVersion=str(oldest_kept - 1), timeoutSeconds="1"
    )
    assert [_summary(e) for e in ok] == [("ADDED", "c")]


@pytest.mark.parametrize("config", [SimulatorConfig(history_size=2)], indirect=True)
async def test_history_overflow_gives_410_but_compaction_does_not(
    sim: Simulator, client: Any, make_pod: Any
) -> None:
    for name in ("a", "b", "c"):
        await client.call("POST", PODS, make_pod(name))
    sim.faults.compact()
    kept = sim.store.rv - 1
    fine = await client.lines(PODS, watch="1", resourceVersion=str(kept - 1), timeoutSeconds="1")
    assert [_summary(e) for e in fine] == [("ADDED", "b"), ("ADDED", "c")]
    old = await client.lines(PODS, watch="1", resourceVersion="1")
    assert old[0]["type"] == "ERROR" and old[0]["object"]["code"] == 410


async def test_selector_leave_is_deleted_enter_is_added(
    sim: Simulator, client: Any, make_pod: Any
) -> None:
    _, a = await client.call("POST", PODS, make_pod("a", labels={"app": "x"}))
    rv = a["metadata"]["resourceVersion"]
    a["metadata"]["labels"] = {"app": "y"}
    _, moved = await client.call("PUT", PODS + "/a", a)
    moved["metadata"]["labels"] = {"app": "x"}
    _, back = await client.call("PUT", PODS + "/a", moved)
    events = await client.lines(
        PODS, watch="1", resourceVersion=rv, labelSelector="app=x", timeoutSeconds="1"
    )
    assert [e["type"] for e in events] == ["DELETED", "ADDED"]
    # Leaving: the previous object (still matching) at the new RV.
    assert events[0]["object"]["metadata"]["labels"] == {"app": "x"}
    assert (
        events[0]["object"]["metadata"]["resourceVersion"] == moved["metadata"]["resourceVersion"]
    )
    assert events[1]["object"]["metadata"]["resourceVersion"] == back["metadata"]["resourceVersion"]


async def test_binding_reaches_watchers_of_the_new_node(
    sim: Simulator, client: Any, make_pod: Any
) -> None:
    _, a = await client.call("POST", PODS, make_pod("a"))
    rv = a["metadata"]["resourceVersion"]
    async with stream(
        sim, PODS, watch="1", fieldSelector="spec.nodeName=n1", resourceVersion=rv
    ) as n1:
        binding = {
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": "a"},
            "target": {"name": "n1"},
        }
        code, body = await client.call("POST", PODS + "/a/binding", binding)
        assert (code, body["status"]) == (201, "Success")
        assert _summary(await n1()) == ("ADDED", "a")
    code, body = await client.call("POST", PODS + "/a/binding", binding)
    assert code == 409 and body["reason"] == "Conflict"


async def test_graceful_delete_is_modified_then_deleted(
    sim: Simulator, client: Any, make_pod: Any
) -> None:
    _, a = await client.call("POST", PODS, make_pod("a", node="n1"))
    await client.call("DELETE", PODS + "/a")
    await client.call("DELETE", PODS + "/a", {"gracePeriodSeconds": 0})
    events = await client.lines(
        PODS, watch="1", resourceVersion=a["metadata"]["resourceVersion"], timeoutSeconds="1"
    )
    # Marking, then shortening the grace period to 0, then the deletion.
    assert [e["type"] for e in events] == ["MODIFIED", "MODIFIED", "DELETED"]
    assert events[0]["object"]["metadata"]["deletionGracePeriodSeconds"] == 30
    assert events[1]["object"]["metadata"]["deletionGracePeriodSeconds"] == 0


@pytest.mark.parametrize(
    "config", [SimulatorConfig(stream=StreamSettings(bookmark_interval=0.2))], indirect=True
)
async def test_periodic_and_final_bookmarks(sim: Simulator, client: Any) -> None:
    lines = await client.lines(
        PODS,
        watch="1",
        allowWatchBookmarks="true",
        timeoutSeconds="3",
        resourceVersion=str(sim.store.rv),
    )
    assert len(lines) >= 2 and all(e["type"] == "BOOKMARK" for e in lines)
    assert lines[0]["object"] == {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {"resourceVersion": str(sim.store.rv)},
    }


async def test_no_bookmarks_unless_asked(sim: Simulator, client: Any) -> None:
    sim.endpoints.settings = StreamSettings(bookmark_interval=0.1)
    lines = await client.lines(
        PODS, watch="1", timeoutSeconds="1", resourceVersion=str(sim.store.rv)
    )
    assert lines == []


async def test_watchlist_ends_initial_events_with_annotated_bookmark(
    sim: Simulator, client: Any, make_pod: Any
) -> None:
    await client.call("POST", PODS, make_pod("a"))
    events = await client.lines(
        PODS,
        watch="1",
        sendInitialEvents="true",
        resourceVersionMatch="NotOlderThan",
        allowWatchBookmarks="true",
        timeoutSeconds="1",
    )
    assert [e["type"] for e in events] == ["ADDED", "BOOKMARK"]
    mark = events[1]["object"]["metadata"]
    assert mark == {
        "resourceVersion": str(sim.store.rv),
        "annotations": {"k8s.io/initial-events-end": "true"},
    }


async def test_send_initial_events_without_match_is_invalid(sim: Simulator, client: Any) -> None:
    code, body = await client.call("GET", PODS, watch="1", sendInitialEvents="true")
    assert code == 422 and body["reason"] == "Invalid"


async def test_future_rv_skips_events_up_to_it(sim: Simulator, client: Any, make_pod: Any) -> None:
    future = sim.store.rv + 2
    await client.call("POST", PODS, make_pod("a"))
    await client.call("POST", PODS, make_pod("b"))
    await client.call("POST", PODS, make_pod("c"))
    events = await client.lines(PODS, watch="1", resourceVersion=str(future), timeoutSeconds="1")
    assert [_summary(e) for e in events] == [("ADDED", "c")]


async def test_send_initial_events_false_without_rv_starts_now(
    sim: Simulator, client: Any, make_pod: Any
) -> None:
    await client.call("POST", PODS, make_pod("old"))
    params = {"watch": "1", "sendInitialEvents": "false", "resourceVersionMatch": "NotOlderThan"}
    async with stream(sim, PODS, **params) as next_event:
        await client.call("POST", PODS, make_pod("new"))
        assert _summary(await next_event()) == ("ADDED", "new")
