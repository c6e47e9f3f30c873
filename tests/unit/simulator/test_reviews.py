"""reviews.py: access reviews are answered, never stored."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from watchcache.simulator import Simulator, SimulatorConfig

SSAR = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
SSRR = "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews"
LIST_PODS = {"spec": {"resourceAttributes": {"verb": "list", "resource": "pods"}}}


async def test_access_review_is_allowed_and_not_stored(client: Any, sim: Simulator) -> None:
    before = sim.store.rv
    code, body = await client.call("POST", SSAR, LIST_PODS)
    assert code == 201, body
    assert body["kind"] == "SelfSubjectAccessReview"
    assert body["apiVersion"] == "authorization.k8s.io/v1"
    assert body["spec"] == LIST_PODS["spec"]
    assert body["status"] == {"allowed": True}
    assert sim.store.rv == before
    assert sim.store.find("authorization.k8s.io", "selfsubjectaccessreviews") is None


async def test_access_review_needs_exactly_one_kind_of_attributes(client: Any) -> None:
    code, body = await client.call("POST", SSAR, {"spec": {}})
    assert code == 422
    assert body["details"]["group"] == "authorization.k8s.io"
    assert "exactly one of" in body["message"]


async def test_rules_review_lists_everything(client: Any) -> None:
    code, body = await client.call("POST", SSRR, {"spec": {"namespace": "default"}})
    assert code == 201
    assert body["status"]["resourceRules"] == [
        {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}
    ]


async def test_reviews_are_create_only(client: Any) -> None:
    code, _ = await client.call("GET", SSAR)
    assert code == 405


@pytest.mark.parametrize(
    "config", [SimulatorConfig(tokens={"admin": True, "nobody": False})], indirect=True
)
async def test_a_user_without_rights_is_told_no(sim: Simulator) -> None:
    async with aiohttp.ClientSession(headers={"Authorization": "Bearer nobody"}) as http:
        async with http.post(sim.url + SSAR, json=LIST_PODS) as r:
            assert r.status == 201
            assert (await r.json())["status"]["allowed"] is False
        async with http.get(sim.url + "/api/v1/pods") as r:
            assert r.status == 403
