"""One simulated node: heartbeats, its two watches, kubelet reactions.

Profiles (``Profile``):
    kwok      lease 200 s (kwok's 40 s times heartbeat factor 5), renewed
              every quarter of it with +-10 % jitter; no status updates
    kubelet   lease 40 s renewed every 10 s; node status every 5 minutes

Everything loops until the node's ``deadline`` (monotonic seconds) and
stops by itself; watches reconnect from their last RV until then.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

import aiohttp

from benchmarks.nodesim import objects
from benchmarks.nodesim.ledger import Ledger
from benchmarks.nodesim.target import ApiStatusError, Target

__all__ = ["PROFILES", "Profile", "SimNode"]


@dataclass(frozen=True)
class Profile:
    lease_seconds: int
    renew_every: float
    status_every: float | None


PROFILES = {
    "kwok": Profile(lease_seconds=200, renew_every=50.0, status_every=None),
    "kubelet": Profile(lease_seconds=40, renew_every=10.0, status_every=300.0),
}

_pod_ips = itertools.count(1)


def _next_pod_ip() -> str:
    n = next(_pod_ips)
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


class SimNode:
    def __init__(
        self,
        name: str,
        target: Target,
        ledger: Ledger,
        profile: Profile,
        namespace: str,
        deadline: float,
    ) -> None:
        self.name = name
        self.target = target
        self.ledger = ledger
        self.profile = profile
        self.namespace = namespace
        self.deadline = deadline
        self.pods_watch_ready = asyncio.Event()
        self.node_events = 0
        self.errors: list[str] = []
        self._deleting: set[str] = set()
        self._stamps: dict[str, str] = {}
        # Pods whose DELETED event arrived, and reactions still in flight:
        # the driver settles only when both say the node is done.
        self.deleted: set[str] = set()
        self.reactions: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:
        return f"<SimNode {self.name} errors={len(self.errors)}>"

    def _live(self) -> bool:
        return asyncio.get_running_loop().time() < self.deadline

    async def register(self) -> None:
        await self.target.call("POST", "/api/v1/nodes", objects.node(self.name), ok=(201, 409))
        lease_path = f"/apis/coordination.k8s.io/v1/namespaces/{objects.LEASE_NAMESPACE}/leases"
        await self.target.call(
            "POST", lease_path, objects.lease(self.name, self.profile.lease_seconds), ok=(201, 409)
        )

    async def run(self) -> None:
        await asyncio.gather(self._heartbeats(), self._watch_pods(), self._watch_node())

    # -- heartbeats ----------------------------------------------------------

    async def _heartbeats(self) -> None:
        loop = asyncio.get_running_loop()
        lease = (
            f"/apis/coordination.k8s.io/v1/namespaces/{objects.LEASE_NAMESPACE}/leases/{self.name}"
        )
        next_status = loop.time() + (self.profile.status_every or float("inf"))
        # Nodes start at random phases, as a fleet's kubelets do.
        await self._sleep(random.uniform(0, self.profile.renew_every))
        while self._live():
            await self._patch(lease, {"spec": {"renewTime": objects.now_rfc3339(micro=True)}})
            if loop.time() >= next_status:
                stamp = objects.now_rfc3339()
                await self._patch(
                    f"/api/v1/nodes/{self.name}/status",
                    {
                        "status": {
                            "conditions": [
                                {"type": "Ready", "status": "True", "lastHeartbeatTime": stamp}
                            ]
                        }
                    },
                    content_type="application/strategic-merge-patch+json",
                )
                next_status = loop.time() + (self.profile.status_every or float("inf"))
            await self._sleep(self.profile.renew_every * random.uniform(0.9, 1.1))

    async def _patch(
        self, path: str, body: dict[str, Any], content_type: str = "application/merge-patch+json"
    ) -> dict[str, Any] | None:
        try:
            return await self.target.call("PATCH", path, body, content_type=content_type)
        except _FAILURES as err:
            self.errors.append(f"PATCH {path}: {err}")
            return None

    async def _sleep(self, seconds: float) -> None:
        remaining = self.deadline - asyncio.get_running_loop().time()
        await asyncio.sleep(max(0.0, min(seconds, remaining)))

    # -- watches -------------------------------------------------------------

    async def _watch_pods(self) -> None:
        path = f"/api/v1/namespaces/{self.namespace}/pods"
        selector = {"fieldSelector": f"spec.nodeName={self.name}"}
        rv = await self._list_rv(path, selector)
        self.ledger.started(self.name, rv)
        while self._live():
            try:
                params = {
                    **selector,
                    "resourceVersion": str(rv),
                    "allowWatchBookmarks": "true",
                    "timeoutSeconds": str(
                        max(1, int(self.deadline - asyncio.get_running_loop().time()))
                    ),
                }
                watch = self.target.watch(path, params)
                self.pods_watch_ready.set()
                async for event in watch:
                    rv = await self._on_pod_event(event, rv)
            except ApiStatusError as err:
                self.errors.append(f"watch pods: {err}")
                await self._sleep(1)
            except _FAILURES as err:
                self.errors.append(f"watch pods: {err!r}")
                await self._sleep(1)
            except _Expired:
                try:
                    new_rv = await self._list_rv(path, selector)
                except _FAILURES as err:
                    self.errors.append(f"relist pods: {err!r}")
                    await self._sleep(1)
                    continue  # still expired: the next watch says so again
                self.ledger.relisted(self.name, rv, new_rv)
                rv = new_rv

    async def _on_pod_event(self, event: dict[str, Any], rv: int) -> int:
        kind = event["type"]
        obj = event["object"]
        if kind == "ERROR":
            if obj.get("code") == 410:
                raise _Expired
            raise ApiStatusError(obj.get("code", 500), str(obj))
        new_rv = int(obj["metadata"]["resourceVersion"])
        if kind == "BOOKMARK":
            return new_rv
        name = obj["metadata"]["name"]
        sent = (obj["metadata"].get("annotations") or {}).get(objects.SENT_AT)
        # Later events of an object still carry the stamp of the write that
        # set it; only the event that brought a new stamp is timed.
        fresh = sent is not None and self._stamps.get(name) != sent
        self.ledger.seen(self.name, new_rv, int(sent) if fresh and sent else None)
        if kind == "DELETED":
            self.deleted.add(name)
            self._stamps.pop(name, None)
            self._deleting.discard(name)
        else:
            if sent is not None:
                self._stamps[name] = sent
            self._react(obj)
        return new_rv

    def _react(self, pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        name = meta["name"]
        if meta.get("deletionTimestamp"):
            if name not in self._deleting:
                self._deleting.add(name)
                self._spawn(self._finish_delete(name, meta["uid"]))
        elif (pod.get("status") or {}).get("phase") in (None, "Pending"):
            self._spawn(self._start(name))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self.reactions.add(task)
        task.add_done_callback(self.reactions.discard)

    async def _start(self, name: str) -> None:
        path = f"/api/v1/namespaces/{self.namespace}/pods/{name}/status"
        reply = await self._patch(path, objects.running_status(_next_pod_ip()))
        if reply:
            self.ledger.expect(self.name, int(reply["metadata"]["resourceVersion"]))

    async def _finish_delete(self, name: str, uid: str) -> None:
        body = {
            "apiVersion": "v1",
            "kind": "DeleteOptions",
            "gracePeriodSeconds": 0,
            "preconditions": {"uid": uid},
        }
        try:
            reply = await self.target.call(
                "DELETE", f"/api/v1/namespaces/{self.namespace}/pods/{name}", body
            )
        except _FAILURES as err:
            self.errors.append(f"DELETE {name}: {err}")
            return
        self.ledger.expect(self.name, int(reply["metadata"]["resourceVersion"]))

    async def _list_rv(self, path: str, params: dict[str, str]) -> int:
        listed = await self.target.call("GET", path, params=params)
        for pod in listed.get("items", []):
            self._react(pod)
        return int(listed["metadata"]["resourceVersion"])

    async def _watch_node(self) -> None:
        params = {"fieldSelector": f"metadata.name={self.name}", "allowWatchBookmarks": "true"}
        rv = (await self.target.call("GET", "/api/v1/nodes", params=params))["metadata"][
            "resourceVersion"
        ]
        while self._live():
            try:
                remaining = max(1, int(self.deadline - asyncio.get_running_loop().time()))
                async for event in self.target.watch(
                    "/api/v1/nodes",
                    {**params, "resourceVersion": rv, "timeoutSeconds": str(remaining)},
                ):
                    if event["type"] == "ERROR":
                        rv = (await self.target.call("GET", "/api/v1/nodes", params=params))[
                            "metadata"
                        ]["resourceVersion"]
                        break
                    rv = event["object"]["metadata"]["resourceVersion"]
                    self.node_events += event["type"] != "BOOKMARK"
            except _FAILURES as err:
                self.errors.append(f"watch node: {err!r}")
                await self._sleep(1)


# What a request to the target can fail with: a Status, a timeout, a
# socket error, or aiohttp's own (a server that closes mid-response raises
# ServerDisconnectedError, which is not an OSError).
_FAILURES = (TimeoutError, ApiStatusError, OSError, aiohttp.ClientError)


class _Expired(Exception):
    """The watch's RV fell out of the server's history: relist."""
