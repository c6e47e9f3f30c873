"""KubeObject: metadata as attributes, the rest decoded on first use."""

from __future__ import annotations

import json

from kubernetes.client import V1Pod
from tests.unit.informer.fakes import PODS

from watchcache.cache import Cache
from watchcache.informer import KubeObject

POD = {
    "metadata": {
        "name": "web-0",
        "namespace": "shop",
        "uid": "u-1",
        "resourceVersion": "42",
        "generation": 3,
        "labels": {"app": "web"},
        "annotations": {"note": "hi"},
        "finalizers": ["f"],
        "creationTimestamp": "2026-01-01T00:00:00Z",
        "ownerReferences": [
            {
                "apiVersion": "apps/v1",
                "kind": "StatefulSet",
                "name": "web",
                "uid": "s-1",
                "controller": True,
            }
        ],
    },
    "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "nginx"}]},
    "status": {"phase": "Running"},
}


def view() -> KubeObject:
    cache = Cache(PODS)  # type: ignore[arg-type]
    cache.replace([json.dumps(POD).encode()], 42)  # a list item: untyped
    entry = cache.store.get("shop/web-0")
    assert entry is not None
    return KubeObject(entry)


def test_metadata_reads_as_attributes() -> None:
    obj = view()
    assert (obj.key, obj.name, obj.namespace, obj.uid) == ("shop/web-0", "web-0", "shop", "u-1")
    assert obj.resource_version == "42" and obj.labels == {"app": "web"}
    assert (obj.kind, obj.api_version) == ("Pod", "v1")
    assert obj.annotations == {"note": "hi"} and obj.generation == 3
    assert obj.metadata.finalizers == ["f"] and obj.deletion_timestamp is None
    owner = obj.controller_of()
    assert owner is not None and (owner.kind, owner.name) == ("StatefulSet", "web")
    assert repr(obj) == "<Pod shop/web-0 rv=42>"


def test_to_dict_decodes_once_per_view_and_views_compare_by_state() -> None:
    obj = view()
    first = obj.to_dict()
    assert first["kind"] == "Pod" and first["spec"]["nodeName"] == "n1"
    assert obj.to_dict() is first
    other = view()
    assert other == obj and hash(other) == hash(obj)
    assert other.to_dict() is not first


def test_to_model_builds_the_official_clients_class() -> None:
    model = view().to_model()
    assert isinstance(model, V1Pod)
    assert model.metadata.name == "web-0" and model.spec.node_name == "n1"
    assert model.metadata.owner_references[0].controller is True
