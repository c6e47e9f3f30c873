"""Table assembly: list, object and watch forms; includeObject."""

from __future__ import annotations

import json
from typing import Any

import pytest

from watchcache.api.status import ApiError
from watchcache.table import (
    Include,
    ListMeta,
    TableRenderer,
    WatchTables,
    parse_include,
    printer_for,
)
from watchcache.table.duration import parse_time

CREATED = "2020-01-01T00:00:00Z"
NOW = (parse_time(CREATED) or 0.0) + 5


def configmap(name: str, **annotations: str) -> bytes:
    meta: dict[str, Any] = {
        "name": name,
        "namespace": "ns",
        "resourceVersion": "7",
        "creationTimestamp": CREATED,
    }
    if annotations:
        meta["annotations"] = annotations
    return json.dumps(
        {"kind": "ConfigMap", "apiVersion": "v1", "metadata": meta, "data": {"a": "1"}}
    ).encode()


def renderer(resource: str = "configmaps", group: str = "", **kwargs: Any) -> TableRenderer:
    printer = printer_for(group, resource)
    assert printer is not None
    return TableRenderer(printer, lambda: NOW, **kwargs)


def test_list_table() -> None:
    body = renderer().list_table(
        [configmap("a"), configmap("b")],
        ListMeta(resource_version="9", continue_token="tok", remaining_item_count=3),
    )
    table = json.loads(body)
    assert list(table) == ["kind", "apiVersion", "metadata", "columnDefinitions", "rows"]
    assert table["metadata"] == {"resourceVersion": "9", "continue": "tok", "remainingItemCount": 3}
    name = table["columnDefinitions"][0]
    assert {k: v for k, v in name.items() if k != "description"} == {
        "name": "Name",
        "type": "string",
        "format": "name",
        "priority": 0,
    }
    # kube-apiserver's own words (table/kubedescriptions.py)
    assert name["description"].startswith("Name must be unique within a namespace.")
    assert [r["cells"] for r in table["rows"]] == [["a", 1, "5s"], ["b", 1, "5s"]]
    assert table["rows"][0]["object"] == {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": json.loads(configmap("a"))["metadata"],
    }
    assert list(table["rows"][0]) == ["cells", "object"]


def test_empty_list_has_empty_rows_and_empty_metadata() -> None:
    table = json.loads(renderer().list_table([], ListMeta()))
    assert table["rows"] == [] and table["metadata"] == {}


def test_object_table_carries_the_object_rv() -> None:
    table = json.loads(renderer().object_table(configmap("a")))
    assert table["metadata"] == {"resourceVersion": "7"}
    assert len(table["rows"]) == 1


@pytest.mark.parametrize(
    ("include", "expected"),
    [(Include.NONE, None), (Include.OBJECT, json.loads(configmap("a")))],
)
def test_include_object(include: Include, expected: Any) -> None:
    table = json.loads(renderer(include=include).object_table(configmap("a")))
    assert table["rows"][0]["object"] == expected


def test_v1beta1_tables() -> None:
    table = json.loads(renderer(version="v1beta1").object_table(configmap("a")))
    assert table["apiVersion"] == "meta.k8s.io/v1beta1"
    assert table["rows"][0]["object"]["apiVersion"] == "meta.k8s.io/v1beta1"


def test_parse_include() -> None:
    assert parse_include(None) is Include.METADATA
    assert parse_include("") is Include.METADATA
    assert parse_include("Object") is Include.OBJECT
    with pytest.raises(ApiError) as raised:
        parse_include('x"y')
    assert raised.value.code == 400
    assert raised.value.message == (
        "Unable to convert to Table as requested: includeObject: Invalid value: "
        "\"x\\\"y\": must be 'Metadata', 'Object', 'None', or empty"
    )


def test_finished_pod_rows_carry_conditions_before_the_object() -> None:
    pod = {"metadata": {"name": "p"}, "spec": {}, "status": {"phase": "Succeeded"}}
    table = json.loads(renderer("pods").object_table(json.dumps(pod).encode()))
    assert list(table["rows"][0]) == ["cells", "conditions", "object"]


def test_daemon_set_metadata_lacks_the_conversion_annotation() -> None:
    ds = {
        "metadata": {"name": "d", "annotations": {"deprecated.daemonset.template.generation": "1"}},
    }
    meta = json.loads(renderer("daemonsets", "apps").object_table(json.dumps(ds).encode()))
    assert meta["rows"][0]["object"]["metadata"] == {"name": "d"}
    ds["metadata"]["annotations"]["keep"] = "me"  # type: ignore[index]
    meta = json.loads(renderer("daemonsets", "apps").object_table(json.dumps(ds).encode()))
    assert meta["rows"][0]["object"]["metadata"]["annotations"] == {"keep": "me"}
    whole = renderer("daemonsets", "apps", include=Include.OBJECT).object_table(
        json.dumps(ds).encode()
    )
    assert json.loads(whole)["rows"][0]["object"] == ds


def test_watch_sends_columns_once() -> None:
    watch = WatchTables(renderer())
    lines = [watch.event_line(t, configmap("a")) for t in ("ADDED", "MODIFIED", "DELETED")]
    events = [json.loads(line) for line in lines]
    assert all(line.endswith(b"}\n") for line in lines)
    assert [e["type"] for e in events] == ["ADDED", "MODIFIED", "DELETED"]
    assert events[0]["object"]["columnDefinitions"]
    assert [e["object"]["columnDefinitions"] for e in events[1:]] == [None, None]
    assert all(e["object"]["rows"][0]["cells"] == ["a", 1, "5s"] for e in events)


def test_watch_errors_pass_through() -> None:
    status = b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","code":410}'
    line = WatchTables(renderer()).event_line("ERROR", status)
    assert line == b'{"type":"ERROR","object":' + status + b"}\n"


def test_a_list_table_streamed_in_pieces_is_the_whole() -> None:
    """list_head, rows per batch joined with commas, then ``]}``: the
    read path streams a list Table so."""
    table = renderer()
    raws = [configmap(name) for name in "abc"]
    meta = ListMeta(resource_version="9")
    pieces = table.list_head(meta) + table.rows(raws[:2], NOW) + b"," + table.rows(raws[2:], NOW)
    assert pieces + b"]}" == table.list_table(raws, meta)
    assert table.list_head(meta) + table.rows([], NOW) + b"]}" == table.list_table([], meta)
