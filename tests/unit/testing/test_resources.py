"""resources.py (interim): path parsing and field values."""

from __future__ import annotations

import pytest

from watchcache.testing.resources import (
    GroupVersionResource,
    RequestPath,
    field_values,
    parse_path,
    resource_info,
)

G = GroupVersionResource


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/api/v1/pods", RequestPath(G("", "v1", "pods"), "", "", "")),
        (
            "/api/v1/namespaces/ns/pods/p/status",
            RequestPath(G("", "v1", "pods"), "ns", "p", "status"),
        ),
        ("/api/v1/namespaces/ns", RequestPath(G("", "v1", "namespaces"), "", "ns", "")),
        (
            "/api/v1/namespaces/ns/status",
            RequestPath(G("", "v1", "namespaces"), "", "ns", "status"),
        ),
        (
            "/apis/apps/v1/namespaces/ns/deployments",
            RequestPath(G("apps", "v1", "deployments"), "ns", "", ""),
        ),
        ("/api/v1/watch/namespaces/ns/pods", RequestPath(G("", "v1", "pods"), "ns", "", "", True)),
        ("/apis/x.io/v1/nodes/n", RequestPath(G("x.io", "v1", "nodes"), "", "n", "")),
        ("/version", None),
        ("/apis/apps/v1", None),
    ],
)
def test_parse_path(path: str, expected: RequestPath | None) -> None:
    assert parse_path(path) == expected


def test_pod_field_values_use_defaults() -> None:
    info = resource_info(G("", "v1", "pods"))
    values = field_values(info, {"metadata": {"name": "a", "namespace": "ns"}, "spec": {}})
    assert values["spec.restartPolicy"] == "Always" and values["spec.nodeName"] == ""
    assert values["metadata.namespace"] == "ns"


def test_unknown_kind_gets_metadata_fields_only() -> None:
    info = resource_info(G("x.io", "v1", "widgets"), "Widget")
    assert set(info.field_defaults) == {"metadata.name", "metadata.namespace"} and not info.builtin
