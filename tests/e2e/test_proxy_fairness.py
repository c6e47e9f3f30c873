"""Per-client fairness through ``watchcache serve --auth=delegated`` in front
of kube-apiserver 1.20: one service account's LIST storm past its bound is
answered 429 while another's watch and GETs are served, and the admin
(system:masters) is never bounded.

The storm's LISTs stay in flight on purpose: each asks for a
resourceVersion far beyond the cache's, which the proxy waits 3 s for
before answering 504, so the bound of 2 is reached without racing the
clock; a client ignoring Retry-After sends the next at once.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import socket
import threading
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.e2e.serving import running_serve
from tests.e2e.test_proxy_auth import (
    Reply,
    Requester,
    _binding,
    _create,
    _role,
    _service_account_token,
    call,
    until,
)
from tests.unit.proxy.test_fairness import TOO_MANY

from watchcache.devcluster import DevCluster

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def bounded_proxy(
    dev_cluster: DevCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    pki = dev_cluster.pki
    log = tmp_path_factory.mktemp("fair-proxy") / "serve.log"
    with running_serve(
        log,
        "--auth=delegated",
        f"--kubeconfig={dev_cluster.kubeconfig}",
        "--resources=configmaps",
        f"--tls-cert-file={pki.serving_crt}",
        f"--tls-private-key-file={pki.serving_key}",
        f"--client-ca-file={dev_cluster.ca_file}",
        "--max-lists-inflight-per-client=2",
        "--max-watches-per-client=3",
    ) as url:
        admin = Requester("admin", token=dev_cluster.admin_token)
        until(
            lambda: call(url, admin, dev_cluster.ca_file, "GET", "/readyz").status == 200,
            "the proxy's caches did not sync",
        )
        yield url


def _reader(cluster: DevCluster, namespace: str, name: str) -> Requester:
    token = _service_account_token(cluster, namespace, name)
    subject = {"kind": "ServiceAccount", "name": name, "namespace": namespace}
    _binding(cluster, namespace, name, "reader", subject)
    return Requester(name, token=token)


class Storm:
    """``threads`` clients of one requester, each sending ``path`` again as
    soon as it is answered, until stopped; the answers counted."""

    def __init__(self, base: str, who: Requester, ca: Path, path: str, threads: int) -> None:
        self.base, self.who, self.ca, self.path = base, who, ca, path
        self.codes: Counter[int] = Counter()
        self.refusals: list[Reply] = []
        self.retry_after: set[str | None] = set()
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run) for _ in range(threads)]

    def __enter__(self) -> Storm:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def count(self, code: int) -> int:
        with self._lock:
            return self.codes[code]

    def _run(self) -> None:
        url = urllib.parse.urlsplit(self.base)
        while not self._stop.is_set():
            connection = http.client.HTTPSConnection(
                url.netloc, timeout=30, context=self.who.context(self.ca)
            )
            try:
                connection.request("GET", self.path, headers=self.who.headers())
                response = connection.getresponse()
                body = response.read()
            except Exception as err:
                self.errors.append(repr(err))
                raise
            finally:
                connection.close()
            with self._lock:
                self.codes[response.status] += 1
                if response.status == 429 and len(self.refusals) < 5:
                    self.refusals.append(Reply(429, json.loads(body)))
                    self.retry_after.add(response.getheader("Retry-After"))


class Watch:
    """A watch read line by line in a thread."""

    def __init__(self, base: str, who: Requester, ca: Path, path: str) -> None:
        url = urllib.parse.urlsplit(base)
        self.connection = http.client.HTTPSConnection(
            url.netloc, timeout=60, context=who.context(ca)
        )
        self.connection.request("GET", path, headers=who.headers())
        self.socket = self.connection.sock
        self.response = self.connection.getresponse()
        self.names: list[str] = []
        self._thread = threading.Thread(target=self._read, daemon=True)
        if self.response.status == 200:
            self._thread.start()

    def _read(self) -> None:
        try:
            for line in self.response:
                if line.strip():
                    self.names.append(json.loads(line)["object"]["metadata"]["name"])
        except (OSError, ValueError, http.client.HTTPException):
            return

    def close(self) -> None:
        """Ends the connection (the response's file keeps the socket open
        past ``connection.close()``)."""
        with contextlib.suppress(OSError):
            self.socket.shutdown(socket.SHUT_RDWR)
        self.connection.close()


def test_one_clients_list_storm_is_429_while_anothers_watch_and_gets_are_served(
    dev_cluster: DevCluster, bounded_proxy: str, namespace: str
) -> None:
    cluster, ca, ns = dev_cluster, dev_cluster.ca_file, namespace
    _role(cluster, ns, "reader", ["configmaps"])
    stormer, bystander = _reader(cluster, ns, "stormer"), _reader(cluster, ns, "bystander")
    admin = Requester("admin", token=cluster.admin_token)
    configmaps = f"/api/v1/namespaces/{ns}/configmaps"
    _create(
        cluster,
        configmaps,
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "before"}},
    )
    until(
        lambda: (
            call(bounded_proxy, bystander, ca, "GET", configmaps + "/before?resourceVersion=0")
            == call(cluster.url, bystander, ca, "GET", configmaps + "/before?resourceVersion=0")
        ),
        "RBAC to see the bindings and the proxy to cache the configmap",
    )
    listed = call(cluster.url, admin, ca, "GET", configmaps)
    far = int(listed.body["metadata"]["resourceVersion"]) + 10_000_000
    stuck = f"{configmaps}?resourceVersion={far}"

    watch = Watch(bounded_proxy, bystander, ca, configmaps + "?watch=1&resourceVersion=0")
    assert watch.response.status == 200
    with Storm(bounded_proxy, stormer, ca, stuck, threads=8) as storm:
        until(lambda: storm.count(429) >= 6 or bool(storm.errors), "429s for the storm")
        assert not storm.errors, storm.errors
        # Another client is served meanwhile: GET, LIST, its watch's events.
        got = call(bounded_proxy, bystander, ca, "GET", configmaps + "/before?resourceVersion=0")
        assert got.status == 200 and got.body["metadata"]["name"] == "before"
        assert (
            call(bounded_proxy, bystander, ca, "GET", configmaps + "?resourceVersion=0").status
            == 200
        )
        _create(
            cluster,
            configmaps,
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "during-storm"}},
        )
        until(lambda: "during-storm" in watch.names, "the bystander's watch to hear the write")
        # The admin is exempt: three LISTs in flight at once, none refused.
        with Storm(bounded_proxy, admin, ca, stuck, threads=3) as exempt:
            until(lambda: exempt.count(504) >= 3, "the admin's LISTs to be answered")
        assert exempt.count(429) == 0
    watch.close()
    assert set(storm.codes) == {429, 504}, storm.codes
    assert storm.refusals[0] == Reply(429, TOO_MANY) and storm.retry_after == {"1"}
    metrics = call(bounded_proxy, admin, ca, "GET", "/metrics").body.decode()
    rejected = re.search(
        r'watchcache_fairness_rejected_requests_total\{kind="list"\} (\S+)', metrics
    )
    assert rejected and float(rejected.group(1)) >= storm.count(429)


def test_a_client_past_its_watch_bound_gets_429_and_another_does_not(
    dev_cluster: DevCluster, bounded_proxy: str, other_namespace: str
) -> None:
    cluster, ca, ns = dev_cluster, dev_cluster.ca_file, other_namespace
    _role(cluster, ns, "reader", ["configmaps"])
    holder, other = _reader(cluster, ns, "holder"), _reader(cluster, ns, "other")
    path = f"/api/v1/namespaces/{ns}/configmaps?watch=1&resourceVersion=0"
    until(
        lambda: call(cluster.url, holder, ca, "GET", path + "&timeoutSeconds=1").status == 200,
        "RBAC to see the binding",
    )
    held = [Watch(bounded_proxy, holder, ca, path) for _ in range(3)]
    assert [w.response.status for w in held] == [200] * 3
    refused = Watch(bounded_proxy, holder, ca, path)
    assert refused.response.status == 429
    assert refused.response.getheader("Retry-After") == "1"
    assert json.loads(refused.response.read()) == TOO_MANY
    served = Watch(bounded_proxy, other, ca, path)
    assert served.response.status == 200
    # A watch that ends gives its place back.
    held[0].close()
    until(
        lambda: call(bounded_proxy, holder, ca, "GET", path + "&timeoutSeconds=1").status == 200,
        "the closed watch's place to be given back",
    )
    for watch in (*held, refused, served):
        watch.close()
