"""Client certificates, verified here rather than in the TLS handshake, as
kube-apiserver's x509 authenticator verifies them.

Glossary:
    authorities   the certificates of ``--client-ca-file``, loaded by the
                  serving TLS (serving.py) at start and at every reload
    presented     the DER certificate a client sent in the handshake. The
                  handshake accepts any (serving.py), having checked only
                  that the client holds its key; nothing about it is
                  believed until ``identify`` verified it

Why not in the handshake: kube-apiserver requests a client certificate but
does not require a trusted one (Go's ``VerifyClientCertIfGiven`` is not
what it uses; its x509 authenticator verifies the chain per request), so a
certificate from an unknown CA, an expired one, or one not for client
authentication gets a 401 Status, not a failed handshake. Python's ssl
cannot verify "if given" in that way, so the handshake accepts every
certificate and this module decides.

What is checked, as Go's ``x509.Verify`` with ``ExtKeyUsageClientAuth``:
the certificate is inside its validity period; its extended key usage, if
it has one, allows client authentication (or any use); it is one of the
authorities, or signed by one (name and signature) that is itself inside
its validity period. Limit: Python 3.11's ssl gives the leaf only, not the
intermediates a client sends after it, so a certificate must be issued
directly by a certificate in ``--client-ca-file`` (put an intermediate CA
there to trust what it issues).

Who it names: user = the subject's CommonName (the last one, as Go's
``pkix.Name``), groups = its Organization values in order; a verified
certificate with no CommonName names no one (the next authenticator
decides).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from watchcache.auth.identity import AUTHENTICATED_GROUP, Identity, Via

__all__ = ["ClientCertificates", "UnverifiedCertificate", "certificate_identity"]


class UnverifiedCertificate(Exception):
    """A presented certificate that names no one; the message says why
    (Go's words, for the log)."""


def _utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class ClientCertificates:
    def __init__(self, clock: Callable[[], datetime.datetime] = _utc_now) -> None:
        self._clock = clock
        self.authorities: tuple[x509.Certificate, ...] = ()

    def __repr__(self) -> str:
        return f"<ClientCertificates authorities={len(self.authorities)}>"

    def load(self, pem: bytes) -> None:
        """Trust the certificates of this PEM bundle, and only those."""
        self.authorities = tuple(x509.load_pem_x509_certificates(pem))

    def identify(self, der: bytes) -> Identity | None:
        """Who a presented certificate names once verified; None when it
        names no user. Raises UnverifiedCertificate otherwise."""
        try:
            certificate = x509.load_der_x509_certificate(der)
        except ValueError as err:
            raise UnverifiedCertificate(f"x509: malformed certificate: {err}") from None
        now = self._clock()
        if not _current(certificate, now):
            raise UnverifiedCertificate("x509: certificate has expired or is not yet valid")
        if not _for_client_auth(certificate):
            raise UnverifiedCertificate("x509: certificate specifies an incompatible key usage")
        if not any(_issued(certificate, by, now) for by in self.authorities):
            raise UnverifiedCertificate("x509: certificate signed by unknown authority")
        return certificate_identity(certificate)


def _current(certificate: x509.Certificate, now: datetime.datetime) -> bool:
    return certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc


def _for_client_auth(certificate: x509.Certificate) -> bool:
    try:
        usage = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return True  # Go: no extended key usage means any
    return (
        ExtendedKeyUsageOID.CLIENT_AUTH in usage
        or ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE in usage
    )


def _issued(
    certificate: x509.Certificate, authority: x509.Certificate, now: datetime.datetime
) -> bool:
    if certificate == authority:
        return True
    if not _current(authority, now):
        return False
    try:
        certificate.verify_directly_issued_by(authority)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def certificate_identity(certificate: x509.Certificate) -> Identity | None:
    """user = the subject's CN, groups = its O values, in order."""
    subject = certificate.subject
    names = [str(a.value) for a in subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    if not names or not names[-1]:
        return None
    groups = [str(a.value) for a in subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    if AUTHENTICATED_GROUP not in groups:
        groups.append(AUTHENTICATED_GROUP)
    return Identity(names[-1], tuple(groups), delegated=True, via=Via.IMPERSONATION)
