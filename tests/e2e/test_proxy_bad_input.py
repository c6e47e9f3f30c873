"""Bad input through `watchcache serve`, compared with what kube-apiserver
1.20 answers directly to the same request: status, Content-Type and body,
byte for byte. The one deliberate difference (docs/reads.md): a
resourceVersion that is not a uint64 is a 400 from the proxy wherever 1.20
answers its watch cache's bare 500.

Also what no client's mistake may do: an oversized request header never
hangs the proxy or logs a traceback, and a client that opens a watch and
never reads is closed by the slow-watcher rule while other watchers go on
receiving promptly."""

from __future__ import annotations

import base64
import contextlib
import json
import re
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.e2e.serving import ask, ask_direct, running_serve, wait_until_ready

from watchcache.devcluster import DevCluster

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"
PODS = "/api/v1/namespaces/default/pods"


@pytest.fixture(scope="module")
def serving(
    dev_cluster: DevCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    """The proxy's URL and its log file."""
    log = tmp_path_factory.mktemp("proxy") / "serve.log"
    args = ["--kubeconfig", str(dev_cluster.kubeconfig), "--resources", "pods,configmaps"]
    with running_serve(log, *args) as url:
        wait_until_ready(url)
        yield url, log


@pytest.fixture(scope="module")
def proxy(serving: tuple[str, Path]) -> str:
    return serving[0]


@pytest.fixture(scope="module")
def served(serving: tuple[str, Path]) -> Path:
    return serving[1]


def _token(payload: str) -> str:
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def _q(**params: str) -> str:
    return "?" + urllib.parse.urlencode(params)


# Over Python's 4,300-digit int() limit; once a plain-text 500 and a traceback.
LONG = "9" * 5000

_VALID_TOKEN = _token('{"v":"meta.k8s.io/v1","rv":5,"start":"a\\u0000"}')

# Requests that both must refuse the same way. Each is a cached resource,
# so the proxy answers from its own validation, not by forwarding.
SAME_ANSWER = {
    # label selectors
    "label: unclosed set": CONFIGMAPS + _q(labelSelector="a in ("),
    "label: two operators": CONFIGMAPS + _q(labelSelector="a=b=c"),
    "label: double negation": CONFIGMAPS + _q(labelSelector="!!"),
    "label: on a watch": CONFIGMAPS + _q(watch="1", labelSelector="a=b=c"),
    # field selectors
    "field: unknown field": CONFIGMAPS + _q(fieldSelector="spec.x=y"),
    "field: no operator": CONFIGMAPS + _q(fieldSelector="metadata.name"),
    "field: unescaped =": PODS + _q(fieldSelector="status.phase===Running"),
    "field: unknown pod field": PODS + _q(fieldSelector="spec.hostname=x"),
    "field: on a watch": PODS + _q(watch="true", fieldSelector="spec.x=y"),
    # resourceVersion and resourceVersionMatch
    "rv: not a number, paged (etcd path)": CONFIGMAPS + _q(resourceVersion="abc", limit="5"),
    "rvm: without rv": CONFIGMAPS + _q(resourceVersionMatch="Exact"),
    "rvm: exact at 0": CONFIGMAPS + _q(resourceVersion="0", resourceVersionMatch="Exact"),
    "rvm: unknown value": CONFIGMAPS + _q(resourceVersion="5", resourceVersionMatch="Newest"),
    "rvm: with continue": CONFIGMAPS
    + _q(resourceVersionMatch="Exact", resourceVersion="5", **{"continue": _VALID_TOKEN}),
    # continue tokens
    "continue: not JSON": CONFIGMAPS + _q(limit="1", **{"continue": "abc"}),
    "continue: not base64": CONFIGMAPS + _q(limit="1", **{"continue": "!!"}),
    "continue: rv 0": CONFIGMAPS
    + _q(**{"continue": _token('{"v":"meta.k8s.io/v1","rv":0,"start":"a"}')}),
    "continue: no start": CONFIGMAPS
    + _q(**{"continue": _token('{"v":"meta.k8s.io/v1","rv":3,"start":""}')}),
    "continue: path traversal": CONFIGMAPS
    + _q(**{"continue": _token('{"v":"meta.k8s.io/v1","rv":3,"start":"../x"}')}),
    "continue: rv string": CONFIGMAPS
    + _q(**{"continue": _token('{"v":"meta.k8s.io/v1","rv":"3","start":"a"}')}),
    "continue: with an rv": CONFIGMAPS + _q(resourceVersion="5", **{"continue": _VALID_TOKEN}),
    # integers
    "timeoutSeconds: not a number": CONFIGMAPS + _q(timeoutSeconds="abc"),
    "timeoutSeconds: on a watch": CONFIGMAPS + _q(watch="1", timeoutSeconds="1.5"),
    "timeoutSeconds: out of range": CONFIGMAPS
    + _q(watch="1", timeoutSeconds="99999999999999999999"),
    "limit: not a number": CONFIGMAPS + _q(limit="ten"),
    # resources that do not exist
    "unknown resource": "/api/v1/namespaces/default/foos",
    "unknown resource, watch": "/api/v1/foos?watch=1",
    "unknown group": "/apis/example.com/v1/foos",
    "unknown version": "/api/v2/pods",
    "unknown subresource": CONFIGMAPS + "/kube-root-ca.crt/nosuch",
    # GETs of missing objects, from the cache
    "missing object": CONFIGMAPS + "/nope?resourceVersion=0",
    "missing namespace": "/api/v1/namespaces/no-such-ns/configmaps/x?resourceVersion=0",
}


@pytest.mark.parametrize("path", list(SAME_ANSWER.values()), ids=list(SAME_ANSWER))
def test_bad_requests_get_kube_apiservers_answer(
    dev_cluster: DevCluster, proxy: str, path: str
) -> None:
    direct = ask_direct(dev_cluster, path)
    via = ask(proxy, path)
    assert direct.status >= 400, f"not bad input after all: {direct}"
    assert (via.status, via.content_type, via.body) == (
        direct.status,
        direct.content_type,
        direct.body,
    )


# Errors kube-apiserver words differently since 1.20; the proxy words them
# as 1.34+ does (watchcache.api.selectors and continuetoken say which).
# Same status and reason, and the same message up to where the wording
# changed.
_LABEL_ERROR = "unable to parse requirement: "
_UNKNOWN_VERSION = "invalid continue token: continue key is not valid: server does not recognize"
NEWER_WORDING = {
    "label: value too long": (CONFIGMAPS + _q(labelSelector="a=" + "x" * 64), _LABEL_ERROR),
    "label: bad key": (CONFIGMAPS + _q(labelSelector="-a=b"), _LABEL_ERROR),
    "label: unknown operator": (CONFIGMAPS + _q(labelSelector="a ~ b"), _LABEL_ERROR),
    "label: non-integer for >": (CONFIGMAPS + _q(labelSelector="a>b"), _LABEL_ERROR),
    "label: a 5,000-digit operand": (CONFIGMAPS + _q(labelSelector="a>" + LONG), _LABEL_ERROR),
    # 1.20 quotes the version (%q), 1.34 does not (%v).
    "continue: unknown version": (
        CONFIGMAPS + _q(**{"continue": _token('{"v":"meta.k8s.io/v2","rv":1,"start":"a\\u0000"}')}),
        _UNKNOWN_VERSION,
    ),
    "continue: null": (CONFIGMAPS + _q(**{"continue": _token("null")}), _UNKNOWN_VERSION),
}


@pytest.mark.parametrize(("path", "shared"), list(NEWER_WORDING.values()), ids=list(NEWER_WORDING))
def test_errors_worded_as_newer_kube_apiservers(
    dev_cluster: DevCluster, proxy: str, path: str, shared: str
) -> None:
    direct, via = ask_direct(dev_cluster, path), ask(proxy, path)
    expected, got = json.loads(direct.body), json.loads(via.body)
    assert (
        (via.status, via.content_type)
        == (direct.status, direct.content_type)
        == (
            400,
            "application/json",
        )
    )
    assert (got["reason"], got["code"]) == (expected["reason"], expected["code"])
    assert got["message"].startswith(shared) and expected["message"].startswith(shared)
    assert got["message"] != expected["message"], "1.20's wording now: compare the bodies"


def test_send_initial_events_on_a_list_is_refused_as_newer_kube_apiservers_do(
    dev_cluster: DevCluster, proxy: str
) -> None:
    """1.20 ignores sendInitialEvents (it has no WatchList); 1.27+ refuse
    it on a list, and so does the proxy, which serves WatchList."""
    path = CONFIGMAPS + _q(sendInitialEvents="true")
    assert ask_direct(dev_cluster, path).status == 200
    via = ask(proxy, path)
    status = json.loads(via.body)
    assert (via.status, status["reason"]) == (422, "Invalid")
    assert status["details"]["causes"] == [
        {
            "reason": "FieldValueForbidden",
            "message": "Forbidden: sendInitialEvents is forbidden for list",
            "field": "sendInitialEvents",
        }
    ]


# The deliberate difference: 1.20's watch cache answers these with a bare
# 500 (no reason); the proxy answers what 1.20's etcd path answers.
BAD_RESOURCE_VERSIONS = {
    "list": CONFIGMAPS + _q(resourceVersion="abc"),
    "list, out of range": CONFIGMAPS + _q(resourceVersion="99999999999999999999"),
    "list, negative": CONFIGMAPS + _q(resourceVersion="-1"),
    "watch": CONFIGMAPS + _q(watch="1", resourceVersion="abc"),
    "get": CONFIGMAPS + "/kube-root-ca.crt" + _q(resourceVersion="abc"),
}


@pytest.mark.parametrize(
    "path", list(BAD_RESOURCE_VERSIONS.values()), ids=list(BAD_RESOURCE_VERSIONS)
)
def test_an_unparsable_resource_version_is_a_bad_request_not_a_server_error(
    dev_cluster: DevCluster, proxy: str, path: str
) -> None:
    direct = ask_direct(dev_cluster, path)
    via = ask(proxy, path)
    assert direct.status == 500, "kube-apiserver 1.20's watch cache no longer answers 500"
    rv = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)["resourceVersion"][0]
    expected = json.loads(direct.body)["message"]
    status = json.loads(via.body)
    assert (via.status, status["reason"], status["code"]) == (400, "BadRequest", 400)
    assert status["message"] == f"invalid resource version: {expected}"
    assert rv in status["message"]


