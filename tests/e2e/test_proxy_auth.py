"""``--auth=delegated`` against kube-apiserver 1.20 with RBAC: every
requester gets from the proxy what it gets from kube-apiserver itself.

Requesters: the admin (system:masters), a service account with a Role in
one namespace, a service account with a ClusterRole bound cluster-wide,
``nobody`` (authenticated, no rights), anonymous, a bad token, and a client
certificate (CN carol, O readers; a RoleBinding to the group readers) that
the proxy verifies against kube-apiserver's own client CA. The proxy serves
HTTPS with a certificate of the same CA, so each request is made exactly
the same way to both.

The differential table (``test_the_proxy_answers_every_requester_as_kube_apiserver``)
compares status codes, and for refusals the Status bodies, for reads the
proxy answers from its cache (resourceVersion=0); the proxy's metrics show
they were.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import http.client
import json
import re
import secrets
import ssl
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.x509.oid import ExtendedKeyUsageOID
from tests.certificates import Issued, issue, make_ca
from tests.e2e.serving import ask, running_serve, wait_until_ready

from watchcache.devcluster import DevCluster

pytestmark = pytest.mark.e2e

# Short review caches, so a revoked binding shows within a test.
TTL_FLAGS = (
    "--authentication-token-webhook-cache-ttl=2s",
    "--authorization-webhook-cache-authorized-ttl=3s",
    "--authorization-webhook-cache-unauthorized-ttl=1s",
)


@dataclass(frozen=True)
class Requester:
    name: str
    token: str | None = None
    cert: Issued | None = None

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def context(self, ca: Path) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(ca))
        if self.cert is not None:
            context.load_cert_chain(self.cert.crt, self.cert.key)
        return context


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any


def call(
    base: str,
    who: Requester,
    ca: Path,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    url = urllib.parse.urlsplit(base)
    connection = http.client.HTTPSConnection(url.netloc, timeout=30, context=who.context(ca))
    sent = {**who.headers(), "Accept": "application/json", **(headers or {})}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        sent["Content-Type"] = "application/json"
    try:
        connection.request(method, path, body=data, headers=sent)
        response = connection.getresponse()
        raw = response.read()
    finally:
        connection.close()
    try:
        return Reply(response.status, json.loads(raw))
    except ValueError:
        return Reply(response.status, raw)


def until(check: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def _create(cluster: DevCluster, path: str, body: dict[str, Any]) -> None:
    code, answer = cluster.request("POST", path, body)
    assert code == 201, answer


def _service_account_token(cluster: DevCluster, namespace: str, name: str) -> str:
    _create(
        cluster,
        f"/api/v1/namespaces/{namespace}/serviceaccounts",
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}},
    )
    path = f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}"
    until(lambda: bool(cluster.request("GET", path)[1].get("secrets")), f"{name}'s token")
    secret = cluster.request("GET", path)[1]["secrets"][0]["name"]
    data = cluster.request("GET", f"/api/v1/namespaces/{namespace}/secrets/{secret}")[1]
    return base64.b64decode(data["data"]["token"]).decode()


def _role(cluster: DevCluster, namespace: str, name: str, resources: list[str]) -> None:
    _create(
        cluster,
        f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/roles",
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": name},
            "rules": [
                {"apiGroups": [""], "resources": resources, "verbs": ["get", "list", "watch"]}
            ],
        },
    )


def _binding(
    cluster: DevCluster, namespace: str, name: str, role: str, subject: dict[str, str]
) -> None:
    kind = "RoleBinding" if namespace else "ClusterRoleBinding"
    where = f"namespaces/{namespace}/rolebindings" if namespace else "clusterrolebindings"
    _create(
        cluster,
        f"/apis/rbac.authorization.k8s.io/v1/{where}",
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": kind,
            "metadata": {"name": name},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role" if namespace else "ClusterRole",
                "name": role,
            },
            "subjects": [subject],
        },
    )


@dataclass
class World:
    cluster: DevCluster
    proxy: str
    namespace: str
    other: str
    requesters: dict[str, Requester]

    @property
    def ca(self) -> Path:
        return self.cluster.ca_file

    def both(self, who: str, method: str, path: str, **kw: Any) -> tuple[Reply, Reply]:
        """The same request through the proxy and directly."""
        requester = self.requesters[who]
        via_proxy = call(self.proxy, requester, self.ca, method, path, **kw)
        direct = call(self.cluster.url, requester, self.ca, method, path, **kw)
        return via_proxy, direct


def _serving(
    cluster: DevCluster, log: Path, kubeconfig: Path, resources: str = "pods,configmaps,secrets"
) -> contextlib.AbstractContextManager[str]:
    """A proxy with --auth=delegated, HTTPS with a certificate of the
    cluster's CA, client certificates of that CA accepted."""
    pki = cluster.pki
    return running_serve(
        log,
        "--auth=delegated",
        f"--kubeconfig={kubeconfig}",
        f"--resources={resources}",
        f"--tls-cert-file={pki.serving_crt}",
        f"--tls-private-key-file={pki.serving_key}",
        f"--client-ca-file={cluster.ca_file}",
        *TTL_FLAGS,
    )


