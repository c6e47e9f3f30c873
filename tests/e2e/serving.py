"""`watchcache serve` in a subprocess, and raw HTTP to it and to
kube-apiserver, for e2e tests that put the two side by side.

Glossary:
    proxy     a ``watchcache serve`` process on a free loopback port, in
              front of the session's kube-apiserver (``running_serve``)
    direct    kube-apiserver itself, as admin over TLS
    Answer    one HTTP answer: status, headers, body bytes
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import ssl
import subprocess
import sys
import urllib.parse
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.polling import until_blocking

from watchcache.devcluster import DevCluster

__all__ = [
    "Answer",
    "ask",
    "ask_direct",
    "kubectl_env",
    "running_serve",
    "serve_process",
    "until_cached",
    "upstream_requests",
]


@contextlib.contextmanager
def running_serve(log: Path, *args: str) -> Iterator[str]:
    """`watchcache serve ARGS` on a free port; its URL; stopped (and its
    clean exit checked) afterwards."""
    with serve_process(log, *args) as (url, _proc):
        yield url


@contextlib.contextmanager
def serve_process(log: Path, *args: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``running_serve``, with the process too."""
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "watchcache",
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--shutdown-spread",
                "0",
                # The proxy's own credentials unless a test asks for --auth.
                "--auth=none",
                *args,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        yield _wait_for_url(log, proc), proc
    finally:
        proc.terminate()
        assert proc.wait(15) == 0, log.read_text()[-2000:]


def _wait_for_url(log: Path, proc: subprocess.Popen[bytes]) -> str:
    def started() -> str | None:
        found = re.search(r"serving on (https?://127\.0\.0\.1:\d+)", log.read_text())
        assert found or proc.poll() is None, log.read_text()
        return found.group(1) if found else None

    return until_blocking(started, "the proxy to start", timeout=60, every=0.1)


def wait_until_ready(url: str, timeout: float = 60.0) -> None:
    """Until /readyz says every cache has synced."""
    until_blocking(lambda: ask(url, "/readyz").status == 200, "the caches to sync", timeout=timeout)


def until_cached(url: str, list_path: str, rv: str, timeout: float = 60.0) -> None:
    """Until the proxy's cache behind ``list_path`` has reached ``rv``, as a
    read at RV=0 (whatever the cache holds now) needs. A list at RV=N waits
    in the proxy for just that, 3 s at most (504 after, as kube-apiserver's
    cache answers); on a loaded machine it is asked again."""

    def reached() -> bool:
        status = ask(url, f"{list_path}?resourceVersion={rv}").status
        assert status in (200, 504), status
        return status == 200

    until_blocking(reached, f"the cache to reach {rv}", timeout=timeout, every=0)


def kubectl_env() -> dict[str, str]:
    """kubectl's environment with no kubeconfig of the machine's in reach."""
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    return {**env, "HOME": "/nonexistent"}


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")


def ask(
    base: str,
    path: str,
    headers: Mapping[str, str] | None = None,
    *,
    context: ssl.SSLContext | None = None,
    timeout: float = 30.0,
) -> Answer:
    """One GET, whatever its status; the whole body read."""
    url = urllib.parse.urlsplit(base)
    connection: http.client.HTTPConnection
    if url.scheme == "https":
        connection = http.client.HTTPSConnection(url.netloc, timeout=timeout, context=context)
    else:
        connection = http.client.HTTPConnection(url.netloc, timeout=timeout)
    try:
        connection.request("GET", path, headers=dict(headers or {}))
        response = connection.getresponse()
        return Answer(response.status, dict(response.getheaders()), response.read())
    finally:
        connection.close()


def ask_direct(cluster: DevCluster, path: str, headers: Mapping[str, str] | None = None) -> Answer:
    """``ask`` kube-apiserver itself, as admin."""
    context = ssl.create_default_context(cafile=str(cluster.ca_file))
    auth = {"Authorization": f"Bearer {cluster.admin_token}"}
    return ask(cluster.url, path, {**auth, **(headers or {})}, context=context)


_SAMPLE = re.compile(r"^(\w+)\{(.*)\} (\S+)$")
_LABEL = re.compile(r'(\w+)="([^"]*)"')


READS = frozenset({"GET", "LIST", "WATCH"})


def upstream_requests(cluster: DevCluster, resource: str) -> Counter[tuple[str, str]]:
    """kube-apiserver's count of JSON reads of ``resource`` (the tests' own
    writes are left out), by (verb, scope): what a proxy costs it. WATCHes
    are counted when they end. kube-controller-manager reads protobuf, so
    its reads (its namespace controller lists every resource of each
    namespace a test deleted, whenever it gets to it) are not counted."""
    code, text = cluster.request("GET", "/metrics")
    assert code == 200
    counts: Counter[tuple[str, str]] = Counter()
    for line in text.splitlines():
        sample = _SAMPLE.match(line)
        if sample is None or sample.group(1) != "apiserver_request_total":
            continue
        labels = dict(_LABEL.findall(sample.group(2)))
        if (
            labels["resource"] == resource
            and labels["contentType"] == "application/json"
            and labels["verb"] in READS
        ):
            counts[labels["verb"], labels["scope"]] += int(float(sample.group(3)))
    return counts