@pytest.mark.parametrize(
    "accept",
    [
        "application/vnd.kubernetes.protobuf",
        "application/x-unknown",
        "text/html",
        "application/yaml",
        "application/json;as=Foo;v=v1;g=meta.k8s.io",
        "application/json;as=PartialObjectMetadataList;v=v2;g=meta.k8s.io",
        "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io",
    ],
)
@pytest.mark.parametrize("query", ["", "?resourceVersion=0", "?watch=1&timeoutSeconds=1"])
def test_content_types_the_cache_cannot_serve(
    dev_cluster: DevCluster, proxy: str, accept: str, query: str
) -> None:
    """Protobuf, YAML and unknown types, and conversions the cache does not
    render: the same status and Content-Type as kube-apiserver, and the
    same body where it does not depend on timing (errors; the one object)."""
    for path in (CONFIGMAPS + query, CONFIGMAPS + "/kube-root-ca.crt" + query):
        if "watch" in query and "kube-root" in path:
            continue  # a watch of one object by its path: covered by the list watch
        direct = ask_direct(dev_cluster, path, {"Accept": accept})
        via = ask(proxy, path, {"Accept": accept})
        assert (via.status, via.content_type) == (direct.status, direct.content_type), path
        if direct.status >= 400 or "kube-root" in path:
            assert via.body == direct.body, path


