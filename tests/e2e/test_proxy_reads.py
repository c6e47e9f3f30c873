"""Cached reads through the proxy, compared with the real kube-apiserver's
answers to the same requests."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from tests.e2e.serving import upstream_requests
from tests.inprocess import serve_config, wait_until_ready
from tests.polling import until

from watchcache.api.continuetoken import encode_continue
from watchcache.devcluster import DevCluster
from watchcache.proxy.serve import open_proxy
from watchcache.upstream import load_kubeconfig


@pytest.fixture
async def proxy(dev_cluster: DevCluster) -> AsyncIterator[str]:
    config = serve_config("--resources", "configmaps,pods")
    async with open_proxy(config, load_kubeconfig(dev_cluster.kubeconfig)) as running:
        async with aiohttp.ClientSession() as session:
            await wait_until_ready(session, running.urls[0])
        yield running.urls[0]


async def get(session: aiohttp.ClientSession, url: str, **headers: str) -> tuple[int, Any]:
    async with session.get(url, headers=headers) as r:
        return r.status, await r.json(content_type=None)


def direct(dev_cluster: DevCluster, path: str) -> tuple[int, Any]:
    return dev_cluster.request("GET", path)


def make(dev_cluster: DevCluster, namespace: str, name: str, **labels: str) -> dict[str, Any]:
    code, body = dev_cluster.request(
        "POST",
        f"/api/v1/namespaces/{namespace}/configmaps",
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "labels": labels},
            "data": {"k": name},
        },
    )
    assert code == 201, body
    return body


async def until_cached(session: aiohttp.ClientSession, url: str, rv: str) -> None:
    """``tests.e2e.serving.until_cached`` (which says why), through the
    session: ``url`` is the list's."""

    async def reached() -> bool:
        code = (await get(session, f"{url}?resourceVersion={rv}"))[0]
        assert code in (200, 504), code
        return code == 200

    await until(reached, f"the cache to reach {rv}", timeout=60, every=0)


def _list_rv_apart(body: bytes) -> tuple[bytes, int]:
    """A list's bytes with its own resourceVersion taken out (the first in
    the body: the list's metadata comes before its items), and that RV."""
    found = re.search(rb'"resourceVersion":"(\d+)"', body)
    assert found is not None, body[:200]
    return body[: found.start(1)] + body[found.end(1) :], int(found.group(1))


async def test_lists_match_the_apiservers(
    dev_cluster: DevCluster, proxy: str, namespace: str
) -> None:
    for i in range(5):
        created = make(dev_cluster, namespace, f"c{i}", tier="a" if i % 2 else "b")
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    async with aiohttp.ClientSession() as s:
        # A consistent read right after a write sees it.
        code, listed = await get(s, proxy + path)
        assert code == 200
        _, expected = direct(dev_cluster, path)
        assert listed["items"] == expected["items"]
        assert (listed["kind"], listed["apiVersion"]) == ("ConfigMapList", "v1")
        assert int(listed["metadata"]["resourceVersion"]) >= int(
            created["metadata"]["resourceVersion"]
        )

        # That read may have been forwarded (a cache behind by more than
        # 100 ms): RV=0 answers from the cache as it is.
        await until_cached(s, proxy + path, created["metadata"]["resourceVersion"])
        code, any_state = await get(s, proxy + path + "?resourceVersion=0&limit=1")
        assert code == 200 and len(any_state["items"]) == 6, "RV=0 ignores the limit"
        assert "continue" not in any_state["metadata"]

        code, selected = await get(s, proxy + path + "?labelSelector=tier%3Da")
        _, expected = direct(dev_cluster, path + "?labelSelector=tier%3Da")
        assert [i["metadata"]["name"] for i in selected["items"]] == ["c1", "c3"]
        assert selected["items"] == expected["items"]

        # Pages: same items, and tokens kube-apiserver itself accepts.
        names = []
        token = ""
        upstream_next: list[Any] = []
        while True:
            query = f"?limit=2&continue={token}" if token else "?limit=2"
            code, page = await get(s, proxy + path + query)
            assert code == 200, page
            if token:  # kube-apiserver answered the same token with the same page
                assert page["items"] == upstream_next
            names += [i["metadata"]["name"] for i in page["items"]]
            token = page["metadata"].get("continue", "")
            if not token:
                break
            rv = int(page["metadata"]["resourceVersion"])
            assert token == encode_continue(rv, page["items"][-1]["metadata"]["name"])
            assert page["metadata"]["remainingItemCount"] == 6 - len(names)
            code, upstream_page = direct(dev_cluster, path + f"?limit=2&continue={token}")
            assert code == 200, "kube-apiserver refused the proxy's continue token"
            upstream_next = upstream_page["items"]
        assert names == ["c0", "c1", "c2", "c3", "c4", "kube-root-ca.crt"]


