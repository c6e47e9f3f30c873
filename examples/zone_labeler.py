"""A controller: label every pod with the zone of the node it runs on.

Pods carry ``topology.kubernetes.io/zone`` (the standard label nodes have)
so that anything selecting pods by label can select them by zone. When a
pod lands on a node, or a node's zone changes, the pod's label follows;
a pod on a node without a zone loses it.

    python examples/zone_labeler.py [--kubeconfig PATH] [--context NAME]
        [--namespace NS] [--lease-namespace NS] [--identity ID] [--workers N]

In a pod it uses the service account (in-cluster config); it needs
get/list/watch on nodes, get/list/watch/patch on pods, and
get/create/update on leases in the lease namespace. Run several replicas:
one leads (a coordination.k8s.io Lease), the others wait to take over.

How it is built (watchcache.informer):
    - one ``SharedInformerFactory``: a metadata-only node informer (only
      labels are read) and a pod informer indexed by node name;
    - handlers only enqueue keys; ``reconcile(key)`` reads the listers and
      patches when the label is wrong, so a burst of events for one pod
      costs one patch, and a failed patch is retried with backoff
      (``WorkQueue.add_rate_limited``);
    - workers run only while this replica leads (``LeaderElector``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import socket
import sys
import uuid

from watchcache.informer import (
    Informer,
    KubeObject,
    LeaderElector,
    SharedInformerFactory,
    WorkQueue,
    load_config,
)
from watchcache.upstream import StatusError, UpstreamClient

ZONE = "topology.kubernetes.io/zone"
log = logging.getLogger("zone-labeler")


def node_of(pod: KubeObject) -> list[str]:
    """The pod informer's index: a pod under its node's name."""
    node = pod.to_dict().get("spec", {}).get("nodeName")
    return [node] if node else []


class ZoneLabeler:
    def __init__(
        self, client: UpstreamClient, factory: SharedInformerFactory, namespace: str | None
    ) -> None:
        self.client = client
        self.queue: WorkQueue[str] = WorkQueue()
        self.nodes: Informer = factory.informer("nodes", metadata_only=True)
        self.pods: Informer = factory.informer(
            "pods", namespace=namespace, indexers={"node": node_of}
        )
        self.pods.add_handler(
            on_add=self.enqueue, on_update=lambda old, new: self.enqueue(new), name="pods"
        )
        self.nodes.add_handler(
            on_add=self.node_changed,
            on_update=lambda old, new: self.node_changed(new, old),
            name="nodes",
        )
        self.patches = 0

    def enqueue(self, pod: KubeObject) -> None:
        self.queue.add(pod.key)

    def node_changed(self, node: KubeObject, old: KubeObject | None = None) -> None:
        if old is not None and old.labels.get(ZONE) == node.labels.get(ZONE):
            return
        for pod in self.pods.lister.by_index("node", node.name):
            self.queue.add(pod.key)

    async def reconcile(self, key: str) -> None:
        namespace, name = key.split("/", 1)
        pod = self.pods.lister.get(namespace, name)
        if pod is None:
            return  # deleted: nothing to label
        scheduled = node_of(pod)
        if not scheduled:
            return  # not scheduled yet; the update that binds it comes later
        node = self.nodes.lister.get(None, scheduled[0])
        zone = node.labels.get(ZONE) if node is not None else None
        if pod.labels.get(ZONE) == zone:
            return
        patch = {"metadata": {"labels": {ZONE: zone}}}
        try:
            await self.client.request(
                "PATCH",
                f"/api/v1/namespaces/{namespace}/pods/{name}",
                body=json.dumps(patch).encode(),
                content_type="application/merge-patch+json",
            )
        except StatusError as err:
            if err.code == 404:
                return  # deleted meanwhile
            raise
        self.patches += 1
        log.info("%s: %s=%s", key, ZONE, zone)

    async def work(self) -> None:
        async for key in self.queue:
            try:
                await self.reconcile(key)
            except Exception as err:  # retried with backoff, never lost
                log.warning("%s: %s; retrying", key, err)
                self.queue.add_rate_limited(key)
            else:
                self.queue.forget(key)
            finally:
                self.queue.done(key)


async def lead(client: UpstreamClient, namespace: str | None, workers: int) -> None:
    """What the leader does: informers, then workers, until cancelled."""
    async with SharedInformerFactory(client) as factory:
        labeler = ZoneLabeler(client, factory, namespace)  # its informers start at once
        if not await factory.wait_for_sync(120):
            raise RuntimeError("informers did not sync in 120 s")
        log.info("synced: %d nodes, %d pods", len(labeler.nodes.lister), len(labeler.pods.lister))
        try:
            await asyncio.gather(*(labeler.work() for _ in range(workers)))
        finally:
            await labeler.queue.shutdown(drain=False)


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig")
    parser.add_argument("--context")
    parser.add_argument("--namespace", help="only pods in this namespace (default: all)")
    parser.add_argument("--lease-namespace", default="kube-system")
    parser.add_argument("--lease-name", default="zone-labeler")
    parser.add_argument("--identity", default=f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}")
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    config = load_config(args.kubeconfig, context=args.context)
    async with UpstreamClient(config) as client:
        elector = LeaderElector(
            client, name=args.lease_name, namespace=args.lease_namespace, identity=args.identity
        )
        campaign = asyncio.create_task(
            elector.run(
                lambda: lead(client, args.namespace, args.workers),
                on_new_leader=lambda who: log.info("leader: %s", who),
            )
        )
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, campaign.cancel)
        try:
            await campaign
        except asyncio.CancelledError:
            log.info("stopped; lease released")
            return 0
    # run() returned while we were not cancelled: leadership was lost.
    # Exit so a supervisor restarts us as a follower, as client-go does.
    log.error("lost the lease; exiting")
    return 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