# -- oversized headers ---------------------------------------------------------


def _raw_get(url: str, path: str, extra_headers: str, timeout: float = 10.0) -> bytes:
    """A hand-written HTTP/1.1 GET; everything the server sends until it
    closes. A hang fails the test by the socket timeout."""
    host, port = urllib.parse.urlsplit(url).netloc.split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as conn:
        request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra_headers}Connection: close\r\n\r\n"
        conn.sendall(request.encode())
        received = b""
        while chunk := conn.recv(65536):
            received += chunk
    return received


def _status_line(raw: bytes) -> str:
    return raw.split(b"\r\n", 1)[0].decode()


def test_a_100_kb_header_is_served_as_kube_apiserver_serves_it(
    dev_cluster: DevCluster, proxy: str, served: Path
) -> None:
    """kube-apiserver (Go's net/http) takes request headers up to 1 MiB in
    all; one 100 KB header is fine, and so is a 100 KB URL."""
    path = CONFIGMAPS + "/kube-root-ca.crt?resourceVersion=0"
    big = {"X-Big": "a" * 100_000}
    direct = ask_direct(dev_cluster, path, big)
    assert direct.status == 200
    assert ask(proxy, path, big).body == direct.body
    long_path = path + "&x=" + "a" * 100_000
    assert ask_direct(dev_cluster, long_path).status == 200
    assert ask(proxy, long_path).body == direct.body
    assert "Traceback" not in served.read_text()


