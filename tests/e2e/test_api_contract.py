"""watchcache.api against a real kube-apiserver v1.20: same codes, reasons,
messages and bytes.

Each malformed query goes to the real server and to ``ListOptions.from_query``;
the Status the server answers must equal the one our ApiError renders.
Where 1.34+ (which watchcache.api follows) words an error differently from
1.20, the case records both texts: the server must still answer the 1.20
one, and we the 1.34 one, so a drift on either side fails.
"""

from __future__ import annotations

import base64
import json
import random
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

import pytest
from tests.polling import until_blocking

from watchcache.api import status
from watchcache.api.continuetoken import decode_continue, encode_continue, expired_continue
from watchcache.api.listoptions import ListOptions
from watchcache.api.resources import (
    GroupVersionResource,
    builtin_resource,
    builtin_resources,
    field_values,
    parse_path,
    resource_info,
)
from watchcache.api.selectors import FieldSelector, LabelSelector
from watchcache.api.status import ApiError
from watchcache.devcluster import DevCluster

pytestmark = pytest.mark.e2e

PODS = GroupVersionResource("", "v1", "pods")


@pytest.fixture(scope="module")
def cluster(dev_cluster: DevCluster) -> DevCluster:
    """The session's real control plane (tests/e2e/conftest.py)."""
    return dev_cluster


