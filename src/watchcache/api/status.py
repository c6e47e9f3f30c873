"""Kubernetes ``Status`` errors, exactly as kube-apiserver words them.

Glossary:
    Status      the kube object every error response carries: ``kind:
                Status``, ``apiVersion: v1``, ``status: Failure``, a human
                ``message``, a machine ``reason``, optional ``details`` and
                the HTTP ``code``.
    reason      kube's ``StatusReason`` ("NotFound", "Invalid", ...). It may
                be empty: an error kube-apiserver did not classify is a
                bare 500 with no reason.
    details     ``StatusDetails``: name, group, kind (the *resource*, e.g.
                "pods", as apimachinery's errors put it there), causes,
                retryAfterSeconds. Absent keys are omitted, as Go's
                ``omitempty`` does.
    ApiError    an exception that *is* a Status. Every layer raises it; the
                HTTP boundary renders it once with ``body()``.

Invariants:
    * ``status()`` lists keys in the order Go serialises ``metav1.Status``
      (kind, apiVersion, metadata, status, message, reason, details, code),
      so our bodies are byte-identical to kube-apiserver's.
    * Every constructor builds the message with the same format string as
      the apimachinery function named in its docstring.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

__all__ = [
    "ApiError",
    "already_exists",
    "bad_request",
    "cause",
    "conflict",
    "expired",
    "forbidden",
    "internal_error",
    "invalid",
    "list_expired",
    "method_not_allowed",
    "not_acceptable",
    "not_found",
    "qualified_resource",
    "service_unavailable",
    "timeout",
    "too_large_resource_version",
    "too_many_requests",
    "too_old_resource_version",
    "unauthorized",
    "unsupported_media_type",
]

# One encoder for every body: msgspec keeps dict insertion order, which
# status() sets to Go's field order.
_ENCODER = msgspec.json.Encoder()

# What kube-apiserver decodes and encodes for built-in kinds.
_SERVED_MEDIA_TYPES = (
    "application/json",
    "application/yaml",
    "application/vnd.kubernetes.protobuf",
)


class ApiError(Exception):
    """An error response: raise it anywhere, render it at the HTTP boundary.

    ``metadata`` is the Status's ListMeta; it is empty except for an expired
    continue token, where it carries ``{"continue": <new token>}``.
    """

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        details: dict[str, Any] | None = None,
        *,
        retry_after: int | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.retry_after = retry_after
        self.metadata: dict[str, str] = dict(metadata or {})

    def status(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": dict(self.metadata),
            "status": "Failure",
            "message": self.message,
        }
        # Go omits an empty reason and nil details (omitempty).
        if self.reason:
            out["reason"] = self.reason
        if self.details is not None:
            out["details"] = self.details
        out["code"] = self.code
        return out

    def body(self) -> bytes:
        return _ENCODER.encode(self.status())

    def __repr__(self) -> str:
        return f"ApiError({self.code}, {self.reason!r}, {self.message!r})"


def qualified_resource(resource: str, group: str = "") -> str:
    """GroupResource.String(): ``pods``, or ``deployments.apps``."""
    return f"{resource}.{group}" if group else resource


def _go_quote(text: str) -> str:
    """Go's ``%q`` for the names and values kube puts in messages.

    JSON string escaping agrees with Go's for printable text, which is all
    that valid names contain.
    """
    return msgspec.json.encode(text).decode()


def _resource_details(resource: str, name: str, group: str) -> dict[str, Any]:
    # StatusDetails field order: name, group, kind; empty ones omitted.
    details: dict[str, Any] = {}
    if name:
        details["name"] = name
    if group:
        details["group"] = group
    if resource:
        details["kind"] = resource
    return details


def cause(reason: str, message: str, field: str = "") -> dict[str, str]:
    """A ``StatusCause`` (its ``type`` is serialised as ``reason``)."""
    out = {"reason": reason, "message": message}
    if field:
        out["field"] = field
    return out


def bad_request(message: str) -> ApiError:
    """errors.NewBadRequest."""
    return ApiError(400, "BadRequest", message)


def unauthorized(message: str = "Unauthorized") -> ApiError:
    """What the authentication filter answers (message "Unauthorized")."""
    return ApiError(401, "Unauthorized", message or "not authorized")


def forbidden(resource: str, name: str, reason: str, group: str = "") -> ApiError:
    """errors.NewForbidden; ``reason`` is the authorizer's sentence, e.g.
    ``User "nobody" cannot list resource "pods" in API group "" at the
    cluster scope``."""
    if not resource:
        message = f"forbidden: {reason}"
    elif not name:
        message = f"{qualified_resource(resource, group)} is forbidden: {reason}"
    else:
        qualified = qualified_resource(resource, group)
        message = f"{qualified} {_go_quote(name)} is forbidden: {reason}"
    return ApiError(403, "Forbidden", message, _resource_details(resource, name, group))


def not_found(resource: str, name: str, group: str = "") -> ApiError:
    """errors.NewNotFound: ``pods "x" not found``."""
    message = f"{qualified_resource(resource, group)} {_go_quote(name)} not found"
    return ApiError(404, "NotFound", message, _resource_details(resource, name, group))


def already_exists(resource: str, name: str, group: str = "") -> ApiError:
    """errors.NewAlreadyExists: ``pods "x" already exists``."""
    message = f"{qualified_resource(resource, group)} {_go_quote(name)} already exists"
    return ApiError(409, "AlreadyExists", message, _resource_details(resource, name, group))


def conflict(resource: str, name: str, reason: str, group: str = "") -> ApiError:
    """errors.NewConflict: ``Operation cannot be fulfilled on pods "x": ...``."""
    qualified = qualified_resource(resource, group)
    message = f"Operation cannot be fulfilled on {qualified} {_go_quote(name)}: {reason}"
    return ApiError(409, "Conflict", message, _resource_details(resource, name, group))


def invalid(kind: str, name: str, causes: Sequence[Mapping[str, str]], group: str = "") -> ApiError:
    """errors.NewInvalid for a GroupKind; ``causes`` are ``cause()`` dicts
    whose message is the field error's body ("Forbidden: ...").

    The message joins ``field: body`` for each cause, bracketed when there
    are several, as utilerrors.Aggregate prints them.
    """
    parts = [f"{c['field']}: {c['message']}" if c.get("field") else c["message"] for c in causes]
    joined = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    message = f"{qualified_resource(kind, group)} {_go_quote(name)} is invalid: {joined}"
    details = _resource_details(kind, name, group)
    details["causes"] = [dict(c) for c in causes]
    return ApiError(422, "Invalid", message, details)


def expired(message: str, *, continue_token: str | None = None) -> ApiError:
    """errors.NewResourceExpired (410 Expired); an expired continue token's
    Status carries a replacement token in ``metadata.continue``."""
    metadata = {"continue": continue_token} if continue_token else None
    return ApiError(410, "Expired", message, metadata=metadata)


def method_not_allowed(resource: str = "", action: str = "", group: str = "") -> ApiError:
    """Without arguments, the router's 405 for a method a path does not
    serve (what kube-apiserver answers, e.g., to PATCH /api/v1/pods).
    With them, errors.NewMethodNotSupported: ``create is not supported on
    resources of kind "pods"``."""
    if not resource:
        message = "the server does not allow this method on the requested resource"
        return ApiError(405, "MethodNotAllowed", message, {})
    qualified = qualified_resource(resource, group)
    message = f"{action} is not supported on resources of kind {_go_quote(qualified)}"
    return ApiError(405, "MethodNotAllowed", message, _resource_details(resource, "", group))


def not_acceptable(accepted: Sequence[str] | None = None) -> ApiError:
    """Without arguments, what kube-apiserver answers a request whose Accept
    names no type it can produce ("406: Not Acceptable", empty details).
    With the accepted types, negotiation's errNotAcceptable wording."""
    if accepted is None:
        return ApiError(406, "NotAcceptable", "406: Not Acceptable", {})
    message = "only the following media types are accepted: " + ", ".join(accepted)
    return ApiError(406, "NotAcceptable", message)


