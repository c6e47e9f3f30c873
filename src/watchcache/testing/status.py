"""Interim kube ``Status`` errors for the simulator.

TODO(watchcache/api/status.py): replace this module by the shared one once
it is committed; the names and signatures here mirror its interface so the
swap is an import change.

Glossary:
    ApiError   an exception that *is* a Status response: code, reason,
               message and optional details/Retry-After, rendered once at the
               HTTP boundary by ``body()``.

Invariant: every error the simulator answers is an ``ApiError``; handlers
never build Status dicts themselves.
"""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = [
    "ApiError",
    "already_exists",
    "bad_request",
    "conflict",
    "expired",
    "forbidden",
    "internal_error",
    "invalid",
    "method_not_allowed",
    "not_acceptable",
    "not_found",
    "service_unavailable",
    "timeout",
    "too_many_requests",
    "unauthorized",
    "unsupported_media_type",
]


class ApiError(Exception):
    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        details: dict[str, Any] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.retry_after = retry_after
        # Only the expired-continue 410 carries list metadata (a new token).
        self.metadata: dict[str, Any] = {}

    def status(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": dict(self.metadata),
            "status": "Failure",
            "message": self.message,
        }
        # kube-apiserver omits an empty reason (the 500 of a plain error).
        if self.reason:
            out["reason"] = self.reason
        if self.details is not None:
            out["details"] = self.details
        out["code"] = self.code
        return out

    def body(self) -> bytes:
        return msgspec.json.encode(self.status())

    def __repr__(self) -> str:
        return f"ApiError({self.code} {self.reason}: {self.message!r})"


def _qualified(resource: str, group: str) -> str:
    return f"{resource}.{group}" if group else resource


def _details(name: str, resource: str, group: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if name:
        out["name"] = name
    if group:
        out["group"] = group
    out["kind"] = resource
    return out


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def unauthorized(message: str = "Unauthorized") -> ApiError:
    return ApiError(401, "Unauthorized", message)


def forbidden(message: str) -> ApiError:
    return ApiError(403, "Forbidden", message)


def not_found(resource: str, name: str, group: str = "") -> ApiError:
    message = f'{_qualified(resource, group)} "{name}" not found'
    return ApiError(404, "NotFound", message, _details(name, resource, group))


def already_exists(resource: str, name: str, group: str = "") -> ApiError:
    message = f'{_qualified(resource, group)} "{name}" already exists'
    return ApiError(409, "AlreadyExists", message, _details(name, resource, group))


def conflict(resource: str, name: str, why: str, group: str = "") -> ApiError:
    message = f'Operation cannot be fulfilled on {_qualified(resource, group)} "{name}": {why}'
    return ApiError(409, "Conflict", message, _details(name, resource, group))


def invalid(kind: str, name: str, causes: list[dict[str, str]], group: str = "") -> ApiError:
    summary = ", ".join(f"{c['field']}: {c['message']}" for c in causes)
    message = f'{_qualified(kind, group)} "{name}" is invalid: {summary}'
    details = _details(name, kind, group)
    details["causes"] = causes
    return ApiError(422, "Invalid", message, details)


def expired(message: str) -> ApiError:
    return ApiError(410, "Expired", message)


def method_not_allowed(message: str) -> ApiError:
    return ApiError(405, "MethodNotAllowed", message, {})


def not_acceptable(message: str) -> ApiError:
    return ApiError(406, "NotAcceptable", message)


def unsupported_media_type(message: str) -> ApiError:
    return ApiError(415, "UnsupportedMediaType", message)


def too_many_requests(message: str, retry_after: int = 1) -> ApiError:
    error = ApiError(429, "TooManyRequests", message, {"retryAfterSeconds": retry_after})
    error.retry_after = retry_after
    return error


def internal_error(message: str) -> ApiError:
    return ApiError(500, "InternalError", message, {"causes": [{"message": message}]})


def service_unavailable(message: str, retry_after: int | None = None) -> ApiError:
    details = {"retryAfterSeconds": retry_after} if retry_after else None
    return ApiError(503, "ServiceUnavailable", message, details, retry_after)


def timeout(message: str, retry_after: int = 1) -> ApiError:
    error = ApiError(504, "Timeout", message, {"retryAfterSeconds": retry_after})
    error.retry_after = retry_after
    return error
