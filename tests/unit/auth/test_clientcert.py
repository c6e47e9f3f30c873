"""Client certificates verified per request, as kube-apiserver's x509
authenticator: trusted, expired, not yet valid, for another use, from
another CA, from an expired CA."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from tests.certificates import Issued, issue, make_ca

from watchcache.auth.clientcert import (
    ClientCertificates,
    UnverifiedCertificate,
    certificate_identity,
)
from watchcache.auth.identity import Identity, Via

DAY = datetime.timedelta(days=1)


def der(issued: Issued) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding

    return x509.load_pem_x509_certificate(issued.crt.read_bytes()).public_bytes(Encoding.DER)


def trusting(*cas: Issued) -> ClientCertificates:
    verifier = ClientCertificates()
    verifier.load(b"".join(ca.crt.read_bytes() for ca in cas))
    return verifier


def test_a_certificate_of_the_client_ca_names_its_cn_and_os(tmp_path: Path) -> None:
    ca = make_ca(tmp_path)
    bob = issue(ca, tmp_path, "bob", ("devs", "ops"))
    assert trusting(ca).identify(der(bob)) == Identity(
        "bob", ("devs", "ops", "system:authenticated"), delegated=True, via=Via.IMPERSONATION
    )


@pytest.mark.parametrize(
    ("valid", "usage", "why"),
    [
        ((-2 * DAY, -DAY), None, "expired"),
        ((DAY, 2 * DAY), None, "not yet valid"),
        (None, ExtendedKeyUsageOID.SERVER_AUTH, "incompatible key usage"),
    ],
)
def test_an_unusable_certificate_of_the_client_ca_names_no_one(
    tmp_path: Path,
    valid: tuple[datetime.timedelta, datetime.timedelta] | None,
    usage: x509.ObjectIdentifier | None,
    why: str,
) -> None:
    ca = make_ca(tmp_path)
    bad = issue(ca, tmp_path, "bob", valid=valid, usage=usage)
    with pytest.raises(UnverifiedCertificate, match=why):
        trusting(ca).identify(der(bad))


def test_any_extended_key_usage_allows_client_authentication(tmp_path: Path) -> None:
    ca = make_ca(tmp_path)
    anything = issue(ca, tmp_path, "bob", usage=ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE)
    assert trusting(ca).identify(der(anything)) is not None


def test_a_certificate_of_another_ca_names_no_one(tmp_path: Path) -> None:
    ca, other = make_ca(tmp_path), make_ca(tmp_path, "other-ca")
    mallory = issue(other, tmp_path, "mallory", ("system:masters",))
    with pytest.raises(UnverifiedCertificate, match="unknown authority"):
        trusting(ca).identify(der(mallory))
    # Another CA of the same name does not pass for it: the signature decides.
    impostor = make_ca(tmp_path / "..", "test-ca")
    forged = issue(impostor, tmp_path, "forged")
    with pytest.raises(UnverifiedCertificate, match="unknown authority"):
        trusting(ca).identify(der(forged))
    assert trusting(ca, other).identify(der(mallory)) is not None


def test_a_certificate_is_not_trusted_past_its_cas_validity(tmp_path: Path) -> None:
    ca = make_ca(tmp_path)
    bob = issue(ca, tmp_path, "bob")
    later = datetime.datetime.now(datetime.UTC) + 3 * DAY
    verifier = ClientCertificates(clock=lambda: later)
    verifier.load(ca.crt.read_bytes())
    with pytest.raises(UnverifiedCertificate, match="expired"):
        verifier.identify(der(bob))


def test_loading_replaces_what_was_trusted(tmp_path: Path) -> None:
    old, new = make_ca(tmp_path, "old-ca"), make_ca(tmp_path, "new-ca")
    alice = issue(old, tmp_path, "alice")
    verifier = trusting(old)
    assert verifier.identify(der(alice)) is not None
    verifier.load(new.crt.read_bytes())
    with pytest.raises(UnverifiedCertificate):
        verifier.identify(der(alice))


def test_garbage_names_no_one() -> None:
    with pytest.raises(UnverifiedCertificate, match="malformed"):
        ClientCertificates().identify(b"\x30\x03\x02\x01\x01")


def test_a_certificate_without_a_cn_names_no_user(tmp_path: Path) -> None:
    ca = make_ca(tmp_path)
    nameless = issue(ca, tmp_path, "", ("devs",))
    assert trusting(ca).identify(der(nameless)) is None
    assert certificate_identity(x509.load_pem_x509_certificate(nameless.crt.read_bytes())) is None
