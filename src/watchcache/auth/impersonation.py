"""Impersonation, both ways: a requester's ``Impersonate-*`` headers
honoured only once upstream agrees, and the headers with which the proxy
acts as a requester whose credential it cannot pass on.

Glossary:
    incoming    ``Impersonate-User``, ``-Group`` (repeatable), ``-Uid``,
                ``-Extra-<key>`` (repeatable; the key percent-encoded) sent
                by a requester to act as someone else
    check       one ``impersonate`` SubjectAccessReview per thing
                impersonated, as kube-apiserver's impersonation filter
                makes them: users (or serviceaccounts in their namespace
                for ``system:serviceaccount:<ns>:<name>``), groups,
                userextras/<key> by value, uids
    outgoing    what the forwarder sends for an Identity carried by
                impersonation (a client certificate's user): the proxy's
                own credentials, which must be allowed to impersonate

Invariants: no incoming Impersonate-* header reaches upstream unless every
check allowed it (``impersonate`` raises otherwise, and the request is
refused before anything else); the identity a request is then decided and
forwarded as is the impersonated one.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote, unquote

from multidict import CIMultiDict, MultiMapping

from watchcache.api.status import bad_request
from watchcache.auth.authorizer import AllowAll, Attributes, Authorizer, refusal
from watchcache.auth.identity import (
    ANONYMOUS_USER,
    AUTHENTICATED_GROUP,
    Identity,
    Via,
    extra_of,
)

__all__ = [
    "carries_own_headers",
    "impersonate",
    "impersonation_headers",
    "is_impersonation_header",
]

_USER = "Impersonate-User"
_GROUP = "Impersonate-Group"
_UID = "Impersonate-Uid"
_EXTRA = "Impersonate-Extra-"
_SERVICE_ACCOUNT = "system:serviceaccount:"


def is_impersonation_header(name: str) -> bool:
    return name.lower().startswith("impersonate-")


async def impersonate(
    requester: Identity, headers: MultiMapping[str], authorizer: Authorizer | AllowAll
) -> Identity:
    """The identity a request acts as: ``requester`` itself when it sent no
    Impersonate-* header, else the one it asked for, once every check
    allowed it. Raises the ApiError to answer with otherwise."""
    user = headers.get(_USER, "")
    groups = tuple(headers.getall(_GROUP, ()))
    uid = headers.get(_UID, "")
    extra: dict[str, list[str]] = {}
    for name, value in headers.items():
        if name.lower().startswith(_EXTRA.lower()):
            extra.setdefault(unquote(name[len(_EXTRA) :]).lower(), []).append(value)
    if not (user or groups or uid or extra):
        return requester
    if not user:
        raise bad_request("requested impersonation without impersonating a user")
    for attributes in _checks(user, groups, uid, extra):
        decision = await authorizer.authorize(requester, attributes)
        if not decision.allowed:
            raise refusal(requester, attributes, decision)
    if user != ANONYMOUS_USER and AUTHENTICATED_GROUP not in groups:
        groups = (*groups, AUTHENTICATED_GROUP)
    return Identity(user, groups, delegated=True, uid=uid, extra=extra_of(extra), via=requester.via)


def _checks(
    user: str, groups: tuple[str, ...], uid: str, extra: Mapping[str, list[str]]
) -> list[Attributes]:
    checks = []
    if user.startswith(_SERVICE_ACCOUNT) and user.count(":") == 3:
        namespace, name = user[len(_SERVICE_ACCOUNT) :].split(":")
        checks.append(Attributes("impersonate", "serviceaccounts", namespace=namespace, name=name))
    else:
        checks.append(Attributes("impersonate", "users", name=user))
    checks += [Attributes("impersonate", "groups", name=group) for group in groups]
    if uid:
        checks.append(Attributes("impersonate", "uids", "authentication.k8s.io", name=uid))
    for key, values in extra.items():
        checks += [
            Attributes(
                "impersonate", "userextras", "authentication.k8s.io", subresource=key, name=value
            )
            for value in values
        ]
    return checks


def impersonation_headers(identity: Identity) -> CIMultiDict[str]:
    """The outgoing headers that make the proxy act as ``identity``."""
    headers: CIMultiDict[str] = CIMultiDict()
    headers[_USER] = identity.user
    for group in identity.groups:
        if group != AUTHENTICATED_GROUP:  # upstream adds it itself
            headers.add(_GROUP, group)
    if identity.uid:
        headers[_UID] = identity.uid
    for key, values in identity.extra:
        for value in values:
            headers.add(_EXTRA + quote(key, safe=""), value)
    return headers


def carries_own_headers(identity: Identity) -> bool:
    """Whether a forwarded request keeps the Impersonate-* headers its
    requester sent (they were checked, and upstream checks them again for
    the same credential), rather than the proxy writing its own."""
    return identity.via in (Via.TOKEN, Via.ANONYMOUS)
