from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from tests.certificates import issue, make_ca

from watchcache.auth.authenticator import (
    Authenticator,
    Credentials,
    Unauthenticated,
    bearer_token,
)
from watchcache.auth.clientcert import ClientCertificates
from watchcache.auth.identity import Identity, Via

from .reviews import Clock, FakeUpstream
from .test_clientcert import der

ALICE = {
    "authenticated": True,
    "user": {"username": "alice", "uid": "u1", "groups": ["dev"], "extra": {"scopes": ["a"]}},
    "audiences": ["https://kubernetes.default.svc"],
}


def upstream() -> FakeUpstream:
    return FakeUpstream(tokens={"good": ALICE})


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc", "abc"),
        ("bearer abc", "abc"),
        ("  Bearer abc  ", "abc"),
        ("Basic abc", None),
        ("Bearer", None),
        ("Bearer  abc", None),  # kube-apiserver splits on one space: an empty token
        ("", None),
    ],
)
def test_bearer_tokens_are_read_as_kube_apiserver_reads_them(
    header: str, token: str | None
) -> None:
    assert bearer_token(header) == token


def _certificates(tmp_path: Path) -> tuple[ClientCertificates, bytes, bytes]:
    """A verifier trusting one CA; DER certificates of bob (from it) and
    mallory (from another CA)."""
    ca = make_ca(tmp_path)
    verifier = ClientCertificates()
    verifier.load(ca.crt.read_bytes())
    bob = issue(ca, tmp_path, "bob", ("devs", "ops"))
    mallory = issue(make_ca(tmp_path, "other-ca"), tmp_path, "mallory")
    return verifier, der(bob), der(mallory)


async def test_a_client_certificate_names_the_user_by_cn_and_groups_by_o(tmp_path: Path) -> None:
    verifier, bob, _ = _certificates(tmp_path)
    auth = Authenticator(upstream(), certificates=verifier)
    identity = await auth.authenticate(Credentials(certificate=bob))
    assert identity == Identity(
        "bob", ("devs", "ops", "system:authenticated"), delegated=True, via=Via.IMPERSONATION
    )


async def test_an_unverifiable_certificate_is_401_unless_a_token_names_someone(
    tmp_path: Path,
) -> None:
    verifier, _, mallory = _certificates(tmp_path)
    auth = Authenticator(upstream(), certificates=verifier, anonymous=True)
    with pytest.raises(Unauthenticated, match="unknown authority"):
        await auth.authenticate(Credentials(certificate=mallory))  # never anonymous
    found = await auth.authenticate(Credentials(bearer="good", certificate=mallory))
    assert found.user == "alice"
    with pytest.raises(Unauthenticated, match="invalid bearer token"):
        await auth.authenticate(Credentials(bearer="bad", certificate=mallory))


async def test_without_a_client_ca_a_certificate_names_no_one(tmp_path: Path) -> None:
    _, bob, _ = _certificates(tmp_path)
    auth = Authenticator(upstream())
    assert (await auth.authenticate(Credentials(certificate=bob))).user == "system:anonymous"


async def test_a_token_is_reviewed_once_within_the_ttl_then_again() -> None:
    clock = Clock()
    fake = upstream()
    auth = Authenticator(fake, ttl=120, clock=clock)
    first = await auth.authenticate(Credentials(bearer="good"))
    assert first.user == "alice" and first.uid == "u1" and first.via is Via.TOKEN
    assert first.groups == ("dev", "system:authenticated")
    assert first.extra == (("scopes", ("a",)),)
    clock.now += 119
    await auth.authenticate(Credentials(bearer="good"))
    assert len(fake.asked) == 1
    clock.now += 1
    await auth.authenticate(Credentials(bearer="good"))
    assert len(fake.asked) == 2


async def test_a_rejected_token_is_401_and_remembered_but_a_failed_review_is_not() -> None:
    fake = upstream()
    auth = Authenticator(fake)
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            await auth.authenticate(Credentials(bearer="bad"))
    assert len(fake.asked) == 1
    fake.fail = OSError("upstream down")
    for _ in range(2):
        with pytest.raises(Unauthenticated, match="upstream down"):
            await auth.authenticate(Credentials(bearer="good"))
    assert len(fake.asked) == 3
    fake.fail = None
    assert (await auth.authenticate(Credentials(bearer="good"))).user == "alice"


async def test_concurrent_requests_with_one_token_share_one_review() -> None:
    fake = upstream()
    fake.gate = asyncio.Event()
    auth = Authenticator(fake)
    waiting = [asyncio.create_task(auth.authenticate(Credentials(bearer="good"))) for _ in range(5)]
    while not fake.asked:
        await asyncio.sleep(0)
    fake.gate.set()
    users = {(await w).user for w in waiting}
    assert users == {"alice"} and len(fake.asked) == 1


async def test_no_credentials_are_anonymous_or_401() -> None:
    anonymous = await Authenticator(upstream()).authenticate(Credentials())
    assert (anonymous.user, anonymous.groups) == ("system:anonymous", ("system:unauthenticated",))
    assert anonymous.via is Via.ANONYMOUS
    with pytest.raises(Unauthenticated):
        await Authenticator(upstream(), anonymous=False).authenticate(Credentials())


async def test_a_bad_token_is_never_anonymous() -> None:
    with pytest.raises(Unauthenticated):
        await Authenticator(upstream(), anonymous=True).authenticate(Credentials(bearer="bad"))


async def test_a_certificate_wins_over_a_token(tmp_path: Path) -> None:
    fake = upstream()
    verifier, bob, _ = _certificates(tmp_path)
    identity = await Authenticator(fake, certificates=verifier).authenticate(
        Credentials("bad", bob)
    )
    assert identity.user == "bob" and not fake.asked


async def test_audiences_are_asked_for_and_checked() -> None:
    fake = upstream()
    wanted = await Authenticator(fake, audiences=["https://kubernetes.default.svc"]).authenticate(
        Credentials(bearer="good")
    )
    assert wanted.user == "alice"
    assert fake.asked[0]["spec"]["audiences"] == ["https://kubernetes.default.svc"]
    with pytest.raises(Unauthenticated):
        await Authenticator(fake, audiences=["vault"]).authenticate(Credentials(bearer="good"))
