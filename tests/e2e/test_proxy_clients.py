"""Real clients through `watchcache serve` (caching pods and configmaps)
and straight to kube-apiserver, side by side: kubectl 1.20 and the
machine's newer kubectl, the official Python client, and a kopf operator.
Each does the same thing twice, through the proxy in one namespace and
directly in another; the outputs must be the same once what must differ
is normalised: the namespace's name, and what the server stamps per object
(uid, resourceVersion, timestamps, a table's AGE column).

test_proxy_forward.py and test_proxy_reads.py cover single requests; this
file covers whole client sessions."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config, watch
from tests.e2e.serving import kubectl_env, running_serve, until_cached, wait_until_ready
from tests.polling import until_blocking

from watchcache.devcluster import CONTEXT_ADMIN, DevCluster


@pytest.fixture(scope="module")
def proxy(dev_cluster: DevCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("proxy") / "serve.log"
    args = ["--kubeconfig", str(dev_cluster.kubeconfig), "--resources", "pods,configmaps"]
    with running_serve(log, *args) as url:
        wait_until_ready(url)
        yield url


# -- normalising what must differ ------------------------------------------------

# The service account's token secret, named at random per namespace (1.20).
_TOKEN_SECRET = re.compile(r"default-token-[a-z0-9]{5}")
_STAMPED = ("uid", "resourceVersion", "creationTimestamp", "deletionTimestamp")


def normalised(value: Any, namespace: str) -> Any:
    """``value`` with the namespace's name replaced and per-object stamps
    blanked, recursively."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key in _STAMPED and isinstance(item, str):
                out[key] = "<stamp>" if item else ""
            elif key == "time" and isinstance(item, str):
                out[key] = "<time>"
            else:
                out[key] = normalised(item, namespace)
        return out
    if isinstance(value, list):
        return [normalised(item, namespace) for item in value]
    if isinstance(value, str):
        return _TOKEN_SECRET.sub("default-token-<random>", value.replace(namespace, "<ns>"))
    return value


def normalised_text(text: str, namespace: str) -> str:
    """kubectl's plain output: the namespace's name and AGE columns."""
    text = text.replace(namespace, "<ns>")
    return re.sub(r"\b\d+(s|m|h|d)(\d+(s|m))?\b", "<age>", text)


# -- kubectl ---------------------------------------------------------------------


class Kubectl:
    """One kubectl, aimed either at the proxy (``--server``, no
    credentials) or straight at kube-apiserver (the cluster's kubeconfig)."""

    def __init__(self, binary: Path, target: list[str], namespace: str) -> None:
        self.binary = binary
        self.target = target
        self.namespace = namespace

    def argv(self, *args: str) -> list[str]:
        return [str(self.binary), *self.target, "-n", self.namespace, *args]

    def run(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            self.argv(*args),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            env=kubectl_env(),
        )
        # The exit code and both streams: errors must match too.
        return f"rc={done.returncode}\n{done.stdout}\n--stderr--\n{done.stderr}"


def via_proxy(binary: Path, proxy: str, namespace: str) -> Kubectl:
    return Kubectl(binary, ["--server", proxy], namespace)


def direct(binary: Path, cluster: DevCluster, namespace: str) -> Kubectl:
    return Kubectl(binary, ["--kubeconfig", str(cluster.kubeconfig)], namespace)


def _configmap(name: str, tier: str, **data: str) -> str:
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "labels": {"tier": tier}},
            "data": data,
        }
    )


_POD = json.dumps(
    {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p1", "labels": {"app": "x"}},
        "spec": {"containers": [{"name": "c", "image": "registry.invalid/x:1"}]},
    }
)


