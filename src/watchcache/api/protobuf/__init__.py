"""Kube's protobuf encoding (``application/vnd.kubernetes.protobuf``) of cached JSON.

Go clients (kubelets, controllers) ask for protobuf first; this package
writes the bytes kube-apiserver would for the same object, from its JSON.

Layers:
    schema_data   the field tables, generated from a Kubernetes release by
                  scripts/gen-protoschema.py (RELEASE says which).
    schema        those tables parsed: MESSAGES, KINDS.
    message       JSON object -> its protobuf message (Go's gogo rules).
    envelope      the bodies around messages: GET, LIST (streamable), watch
                  frames, PartialObjectMetadata.

Custom resources and anything the schema cannot render exactly raise
NotEncodable (kind_for returns None for unknown kinds): answer JSON then.
"""

from watchcache.api.protobuf.envelope import (
    MAGIC,
    ListBody,
    ProtoKind,
    encode_list,
    encode_object,
    envelope,
    kind_for,
    list_body,
    partial_message,
    watch_frame,
)
from watchcache.api.protobuf.message import NotEncodable
from watchcache.api.protobuf.schema import RELEASE

__all__ = [
    "CONTENT_TYPE",
    "MAGIC",
    "RELEASE",
    "STREAM_CONTENT_TYPE",
    "ListBody",
    "NotEncodable",
    "ProtoKind",
    "encode_list",
    "encode_object",
    "envelope",
    "kind_for",
    "list_body",
    "partial_message",
    "watch_frame",
]

CONTENT_TYPE = "application/vnd.kubernetes.protobuf"
STREAM_CONTENT_TYPE = "application/vnd.kubernetes.protobuf;stream=watch"
