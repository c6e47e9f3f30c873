from __future__ import annotations

import asyncio

import pytest

from watchcache.api.resources import parse_path
from watchcache.auth.authorizer import Attributes, Authorizer, Decision, read_attributes, refusal
from watchcache.auth.identity import Identity, Via

from .reviews import Clock, FakeUpstream

NOBODY = Identity("nobody", ("system:authenticated",), delegated=True, via=Via.TOKEN)
LIST_PODS = Attributes("list", "pods", "", "v1", namespace="web")


async def test_allowed_is_remembered_5_minutes_denied_30_seconds() -> None:
    clock = Clock()
    fake = FakeUpstream(rights={("nobody", "list", "pods", "web", "")})
    authorizer = Authorizer(fake, clock=clock)
    denied = Attributes("list", "pods", "", "v1", namespace="kube-system")
    assert (await authorizer.authorize(NOBODY, LIST_PODS)).allowed
    assert not (await authorizer.authorize(NOBODY, denied)).allowed
    clock.now += 29
    await authorizer.authorize(NOBODY, LIST_PODS)
    await authorizer.authorize(NOBODY, denied)
    assert len(fake.asked) == 2
    clock.now += 1  # 30 s: the denial is asked again, the allowance is not
    await authorizer.authorize(NOBODY, denied)
    await authorizer.authorize(NOBODY, LIST_PODS)
    assert len(fake.asked) == 3
    clock.now += 270  # 300 s
    await authorizer.authorize(NOBODY, LIST_PODS)
    assert len(fake.asked) == 4


async def test_a_decision_is_per_user_and_attributes_not_per_credential() -> None:
    fake = FakeUpstream(rights={("nobody", "list", "pods", "web", "")})
    authorizer = Authorizer(fake)
    await authorizer.authorize(NOBODY, LIST_PODS)
    as_cert = Identity(NOBODY.user, NOBODY.groups, delegated=True, via=Via.IMPERSONATION)
    await authorizer.authorize(as_cert, LIST_PODS)
    assert len(fake.asked) == 1
    other_groups = Identity("nobody", ("system:authenticated", "admins"), delegated=True)
    await authorizer.authorize(other_groups, LIST_PODS)
    assert len(fake.asked) == 2


async def test_the_review_carries_the_user_and_the_attributes() -> None:
    fake = FakeUpstream()
    who = Identity("alice", ("dev",), delegated=True, uid="u1", extra=(("scopes", ("a", "b")),))
    watch = Attributes(
        "watch", "deployments", "apps", "v1", namespace="web", name="shop", label_selector="x=1"
    )
    await Authorizer(fake).authorize(who, watch)
    spec = fake.asked[0]["spec"]
    assert spec == {
        "resourceAttributes": {
            "verb": "watch",
            "group": "apps",
            "version": "v1",
            "resource": "deployments",
            "namespace": "web",
            "name": "shop",
            "labelSelector": {"rawSelector": "x=1"},
        },
        "user": "alice",
        "groups": ["dev"],
        "uid": "u1",
        "extra": {"scopes": ["a", "b"]},
    }


async def test_a_failed_review_is_500_and_not_remembered() -> None:
    fake = FakeUpstream(fail=OSError("down"))
    authorizer = Authorizer(fake)
    decision = await authorizer.authorize(NOBODY, LIST_PODS)
    assert decision.error and not decision.allowed
    assert refusal(NOBODY, LIST_PODS, decision).code == 500
    fake.fail = None
    fake.rights.add(("nobody", "list", "pods", "web", ""))
    assert (await authorizer.authorize(NOBODY, LIST_PODS)).allowed


async def test_concurrent_reads_share_one_review() -> None:
    fake = FakeUpstream(gate=asyncio.Event())
    authorizer = Authorizer(fake)
    waiting = [asyncio.create_task(authorizer.authorize(NOBODY, LIST_PODS)) for _ in range(4)]
    while not fake.asked:
        await asyncio.sleep(0)
    fake.gate.set()
    assert [(await w).allowed for w in waiting] == [False] * 4
    assert len(fake.asked) == 1


# kube-apiserver 1.20's answers, as tests/e2e/test_proxy_auth.py sees them.
@pytest.mark.parametrize(
    ("attributes", "message", "details"),
    [
        (
            LIST_PODS,
            'pods is forbidden: User "nobody" cannot list resource "pods" in API group "" '
            'in the namespace "web"',
            {"kind": "pods"},
        ),
        (
            Attributes("get", "secrets", "", "v1", namespace="web", name="s"),
            'secrets "s" is forbidden: User "nobody" cannot get resource "secrets" in API '
            'group "" in the namespace "web"',
            {"name": "s", "kind": "secrets"},
        ),
        (
            Attributes("watch", "deployments", "apps", "v1"),
            'deployments.apps is forbidden: User "nobody" cannot watch resource "deployments" '
            'in API group "apps" at the cluster scope',
            {"group": "apps", "kind": "deployments"},
        ),
        (
            Attributes("get", path="/metrics"),
            'forbidden: User "nobody" cannot get path "/metrics"',
            {},
        ),
    ],
)
def test_refusals_are_kube_apiservers(
    attributes: Attributes, message: str, details: dict[str, str]
) -> None:
    error = refusal(NOBODY, attributes, Decision(False))
    assert error.status() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": "Forbidden",
        "details": details,
        "code": 403,
    }


def test_the_authorizers_reason_follows_the_sentence() -> None:
    decision = Decision(False, reason='RBAC: clusterrole.rbac.authorization.k8s.io "x" not found')
    assert refusal(NOBODY, LIST_PODS, decision).message.endswith(
        'in the namespace "web": RBAC: clusterrole.rbac.authorization.k8s.io "x" not found'
    )


@pytest.mark.parametrize(
    ("path", "verb", "query", "namespace", "name"),
    [
        ("/api/v1/namespaces/web/pods", "list", {}, "web", ""),
        ("/api/v1/namespaces/web/pods/a", "get", {}, "web", "a"),
        ("/api/v1/namespaces/web", "get", {}, "web", "web"),
        ("/api/v1/pods", "watch", {"fieldSelector": "metadata.name=a"}, "", "a"),
        ("/api/v1/pods", "list", {"fieldSelector": "metadata.name==a,status.phase=x"}, "", "a"),
        ("/api/v1/pods", "list", {"fieldSelector": "metadata.name!=a"}, "", ""),
        ("/api/v1/pods", "list", {"fieldSelector": "metadata.name=a/b"}, "", ""),
        ("/api/v1/pods", "list", {"fieldSelector": "(("}, "", ""),
    ],
)
def test_read_attributes_are_kube_apiservers_request_info(
    path: str, verb: str, query: dict[str, str], namespace: str, name: str
) -> None:
    where = parse_path(path)
    assert where is not None
    attributes = read_attributes(where, verb, query)
    assert (attributes.namespace, attributes.name, attributes.verb) == (namespace, name, verb)
