"""The contract suite: the same tests against kube-apiserver 1.20 and the
simulator, one rule of SEMANTICS.md each.

Every assertion runs against both servers. Where 1.20 differs from 1.34+
or lacks a feature, the test says why in its docstring and pins only the
simulator (reported as a skip for kube, never as a pass).
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import secrets
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from watchcache.devcluster import DevCluster
from watchcache.simulator import Simulator, protobuf
from watchcache.simulator.apply import APPLY_PATCH as APPLY
from watchcache.simulator.protobuf import PROTOBUF

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]


@dataclass
class Target:
    """One server under test, spoken to over HTTP(S) with aiohttp."""

    name: str
    url: str
    session: aiohttp.ClientSession
    cluster: DevCluster | None = None
    sim: Simulator | None = None
    namespaces: list[str] = field(default_factory=list)

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        content_type: str = "application/json",
        **params: str,
    ) -> tuple[int, Any, Any]:
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        headers = {"Content-Type": content_type} if data is not None else {}
        async with self.session.request(
            method, self.url + path, data=data, headers=headers, params=params
        ) as r:
            text = await r.text()
            decoded = json.loads(text) if text and r.content_type == "application/json" else text
            return r.status, r.headers, decoded

    async def watch(self, path: str, **params: str) -> list[dict[str, Any]]:
        """A whole watch stream (it must end by itself), one dict per line."""
        params.setdefault("watch", "1")
        async with self.session.get(self.url + path, params=params) as response:
            assert response.status == 200
            assert response.headers.get("Transfer-Encoding") == "chunked"
            text = await response.text()
        return [json.loads(line) for line in text.splitlines() if line]

    def compact(self) -> None:
        if self.cluster is not None:
            self.cluster.compact()
        else:
            assert self.sim is not None
            self.sim.faults.compact()

    def forget_history(self) -> None:
        """Make old watch RVs too old: kube's watch cache never had events
        before its initial list, the simulator's history must be shrunk."""
        if self.sim is not None:
            self.sim.faults.shrink_history(1)


def _kube_session(cluster: DevCluster) -> aiohttp.ClientSession:
    context = ssl.create_default_context(cafile=str(cluster.ca_file))
    return aiohttp.ClientSession(
        headers={"Authorization": f"Bearer {cluster.admin_token}", "Accept": "application/json"},
        connector=aiohttp.TCPConnector(ssl=context),
    )


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=["kube", "sim"])
async def target(request: pytest.FixtureRequest) -> AsyncIterator[Target]:
    if request.param == "kube":
        # The session's control plane (conftest.py), shared with the other
        # e2e suites: each test here works in a namespace of its own.
        cluster: DevCluster = request.getfixturevalue("dev_cluster")
        session = _kube_session(cluster)
        try:
            yield Target("kube", cluster.url, session, cluster=cluster)
        finally:
            await session.close()
        return
    sim = Simulator()
    url = await sim.start()
    session = aiohttp.ClientSession(headers={"Accept": "application/json"})
    try:
        yield Target("sim", url, session, sim=sim)
    finally:
        await session.close()
        await sim.stop()


@pytest_asyncio.fixture(loop_scope="module")
async def ns(target: Target) -> AsyncIterator[str]:
    """A fresh namespace; on kube, once pods can be created in it."""
    name = f"c-{secrets.token_hex(4)}"
    code, _, body = await target.call("POST", "/api/v1/namespaces", {"metadata": {"name": name}})
    assert code == 201, body
    if target.cluster is not None:
        await _wait_for_service_account(target, name)
    yield name
    await target.call("DELETE", f"/api/v1/namespaces/{name}")


async def _wait_for_service_account(target: Target, namespace: str) -> None:
    deadline = asyncio.get_running_loop().time() + 60
    while asyncio.get_running_loop().time() < deadline:
        code, _, body = await target.call(
            "GET", f"/api/v1/namespaces/{namespace}/serviceaccounts/default"
        )
        if code == 200 and body.get("secrets"):
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the default service account never got its token")


def _pod(name: str, node: str = "", **labels: str) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "busybox"}]}
    if node:
        spec["nodeName"] = node
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
        "spec": spec,
    }


def _cm(name: str, **extra: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, **extra}}


def _rv(obj: dict[str, Any]) -> int:
    return int(obj["metadata"]["resourceVersion"])


def _names(body: dict[str, Any]) -> list[str]:
    return [item["metadata"]["name"] for item in body["items"]]


