"""reads.py through HTTP: which state a LIST shows, pages and tokens."""

from __future__ import annotations

import base64
import json
from typing import Any

from watchcache.simulator import Simulator

PODS = "/api/v1/namespaces/default/pods"


async def _pods(client: Any, make_pod: Any, *names: str, **labels: str) -> list[int]:
    rvs = []
    for name in names:
        _, body = await client.call("POST", PODS, make_pod(name, labels=dict(labels)))
        rvs.append(int(body["metadata"]["resourceVersion"]))
    return rvs


def _names(body: dict[str, Any]) -> list[str]:
    return [item["metadata"]["name"] for item in body["items"]]


def _token(body: dict[str, Any]) -> dict[str, Any]:
    text = body["metadata"]["continue"]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    return decoded


async def test_list_is_key_ordered_with_current_rv(
    client: Any, make_pod: Any, sim: Simulator
) -> None:
    await _pods(client, make_pod, "c", "a", "b")
    code, body = await client.call("GET", PODS)
    assert code == 200 and body["kind"] == "PodList"
    assert _names(body) == ["a", "b", "c"]
    assert body["metadata"]["resourceVersion"] == str(sim.store.rv)
    # Built-in list items carry no kind/apiVersion.
    assert "kind" not in body["items"][0]


async def test_pages_with_continue_and_remaining_count(client: Any, make_pod: Any) -> None:
    await _pods(client, make_pod, "a", "b", "c")
    _, first = await client.call("GET", PODS, limit="2")
    assert _names(first) == ["a", "b"]
    assert first["metadata"]["remainingItemCount"] == 1
    assert _token(first)["start"] == "b\x00"
    _, second = await client.call(
        "GET", PODS, limit="2", **{"continue": first["metadata"]["continue"]}
    )
    assert _names(second) == ["c"]
    assert "continue" not in second["metadata"]


async def test_cluster_wide_token_key_has_namespace(client: Any, make_pod: Any) -> None:
    await _pods(client, make_pod, "a", "b")
    _, first = await client.call("GET", "/api/v1/pods", limit="1")
    assert _token(first) == {
        "v": "meta.k8s.io/v1",
        "rv": int(first["metadata"]["resourceVersion"]),
        "start": "default/a\x00",
    }


