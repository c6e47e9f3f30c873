"""kubectl 1.20 and the machine's kubectl against the simulator, default
flags: get, create (files and the typed generators, which kubectl 1.3x
sends as protobuf), apply (client-side and --server-side), patch (strategic,
merge, json), delete, get -w, --chunk-size.

The simulator runs on its own thread (BackgroundSimulator), since kubectl
is a blocking subprocess here.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from watchcache.simulator import BackgroundSimulator

pytestmark = pytest.mark.e2e

KUBECTLS = {
    "1.20": Path.home() / ".cache/watchcache/kube-v1.20.2/bin/kubectl",
    "newer": Path("/usr/bin/kubectl"),
}

POD = """
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  labels: {{app: web}}
spec:
  containers:
  - name: c
    image: {image}
"""


@pytest.fixture(scope="module")
def served() -> Iterator[BackgroundSimulator]:
    with BackgroundSimulator() as sim:
        yield sim


@pytest.fixture(params=sorted(KUBECTLS))
def kubectl(request: pytest.FixtureRequest, served: BackgroundSimulator, tmp_path: Path) -> Any:
    binary = KUBECTLS[request.param]
    if not binary.exists():
        pytest.skip(f"kubectl {request.param} is not installed at {binary}")
    namespace = f"k{request.param.replace('.', '')}-{int(time.time() * 1000) % 100000}"
    env = {"KUBECONFIG": str(tmp_path / "none"), "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    base = [str(binary), "--server", served.url, "--cache-dir", str(tmp_path / "cache")]

    def run(*args: str, stdin: str | None = None, check: bool = True) -> str:
        done = subprocess.run(
            [*base, "-n", namespace, *args],
            input=stdin,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if check:
            assert done.returncode == 0, done.stderr
            return done.stdout
        return done.stdout + done.stderr

    def popen(*args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [*base, "-n", namespace, *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    ns_doc = json.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    run("create", "-f", "-", stdin=ns_doc)
    run.popen = popen  # type: ignore[attr-defined]
    return run


def test_get_empty_and_nodes(kubectl: Any) -> None:
    # "No resources found" goes to stderr.
    assert "No resources found" in kubectl("get", "pods", check=False)
    assert kubectl("get", "nodes") == ""


def test_create_get_and_delete(kubectl: Any) -> None:
    assert "pod/web created" in kubectl(
        "create", "-f", "-", stdin=POD.format(name="web", image="nginx")
    )
    listed = kubectl("get", "pods")
    assert "web" in listed.splitlines()[1]
    got = json.loads(kubectl("get", "pod", "web", "-o", "json"))
    assert (
        got["metadata"]["resourceVersion"] and got["spec"]["schedulerName"] == "default-scheduler"
    )
    assert 'pod "web" deleted' in kubectl("delete", "pod", "web")
    assert "NotFound" in kubectl("get", "pod", "web", check=False)


def test_apply_creates_then_configures(kubectl: Any) -> None:
    assert "pod/app created" in kubectl(
        "apply", "-f", "-", stdin=POD.format(name="app", image="nginx:1")
    )
    assert "pod/app configured" in kubectl(
        "apply", "-f", "-", stdin=POD.format(name="app", image="nginx:2")
    )
    image = kubectl("get", "pod", "app", "-o", "jsonpath={.spec.containers[0].image}")
    assert image == "nginx:2"
    assert "pod/app unchanged" in kubectl(
        "apply", "-f", "-", stdin=POD.format(name="app", image="nginx:2")
    )


def test_patch_kinds(kubectl: Any) -> None:
    kubectl("create", "-f", "-", stdin=POD.format(name="p", image="nginx"))
    # kubectl patch's default type is strategic: containers merge by name.
    kubectl("patch", "pod", "p", "-p", '{"spec":{"containers":[{"name":"c","image":"nginx:3"}]}}')
    containers = json.loads(kubectl("get", "pod", "p", "-o", "jsonpath={.spec.containers}"))
    assert [(c["name"], c["image"]) for c in containers] == [("c", "nginx:3")]
    kubectl("patch", "pod", "p", "-p", '{"metadata":{"labels":{"s":"1"}}}')
    kubectl("patch", "pod", "p", "--type=merge", "-p", '{"metadata":{"labels":{"m":"1"}}}')
    kubectl(
        "patch",
        "pod",
        "p",
        "--type=json",
        "-p",
        '[{"op":"add","path":"/metadata/labels/j","value":"1"}]',
    )
    labels = json.loads(kubectl("get", "pod", "p", "-o", "jsonpath={.metadata.labels}"))
    assert labels == {"app": "web", "s": "1", "m": "1", "j": "1"}


def test_chunked_list_returns_everything(kubectl: Any) -> None:
    for index in range(5):
        kubectl("create", "-f", "-", stdin=POD.format(name=f"c{index}", image="nginx"))
    listed = kubectl("get", "pods", "--chunk-size=2")
    names = [line.split()[0] for line in listed.splitlines() if line.startswith("c")]
    assert names == [f"c{i}" for i in range(5)]
    # -v=6 logs every request: the pages asked for limit=2 and continued.
    verbose = kubectl("get", "pods", "--chunk-size=2", "-v=6", check=False)
    assert "limit=2" in verbose and "continue=" in verbose


def test_get_watch_sees_new_pod(kubectl: Any) -> None:
    watch = kubectl.popen("get", "pods", "-w", "-o", "name")
    try:
        # Created before kubectl lists, the pod is an item of its list;
        # after, an event of its watch: printed either way.
        kubectl("create", "-f", "-", stdin=POD.format(name="watched", image="nginx"))
        deadline = time.monotonic() + 60
        seen = []
        assert watch.stdout is not None
        while time.monotonic() < deadline:
            line = watch.stdout.readline()
            seen.append(line)
            if "pod/watched" in line:
                break
        assert any("pod/watched" in line for line in seen), seen
    finally:
        watch.terminate()
        watch.wait(10)


def test_typed_generators(kubectl: Any) -> None:
    """Newer kubectl sends these bodies as protobuf, 1.20 as JSON; both
    must come out as the same objects."""
    assert "configmap/gen created" in kubectl("create", "configmap", "gen", "--from-literal=a=b")
    assert "secret/gen created" in kubectl(
        "create", "secret", "generic", "gen", "--from-literal=p=q"
    )
    data = json.loads(kubectl("get", "configmap", "gen", "-o", "jsonpath={.data}"))
    assert data == {"a": "b"}
    assert kubectl("get", "secret", "gen", "-o", "jsonpath={.data.p}") == "cQ=="
    name = f"gen-{int(time.time() * 1000) % 100000}"
    assert f"namespace/{name} created" in kubectl("create", "namespace", name)


def test_create_deployment_and_other_generators(kubectl: Any) -> None:
    out = kubectl("create", "deployment", "web", "--image=nginx", "--replicas=2")
    assert "deployment.apps/web created" in out
    deployment = json.loads(kubectl("get", "deployment", "web", "-o", "json"))
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["selector"] == {"matchLabels": {"app": "web"}}
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert (container["name"], container["image"]) == ("nginx", "nginx")
    assert "service/web created" in kubectl(
        "create", "service", "clusterip", "web", "--tcp=80:8080"
    )
    ports = json.loads(kubectl("get", "service", "web", "-o", "jsonpath={.spec.ports}"))
    assert [(p["port"], p["targetPort"], p["protocol"]) for p in ports] == [(80, 8080, "TCP")]
    assert "job.batch/once created" in kubectl("create", "job", "once", "--image=busybox")
    policy = kubectl("get", "job", "once", "-o", "jsonpath={.spec.template.spec.restartPolicy}")
    assert policy == "Never"
    assert "role.rbac.authorization.k8s.io/reader created" in kubectl(
        "create", "role", "reader", "--verb=get,list", "--resource=pods"
    )
    rules = json.loads(kubectl("get", "role", "reader", "-o", "jsonpath={.rules}"))
    assert rules == [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]
    assert "serviceaccount/robot created" in kubectl("create", "serviceaccount", "robot")
    assert "deployment.apps/web scaled" in kubectl("scale", "deployment", "web", "--replicas=3")
    assert kubectl("get", "deployment", "web", "-o", "jsonpath={.spec.replicas}") == "3"


CONFIG = """
apiVersion: v1
kind: ConfigMap
metadata:
  name: ssa
