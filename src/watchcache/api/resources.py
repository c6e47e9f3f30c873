"""Resources: what a URL names, and what kube-apiserver knows about each kind.

Glossary:
    GVR             group, version, resource (plural, lower case) as in URLs.
    ResourceInfo    what serving a resource needs: kind and list kind, scope,
                    the field-selectable fields with their defaults, the
                    watch-dispatch trigger field.
    field label     a path a fieldSelector may name (``spec.nodeName``). The
                    set is per kind, registered in kube-apiserver by each
                    API group's field-label conversion function; any other
                    label is a 400 whose wording is also per kind
                    (``ResourceInfo.unsupported_field``).
    field value     the string a field label has on one object: bools print
                    as ``true``/``false``, numbers in decimal, and an absent
                    field is its default (``field_defaults``).
    RequestPath     what a request URL names: GVR, namespace, name,
                    subresource, and whether it came by the legacy
                    ``/api/v1/watch/...`` prefix. Empty strings mean "none".

Invariants:
    * ``field_defaults`` always holds ``metadata.name`` and, except where
      kube-apiserver refuses it (nodes, namespaces, certificate signing
      requests), ``metadata.namespace``.
    * ``field_values(info, obj)`` returns exactly the keys of
      ``info.field_defaults``.

The table records kube-apiserver 1.34+. Checked against a real v1.20.2
server (every label below probed; tests/e2e/test_api_contract.py) and the
1.34 sources. Differences from 1.20:
    * pods ``spec.hostNetwork`` (default "false") is 1.28+.
    * services ``spec.clusterIP`` and ``spec.type`` are newer than 1.20, and
      with them services' unknown-label wording changed to
      "field label not supported".
    * cronjobs are batch/v1 from 1.21 (1.20 serves batch/v1beta1); likewise
      discovery.k8s.io/v1 endpointslices, policy/v1 poddisruptionbudgets
      and autoscaling/v2 HPAs are listed beside their 1.20 versions.
Pods' ``spec.serviceAccountName`` has no default here although admission
sets "default" on every pod it admits: the value is what the stored object
says, and an object created without admission has "".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from watchcache.api.status import ApiError, bad_request

__all__ = [
    "GroupVersionResource",
    "RequestPath",
    "ResourceInfo",
    "builtin_resource",
    "builtin_resources",
    "field_values",
    "parse_path",
    "resource_info",
]


@dataclass(frozen=True, slots=True)
class GroupVersionResource:
    group: str
    version: str
    resource: str

    def __str__(self) -> str:
        return f"{self.group}/{self.version}/{self.resource}"

    @property
    def api_version(self) -> str:
        """The objects' ``apiVersion``: ``group/version``, or ``version``
        alone for the core group."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def api_prefix(self) -> str:
        """Where the group version is served: ``/apis/group/version``, or
        ``/api/version`` for the core group."""
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"


# Unknown-label messages. kube-apiserver words them differently per kind,
# depending on which field-label conversion function the kind registered.
_DEFAULT_FIELD_ERROR = (
    '{label_q} is not a known field selector: only "metadata.name", "metadata.namespace"'
)
_CORE_FIELD_ERROR = "field label not supported: {label}"

_META_FIELDS: Mapping[str, str] = MappingProxyType({"metadata.name": "", "metadata.namespace": ""})


@dataclass(frozen=True, slots=True)
class ResourceInfo:
    gvr: GroupVersionResource
    kind: str
    list_kind: str
    namespaced: bool
    # Excluded from hashing (a mapping is unhashable); gvr identifies a kind.
    field_defaults: Mapping[str, str] = field(default_factory=lambda: _META_FIELDS, hash=False)
    trigger_field: str | None = None
    builtin: bool = False
    # A str.format template with {label} and {label_q} (Go's %q).
    field_error: str = _DEFAULT_FIELD_ERROR

    @property
    def api_version(self) -> str:
        return self.gvr.api_version

    def unsupported_field(self, label: str) -> ApiError:
        """The 400 kube-apiserver answers for a fieldSelector on ``label``."""
        quoted = '"' + label.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return bad_request(self.field_error.format(label=label, label_q=quoted))


# Where a field label's value lives in the (versioned) object, when it is
# not simply the label read as a dotted path.
_Extractor = Callable[[Mapping[str, Any]], Any]


