"""What the simulated server sets on an object before it is stored.

Glossary:
    server fields  metadata the client cannot choose: uid,
                   creationTimestamp, generation, resourceVersion (the store
                   sets that one), deletionTimestamp and
                   deletionGracePeriodSeconds.
    defaulting     the values kube-apiserver fills in that field selectors
                   read, so ``spec.schedulerName=default-scheduler`` matches
                   a pod created without it.

Invariant: these functions change only the dict they are given and never
touch the store; verbs.py decides when to call them.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from watchcache.api.resources import ResourceInfo

__all__ = [
    "NO_STATUS_SUBRESOURCE",
    "SCALABLE",
    "Clock",
    "carry_server_fields",
    "default_object",
    "generate_name",
    "has_generation",
    "has_status_subresource",
    "spec_changed",
    "stamp_created",
    "timestamp",
]

Clock = Callable[[], datetime]

# kube-apiserver's generateName alphabet: no vowels (no words), no
# look-alike digits; five characters as in names.SimpleNameGenerator.
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_NAME_SUFFIX = 5

# Fields a client cannot set or change through update.
_SERVER_META = ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds")


def timestamp(now: datetime, plus_seconds: int = 0) -> str:
    return (now + timedelta(seconds=plus_seconds)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def generate_name(prefix: str, rng: random.Random) -> str:
    return prefix + "".join(rng.choice(_NAME_ALPHABET) for _ in range(_NAME_SUFFIX))


def stamp_created(obj: dict[str, Any], info: ResourceInfo, now: datetime) -> None:
    gvr = info.gvr
    obj["kind"] = info.kind if info.builtin else obj.get("kind") or info.kind
    obj["apiVersion"] = gvr.api_version
    meta = obj.setdefault("metadata", {})
    for name in ("deletionTimestamp", "deletionGracePeriodSeconds", "managedFields"):
        meta.pop(name, None)
    meta["uid"] = str(uuid.uuid4())
    meta["creationTimestamp"] = timestamp(now)
    if has_generation(info):
        meta["generation"] = 1
    else:
        meta.pop("generation", None)
    default_object(obj, info)


# Built-in kinds whose strategy keeps metadata.generation (pods since 1.34,
# PodObservedGenerationTracking); custom resources always do.
_GENERATION_KINDS = frozenset(
    {
        "Pod",
        "Deployment",
        "ReplicaSet",
        "StatefulSet",
        "DaemonSet",
        "Job",
        "CronJob",
        "ReplicationController",
        "CustomResourceDefinition",
    }
)


# Kinds with a scale subresource (verbs.scale) and kinds whose status is
# part of the main resource rather than a subresource.
SCALABLE = frozenset({"Deployment", "ReplicaSet", "StatefulSet", "ReplicationController"})
NO_STATUS_SUBRESOURCE = frozenset(
    {"ConfigMap", "Secret", "ServiceAccount", "Event", "Endpoints", "Lease"}
)


def has_status_subresource(info: ResourceInfo) -> bool:
    return info.builtin and info.kind not in NO_STATUS_SUBRESOURCE


def has_generation(info: ResourceInfo) -> bool:
    return not info.builtin or info.kind in _GENERATION_KINDS


def default_object(obj: dict[str, Any], info: ResourceInfo) -> None:
    if not info.builtin:
        return
    if info.kind == "Pod":
        _default_pod(obj)
    elif info.kind == "Namespace":
        # 1.21+ labels every namespace with its own name.
        meta = obj.setdefault("metadata", {})
        labels = meta.get("labels") or {}
        labels["kubernetes.io/metadata.name"] = meta.get("name", "")
        meta["labels"] = labels
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        obj.setdefault("status", {}).setdefault("phase", "Active")


def _default_pod(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    # The ServiceAccount admission plugin names the default account.
    spec.setdefault("serviceAccountName", spec.get("serviceAccount") or "default")
    spec.setdefault("serviceAccount", spec["serviceAccountName"])
    obj.setdefault("status", {}).setdefault("phase", "Pending")
    obj["status"].setdefault("qosClass", "BestEffort")


def carry_server_fields(old: dict[str, Any], new: dict[str, Any]) -> None:
    """Keep what an update may not change; generation is decided later."""
    old_meta = old.get("metadata", {})
    new_meta = new.setdefault("metadata", {})
    for name in _SERVER_META:
        if name in old_meta:
            new_meta[name] = old_meta[name]
        else:
            new_meta.pop(name, None)
    if "generation" in old_meta:
        new_meta["generation"] = old_meta["generation"]
    else:
        new_meta.pop("generation", None)
    # Omitted managedFields keep the old ones; an empty list clears them.
    if "managedFields" not in new_meta and "managedFields" in old_meta:
        new_meta["managedFields"] = old_meta["managedFields"]
    elif not new_meta.get("managedFields"):
        new_meta.pop("managedFields", None)
    new["kind"] = old.get("kind", new.get("kind"))
    new["apiVersion"] = old.get("apiVersion", new.get("apiVersion"))


def spec_changed(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether generation must grow: anything but metadata and status."""
    ignored = ("metadata", "status", "kind", "apiVersion")
    strip_old = {k: v for k, v in old.items() if k not in ignored}
    strip_new = {k: v for k, v in new.items() if k not in ignored}
    return strip_old != strip_new
