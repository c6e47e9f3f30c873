"""What an informer hands its users: one Kubernetes object, cheap to hold.

Glossary:
    entry     the cache's form of an object (``watchcache.cache.Entry``):
              key, namespace, uid, RV and labels decoded, the rest kept as
              the JSON bytes upstream sent. The informer's store holds only
              entries; a ``KubeObject`` is a view made when one is handed
              out, and costs under 100 bytes until decoded.
    metadata  the rest of ``metadata`` (annotations, owner references,
              generation, timestamps, finalizers): decoded from the bytes on
              first use, by a struct that skips ``spec`` and ``status``
              without building them, and kept on this view.
    to_dict   the whole object as Python data, decoded on first use and kept
              on this view (every handler of one event shares no views: each
              gets its own, so one handler's mutations never reach another).
    model     the official client's class for the kind (``V1Pod``), built by
              ``to_model`` through the client's own deserialiser, for code
              written against it. The ``kubernetes`` package is imported
              only then.

Invariant: a view never changes; an update to the object is a new entry and
a new view. Mutating ``to_dict()``'s answer changes only that dict.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

import msgspec

from watchcache.cache import Entry

__all__ = ["KubeObject", "ObjectMeta", "OwnerReference"]


class OwnerReference(msgspec.Struct, frozen=True):
    apiVersion: str = ""
    kind: str = ""
    name: str = ""
    uid: str = ""
    controller: bool = False
    blockOwnerDeletion: bool = False


class ObjectMeta(msgspec.Struct, frozen=True):
    """The metadata fields an entry does not already hold."""

    annotations: dict[str, str] = {}
    ownerReferences: list[OwnerReference] = []
    finalizers: list[str] = []
    generation: int = 0
    creationTimestamp: str = ""
    deletionTimestamp: str | None = None
    generateName: str = ""


class _Head(msgspec.Struct):
    kind: str = ""
    apiVersion: str = ""
    metadata: ObjectMeta = msgspec.field(default_factory=ObjectMeta)


_head_decoder = msgspec.json.Decoder(_Head)


class KubeObject:
    """One object as an informer holds it. Compare with ``==`` by key, uid
    and resourceVersion (two views of one state are equal)."""

    __slots__ = ("_dict", "_entry", "_head", "final_state_unknown")

    def __init__(self, entry: Entry, *, final_state_unknown: bool = False) -> None:
        self._entry = entry
        self._head: _Head | None = None
        self._dict: dict[str, Any] | None = None
        # True on a delete discovered by a relist: the object was deleted
        # while no watch was open, and this is the last state seen before
        # (client-go's DeletedFinalStateUnknown).
        self.final_state_unknown = final_state_unknown

    def __repr__(self) -> str:
        unknown = " final-state-unknown" if self.final_state_unknown else ""
        return f"<{self.kind} {self.key} rv={self._entry.rv}{unknown}>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, KubeObject):
            return NotImplemented
        a, b = self._entry, other._entry
        return a is b or (a.key == b.key and a.uid == b.uid and a.rv == b.rv)

    def __hash__(self) -> int:
        return hash((self._entry.key, self._entry.uid, self._entry.rv))

    # -- what the cache decoded --------------------------------------------

    @property
    def entry(self) -> Entry:
        return self._entry

    @property
    def key(self) -> str:
        """``namespace/name``, or ``name`` when cluster-scoped."""
        return self._entry.key

    @property
    def name(self) -> str:
        return self._entry.name

    @property
    def namespace(self) -> str:
        return self._entry.namespace

    @property
    def uid(self) -> str:
        return self._entry.uid

    @property
    def resource_version(self) -> str:
        return str(self._entry.rv)

    @property
    def labels(self) -> Mapping[str, str]:
        return self._entry.labels

    @property
    def raw(self) -> bytes:
        """The object's JSON, exactly as upstream sent it (typed)."""
        return self._entry.raw

    # -- decoded on first use ----------------------------------------------

    def _decoded_head(self) -> _Head:
        head = self._head
        if head is None:
            head = self._head = _head_decoder.decode(self._entry.raw)
        return head

    @property
    def kind(self) -> str:
        return self._decoded_head().kind

    @property
    def api_version(self) -> str:
        return self._decoded_head().apiVersion

    @property
    def metadata(self) -> ObjectMeta:
        return self._decoded_head().metadata

    @property
    def annotations(self) -> Mapping[str, str]:
        return self.metadata.annotations

    @property
    def owner_references(self) -> list[OwnerReference]:
        return self.metadata.ownerReferences

    @property
    def generation(self) -> int:
        return self.metadata.generation

    @property
    def deletion_timestamp(self) -> str | None:
        return self.metadata.deletionTimestamp

    def controller_of(self) -> OwnerReference | None:
        """The owner reference marked ``controller``, if any."""
        return next((ref for ref in self.owner_references if ref.controller), None)

    def to_dict(self) -> dict[str, Any]:
        """The whole object as Python data (decoded once per view)."""
        if self._dict is None:
            self._dict = msgspec.json.decode(self._entry.raw)
        return self._dict

    def to_model(self, model: str | None = None, api_client: Any = None) -> Any:
        """The official client's model object (``kubernetes.client.V1Pod``
        for a pod), built by its ``ApiClient.deserialize``. ``model`` names
        the class when the kind's is not ``<Version><Kind>``; ``api_client``
        defaults to a plain ``kubernetes.client.ApiClient()``."""
        if api_client is None:
            from kubernetes.client import ApiClient

            api_client = ApiClient()
        name = model or _model_name(self)
        text = self._entry.raw.decode()
        if "content_type" in inspect.signature(api_client.deserialize).parameters:
            # newer clients (37.x): deserialize(text, type, content_type)
            return api_client.deserialize(text, name, "application/json")
        return api_client.deserialize(_Body(text), name)


class _Body:
    """What older clients' ``ApiClient.deserialize`` reads of a response:
    its ``data``."""

    def __init__(self, text: str) -> None:
        self.data = text


def _model_name(obj: KubeObject) -> str:
    version = obj.api_version.rsplit("/", 1)[-1]
    return version[:1].upper() + version[1:] + obj.kind