def _call(
    cluster: DevCluster,
    method: str,
    path: str,
    *,
    token: str | None = None,
    headers: dict[str, str] | None = None,
    data: bytes | None = None,
) -> tuple[int, Any]:
    req = urllib.request.Request(cluster.url + path, data=data, method=method)
    req.add_header("Authorization", f"Bearer {token or cluster.admin_token}")
    for name, value in (headers or {"Accept": "application/json"}).items():
        req.add_header(name, value)
    context = ssl.create_default_context(cafile=str(cluster.ca_file))
    try:
        with urllib.request.urlopen(req, context=context, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def _list(cluster: DevCluster, path: str, query: dict[str, str]) -> tuple[int, Any]:
    """kube-apiserver's answer to a read, with our one deliberate difference
    applied: a resourceVersion that is not a uint64 is a bare 500 where 1.20's
    watch cache serves the read, and always a 400 BadRequest from us (the
    answer 1.20 gives on its etcd path; docs/reads.md says why)."""
    code, body = _call(cluster, "GET", path + "?" + urllib.parse.urlencode(query))
    if code == 500 and "strconv.ParseUint" in body.get("message", ""):
        message = "invalid resource version: " + body["message"]
        return 400, {**body, "message": message, "reason": "BadRequest", "code": 400}
    return code, body


def _ours(query: dict[str, str], gvr: GroupVersionResource, watch: bool) -> ApiError | None:
    try:
        ListOptions.from_query(query, watch=watch, resource=resource_info(gvr))
    except ApiError as err:
        return err
    return None


@dataclass(frozen=True)
class Case:
    query: dict[str, str]
    # The 1.20 server's message where 1.34+ words it differently.
    v120_message: str | None = None
    path: str = "/api/v1/pods"
    watch: bool = False


_KEY_DETAIL = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
    "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
_VALUE_DETAIL = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    "'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)


def _b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode()


_TOKEN = encode_continue(5, "a")

BAD_QUERIES: dict[str, Case] = {
    # label selectors
    "label-double-comma": Case({"labelSelector": "a=b,,"}),
    "label-unclosed-set": Case({"labelSelector": "a in (b"}),
    "label-not-with-value": Case({"labelSelector": "!a=b"}),
    "label-two-equals": Case({"labelSelector": "a=b=c"}),
    "label-close-paren": Case({"labelSelector": ")"}),
    "label-no-operator": Case(
        {"labelSelector": "a b"},
        "unable to parse requirement: found 'b', expected: '=', '!=', '==', 'in', notin'",
    ),
    "label-bad-key": Case(
        {"labelSelector": "-a"},
        f'unable to parse requirement: invalid label key "-a": {_KEY_DETAIL}',
    ),
    "label-bad-value": Case(
        {"labelSelector": "a=-b"},
        f'unable to parse requirement: invalid label value: "-b": at key: "a": {_VALUE_DETAIL}',
    ),
    "label-gt-not-integer": Case(
        {"labelSelector": "a>1.5"},
        "unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer",
    ),
    # field selectors
    "field-no-operator": Case({"fieldSelector": "a"}),
    "field-unknown-operator": Case({"fieldSelector": "a~b"}),
    "field-unescaped-equals": Case({"fieldSelector": "metadata.name=a=b"}),
    "field-bad-escape": Case({"fieldSelector": "metadata.name=a\\x"}),
    "field-unsupported-pods": Case({"fieldSelector": "spec.foo=x"}),
    "field-unsupported-first-sorted": Case({"fieldSelector": "zz=1,aa=2"}),
    "field-unsupported-nodes": Case({"fieldSelector": "spec.nodeName=x"}, path="/api/v1/nodes"),
    "field-unsupported-default": Case(
        {"fieldSelector": "status.replicas=1"}, path="/apis/apps/v1/deployments"
    ),
    "field-unsupported-jobs": Case({"fieldSelector": "zz=1"}, path="/apis/batch/v1/jobs"),
    # integers
    "limit-not-integer": Case({"limit": "abc"}),
    "limit-out-of-range": Case({"limit": "99999999999999999999"}),
    "timeout-before-limit": Case({"timeoutSeconds": "y", "limit": "x"}),
    "integers-before-labels": Case({"labelSelector": "a b", "limit": "x"}),
    "labels-before-fields": Case(
        {"labelSelector": "a b", "fieldSelector": "q"},
        "unable to parse requirement: found 'b', expected: '=', '!=', '==', 'in', notin'",
    ),
    # option validation
    "match-without-rv": Case({"resourceVersionMatch": "Exact"}),
    "match-unsupported": Case({"resourceVersionMatch": "Foo", "resourceVersion": "1"}),
    "match-exact-rv-zero": Case({"resourceVersionMatch": "Exact", "resourceVersion": "0"}),
    "match-with-continue": Case({"resourceVersionMatch": "NotOlderThan", "continue": _TOKEN}),
    "validation-before-field-labels": Case(
        {"fieldSelector": "zz=1", "resourceVersionMatch": "Exact"}
    ),
    "field-labels-before-continue": Case({"fieldSelector": "zz=1", "continue": "abc"}),
    # continue tokens
    "continue-not-json": Case({"continue": "abc"}),
    "continue-not-base64": Case({"continue": "a=b"}),
    "continue-padded": Case({"continue": "YQ="}),
    "continue-rv-zero": Case({"continue": _b64('{"v":"meta.k8s.io/v1","rv":0,"start":"a"}')}),
    "continue-empty-start": Case({"continue": _b64('{"v":"meta.k8s.io/v1","rv":5,"start":""}')}),
    "continue-traversal": Case({"continue": _b64('{"v":"meta.k8s.io/v1","rv":5,"start":"../a"}')}),
    "continue-double-slash": Case(
        {"continue": _b64('{"v":"meta.k8s.io/v1","rv":5,"start":"a//b"}')}
    ),
    "continue-rv-string": Case({"continue": _b64('{"v":"meta.k8s.io/v1","rv":"5","start":"a"}')}),
    "continue-unknown-version": Case(
        {"continue": _b64('{"v":"x","rv":5,"start":"a"}')},
        "invalid continue token: continue key is not valid: server does not recognize this "
        'encoded version "x"',
    ),
    "continue-array": Case(
        {"continue": _b64("[1]")},
        "invalid continue token: continue key is not valid: json: cannot unmarshal array into "
        "Go value of type etcd3.continueToken",
    ),
    "continue-before-rv-check": Case({"continue": "abc", "resourceVersion": "1"}),
    "continue-with-rv": Case({"continue": _TOKEN, "resourceVersion": "5"}),
    # resource versions
    "rv-not-integer-cache": Case({"resourceVersion": "abc"}),
    "rv-negative-cache": Case({"resourceVersion": "-1"}),
    "rv-not-integer-etcd": Case({"resourceVersion": "+1", "limit": "1"}),
    "watch-rv-not-integer": Case({"resourceVersion": "abc", "timeoutSeconds": "1"}, watch=True),
    "watch-match": Case(
        {"resourceVersionMatch": "NotOlderThan", "timeoutSeconds": "1"},
        'ListOptions.meta.k8s.io "" is invalid: [resourceVersionMatch: Forbidden: '
        "resourceVersionMatch is forbidden for watch, resourceVersionMatch: Forbidden: "
        "resourceVersionMatch is forbidden unless resourceVersion is provided]",
        watch=True,
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_QUERIES))
def test_bad_query_answers_match(cluster: DevCluster, name: str) -> None:
    case = BAD_QUERIES[name]
    query = {**case.query, **({"watch": "true"} if case.watch else {})}
    code, body = _list(cluster, case.path, query)
    parsed = parse_path(case.path)
    assert parsed is not None
    ours = _ours(query, parsed.gvr, case.watch)
    assert ours is not None, f"we accepted what kube-apiserver refused: {body}"
    if case.v120_message is None:
        assert ours.status() == body
        assert (ours.code, code) == (body["code"], body["code"])
    else:
        # A known 1.20 vs 1.34 wording difference: same code and reason.
        assert body["message"] == case.v120_message
        assert (ours.code, ours.reason) == (code, body.get("reason", ""))
        assert ours.message != case.v120_message


GOOD_QUERIES: dict[str, dict[str, str]] = {
    "every-label-operator": {
        "labelSelector": "a>1,b<2,c,!d,e in (x,y),f notin (z),g!=h,i==j,k=",
        "limit": "1",
    },
    "empty-set": {"labelSelector": "a in ()"},
    "keywords-as-values": {"labelSelector": "in in (notin)"},
    "escaped-comma": {"fieldSelector": "metadata.name=a\\,b"},
    "trailing-comma": {"fieldSelector": "metadata.name==a,"},
    "empty-value": {"fieldSelector": "metadata.name!="},
    "negative-limit": {"limit": "-1"},
    "odd-bool": {"allowWatchBookmarks": "maybe"},
    "unknown-parameters": {"sharding": "x", "pretty": "1"},
    "continue-with-rv-zero": {"continue": _TOKEN, "resourceVersion": "0"},
    "continue-rooted": {"continue": _b64('{"v":"meta.k8s.io/v1","rv":5,"start":"/"}')},
    "continue-latest": {"continue": _b64('{"v":"meta.k8s.io/v1","rv":-1,"start":"a"}')},
}


@pytest.mark.parametrize("name", sorted(GOOD_QUERIES))
def test_good_query_accepted_by_both(cluster: DevCluster, name: str) -> None:
    query = _at_current_rv(cluster, GOOD_QUERIES[name])
    code, body = _list(cluster, "/api/v1/pods", query)
    assert code == 200, body
    assert _ours(query, PODS, watch=False) is None


def _at_current_rv(cluster: DevCluster, query: dict[str, str]) -> dict[str, str]:
    """The query with its continue token (if any, and not rv -1) moved to
    the cluster's current RV: a token at RV 5 is answered 410 once another
    suite has compacted the shared cluster."""
    token = query.get("continue")
    if token is None:
        return query
    fields = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    if fields["rv"] <= 0:
        return query
    code, page = _call(cluster, "GET", "/api/v1/pods?limit=1")
    assert code == 200, page
    fields["rv"] = int(page["metadata"]["resourceVersion"])
    encoded = base64.urlsafe_b64encode(json.dumps(fields, separators=(",", ":")).encode())
    return {**query, "continue": encoded.decode().rstrip("=")}


def _served_builtins(cluster: DevCluster) -> list[tuple[GroupVersionResource, bool]]:
    served = []
    for info in builtin_resources():
        gvr = info.gvr
        base = gvr.api_prefix
        code, body = _call(cluster, "GET", base)
        if code != 200:
            continue
        for resource in body["resources"]:
            if resource["name"] == gvr.resource:
                served.append((gvr, resource["namespaced"]))
    return served


# Field labels newer than 1.20 (see resources.py); the server refuses them.
_NEWER_THAN_1_20 = {
    ("pods", "spec.hostNetwork"),
    ("services", "spec.clusterIP"),
    ("services", "spec.type"),
}


def test_kinds_table_matches_the_server(cluster: DevCluster) -> None:
    served = _served_builtins(cluster)
    assert len(served) >= 40
    for gvr, namespaced in served:
        info = builtin_resource(gvr)
        assert info is not None
        assert info.namespaced is namespaced, gvr
        path = parse_path(
            f"/api/{gvr.version}/{gvr.resource}"
            if not gvr.group
            else f"/apis/{gvr.group}/{gvr.version}/{gvr.resource}"
        )
        assert path is not None and path.gvr == gvr
        base = gvr.api_prefix
        code, body = _call(cluster, "GET", f"{base}/{gvr.resource}?limit=1")
        assert code == 200 and body["kind"] == info.list_kind, (gvr, body)
        for label in info.field_defaults:
            query = urllib.parse.urlencode({"limit": "1", "fieldSelector": f"{label}=x"})
            code, body = _call(cluster, "GET", f"{base}/{gvr.resource}?{query}")
            expected = 400 if (gvr.resource, label) in _NEWER_THAN_1_20 else 200
            assert code == expected, (gvr, label, body)
        if gvr.resource == "services":
            continue  # its unknown-label wording changed with its new labels
        query = urllib.parse.urlencode({"limit": "1", "fieldSelector": "zz=x"})
        code, body = _call(cluster, "GET", f"{base}/{gvr.resource}?{query}")
        assert body == info.unsupported_field("zz").status(), gvr


def _create_configmaps(cluster: DevCluster, namespace: str, names: list[str]) -> None:
    code, body = cluster.request("POST", "/api/v1/namespaces", {"metadata": {"name": namespace}})
    assert code == 201, body
    for name in names:
        code, body = cluster.request(
            "POST",
            f"/api/v1/namespaces/{namespace}/configmaps",
            {"metadata": {"name": name}, "data": {"k": "v"}},
        )
        assert code == 201, body


def test_continue_tokens_are_byte_identical(cluster: DevCluster) -> None:
    _create_configmaps(cluster, "tok-a", ["c1", "c2", "c3"])
    code, page = _call(cluster, "GET", "/api/v1/namespaces/tok-a/configmaps?limit=1")
    assert code == 200
    rv = int(page["metadata"]["resourceVersion"])
    first = page["items"][0]["metadata"]["name"]
    assert page["metadata"]["continue"] == encode_continue(rv, first)
    code, page = _call(cluster, "GET", "/api/v1/configmaps?limit=2")
    last = page["items"][-1]["metadata"]
    rv = int(page["metadata"]["resourceVersion"])
    assert page["metadata"]["continue"] == encode_continue(
        rv, f"{last['namespace']}/{last['name']}"
    )


def test_expired_continue_status_is_identical(cluster: DevCluster) -> None:
    _create_configmaps(cluster, "tok-b", ["d1", "d2"])
    _, page = _call(cluster, "GET", "/api/v1/namespaces/tok-b/configmaps?limit=1")
    token = page["metadata"]["continue"]
    _create_configmaps(cluster, "tok-c", ["e1"])
    cluster.compact()

    def expired() -> dict[str, Any] | None:
        code, body = _call(
            cluster, "GET", "/api/v1/namespaces/tok-b/configmaps?limit=1&continue=" + token
        )
        return body if code == 410 else None

    body = until_blocking(expired, "the continue token to expire", timeout=60, every=0.5)
    assert body == expired_continue(decode_continue(token)).status()


def test_status_errors_are_identical(cluster: DevCluster) -> None:
    nobody = cluster.nobody_token
    why = 'User "nobody" cannot {} resource "pods" in API group "" {}'
    cases: list[tuple[tuple[str, str, dict[str, Any]], ApiError]] = [
        (
            ("GET", "/api/v1/namespaces/nope/pods/x", {}),
            status.not_found("pods", "x"),
        ),
        (
            ("GET", "/apis/apps/v1/namespaces/default/deployments/x", {}),
            status.not_found("deployments", "x", group="apps"),
        ),
        (
            ("GET", "/api/v1/namespaces/default/pods", {"token": nobody}),
            status.forbidden("pods", "", why.format("list", 'in the namespace "default"')),
        ),
        (
            ("GET", "/api/v1/pods", {"token": nobody}),
            status.forbidden("pods", "", why.format("list", "at the cluster scope")),
        ),
        (
            ("GET", "/api/v1/namespaces/default/pods/x", {"token": nobody}),
            status.forbidden("pods", "x", why.format("get", 'in the namespace "default"')),
        ),
        (("GET", "/api/v1/pods", {"token": "not-a-token"}), status.unauthorized()),
        (
            ("GET", "/api/v1/pods", {"headers": {"Accept": "application/foo"}}),
            status.not_acceptable(),
        ),
        (
            (
                "POST",
                "/api/v1/namespaces/default/configmaps",
                {"headers": {"Content-Type": "text/plain"}, "data": b"x"},
            ),
            status.unsupported_media_type(),
        ),
        (("PATCH", "/api/v1/pods", {"data": b"{}"}), status.method_not_allowed()),
    ]
    for (method, path, kwargs), expected in cases:
        code, body = _call(cluster, method, path, **kwargs)
        assert (code, body) == (expected.code, expected.status()), (method, path)


def test_resource_version_errors_are_identical(cluster: DevCluster) -> None:
    _create_configmaps(cluster, "rv-a", ["f1"])
    code, page = _call(cluster, "GET", "/api/v1/namespaces/rv-a/configmaps")
    current = int(page["metadata"]["resourceVersion"])
    # The watch cache waits 3 s for the RV, then answers 504.
    code, body = _call(cluster, "GET", f"/api/v1/configmaps?resourceVersion={current + 10**6}")
    assert code == 504
    cache_rv = int(body["message"].rsplit(" ", 1)[1])
    assert body == status.too_large_resource_version(current + 10**6, cache_rv).status()
    cluster.compact()
    code, body = _call(
        cluster, "GET", "/api/v1/configmaps?resourceVersion=2&resourceVersionMatch=Exact"
    )
    assert (code, body) == (410, status.list_expired().status())


# Malformed JSON inside a well-formed base64 token: Go's scanner and
# decoder words each one; ours must agree byte for byte.
MALFORMED_JSON: list[bytes] = [
    b" ",
    b"\n",
    b"{",
    b"{}x",
    b"{1}",
    b'{"v"}',
    b'{"v":}',
    b'{"v":"a",}',
    b'{"v":"a" "rv":1}',
    b"[1,]",
    b"[1 2]",
    b"tru",
    b"trUe",
    b"nul",
    b"-",
    b"-x",
    b"01",
    b"1.",
    b"1.e5",
    b"1e",
    b"1e+",
    b'"abc',
    b'"a\\qb"',
    b'"a\\u12G4"',
    b'"a\x01b"',
    b"\x00",
    b"'a'",
    b"\xff",
    b'{"rv":5.0}',
    b'{"rv":1e3}',
    b'{"rv":99999999999999999999}',
    b'{"rv":true}',
    b'{"rv":"x","rv":5}',
    b'{"v":1}',
    b'{"start":[]}',
    b'{"START":{}}',
    b"5",
    b'"s"',
    b"true",
    b'{"v":"meta.k8s.io/v1","rv":5,"start":"a"} x',
]


@pytest.mark.parametrize("raw", MALFORMED_JSON)
def test_malformed_token_json_answers_match(cluster: DevCluster, raw: bytes) -> None:
    token = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    code, body = _call(
        cluster, "GET", "/api/v1/pods?" + urllib.parse.urlencode({"continue": token})
    )
    ours = _ours({"continue": token}, PODS, watch=False)
    assert ours is not None and code == 400, body
    # The Go type's package moved from etcd3 (1.20) to storage (1.34).
    assert ours.message.replace("storage.continueToken", "etcd3.continueToken") == body["message"]


# 1.20 phrasings of errors that 1.34+ (our parser) words differently; a
# server message matching one of these is compared on code and reason only.
_V120_ONLY = (
    "unable to parse requirement: found '",  # unknown operator list
    "unable to parse requirement: invalid label key ",
    "unable to parse requirement: invalid label value: ",
    "unable to parse requirement: for 'Gt', 'Lt' operators",
)
_LABEL_ALPHABET = [
    "\0",  # Go's lexer reads NUL as end of input
    "a",
    "b",
    "1",
    "-",
    ".",
    "/",
    "=",
    "!",
    "(",
    ")",
    ",",
    " ",
    "<",
    ">",
    " in ",
    "notin",
    "x.io/",
]
_FIELD_ALPHABET = ["metadata.name", "spec.nodeName", "a", "=", "!", ",", "\\", "x", " ", "=="]


def _random_selectors(alphabet: list[str], seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 8))) for _ in range(count)]