async def test_continue_is_consistent_snapshot(client: Any, make_pod: Any) -> None:
    await _pods(client, make_pod, "a", "b", "c")
    _, first = await client.call("GET", PODS, limit="1")
    await client.call("DELETE", PODS + "/b")
    await _pods(client, make_pod, "bb")
    _, rest = await client.call("GET", PODS, **{"continue": first["metadata"]["continue"]})
    assert _names(rest) == ["b", "c"]
    assert rest["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]


async def test_rv_zero_ignores_limit(client: Any, make_pod: Any) -> None:
    await _pods(client, make_pod, "a", "b", "c")
    _, body = await client.call("GET", PODS, limit="1", resourceVersion="0")
    assert _names(body) == ["a", "b", "c"] and "continue" not in body["metadata"]


async def test_exact_rv_shows_old_state(client: Any, make_pod: Any) -> None:
    rvs = await _pods(client, make_pod, "a", "b")
    await client.call("DELETE", PODS + "/a")
    _, body = await client.call(
        "GET", PODS, resourceVersion=str(rvs[0]), resourceVersionMatch="Exact"
    )
    assert _names(body) == ["a"] and body["metadata"]["resourceVersion"] == str(rvs[0])
    _, limited = await client.call("GET", PODS, resourceVersion=str(rvs[1]), limit="5")
    assert _names(limited) == ["a", "b"]


async def test_not_older_than_shows_latest(client: Any, make_pod: Any, sim: Simulator) -> None:
    rvs = await _pods(client, make_pod, "a", "b")
    _, body = await client.call("GET", PODS, resourceVersion=str(rvs[0]))
    assert _names(body) == ["a", "b"] and body["metadata"]["resourceVersion"] == str(sim.store.rv)


async def test_exact_list_older_than_compaction_is_410(
    client: Any, make_pod: Any, sim: Simulator
) -> None:
    rvs = await _pods(client, make_pod, "a", "b")
    sim.faults.compact()
    code, body = await client.call("GET", PODS, resourceVersion=str(rvs[0]), limit="1")
    assert (code, body["reason"]) == (410, "Expired")
    assert body["message"] == "The resourceVersion for the provided list is too old."


async def test_expired_continue_carries_rv_minus_one_token(
    client: Any, make_pod: Any, sim: Simulator
) -> None:
    await _pods(client, make_pod, "a", "b", "c")
    _, first = await client.call("GET", PODS, limit="1")
    await _pods(client, make_pod, "d")
    sim.faults.compact()
    code, body = await client.call(
        "GET", PODS, limit="1", **{"continue": first["metadata"]["continue"]}
    )
    assert code == 410 and body["reason"] == "Expired"
    assert _token(body) == {"v": "meta.k8s.io/v1", "rv": -1, "start": "a\x00"}
    _, rest = await client.call("GET", PODS, **{"continue": body["metadata"]["continue"]})
    assert _names(rest) == ["b", "c", "d"]


async def test_future_rv_times_out_with_504(client: Any, sim: Simulator) -> None:
    sim.endpoints.monotonic = iter([0.0, 10.0, 10.0, 10.0]).__next__
    code, body = await client.call("GET", PODS, resourceVersion=str(sim.store.rv + 100))
    assert code == 504 and body["reason"] == "Timeout"
    assert body["message"].startswith("Timeout: Too large resource version")


async def test_rv_with_continue_is_400(client: Any, make_pod: Any) -> None:
    await _pods(client, make_pod, "a", "b")
    _, first = await client.call("GET", PODS, limit="1")
    code, body = await client.call(
        "GET", PODS, resourceVersion="5", **{"continue": first["metadata"]["continue"]}
    )
    assert code == 400 and body["reason"] == "BadRequest"


async def test_label_and_field_selectors(client: Any, make_pod: Any) -> None:
    await client.call("POST", PODS, make_pod("a", node="n1", labels={"tier": "web"}))
    await client.call("POST", PODS, make_pod("b", node="n2", labels={"tier": "db"}))
    _, by_label = await client.call("GET", PODS, labelSelector="tier in (web)")
    assert _names(by_label) == ["a"]
    _, by_field = await client.call("GET", PODS, fieldSelector="spec.nodeName=n2")
    assert _names(by_field) == ["b"]
    _, defaulted = await client.call(
        "GET", PODS, fieldSelector="spec.schedulerName=default-scheduler"
    )
    assert _names(defaulted) == ["a", "b"]
    code, body = await client.call("GET", PODS, fieldSelector="spec.bogus=x")
    assert code == 400 and body["reason"] == "BadRequest"


async def test_selected_page_has_no_remaining_count(client: Any, make_pod: Any) -> None:
    await _pods(client, make_pod, "a", "b", "c", app="x")
    _, body = await client.call("GET", PODS, limit="1", labelSelector="app=x")
    assert "continue" in body["metadata"] and "remainingItemCount" not in body["metadata"]


async def test_unknown_query_parameters_are_ignored(client: Any, make_pod: Any) -> None:
    await _pods(client, make_pod, "a")
    code, body = await client.call("GET", PODS, whatever="1", shardSelector="x")
    assert code == 200 and _names(body) == ["a"]


async def test_node_list_follows_binding_and_deletion(client: Any, make_pod: Any) -> None:
    await client.call("POST", PODS, make_pod("a"))
    await client.call("POST", PODS, make_pod("b", node="n1"))
    await client.call("POST", "/api/v1/namespaces", {"metadata": {"name": "other"}})
    await client.call("POST", "/api/v1/namespaces/other/pods", make_pod("c", node="n1"))
    await client.call("POST", PODS + "/a/binding", {"target": {"name": "n1"}})
    _, mine = await client.call("GET", PODS, fieldSelector="spec.nodeName=n1")
    assert _names(mine) == ["a", "b"]
    _, everywhere = await client.call(
        "GET", "/api/v1/pods", fieldSelector="spec.nodeName=n1", limit="2"
    )
    assert _names(everywhere) == ["a", "b"] and "remainingItemCount" not in everywhere["metadata"]
    _, rest = await client.call(
        "GET",
        "/api/v1/pods",
        fieldSelector="spec.nodeName=n1",
        **{"continue": everywhere["metadata"]["continue"]},
    )
    assert _names(rest) == ["c"]
    await client.call("DELETE", PODS + "/b", {"gracePeriodSeconds": 0})
    _, after = await client.call("GET", PODS, fieldSelector="spec.nodeName=n1")
    assert _names(after) == ["a"]
    _, unbound = await client.call("GET", PODS, fieldSelector="spec.nodeName=")
    assert _names(unbound) == []


async def test_remaining_count_within_namespace(client: Any, make_pod: Any) -> None:
    await _pods(client, make_pod, "a", "b", "c", "d")
    await client.call("POST", "/api/v1/namespaces", {"metadata": {"name": "zz"}})
    await client.call("POST", "/api/v1/namespaces/zz/pods", make_pod("e"))
    _, first = await client.call("GET", PODS, limit="1")
    assert first["metadata"]["remainingItemCount"] == 3
    _, everywhere = await client.call("GET", "/api/v1/pods", limit="1")
    assert everywhere["metadata"]["remainingItemCount"] == 4


async def test_numbers_of_any_length_are_never_a_server_error(client: Any, make_pod: Any) -> None:
    """Python's int() refuses over 4,300 digits; the simulator (the
    embedded upstream of a bare ``watchcache serve``) once answered those
    with a 500 where they passed validation: zero-padded RVs, a GET's RV, a
    DELETE's gracePeriodSeconds."""
    await _pods(client, make_pod, "a")
    padded = "0" * 5000 + "1"
    for path, params in [
        (PODS, {"resourceVersion": padded, "limit": "1"}),
        (PODS, {"resourceVersion": padded}),
        (PODS + "/a", {"resourceVersion": padded}),
        (PODS + "/a", {"resourceVersion": "9" * 5000}),
        (PODS, {"watch": "1", "resourceVersion": padded, "timeoutSeconds": "1"}),
    ]:
        async with client.session.get(client.url + path, params=params) as r:
            assert r.status == 200, (path, params, await r.text())
    code, body = await client.call("DELETE", PODS + "/a", gracePeriodSeconds="9" * 5000)
    assert (code, body["reason"]) == (400, "BadRequest")
    assert body["message"].endswith(": value out of range")