def kubectl_session(k: Kubectl) -> list[tuple[str, str]]:
    """The same commands, in order; each command and its normalised output."""
    steps: list[tuple[tuple[str, ...], str | None]] = [
        (("apply", "-f", "-"), _configmap("c1", "a", k="1")),
        (("apply", "-f", "-"), _configmap("c2", "b", k="2")),
        (("apply", "-f", "-"), _configmap("c3", "a", k="3")),
        (("apply", "-f", "-"), _POD),
        (("get", "configmaps", "-o", "json"), None),
        (("get", "configmaps", "--chunk-size=1", "-o", "json"), None),
        (("get", "configmaps", "--chunk-size=2"), None),
        (("get", "configmaps", "-l", "tier=a", "-o", "json"), None),
        (("get", "configmaps", "-l", "tier in (b),tier!=a", "-o", "name"), None),
        (("get", "configmaps", "--field-selector", "metadata.name=c2", "-o", "json"), None),
        (("get", "configmaps", "--field-selector", "metadata.name!=c2", "-o", "name"), None),
        (("get", "configmap", "c1", "-o", "json"), None),
        (("get", "configmap", "nope"), None),
        (("get", "configmaps", "-l", "a=b=c"), None),
        (("get", "pods", "-o", "json"), None),
        (("get", "pods", "-l", "app=x", "--field-selector", "status.phase=Pending"), None),
        (("get", "pods", "--field-selector", "spec.nodeName=", "-o", "name"), None),
        (("patch", "configmap", "c1", "-p", '{"data":{"k":"patched"}}'), None),
        (("patch", "configmap", "c1", "--type=json", "-p", '[{"op":"bad"}]'), None),
        (("apply", "-f", "-"), _configmap("c1", "a", k="applied")),
        (("get", "configmap", "c1", "-o", "json"), None),
        (("delete", "configmap", "c2"), None),
        (("delete", "pod", "p1", "--grace-period=0", "--force"), None),
        (("get", "configmaps", "-o", "name"), None),
        (("get", "pods", "-o", "name"), None),
    ]
    outputs = []
    for args, stdin in steps:
        output = k.run(*args, stdin=stdin)
        if "-o" in args and "json" in args:
            head, _, rest = output.partition("\n")
            body, _, stderr = rest.rpartition("\n--stderr--\n")
            parsed = normalised(json.loads(body), k.namespace) if body.strip() else None
            output = f"{head}\n{json.dumps(parsed, indent=1)}\n--stderr--\n{stderr}"
        outputs.append((" ".join(args), normalised_text(output, k.namespace)))
    return outputs


def test_kubectl_sessions_match(
    dev_cluster: DevCluster,
    proxy: str,
    kubectl_binary: Path,
    namespace: str,
    other_namespace: str,
) -> None:
    through = kubectl_session(via_proxy(kubectl_binary, proxy, namespace))
    straight = kubectl_session(direct(kubectl_binary, dev_cluster, other_namespace))
    for (command, got), (_, expected) in zip(through, straight, strict=True):
        assert got == expected, command
    # The session did something: objects were listed, selected and changed.
    outputs = dict(through)
    assert '"k": "applied"' in outputs["get configmap c1 -o json"]
    assert "configmap/c2" in outputs["get configmaps -l tier in (b),tier!=a -o name"]
    assert "NotFound" in outputs["get configmap nope"]


class _Printed:
    """The objects kubectl has printed so far, and a condition that is
    notified as each arrives (or when kubectl's output ends)."""

    def __init__(self) -> None:
        self.values: list[Any] = []
        self.ended = False
        self.changed = threading.Condition()

    def wait_for(self, count: int, timeout: float) -> bool:
        """Whether ``count`` objects arrived within ``timeout`` seconds."""
        with self.changed:
            return self.changed.wait_for(lambda: len(self.values) >= count or self.ended, timeout)


def _decoded_stream(proc: subprocess.Popen[str], printed: _Printed, stop: threading.Event) -> None:
    """kubectl -o json prints one indented object after another."""
    assert proc.stdout is not None
    decoder = json.JSONDecoder()
    buffer = ""
    try:
        for line in proc.stdout:
            buffer += line
            while buffer.strip():
                try:
                    value, end = decoder.raw_decode(buffer.lstrip())
                except json.JSONDecodeError:
                    break
                with printed.changed:
                    printed.values.append(value)
                    printed.changed.notify_all()
                buffer = buffer.lstrip()[end:]
            if stop.is_set():
                return
    finally:
        with printed.changed:
            printed.ended = True
            printed.changed.notify_all()