@pytest.mark.parametrize("kind", ["labelSelector", "fieldSelector"])
def test_random_selectors_agree_with_the_server(cluster: DevCluster, kind: str) -> None:
    alphabet = _LABEL_ALPHABET if kind == "labelSelector" else _FIELD_ALPHABET
    compared = 0
    for text in _random_selectors(alphabet, seed=1234, count=400):
        query = {kind: text, "limit": "1"}
        code, body = _list(cluster, "/api/v1/pods", query)
        ours = _ours(query, PODS, watch=False)
        if code == 200:
            assert ours is None, (text, ours)
            continue
        assert ours is not None, (text, body)
        assert (ours.code, ours.reason) == (code, body["reason"]), (text, body)
        if not body["message"].startswith(_V120_ONLY):
            assert ours.message == body["message"], text
            compared += 1
    assert compared >= 30  # most rejections are worded alike in both versions


# Values for a LIST's parameters, None meaning absent. sendInitialEvents is
# left out: 1.20 ignores it, 1.34+ forbids it on a LIST.
_LIST_PARAMETERS: dict[str, list[str | None]] = {
    # "1": the pods watch cache is at RV 1 in a cluster without pods, so an
    # RV of 1 never waits for the cache.
    "resourceVersion": [None, "", "0", "1", "abc", "-1"],
    "resourceVersionMatch": [None, "", "Exact", "NotOlderThan", "Foo"],
    "limit": [None, "0", "1", "x", "-1"],
    "continue": [None, _TOKEN, "abc"],
    "fieldSelector": [None, "zz=1", "metadata.name=x", "a"],
    "labelSelector": [None, "a b", "a=1"],
    "timeoutSeconds": [None, "y", "1"],
}