def _path(obj: Mapping[str, Any], dotted: str) -> Any:
    return _walk(obj, tuple(dotted.split(".")))


def _walk(obj: Any, parts: tuple[str, ...]) -> Any:
    # dict.get, not indexing: a KeyError per absent field (most defaulted
    # fields are absent) cost more than the whole walk. Something other than
    # a mapping in the way (a str, a list) has no .get and reads as absent.
    value = obj
    for part in parts:
        if value is None:
            return None
        try:
            value = value.get(part)
        except AttributeError:
            return None
    return value


def _first_pod_ip(obj: Mapping[str, Any]) -> Any:
    # kube-apiserver reads status.podIPs[0].ip, never status.podIP.
    ips = _path(obj, "status.podIPs")
    if isinstance(ips, list) and ips and isinstance(ips[0], Mapping):
        return ips[0].get("ip")
    return None


def _event_source(obj: Mapping[str, Any]) -> Any:
    # core/v1 Event "source" is source.component, else reportingComponent.
    return _path(obj, "source.component") or obj.get("reportingComponent")


_EXTRACTORS: Mapping[tuple[str, str], _Extractor] = MappingProxyType(
    {
        ("pods", "status.podIP"): _first_pod_ip,
        ("events", "source"): _event_source,
    }
)


# How to read each field label of a kind: its default and either the path
# parts or a special extractor. Built once per ResourceInfo object, keyed by
# identity: hashing the frozen dataclass on every event cost more than the
# reads themselves (bench_selectors.py).
_Plan = tuple[tuple[str, str, tuple[str, ...] | _Extractor], ...]
# Bounded by the kinds a process serves; the ResourceInfo is kept beside
# its plan so its id cannot be reused while the entry exists. When full,
# plans are rebuilt on demand (no eviction needed at this size).
_PLANS: dict[int, tuple[ResourceInfo, _Plan]] = {}
_MAX_PLANS = 4096


def _plan(info: ResourceInfo) -> _Plan:
    cached = _PLANS.get(id(info))
    if cached is not None and cached[0] is info:
        return cached[1]
    resource = info.gvr.resource if info.builtin else ""
    plan = tuple(
        (label, default, _EXTRACTORS.get((resource, label)) or tuple(label.split(".")))
        for label, default in info.field_defaults.items()
    )
    if len(_PLANS) < _MAX_PLANS:
        _PLANS[id(info)] = (info, plan)
    return plan


def field_values(info: ResourceInfo, obj: Mapping[str, Any]) -> dict[str, str]:
    """Every field label of ``info`` with its value on ``obj``."""
    out: dict[str, str] = {}
    for label, default, read in _plan(info):
        value = _walk(obj, read) if type(read) is tuple else read(obj)  # type: ignore[operator]
        # _render inlined: this loop runs for every field of every event.
        if value is None or value == "":
            out[label] = default
        elif value is True or value is False:
            out[label] = "true" if value else "false"
        else:
            out[label] = value if type(value) is str else str(value)
    return out


def _fields(extra: Mapping[str, str], *, namespace_label: bool = True) -> Mapping[str, str]:
    defaults = {"metadata.name": ""}
    if namespace_label:
        defaults["metadata.namespace"] = ""
    defaults.update(extra)
    return MappingProxyType(defaults)


def _kind(
    group: str,
    version: str,
    resource: str,
    kind: str,
    namespaced: bool = True,
    fields: Mapping[str, str] = _META_FIELDS,
    *,
    trigger: str | None = None,
    error: str = _DEFAULT_FIELD_ERROR,
) -> ResourceInfo:
    gvr = GroupVersionResource(group, version, resource)
    return ResourceInfo(gvr, kind, kind + "List", namespaced, fields, trigger, True, error)


