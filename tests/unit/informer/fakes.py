"""Helpers for the informer tests: configmap writes on the simulator (from
tests/unit/churn.py, shared with the reflector's tests), and a handler that
keeps the view its notifications describe, failing on any transition that
does not follow from the view before it."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.unit.churn import CONFIGMAPS, cm, delete, exists, upstream_state, write

from watchcache.api.resources import GroupVersionResource, builtin_resource
from watchcache.informer import KubeObject

__all__ = [
    "CONFIGMAPS",
    "PODS",
    "Recorder",
    "cm",
    "delete",
    "exists",
    "settle",
    "upstream_state",
    "write",
]

PODS = builtin_resource(GroupVersionResource("", "v1", "pods"))
assert PODS is not None


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