def test_headers_over_1_mib_get_431_and_the_proxy_goes_on(
    dev_cluster: DevCluster, proxy: str, served: Path
) -> None:
    """Over kube-apiserver's 1 MiB, Go answers 431 Request Header Fields Too
    Large and closes; the proxy answers the same, at once, and serves the
    next request."""
    many = "".join(f"X-H{i}: {'a' * 50_000}\r\n" for i in range(40))  # 2 MB in all
    via = _raw_get(proxy, CONFIGMAPS + "?resourceVersion=0", many)
    assert _status_line(via) == "HTTP/1.1 431 Request Header Fields Too Large"
    assert via.endswith(b"\r\n\r\n431 Request Header Fields Too Large")
    assert _direct_raw_status(dev_cluster, many) == "HTTP/1.1 431 Request Header Fields Too Large"
    assert ask(proxy, CONFIGMAPS + "?resourceVersion=0").status == 200
    assert "Traceback" not in served.read_text()


def test_one_header_over_1_mib_gets_a_prompt_client_error(
    dev_cluster: DevCluster, proxy: str, served: Path
) -> None:
    """One header field over 1 MiB: Go answers 431; aiohttp's parser stops
    at its field limit and answers 400 (a known difference: the request
    never reaches the application). Either way a prompt 4xx and a closed
    connection, with no traceback logged."""
    huge = "X-Huge: " + "a" * (1 << 20) + "x" * 8192 + "\r\n"
    assert _direct_raw_status(dev_cluster, huge) == "HTTP/1.1 431 Request Header Fields Too Large"
    via = _raw_get(proxy, CONFIGMAPS, huge)
    assert _status_line(via) in (
        "HTTP/1.1 431 Request Header Fields Too Large",
        "HTTP/1.0 400 Bad Request",
    )
    assert ask(proxy, CONFIGMAPS + "?resourceVersion=0").status == 200
    assert "Traceback" not in served.read_text()


def _direct_raw_status(cluster: DevCluster, extra_headers: str) -> str:
    context = ssl.create_default_context(cafile=str(cluster.ca_file))
    host, port = urllib.parse.urlsplit(cluster.url).netloc.split(":")
    with socket.create_connection((host, int(port)), timeout=10) as plain:
        with context.wrap_socket(plain, server_hostname=host) as conn:
            request = (
                f"GET {CONFIGMAPS} HTTP/1.1\r\nHost: {host}\r\n"
                f"Authorization: Bearer {cluster.admin_token}\r\n{extra_headers}"
                "Connection: close\r\n\r\n"
            )
            conn.sendall(request.encode())
            received = b""
            while chunk := conn.recv(65536):
                received += chunk
    return _status_line(received)


