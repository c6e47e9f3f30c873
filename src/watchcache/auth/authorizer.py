"""Authorization of what the proxy answers itself: SubjectAccessReview.

Glossary:
    Attributes      what a request asks to do, as kube-apiserver's
                    authorizer.Attributes: verb (get, list, watch, ...),
                    API group and version, resource, subresource, namespace
                    ("" at cluster scope), name ("" for a collection), the
                    label and field selectors (attributes since 1.31; older
                    servers ignore them), or for a non-resource request
                    its path
    Decision        allowed or not, with the authorizer's reason, or an
                    error when no review could be made
    SAR             ``POST /apis/authorization.k8s.io/v1/subjectaccessreviews``
                    to upstream, asking about the requester and the
                    attributes; upstream's own authorizers (RBAC, webhooks,
                    Node) decide

Only reads answered from the cache are authorized here: everything
forwarded is made as the requester, and upstream decides it.

Cache (kube-apiserver's webhook authorizer's): a decision is reused for
the same identity (user, uid, groups, extra) and the same attributes,
``allowed_ttl`` (5 minutes) when allowed and ``denied_ttl`` (30 s) when
not; a review that failed is not remembered (the request gets 500, as
kube-apiserver answers an authorizer error). At most ``max_entries``
decisions are remembered: when full the least recently used is
forgotten. Concurrent requests with the same key share one review.

The 403 is kube-apiserver's word for word (``refusal``):
``<resource>[ "<name>"] is forbidden: User "<user>" cannot <verb> resource
"<resource>[/<subresource>]" in API group "<group>" in the namespace
"<ns>"`` (or ``at the cluster scope``), with ``: <reason>`` after it when
the authorizer gave one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from watchcache.api.resources import RequestPath
from watchcache.api.selectors import FieldSelector
from watchcache.api.status import ApiError, forbidden, internal_error
from watchcache.auth.authenticator import Reviewer
from watchcache.auth.identity import Identity
from watchcache.auth.ttlcache import TTLCache

__all__ = [
    "SUBJECT_ACCESS_REVIEWS",
    "AllowAll",
    "Attributes",
    "Authorizer",
    "Decision",
    "forbidden_reason",
    "read_attributes",
    "refusal",
]

log = logging.getLogger(__name__)

SUBJECT_ACCESS_REVIEWS = "/apis/authorization.k8s.io/v1/subjectaccessreviews"
# kube-apiserver's webhook authorizer keeps 8192 decisions (an LRU).
MAX_DECISIONS = 8192


@dataclass(frozen=True)
class Attributes:
    verb: str
    resource: str = ""
    group: str = ""
    version: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    label_selector: str = ""
    field_selector: str = ""
    # A non-resource request (``resource`` empty): its path, e.g. /metrics.
    path: str = ""

    def review_spec(self) -> dict[str, Any]:
        if not self.resource:
            return {"nonResourceAttributes": {"path": self.path, "verb": self.verb}}
        attributes: dict[str, Any] = {
            "verb": self.verb,
            "group": self.group,
            "version": self.version,
            "resource": self.resource,
        }
        for key, value in (
            ("subresource", self.subresource),
            ("namespace", self.namespace),
            ("name", self.name),
        ):
            if value:
                attributes[key] = value
        if self.label_selector:
            attributes["labelSelector"] = {"rawSelector": self.label_selector}
        if self.field_selector:
            attributes["fieldSelector"] = {"rawSelector": self.field_selector}
        return {"resourceAttributes": attributes}


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""
    # Set when no decision could be had (upstream unreachable, a bad answer).
    error: str = ""


class AllowAll:
    """The authorizer with ``--auth=none``: the proxy's own credentials
    read the cache, as they read upstream."""

    async def authorize(self, identity: Identity, attributes: Attributes) -> Decision:
        return Decision(True)


class Authorizer:
    def __init__(
        self,
        reviewer: Reviewer,
        *,
        allowed_ttl: float = 300.0,
        denied_ttl: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = MAX_DECISIONS,
    ) -> None:
        self._reviewer = reviewer
        self.allowed_ttl = allowed_ttl
        self.denied_ttl = denied_ttl
        self._cache: TTLCache[Decision] = TTLCache(max_entries, clock)
        # Reviews in flight, shared by concurrent requests with one key; at
        # most one per request in flight.
        self._reviewing: dict[tuple[Identity, Attributes], asyncio.Future[Decision]] = {}
        self.reviews = 0

    def __repr__(self) -> str:
        return f"<Authorizer cache={self._cache!r} reviews={self.reviews}>"

    async def authorize(self, identity: Identity, attributes: Attributes) -> Decision:
        # How the identity is carried upstream does not change its rights.
        key = (_subject(identity), attributes)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        pending = self._reviewing.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Decision] = asyncio.get_running_loop().create_future()
        self._reviewing[key] = future
        try:
            decision = await self._review(identity, attributes)
        except Exception as err:
            decision = Decision(False, error=f"{err}")
            log.warning("SubjectAccessReview failed for %s: %s", identity.user, err)
        except BaseException:
            future.set_result(Decision(False, error="the review was cancelled"))
            raise
        finally:
            del self._reviewing[key]
        if not decision.error:
            ttl = self.allowed_ttl if decision.allowed else self.denied_ttl
            self._cache.put(key, decision, ttl)
        future.set_result(decision)
        return decision

    async def _review(self, identity: Identity, attributes: Attributes) -> Decision:
        self.reviews += 1
        spec = attributes.review_spec()
        spec["user"] = identity.user
        if identity.groups:
            spec["groups"] = list(identity.groups)
        if identity.uid:
            spec["uid"] = identity.uid
        if identity.extra:
            spec["extra"] = {key: list(values) for key, values in identity.extra}
        review = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": spec,
        }
        answer = await self._reviewer.request(
            "POST", SUBJECT_ACCESS_REVIEWS, body=msgspec.json.encode(review)
        )
        status = answer.json().get("status") or {}
        allowed = bool(status.get("allowed")) and not status.get("denied")
        if status.get("evaluationError"):
            log.debug("SubjectAccessReview evaluation error: %s", status["evaluationError"])
        return Decision(allowed, reason=status.get("reason", "") or "")


def _subject(identity: Identity) -> Identity:
    return Identity(identity.user, identity.groups, uid=identity.uid, extra=identity.extra)


# kube-apiserver escapes these in its forbidden messages (responsewriters).
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def forbidden_reason(identity: Identity, attributes: Attributes) -> str:
    """kube-apiserver's sentence for a refused request."""
    user = identity.user
    if not attributes.resource:
        return f'User "{user}" cannot {attributes.verb} path "{attributes.path}"'
    resource = attributes.resource
    if attributes.subresource:
        resource += "/" + attributes.subresource
    head = (
        f'User "{user}" cannot {attributes.verb} resource "{resource}" '
        f'in API group "{attributes.group}"'
    )
    if attributes.namespace:
        return f'{head} in the namespace "{attributes.namespace}"'
    return f"{head} at the cluster scope"


