"""protobuf.py: kube's protobuf bodies for Namespace, ConfigMap, Secret."""

from __future__ import annotations

from typing import Any

import pytest

from watchcache.api.status import ApiError
from watchcache.testing.protobuf import PROTOBUF, decode


def _field(number: int, payload: bytes) -> bytes:
    return bytes([number << 3 | 2, len(payload)]) + payload


def _varint_field(number: int, value: int) -> bytes:
    return bytes([number << 3, value])


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
        decode(_envelope("apps/v1", "Deployment", b""))
    assert caught.value.code == 415


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