# -- a watcher that never reads --------------------------------------------------

# Enough bytes to fill the stuck client's socket (kernel buffers on loopback
# reach a few MB) and then the watcher's own 1 MiB buffer several times over.
UPDATES = 24
VALUE_BYTES = 500_000


def test_a_watcher_that_never_reads_is_closed_and_costs_others_nothing(
    dev_cluster: DevCluster, proxy: str, namespace: str
) -> None:
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    code, created = dev_cluster.request(
        "POST", path, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "big"}}
    )
    assert code == 201, created
    start_rv = created["metadata"]["resourceVersion"]
    watch_path = f"{path}?watch=1&resourceVersion={start_rv}&timeoutSeconds=120"
    host, port = urllib.parse.urlsplit(proxy).netloc.split(":")

    stuck = socket.socket()
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # fills fast
    stuck.connect((host, int(port)))
    stuck.sendall(f"GET {watch_path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())

    seen: dict[str, float] = {}  # RV -> when the reading watcher got it
    reader_open, reader_done = threading.Event(), threading.Event()

    def read_promptly() -> None:
        with socket.create_connection((host, int(port)), timeout=60) as conn:
            conn.sendall(f"GET {watch_path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            stream = conn.makefile("rb")
            while stream.readline() not in (b"\r\n", b""):
                pass  # the response head
            reader_open.set()
            while not reader_done.is_set():
                size = int(stream.readline(), 16)
                if size == 0:
                    return
                chunk = stream.read(size + 2)[:-2]
                for line in chunk.splitlines():
                    rv = json.loads(line)["object"]["metadata"]["resourceVersion"]
                    seen[rv] = time.monotonic()

    reader = threading.Thread(target=read_promptly, daemon=True)
    reader.start()
    try:
        # Both watches are served: each has its response head.
        assert reader_open.wait(60), "the reading watch never opened"
        stuck.settimeout(60)
        assert stuck.recv(1, socket.MSG_PEEK), "the stuck watch never opened"
        delays = []
        for i in range(UPDATES):
            body = {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "big"},
                "data": {"v": str(i) * VALUE_BYTES},
            }
            code, updated = dev_cluster.request("PUT", f"{path}/big", body)
            assert code == 200, updated
            written = time.monotonic()
            rv = updated["metadata"]["resourceVersion"]
            # Held up behind the stuck watcher, an update would wait for
            # ever; a loaded machine may take a second or two.
            deadline = written + 60.0
            while rv not in seen and time.monotonic() < deadline:
                time.sleep(0.005)
            assert rv in seen, f"update {i} (rv {rv}) never delivered"
            delays.append(seen[rv] - written)
        print(f"reading watcher: max delay {max(delays) * 1000:.0f} ms over {UPDATES} updates")
        last_rv = updated["metadata"]["resourceVersion"]

        # The stuck client now reads what reached it: a stream the proxy
        # ended before the last events. It took nothing for longer than the
        # end-of-watch grace (fanout/socket.py's END_GRACE), so it may
        # also have been dropped: a reset, or an end without the
        # terminating chunk. A hang fails by the socket timeout.
        stuck.settimeout(30)
        received = bytearray()
        with contextlib.suppress(ConnectionResetError):
            while chunk := stuck.recv(1 << 20):
                received += chunk
                if received.endswith(b"\r\n0\r\n\r\n"):
                    break
        got = re.findall(rb'"resourceVersion":"(\d+)"', received)
        print(f"the stuck watcher was sent {len(got)} of {UPDATES} events before it was closed")
        assert last_rv.encode() not in got, "the stuck watch got every event"
    finally:
        reader_done.set()
        stuck.close()


# -- expired continue tokens -----------------------------------------------------


def test_expired_continue_tokens(dev_cluster: DevCluster, proxy: str, namespace: str) -> None:
    """After etcd compacts, kube-apiserver 1.20 answers an old continue token
    with 410 Expired (and a token to go on inconsistently). The proxy
    answers the same for a token older than its history (it forwards it),
    and, for a token its history still covers, the page as it was at the
    token's RV, as 1.34+ do from their snapshots (KEP-4988)."""
    base = f"/api/v1/namespaces/{namespace}/configmaps"
    for i in range(5):
        body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{i}"}}
        assert dev_cluster.request("POST", base, body)[0] == 201
    first = json.loads(ask_direct(dev_cluster, base + "?limit=2").body)
    token = first["metadata"]["continue"]
    before = json.loads(ask_direct(dev_cluster, f"{base}?limit=2&continue={token}").body)
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c1a"}}
    assert dev_cluster.request("POST", base, body)[0] == 201  # lands on the next page
    dev_cluster.compact()

    direct = ask_direct(dev_cluster, f"{base}?limit=2&continue={token}")
    expired = json.loads(direct.body)
    assert (direct.status, expired["reason"]) == (410, "Expired")
    via = ask(proxy, f"{base}?limit=2&continue={token}")
    assert via.status == 200
    assert json.loads(via.body)["items"] == before["items"]

    ancient = _token('{"v":"meta.k8s.io/v1","rv":2,"start":"c0\\u0000"}')
    direct = ask_direct(dev_cluster, f"{base}?limit=2&continue={ancient}")
    via = ask(proxy, f"{base}?limit=2&continue={ancient}")
    assert direct.status == 410
    assert (via.status, via.content_type, via.body) == (
        direct.status,
        direct.content_type,
        direct.body,
    )


# -- integers of any length ----------------------------------------------------

LONG_INTEGERS = {
    "limit": CONFIGMAPS + _q(limit=LONG),
    "limit, negative": CONFIGMAPS + _q(limit="-" + LONG),
    "timeoutSeconds": CONFIGMAPS + _q(timeoutSeconds=LONG),
    "timeoutSeconds, on a watch": CONFIGMAPS + _q(watch="1", timeoutSeconds=LONG),
    "rv, paged (etcd path)": CONFIGMAPS + _q(resourceVersion=LONG, limit="5"),
    "rv, overflow then a bad character": CONFIGMAPS + _q(resourceVersion=LONG + "x", limit="5"),
    "quoted in the error": CONFIGMAPS + _q(limit='1"\n\x01'),
    "continue token rv": CONFIGMAPS
    + _q(**{"continue": _token('{"v":"meta.k8s.io/v1","rv":' + LONG + ',"start":"a"}')}),
}


@pytest.mark.parametrize("path", list(LONG_INTEGERS.values()), ids=list(LONG_INTEGERS))
def test_integers_of_any_length_get_kube_apiservers_answer(
    dev_cluster: DevCluster, proxy: str, served: Path, path: str
) -> None:
    direct = ask_direct(dev_cluster, path)
    via = ask(proxy, path)
    assert direct.status == 400, f"not bad input after all: {direct}"
    assert (via.status, via.content_type, via.body) == (
        direct.status,
        direct.content_type,
        direct.body,
    )
    assert "Traceback" not in served.read_text()


@pytest.mark.parametrize("watch", ["0", "1"])
def test_a_resource_version_of_any_length_is_a_bad_request(
    dev_cluster: DevCluster, proxy: str, served: Path, watch: str
) -> None:
    """Where 1.20's watch cache answers its bare 500 (the deliberate
    difference above), the proxy answers 1.20's etcd path's 400."""
    path = CONFIGMAPS + _q(watch=watch, resourceVersion=LONG)
    direct, via = ask_direct(dev_cluster, path), ask(proxy, path)
    assert direct.status == 500, "kube-apiserver 1.20's watch cache no longer answers 500"
    status = json.loads(via.body)
    assert (via.status, status["reason"]) == (400, "BadRequest")
    assert status["message"] == f"invalid resource version: {json.loads(direct.body)['message']}"
    assert "Traceback" not in served.read_text()


def test_leading_zeros_of_any_length_are_read_as_go_reads_them(
    dev_cluster: DevCluster, proxy: str
) -> None:
    path = CONFIGMAPS + "/kube-root-ca.crt" + _q(resourceVersion="0" * 5000)
    direct, via = ask_direct(dev_cluster, path), ask(proxy, path)
    assert (
        (via.status, via.content_type)
        == (direct.status, direct.content_type)
        == (
            200,
            "application/json",
        )
    )
    assert json.loads(via.body)["metadata"]["name"] == "kube-root-ca.crt"


# -- degenerate field selectors ------------------------------------------------

# The issue's ``?fieldSelector==`` is the selector "=".
DEGENERATE_FIELD_SELECTORS = ["=", "==", "!=", "==x", "=x", "a==", "a=", ",", ",,", "=,=", " = "]


@pytest.mark.parametrize("resource", [CONFIGMAPS, PODS])
@pytest.mark.parametrize("selector", DEGENERATE_FIELD_SELECTORS)
def test_degenerate_field_selectors_get_kube_apiservers_answer(
    dev_cluster: DevCluster, proxy: str, resource: str, selector: str
) -> None:
    for watch in ({}, {"watch": "1", "timeoutSeconds": "1"}):
        path = resource + _q(fieldSelector=selector, **watch)
        direct, via = ask_direct(dev_cluster, path), ask(proxy, path)
        message = json.loads(direct.body).get("message", "") if direct.status != 200 else ""
        print(f"fieldSelector={selector!r} watch={bool(watch)}: {direct.status} {message}")
        assert (via.status, via.content_type) == (direct.status, direct.content_type), path
        if direct.status != 200:
            assert via.body == direct.body, path
        elif not watch:
            names = [i["metadata"]["name"] for i in json.loads(direct.body)["items"]]
            assert [i["metadata"]["name"] for i in json.loads(via.body)["items"]] == names


# -- HTTP/1.0 ------------------------------------------------------------------


def _http_1_0(
    host: str, port: int, path: str, extra: str = "", wrap: ssl.SSLContext | None = None
) -> bytes:
    """An HTTP/1.0 GET; everything until the server closes."""
    with socket.create_connection((host, port), timeout=30) as plain:
        conn = wrap.wrap_socket(plain, server_hostname=host) if wrap else plain
        conn.sendall(f"GET {path} HTTP/1.0\r\nHost: {host}\r\n{extra}\r\n".encode())
        received = b""
        while chunk := conn.recv(65536):
            received += chunk
    return received


def test_an_http_1_0_watch_is_served_as_kube_apiserver_serves_it(
    dev_cluster: DevCluster, proxy: str, served: Path, namespace: str
) -> None:
    """Go's net/http answers HTTP/1.0 without chunked encoding: the events
    as they are, the body ended by closing the connection. Before: 500."""
    path = f"/api/v1/namespaces/{namespace}/configmaps?watch=1&timeoutSeconds=2"
    host, port = urllib.parse.urlsplit(dev_cluster.url).netloc.split(":")
    context = ssl.create_default_context(cafile=str(dev_cluster.ca_file))
    auth = f"Authorization: Bearer {dev_cluster.admin_token}\r\n"
    direct = _http_1_0(host, int(port), path, auth, context)
    proxy_host, proxy_port = urllib.parse.urlsplit(proxy).netloc.split(":")
    via = _http_1_0(proxy_host, int(proxy_port), path)
    for answer in (direct, via):
        head, _, body = answer.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        assert lines[0] == "HTTP/1.0 200 OK", answer[:300]
        assert "transfer-encoding" not in headers and "content-length" not in headers
        assert headers["content-type"] == "application/json"
        events = [json.loads(line) for line in body.splitlines()]
        assert [e["object"]["metadata"]["name"] for e in events] == ["kube-root-ca.crt"]
    assert "Traceback" not in served.read_text()
