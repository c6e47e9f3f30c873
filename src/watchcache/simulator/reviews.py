"""Access reviews: what ``kubectl auth can-i`` asks.

Glossary:
    SSAR   SelfSubjectAccessReview (authorization.k8s.io/v1): "may I do
           this verb on this resource (or non-resource path)?". Created,
           answered, never stored.
    SSRR   SelfSubjectRulesReview: "what may I do in this namespace?"
           (``kubectl auth can-i --list``).

The simulator has no RBAC: every caller may do everything, as on an
unauthenticated dev cluster, except a caller whose token the
``SimulatorConfig.tokens`` map marks as having no rights, who is told no
(and told which, as RBAC would, in ``reason``). Any caller may create a
review, as kube's system:basic-user role allows.

Invariant: a review writes nothing: no RV bump, no watch event.
"""

from __future__ import annotations

from typing import Any

from watchcache.api import status

__all__ = ["GROUP", "RESOURCES", "review"]

GROUP = "authorization.k8s.io"
RESOURCES = {
    "selfsubjectaccessreviews": "SelfSubjectAccessReview",
    "selfsubjectrulesreviews": "SelfSubjectRulesReview",
}


def review(resource: str, version: str, body: dict[str, Any], allowed: bool) -> dict[str, Any]:
    """The created review: the request's spec and its answer."""
    kind = RESOURCES[resource]
    spec = body.get("spec")
    if not isinstance(spec, dict):
        spec = {}
    answer = (
        _access(spec, allowed)
        if kind == RESOURCES["selfsubjectaccessreviews"]
        else _rules(spec, allowed)
    )
    return {
        "kind": kind,
        "apiVersion": f"{GROUP}/{version}",
        "metadata": {"creationTimestamp": None},
        "spec": spec,
        "status": answer,
    }


def _access(spec: dict[str, Any], allowed: bool) -> dict[str, Any]:
    resource = spec.get("resourceAttributes")
    non_resource = spec.get("nonResourceAttributes")
    if resource is None and non_resource is None:
        # field.Invalid of a nil pointer: Go prints the value as "null".
        why = 'Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified'
        cause = status.cause("FieldValueInvalid", why, "spec.resourceAttributes")
        # kube-apiserver 1.20 leaves the kind out of this error.
        raise status.invalid("", "", [cause], GROUP)
    if resource is not None and non_resource is not None:
        why = "Invalid value: cannot be specified in combination with resourceAttributes"
        cause = status.cause("FieldValueInvalid", why, "spec.nonResourceAttributes")
        raise status.invalid("", "", [cause], GROUP)
    if allowed:
        return {"allowed": True}
    return {"allowed": False, "reason": "the simulator's token map gives this user no rights"}


def _rules(spec: dict[str, Any], allowed: bool) -> dict[str, Any]:
    if not spec.get("namespace"):
        raise status.bad_request("no namespace on request")
    if not allowed:
        return {"resourceRules": [], "nonResourceRules": [], "incomplete": False}
    return {
        "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
        "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
        "incomplete": False,
    }
