"""--auth=delegated wired into the proxy's application: the identify stage
answers 401/403 itself, later stages see the identity, and the forwarder
carries it upstream (Via)."""

from __future__ import annotations

import argparse
import time
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer, make_mocked_request

from watchcache.auth import Authenticator, Authorizer, Delegation, Identity, Via
from watchcache.proxy.app import ProxyParts, build_app
from watchcache.proxy.config import add_arguments, load_config
from watchcache.proxy.context import REQUEST_CONTEXT, RequestContext
from watchcache.proxy.forward import _as_requester

from .reviews import FakeUpstream

ALICE = {"authenticated": True, "user": {"username": "alice", "groups": ["dev"]}}


def _app(fake: FakeUpstream, *, anonymous: bool = True) -> web.Application:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    config = load_config(parser.parse_args([]), {})

    async def echo(request: web.Request) -> web.StreamResponse:
        identity = request[REQUEST_CONTEXT].identity
        headers, own = _as_requester(request)
        return web.json_response(
            {
                "user": identity.user,
                "groups": list(identity.groups),
                "via": identity.via.value,
                "own_credentials": own,
                "headers": sorted(k for k in headers if k.lower().startswith(("auth", "imp"))),
            }
        )

    delegation = Delegation(Authenticator(fake, anonymous=anonymous), Authorizer(fake))
    return build_app(ProxyParts(config=config, handle=echo, delegation=delegation))


async def _get(app: web.Application, path: str, headers: dict[str, str]) -> tuple[int, Any]:
    async with TestClient(TestServer(app)) as client:
        answer = await client.get(path, headers=headers)
        return answer.status, await answer.json()


async def test_a_token_is_passed_on_as_it_came() -> None:
    code, seen = await _get(
        _app(FakeUpstream(tokens={"t": ALICE})), "/x", {"Authorization": "Bearer t"}
    )
    assert code == 200
    assert seen == {
        "user": "alice",
        "groups": ["dev", "system:authenticated"],
        "via": "token",
        "own_credentials": False,
        "headers": ["Authorization"],
    }


async def test_no_credentials_are_anonymous_with_none_sent_upstream() -> None:
    code, seen = await _get(_app(FakeUpstream()), "/x", {})
    assert code == 200
    assert (seen["user"], seen["via"], seen["own_credentials"]) == (
        "system:anonymous",
        "anonymous",
        False,
    )


@pytest.mark.parametrize(
    ("headers", "anonymous"),
    [({"Authorization": "Bearer wrong"}, True), ({}, False)],
)
async def test_bad_or_missing_credentials_are_401_before_any_handler(
    headers: dict[str, str], anonymous: bool
) -> None:
    code, body = await _get(_app(FakeUpstream(), anonymous=anonymous), "/x", headers)
    assert (code, body) == (
        401,
        {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": "Unauthorized",
            "reason": "Unauthorized",
            "code": 401,
        },
    )


async def test_impersonation_allowed_becomes_the_identity_and_its_headers_go_on() -> None:
    fake = FakeUpstream(tokens={"t": ALICE}, rights={("alice", "impersonate", "users", "", "bob")})
    headers = {"Authorization": "Bearer t", "Impersonate-User": "bob"}
    code, seen = await _get(_app(fake), "/x", headers)
    assert code == 200
    assert (seen["user"], seen["headers"]) == ("bob", ["Authorization", "Impersonate-User"])


async def test_impersonation_refused_is_403_before_any_handler() -> None:
    headers = {"Authorization": "Bearer t", "Impersonate-User": "bob"}
    code, body = await _get(_app(FakeUpstream(tokens={"t": ALICE})), "/x", headers)
    assert code == 403
    assert body["message"] == (
        'users "bob" is forbidden: User "alice" cannot impersonate resource "users" '
        'in API group "" at the cluster scope'
    )


async def test_metrics_need_a_non_resource_get() -> None:
    fake = FakeUpstream(tokens={"t": ALICE})
    code, body = await _get(_app(fake), "/metrics", {"Authorization": "Bearer t"})
    assert code == 403 and body["message"] == 'forbidden: User "alice" cannot get path "/metrics"'
    assert fake.asked[-1]["spec"]["nonResourceAttributes"] == {"path": "/metrics", "verb": "get"}


def test_a_certificate_user_is_impersonated_and_its_own_headers_dropped() -> None:
    request = make_mocked_request(
        "GET",
        "/api/v1/pods",
        headers={
            "Authorization": "Bearer someone-elses",
            "Impersonate-User": "admin",
            "Accept": "application/json",
        },
    )
    carol = Identity("carol", ("readers", "system:authenticated"), True, via=Via.IMPERSONATION)
    request[REQUEST_CONTEXT] = RequestContext("id", carol, time.monotonic())
    headers, own = _as_requester(request)
    assert own
    assert sorted(headers.items()) == [
        ("Accept", "application/json"),
        ("Impersonate-Group", "readers"),
        ("Impersonate-User", "carol"),
    ]


def test_with_auth_none_the_callers_identity_headers_are_dropped() -> None:
    request = make_mocked_request(
        "GET", "/api/v1/pods", headers={"Authorization": "Bearer x", "Impersonate-User": "admin"}
    )
    proxy = Identity("watchcache:proxy-credentials")
    request[REQUEST_CONTEXT] = RequestContext("id", proxy, time.monotonic())
    headers, own = _as_requester(request)
    assert own and not headers