data:
{data}
"""


def _config(**data: str) -> str:
    return CONFIG.format(data="\n".join(f'  {k}: "{v}"' for k, v in data.items()))


def test_server_side_apply(kubectl: Any) -> None:
    applied = kubectl("apply", "--server-side", "-f", "-", stdin=_config(a="1", b="2"))
    assert "configmap/ssa serverside-applied" in applied
    # Leaving b out of the manager's config removes it.
    kubectl("apply", "--server-side", "-f", "-", stdin=_config(a="1", c="3"))
    data = json.loads(kubectl("get", "configmap", "ssa", "-o", "jsonpath={.data}"))
    assert data == {"a": "1", "c": "3"}
    # Another manager changing a field the first one owns: a conflict...
    other = ("apply", "--server-side", "--field-manager=other", "-f", "-")
    refused = kubectl(*other, stdin=_config(a="9"), check=False)
    assert 'conflict with "kubectl"' in refused and ".data.a" in refused
    # ...unless forced, which moves the field to it.
    kubectl(*other, "--force-conflicts", stdin=_config(a="9"))
    data = json.loads(kubectl("get", "configmap", "ssa", "-o", "jsonpath={.data}"))
    assert data == {"a": "9", "c": "3"}
    managed = json.loads(
        kubectl("get", "configmap", "ssa", "-o", "jsonpath={.metadata.managedFields}")
    )
    owners = {entry["manager"]: entry["fieldsV1"]["f:data"] for entry in managed}
    assert owners == {"kubectl": {"f:c": {}}, "other": {"f:a": {}}}


def test_remaining_generators(kubectl: Any) -> None:
    """kubectl 1.20 makes cronjobs and PDBs at v1beta1, newer ones at v1:
    one store answers each at the version it asked for."""
    suffix = str(int(time.time() * 1000) % 100000)
    commands = {
        f"cronjob.batch/cj{suffix}": (
            "cronjob",
            f"cj{suffix}",
            "--image=busybox",
            "--schedule=* * * * *",
        ),
        f"rolebinding.rbac.authorization.k8s.io/rb{suffix}": (
            "rolebinding",
            f"rb{suffix}",
            "--role=r",
            "--user=u",
        ),
        f"clusterrole.rbac.authorization.k8s.io/cr{suffix}": (
            "clusterrole",
            f"cr{suffix}",
            "--verb=get",
            "--resource=pods",
        ),
        f"clusterrolebinding.rbac.authorization.k8s.io/crb{suffix}": (
            "clusterrolebinding",
            f"crb{suffix}",
            f"--clusterrole=cr{suffix}",
            "--user=u",
        ),
        f"resourcequota/q{suffix}": ("quota", f"q{suffix}", "--hard=pods=2,cpu=1"),
        f"priorityclass.scheduling.k8s.io/pc{suffix}": (
            "priorityclass",
            f"pc{suffix}",
            "--value=7",
        ),
        f"poddisruptionbudget.policy/pdb{suffix}": (
            "poddisruptionbudget",
            f"pdb{suffix}",
            "--selector=app=a",
            "--min-available=50%",
        ),
        f"ingress.networking.k8s.io/ing{suffix}": (
            "ingress",
            f"ing{suffix}",
            "--rule=a.example/p=svc:80",
        ),
    }
    for expected, args in commands.items():
        assert f"{expected} created" in kubectl("create", *args)
    assert (
        kubectl("get", "cronjob", f"cj{suffix}", "-o", "jsonpath={.spec.schedule}") == "* * * * *"
    )
    hard = json.loads(kubectl("get", "quota", f"q{suffix}", "-o", "jsonpath={.spec.hard}"))
    assert hard == {"cpu": "1", "pods": "2"}
    assert kubectl("get", "priorityclass", f"pc{suffix}", "-o", "jsonpath={.value}") == "7"
    assert kubectl("get", "pdb", f"pdb{suffix}", "-o", "jsonpath={.spec.minAvailable}") == "50%"
    backend = kubectl(
        "get",
        "ing",
        f"ing{suffix}",
        "-o",
        "jsonpath={.spec.rules[0].http.paths[0].backend.service.name}",
    )
    assert backend == "svc"


def test_label_annotate_set_image_expose(kubectl: Any) -> None:
    kubectl("create", "deployment", "edit", "--image=nginx")
    assert "deployment.apps/edit labeled" in kubectl("label", "deployment", "edit", "tier=web")
    assert "deployment.apps/edit annotated" in kubectl("annotate", "deployment", "edit", "note=x")
    assert "image updated" in kubectl("set", "image", "deployment/edit", "nginx=nginx:2")
    assert "service/edit exposed" in kubectl("expose", "deployment", "edit", "--port=80")
    got = json.loads(kubectl("get", "deployment", "edit", "-o", "json"))
    assert got["metadata"]["labels"]["tier"] == "web"
    assert got["metadata"]["annotations"]["note"] == "x"
    assert got["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:2"
    selector = json.loads(kubectl("get", "service", "edit", "-o", "jsonpath={.spec.selector}"))
    assert selector == {"app": "edit"}


@pytest.mark.parametrize("version", sorted(KUBECTLS))
def test_wait_for_a_demo_pod_to_be_ready(version: str, tmp_path: Path) -> None:
    """kubectl wait --for=condition=Ready on a demo pod returns once the
    workload runs it (it hung to its timeout when demo pods had no
    conditions)."""
    from watchcache.simulator.demo import PODS, DemoWorkload

    binary = KUBECTLS[version]
    if not binary.exists():
        pytest.skip(f"kubectl {version} is not installed at {binary}")
    env = {"KUBECONFIG": str(tmp_path / "none"), "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    with BackgroundSimulator() as sim:
        workload = sim.call(lambda s: DemoWorkload(s, seed=5))
        pending = sim.call(lambda s: sorted(s.store.collection(PODS).items))[0]
        name = pending.split("/")[1]
        waiting = subprocess.Popen(
            [
                *(str(binary), "--server", sim.url, "--cache-dir", str(tmp_path / "cache")),
                *("-n", "default", "wait", "--for=condition=Ready", f"pod/{name}", "--timeout=60s"),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            for _ in range(20):  # bound, then Running: the first two steps
                sim.call(lambda s: workload.step())
                pod = sim.call(lambda s: s.verbs.full(PODS, s.verbs.get(PODS, "default", name)))
                if pod["status"]["phase"] == "Running":
                    break
            else:
                raise AssertionError("the workload never ran the pod")
            out, _ = waiting.communicate(timeout=90)
        finally:
            waiting.kill()
    assert waiting.returncode == 0, out
    assert f"pod/{name} condition met" in out


def test_auth_can_i(kubectl: Any, served: BackgroundSimulator) -> None:
    """SelfSubjectAccessReview (kubectl 1.3x sends it as protobuf) and
    SelfSubjectRulesReview: answered yes, as an unauthenticated dev cluster
    would, and stored nowhere (they were 415 and 422 before)."""
    before = served.call(lambda s: s.store.rv)
    assert kubectl("auth", "can-i", "list", "pods").strip() == "yes"
    assert kubectl("auth", "can-i", "get", "/healthz").strip() == "yes"
    assert "*.*" in kubectl("auth", "can-i", "--list")
    assert served.call(lambda s: s.store.rv) == before


def test_explain(kubectl: Any) -> None:
    """kubectl explain reads the simulator's OpenAPI (v2 as protobuf for
    1.20, v3 for newer kubectls); it failed with "couldn't find resource"
    when the document was empty."""
    pods = kubectl("explain", "pods")
    assert "KIND:" in pods and "Pod" in pods and "spec" in pods and "status" in pods
    containers = kubectl("explain", "pods.spec.containers")
    assert "image" in containers and "-required-" in containers
    assert "template" in kubectl("explain", "deployments.spec")
    assert "Role" in kubectl("explain", "roles")


def test_server_dry_run_stores_nothing(kubectl: Any, served: BackgroundSimulator) -> None:
    """apply/create/delete --dry-run=server and kubectl diff answer without
    writing: the pod stays absent, then unchanged, and the store's RV does
    not move (they wrote before; kubectl 1.20 refused, finding no dryRun
    in the OpenAPI)."""
    before = served.call(lambda s: s.store.rv)
    assert "pod/dry created (server dry run)" in kubectl(
        "apply", "--dry-run=server", "-f", "-", stdin=POD.format(name="dry", image="nginx:1")
    )
    assert "(server dry run)" in kubectl(
        "create", "--dry-run=server", "-f", "-", stdin=POD.format(name="dry", image="nginx:1")
    )
    assert "NotFound" in kubectl("get", "pod", "dry", check=False)
    assert served.call(lambda s: s.store.rv) == before
    kubectl("apply", "-f", "-", stdin=POD.format(name="dry", image="nginx:1"))
    written = served.call(lambda s: s.store.rv)
    changed = POD.format(name="dry", image="nginx:2")
    diff = kubectl("diff", "-f", "-", stdin=changed, check=False)
    assert "-  - image: nginx:1" in diff and "+  - image: nginx:2" in diff, diff
    assert "configured (server dry run)" in kubectl(
        "apply", "--dry-run=server", "-f", "-", stdin=changed
    )
    assert "serverside-applied (server dry run)" in kubectl(
        "apply", "--server-side", "--dry-run=server", "-f", "-", stdin=changed
    )
    assert "deleted (server dry run)" in kubectl("delete", "--dry-run=server", "pod", "dry")
    image = kubectl("get", "pod", "dry", "-o", "jsonpath={.spec.containers[0].image}")
    assert image == "nginx:1"
    assert served.call(lambda s: s.store.rv) == written