_POD_FIELDS = _fields(
    {
        "spec.nodeName": "",
        "spec.restartPolicy": "Always",
        "spec.schedulerName": "default-scheduler",
        "spec.serviceAccountName": "",
        "spec.hostNetwork": "false",
        "status.phase": "",
        "status.podIP": "",
        "status.nominatedNodeName": "",
    }
)
_INVOLVED = ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")
_CORE_EVENT_FIELDS = _fields(
    {
        **{f"involvedObject.{part}": "" for part in _INVOLVED},
        "reason": "",
        "reportingComponent": "",
        "source": "",
        "type": "",
    }
)
# events.k8s.io/v1 names the same fields after its own schema.
_EVENT_FIELDS = _fields(
    {
        **{f"regarding.{part}": "" for part in _INVOLVED},
        "reason": "",
        "reportingController": "",
        "type": "",
    }
)
_CRONJOB_ERROR = 'field label {label_q} not supported for "CronJob"'

_BUILTINS: tuple[ResourceInfo, ...] = (
    _kind(
        "", "v1", "pods", "Pod", True, _POD_FIELDS, trigger="spec.nodeName", error=_CORE_FIELD_ERROR
    ),
    _kind(
        "",
        "v1",
        "nodes",
        "Node",
        False,
        _fields({"spec.unschedulable": "false"}, namespace_label=False),
        error=_CORE_FIELD_ERROR,
    ),
    _kind(
        "",
        "v1",
        "namespaces",
        "Namespace",
        False,
        _fields({"status.phase": ""}, namespace_label=False),
        error=_CORE_FIELD_ERROR,
    ),
    _kind(
        "",
        "v1",
        "services",
        "Service",
        True,
        _fields({"spec.clusterIP": "", "spec.type": ""}),
        error=_CORE_FIELD_ERROR,
    ),
    _kind("", "v1", "endpoints", "Endpoints"),
    _kind("", "v1", "configmaps", "ConfigMap"),
    _kind("", "v1", "secrets", "Secret", True, _fields({"type": ""}), error=_CORE_FIELD_ERROR),
    _kind("", "v1", "serviceaccounts", "ServiceAccount"),
    _kind("", "v1", "events", "Event", True, _CORE_EVENT_FIELDS, error=_CORE_FIELD_ERROR),
    _kind("events.k8s.io", "v1", "events", "Event", True, _EVENT_FIELDS, error=_CORE_FIELD_ERROR),
    _kind("", "v1", "persistentvolumes", "PersistentVolume", False),
    _kind("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim"),
    _kind(
        "",
        "v1",
        "replicationcontrollers",
        "ReplicationController",
        True,
        _fields({"status.replicas": "0"}),
        error=_CORE_FIELD_ERROR,
    ),
    _kind("coordination.k8s.io", "v1", "leases", "Lease"),
    _kind("apps", "v1", "deployments", "Deployment"),
    _kind("apps", "v1", "replicasets", "ReplicaSet"),
    _kind("apps", "v1", "statefulsets", "StatefulSet"),
    _kind("apps", "v1", "daemonsets", "DaemonSet"),
    _kind(
        "batch",
        "v1",
        "jobs",
        "Job",
        True,
        _fields({"status.successful": "0"}),
        error="field label {label_q} not supported for batchv1.Job",
    ),
    # CronJobs accept the label status.successful but have no such field, so
    # it always reads as "" (kube-apiserver's fields.Set lookup of a
    # missing key).
    _kind(
        "batch",
        "v1",
        "cronjobs",
        "CronJob",
        True,
        _fields({"status.successful": ""}),
        error=_CRONJOB_ERROR,
    ),
    _kind(
        "batch",
        "v1beta1",
        "cronjobs",
        "CronJob",
        True,
        _fields({"status.successful": ""}),
        error=_CRONJOB_ERROR,
    ),
    _kind(
        "apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", False
    ),
    _kind(
        "certificates.k8s.io",
        "v1",
        "certificatesigningrequests",
        "CertificateSigningRequest",
        False,
        _fields({"spec.signerName": ""}, namespace_label=False),
        error=_CORE_FIELD_ERROR,
    ),
)