def _token(rv: int, key: str) -> str:
    raw = json.dumps(
        {"v": "meta.k8s.io/v1", "rv": rv, "start": key + "\x00"}, separators=(",", ":")
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _status(
    code: int, reason: str, message: str, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
    }
    if details is not None:
        body["details"] = details
    body["code"] = code
    return body


# -- writes: RVs, server fields, errors --------------------------------------


async def test_every_write_raises_one_global_rv(target: Target, ns: str) -> None:
    _, _, pod = await target.call("POST", f"/api/v1/namespaces/{ns}/pods", _pod("a"))
    _, _, cm = await target.call("POST", f"/api/v1/namespaces/{ns}/configmaps", _cm("a"))
    assert _rv(cm) > _rv(pod)
    _, _, listed = await target.call("GET", f"/api/v1/namespaces/{ns}/configmaps")
    assert int(listed["metadata"]["resourceVersion"]) >= _rv(cm)


async def test_created_object_has_server_fields(target: Target, ns: str) -> None:
    code, _, pod = await target.call("POST", f"/api/v1/namespaces/{ns}/pods", _pod("a"))
    assert code == 201
    meta = pod["metadata"]
    assert re.fullmatch(r"[0-9a-f-]{36}", meta["uid"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", meta["creationTimestamp"])
    assert (pod["kind"], pod["apiVersion"], meta["namespace"]) == ("Pod", "v1", ns)
    spec = pod["spec"]
    assert (spec["restartPolicy"], spec["schedulerName"], spec["serviceAccountName"]) == (
        "Always",
        "default-scheduler",
        "default",
    )


async def test_generate_name(target: Target, ns: str) -> None:
    code, _, cm = await target.call(
        "POST", f"/api/v1/namespaces/{ns}/configmaps", {"metadata": {"generateName": "g-"}}
    )
    assert code == 201 and re.fullmatch(
        r"g-[bcdfghjklmnpqrstvwxz2456789]{5}", cm["metadata"]["name"]
    )


async def test_not_found_status(target: Target, ns: str) -> None:
    code, headers, body = await target.call("GET", f"/api/v1/namespaces/{ns}/pods/nope")
    assert code == 404 and headers["Content-Type"] == "application/json"
    assert body == _status(
        404, "NotFound", 'pods "nope" not found', {"name": "nope", "kind": "pods"}
    )


async def test_group_not_found_status(target: Target, ns: str) -> None:
    code, _, body = await target.call("GET", f"/apis/apps/v1/namespaces/{ns}/deployments/nope")
    details = {"name": "nope", "group": "apps", "kind": "deployments"}
    assert (code, body) == (
        404,
        _status(404, "NotFound", 'deployments.apps "nope" not found', details),
    )


async def test_missing_namespace_is_404(target: Target) -> None:
    code, _, body = await target.call("POST", "/api/v1/namespaces/absent-ns/configmaps", _cm("a"))
    details = {"name": "absent-ns", "kind": "namespaces"}
    assert (code, body) == (
        404,
        _status(404, "NotFound", 'namespaces "absent-ns" not found', details),
    )


async def test_already_exists_status(target: Target, ns: str) -> None:
    await target.call("POST", f"/api/v1/namespaces/{ns}/configmaps", _cm("a"))
    code, _, body = await target.call("POST", f"/api/v1/namespaces/{ns}/configmaps", _cm("a"))
    details = {"name": "a", "kind": "configmaps"}
    assert (code, body) == (
        409,
        _status(409, "AlreadyExists", 'configmaps "a" already exists', details),
    )


async def test_stale_update_conflict_status(target: Target, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps"
    _, _, cm = await target.call("POST", path, _cm("a"))
    await target.call("PUT", f"{path}/a", {**cm, "data": {"k": "1"}})
    code, _, body = await target.call("PUT", f"{path}/a", {**cm, "data": {"k": "2"}})
    message = (
        'Operation cannot be fulfilled on configmaps "a": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )
    assert (code, body) == (
        409,
        _status(409, "Conflict", message, {"name": "a", "kind": "configmaps"}),
    )


async def test_missing_name_invalid_status(target: Target, ns: str) -> None:
    code, _, body = await target.call(
        "POST", f"/api/v1/namespaces/{ns}/configmaps", {"metadata": {}}
    )
    required = "Required value: name or generateName is required"
    cause = {"reason": "FieldValueRequired", "message": required, "field": "metadata.name"}
    expected = _status(
        422,
        "Invalid",
        f'ConfigMap "" is invalid: metadata.name: {required}',
        {"kind": "ConfigMap", "causes": [cause]},
    )
    assert (code, body) == (422, expected)


async def test_method_not_allowed_status(target: Target, ns: str) -> None:
    code, _, body = await target.call("PUT", f"/api/v1/namespaces/{ns}/configmaps", {})
    message = "the server does not allow this method on the requested resource"
    assert (code, body) == (405, _status(405, "MethodNotAllowed", message, {}))


async def test_noop_update_keeps_rv(target: Target, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps"
    _, _, cm = await target.call("POST", path, _cm("a"))
    code, _, again = await target.call("PUT", f"{path}/a", cm)
    assert code == 200 and _rv(again) == _rv(cm)


async def test_delete_answers_object_or_status(target: Target, ns: str) -> None:
    _, _, cm = await target.call("POST", f"/api/v1/namespaces/{ns}/configmaps", _cm("a"))
    code, _, body = await target.call("DELETE", f"/api/v1/namespaces/{ns}/configmaps/a")
    details = {"name": "a", "kind": "configmaps", "uid": cm["metadata"]["uid"]}
    assert (code, body) == (
        200,
        {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": details,
        },
    )
    await target.call("POST", f"/api/v1/namespaces/{ns}/pods", _pod("p"))
    code, _, pod = await target.call("DELETE", f"/api/v1/namespaces/{ns}/pods/p")
    assert code == 200 and pod["kind"] == "Pod" and pod["metadata"]["name"] == "p"


async def test_graceful_pod_delete_then_final(target: Target, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/pods"
    _, _, pod = await target.call("POST", path, _pod("p", node="no-such-node"))
    code, _, marked = await target.call("DELETE", f"{path}/p")
    assert code == 200 and marked["metadata"]["deletionGracePeriodSeconds"] == 30
    assert marked["metadata"]["deletionTimestamp"]
    code, _, _still = await target.call("GET", f"{path}/p")
    assert code == 200
    code, _, _ = await target.call("DELETE", f"{path}/p", {"gracePeriodSeconds": 0})
    assert code == 200
    events = await target.watch(path, resourceVersion=str(_rv(pod)), timeoutSeconds="1")
    # Marking, then shortening the grace period to 0 (a write of its own),
    # then the deletion.
    assert [e["type"] for e in events] == ["MODIFIED", "MODIFIED", "DELETED"]
    graces = [e["object"]["metadata"]["deletionGracePeriodSeconds"] for e in events]
    assert graces == [30, 0, 0]


async def test_finalizer_holds_deletion(target: Target, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps"
    await target.call("POST", path, _cm("f", finalizers=["example.com/hold"]))
    code, _, marked = await target.call("DELETE", f"{path}/f")
    assert code == 200 and marked["metadata"]["deletionTimestamp"]
    code, _, _ = await target.call("GET", f"{path}/f")
    assert code == 200
    patch = {"metadata": {"finalizers": None}}
    code, _, _ = await target.call("PATCH", f"{path}/f", patch, "application/merge-patch+json")
    assert code == 200
    code, _, _ = await target.call("GET", f"{path}/f")
    assert code == 404


async def test_patch_kinds(target: Target, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/pods"
    await target.call("POST", path, _pod("p", app="x"))
    smp = {"spec": {"containers": [{"name": "c", "image": "busybox:2"}]}}
    code, _, body = await target.call(
        "PATCH", f"{path}/p", smp, "application/strategic-merge-patch+json"
    )
    assert code == 200 and [c["image"] for c in body["spec"]["containers"]] == ["busybox:2"]
    ops = [{"op": "add", "path": "/metadata/labels/j", "value": "1"}]
    code, _, body = await target.call("PATCH", f"{path}/p", ops, "application/json-patch+json")
    assert code == 200 and body["metadata"]["labels"] == {"app": "x", "j": "1"}


# What kubectl 1.32 sent for `create deployment|service clusterip|ingress`
# (tests/data): the protobuf bodies its typed generators send.
KUBECTL_BODIES = {
    "deployment": "/apis/apps/v1/namespaces/{ns}/deployments",
    "service-clusterip": "/api/v1/namespaces/{ns}/services",
    "ingress": "/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses",
}
DATA = Path(__file__).parents[1] / "data"


def _contains(actual: Any, expected: Any) -> bool:
    """``expected`` is ``actual`` less the fields a server defaults."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            k in actual and _contains(actual[k], v) for k, v in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(_contains(a, e) for a, e in zip(actual, expected, strict=True))
        )
    return bool(actual == expected)


@pytest.mark.parametrize("generator", sorted(KUBECTL_BODIES))
async def test_protobuf_bodies_mean_what_kube_apiserver_reads(
    target: Target, ns: str, generator: str
) -> None:
    """The simulator's reading of kubectl's protobuf (protobuf.decode) is
    what the real server stores, up to the fields it defaults."""
    raw = (DATA / f"kubectl-1.32-create-{generator}.pb").read_bytes()
    path = KUBECTL_BODIES[generator].format(ns=ns)
    code, _, created = await target.call("POST", path, raw, PROTOBUF)
    assert code == 201, created
    expected = protobuf.decode(raw)
    expected["metadata"]["namespace"] = ns
    code, _, stored = await target.call("GET", f"{path}/{expected['metadata']['name']}")
    assert code == 200 and _contains(stored, expected), (stored, expected)


# -- dryRun ------------------------------------------------------------------


async def _quiet_since(target: Target, ns: str, rv: int) -> None:
    """Nothing was written in ``ns`` after ``rv``: a watch from it sees no
    event before it times out."""
    for resource in ("configmaps", "pods"):
        path = f"/api/v1/namespaces/{ns}/{resource}"
        assert await target.watch(path, resourceVersion=str(rv), timeoutSeconds="1") == []


async def test_dry_run_create_stores_nothing(target: Target, ns: str) -> None:
    _, _, listed = await target.call("GET", f"/api/v1/namespaces/{ns}/configmaps")
    before = int(listed["metadata"]["resourceVersion"])
    store_rv = target.sim.store.rv if target.sim else 0
    code, _, cm = await target.call(
        "POST", f"/api/v1/namespaces/{ns}/configmaps", _cm("dry"), dryRun="All"
    )
    assert code == 201, cm
    meta = cm["metadata"]
    assert (meta["name"], meta["namespace"]) == ("dry", ns)
    assert re.fullmatch(r"[0-9a-f-]{36}", meta["uid"]) and meta["creationTimestamp"]
    assert "resourceVersion" not in meta
    code, _, _ = await target.call("GET", f"/api/v1/namespaces/{ns}/configmaps/dry")
    assert code == 404
    # Validated as a real create is: an existing name is still a 409.
    await target.call("POST", f"/api/v1/namespaces/{ns}/configmaps", _cm("real"))
    code, _, body = await target.call(
        "POST", f"/api/v1/namespaces/{ns}/configmaps", _cm("real"), dryRun="All"
    )
    assert code == 409, body
    _, _, real = await target.call("GET", f"/api/v1/namespaces/{ns}/configmaps/real")
    await _quiet_since(target, ns, _rv(real))
    if target.sim is not None:
        assert target.sim.store.rv == store_rv + 1  # the one real create
    assert before < _rv(real)


async def test_dry_run_update_patch_delete_store_nothing(target: Target, ns: str) -> None:
    base = f"/api/v1/namespaces/{ns}/configmaps"
    _, _, cm = await target.call("POST", base, _cm("d", labels={"v": "1"}))
    rv = _rv(cm)
    store_rv = target.sim.store.rv if target.sim else 0
    changed = {**cm, "data": {"k": "put"}}
    code, _, put = await target.call("PUT", f"{base}/d", changed, dryRun="All")
    assert code == 200, put
    assert put["data"] == {"k": "put"} and _rv(put) == rv
    code, _, patched = await target.call(
        "PATCH",
        f"{base}/d",
        {"data": {"k": "patch"}},
        "application/merge-patch+json",
        dryRun="All",
    )
    assert code == 200, patched
    assert patched["data"] == {"k": "patch"} and _rv(patched) == rv
    code, _, deleted = await target.call("DELETE", f"{base}/d", dryRun="All")
    assert code == 200, deleted
    # kubectl delete --dry-run=server puts it in DeleteOptions instead.
    await target.call("POST", f"/api/v1/namespaces/{ns}/pods", _pod("p"))
    _, _, pod = await target.call("GET", f"/api/v1/namespaces/{ns}/pods/p")
    code, _, gone = await target.call(
        "DELETE", f"/api/v1/namespaces/{ns}/pods/p", {"dryRun": ["All"], "gracePeriodSeconds": 0}
    )
    assert code == 200 and gone["metadata"]["name"] == "p", gone
    _, _, now = await target.call("GET", f"{base}/d")
    assert "data" not in now and _rv(now) == rv
    code, _, _ = await target.call("GET", f"/api/v1/namespaces/{ns}/pods/p")
    assert code == 200
    await _quiet_since(target, ns, _rv(pod))
    if target.sim is not None:
        assert target.sim.store.rv == store_rv + 1  # the pod's real create


@pytest.mark.parametrize(
    ("method", "options"),
    [("POST", "CreateOptions"), ("PUT", "UpdateOptions"), ("DELETE", "DeleteOptions")],
)
async def test_dry_run_unknown_value(target: Target, ns: str, method: str, options: str) -> None:
    base = f"/api/v1/namespaces/{ns}/configmaps"
    _, _, cm = await target.call("POST", base, _cm("u"))
    path = base if method == "POST" else f"{base}/u"
    body = _cm("v") if method == "POST" else (cm if method == "PUT" else None)
    code, _, status = await target.call(method, path, body, dryRun="Some")
    message = 'dryRun: Unsupported value: []string{"Some"}: supported values: "All"'
    assert (code, status) == (
        422,
        _status(
            422,
            "Invalid",
            f'{options}.meta.k8s.io "" is invalid: {message}',
            {
                "group": "meta.k8s.io",
                "kind": options,
                "causes": [
                    {
                        "reason": "FieldValueNotSupported",
                        "message": message.removeprefix("dryRun: "),
                        "field": "dryRun",
                    }
                ],
            },
        ),
    )
    _, _, now = await target.call("GET", f"{base}/u")
    assert _rv(now) == _rv(cm)


# -- server-side apply ---------------------------------------------------------


def _applied(name: str, **data: str) -> bytes:
    return json.dumps(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}
    ).encode()


async def test_server_side_apply_between_apply_managers(target: Target, ns: str) -> None:
    """Create by apply, removal of a field its manager drops, the conflict
    Status another apply manager gets, and force. (The simulator records no
    ownership for non-apply writes; kube-apiserver does: not tested here.)"""
    path = f"/api/v1/namespaces/{ns}/configmaps/ssa"
    code, _, created = await target.call(
        "PATCH", path, _applied("ssa", a="1", b="2"), APPLY, fieldManager="one"
    )
    assert code == 201 and created["data"] == {"a": "1", "b": "2"}
    [entry] = created["metadata"]["managedFields"]
    assert (entry["manager"], entry["operation"], entry["fieldsType"]) == (
        "one",
        "Apply",
        "FieldsV1",
    )
    assert entry["fieldsV1"]["f:data"] == {"f:a": {}, "f:b": {}}
    code, _, dropped = await target.call(
        "PATCH", path, _applied("ssa", a="1"), APPLY, fieldManager="one"
    )
    assert code == 200 and dropped["data"] == {"a": "1"}
    code, _, refused = await target.call(
        "PATCH", path, _applied("ssa", a="2"), APPLY, fieldManager="two"
    )
    message = 'Apply failed with 1 conflict: conflict with "one": .data.a'
    cause = {"reason": "FieldManagerConflict", "message": 'conflict with "one"', "field": ".data.a"}
    assert (code, refused) == (409, _status(409, "Conflict", message, {"causes": [cause]}))
    code, _, forced = await target.call(
        "PATCH", path, _applied("ssa", a="2"), APPLY, fieldManager="two", force="true"
    )
    assert code == 200 and forced["data"] == {"a": "2"}
    owners = {
        e["manager"]: e["fieldsV1"].get("f:data") for e in forced["metadata"]["managedFields"]
    }
    assert owners == {"two": {"f:a": {}}}


# -- LIST --------------------------------------------------------------------


async def _configmaps(target: Target, ns: str, *names: str, **labels: str) -> list[int]:
    rvs = []
    for name in names:
        code, _, cm = await target.call(
            "POST", f"/api/v1/namespaces/{ns}/configmaps", _cm(name, labels=labels)
        )
        assert code == 201
        rvs.append(_rv(cm))
    return rvs


async def test_list_is_key_ordered_items_without_kind(target: Target, ns: str) -> None:
    await _configmaps(target, ns, "c", "a", "b")
    code, headers, body = await target.call(
        "GET", f"/api/v1/namespaces/{ns}/configmaps", labelSelector="!none"
    )
    assert code == 200 and headers["Cache-Control"] == "no-cache, private"
    names = [n for n in _names(body) if n != "kube-root-ca.crt"]
    assert names == ["a", "b", "c"]
    assert (body["kind"], body["apiVersion"]) == ("ConfigMapList", "v1")
    assert all("kind" not in item for item in body["items"])


async def test_pages_carry_kube_apiserver_tokens(target: Target, ns: str) -> None:
    await _configmaps(target, ns, "a", "b", "c", app="paged")
    path = f"/api/v1/namespaces/{ns}/configmaps"
    _, _, first = await target.call("GET", path, limit="2", labelSelector="app=paged")
    rv = int(first["metadata"]["resourceVersion"])
    assert _names(first) == ["a", "b"]
    assert first["metadata"]["continue"] == _token(rv, "b")
    assert "remainingItemCount" not in first["metadata"]
    _, _, rest = await target.call(
        "GET", path, limit="2", labelSelector="app=paged", **{"continue": _token(rv, "b")}
    )
    assert _names(rest) == ["c"] and rest["metadata"]["resourceVersion"] == str(rv)


async def test_cluster_wide_token_and_remaining_count(target: Target, ns: str) -> None:
    await _configmaps(target, ns, "a", "b")
    _, _, first = await target.call("GET", "/api/v1/configmaps", limit="1")
    rv = int(first["metadata"]["resourceVersion"])
    [item] = first["items"]
    key = f"{item['metadata']['namespace']}/{item['metadata']['name']}"
    assert first["metadata"]["continue"] == _token(rv, key)
    _, _, everything = await target.call(
        "GET", "/api/v1/configmaps", resourceVersion=str(rv), limit="500"
    )
    assert first["metadata"]["remainingItemCount"] == len(everything["items"]) - 1


async def test_continue_reads_the_first_pages_snapshot(target: Target, ns: str) -> None:
    await _configmaps(target, ns, "a", "b", "c", app="snap")
    path = f"/api/v1/namespaces/{ns}/configmaps"
    _, _, first = await target.call("GET", path, limit="1", labelSelector="app=snap")
    await target.call("DELETE", f"{path}/b")
    await _configmaps(target, ns, "bb", app="snap")
    _, _, rest = await target.call(
        "GET", path, labelSelector="app=snap", **{"continue": first["metadata"]["continue"]}
    )
    assert _names(rest) == ["b", "c"]


async def test_exact_rv_list_shows_the_past(target: Target, ns: str) -> None:
    rvs = await _configmaps(target, ns, "a", "b", app="past")
    path = f"/api/v1/namespaces/{ns}/configmaps"
    await target.call("DELETE", f"{path}/a")
    _, _, exact = await target.call(
        "GET",
        path,
        labelSelector="app=past",
        resourceVersion=str(rvs[0]),
        resourceVersionMatch="Exact",
    )
    assert _names(exact) == ["a"] and exact["metadata"]["resourceVersion"] == str(rvs[0])
    _, _, limited = await target.call(
        "GET", path, labelSelector="app=past", resourceVersion=str(rvs[1]), limit="10"
    )
    assert _names(limited) == ["a", "b"]


async def test_rv_zero_ignores_limit(target: Target, ns: str) -> None:
    """1.20 serves RV=0 from its hash-map cache (unordered): compare sets."""
    await _configmaps(target, ns, "a", "b", "c", app="zero")
    path = f"/api/v1/namespaces/{ns}/configmaps"
    _, _, body = await target.call(
        "GET", path, labelSelector="app=zero", resourceVersion="0", limit="1"
    )
    assert sorted(_names(body)) == ["a", "b", "c"] and "continue" not in body["metadata"]


async def test_rv_with_continue_is_bad_request(target: Target, ns: str) -> None:
    code, _, body = await target.call(
        "GET",
        f"/api/v1/namespaces/{ns}/configmaps",
        resourceVersion="5",
        **{"continue": _token(5, "a")},
    )
    message = "specifying resource version is not allowed when using continue"
    assert (code, body) == (400, _status(400, "BadRequest", message))


async def test_list_option_validation(target: Target, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps"
    code, _, body = await target.call("GET", path, resourceVersionMatch="Exact")
    forbidden = "Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided"
    cause = {"reason": "FieldValueForbidden", "message": forbidden, "field": "resourceVersionMatch"}
    details = {"group": "meta.k8s.io", "kind": "ListOptions", "causes": [cause]}
    message = f'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: {forbidden}'
    assert (code, body) == (422, _status(422, "Invalid", message, details))


async def test_unsupported_field_selector(target: Target, ns: str) -> None:
    code, _, body = await target.call(
        "GET", f"/api/v1/namespaces/{ns}/pods", fieldSelector="spec.bogus=x"
    )
    assert (code, body) == (
        400,
        _status(400, "BadRequest", "field label not supported: spec.bogus"),
    )


async def test_label_and_field_selectors(target: Target, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/pods"
    await target.call("POST", path, _pod("a", node="n1", tier="web"))
    await target.call("POST", path, _pod("b", node="n2", tier="db"))
    _, _, by_label = await target.call("GET", path, labelSelector="tier in (web,cache)")
    _, _, by_field = await target.call("GET", path, fieldSelector="spec.nodeName=n2")
    _, _, defaulted = await target.call(
        "GET", path, fieldSelector="spec.schedulerName=default-scheduler,spec.restartPolicy=Always"
    )
    assert (_names(by_label), _names(by_field), _names(defaulted)) == (["a"], ["b"], ["a", "b"])


async def test_future_rv_list_times_out(target: Target, ns: str) -> None:
    _, _, listed = await target.call("GET", f"/api/v1/namespaces/{ns}/configmaps")
    wanted = int(listed["metadata"]["resourceVersion"]) + 100_000
    code, headers, body = await target.call(
        "GET", f"/api/v1/namespaces/{ns}/configmaps", resourceVersion=str(wanted)
    )
    assert code == 504 and headers["Retry-After"] == "1"
    assert re.fullmatch(
        rf"Timeout: Too large resource version: {wanted}, current: \d+", body["message"]
    )
    cause = {"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}
    assert (body["reason"], body["details"]) == (
        "Timeout",
        {"causes": [cause], "retryAfterSeconds": 1},
    )


async def test_exact_list_after_compaction_is_410(target: Target, ns: str) -> None:
    rvs = await _configmaps(target, ns, "a", "b")
    target.compact()
    code, _, body = await target.call(
        "GET", f"/api/v1/namespaces/{ns}/configmaps", resourceVersion=str(rvs[0]), limit="1"
    )
    message = "The resourceVersion for the provided list is too old."
    assert (code, body) == (410, _status(410, "Expired", message))


async def test_expired_continue_offers_rv_minus_one_token(target: Target, ns: str) -> None:
    await _configmaps(target, ns, "a", "b", "c", app="exp")
    path = f"/api/v1/namespaces/{ns}/configmaps"
    _, _, first = await target.call("GET", path, limit="1", labelSelector="app=exp")
    await _configmaps(target, ns, "d", app="other")
    target.compact()
    code, _, body = await target.call(
        "GET",
        path,
        limit="1",
        labelSelector="app=exp",
        **{"continue": first["metadata"]["continue"]},
    )
    assert code == 410 and body["reason"] == "Expired"
    assert body["metadata"] == {"continue": _token(-1, "a")}
    assert body["message"].startswith("The provided continue parameter is too old")


async def test_unknown_query_parameters_ignored(target: Target, ns: str) -> None:
    code, _, body = await target.call(
        "GET", f"/api/v1/namespaces/{ns}/configmaps", nonsense="1", shardSelector="x"
    )
    assert code == 200 and body["kind"] == "ConfigMapList"


# -- WATCH -------------------------------------------------------------------


async def test_watch_from_rv_replays_changes(target: Target, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps"
    [rv] = await _configmaps(target, ns, "a")
    await _configmaps(target, ns, "b")
    await target.call("PUT", f"{path}/b", _cm("b", labels={"x": "1"}))
    await target.call("DELETE", f"{path}/a")
    events = await target.watch(path, resourceVersion=str(rv), timeoutSeconds="1")
    seen = [(e["type"], e["object"]["metadata"]["name"]) for e in events]
    assert seen == [("ADDED", "b"), ("MODIFIED", "b"), ("DELETED", "a")]
    rvs = [_rv(e["object"]) for e in events]
    assert rvs == sorted(rvs) and len(set(rvs)) == 3
    assert all(e["object"]["kind"] == "ConfigMap" for e in events)


async def test_watch_unset_rv_starts_with_added(target: Target, ns: str) -> None:
    await _configmaps(target, ns, "a", app="init")
    events = await target.watch(
        f"/api/v1/namespaces/{ns}/configmaps", labelSelector="app=init", timeoutSeconds="1"
    )
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "a")]


async def test_legacy_watch_path(target: Target, ns: str) -> None:
    [rv] = await _configmaps(target, ns, "a")
    await _configmaps(target, ns, "b")
    events = await target.watch(
        f"/api/v1/watch/namespaces/{ns}/configmaps", resourceVersion=str(rv), timeoutSeconds="1"
    )
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "b")]


async def test_watch_selector_leave_and_enter(target: Target, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps"
    [rv] = await _configmaps(target, ns, "a", app="in")
    _, _, out = await target.call("PUT", f"{path}/a", _cm("a", labels={"app": "out"}))
    _, _, back = await target.call("PUT", f"{path}/a", _cm("a", labels={"app": "in"}))
    events = await target.watch(
        path, resourceVersion=str(rv), labelSelector="app=in", timeoutSeconds="1"
    )
    assert [e["type"] for e in events] == ["DELETED", "ADDED"]
    # Leaving: the previous object, at the RV of the change.
    assert events[0]["object"]["metadata"]["labels"] == {"app": "in"}
    assert (_rv(events[0]["object"]), _rv(events[1]["object"])) == (_rv(out), _rv(back))


async def test_watch_too_old_is_error_event(target: Target, ns: str) -> None:
    """A watch older than the history window: HTTP 200, one ERROR event.

    Pinned on the simulator only: 1.20's watch cache keeps every event since
    its initial list and grows while its oldest event is younger than 75 s,
    so no test-sized workload makes an RV too old there (an RV of 1 was seen
    replaying everything)."""
    if target.sim is None:
        pytest.skip("1.20's watch cache cannot be made to drop events within a test")
    await _configmaps(target, ns, "a", "b")
    target.forget_history()
    events = await target.watch(
        f"/api/v1/namespaces/{ns}/configmaps", resourceVersion="1", timeoutSeconds="5"
    )
    assert len(events) == 1 and events[0]["type"] == "ERROR"
    status = events[0]["object"]
    match = re.fullmatch(r"too old resource version: 1 \((\d+)\)", status["message"])
    assert match is not None
    assert status == _status(410, "Expired", status["message"])


async def test_watch_bookmark_before_deadline(target: Target, ns: str) -> None:
    """Both send one ~2 s before a watch's deadline (the periodic one is a
    minute apart and not waited for here)."""
    events = await target.watch(
        f"/api/v1/namespaces/{ns}/configmaps",
        resourceVersion="0",
        allowWatchBookmarks="true",
        timeoutSeconds="4",
        labelSelector="app=none",
    )
    bookmarks = [e for e in events if e["type"] == "BOOKMARK"]
    assert bookmarks, events
    mark = bookmarks[-1]["object"]
    assert (mark["kind"], mark["apiVersion"]) == ("ConfigMap", "v1")
    assert int(mark["metadata"]["resourceVersion"]) > 0 and "name" not in mark["metadata"]


async def test_watch_timeout_ends_stream(target: Target, ns: str) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    events = await target.watch(
        f"/api/v1/namespaces/{ns}/configmaps",
        resourceVersion="0",
        labelSelector="app=none",
        timeoutSeconds="1",
    )
    assert events == [] and loop.time() - started < 30


async def test_watchlist_initial_events_end_bookmark(target: Target, ns: str) -> None:
    """WatchList (KEP-3157) is unknown to 1.20, which ignores
    sendInitialEvents; the simulator follows 1.34+: ADDED for the state,
    then a bookmark annotated initial-events-end."""
    if target.sim is None:
        pytest.skip("kube-apiserver 1.20 has no WatchList")
    await _configmaps(target, ns, "a")
    events = await target.watch(
        f"/api/v1/namespaces/{ns}/configmaps",
        sendInitialEvents="true",
        resourceVersionMatch="NotOlderThan",
        allowWatchBookmarks="true",
        timeoutSeconds="1",
    )
    assert [e["type"] for e in events] == ["ADDED", "BOOKMARK"]
    assert events[1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


# -- discovery -----------------------------------------------------------------


async def test_discovery_documents(target: Target) -> None:
    _, _, api = await target.call("GET", "/api")
    assert api["kind"] == "APIVersions" and api["versions"] == ["v1"]
    _, _, core = await target.call("GET", "/api/v1")
    pods = {r["name"]: r for r in core["resources"]}["pods"]
    assert (pods["kind"], pods["namespaced"], pods["shortNames"]) == ("Pod", True, ["po"])
    _, _, apps = await target.call("GET", "/apis/apps")
    assert apps["preferredVersion"] == {"groupVersion": "apps/v1", "version": "v1"}
    code, _, version = await target.call("GET", "/version")
    assert code == 200 and version["major"] == "1"


# -- access reviews -------------------------------------------------------------

SSAR = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"


async def test_access_review_is_answered(target: Target, ns: str) -> None:
    """kubectl auth can-i: the admin (kube) or anyone (simulator) may."""
    spec = {"resourceAttributes": {"namespace": ns, "verb": "list", "resource": "pods"}}
    code, _, review = await target.call("POST", SSAR, {"spec": spec})
    assert code == 201, review
    assert (review["kind"], review["apiVersion"]) == (
        "SelfSubjectAccessReview",
        "authorization.k8s.io/v1",
    )
    assert review["spec"]["resourceAttributes"] == spec["resourceAttributes"]
    assert review["status"]["allowed"] is True


async def test_access_review_needs_one_kind_of_attributes(target: Target, ns: str) -> None:
    code, _, status = await target.call("POST", SSAR, {"spec": {}})
    message = (
        'spec.resourceAttributes: Invalid value: "null": exactly one of '
        "nonResourceAttributes or resourceAttributes must be specified"
    )
    # kube-apiserver names no kind here (its GroupKind leaves it empty).
    assert (code, status) == (
        422,
        _status(
            422,
            "Invalid",
            f'.authorization.k8s.io "" is invalid: {message}',
            {
                "group": "authorization.k8s.io",
                "causes": [
                    {
                        "reason": "FieldValueInvalid",
                        "message": message.removeprefix("spec.resourceAttributes: "),
                        "field": "spec.resourceAttributes",
                    }
                ],
            },
        ),
    )


# -- subresources, GET, people ---------------------------------------------------


async def test_status_subresource_changes_only_status(target: Target, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/pods"
    _, _, pod = await target.call("POST", path, _pod("s"))
    pod["status"] = {**pod.get("status", {}), "phase": "Running"}
    pod["metadata"]["labels"] = {"ignored": "no"}
    pod["spec"]["activeDeadlineSeconds"] = 5
    code, _, updated = await target.call("PUT", f"{path}/s/status", pod)
    assert code == 200 and updated["status"]["phase"] == "Running"
    assert "activeDeadlineSeconds" not in updated["spec"]
    updated["status"]["phase"] = "Failed"
    code, _, main = await target.call("PUT", f"{path}/s", updated)
    assert code == 200 and main["status"]["phase"] == "Running"


async def test_scale_subresource(target: Target, ns: str) -> None:
    path = f"/apis/apps/v1/namespaces/{ns}/deployments"
    labels = {"app": "d"}
    template = {
        "metadata": {"labels": labels},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]},
    }
    deploy = {
        "metadata": {"name": "d"},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": template},
    }
    code, _, created = await target.call("POST", path, deploy)
    assert code == 201, created
    code, _, scale = await target.call("GET", f"{path}/d/scale")
    assert (code, scale["kind"], scale["apiVersion"], scale["spec"]) == (
        200,
        "Scale",
        "autoscaling/v1",
        {"replicas": 1},
    )
    assert scale["metadata"]["name"] == "d" and scale["metadata"]["resourceVersion"]
    code, _, scaled = await target.call(
        "PATCH", f"{path}/d/scale", {"spec": {"replicas": 0}}, "application/merge-patch+json"
    )
    # ScaleSpec.replicas is omitempty.
    assert code == 200 and scaled["spec"] == {}
    assert scaled["status"]["selector"] == "app=d"
    _, _, after = await target.call("GET", f"{path}/d")
    assert after["spec"]["replicas"] == 0 and after["metadata"]["generation"] == 2


async def test_get_rv_rules(target: Target, ns: str) -> None:
    [rv] = await _configmaps(target, ns, "g")
    path = f"/api/v1/namespaces/{ns}/configmaps/g"
    for asked in ("0", str(rv)):
        code, _, got = await target.call("GET", path, resourceVersion=asked)
        assert code == 200 and _rv(got) == rv
    code, headers, body = await target.call("GET", path, resourceVersion=str(rv + 100_000))
    assert code == 504 and headers["Retry-After"] == "1" and body["reason"] == "Timeout"


async def test_pretty_json_for_curl(target: Target, ns: str) -> None:
    headers = {"User-Agent": "curl/8.5.0"}
    async with target.session.get(
        f"{target.url}/api/v1/namespaces/{ns}/configmaps/nope", headers=headers
    ) as response:
        text = await response.text()
    assert text.startswith('{\n  "kind": "Status",\n  "apiVersion": "v1",\n  "metadata": {')
    assert text.endswith('  "code": 404\n}')
