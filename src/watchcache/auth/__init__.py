"""Authentication, authorization and serving security for ``watchcache serve``.

    identity.py       Identity (who a request acts as) and Via (how upstream
                      is told)
    authenticator.py  client certificates, bearer tokens by TokenReview,
                      anonymous; a bounded cache of reviews
    clientcert.py     client certificates verified against the client CA
                      (validity, client-auth usage, signature) per request
    authorizer.py     Attributes, Decision, SubjectAccessReview with a
                      bounded cache; kube-apiserver's 403 text
    impersonation.py  Impersonate-* headers checked, and written for
                      client-certificate users
    delegation.py     the one call the proxy's identify stage makes
    serving.py        TLS with reload, a self-signed default, the Host
                      allow-list of plain HTTP
    ttlcache.py       the bounded, expiring cache both reviews use

This package depends on ``watchcache.api`` and aiohttp only; the proxy
wires it (proxy/context.py, proxy/forward.py, proxy/reads.py, proxy/server.py).
"""

from watchcache.auth.authenticator import Authenticator, Credentials, Unauthenticated
from watchcache.auth.authorizer import AllowAll, Attributes, Authorizer, Decision, refusal
from watchcache.auth.clientcert import ClientCertificates
from watchcache.auth.delegation import Delegation
from watchcache.auth.identity import Identity, Via
from watchcache.auth.impersonation import (
    carries_own_headers,
    impersonation_headers,
    is_impersonation_header,
)
from watchcache.auth.serving import ServingTLS, host_filter, self_signed

__all__ = [
    "AllowAll",
    "Attributes",
    "Authenticator",
    "Authorizer",
    "ClientCertificates",
    "Credentials",
    "Decision",
    "Delegation",
    "Identity",
    "ServingTLS",
    "Unauthenticated",
    "Via",
    "carries_own_headers",
    "host_filter",
    "impersonation_headers",
    "is_impersonation_header",
    "refusal",
    "self_signed",
]
