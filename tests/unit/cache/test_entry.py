from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.cache.fakes import POD_FIELDS, pod

from watchcache.api.resources import ResourceInfo, builtin_resources, field_values
from watchcache.cache.allocator import SIZE_CLASSES
from watchcache.cache.entry import EntryCodec, MalformedObject, object_key


def codec(**kw: object) -> EntryCodec:
    args: dict[str, object] = dict(
        kind="Pod", api_version="v1", namespaced=True, field_defaults=POD_FIELDS, builtin=True
    )
    args.update(kw)
    return EntryCodec(**args)  # type: ignore[arg-type]


def test_decodes_metadata_and_fields_once() -> None:
    e = codec().decode(
        pod("a", "ns", rv=42, uid="u", labels={"app": "x"}, node="n1", phase="Running")
    )
    assert (e.key, e.name, e.namespace, e.uid, e.rv) == ("ns/a", "a", "ns", "u", 42)
    assert e.labels == {"app": "x"}
    assert e.fields == {
        "metadata.name": "a",
        "metadata.namespace": "ns",
        "spec.nodeName": "n1",
        "spec.restartPolicy": "Always",  # unset: the kind's default
        "spec.schedulerName": "default-scheduler",
        "status.phase": "Running",
    }


def test_typed_input_is_kept_byte_for_byte() -> None:
    data = pod("a", node="n")
    e = codec().decode(data)
    assert e.raw == data
    assert json.loads(e.item_bytes()) == {
        k: v for k, v in json.loads(data).items() if k not in ("kind", "apiVersion")
    }
    assert e.item_bytes().startswith(b'{"metadata":')
    head, body = e.item_chunks()
    assert head + bytes(body) == e.item_bytes()


def test_untyped_list_item_gains_kind_and_api_version() -> None:
    item = pod("a", typed=False)
    e = codec().decode(item)
    assert e.raw.startswith(b'{"kind":"Pod","apiVersion":"v1","metadata":')
    assert e.item_bytes() == item
    assert json.loads(e.raw)["metadata"]["name"] == "a"


def test_custom_resource_list_items_keep_kind() -> None:
    c = codec(kind="Widget", api_version="example.com/v1", namespaced=False, builtin=False)
    e = c.decode(
        b'{"kind":"Widget","apiVersion":"example.com/v1","metadata":{"name":"w","resourceVersion":"3"}}'
    )
    assert e.key == "w" and e.namespace == ""
    assert e.item_bytes() == e.raw


def test_objects_not_serialised_kind_first_are_retyped() -> None:
    e = codec().decode(b'{"metadata":{"name":"a","namespace":"n"},"apiVersion":"v1","kind":"Pod"}')
    assert e.raw == b'{"kind":"Pod","apiVersion":"v1","metadata":{"name":"a","namespace":"n"}}'
    assert e.item_bytes() == b'{"metadata":{"name":"a","namespace":"n"}}'


def test_strip_managed_fields_cuts_exactly_that_key() -> None:
    data = pod("a", managed=True, labels={"x": "y"})
    e = codec(strip_managed_fields=True).decode(data)
    want = json.loads(data)
    del want["metadata"]["managedFields"]
    assert json.loads(e.raw) == want
    assert b"managedFields" not in e.raw
    assert codec().decode(data).raw == data  # off by default


@pytest.mark.parametrize(
    "meta",
    [
        b'{"managedFields":[{"a":1}],"name":"a"}',
        b'{"name":"a","managedFields":[{"a":1}]}',
        b'{"managedFields":[]}',
    ],
)
def test_strip_managed_fields_at_any_position(meta: bytes) -> None:
    data = b'{"kind":"Pod","apiVersion":"v1","metadata":' + meta + b"}"
    e = codec(strip_managed_fields=True).decode(data)
    assert "managedFields" not in json.loads(e.raw)["metadata"]


def test_transform_runs_before_decoding() -> None:
    c = codec(transform=lambda b: b.replace(b'"name":"a"', b'"name":"b"'))
    assert c.decode(pod("a")).name == "b"


def test_non_string_field_values_are_formatted_like_kube() -> None:
    e = codec().decode(
        b'{"kind":"Pod","apiVersion":"v1","metadata":{"name":"a"},"spec":{"nodeName":true}}'
    )
    assert e.fields["spec.nodeName"] == "true"


def test_not_an_object_is_malformed() -> None:
    with pytest.raises(MalformedObject):
        codec().decode(b"[1,2]")


def test_raw_does_not_keep_a_larger_buffer_alive() -> None:
    buffer = bytearray(pod("a")) + b" " * 1000
    e = codec().decode(bytes(memoryview(buffer)[: len(pod("a"))]))
    assert isinstance(e.raw, bytes) and len(e.raw) == len(pod("a"))


def test_object_key() -> None:
    assert object_key("ns", "a") == "ns/a"
    assert object_key("", "node-1") == "node-1"


def test_null_parts_fall_back_to_defaults() -> None:
    e = codec().decode(
        b'{"kind":"Pod","apiVersion":"v1","metadata":{"name":"a"},"spec":null,"status":null}'
    )
    assert e.fields["spec.nodeName"] == "" and e.fields["spec.restartPolicy"] == "Always"


