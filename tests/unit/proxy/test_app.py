from __future__ import annotations

import pytest
from aiohttp.test_utils import make_mocked_request

from watchcache.proxy.app import verb_and_resource


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/api/v1/namespaces/ns/pods", ("list", "pods")),
        ("GET", "/api/v1/pods?watch=true", ("watch", "pods")),
        ("GET", "/api/v1/watch/namespaces/ns/pods", ("watch", "pods")),
        ("GET", "/api/v1/namespaces/ns/pods/p", ("get", "pods")),
        ("GET", "/api/v1/namespaces/ns/pods/p/log", ("get", "pods/log")),
        ("POST", "/apis/apps/v1/namespaces/ns/deployments", ("create", "deployments")),
        ("PATCH", "/api/v1/namespaces/ns/pods/p/status", ("patch", "pods/status")),
        ("DELETE", "/api/v1/namespaces/ns/pods", ("deletecollection", "pods")),
        ("DELETE", "/api/v1/namespaces/ns/pods/p", ("delete", "pods")),
        ("GET", "/version", ("get", "")),
    ],
)
def test_verbs_and_resources(method: str, path: str, expected: tuple[str, str]) -> None:
    assert verb_and_resource(make_mocked_request(method, path)) == expected
