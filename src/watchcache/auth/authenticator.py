"""Authentication: who sent a request, decided as kube-apiserver would.

Glossary:
    credentials     what a request presents: a client certificate (as the
                    handshake got it, unverified: clientcert.py verifies it
                    against ``--client-ca-file``) and/or an
                    ``Authorization: Bearer`` token
    TokenReview     ``POST /apis/authentication.k8s.io/v1/tokenreviews``
                    to upstream: kube-apiserver says whose token it is (a
                    user's, a service account's, a bootstrap token's),
                    with the audiences it was checked against
    reviewer        what sends the reviews: the write upstream's client
                    (``UpstreamClient.request``), injected

The order is kube-apiserver's union of authenticators: a verified client
certificate wins (user = subject CN, groups = its O values); otherwise a
bearer token is reviewed (a rejected or unreviewable token is 401, never
anonymous); otherwise, with anonymous on, ``system:anonymous`` in
``system:unauthenticated``, and 401 with it off. A certificate that
cannot be verified (unknown CA, expired, not for client authentication)
does not stop a good token, but without one it is 401, never anonymous
(kube-apiserver's union goes on past an authenticator's error, and its
anonymous fallback is taken only when none failed). Every authenticated
user is also in ``system:authenticated``.

Cache (kube-apiserver's webhook token authenticator's): a token's review
is reused for ``ttl`` (2 minutes by default), keyed by the SHA-256 of the
token and the audiences asked for, whether it accepted or rejected the
token; a review that failed (upstream unreachable, an answer that is not
a TokenReview) is not remembered. At most ``max_entries`` tokens are
remembered: when full, the least recently used is forgotten
(ttlcache.py). Concurrent requests with the same unknown token share one
review.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import msgspec

from watchcache.auth.clientcert import ClientCertificates, UnverifiedCertificate
from watchcache.auth.identity import AUTHENTICATED_GROUP, Identity, Via, anonymous, extra_of
from watchcache.auth.ttlcache import TTLCache

__all__ = [
    "TOKEN_REVIEWS",
    "Authenticator",
    "Credentials",
    "Reviewer",
    "Unauthenticated",
    "bearer_token",
]

log = logging.getLogger(__name__)

TOKEN_REVIEWS = "/apis/authentication.k8s.io/v1/tokenreviews"
# Tokens remembered at most (kube-apiserver's own token cache is not
# bounded; a proxy facing many clients must be).
MAX_TOKENS = 8192


class Unauthenticated(Exception):
    """The request gets 401; the message says why, for the log only (the
    client sees kube-apiserver's bare "Unauthorized")."""


class Reviewer(Protocol):
    async def request(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        body: bytes | None = None,
        content_type: str = "application/json",
    ) -> Any: ...


@dataclass(frozen=True)
class Credentials:
    bearer: str | None = None
    # The client certificate as presented (DER), not yet verified.
    certificate: bytes | None = None

    def __repr__(self) -> str:
        return (
            f"<Credentials bearer={'yes' if self.bearer else 'no'} cert={bool(self.certificate)}>"
        )


def bearer_token(authorization: str) -> str | None:
    """The token of ``Authorization: Bearer <token>`` as kube-apiserver's
    bearertoken authenticator reads it (scheme in any case); None for
    another scheme or an empty token, which then count as no token."""
    parts = authorization.strip().split(" ", 2)
    if len(parts) < 2 or parts[0].lower() != "bearer" or not parts[1]:
        return None
    return parts[1]


def _with_authenticated(groups: Sequence[str]) -> tuple[str, ...]:
    return tuple(groups) if AUTHENTICATED_GROUP in groups else (*groups, AUTHENTICATED_GROUP)


@dataclass(frozen=True)
class _Answer:
    """A review's outcome: the token's identity, or None when rejected."""

    identity: Identity | None


class Authenticator:
    def __init__(
        self,
        reviewer: Reviewer,
        *,
        anonymous: bool = True,
        audiences: Sequence[str] = (),
        ttl: float = 120.0,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = MAX_TOKENS,
        certificates: ClientCertificates | None = None,
    ) -> None:
        self._reviewer = reviewer
        # --client-ca-file's verifier; None: certificates name no one.
        self.certificates = certificates
        self.anonymous = anonymous
        self.audiences = tuple(audiences)
        self.ttl = ttl
        self._cache: TTLCache[_Answer] = TTLCache(max_entries, clock)
        # Reviews in flight, so concurrent requests with one token share one;
        # at most one per request in flight, so bounded by the connections.
        self._reviewing: dict[bytes, asyncio.Future[_Answer]] = {}
        self.reviews = 0

    def __repr__(self) -> str:
        return f"<Authenticator anonymous={self.anonymous} cache={self._cache!r}>"

    async def authenticate(self, credentials: Credentials) -> Identity:
        failure = None
        if credentials.certificate and self.certificates is not None:
            try:
                identity = self.certificates.identify(credentials.certificate)
            except UnverifiedCertificate as err:
                failure = Unauthenticated(f"client certificate: {err}")
            else:
                if identity is not None:
                    return identity
        if credentials.bearer:
            found = await self._token(credentials.bearer)
            if found is None:
                raise Unauthenticated("invalid bearer token")
            return found
        if failure is not None:
            raise failure
        if self.anonymous:
            return anonymous()
        raise Unauthenticated("no credentials, and anonymous requests are off")

    async def _token(self, token: str) -> Identity | None:
        key = hashlib.sha256("\0".join((token, *self.audiences)).encode()).digest()
        cached = self._cache.get(key)
        if cached is not None:
            return cached.identity
        pending = self._reviewing.get(key)
        if pending is not None:
            return (await asyncio.shield(pending)).identity
        future: asyncio.Future[_Answer] = asyncio.get_running_loop().create_future()
        self._reviewing[key] = future
        try:
            answer = _Answer(await self._review(token))
        except BaseException as err:
            # Those waiting on this review fail too (a cancelled review
            # included); nothing is remembered.
            failure = Unauthenticated(f"the TokenReview failed: {err!r}")
            future.set_exception(failure)
            future.exception()  # marked retrieved: there may be no one else waiting
            if isinstance(err, Exception):
                raise failure from err
            raise
        finally:
            del self._reviewing[key]
        self._cache.put(key, answer, self.ttl)
        future.set_result(answer)
        return answer.identity

    async def _review(self, token: str) -> Identity | None:
        self.reviews += 1
        spec: dict[str, Any] = {"token": token}
        if self.audiences:
            spec["audiences"] = list(self.audiences)
        review = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenReview",
            "spec": spec,
        }
        answer = await self._reviewer.request(
            "POST", TOKEN_REVIEWS, body=msgspec.json.encode(review)
        )
        status = answer.json().get("status") or {}
        if not status.get("authenticated"):
            if status.get("error"):
                log.debug("token rejected: %s", status["error"])
            return None
        if self.audiences and not set(status.get("audiences") or ()) & set(self.audiences):
            return None
        user = status.get("user") or {}
        if not user.get("username"):
            return None  # an answer naming no user is taken as a refusal
        return Identity(
            user.get("username", ""),
            _with_authenticated(user.get("groups") or ()),
            delegated=True,
            uid=user.get("uid", ""),
            extra=extra_of(user.get("extra")),
            via=Via.TOKEN,
        )
