"""The write verbs and GET: create, get, update, delete, deletecollection,
and the status and scale subresources.

Glossary:
    info        the ResourceInfo of the request's resource.
    entry       a stored version (store.SimEntry); verbs return the entry the
                response shows.
    finalizing  an object with deletionTimestamp set waits for its
                finalizers to be emptied; the update that empties them
                deletes it.
    graceful    a pod bound to a node is deleted in two steps: DELETE sets
                deletionTimestamp (MODIFIED); a later DELETE with grace 0
                (the kubelet's) shortens the grace period (MODIFIED) and
                removes it (DELETED), as kube-apiserver does. No kubelet runs
                here: a test (or the demo workload) sends that DELETE.

Invariants:
    - Every function here is sync: it checks, then writes through
      ``SimStore.write``, and raises ``ApiError`` before any write on failure.
    - An update that changes nothing keeps the object's RV and makes no
      event, as kube-apiserver's no-op updates do.
    - Within ``dry_run``, every write goes to ``SimStore.preview``: the
      answer is the one a real write would give (but a created object has
      no resourceVersion), and the store, its RV and the watchers see
      nothing.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from watchcache.api import status
from watchcache.api.resources import GroupVersionResource, ResourceInfo, builtin_resource
from watchcache.api.strconv import NumError, parse_int64
from watchcache.simulator.admission import (
    Clock,
    carry_server_fields,
    default_object,
    generate_name,
    has_status_subresource,
    spec_changed,
    stamp_created,
    timestamp,
)
from watchcache.simulator.store import SimCollection, SimEntry, SimStore, key_of

__all__ = ["DeleteOptions", "Verbs"]

_NAMESPACES = builtin_resource(GroupVersionResource("", "v1", "namespaces"))
assert _NAMESPACES is not None

# Kinds whose DELETE answers with the deleted object rather than a Status
# (the registries that set ReturnDeletedObject); custom resources do too.
_RETURNS_OBJECT = frozenset({"Pod", "Service", "Namespace", "PersistentVolumeClaim"})


def _default_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class DeleteOptions:
    grace_period_seconds: int | None = None
    uid: str | None = None
    resource_version: str | None = None

    @classmethod
    def from_body(cls, body: dict[str, Any] | None, query_grace: str | None) -> DeleteOptions:
        body = body or {}
        grace = body.get("gracePeriodSeconds")
        if grace is None and query_grace is not None:
            try:
                grace = parse_int64(query_grace)
            except NumError as err:  # kube-apiserver's query decoding
                raise status.bad_request(str(err)) from None
        pre = body.get("preconditions") or {}
        return cls(grace, pre.get("uid"), pre.get("resourceVersion"))


class Verbs:
    def __init__(
        self, store: SimStore, clock: Clock = _default_clock, seed: int | None = None
    ) -> None:
        self.store = store
        self.clock = clock
        self.rng = random.Random(seed)
        self._dry = False

    # -- dry run ---------------------------------------------------------

    @contextlib.contextmanager
    def dry_run(self, dry: bool = True) -> Iterator[None]:
        """Within it (dryRun=All), verbs check and answer as usual but
        store nothing. Safe because every verb is sync: no other request
        runs until it is left."""
        self._dry = dry
        try:
            yield
        finally:
            self._dry = False

    def _write(
        self, coll: SimCollection, event_type: str, obj: dict[str, Any], prev: SimEntry | None
    ) -> SimEntry:
        if self._dry:
            return self.store.preview(coll, event_type, obj, prev)
        return self.store.write(coll, event_type, obj, prev).entry

    # -- reading ---------------------------------------------------------

    def get(self, info: ResourceInfo, namespace: str, name: str) -> SimEntry:
        entry = self.store.collection(info).get(key_of(namespace, name))
        if entry is None:
            raise status.not_found(info.gvr.resource, name, info.gvr.group)
        return entry

    def full(self, info: ResourceInfo, entry: SimEntry) -> dict[str, Any]:
        """The entry as a GET shows it: kind and apiVersion first."""
        obj = entry.decode()
        if not info.builtin:
            return obj
        gvr = info.gvr
        head: dict[str, Any] = {
            "kind": info.kind,
            "apiVersion": gvr.api_version,
        }
        head.update(obj)
        return head

    # -- create ----------------------------------------------------------

    def create(
        self,
        info: ResourceInfo,
        namespace: str,
        obj: dict[str, Any],
        managed_fields: list[dict[str, Any]] | None = None,
    ) -> SimEntry:
        """Create ``obj``; only server-side apply passes ``managed_fields``."""
        meta = self._check_namespace_of(info, namespace, obj)
        self._require_namespace(info, namespace)
        if not meta.get("name"):
            self._name_from_generate(info, meta)
        coll = self.store.collection(info)
        key = key_of(namespace, meta["name"])
        if coll.get(key) is not None:
            raise status.already_exists(info.gvr.resource, meta["name"], info.gvr.group)
        stamp_created(obj, info, self.clock())
        if managed_fields:
            meta["managedFields"] = managed_fields
        return self._write(coll, "ADDED", obj, None)

    def _check_namespace_of(
        self, info: ResourceInfo, namespace: str, obj: dict[str, Any]
    ) -> dict[str, Any]:
        if not isinstance(obj.get("metadata", {}), dict):
            raise status.bad_request("metadata must be an object")
        meta: dict[str, Any] = obj.setdefault("metadata", {})
        given = meta.get("namespace") or ""
        if info.namespaced:
            if given and given != namespace:
                raise status.bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        return meta

    def _require_namespace(self, info: ResourceInfo, namespace: str) -> None:
        if not info.namespaced:
            return
        namespaces = self.store.collection(_NAMESPACES)  # type: ignore[arg-type]
        if namespaces.get(namespace) is None:
            raise status.not_found("namespaces", namespace)

    def _name_from_generate(self, info: ResourceInfo, meta: dict[str, Any]) -> None:
        prefix = meta.get("generateName")
        if not prefix:
            cause = {
                "reason": "FieldValueRequired",
                "message": "Required value: name or generateName is required",
                "field": "metadata.name",
            }
            raise status.invalid(info.kind, "", [cause], info.gvr.group)
        meta["name"] = generate_name(prefix, self.rng)

    # -- update ----------------------------------------------------------

    def update(
        self,
        info: ResourceInfo,
        namespace: str,
        name: str,
        obj: dict[str, Any],
        subresource: str = "",
    ) -> SimEntry:
        meta = self._check_namespace_of(info, namespace, obj)
        if meta.get("name") and meta["name"] != name:
            raise status.bad_request(
                f"the name of the object ({meta['name']}) does not match the name on the URL ({name})"
            )
        meta["name"] = name
        current = self.get(info, namespace, name)
        self._check_fresh(info, current, meta.get("resourceVersion"))
        old = self.full(info, current)
        carry_server_fields(old, obj)
        self._keep_other_half(info, old, obj, subresource)
        default_object(obj, info)
        return self._store_update(info, current, old, obj)

    def _check_fresh(self, info: ResourceInfo, current: SimEntry, rv: str | None) -> None:
        if rv and rv != str(current.rv):
            raise status.conflict(
                info.gvr.resource,
                current.name,
                "the object has been modified; please apply your changes to the latest version and try again",
                info.gvr.group,
            )

    def _keep_other_half(
        self, info: ResourceInfo, old: dict[str, Any], new: dict[str, Any], subresource: str
    ) -> None:
        """A main-resource update cannot change status, a status update
        changes nothing else, for kinds with a status subresource."""
        if not has_status_subresource(info):
            return
        if subresource == "status":
            for name, value in old.items():
                if name not in ("status", "metadata"):
                    new[name] = value
        elif "status" in old:
            new["status"] = old["status"]
        else:
            new.pop("status", None)

    def _store_update(
        self, info: ResourceInfo, current: SimEntry, old: dict[str, Any], new: dict[str, Any]
    ) -> SimEntry:
        new_meta = new["metadata"]
        new_meta["resourceVersion"] = old["metadata"].get("resourceVersion")
        if "generation" in new_meta and spec_changed(old, new):
            new_meta["generation"] = old["metadata"]["generation"] + 1
        if new == old:
            return current
        coll = self.store.collection(info)
        if new_meta.get("deletionTimestamp") and not new_meta.get("finalizers"):
            return self._write(coll, "DELETED", new, current)
        return self._write(coll, "MODIFIED", new, current)

    # -- binding (pods) ---------------------------------------------------

    def bind(
        self, info: ResourceInfo, namespace: str, name: str, binding: dict[str, Any]
    ) -> SimEntry:
        """Assign a pod to a node, as the scheduler does through pods/binding."""
        current = self.get(info, namespace, name)
        old = self.full(info, current)
        node = (binding.get("target") or {}).get("name", "")
        assigned = old.get("spec", {}).get("nodeName")
        if assigned:
            why = f'pod {name} is already assigned to node "{assigned}"'
            raise status.conflict("pods/binding", name, why)
        new = self.full(info, current)
        new.setdefault("spec", {})["nodeName"] = node
        return self._store_update(info, current, old, new)

    # -- scale -----------------------------------------------------------

    def scale(self, info: ResourceInfo, entry: SimEntry) -> dict[str, Any]:
        obj = entry.decode()
        meta = obj["metadata"]
        scale_meta = {
            k: meta[k]
            for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if k in meta
        }
        selector = obj.get("spec", {}).get("selector", {}).get("matchLabels", {})
        replicas = obj.get("spec", {}).get("replicas", 0)
        scale_status: dict[str, Any] = {"replicas": obj.get("status", {}).get("replicas", 0)}
        if selector:
            scale_status["selector"] = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
        return {
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": scale_meta,
            # ScaleSpec.replicas is omitempty: a scale to zero shows {}.
            "spec": {"replicas": replicas} if replicas else {},
            "status": scale_status,
        }

    def update_scale(
        self, info: ResourceInfo, namespace: str, name: str, scale: dict[str, Any]
    ) -> SimEntry:
        current = self.get(info, namespace, name)
        self._check_fresh(info, current, scale.get("metadata", {}).get("resourceVersion"))
        old = self.full(info, current)
        new = self.full(info, current)
        replicas = scale.get("spec", {}).get("replicas", 0)
        if not isinstance(replicas, int) or replicas < 0:
            cause = {
                "reason": "FieldValueInvalid",
                "message": f"Invalid value: {replicas}: must be greater than or equal to 0",
                "field": "spec.replicas",
            }
            raise status.invalid("Scale", name, [cause], "autoscaling")
        new.setdefault("spec", {})["replicas"] = replicas
        return self._store_update(info, current, old, new)

    # -- delete ----------------------------------------------------------

    def returns_object(self, info: ResourceInfo) -> bool:
        return not info.builtin or info.kind in _RETURNS_OBJECT

    def delete(
        self, info: ResourceInfo, namespace: str, name: str, options: DeleteOptions
    ) -> tuple[SimEntry, bool]:
        """Delete or mark; returns the entry to show and whether it is gone."""
        current = self.get(info, namespace, name)
        self._check_preconditions(info, current, options)
        obj = self.full(info, current)
        if info.kind == "Namespace" and info.builtin:
            self._empty_namespace(name)
        grace = self._grace(info, obj, options)
        if current.finalizers or grace > 0 or current.deleting:
            # Marking (or shortening a pending grace period) is its own
            # write, MODIFIED; a grace of 0 then deletes, as the kubelet's
            # final DELETE does.
            marked = self._mark_deleting(info, current, obj, grace)
            if marked.finalizers or grace > 0 or marked is current:
                return marked, False
            current, obj = marked, self.full(info, marked)
        coll = self.store.collection(info)
        return self._write(coll, "DELETED", obj, current), True

    def _check_preconditions(
        self, info: ResourceInfo, current: SimEntry, options: DeleteOptions
    ) -> None:
        if options.uid and options.uid != current.uid:
            why = f"Precondition failed: UID in precondition: {options.uid}, UID in object meta: {current.uid}"
            raise status.conflict(info.gvr.resource, current.name, why, info.gvr.group)
        if options.resource_version and options.resource_version != str(current.rv):
            why = (
                f"Precondition failed: ResourceVersion in precondition: {options.resource_version}, "
                f"ResourceVersion in object meta: {current.rv}"
            )
            raise status.conflict(info.gvr.resource, current.name, why, info.gvr.group)

    def _grace(self, info: ResourceInfo, obj: dict[str, Any], options: DeleteOptions) -> int:
        """Seconds a deletion waits; only bound, running pods wait at all."""
        if not (info.builtin and info.kind == "Pod"):
            return 0
        spec = obj.get("spec", {})
        if not spec.get("nodeName") or obj.get("status", {}).get("phase") in (
            "Succeeded",
            "Failed",
        ):
            return 0
        if options.grace_period_seconds is not None:
            return max(options.grace_period_seconds, 0)
        meta_grace = obj["metadata"].get("deletionGracePeriodSeconds")
        if meta_grace is not None:
            return int(meta_grace)
        return int(spec.get("terminationGracePeriodSeconds", 30))

    def _mark_deleting(
        self, info: ResourceInfo, current: SimEntry, obj: dict[str, Any], grace: int
    ) -> SimEntry:
        meta = obj["metadata"]
        old_grace = meta.get("deletionGracePeriodSeconds")
        # A second DELETE may shorten the grace period, never lengthen it.
        if meta.get("deletionTimestamp") and (old_grace is None or old_grace <= grace):
            return current
        meta["deletionTimestamp"] = timestamp(self.clock(), grace)
        meta["deletionGracePeriodSeconds"] = grace
        coll = self.store.collection(info)
        return self._write(coll, "MODIFIED", obj, current)

    def _empty_namespace(self, namespace: str) -> None:
        """No namespace controller runs here: its content goes at once."""
        for coll in list(self.store.collections.values()):
            if not coll.info.namespaced:
                continue
            for entry in list(
                coll.items.irange(namespace + "/", namespace + "0", inclusive=(True, False))
            ):
                self._force_delete(coll, coll.items[entry])

    def _force_delete(self, coll: SimCollection, entry: SimEntry) -> None:
        self._write(coll, "DELETED", self.full(coll.info, entry), entry)

    def delete_many(
        self, info: ResourceInfo, entries: Iterable[SimEntry], options: DeleteOptions
    ) -> list[SimEntry]:
        shown = []
        for entry in list(entries):
            shown.append(self.delete(info, entry.namespace, entry.name, options)[0])
        return shown
