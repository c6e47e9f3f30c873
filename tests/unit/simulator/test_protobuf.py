"""protobuf.py and protoschema.py: kube's protobuf bodies as the JSON they stand for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from watchcache.api.status import ApiError
from watchcache.simulator.protobuf import PROTOBUF, decode
from watchcache.simulator.protoschema import KINDS, MESSAGES, SPECIAL


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # Go's two's complement for negatives
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _varint_field(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def _entry(number: int, key: str, value: bytes) -> bytes:
    return _field(number, _field(1, key.encode()) + _field(2, value))


def _envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    type_meta = _field(1, api_version.encode()) + _field(2, kind.encode())
    return b"k8s\x00" + _field(1, type_meta) + _field(2, raw) + _field(3, b"") + _field(4, b"")


def _meta(name: str, **labels: str) -> bytes:
    out = _field(1, name.encode()) + _field(2, b"") + _field(3, b"")
    for key, value in labels.items():
        out += _entry(11, key, value.encode())
    return out


def test_namespace() -> None:
    body = _envelope("v1", "Namespace", _field(1, _meta("ns1", team="a")))
    assert decode(body) == {
        "kind": "Namespace",
        "apiVersion": "v1",
        "metadata": {"name": "ns1", "labels": {"team": "a"}},
    }


def test_configmap_data_binary_and_immutable() -> None:
    raw = (
        _field(1, _meta("c"))
        + _entry(2, "k", b"v")
        + _entry(3, "b", b"\x00\x01")
        + _varint_field(4, 1)
    )
    decoded: dict[str, Any] = decode(_envelope("v1", "ConfigMap", raw))
    assert decoded["data"] == {"k": "v"} and decoded["binaryData"] == {"b": "AAE="}
    assert decoded["immutable"] is True and decoded["metadata"] == {"name": "c"}


def test_secret_bytes_are_base64() -> None:
    raw = _field(1, _meta("s")) + _entry(2, "p", b"q") + _field(3, b"Opaque")
    decoded = decode(_envelope("v1", "Secret", raw))
    assert (decoded["data"], decoded["type"]) == ({"p": "cQ=="}, "Opaque")


def test_other_kinds_are_unsupported_media_type() -> None:
    with pytest.raises(ApiError) as caught:
        decode(_envelope("apps/v1", "StatefulSet", b""))
    assert caught.value.code == 415


# What kubectl 1.32.4 sent for
# `kubectl create deployment web --image=nginx --replicas=2 --port=8080 -- sleep 10`
# (captured from the simulator's socket): gogo writes every non-pointer
# field, zero or not.
KUBECTL_132_DEPLOYMENT = (
    Path(__file__).parents[2] / "data" / "kubectl-1.32-create-deployment.pb"
).read_bytes()


def test_kubectl_132_create_deployment_decodes_as_its_json() -> None:
    labels = {"app": "web"}
    assert decode(KUBECTL_132_DEPLOYMENT) == {
        "kind": "Deployment",
        "apiVersion": "apps/v1",
        "metadata": {"name": "web", "labels": labels},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {
                            "name": "nginx",
                            "image": "nginx",
                            "command": ["sleep", "10"],
                            "ports": [{"containerPort": 8080}],
                            "resources": {},
                        }
                    ]
                },
            },
            "strategy": {},
        },
    }


def test_pointer_zero_is_kept_plain_zero_dropped() -> None:
    # replicas is *int32: 0 means "scale to zero"; minReadySeconds is a
    # plain int32 with omitempty: 0 is absent in JSON.
    spec = _varint_field(1, 0) + _varint_field(5, 0) + _varint_field(7, 0)
    decoded = decode(_envelope("apps/v1", "Deployment", _field(1, _meta("d")) + _field(2, spec)))
    assert decoded["spec"] == {"replicas": 0}


def test_int_or_string_quantities_and_negative_ints() -> None:
    max_unavailable = _varint_field(1, 1) + _field(3, b"25%")
    max_surge = _varint_field(1, 0) + _varint_field(2, 2)
    rolling = _field(1, max_unavailable) + _field(2, max_surge)
    strategy = _field(1, b"RollingUpdate") + _field(2, rolling)
    spec = _field(4, strategy) + _varint_field(9, -1)
    decoded = decode(_envelope("apps/v1", "Deployment", _field(2, spec)))
    assert decoded["spec"] == {
        "strategy": {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": 2},
        },
        "progressDeadlineSeconds": -1,
    }
    quota = _field(2, _entry(1, "cpu", _field(1, b"500m")))
    assert decode(_envelope("v1", "ResourceQuota", quota))["spec"] == {"hard": {"cpu": "500m"}}


def test_inline_message_merges_into_its_parent() -> None:
    backend = _field(4, _field(1, b"svc") + _field(2, _varint_field(2, 80)))
    path = _field(1, b"/") + _field(2, backend) + _field(3, b"Prefix")
    rule = _field(1, b"a.example") + _field(2, _field(1, _field(1, path)))
    decoded = decode(_envelope("networking.k8s.io/v1", "Ingress", _field(2, _field(3, rule))))
    assert decoded["spec"]["rules"] == [
        {
            "host": "a.example",
            "http": {
                "paths": [
                    {
                        "path": "/",
                        "backend": {"service": {"name": "svc", "port": {"number": 80}}},
                        "pathType": "Prefix",
                    }
                ]
            },
        }
    ]


def test_unknown_field_zero_is_ignored_set_is_bad_request() -> None:
    # Field 99 of ServiceAccount: zero (what gogo writes for an unset
    # newer field) is harmless; set, it would be silently lost.
    zero = _field(1, _meta("sa")) + _varint_field(99, 0) + _field(98, b"")
    assert decode(_envelope("v1", "ServiceAccount", zero))["metadata"] == {"name": "sa"}
    with pytest.raises(ApiError) as caught:
        decode(_envelope("v1", "ServiceAccount", _field(99, b"x")))
    assert caught.value.code == 400 and "field 99 of ServiceAccount" in caught.value.message


def test_schema_names_only_known_messages() -> None:
    scalars = {"s", "i", "b", "bytes", "{}", "{bytes}", "{Quantity}", "_"}
    for message, fields in MESSAGES.items():
        for number, spec in fields.items():
            assert number > 0, (message, spec)
            assert spec.type in scalars | SPECIAL | MESSAGES.keys(), (message, spec)
    assert not KINDS - MESSAGES.keys()


def test_missing_magic_is_bad_request() -> None:
    with pytest.raises(ApiError) as caught:
        decode(b"{}")
    assert caught.value.code == 400


async def test_http_create_from_protobuf(client: Any) -> None:
    body = _envelope("v1", "ConfigMap", _field(1, _meta("pc")) + _entry(2, "a", b"b"))
    code, created = await client.call(
        "POST", "/api/v1/namespaces/default/configmaps", body, PROTOBUF
    )
    assert code == 201 and created["data"] == {"a": "b"} and "generation" not in created["metadata"]
