"""Status bodies are byte-identical to what kube-apiserver v1.20 sent."""

from __future__ import annotations

import json

from watchcache.api import status


def test_not_found_core_matches_real_server_bytes() -> None:
    err = status.not_found("pods", "x")
    assert err.body() == (
        b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
        b'"message":"pods \\"x\\" not found","reason":"NotFound",'
        b'"details":{"name":"x","kind":"pods"},"code":404}'
    )


def test_not_found_grouped_resource_is_qualified() -> None:
    err = status.not_found("deployments", "x", group="apps")
    assert err.message == 'deployments.apps "x" not found'
    assert err.status()["details"] == {"name": "x", "group": "apps", "kind": "deployments"}


def test_bad_request_has_no_details() -> None:
    body = json.loads(status.bad_request("nope").body())
    assert body == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "nope",
        "reason": "BadRequest",
        "code": 400,
    }


def test_invalid_single_cause_matches_real_server_bytes() -> None:
    cause = status.cause(
        "FieldValueForbidden",
        "Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided",
        "resourceVersionMatch",
    )
    err = status.invalid("ListOptions", "", [cause], group="meta.k8s.io")
    assert err.body() == (
        b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
        b'"message":"ListOptions.meta.k8s.io \\"\\" is invalid: resourceVersionMatch: '
        b'Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided",'
        b'"reason":"Invalid","details":{"group":"meta.k8s.io","kind":"ListOptions",'
        b'"causes":[{"reason":"FieldValueForbidden","message":"Forbidden: resourceVersionMatch'
        b' is forbidden unless resourceVersion is provided","field":"resourceVersionMatch"}]},'
        b'"code":422}'
    )


def test_invalid_several_causes_are_bracketed() -> None:
    causes = [status.cause("R", "Forbidden: a", "f"), status.cause("R", "Forbidden: b", "f")]
    err = status.invalid("ListOptions", "", causes, group="meta.k8s.io")
    assert err.message == (
        'ListOptions.meta.k8s.io "" is invalid: [f: Forbidden: a, f: Forbidden: b]'
    )


def test_unclassified_error_omits_reason() -> None:
    body = json.loads(status.ApiError(500, "", "boom").body())
    assert "reason" not in body and body["code"] == 500


def test_expired_continue_carries_new_token_in_metadata() -> None:
    err = status.expired("too old", continue_token="abc")
    assert err.status()["metadata"] == {"continue": "abc"}
    assert err.code == 410 and err.reason == "Expired"


def test_retry_after_is_in_details_and_attribute() -> None:
    err = status.too_many_requests("slow down", 3)
    assert err.retry_after == 3
    assert err.status()["details"] == {"retryAfterSeconds": 3}
    assert status.service_unavailable("down").status().get("details") is None


def test_timeout_prefixes_message_and_keeps_causes() -> None:
    cause = status.cause("ResourceVersionTooLarge", "Too large resource version")
    err = status.timeout("Too large resource version: 9, current: 5", 1, [cause])
    assert err.code == 504 and err.reason == "Timeout"
    assert err.message == "Timeout: Too large resource version: 9, current: 5"
    assert err.status()["details"] == {"causes": [cause], "retryAfterSeconds": 1}


def test_forbidden_wording() -> None:
    why = 'User "nobody" cannot list resource "pods" in API group "" in the namespace "default"'
    err = status.forbidden("pods", "", why)
    assert err.message == f"pods is forbidden: {why}"
    assert err.status()["details"] == {"kind": "pods"}
    named = status.forbidden("deployments", "d", "no", group="apps")
    assert named.message == 'deployments.apps "d" is forbidden: no'


def test_other_constructors_codes_and_reasons() -> None:
    cases = [
        (status.unauthorized(), 401, "Unauthorized", "Unauthorized"),
        (status.already_exists("pods", "x"), 409, "AlreadyExists", 'pods "x" already exists'),
        (
            status.conflict("pods", "x", "changed"),
            409,
            "Conflict",
            'Operation cannot be fulfilled on pods "x": changed',
        ),
        (
            status.method_not_allowed("pods", "create"),
            405,
            "MethodNotAllowed",
            'create is not supported on resources of kind "pods"',
        ),
        (
            status.not_acceptable(["application/json", "application/yaml"]),
            406,
            "NotAcceptable",
            "only the following media types are accepted: application/json, application/yaml",
        ),
        (
            status.unsupported_media_type(["application/json"]),
            415,
            "UnsupportedMediaType",
            "the body of the request was in an unknown format - accepted media types include: "
            "application/json",
        ),
        (status.internal_error("x"), 500, "InternalError", "Internal error occurred: x"),
        (status.service_unavailable("x", 2), 503, "ServiceUnavailable", "x"),
    ]
    for err, code, reason, message in cases:
        assert (err.code, err.reason, err.message) == (code, reason, message)
        assert json.loads(err.body())["code"] == code


def test_resource_version_errors() -> None:
    large = status.too_large_resource_version(999, 1)
    assert large.body() == (
        b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
        b'"message":"Timeout: Too large resource version: 999, current: 1","reason":"Timeout",'
        b'"details":{"causes":[{"reason":"ResourceVersionTooLarge","message":"Too large '
        b'resource version"}],"retryAfterSeconds":1},"code":504}'
    )
    old = status.too_old_resource_version(5, 9)
    assert old.status() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "too old resource version: 5 (9)",
        "reason": "Expired",
        "code": 410,
    }
    assert status.list_expired().message == "The resourceVersion for the provided list is too old."