async def test_get_and_errors(dev_cluster: DevCluster, proxy: str, namespace: str) -> None:
    created = make(dev_cluster, namespace, "one")
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    async with aiohttp.ClientSession() as s:
        await until_cached(s, proxy + path, created["metadata"]["resourceVersion"])
        code, got = await get(s, proxy + path + "/one?resourceVersion=0")
        _, expected = direct(dev_cluster, path + "/one")
        assert code == 200 and got == expected
        code, missing = await get(s, proxy + path + "/nope?resourceVersion=0")
        _, expected = direct(dev_cluster, path + "/nope")
        assert code == 404 and missing == expected
        code, bad = await get(s, proxy + path + "?labelSelector=a%20in%20(")
        _, expected = direct(dev_cluster, path + "?labelSelector=a%20in%20(")
        assert code == 400 and bad == expected
        code, too_new = await get(s, proxy + path + "?resourceVersion=999999999")
        assert code == 504 and too_new["reason"] == "Timeout"
        assert too_new["message"].startswith(
            "Timeout: Too large resource version: 999999999, current: "
        )


async def test_watch_matches_the_apiservers(
    dev_cluster: DevCluster, proxy: str, namespace: str
) -> None:
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    first = make(dev_cluster, namespace, "w0")
    rv = first["metadata"]["resourceVersion"]
    query = f"?watch=true&resourceVersion={rv}&timeoutSeconds=30"

    async def collect(
        session: aiohttp.ClientSession, url: str, headers: dict[str, str]
    ) -> list[dict[str, Any]]:
        out = []
        async with session.get(url, headers=headers) as r:
            assert r.status == 200
            while len(out) < 3:
                out.append(json.loads(await asyncio.wait_for(r.content.readline(), 10)))
        return out

    token = {"Authorization": f"Bearer {dev_cluster.admin_token}"}
    import ssl

    context = ssl.create_default_context(cafile=str(dev_cluster.ca_file))
    async with (
        aiohttp.ClientSession() as s,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context)) as d,
    ):
        via_proxy = asyncio.create_task(collect(s, proxy + path + query, {}))
        via_direct = asyncio.create_task(collect(d, dev_cluster.url + path + query, token))
        # Both watches start at rv: whenever they open, what follows is replayed.
        make(dev_cluster, namespace, "w1")
        dev_cluster.request(
            "PUT",
            f"{path}/w0",
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "w0"},
                "data": {"k": "changed"},
            },
        )
        dev_cluster.request("DELETE", f"{path}/w1")
        proxied, expected = await asyncio.gather(via_proxy, via_direct)
    assert [e["type"] for e in proxied] == ["ADDED", "MODIFIED", "DELETED"]
    assert proxied == expected


async def test_a_too_old_watch_gets_410_as_an_error_event(proxy: str, namespace: str) -> None:
    async with aiohttp.ClientSession() as s:
        async with s.get(
            proxy + f"/api/v1/namespaces/{namespace}/configmaps?watch=1&resourceVersion=1"
        ) as r:
            assert r.status == 200
            event = json.loads(await r.content.readline())
            assert await r.content.read() == b""
    assert event["type"] == "ERROR"
    status = event["object"]
    assert (status["kind"], status["code"], status["reason"]) == ("Status", 410, "Expired")
    assert re.fullmatch(r"too old resource version: 1 \(\d+\)", status["message"])


async def test_reads_from_the_cache_cost_upstream_nothing(
    dev_cluster: DevCluster, proxy: str, namespace: str
) -> None:
    path = f"/api/v1/namespaces/{namespace}/configmaps?resourceVersion=0"
    before = upstream_requests(dev_cluster, "configmaps")
    async with aiohttp.ClientSession() as s:
        for _ in range(20):
            assert (await get(s, proxy + path))[0] == 200
    after = upstream_requests(dev_cluster, "configmaps")
    # LISTs and GETs: the end of an earlier test's proxy's WATCH may be
    # counted only now.
    assert {k: n for k, n in after.items() if k[0] != "WATCH"} == {
        k: n for k, n in before.items() if k[0] != "WATCH"
    }


def test_token_format_is_kube_apiservers() -> None:
    token = encode_continue(42, "a")
    assert json.loads(base64.urlsafe_b64decode(token + "==")) == {
        "v": "meta.k8s.io/v1",
        "rv": 42,
        "start": "a\u0000",
    }


async def test_watchlist_is_served_even_though_the_upstream_is_1_20(
    dev_cluster: DevCluster, proxy: str, namespace: str
) -> None:
    """kube-apiserver 1.20 has no WatchList; the proxy serves 1.34's: the
    state as ADDED events, then a bookmark marking their end, then changes."""
    make(dev_cluster, namespace, "a")
    make(dev_cluster, namespace, "b")
    query = (
        "?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true"
    )
    async with aiohttp.ClientSession() as s:
        async with s.get(proxy + f"/api/v1/namespaces/{namespace}/configmaps{query}") as r:
            assert r.status == 200
            events = [
                json.loads(await asyncio.wait_for(r.content.readline(), 10)) for _ in range(4)
            ]
            make(dev_cluster, namespace, "c")
            after = json.loads(await asyncio.wait_for(r.content.readline(), 10))
    assert [(e["type"], e["object"]["metadata"].get("name")) for e in events] == [
        ("ADDED", "a"),
        ("ADDED", "b"),
        ("ADDED", "kube-root-ca.crt"),
        ("BOOKMARK", None),
    ]
    assert events[3]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    assert (after["type"], after["object"]["metadata"]["name"]) == ("ADDED", "c")