def watched_session(k: Kubectl, mutate: Callable[[], None], events: int) -> list[Any]:
    """``kubectl get configmaps -w --output-watch-events -o json`` while
    ``mutate`` runs; the first ``events`` events, normalised."""
    proc = subprocess.Popen(
        k.argv("get", "configmaps", "-w", "--output-watch-events", "-o", "json"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=kubectl_env(),
    )
    printed = _Printed()
    stop = threading.Event()
    reader = threading.Thread(target=_decoded_stream, args=(proc, printed, stop), daemon=True)
    reader.start()
    try:
        # The initial list is out (kube-root-ca.crt at least): the changes
        # from here on are watch events, not items of that list.
        printed.wait_for(1, 60)
        if not printed.values:
            running = proc.poll() is None
            why = "" if running or proc.stderr is None else proc.stderr.read()
            raise AssertionError(f"kubectl printed nothing (running: {running}) {why}")
        mutate()
        printed.wait_for(events, 60)
    finally:
        stop.set()
        proc.kill()
        proc.wait()
    with printed.changed:
        seen = list(printed.values)
    return normalised(seen[:events], k.namespace)


def test_kubectl_get_watch_matches(
    dev_cluster: DevCluster,
    proxy: str,
    kubectl_binary: Path,
    namespace: str,
    other_namespace: str,
) -> None:
    def changes(ns: str) -> Callable[[], None]:
        def run() -> None:
            base = f"/api/v1/namespaces/{ns}/configmaps"
            body = json.loads(_configmap("w1", "a", k="1"))
            assert dev_cluster.request("POST", base, body)[0] == 201
            patch = {"data": {"k": "2"}}
            code, _ = dev_cluster.request(
                "PATCH", f"{base}/w1", patch, content_type="application/merge-patch+json"
            )
            assert code == 200
            assert dev_cluster.request("DELETE", f"{base}/w1")[0] == 200

        return run

    # The initial ADDED of kube-root-ca.crt, then the three changes.
    through = watched_session(via_proxy(kubectl_binary, proxy, namespace), changes(namespace), 4)
    straight = watched_session(
        direct(kubectl_binary, dev_cluster, other_namespace), changes(other_namespace), 4
    )
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in through] == [
        ("ADDED", "kube-root-ca.crt"),
        ("ADDED", "w1"),
        ("MODIFIED", "w1"),
        ("DELETED", "w1"),
    ]
    assert through == straight


# -- the official Python client --------------------------------------------------


@pytest.fixture
def apis(
    dev_cluster: DevCluster, proxy: str
) -> Iterator[tuple[client.ApiClient, client.ApiClient]]:
    """(through the proxy, direct) API clients."""
    through = client.ApiClient(client.Configuration(host=proxy))
    straight = config.new_client_from_config(
        config_file=str(dev_cluster.kubeconfig), context=CONTEXT_ADMIN
    )
    try:
        yield through, straight
    finally:
        through.close()
        straight.close()


def _fill(dev_cluster: DevCluster, namespace: str, count: int) -> str:
    """``count`` ConfigMaps; the resourceVersion of the last ("" for none)."""
    rv = ""
    for i in range(count):
        body = json.loads(_configmap(f"c{i:02}", "a" if i % 3 else "b", k=str(i)))
        code, created = dev_cluster.request(
            "POST", f"/api/v1/namespaces/{namespace}/configmaps", body
        )
        assert code == 201, created
        rv = created["metadata"]["resourceVersion"]
    return rv