def test_random_list_options_agree_with_the_server(cluster: DevCluster) -> None:
    rng = random.Random(5678)
    compared = 0
    for _ in range(300):
        query = {
            name: value
            for name, values in _LIST_PARAMETERS.items()
            if (value := rng.choice(values)) is not None
        }
        code, body = _list(cluster, "/api/v1/pods", query)
        ours = _ours(query, PODS, watch=False)
        if code in (200, 410):  # 410: the storage's answer for a compacted RV
            assert ours is None, (query, ours)
            continue
        assert ours is not None, json.dumps([query, body])
        assert ours.code == code, json.dumps([query, body])
        if not body["message"].startswith(_V120_ONLY):
            assert ours.status() == body, query
            compared += 1
    assert compared >= 100


_LABEL_SETS: list[dict[str, str]] = [
    {},
    {"app": "web"},
    {"app": "web", "tier": "front", "n": "3"},
    {"app": "api", "tier": "back", "n": "10"},
    {"app": "api", "canary": "", "n": "0"},
    {"app": "db", "n": "x"},
    {"tier": "front", "example.com/owner": "me"},
    {"n": "007", "app": "web"},
]
_MATCH_SELECTORS = [
    "app=web",
    "app==api",
    "app!=web",
    "app in (web,db)",
    "app notin (web,db)",
    "tier",
    "!tier",
    "canary",
    "canary=",
    "n>2",
    "n<3",
    "n>0,app",
    "app in (api),tier notin (back)",
    "example.com/owner=me",
    "app=web,n>5",
    "a in ()",
    "app notin ()",
]