async def test_python_client_watch_survives_a_410(
    dev_cluster: DevCluster, proxy: str, namespace: str
) -> None:
    """The official client's own 410 handling works against the proxy's
    ERROR event: it raises 410 Expired, the caller relists and watches on.
    (The client is synchronous: it runs in a thread while the proxy serves
    on this test's event loop.)"""
    await asyncio.to_thread(_relist_after_410, dev_cluster, proxy, namespace)


def _relist_after_410(dev_cluster: DevCluster, proxy: str, namespace: str) -> None:
    from kubernetes import client, watch
    from kubernetes.client.rest import ApiException

    make(dev_cluster, namespace, "before")
    with client.ApiClient(client.Configuration(host=proxy)) as api:
        core = client.CoreV1Api(api)
        with pytest.raises(ApiException) as expired:
            for _ in watch.Watch().stream(
                core.list_namespaced_config_map, namespace, resource_version="1", timeout_seconds=5
            ):
                pass
        assert expired.value.status == 410
        listed = core.list_namespaced_config_map(namespace)
        make(dev_cluster, namespace, "after")
        seen = []
        for event in watch.Watch().stream(
            core.list_namespaced_config_map,
            namespace,
            resource_version=listed.metadata.resource_version,
            timeout_seconds=10,
        ):
            seen.append((event["type"], event["object"].metadata.name))
            break
        assert seen == [("ADDED", "after")]


async def test_metadata_only_reads_match_the_apiservers(
    dev_cluster: DevCluster, proxy: str, namespace: str
) -> None:
    """What metadata informers ask for: PartialObjectMetadataList lists,
    PartialObjectMetadata GETs and watches, byte for byte as kube-apiserver
    renders them (watch events as they decode)."""
    import ssl

    # Reads at the write's RV: RV=0 could serve either cache from before it.
    at = make(dev_cluster, namespace, "m1", tier="x")["metadata"]["resourceVersion"]
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    as_list = {
        "Accept": "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
    }
    as_one = {
        "Accept": "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json"
    }
    context = ssl.create_default_context(cafile=str(dev_cluster.ca_file))
    auth = {"Authorization": f"Bearer {dev_cluster.admin_token}"}
    async with (
        aiohttp.ClientSession() as s,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context), headers=auth) as d,
    ):

        async def both(url_path: str, headers: dict[str, str]) -> tuple[bytes, bytes]:
            async with (
                s.get(proxy + url_path, headers=headers) as a,
                d.get(dev_cluster.url + url_path, headers=headers) as b,
            ):
                assert a.status == b.status == 200
                assert a.headers["Content-Type"] == b.headers["Content-Type"]
                return await a.read(), await b.read()

        via, direct = await both(f"{path}?resourceVersion={at}", as_list)
        # kube-apiserver 1.20 lists RV=N from its unordered watch cache: compare the items as a set.
        assert json.loads(via)["kind"] == json.loads(direct)["kind"] == "PartialObjectMetadataList"
        key = lambda item: item["metadata"]["name"]  # noqa: E731
        assert sorted(json.loads(via)["items"], key=key) == sorted(
            json.loads(direct)["items"], key=key
        )
        # Consistent reads, each at the RV of its own moment (kube-controller-
        # manager writes leases every 2 s): kube-apiserver's first, so the
        # proxy's, asked after it answered, may not be at an older RV.
        async with d.get(dev_cluster.url + path + "?limit=500", headers=as_list) as b:
            assert b.status == 200
            direct, direct_rv = _list_rv_apart(await b.read())
        async with s.get(proxy + path + "?limit=500", headers=as_list) as a:
            assert a.status == 200
            via, via_rv = _list_rv_apart(await a.read())
        assert via == direct, "a consistent metadata list differs from kube-apiserver's bytes"
        assert via_rv >= direct_rv, "the proxy's consistent list is older than a read before it"
        via, direct = await both(f"{path}/m1?resourceVersion={at}", as_one)
        assert via == direct

        created = make(dev_cluster, namespace, "m0")
        rv = int(created["metadata"]["resourceVersion"]) - 1
        watch_path = f"{path}?watch=1&resourceVersion={rv}&timeoutSeconds=5"
        async with (
            s.get(proxy + watch_path, headers=as_one) as a,
            d.get(dev_cluster.url + watch_path, headers=as_one) as b,
        ):
            via_event = json.loads(await asyncio.wait_for(a.content.readline(), 10))
            direct_event = json.loads(await asyncio.wait_for(b.content.readline(), 10))
        assert via_event == direct_event
        assert via_event["object"]["kind"] == "PartialObjectMetadata"