def test_python_client_lists_and_pages_as_directly(
    dev_cluster: DevCluster,
    proxy: str,
    apis: tuple[client.ApiClient, client.ApiClient],
    namespace: str,
) -> None:
    written = _fill(dev_cluster, namespace, 7)
    through, straight = (client.CoreV1Api(api) for api in apis)

    def items(listed: Any) -> list[Any]:
        return [item.to_dict() for item in listed.items]

    assert items(through.list_namespaced_config_map(namespace)) == items(
        straight.list_namespaced_config_map(namespace)
    )
    selected = {"label_selector": "tier=b", "field_selector": "metadata.name!=c00"}
    assert items(through.list_namespaced_config_map(namespace, **selected)) == items(
        straight.list_namespaced_config_map(namespace, **selected)
    )
    # Those reads may have been forwarded (a cache behind by more than
    # 100 ms): RV=0 answers from the cache as it is.
    until_cached(proxy, f"/api/v1/namespaces/{namespace}/configmaps", written)
    at_any = through.list_namespaced_config_map(namespace, resource_version="0")
    assert sorted(i.metadata.name for i in at_any.items) == sorted(
        i.metadata.name for i in straight.list_namespaced_config_map(namespace).items
    )

    def pages(api: client.CoreV1Api, **options: Any) -> list[tuple[list[str], int | None]]:
        out, token = [], None
        while True:
            # The first page's options; later pages carry only the token.
            more = {"_continue": token} if token else options
            page = api.list_namespaced_config_map(namespace, limit=3, **more)
            out.append(([i.metadata.name for i in page.items], page.metadata.remaining_item_count))
            token = page.metadata._continue
            if not token:
                return out

    assert pages(through) == pages(straight)
    assert len(pages(through)) == 3  # 8 objects (with kube-root-ca.crt) in pages of 3
    # Exact reads at an RV the cache serves from its history: as etcd answers.
    rv = through.list_namespaced_config_map(namespace).metadata.resource_version
    exact = {"resource_version": rv, "resource_version_match": "Exact"}
    assert pages(through, **exact) == pages(straight, **exact)


def _stream(api: client.CoreV1Api, namespace: str, rv: str, out: list[Any], count: int) -> None:
    for event in watch.Watch().stream(
        api.list_namespaced_config_map, namespace, resource_version=rv, timeout_seconds=20
    ):
        out.append((event["type"], event["object"].to_dict()))
        if len(out) == count:
            return


def test_python_client_watch_from_a_resource_version_as_directly(
    dev_cluster: DevCluster, apis: tuple[client.ApiClient, client.ApiClient], namespace: str
) -> None:
    through, straight = (client.CoreV1Api(api) for api in apis)
    rv = through.list_namespaced_config_map(namespace).metadata.resource_version
    _fill(dev_cluster, namespace, 2)  # before the watches start: replayed from history
    results: tuple[list[Any], list[Any]] = ([], [])
    threads = [
        threading.Thread(target=_stream, args=(api, namespace, rv, out, 5), daemon=True)
        for api, out in zip((through, straight), results, strict=True)
    ]
    for thread in threads:
        thread.start()
    # Both watches start at rv: whenever they open, what follows is replayed.
    base = f"/api/v1/namespaces/{namespace}/configmaps"
    code, _ = dev_cluster.request(
        "PATCH", f"{base}/c00", {"data": {"k": "x"}}, content_type="application/merge-patch+json"
    )
    assert code == 200
    assert dev_cluster.request("DELETE", f"{base}/c01")[0] == 200
    _fill(dev_cluster, namespace, 0)
    body = json.loads(_configmap("late", "a"))
    assert dev_cluster.request("POST", base, body)[0] == 201
    for thread in threads:
        thread.join(30)
    via, direct_events = results
    assert [(t, o["metadata"]["name"]) for t, o in via] == [
        ("ADDED", "c00"),
        ("ADDED", "c01"),
        ("MODIFIED", "c00"),
        ("DELETED", "c01"),
        ("ADDED", "late"),
    ]
    assert via == direct_events


def test_python_client_metadata_only_list_as_directly(
    dev_cluster: DevCluster, apis: tuple[client.ApiClient, client.ApiClient], namespace: str
) -> None:
    """What a metadata informer asks for, through the client's own request
    machinery (it has no metadata API of its own)."""
    _fill(dev_cluster, namespace, 3)
    accept = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
    answers = []
    for api in apis:
        params = api.param_serialize(
            "GET",
            "/api/v1/namespaces/{namespace}/configmaps",
            path_params={"namespace": namespace},
            query_params=[("limit", "500")],
            header_params={"Accept": accept},
            auth_settings=["BearerToken"],
        )
        response = api.call_api(*params)
        response.read()
        assert response.status == 200
        answers.append(json.loads(response.data))
    via, straight = answers
    assert via["kind"] == "PartialObjectMetadataList"
    assert [i["metadata"]["name"] for i in via["items"]] == [
        "c00",
        "c01",
        "c02",
        "kube-root-ca.crt",
    ]
    assert via["items"] == straight["items"]


