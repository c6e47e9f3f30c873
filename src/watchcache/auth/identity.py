"""Who a request acts as, and how the proxy acts as them upstream.

Glossary:
    Identity    the user a request is decided as: name, uid, groups, extra,
                as kube-apiserver's ``user.Info``. The authorizer asks
                about it; the forwarder acts as it.
    Via         how a forwarded request carries the identity upstream:
                PROXY         the proxy's own credentials (``--auth=none``:
                              everyone is the proxy, as with kubectl proxy)
                TOKEN         the requester's own Authorization header,
                              passed on unchanged (with the Impersonate-*
                              headers it sent, once checked here)
                IMPERSONATION the proxy's credentials with Impersonate-*
                              headers naming the identity (a client
                              certificate: its key never reaches upstream)
                ANONYMOUS     no credentials at all, so upstream sees
                              system:anonymous exactly as we did

Invariant: an Identity is immutable and hashable (extra is a sorted tuple
of pairs), so it can key the authorizer's cache.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = [
    "ANONYMOUS_GROUP",
    "ANONYMOUS_USER",
    "AUTHENTICATED_GROUP",
    "Extra",
    "Identity",
    "Via",
    "anonymous",
    "extra_of",
]

ANONYMOUS_USER = "system:anonymous"
ANONYMOUS_GROUP = "system:unauthenticated"
AUTHENTICATED_GROUP = "system:authenticated"

# user.Info's extra: key -> values, as sorted pairs so it hashes.
Extra = tuple[tuple[str, tuple[str, ...]], ...]


class Via(enum.Enum):
    PROXY = "proxy"
    TOKEN = "token"
    IMPERSONATION = "impersonation"
    ANONYMOUS = "anonymous"


@dataclass(frozen=True)
class Identity:
    """The user a request acts as. ``delegated`` is False while the proxy
    acts with its own credentials for everyone (``via`` PROXY)."""

    user: str
    groups: tuple[str, ...] = ()
    delegated: bool = False
    uid: str = ""
    extra: Extra = ()
    via: Via = Via.PROXY


def extra_of(values: Mapping[str, Iterable[str]] | None) -> Extra:
    """user.Info's extra map as an Identity holds it."""
    return tuple(sorted((key, tuple(v)) for key, v in (values or {}).items()))


def anonymous() -> Identity:
    """kube-apiserver's anonymous user (anonymous/anonymous.go)."""
    return Identity(ANONYMOUS_USER, (ANONYMOUS_GROUP,), delegated=True, via=Via.ANONYMOUS)
