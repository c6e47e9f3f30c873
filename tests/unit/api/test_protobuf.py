"""watchcache.api.protobuf on small objects whose bytes are worked out by
hand from Go's rules (the e2e test compares real objects with kube-apiserver)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import msgspec
import pytest

from watchcache.api import protobuf
from watchcache.api.protobuf.message import encode, plan, varint
from watchcache.api.protobuf.schema import KINDS, MESSAGES, SCALARS

# ObjectMeta{name: "a"}: every non-pointer field is written, zero or not:
# name 1, generateName 2, namespace 3, selfLink 4, uid 5, resourceVersion 6
# (strings), generation 7 (varint 0), creationTimestamp 8 (an empty Time),
# clusterName 15.
META_A = bytes.fromhex("0a0161 1200 1a00 2200 2a00 3200 3800 4200 7a00")
CONFIGMAP_A = b"\x0a\x13" + META_A  # ConfigMap: metadata (1) only


def configmap(**fields: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, **fields}


def kind(api_version: str, name: str) -> protobuf.ProtoKind:
    found = protobuf.kind_for(api_version, name)
    assert found is not None
    return found


def test_zero_non_pointer_fields_are_written_and_pointers_are_not() -> None:
    assert kind("v1", "ConfigMap").message(configmap()) == CONFIGMAP_A


def test_a_pointer_set_to_its_zero_value_is_written() -> None:
    message = kind("v1", "ConfigMap").message(configmap(immutable=False))
    assert message == CONFIGMAP_A + b"\x20\x00"


def test_json_null_is_absent() -> None:
    message = kind("v1", "ConfigMap").message(configmap(immutable=None, data=None))
    assert message == CONFIGMAP_A


def test_map_entries_are_sorted_and_nil_bytes_values_have_no_value_field() -> None:
    message = kind("v1", "ConfigMap").message(
        configmap(data={"b": "2", "a": ""}, binaryData={"x": "AAE=", "y": "", "z": None})
    )
    data = b"\x12\x05\x0a\x01a\x12\x00" + b"\x12\x06\x0a\x01b\x12\x012"
    binary = (
        b"\x1a\x07\x0a\x01x\x12\x02\x00\x01"
        + b"\x1a\x05\x0a\x01y\x12\x00"  # "" decodes to empty, not nil: written
        + b"\x1a\x03\x0a\x01z"  # null is a nil []byte: no value
    )
    assert message == CONFIGMAP_A + data + binary


def test_time_is_seconds_with_zero_nanos_and_empty_when_absent() -> None:
    meta = plan("meta/v1.ObjectMeta")
    stamped = encode(meta, {"name": "a", "creationTimestamp": "1970-01-01T00:01:40Z"})
    assert stamped == META_A.replace(b"\x42\x00", b"\x42\x04\x08\x64\x10\x00")
    assert encode(meta, {"name": "a", "creationTimestamp": None}) == META_A


def test_micro_time_keeps_nanoseconds() -> None:
    lease = plan("coordination/v1.LeaseSpec")
    message = encode(lease, {"renewTime": "1970-01-01T00:00:01.000002Z"})
    # holderIdentity, leaseDurationSeconds, acquireTime, leaseTransitions are
    # pointers: absent
    assert message == b"\x22\x05\x08\x01\x10\xd0\x0f"  # renewTime 4: 1 s, 2000 ns


def test_negative_integers_are_ten_byte_varints() -> None:
    assert varint(-1) == b"\xff" * 9 + b"\x01"
    priority = plan("scheduling/v1.PriorityClass")
    message = encode(priority, {"metadata": {"name": "a"}, "value": -2})
    assert message[2 + len(META_A) :][:11] == b"\x10" + b"\xfe" + b"\xff" * 8 + b"\x01"


def test_int_or_string_writes_all_three_fields() -> None:
    port = plan("core/v1.ServicePort")
    by_number = encode(port, {"port": 80, "targetPort": 8080})
    by_name = encode(port, {"port": 80, "targetPort": "http"})
    # name 1, protocol 2, port 3, targetPort 4 {type, intVal, strVal}, nodePort 5
    head = b"\x0a\x00\x12\x00\x18\x50"
    assert by_number == head + b"\x22\x07\x08\x00\x10\x90\x3f\x1a\x00" + b"\x28\x00"
    assert by_name == head + b"\x22\x0a\x08\x01\x10\x00\x1a\x04http" + b"\x28\x00"


def test_inline_message_takes_its_fields_from_the_parent_object() -> None:
    volume = plan("core/v1.Volume")
    # name 1; volumeSource 2 {emptyDir 2 {medium 1 ""}}: inlined in JSON
    assert encode(volume, {"name": "v", "emptyDir": {}}) == (b"\x0a\x01v\x12\x04\x12\x02\x0a\x00")


def test_quantity_is_its_string() -> None:
    requirements = plan("core/v1.ResourceRequirements")
    message = encode(requirements, {"limits": {"cpu": "1500m"}})
    assert message == b"\x0a\x0e\x0a\x03cpu\x12\x07\x0a\x051500m"


def test_fields_v1_is_the_json_value_bytes() -> None:
    entry = plan("meta/v1.ManagedFieldsEntry")
    fields = {"f:data": {".": {}, "f:a": {}}}
    raw = msgspec.json.encode(fields)
    message = encode(entry, {"fieldsType": "FieldsV1", "fieldsV1": fields})
    assert message.endswith(b"\x3a" + varint(len(raw) + 2) + b"\x0a" + varint(len(raw)) + raw)


@pytest.mark.parametrize(
    "obj",
    [
        configmap(surprise=1),  # a field this release lacks: dropping it would lie
        configmap(metadata={"name": "a", "labels": {"k": 1}}),
        configmap(immutable="yes"),
        configmap(binaryData={"x": "not base64!"}),
        configmap(metadata=["not", "an", "object"]),
        configmap(metadata={"creationTimestamp": "yesterday"}),
    ],
)
def test_what_the_schema_cannot_render_exactly_is_not_encodable(obj: dict[str, Any]) -> None:
    with pytest.raises(protobuf.NotEncodable):
        kind("v1", "ConfigMap").message(obj)


def test_a_malformed_list_metadata_is_not_encodable() -> None:
    with pytest.raises(protobuf.NotEncodable):
        protobuf.list_body("v1", "PodList", {"resourceVersion": 7}, [])


def test_custom_resources_have_no_protobuf_form() -> None:
    assert protobuf.kind_for("example.com/v1", "Widget") is None
    assert protobuf.kind_for("v1", "Widget") is None


def test_envelope_is_magic_then_unknown() -> None:
    body = protobuf.encode_object(kind("v1", "ConfigMap"), msgspec.json.encode(configmap()))
    type_meta = b"\x0a" + varint(15) + b"\x0a\x02v1\x12\x09ConfigMap"
    assert body == (b"k8s\x00" + type_meta + b"\x12\x15" + CONFIGMAP_A + b"\x1a\x00\x22\x00")


def test_list_body_chunks_join_to_the_list_and_know_its_length() -> None:
    cm = kind("v1", "ConfigMap")
    items = [configmap(), configmap(immutable=True)]
    meta = {"resourceVersion": "7", "continue": "c", "remainingItemCount": 0}
    joined = protobuf.encode_list(cm, meta, items)
    parts = protobuf.list_body("v1", "ConfigMapList", meta, [cm.message(i) for i in items])
    assert b"".join(parts.chunks()) == joined
    assert parts.length == len(joined)
    # ListMeta: selfLink "", resourceVersion "7", continue "c", remainingItemCount 0
    list_meta = b"\x0a\x0a\x0a\x00\x12\x017\x1a\x01c\x20\x00"
    items_bytes = b"\x12\x15" + CONFIGMAP_A + b"\x12\x17" + CONFIGMAP_A + b"\x20\x01"
    message = list_meta + items_bytes
    type_meta = b"\x0a\x02v1\x12\x0dConfigMapList"
    assert joined == (
        b"k8s\x00\x0a"
        + varint(len(type_meta))
        + type_meta
        + b"\x12"
        + varint(len(message))
        + message
        + b"\x1a\x00\x22\x00"
    )


def test_empty_list_has_its_metadata_and_no_items() -> None:
    body = protobuf.encode_list(kind("v1", "Pod"), {"resourceVersion": "1"}, [])
    assert b"\x0a\x07\x0a\x00\x12\x011\x1a\x00\x1a\x00\x22\x00" in body


def test_watch_frame_is_length_then_watch_event_holding_the_envelope() -> None:
    envelope = protobuf.envelope("v1", "ConfigMap", CONFIGMAP_A)
    frame = protobuf.watch_frame("ADDED", envelope)
    raw = b"\x0a" + varint(len(envelope)) + envelope  # RawExtension.raw
    event = b"\x0a\x05ADDED\x12" + varint(len(raw)) + raw
    assert frame == len(event).to_bytes(4, "big") + event


def test_partial_metadata_message_is_the_objects_field_one() -> None:
    cm = kind("v1", "ConfigMap")
    obj = configmap(data={"a": "b"})
    assert protobuf.partial_message(cm, obj, cm.message(obj)) == CONFIGMAP_A
    assert protobuf.partial_message(cm, obj) == CONFIGMAP_A
    partial = kind("meta.k8s.io/v1", "PartialObjectMetadata")
    assert partial.message({"metadata": {"name": "a"}}) == CONFIGMAP_A


def test_partial_metadata_of_a_daemonset_lacks_its_v1_only_annotation() -> None:
    ds = kind("apps/v1", "DaemonSet")
    generation = {"deprecated.daemonset.template.generation": "1"}
    obj = {"metadata": {"name": "a", "annotations": generation}}
    # an empty map writes nothing: the same bytes as no annotations at all
    assert protobuf.partial_message(ds, obj, ds.message(obj)) == CONFIGMAP_A
    both = {"metadata": {"name": "a", "annotations": {**generation, "x": "y"}}}
    assert protobuf.partial_message(ds, both) == protobuf.partial_message(
        ds, {"metadata": {"name": "a", "annotations": {"x": "y"}}}
    )


def test_schema_is_closed_and_in_field_number_order() -> None:
    for message in MESSAGES.values():
        numbers = [f.number for f in message.fields]
        assert numbers == sorted(numbers), message.name
        for field in message.fields:
            assert field.type in SCALARS or field.type in MESSAGES, (message.name, field)


def test_schema_covers_the_kinds_go_clients_watch() -> None:
    wanted = (
        {
            ("v1", k)
            for k in [
                "Pod",
                "Node",
                "Service",
                "Endpoints",
                "ConfigMap",
                "Secret",
                "Namespace",
                "ServiceAccount",
                "Event",
                "PodTemplate",
                "PersistentVolume",
                "PersistentVolumeClaim",
            ]
        }
        | {
            ("events.k8s.io/v1", "Event"),
            ("coordination.k8s.io/v1", "Lease"),
            ("discovery.k8s.io/v1beta1", "EndpointSlice"),
            ("batch/v1", "Job"),
            ("meta.k8s.io/v1", "PartialObjectMetadata"),
            ("v1", "Status"),
        }
        | {("apps/v1", k) for k in ("ReplicaSet", "Deployment", "DaemonSet", "StatefulSet")}
    )
    assert wanted <= set(KINDS)


def _generator() -> ModuleType:
    path = Path(__file__).parents[3] / "scripts" / "gen-protoschema.py"
    spec = importlib.util.spec_from_file_location("gen_protoschema", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_generator_joins_proto_numbers_with_go_pointers_and_json_names(tmp_path: Path) -> None:
    gen = _generator()
    (tmp_path / "generated.proto").write_text(
        "message Thing {\n"
        "  optional string name = 1;\n"
        "  optional k8s.io.apimachinery.pkg.apis.meta.v1.Time when = 3;\n"
        "  optional ThingSource source = 2;\n"
        "  repeated int32 numbers = 4;\n"
        "  map<string, k8s.io.apimachinery.pkg.api.resource.Quantity> limits = 5;\n"
        "}\n"
    )
    (tmp_path / "types.go").write_text(
        "type Thing struct {\n"
        '\tName string `json:"theName" protobuf:"bytes,1,opt,name=name"`\n'
        '\tThingSource `json:",inline" protobuf:"bytes,2,opt,name=source"`\n'
        '\tWhen *metav1.Time `json:"when,omitempty" protobuf:"bytes,3,opt,name=when"`\n'
        "}\n"
    )
    messages = gen.read_proto(tmp_path / "generated.proto", "core/v1")
    gofields, slices = gen.read_go(tmp_path)
    (line,) = gen.render("core/v1", messages, gofields, slices)
    assert line == (
        "Thing theName=1:s source=2:ThingSource^ when=3:meta/v1.Time*"
        " numbers=4:[i32 limits=5:{resource.Quantity"
    )
