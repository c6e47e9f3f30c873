from __future__ import annotations

import json

import pytest
from tests.unit.cache.fakes import PODS, WIDGETS

from watchcache.api.resources import ResourceInfo
from watchcache.proxy.rendering import (
    JSON,
    METADATA,
    Rendering,
    metadata_line,
    metadata_object,
    negotiate,
)

META_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
META_ONE = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"


@pytest.mark.parametrize(
    ("accept", "listing", "expected"),
    [
        ("", True, JSON),
        ("application/json", True, JSON),
        ("application/vnd.kubernetes.protobuf, */*", False, JSON),
        (f"{META_LIST},application/json", True, METADATA),
        (f"{META_ONE},application/json", False, METADATA),
        (
            f"{META_ONE},application/json",
            True,
            None,
        ),  # a list asked as one object: upstream decides
        (f"{TABLE},{TABLE.replace('v1', 'v1beta1')},application/json", True, None),
        ("application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1beta1", True, None),
        ("application/yaml", True, None),
        ("application/vnd.kubernetes.protobuf, application/json", True, JSON),
        ("application/vnd.kubernetes.protobuf;type=watch, application/json", False, JSON),
        ("application/vnd.kubernetes.protobuf", True, None),
    ],
)
def test_negotiate(accept: str, listing: bool, expected: Rendering | None) -> None:
    assert negotiate(accept, listing=listing) is expected


class _Protobuf(Rendering):
    name = family = "protobuf"
    content_type = "application/vnd.kubernetes.protobuf"

    def serves(self, resource: ResourceInfo | None) -> bool:
        return resource is None or resource.builtin


def test_a_rendering_added_to_the_table_is_negotiated_in_the_clients_order() -> None:
    """What plugging in a protobuf rendering changes: kubectl's Accept
    (protobuf first, then JSON) picks it, and nothing else does."""
    protobuf = _Protobuf()
    renderings = (JSON, METADATA, protobuf)
    accept = "application/vnd.kubernetes.protobuf, application/json"
    assert negotiate(accept, listing=True, renderings=renderings) is protobuf
    assert (
        negotiate(
            "application/json, application/vnd.kubernetes.protobuf",
            listing=True,
            renderings=renderings,
        )
        is JSON
    )
    assert negotiate("", listing=False, renderings=renderings) is JSON
    # A custom resource has no protobuf: kubectl's Accept gets JSON.
    assert negotiate(accept, listing=True, resource=WIDGETS, renderings=renderings) is JSON
    assert negotiate(accept, listing=True, resource=PODS, renderings=renderings) is protobuf


def test_metadata_rendering_keeps_metadata_bytes_as_stored() -> None:
    raw = b'{"kind":"Pod","apiVersion":"v1","metadata":{"name":"p","labels":{"a":"b"}},"spec":{"x":1}}'
    assert metadata_object(raw) == (
        b'{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{"name":"p","labels":{"a":"b"}}}'
    )
    line = metadata_line(b'{"type":"MODIFIED","object":' + raw + b"}\n")
    assert json.loads(line) == {"type": "MODIFIED", "object": json.loads(metadata_object(raw))}