def test_single_field_kind_and_no_field_kind() -> None:
    one = codec(field_defaults={"metadata.name": "", "spec.nodeName": "x"}).decode(
        pod("a", node="n")
    )
    # Only the labels the kind has: no metadata.namespace here.
    assert one.fields == {"metadata.name": "a", "spec.nodeName": "n"}
    null = b'{"kind":"Pod","apiVersion":"v1","metadata":{"name":"a"},"spec":null}'
    assert codec(field_defaults={"spec.nodeName": "x"}).decode(null).fields["spec.nodeName"] == "x"
    none = codec(field_defaults={"metadata.name": ""}).decode(pod("a"))
    assert none.fields == {"metadata.name": "a"}


def test_label_strings_are_shared_between_objects() -> None:
    a = codec().decode(pod("a", labels={"app": "web"}))
    b = codec().decode(pod("b", labels={"app": "web"}))
    assert a.labels["app"] is b.labels["app"]


_VALUES = st.sampled_from([_ABSENT := object(), None, "", "v", "Always", True, False, 7])


def _put(obj: dict[str, Any], path: str, value: object) -> None:
    *parents, leaf = path.split(".")
    node = obj
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[leaf] = value


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(builtin_resources()), st.data())
def test_field_values_agree_with_the_api_table(info: ResourceInfo, data: st.DataObject) -> None:
    """For every built-in kind, the codec's field values are exactly what
    watchcache.api.resources.field_values says, whatever the object holds."""
    obj: dict[str, Any] = {"kind": info.kind, "apiVersion": info.api_version}
    obj["metadata"] = {"name": "n1", "resourceVersion": "3"}
    if info.namespaced:
        obj["metadata"]["namespace"] = "ns1"
    for label in info.field_defaults:
        if label.startswith("metadata."):
            continue
        value = data.draw(_VALUES)
        if value is not _ABSENT:
            _put(obj, label, value)
    # The inputs of labels kube-apiserver does not read at their own path.
    ips = data.draw(st.sampled_from([_ABSENT, [], [{"ip": "10.0.0.1"}], [{"ip": ""}, {"ip": "b"}]]))
    if ips is not _ABSENT:
        _put(obj, "status.podIPs", ips)
    for path in ("source.component", "reportingComponent"):
        value = data.draw(st.sampled_from([_ABSENT, "", "kubelet"]))
        if value is not _ABSENT:
            _put(obj, path, value)
    c = EntryCodec(
        kind=info.kind,
        api_version=obj["apiVersion"],
        namespaced=info.namespaced,
        field_defaults=info.field_defaults,
        builtin=info.builtin,
    )
    raw = json.dumps(obj, separators=(",", ":")).encode()
    assert dict(c.decode(raw).fields) == field_values(info, json.loads(raw))


def test_a_new_version_shares_what_did_not_change() -> None:
    codec = EntryCodec(
        kind="Pod", api_version="v1", namespaced=True, field_defaults=POD_FIELDS, builtin=True
    )
    old = codec.decode(pod("a", rv=1, labels={"app": "x"}))
    same = codec.decode(pod("a", rv=2, labels={"app": "x"})).sharing(old)
    assert same.key is old.key and same.uid is old.uid
    assert same.labels is old.labels and same.fields is old.fields
    assert same.rv == 2 and same.raw != old.raw
    relabelled = codec.decode(pod("a", rv=3, labels={"app": "y"})).sharing(old)
    assert relabelled.labels == {"app": "y"} and relabelled.fields is old.fields
    other = codec.decode(pod("b", rv=4))
    assert other.sharing(old) is other


def test_decoded_against_its_previous_version_it_shares_and_keeps_its_class() -> None:
    c = codec()
    old = c.decode(pod("a", rv=1, labels={"app": "x"}, pad=7_000))
    data = pod("a", rv=2, labels={"app": "x", "rev": "1"}, pad=7_000)
    new = c.decode(data, {old.key: old}.get)
    assert new.raw == data and len(new.raw) > len(old.raw)  # byte for byte, a bit longer
    assert new.key is old.key and new.uid is old.uid and new.fields is old.fields
    assert new.labels == {"app": "x", "rev": "1"}
    assert new.sharing(old) is new  # nothing left to share
    if SIZE_CLASSES:
        assert len(new.raw) + new.spare == len(old.raw) + old.spare
    other = c.decode(pod("b", rv=3, pad=7_000), {old.key: old}.get)
    assert other.uid != old.uid and other.key == "default/b"


def test_a_kept_protobuf_message_is_packed_against_the_json_and_read_whole() -> None:
    """The message's strings are the JSON's: kept as a delta against it,
    it takes a fraction of its size; ``proto`` gives it back exactly."""
    entry = codec().decode(pod("a", pad=2000))
    assert entry.proto is None and entry.packed_proto is None
    message = b"\x0a\x03pod" + entry.raw[40:] + b"\x12\x00"  # shares the JSON's bytes
    entry.keep_message(message)
    assert entry.proto == message
    assert entry.packed_proto is not None and len(entry.packed_proto) < len(message) // 10
    none = codec().decode(pod("b"))
    none.keep_message(b"")  # no exact message: kept as such
    assert none.proto == b"" and none.packed_proto == b""