def test_label_matching_agrees_with_the_server(cluster: DevCluster) -> None:
    names = [f"l{i}" for i in range(len(_LABEL_SETS))]
    code, body = cluster.request("POST", "/api/v1/namespaces", {"metadata": {"name": "match-a"}})
    assert code == 201, body
    for name, labels in zip(names, _LABEL_SETS, strict=True):
        code, body = cluster.request(
            "POST",
            "/api/v1/namespaces/match-a/configmaps",
            {"metadata": {"name": name, "labels": labels}},
        )
        assert code == 201, body
    for text in _MATCH_SELECTORS:
        query = urllib.parse.urlencode({"labelSelector": text})
        code, body = _call(cluster, "GET", f"/api/v1/namespaces/match-a/configmaps?{query}")
        assert code == 200, (text, body["message"])
        # kube-root-ca.crt, published into every namespace, is not ours.
        served = sorted(
            i["metadata"]["name"] for i in body["items"] if i["metadata"]["name"] in names
        )
        selector = LabelSelector.parse(text)
        ours = sorted(
            name
            for name, labels in zip(names, _LABEL_SETS, strict=True)
            if selector.matches(labels)
        )
        assert ours == served, text


_PODS: list[dict[str, Any]] = [
    {"nodeName": "n1"},
    {"nodeName": "n2", "restartPolicy": "Never"},
    {"schedulerName": "other"},
    {"nodeName": "n1", "hostNetwork": True},
    {},
]
_FIELD_SELECTORS = [
    "spec.nodeName=n1",
    "spec.nodeName!=n1",
    "spec.nodeName=",
    "spec.restartPolicy=Always",
    "spec.restartPolicy!=Always",
    "spec.schedulerName=default-scheduler",
    "spec.serviceAccountName=default",
    "status.phase=Pending",
    "status.podIP=",
    "metadata.name=p2",
    "metadata.namespace=match-b,spec.nodeName==n2",
    "status.nominatedNodeName=",
]


