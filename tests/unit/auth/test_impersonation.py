from __future__ import annotations

import pytest
from multidict import CIMultiDict

from watchcache.api.status import ApiError
from watchcache.auth.authorizer import Authorizer
from watchcache.auth.identity import Identity, Via
from watchcache.auth.impersonation import impersonate, impersonation_headers

from .reviews import FakeUpstream

ADMIN = Identity("admin", ("system:masters",), delegated=True, via=Via.TOKEN)


async def test_no_impersonation_headers_is_the_requester_itself() -> None:
    fake = FakeUpstream()
    assert await impersonate(ADMIN, CIMultiDict(), Authorizer(fake)) is ADMIN
    assert not fake.asked


async def test_each_thing_impersonated_is_reviewed() -> None:
    fake = FakeUpstream(
        rights={
            ("admin", "impersonate", "users", "", "bob"),
            ("admin", "impersonate", "groups", "", "dev"),
            ("admin", "impersonate", "userextras", "", "a"),
        }
    )
    headers = CIMultiDict(
        [
            ("Impersonate-User", "bob"),
            ("Impersonate-Group", "dev"),
            ("Impersonate-Extra-Scopes", "a"),
        ]
    )
    identity = await impersonate(ADMIN, headers, Authorizer(fake))
    assert identity == Identity(
        "bob",
        ("dev", "system:authenticated"),
        delegated=True,
        extra=(("scopes", ("a",)),),
        via=Via.TOKEN,
    )
    resources = [r["spec"]["resourceAttributes"]["resource"] for r in fake.asked]
    assert resources == ["users", "groups", "userextras"]
    assert fake.asked[2]["spec"]["resourceAttributes"]["subresource"] == "scopes"


async def test_a_refused_impersonation_is_kube_apiservers_403() -> None:
    fake = FakeUpstream()
    nobody = Identity("nobody", delegated=True, via=Via.TOKEN)
    with pytest.raises(ApiError) as refused:
        await impersonate(nobody, CIMultiDict({"Impersonate-User": "admin"}), Authorizer(fake))
    assert refused.value.code == 403
    assert refused.value.message == (
        'users "admin" is forbidden: User "nobody" cannot impersonate resource "users" '
        'in API group "" at the cluster scope'
    )


async def test_a_service_account_is_impersonated_in_its_namespace() -> None:
    fake = FakeUpstream(rights={("admin", "impersonate", "serviceaccounts", "web", "default")})
    headers = CIMultiDict({"Impersonate-User": "system:serviceaccount:web:default"})
    identity = await impersonate(ADMIN, headers, Authorizer(fake))
    assert identity.user == "system:serviceaccount:web:default"


async def test_groups_without_a_user_are_refused() -> None:
    with pytest.raises(ApiError) as refused:
        await impersonate(
            ADMIN, CIMultiDict({"Impersonate-Group": "x"}), Authorizer(FakeUpstream())
        )
    assert refused.value.code == 400


def test_outgoing_headers_name_the_identity() -> None:
    who = Identity("carol", ("devs", "ops", "system:authenticated"), extra=(("a/b", ("1", "2")),))
    headers = impersonation_headers(who)
    assert headers.getall("Impersonate-User") == ["carol"]
    assert headers.getall("Impersonate-Group") == ["devs", "ops"]
    assert headers.getall("Impersonate-Extra-a%2Fb") == ["1", "2"]
    assert "Impersonate-Uid" not in headers
