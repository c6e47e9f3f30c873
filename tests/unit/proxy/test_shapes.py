from __future__ import annotations

import json

import pytest

from watchcache.proxy.shapes import FULL, METADATA, metadata_line, metadata_object, negotiate

META_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
META_ONE = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"


@pytest.mark.parametrize(
    ("accept", "listing", "expected"),
    [
        ("", True, FULL),
        ("application/json", True, FULL),
        ("application/vnd.kubernetes.protobuf, */*", False, FULL),
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
    ],
)
def test_negotiate(accept: str, listing: bool, expected: str | None) -> None:
    assert negotiate(accept, listing=listing) == expected


def test_metadata_rendering_keeps_metadata_bytes_as_stored() -> None:
    raw = b'{"kind":"Pod","apiVersion":"v1","metadata":{"name":"p","labels":{"a":"b"}},"spec":{"x":1}}'
    assert metadata_object(raw) == (
        b'{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{"name":"p","labels":{"a":"b"}}}'
    )
    line = metadata_line(b'{"type":"MODIFIED","object":' + raw + b"}\n")
    assert json.loads(line) == {"type": "MODIFIED", "object": json.loads(metadata_object(raw))}
