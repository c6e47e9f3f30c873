from __future__ import annotations

import json

import pytest
from tests.unit.cache.fakes import PODS, WIDGETS

from watchcache.api.listoptions import ListOptions
from watchcache.api.resources import ResourceInfo
from watchcache.api.status import ApiError
from watchcache.proxy.rendering import (
    JSON,
    METADATA,
    TABLE_V1,
    TABLE_V1BETA1,
    Rendering,
    TableRead,
    bookmarks_for,
    metadata_line,
    metadata_object,
    negotiate,
)
from watchcache.table import Include

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


# -- Tables ----------------------------------------------------------------------

TABLE_BETA = TABLE.replace("v1", "v1beta1")
KUBECTL = f"{TABLE},{TABLE_BETA},application/json"


@pytest.mark.parametrize(
    ("accept", "listing", "expected"),
    [
        (KUBECTL, True, TABLE_V1),
        (KUBECTL, False, TABLE_V1),
        (f"{TABLE_BETA},application/json", True, TABLE_V1BETA1),
        # A version with no Table, or no group: upstream decides.
        ("application/json;as=Table;v=v2;g=meta.k8s.io,application/json", True, None),
        ("application/json;as=Table;v=v1,application/json", True, None),
        ("application/json," + TABLE, True, JSON),
    ],
)
def test_a_table_is_negotiated_for_a_printed_resource(
    accept: str, listing: bool, expected: Rendering | None
) -> None:
    assert negotiate(accept, listing=listing, resource=PODS) is expected


def test_a_custom_resources_table_is_upstreams() -> None:
    assert negotiate(KUBECTL, listing=True, resource=WIDGETS) is None


def _bound(**query: str) -> TableRead:
    rendering = TABLE_V1.bind(PODS, query, lambda: 1_600_000_000.0, watch=True)
    assert isinstance(rendering, TableRead)
    return rendering


def test_bind_checks_include_object_as_a_watch_or_leaves_it_upstream() -> None:
    assert _bound(includeObject="None").renderer.include is Include.NONE
    error = TABLE_V1.bind(PODS, {"includeObject": "x"}, lambda: 0.0, watch=True)
    assert isinstance(error, ApiError) and error.code == 400
    assert TABLE_V1.bind(PODS, {"includeObject": "x"}, lambda: 0.0, watch=False) is None
    assert JSON.bind(PODS, {"includeObject": "x"}, lambda: 0.0, watch=True) is JSON


def test_each_table_watch_is_its_own_group() -> None:
    one, two = (_bound().watch_filter("default", ListOptions()) for _ in range(2))
    plain = JSON.watch_filter("default", ListOptions())
    assert len({one.key(), two.key(), plain.key()}) == 3


def test_a_bookmark_is_a_table_of_the_empty_object_and_may_carry_the_columns() -> None:
    rendering = _bound()
    table_filter = rendering.watch_filter(None, ListOptions())
    first = json.loads(table_filter.bookmark_for(bookmarks_for(PODS)(42)))
    second = json.loads(table_filter.bookmark_for(bookmarks_for(PODS)(43)))
    assert first["type"] == "BOOKMARK"
    table = first["object"]
    assert table["metadata"] == {"resourceVersion": "42"}
    assert table["columnDefinitions"]
    assert second["object"]["columnDefinitions"] is None
    (row,) = table["rows"]
    assert row["cells"][:5] == ["", "0/0", "", 0, "<unknown>"]
    assert row["object"]["metadata"] == {"resourceVersion": "42", "creationTimestamp": None}


def test_an_error_line_stays_a_status() -> None:
    rendering = _bound()
    error = ApiError(410, "Expired", "too old")
    assert rendering.error_line(error) == JSON.error_line(error)