def test_field_matching_agrees_with_the_server(cluster: DevCluster) -> None:
    code, body = cluster.request("POST", "/api/v1/namespaces", {"metadata": {"name": "match-b"}})
    assert code == 201, body
    until_blocking(
        lambda: cluster.request("GET", "/api/v1/namespaces/match-b/serviceaccounts/default")[1].get(
            "secrets"
        ),
        "the default service account's token",
        timeout=60,
        every=0.2,
    )
    stored = {}
    for i, spec in enumerate(_PODS):
        pod = {
            "metadata": {"name": f"p{i}"},
            "spec": {"containers": [{"name": "c", "image": "x"}], **spec},
        }
        code, body = cluster.request("POST", "/api/v1/namespaces/match-b/pods", pod)
        assert code == 201, json.dumps(body)
        stored[body["metadata"]["name"]] = body
    info = resource_info(PODS)
    for text in _FIELD_SELECTORS:
        query = urllib.parse.urlencode({"fieldSelector": text})
        code, body = _call(cluster, "GET", f"/api/v1/namespaces/match-b/pods?{query}")
        assert code == 200, body
        served = sorted(item["metadata"]["name"] for item in body["items"])
        selector = FieldSelector.parse(text)
        ours = sorted(n for n, obj in stored.items() if selector.matches(field_values(info, obj)))
        assert ours == served, text