def unsupported_media_type(accepted: Sequence[str] = _SERVED_MEDIA_TYPES) -> ApiError:
    """negotiation's errUnsupportedMediaType; by default the types
    kube-apiserver lists for a create or update body."""
    message = (
        "the body of the request was in an unknown format - accepted media types include: "
        + ", ".join(accepted)
    )
    return ApiError(415, "UnsupportedMediaType", message)


def too_many_requests(message: str, retry_after: int) -> ApiError:
    """errors.NewTooManyRequests; the Retry-After header carries the same."""
    details = {"retryAfterSeconds": retry_after} if retry_after else {}
    return ApiError(429, "TooManyRequests", message, details, retry_after=retry_after)


def internal_error(message: str) -> ApiError:
    """errors.NewInternalError: ``Internal error occurred: ...``."""
    details = {"causes": [{"message": message}]}
    return ApiError(500, "InternalError", f"Internal error occurred: {message}", details)


def service_unavailable(message: str, retry_after: int | None = None) -> ApiError:
    """errors.NewServiceUnavailable (with Retry-After when given)."""
    details = {"retryAfterSeconds": retry_after} if retry_after else None
    return ApiError(503, "ServiceUnavailable", message, details, retry_after=retry_after)


def timeout(message: str, retry_after: int, causes: Sequence[Mapping[str, str]] = ()) -> ApiError:
    """errors.NewTimeoutError: ``Timeout: ...`` (504). kube-apiserver's
    "Too large resource version" adds a ResourceVersionTooLarge cause."""
    details: dict[str, Any] = {}
    if causes:
        details["causes"] = [dict(c) for c in causes]
    if retry_after:
        details["retryAfterSeconds"] = retry_after
    return ApiError(504, "Timeout", f"Timeout: {message}", details, retry_after=retry_after)


def server_timeout(resource: str, group: str, operation: str, retry_after: int = 2) -> ApiError:
    """errors.NewServerTimeout: what kube-apiserver answers a read with
    when its storage is unreachable (storeerr's Interpret*Error): 500,
    reason ServerTimeout, the operation as details.name."""
    qualified = f"{resource}.{group}" if group else resource
    details: dict[str, Any] = {
        "kind": resource,
        "name": operation,
        "retryAfterSeconds": retry_after,
    }
    if group:
        details = {"group": group, **details}
    message = (
        f"The {operation} operation against {qualified} could not be completed at this time, "
        "please try again."
    )
    return ApiError(500, "ServerTimeout", message, details, retry_after=retry_after)


def too_large_resource_version(requested: int, current: int, retry_after: int = 1) -> ApiError:
    """storage.NewTooLargeResourceVersionError: the 504 for a read at an RV
    the cache did not reach in time (Retry-After 1, as kube-apiserver)."""
    too_large = cause("ResourceVersionTooLarge", "Too large resource version")
    message = f"Too large resource version: {requested}, current: {current}"
    return timeout(message, retry_after, [too_large])


def too_old_resource_version(requested: int, window_start: int) -> ApiError:
    """The watch 410: ``too old resource version: N (M)``, where M is the
    oldest RV still in history minus one (an RV equal to M still works)."""
    return expired(f"too old resource version: {requested} ({window_start})")


def list_expired() -> ApiError:
    """The 410 for an exact LIST at a compacted RV."""
    return expired("The resourceVersion for the provided list is too old.")