def refusal(identity: Identity, attributes: Attributes, decision: Decision) -> ApiError:
    """The error for a request the decision does not allow: 403, or 500
    when the review itself failed."""
    if decision.error:
        return internal_error(decision.error)
    reason = forbidden_reason(identity, attributes).translate(_ESCAPES)
    if decision.reason:
        reason = f"{reason}: {decision.reason}"
    return forbidden(attributes.resource, attributes.name, reason, attributes.group)


def read_attributes(where: RequestPath, verb: str, query: Mapping[str, str]) -> Attributes:
    """A read's attributes as kube-apiserver's RequestInfoFactory makes
    them: a namespace's own name is also its namespace; a LIST or WATCH
    whose field selector requires ``metadata.name=<x>`` is about ``x``
    (so RBAC's resourceNames can allow it)."""
    gvr = where.gvr
    namespace, name = where.namespace, where.name
    if gvr.group == "" and gvr.resource == "namespaces" and name:
        namespace = name
    field_selector = query.get("fieldSelector", "")
    if not name and verb in ("list", "watch") and field_selector:
        try:
            exact = FieldSelector.parse(field_selector).exact("metadata.name")
        except ApiError:
            exact = None  # the read path answers the malformed selector
        if exact and "/" not in exact and exact not in (".", ".."):
            name = exact
    return Attributes(
        verb,
        gvr.resource,
        gvr.group,
        gvr.version,
        where.subresource,
        namespace,
        name,
        query.get("labelSelector", ""),
        field_selector,
    )
