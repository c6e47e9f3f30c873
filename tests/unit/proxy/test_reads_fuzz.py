"""Arbitrary query strings on cached reads: the proxy always answers, with
a 200 or a Status whose code is the HTTP status, never a dropped
connection, and never a 500 (not even for an unparsable resourceVersion,
where kube-apiserver 1.20's watch cache answers one; see
watchcache.api.listoptions)."""

from __future__ import annotations

import asyncio
import json
import re
from urllib.parse import quote

import aiohttp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.inprocess import serve_config, wait_until_ready

from watchcache.api.resources import GroupVersionResource, builtin_resource
from watchcache.proxy.serve import open_proxy
from watchcache.simulator.app import Simulator
from watchcache.upstream import UpstreamConfig

PODS = builtin_resource(GroupVersionResource("", "v1", "pods"))
KEYS = [
    "resourceVersion",
    "resourceVersionMatch",
    "limit",
    "continue",
    "labelSelector",
    "fieldSelector",
    "timeoutSeconds",
    "watch",
    "allowWatchBookmarks",
    "sendInitialEvents",
    "shardSelector",
    "pretty",
    "unknown",
]
VALUES = st.one_of(
    st.sampled_from(
        [
            "",
            "0",
            "1",
            "-1",
            "abc",
            "true",
            "false",
            "Exact",
            "NotOlderThan",
            "a=b",
            "a in (x,y)",
            "spec.nodeName=n1",
            "status.phase!=Running",
            "nope=1",
            "99999999999999999999",
            # Over Python's 4,300-digit int() limit: once a 500 with a traceback.
            "9" * 5000,
            "-" + "1" * 4301,
            "0" * 4400 + "7",
            "a>" + "9" * 4400,
            "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MSwic3RhcnQiOiJhXHUwMDAwIn0",
            "shardRange(object.metadata.uid, '0x0000000000000000', '0x8000000000000000')",
            "shardRange(object.metadata.uid, '0x0', '0x8')",
        ]
    ),
    st.text(max_size=12),
)
QUERIES = st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=5)
_DIGITS = re.compile(r"[0-9]*")


def _parsable_rv(text: str) -> bool:
    """As Go's strconv.ParseUint(text, 10, 64) would, or unset."""
    significant = text.lstrip("0")
    return (
        bool(_DIGITS.fullmatch(text)) and len(significant) <= 20 and int(significant or 0) < 2**64
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    queries=st.lists(QUERIES, min_size=1, max_size=8),
    path=st.sampled_from(
        ["/api/v1/pods", "/api/v1/namespaces/default/pods", "/api/v1/namespaces/default/pods/p0"]
    ),
)
def test_every_query_gets_an_answer(queries: list[dict[str, str]], path: str) -> None:
    asyncio.run(_run(queries, path))


async def _run(queries: list[dict[str, str]], path: str) -> None:
    config = serve_config("--resources", "pods")
    async with Simulator() as sim:
        sim.verbs.create(
            PODS,
            "default",
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "p0"},
                "spec": {"containers": [{"name": "c", "image": "x"}]},
            },
        )
        async with (
            open_proxy(config, UpstreamConfig(sim.url)) as proxy,
            aiohttp.ClientSession() as s,
        ):
            await wait_until_ready(s, proxy.urls[0])
            for query in queries:
                if query.get("watch") in ("1", "t", "T", "true", "TRUE", "True"):
                    query = {**query, "timeoutSeconds": "1"}
                text = "&".join(f"{quote(k)}={quote(v)}" for k, v in query.items())
                async with s.get(f"{proxy.urls[0]}{path}?{text}") as r:
                    first = await asyncio.wait_for(r.content.readline(), 10)
                    r.close()
                if r.status == 200:
                    assert _parsable_rv(query.get("resourceVersion", "")), query
                    continue
                status = json.loads(first)
                assert status["kind"] == "Status" and status["code"] == r.status, (query, status)
                assert r.status != 500, (query, status)
