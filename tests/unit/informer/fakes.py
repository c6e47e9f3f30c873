"""Helpers for the informer tests: configmap writes on the simulator, and a
handler that keeps the view its notifications describe, failing on any
transition that does not follow from the view before it."""

from __future__ import annotations

import asyncio
from typing import Any

from watchcache.api.resources import GroupVersionResource, builtin_resource
from watchcache.informer import KubeObject
from watchcache.simulator import Simulator
from watchcache.simulator.verbs import DeleteOptions

CONFIGMAPS = builtin_resource(GroupVersionResource("", "v1", "configmaps"))
PODS = builtin_resource(GroupVersionResource("", "v1", "pods"))
assert CONFIGMAPS is not None and PODS is not None


def cm(name: str, value: str = "v", namespace: str = "default", **labels: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"k": value}}


def write(sim: Simulator, name: str, value: str = "v", namespace: str = "default") -> int:
    """Create or update a configmap; its new RV."""
    try:
        sim.verbs.get(CONFIGMAPS, namespace, name)
    except Exception:
        return sim.verbs.create(CONFIGMAPS, namespace, cm(name, value, namespace)).rv
    return sim.verbs.update(CONFIGMAPS, namespace, name, cm(name, value, namespace)).rv


def delete(sim: Simulator, name: str, namespace: str = "default") -> None:
    sim.verbs.delete(CONFIGMAPS, namespace, name, DeleteOptions())


def exists(sim: Simulator, name: str, namespace: str = "default") -> bool:
    try:
        sim.verbs.get(CONFIGMAPS, namespace, name)
    except Exception:
        return False
    return True


def upstream_state(sim: Simulator) -> dict[str, int]:
    """key -> RV of every configmap upstream."""
    coll = sim.store.find("", "configmaps")
    return {} if coll is None else {e.key: e.rv for e in coll.items.values()}


class Recorder:
    """A handler that applies what it hears to its own view, asserting each
    notification is a transition from that view: no add of a key it holds,
    no update or delete of one it lacks or holds at another state."""

    def __init__(self) -> None:
        self.view: dict[str, KubeObject] = {}
        self.log: list[tuple[str, str]] = []
        self.unknown_deletes: list[str] = []
        self.errors: list[str] = []

    def on_add(self, obj: KubeObject) -> None:
        self.log.append(("add", obj.key))
        if obj.key in self.view:
            self.errors.append(f"duplicate add of {obj.key}")
        self.view[obj.key] = obj

    def on_update(self, old: KubeObject, new: KubeObject) -> None:
        self.log.append(("update", new.key))
        if self.view.get(old.key) != old:
            self.errors.append(f"update of {old.key} from a state not seen: {old!r}")
        if int(new.resource_version) < int(old.resource_version):
            self.errors.append(f"update of {old.key} goes back in time")
        self.view[new.key] = new

    def on_delete(self, obj: KubeObject) -> None:
        self.log.append(("delete", obj.key))
        seen = self.view.pop(obj.key, None)
        if seen is None or seen.uid != obj.uid:
            self.errors.append(f"delete of {obj.key} not in view")
        if obj.final_state_unknown:
            self.unknown_deletes.append(obj.key)
            if seen != obj:
                self.errors.append(f"unknown-final delete of {obj.key} is not the last state")

    def state(self) -> dict[str, int]:
        return {k: int(v.resource_version) for k, v in self.view.items()}

    def callbacks(self) -> dict[str, Any]:
        return {"on_add": self.on_add, "on_update": self.on_update, "on_delete": self.on_delete}


async def settle(informer: Any, handles: list[Any], rv: int, timeout: float = 10.0) -> None:
    """Wait (bounded) until the informer reached ``rv`` and every handler
    heard everything up to it."""
    async with asyncio.timeout(timeout):
        await informer.wait_for_resource_version(rv)
        for handle in handles:
            await handle.wait_idle()