# What a proxy needs of its upstream (docs/security.md, deploy/'s
# ClusterRole), for the resources cached here.
TIER_RULES = [
    {
        "apiGroups": [""],
        "resources": ["pods", "configmaps", "secrets"],
        "verbs": ["get", "list", "watch"],
    },
    {"apiGroups": ["authentication.k8s.io"], "resources": ["tokenreviews"], "verbs": ["create"]},
    {
        "apiGroups": ["authorization.k8s.io"],
        "resources": ["subjectaccessreviews"],
        "verbs": ["create"],
    },
    {
        "apiGroups": [""],
        "resources": ["users", "groups", "serviceaccounts"],
        "verbs": ["impersonate"],
    },
    {
        "apiGroups": ["authentication.k8s.io"],
        "resources": ["userextras", "uids"],
        "verbs": ["impersonate"],
    },
]


# The lower tier's URL -> the name of its service account, ClusterRole
# and binding upstream, and the upper tier's URL.
LOWER_TIERS: dict[str, tuple[str, str]] = {}


def _tier_kubeconfig(cluster: DevCluster, path: Path, upstream: str, name: str) -> Path:
    """A kubeconfig for a proxy in front of the proxy at ``upstream``, as
    service account ``name`` with TIER_RULES and nothing more."""
    token = _service_account_token(cluster, "default", name)
    _create(
        cluster,
        "/apis/rbac.authorization.k8s.io/v1/clusterroles",
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": name},
            "rules": TIER_RULES,
        },
    )
    _binding(
        cluster, "", name, name, {"kind": "ServiceAccount", "name": name, "namespace": "default"}
    )
    path.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {
                        "name": "tier",
                        "cluster": {
                            "server": upstream,
                            "certificate-authority": str(cluster.ca_file),
                        },
                    }
                ],
                "users": [{"name": name, "user": {"token": token}}],
                "contexts": [{"name": "tier", "context": {"cluster": "tier", "user": name}}],
                "current-context": "tier",
            }
        )
    )
    return path