# -- a kopf operator -------------------------------------------------------------

OPERATOR = textwrap.dedent(
    """
    import json
    import os

    import kopf

    WATCHED = {"kopf-test": "yes"}


    def record(*fields):
        with open(os.environ["OPERATOR_RECORD"], "a") as out:
            out.write(json.dumps(fields) + "\\n")


    @kopf.on.startup()
    def configure(settings, **_):
        settings.posting.enabled = False  # k8s events: not what is compared


    @kopf.on.create("configmaps", labels=WATCHED)
    def created(name, body, **_):
        record("create", name, dict(body.get("data") or {}))


    @kopf.on.update("configmaps", labels=WATCHED)
    def updated(name, new, **_):
        record("update", name, dict(new.get("data") or {}))


    @kopf.on.delete("configmaps", labels=WATCHED)
    def deleted(name, **_):
        record("delete", name)
    """
)


def _proxy_kubeconfig(path: Path, proxy: str) -> Path:
    path.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "proxy", "cluster": {"server": proxy}}],
                "users": [{"name": "anyone", "user": {}}],
                "contexts": [{"name": "proxy", "context": {"cluster": "proxy", "user": "anyone"}}],
                "current-context": "proxy",
            }
        )
    )
    return path


def _records(path: Path) -> list[list[Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def operator_session(
    dev_cluster: DevCluster, kubeconfig: Path, namespace: str, workdir: Path
) -> list[list[Any]]:
    """Run the operator in ``namespace`` while a labelled ConfigMap is
    created, changed and deleted (and an unlabelled one created); the
    handlers' record."""
    operator, record, log = workdir / "operator.py", workdir / "record.jsonl", workdir / "kopf.log"
    operator.write_text(OPERATOR)
    env = {**kubectl_env(), "KUBECONFIG": str(kubeconfig), "OPERATOR_RECORD": str(record)}
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "kopf", "run", "--standalone", "-n", namespace, str(operator)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    base = f"/api/v1/namespaces/{namespace}/configmaps"

    def wait_for(count: int) -> None:
        def recorded() -> bool:
            assert proc.poll() is None, log.read_text()[-3000:]
            return len(_records(record)) >= count

        try:
            until_blocking(recorded, f"{count} records", timeout=60, every=0.1)
        except AssertionError as err:
            raise AssertionError(f"{err}; the operator's log: {log.read_text()[-3000:]}") from None

    try:
        plain = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "plain"}}
        assert dev_cluster.request("POST", base, plain)[0] == 201
        body = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "op1", "labels": {"kopf-test": "yes"}},
            "data": {"k": "1"},
        }
        assert dev_cluster.request("POST", base, body)[0] == 201
        wait_for(1)
        code, _ = dev_cluster.request(
            "PATCH",
            f"{base}/op1",
            {"data": {"k": "2"}},
            content_type="application/merge-patch+json",
        )
        assert code == 200
        wait_for(2)
        assert dev_cluster.request("DELETE", f"{base}/op1")[0] == 200
        wait_for(3)
        until_blocking(  # the operator lets go: its finalizer removed
            lambda: dev_cluster.request("GET", f"{base}/op1")[0] == 404,
            "the operator to release op1",
            timeout=60,
            every=0.1,
        )
        time.sleep(1)  # anything it would wrongly do next
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]
    return _records(record)


def test_kopf_operator_reacts_through_the_proxy_as_directly(
    dev_cluster: DevCluster, proxy: str, namespace: str, other_namespace: str, tmp_path: Path
) -> None:
    (tmp_path / "via").mkdir()
    (tmp_path / "direct").mkdir()
    through = operator_session(
        dev_cluster,
        _proxy_kubeconfig(tmp_path / "proxy.kubeconfig", proxy),
        namespace,
        tmp_path / "via",
    )
    straight = operator_session(
        dev_cluster, dev_cluster.kubeconfig, other_namespace, tmp_path / "direct"
    )
    assert through == [
        ["create", "op1", {"k": "1"}],
        ["update", "op1", {"k": "2"}],
        ["delete", "op1"],
    ]
    assert through == straight
