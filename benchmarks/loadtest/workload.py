"""Namespaces and pods a scenario needs before it is measured.

The pods have no ``spec.nodeName``: kube-controller-manager's pod garbage
collector deletes pods bound to nodes that do not exist, and these pods
are only there to be listed and patched. ``pad`` bytes of annotation give
them a realistic size (pods in the wild are 5-8 KB of JSON).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from benchmarks.loadtest.pacing import bounded
from benchmarks.loadtest.stack import Endpoint
from benchmarks.nodesim.objects import SENT_AT
from benchmarks.nodesim.target import ApiStatusError, Target

__all__ = ["ensure_namespace", "ensure_pods", "open_target", "pod"]

CREATE_CONCURRENCY = 32
# kube-controller-manager gives a new namespace's default service account
# its token within a few seconds; pods cannot be created before that.
TOKEN_WAIT_SECONDS = 60.0


def open_target(endpoint: Endpoint, connections: int = 64) -> Target:
    return Target(
        endpoint.url,
        token=endpoint.token,
        connections=connections,
        ssl_context=endpoint.ssl_context(),
    )


def pod(name: str, pad: int = 0) -> dict[str, Any]:
    annotations = {SENT_AT: str(time.time_ns())}
    if pad:
        annotations["loadtest.watchcache.io/padding"] = "x" * pad
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "loadtest"}, "annotations": annotations},
        "spec": {"containers": [{"name": "main", "image": "registry.invalid/loadtest:1"}]},
    }


async def ensure_namespace(target: Target, namespace: str, wait_for_token: bool) -> None:
    """The namespace exists and pods can be created in it: on a real
    cluster (``wait_for_token``), its default service account has its
    token; the simulator has no service accounts and needs no wait."""
    await target.call(
        "POST",
        "/api/v1/namespaces",
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
        ok=(201, 409),
    )
    path = f"/api/v1/namespaces/{namespace}/serviceaccounts/default"
    deadline = time.monotonic() + TOKEN_WAIT_SECONDS
    while wait_for_token and time.monotonic() < deadline:
        try:
            if (await target.call("GET", path)).get("secrets"):
                return
        except ApiStatusError as err:
            if err.code != 404:
                raise
        await asyncio.sleep(0.2)
    if wait_for_token:
        raise TimeoutError(
            f"namespace {namespace}: no service account token after {TOKEN_WAIT_SECONDS}s"
        )


async def ensure_pods(
    target: Target,
    namespace: str,
    count: int,
    pad: int = 0,
    progress: Callable[[int], None] | None = None,
    *,
    wait_for_token: bool,
) -> list[str]:
    """``count`` pods named pod-00000... in ``namespace``; existing ones kept."""
    await ensure_namespace(target, namespace, wait_for_token)
    names = [f"pod-{i:05d}" for i in range(count)]
    done = 0

    def create(name: str) -> Callable[[], Any]:
        async def go() -> None:
            nonlocal done
            await target.call(
                "POST", f"/api/v1/namespaces/{namespace}/pods", pod(name, pad), ok=(201, 409)
            )
            done += 1
            if progress is not None:
                progress(done)

        return go

    await bounded(CREATE_CONCURRENCY, (create(n) for n in names))
    return names