@pytest.fixture(scope="module", params=["one proxy", "two tiers"])
def proxy(
    request: pytest.FixtureRequest,
    dev_cluster: DevCluster,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """The proxy every request of this module goes through: one in front of
    kube-apiserver, or the lower of two tiers (clients -> proxy -> proxy ->
    kube-apiserver), the lower one acting upstream as a service account
    with only what a proxy needs (TIER_RULES): a bearer token passes
    through both unchanged, a client-certificate user is impersonated by
    the lower tier and the upper tier checks that it may."""
    workdir = tmp_path_factory.mktemp("auth-proxy")
    admin = Requester("admin", token=dev_cluster.admin_token)
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(
            _serving(dev_cluster, workdir / "serve.log", dev_cluster.kubeconfig)
        )
        if request.param == "two tiers":
            name, upper = f"tier-{secrets.token_hex(3)}", url
            kubeconfig = _tier_kubeconfig(dev_cluster, workdir / "lower.kubeconfig", url, name)
            # Configmaps only upstream: the lower tier forwards their reads
            # as the requester, and the upper one answers from its cache.
            lower = _serving(dev_cluster, workdir / "lower.log", kubeconfig, "pods,secrets")
            url = stack.enter_context(lower)
            LOWER_TIERS[url] = (name, upper)
        until(
            lambda: call(url, admin, dev_cluster.ca_file, "GET", "/readyz").status == 200,
            "the proxy's caches did not sync",
        )
        yield url


@pytest.fixture
def world(
    dev_cluster: DevCluster, proxy: str, namespace: str, other_namespace: str, tmp_path: Path
) -> World:
    cluster = dev_cluster
    _role(cluster, namespace, "reader", ["pods", "configmaps"])
    reader = _service_account_token(cluster, namespace, "reader")
    _binding(
        cluster,
        namespace,
        "reader",
        "reader",
        {"kind": "ServiceAccount", "name": "reader", "namespace": namespace},
    )
    _binding(
        cluster,
        namespace,
        "readers",
        "reader",
        {"kind": "Group", "name": "readers", "apiGroup": "rbac.authorization.k8s.io"},
    )
    viewer = _service_account_token(cluster, other_namespace, "viewer")
    _binding(
        cluster,
        "",
        f"viewer-{other_namespace}",
        "view",
        {"kind": "ServiceAccount", "name": "viewer", "namespace": other_namespace},
    )
    for ns in (namespace, other_namespace):
        for kind, plural, extra in (
            ("ConfigMap", "configmaps", {"data": {"k": "v"}}),
            ("Secret", "secrets", {"stringData": {"password": "hunter2"}}),
        ):
            _create(
                cluster,
                f"/api/v1/namespaces/{ns}/{plural}",
                {"apiVersion": "v1", "kind": kind, "metadata": {"name": "x"}, **extra},
            )
    pki_ca = Issued(cluster.pki.ca_crt, cluster.pki.ca_key)
    carol = issue(pki_ca, tmp_path, "carol", ("readers",))
    requesters = {
        "admin": Requester("admin", token=cluster.admin_token),
        "reader": Requester("reader", token=reader),
        "viewer": Requester("viewer", token=viewer),
        "nobody": Requester("nobody", token=cluster.nobody_token),
        "anonymous": Requester("anonymous"),
        "bad-token": Requester("bad-token", token="not-a-token"),
        "carol": Requester("carol", cert=carol),
    }
    world = World(cluster, proxy, namespace, other_namespace, requesters)
    # RBAC's informers see the new bindings a moment after they are made.
    until(
        lambda: (
            world.both("reader", "GET", f"/api/v1/namespaces/{namespace}/pods")[1].status == 200
        ),
        "kube-apiserver to see the reader's binding",
    )
    _until_cached(world)
    return world


def _until_cached(world: World) -> None:
    """Until the proxy's caches hold both namespaces' objects."""
    admin = world.requesters["admin"]
    for ns in (world.namespace, world.other):
        for plural in ("configmaps", "secrets"):
            path = f"/api/v1/namespaces/{ns}/{plural}/x?resourceVersion=0"
            until(
                lambda path=path: call(world.proxy, admin, world.ca, "GET", path).status == 200,
                f"the proxy to cache {path}",
            )


REQUESTS = [
    "/api/v1/namespaces/{ns}/configmaps?resourceVersion=0",
    "/api/v1/namespaces/{ns}/configmaps/x?resourceVersion=0",
    "/api/v1/namespaces/{other}/configmaps?resourceVersion=0",
    "/api/v1/configmaps?resourceVersion=0",
    "/api/v1/namespaces/{ns}/secrets?resourceVersion=0",
    "/api/v1/namespaces/{ns}/secrets/x?resourceVersion=0",
    "/api/v1/namespaces/{other}/secrets/x?resourceVersion=0",
    "/api/v1/secrets?resourceVersion=0",
    "/api/v1/namespaces/{ns}/configmaps?watch=1&resourceVersion=0&timeoutSeconds=1",
    "/api/v1/secrets?watch=1&resourceVersion=0&timeoutSeconds=1",
    "/api/v1/namespaces/{ns}/configmaps?resourceVersion=0&fieldSelector=metadata.name%3Dx",
]
WHO = ["admin", "reader", "viewer", "nobody", "anonymous", "bad-token", "carol"]


def _names(reply: Reply, namespaces: tuple[str, ...]) -> list[str] | str | None:
    """What a successful answer holds: a list's names, an object's name, or
    (a watch) the names of its events' objects; of lists and watches only
    the objects in ``namespaces`` (this test's own). A cluster-wide read at
    resourceVersion=0 may be answered from any state, and other tests'
    namespaces are still being deleted while this one runs: a tier behind
    kube-apiserver may rightly still hold their objects."""

    def ours(objects: list[dict[str, Any]]) -> list[str]:
        return sorted(
            f"{o['metadata']['namespace']}/{o['metadata']['name']}"
            for o in objects
            if o["metadata"].get("namespace") in namespaces
        )

    body = reply.body
    if isinstance(body, bytes):
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        return ours([e["object"] for e in lines])
    if "items" in body:
        return ours(body["items"])
    return body.get("metadata", {}).get("name")


def test_the_proxy_answers_every_requester_as_kube_apiserver(world: World) -> None:
    differences = []
    seen: dict[int, int] = {}
    ours = (world.namespace, world.other)
    for template in REQUESTS:
        path = template.format(ns=world.namespace, other=world.other)
        for who in WHO:
            via_proxy, direct = world.both(who, "GET", path)
            seen[direct.status] = seen.get(direct.status, 0) + 1
            same = via_proxy.status == direct.status and (
                via_proxy.body == direct.body
                if direct.status >= 400
                else _names(via_proxy, ours) == _names(direct, ours)
            )
            if not same:
                differences.append((who, path, via_proxy, direct))
    assert not differences, "\n".join(map(str, differences))
    # The table covers allowed reads, refusals and bad credentials.
    assert seen.get(200) and seen.get(403) and seen.get(401), seen
    # ... and the proxy answered them itself.
    metrics = call(world.proxy, world.requesters["admin"], world.ca, "GET", "/metrics").body
    served = re.findall(
        r'watchcache_requests_total\{[^}]*code="(\d+)"[^}]*served_by="cache"', metrics.decode()
    )
    assert {"200", "403"} <= set(served), served


def test_secrets_are_never_served_to_those_who_cannot_read_them(world: World) -> None:
    for who in ("reader", "viewer", "nobody", "anonymous", "carol"):
        for path in (
            f"/api/v1/namespaces/{world.namespace}/secrets/x?resourceVersion=0",
            f"/api/v1/namespaces/{world.namespace}/secrets?resourceVersion=0",
            "/api/v1/secrets?resourceVersion=0",
        ):
            via_proxy, direct = world.both(who, "GET", path)
            assert direct.status in (401, 403)
            assert via_proxy == direct
            assert b"hunter2" not in json.dumps(via_proxy.body).encode()


def test_a_deleted_rolebinding_takes_effect_within_the_cache_ttl(world: World) -> None:
    path = f"/api/v1/namespaces/{world.namespace}/configmaps?resourceVersion=0"
    assert world.both("reader", "GET", path)[0].status == 200
    code, answer = world.cluster.request(
        "DELETE",
        f"/apis/rbac.authorization.k8s.io/v1/namespaces/{world.namespace}/rolebindings/reader",
    )
    assert code == 200, answer
    until(
        lambda: world.both("reader", "GET", path)[1].status == 403,
        "kube-apiserver to forget the binding",
    )
    # The proxy remembers the allowance at most 3 s (TTL_FLAGS); the bound
    # here only matters if it never forgets.
    until(
        lambda: world.both("reader", "GET", path)[0].status == 403,
        "the proxy to forget the allowance",
    )
    via_proxy, direct = world.both("reader", "GET", path)
    assert via_proxy == direct


def test_forwarded_requests_are_made_as_the_requester(world: World) -> None:
    ns = world.namespace
    new = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "made"}}
    path = f"/api/v1/namespaces/{ns}/configmaps"
    for who in ("reader", "nobody", "anonymous", "carol", "bad-token"):
        via_proxy, direct = world.both(who, "POST", path, body=new)
        assert via_proxy == direct, who
        assert direct.status in (401, 403)
    made = call(world.proxy, world.requesters["admin"], world.ca, "POST", path, body=new)
    assert made.status == 201
    # An uncached resource read, forwarded, as the reader: upstream decides.
    services = f"/api/v1/namespaces/{ns}/services"
    via_proxy, direct = world.both("reader", "GET", services)
    assert via_proxy == direct and direct.status == 403