# Kinds with only metadata.name and metadata.namespace selectable, and
# kube's default wording for other labels: (group, version, resource, kind,
# namespaced). Where a kind moved group version after 1.20 both are listed.
_PLAIN_KINDS: tuple[tuple[str, str, str, str, bool], ...] = (
    ("", "v1", "limitranges", "LimitRange", True),
    ("", "v1", "resourcequotas", "ResourceQuota", True),
    ("", "v1", "podtemplates", "PodTemplate", True),
    ("networking.k8s.io", "v1", "ingresses", "Ingress", True),
    ("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", True),
    ("networking.k8s.io", "v1", "ingressclasses", "IngressClass", False),
    ("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True),
    ("discovery.k8s.io", "v1beta1", "endpointslices", "EndpointSlice", True),
    ("storage.k8s.io", "v1", "storageclasses", "StorageClass", False),
    ("storage.k8s.io", "v1", "csinodes", "CSINode", False),
    ("storage.k8s.io", "v1", "csidrivers", "CSIDriver", False),
    ("storage.k8s.io", "v1", "volumeattachments", "VolumeAttachment", False),
    ("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", True),
    ("policy", "v1beta1", "poddisruptionbudgets", "PodDisruptionBudget", True),
    ("autoscaling", "v1", "horizontalpodautoscalers", "HorizontalPodAutoscaler", True),
    ("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", True),
    ("rbac.authorization.k8s.io", "v1", "roles", "Role", True),
    ("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True),
    ("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False),
    ("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False),
    ("scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", False),
    ("node.k8s.io", "v1", "runtimeclasses", "RuntimeClass", False),
    (
        "admissionregistration.k8s.io",
        "v1",
        "mutatingwebhookconfigurations",
        "MutatingWebhookConfiguration",
        False,
    ),
    (
        "admissionregistration.k8s.io",
        "v1",
        "validatingwebhookconfigurations",
        "ValidatingWebhookConfiguration",
        False,
    ),
    ("apiregistration.k8s.io", "v1", "apiservices", "APIService", False),
)
_BUILTINS += tuple(_kind(g, v, r, k, namespaced) for g, v, r, k, namespaced in _PLAIN_KINDS)

_BY_GVR: Mapping[GroupVersionResource, ResourceInfo] = MappingProxyType(
    {info.gvr: info for info in _BUILTINS}
)


def builtin_resources() -> tuple[ResourceInfo, ...]:
    return _BUILTINS


def builtin_resource(gvr: GroupVersionResource) -> ResourceInfo | None:
    return _BY_GVR.get(gvr)


def resource_info(
    gvr: GroupVersionResource, kind: str | None = None, *, namespaced: bool = True
) -> ResourceInfo:
    """The built-in's info, else generic info for a custom resource: only
    metadata.name and metadata.namespace are selectable. ``kind`` should come
    from discovery; without it the guess is the capitalised resource."""
    known = builtin_resource(gvr)
    if known is not None:
        return known
    guessed = kind or gvr.resource.capitalize()
    return ResourceInfo(gvr, guessed, guessed + "List", namespaced)


@dataclass(frozen=True, slots=True)
class RequestPath:
    gvr: GroupVersionResource
    namespace: str
    name: str
    subresource: str
    legacy_watch: bool = False


# A namespace's own subresources: /api/v1/namespaces/NAME/status is the
# namespace NAME's status, not a resource called "status" inside it.
_NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})


def _group_version(segments: list[str]) -> tuple[str, str, list[str]] | None:
    if len(segments) >= 2 and segments[0] == "api":
        return "", segments[1], segments[2:]
    if len(segments) >= 3 and segments[0] == "apis":
        return segments[1], segments[2], segments[3:]
    return None


def _is_namespace_scoped(rest: list[str]) -> bool:
    return rest[0] == "namespaces" and len(rest) >= 3 and rest[2] not in _NAMESPACE_SUBRESOURCES


def parse_path(path: str) -> RequestPath | None:
    """The resource ``path`` names, or None for discovery and non-resource
    paths (/api, /apis/apps/v1, /version, /healthz, /openapi/v2, ...)."""
    segments = path.split("?", 1)[0].strip("/").split("/")
    split = _group_version(segments)
    if split is None or "" in segments:
        return None
    group, version, rest = split
    legacy_watch = bool(rest) and rest[0] == "watch"
    if legacy_watch:
        rest = rest[1:]
    if not rest:
        return None
    namespace = ""
    if _is_namespace_scoped(rest):
        namespace, rest = rest[1], rest[2:]
    if len(rest) > 3:
        return None
    resource, name, subresource = [*rest, "", ""][:3]
    gvr = GroupVersionResource(group, version, resource)
    return RequestPath(gvr, namespace, name, subresource, legacy_watch)