def test_impersonation_is_honoured_only_when_allowed(world: World) -> None:
    ns = world.namespace
    cached = f"/api/v1/namespaces/{ns}/secrets/x?resourceVersion=0"
    as_nobody = {"Impersonate-User": "nobody"}
    for path in (cached, f"/api/v1/namespaces/{ns}/services"):  # from the cache, forwarded
        via_proxy, direct = world.both("admin", "GET", path, headers=as_nobody)
        assert direct.status == 403 and via_proxy == direct, path
    as_admin = {"Impersonate-User": "admin", "Impersonate-Group": "system:masters"}
    for who in ("nobody", "carol", "anonymous"):
        via_proxy, direct = world.both(who, "GET", cached, headers=as_admin)
        assert direct.status == 403 and via_proxy == direct, who
        forwarded = f"/api/v1/namespaces/{ns}/services"
        via_proxy, direct = world.both(who, "GET", forwarded, headers=as_admin)
        assert direct.status == 403 and via_proxy == direct, who


def test_the_upper_tier_acts_for_a_certificate_user_only_while_the_lower_may_impersonate(
    world: World,
) -> None:
    """Two tiers: carol's certificate ends at the lower tier, which asks the
    upper one as itself with Impersonate-User: carol. The upper tier lets it
    only while an impersonate review allows the lower tier's account, and
    then answers from its own cache as carol (configmaps are cached there
    only): kube-apiserver never sees the request."""
    if world.proxy not in LOWER_TIERS:
        pytest.skip("one proxy: there is no tier above it")
    name, upper = LOWER_TIERS[world.proxy]
    forwarded = f"/api/v1/namespaces/{world.namespace}/configmaps/x?resourceVersion=0"
    assert world.both("carol", "GET", forwarded)[0].status == 200
    metrics = call(upper, world.requesters["admin"], world.ca, "GET", "/metrics").body.decode()
    wanted = ('code="200"', 'resource="configmaps"', 'served_by="cache"', 'verb="get"')
    assert any(
        line.startswith("watchcache_requests_total{") and all(w in line for w in wanted)
        for line in metrics.splitlines()
    ), "the upper tier did not answer carol's read from its cache"
    role = f"/apis/rbac.authorization.k8s.io/v1/clusterroles/{name}"
    code, answer = world.cluster.request("GET", role)
    assert code == 200, answer
    kept = [r for r in TIER_RULES if "impersonate" not in r["verbs"]]
    code, answer = world.cluster.request("PUT", role, {**answer, "rules": kept})
    assert code == 200, answer
    try:
        # The upper tier remembers the allowance at most 3 s (TTL_FLAGS).
        until(
            lambda: world.both("carol", "GET", forwarded)[0].status == 403,
            "the upper tier to refuse the impersonation",
        )
        refused = world.both("carol", "GET", forwarded)[0].body
        assert refused["message"] == (
            f'users "carol" is forbidden: User "system:serviceaccount:default:{name}" '
            'cannot impersonate resource "users" in API group "" at the cluster scope'
        ), refused
        # A bearer token passes through both tiers unchanged: no impersonation.
        via_proxy, direct = world.both("reader", "GET", forwarded)
        assert via_proxy == direct and direct.status == 200
    finally:
        code, answer = world.cluster.request("GET", role)
        code, answer = world.cluster.request("PUT", role, {**answer, "rules": TIER_RULES})
        assert code == 200, answer


def test_metrics_need_the_right_to_get_them(world: World) -> None:
    for who in ("nobody", "anonymous"):
        via_proxy, direct = world.both(who, "GET", "/metrics")
        assert via_proxy == direct and direct.status == 403, who
    assert world.both("admin", "GET", "/metrics")[0].status == 200


UNAUTHORIZED = Reply(
    401,
    {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "Unauthorized",
        "reason": "Unauthorized",
        "code": 401,
    },
)


def test_a_bad_token_is_401_as_kube_apiserver_says_it(world: World) -> None:
    via_proxy, direct = world.both("bad-token", "GET", "/api/v1/namespaces/default/pods")
    assert via_proxy == direct == UNAUTHORIZED


def test_an_unverifiable_client_certificate_is_401_as_kube_apiserver_says_it(
    world: World, tmp_path: Path
) -> None:
    """Both accept the handshake of a certificate they cannot verify (from
    another CA, expired, for servers only) and answer 401, whatever it
    claims; a good token beside it decides instead."""
    cluster_ca = Issued(world.cluster.pki.ca_crt, world.cluster.pki.ca_key)
    tmp_path = tmp_path / "unverifiable"  # beside, not over, the world's carol
    tmp_path.mkdir()
    day = datetime.timedelta(days=1)
    unverifiable = {
        "stranger": issue(make_ca(tmp_path, "stranger-ca"), tmp_path, "eve", ("system:masters",)),
        "expired": issue(cluster_ca, tmp_path, "carol", ("readers",), valid=(-2 * day, -day)),
        "server-only": issue(
            cluster_ca, tmp_path, "dave", ("readers",), usage=ExtendedKeyUsageOID.SERVER_AUTH
        ),
    }
    cached = f"/api/v1/namespaces/{world.namespace}/configmaps?resourceVersion=0"
    forwarded = f"/api/v1/namespaces/{world.namespace}/services"
    for name, cert in unverifiable.items():
        for path in (cached, forwarded, "/version"):
            who = Requester(name, cert=cert)
            via_proxy = call(world.proxy, who, world.ca, "GET", path)
            direct = call(world.cluster.url, who, world.ca, "GET", path)
            assert via_proxy == direct == UNAUTHORIZED, (name, path)
        with_token = Requester(name, token=world.cluster.admin_token, cert=cert)
        via_proxy = call(world.proxy, with_token, world.ca, "GET", cached)
        direct = call(world.cluster.url, with_token, world.ca, "GET", cached)
        assert via_proxy.status == direct.status == 200, name
    # A trusted one still names its user (carol reads what the readers may).
    via_proxy, direct = world.both("carol", "GET", cached)
    assert via_proxy.status == direct.status == 200


def test_plain_http_refuses_a_foreign_host(dev_cluster: DevCluster, tmp_path: Path) -> None:
    with running_serve(
        tmp_path / "serve.log", f"--kubeconfig={dev_cluster.kubeconfig}", "--resources=pods"
    ) as url:
        wait_until_ready(url)
        refused = ask(url, "/api/v1/pods?resourceVersion=0", {"Host": "evil.example.com"})
        assert refused.status == 403
        assert json.loads(refused.body)["reason"] == "Forbidden"
        assert ask(url, "/api/v1/pods?resourceVersion=0").status == 200
