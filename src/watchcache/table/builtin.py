"""Printers for built-in kinds, as kube-apiserver 1.20 registers them
(pkg/printers/internalversion), read for semantics and written anew.

Glossary:
    BUILTIN_PRINTERS   (API group, resource) -> Printer. A resource absent
                       here has a 1.20 printer this module does not know:
                       its Table must come from upstream, since the
                       default table would print the wrong columns.
    DEFAULT_PRINTER    NAME and CREATED AT (RFC 3339): the generic
                       ``DefaultTableConvertor`` of kinds that register no
                       printer (limit ranges, CRDs; cluster roles and roles
                       print the same columns). Custom resources use
                       ``watchcache.table.custom`` instead.

Invariants:
    * integer cells are ints (Go int64), also under columns whose type
      says ``string`` (deployments' UP-TO-DATE, secrets' DATA): the column
      types are 1.20's, mismatches included.
    * every printer renders the wide (priority 1) cells.
Checked cell by cell against a real v1.20.2 server:
tests/e2e/test_table.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from watchcache.table.cellformat import (
    access_modes,
    capped_list,
    container_cells,
    count,
    label_selector,
    label_set,
    mapping,
    sequence,
)
from watchcache.table.duration import age, human_duration, parse_time
from watchcache.table.pods import POD_PRINTER
from watchcache.table.printer import Cells, Column, Printer, column

__all__ = ["BUILTIN_PRINTERS", "DEFAULT_PRINTER"]

Obj = dict[str, Any]

_NAME = column("Name", "Name of the object.", fmt="name")
_AGE = column("Age", "Time since the object was created.")
_CONTAINERS = column("Containers", "Names of the template's containers.", priority=1)
_IMAGES = column("Images", "Images of the template's containers.", priority=1)
_SELECTOR = column("Selector", "The label selector.", priority=1)


def _meta(obj: Obj) -> Mapping[str, Any]:
    return mapping(obj.get("metadata"))


def _name(obj: Obj) -> Any:
    return _meta(obj).get("name", "")


def _age(obj: Obj, now: float) -> str:
    return age(_meta(obj).get("creationTimestamp"), now)


def _spec(obj: Obj) -> Mapping[str, Any]:
    return mapping(obj.get("spec"))


def _status(obj: Obj) -> Mapping[str, Any]:
    return mapping(obj.get("status"))


_int = count


def _template_spec(obj: Obj) -> Mapping[str, Any]:
    return mapping(mapping(_spec(obj).get("template")).get("spec"))


def _printer(columns: tuple[Column, ...]) -> Callable[[Cells], Printer]:
    """Decorator: the function becomes the cells of a Printer."""

    def wrap(cells: Cells) -> Printer:
        return Printer(columns, cells)

    return wrap


# -- core/v1 -----------------------------------------------------------------


def _node_status(obj: Obj) -> str:
    ready = [mapping(c) for c in sequence(_status(obj).get("conditions"))]
    ready = [c for c in ready if c.get("type") == "Ready"]
    # The last Ready condition wins, as a map keyed by type would keep it.
    status = (
        ["Unknown"] if not ready else ["Ready" if ready[-1].get("status") == "True" else "NotReady"]
    )
    if _spec(obj).get("unschedulable"):
        status.append("SchedulingDisabled")
    return ",".join(status)


_ROLE_PREFIX = "node-role.kubernetes.io/"
_ROLE_LABEL = "kubernetes.io/role"


def _node_roles(obj: Obj) -> str:
    roles = set()
    for key, value in mapping(_meta(obj).get("labels")).items():
        if key.startswith(_ROLE_PREFIX) and key != _ROLE_PREFIX:
            roles.add(key[len(_ROLE_PREFIX) :])
        elif key == _ROLE_LABEL and value:
            roles.add(str(value))
    return ",".join(sorted(roles)) or "<none>"


def _node_address(obj: Obj, kind: str) -> str:
    for address in sequence(_status(obj).get("addresses")):
        if mapping(address).get("type") == kind:
            return str(mapping(address).get("address", ""))
    return "<none>"


@_printer(
    (
        _NAME,
        column("Status", "Ready condition, and whether scheduling is disabled."),
        column("Roles", "Roles from node-role labels."),
        _AGE,
        column("Version", "Kubelet version."),
        column("Internal-IP", "First InternalIP address.", priority=1),
        column("External-IP", "First ExternalIP address.", priority=1),
        column("OS-Image", "OS image.", priority=1),
        column("Kernel-Version", "Kernel version.", priority=1),
        column("Container-Runtime", "Container runtime version.", priority=1),
    )
)
def _node(obj: Obj, now: float) -> list[Any]:
    info = mapping(_status(obj).get("nodeInfo"))
    return [
        _name(obj),
        _node_status(obj),
        _node_roles(obj),
        _age(obj, now),
        info.get("kubeletVersion", ""),
        _node_address(obj, "InternalIP"),
        _node_address(obj, "ExternalIP"),
        info.get("osImage") or "<unknown>",
        info.get("kernelVersion") or "<unknown>",
        info.get("containerRuntimeVersion") or "<unknown>",
    ]


@_printer((_NAME, column("Status", "Phase of the namespace."), _AGE))
def _namespace(obj: Obj, now: float) -> list[Any]:
    return [_name(obj), _status(obj).get("phase", ""), _age(obj, now)]


def _load_balancer_ips(service: Obj) -> list[str]:
    found: set[str] = set()
    for ingress in sequence(mapping(_status(service).get("loadBalancer")).get("ingress")):
        ingress = mapping(ingress)
        if ingress.get("ip") or ingress.get("hostname"):
            found.add(str(ingress.get("ip") or ingress.get("hostname")))
    return sorted(found)


def _external_ip(service: Obj) -> str:
    spec = _spec(service)
    kind, external = spec.get("type"), [str(ip) for ip in sequence(spec.get("externalIPs"))]
    if kind in ("ClusterIP", "NodePort"):
        return ",".join(external) or "<none>"
    if kind == "LoadBalancer":
        # Server-side printing is always wide: the 16-character clip of
        # narrow output never applies.
        return ",".join(_load_balancer_ips(service) + external) or "<pending>"
    if kind == "ExternalName":
        return str(spec.get("externalName", ""))
    return "<unknown>"


def _ports(service: Obj) -> str:
    texts = []
    for port in sequence(_spec(service).get("ports")):
        port = mapping(port)
        node_port = f":{port['nodePort']}" if _int(port.get("nodePort")) > 0 else ""
        texts.append(f"{port.get('port', 0)}{node_port}/{port.get('protocol', '')}")
    return ",".join(texts) or "<none>"


@_printer(
    (
        _NAME,
        column("Type", "Service type."),
        column("Cluster-IP", "First cluster IP."),
        column("External-IP", "External IPs and load-balancer ingress."),
        column("Port(s)", "Ports, with node ports."),
        _AGE,
        column("Selector", "The pod selector.", priority=1),
    )
)
def _service(obj: Obj, now: float) -> list[Any]:
    spec = _spec(obj)
    cluster_ips = sequence(spec.get("clusterIPs"))
    return [
        _name(obj),
        spec.get("type", ""),
        cluster_ips[0] if cluster_ips else "<none>",
        _external_ip(obj),
        _ports(obj),
        _age(obj, now),
        label_set(spec.get("selector")),
    ]


def _host_port(ip: str, port: Any) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def _endpoints_text(obj: Obj) -> str:
    subsets = sequence(obj.get("subsets"))
    if not subsets:
        return "<none>"
    shown: list[str] = []
    total = 0
    for subset in map(mapping, subsets):
        addresses = [str(mapping(a).get("ip", "")) for a in sequence(subset.get("addresses"))]
        for port in map(mapping, sequence(subset.get("ports"))):
            for ip in addresses:
                if len(shown) < 3:
                    shown.append(_host_port(ip, port.get("port", 0)))
                total += 1
    return capped_list(shown, total, "")


@_printer((_NAME, column("Endpoints", "Addresses and ports, the first three."), _AGE))
def _endpoints(obj: Obj, now: float) -> list[Any]:
    return [_name(obj), _endpoints_text(obj), _age(obj, now)]


@_printer((_NAME, column("Data", "Number of data and binaryData keys."), _AGE))
def _configmap(obj: Obj, now: float) -> list[Any]:
    size = len(mapping(obj.get("data"))) + len(mapping(obj.get("binaryData")))
    return [_name(obj), size, _age(obj, now)]


@_printer((_NAME, column("Type", "Secret type."), column("Data", "Number of data keys."), _AGE))
def _secret(obj: Obj, now: float) -> list[Any]:
    return [_name(obj), obj.get("type", ""), len(mapping(obj.get("data"))), _age(obj, now)]


@_printer((_NAME, column("Secrets", "Number of secrets."), _AGE))
def _service_account(obj: Obj, now: float) -> list[Any]:
    return [_name(obj), len(sequence(obj.get("secrets"))), _age(obj, now)]


@_printer(
    (
        column("Last Seen", "Time since the event was last seen."),
        column("Type", "Event type."),
        column("Reason", "Why the event happened."),
        column("Object", "kind/name of the object involved."),
        column("Subobject", "Field path within the object.", priority=1),
        column("Source", "Component, and host, that reported it.", priority=1),
        column("Message", "What happened."),
        column("First Seen", "Time since the event was first seen.", priority=1),
        column("Count", "How often it happened.", priority=1),
        column("Name", "Name of the event.", fmt="name", priority=1),
    )
)
def _event(obj: Obj, now: float) -> list[Any]:
    first = (
        age(obj["firstTimestamp"], now)
        if parse_time(obj.get("firstTimestamp")) is not None
        else age(obj.get("eventTime"), now)
    )
    last = (
        age(obj["lastTimestamp"], now)
        if parse_time(obj.get("lastTimestamp")) is not None
        else first
    )
    times = _int(obj.get("count"))
    series = obj.get("series")
    if isinstance(series, dict):
        last = age(series.get("lastObservedTime"), now)
        # 1.20 prints one more than the series' count (seen against
        # v1.20.2: series.count 7 prints 8, whatever the event's count).
        times = _int(series.get("count")) + 1
    elif times == 0:
        times = 1  # singleton events of the events.k8s.io API carry no count
    involved = mapping(obj.get("involvedObject"))
    target = str(involved.get("kind", "")).lower()
    if involved.get("name"):
        target = f"{target}/{involved['name']}"
    source = mapping(obj.get("source"))
    # events.k8s.io writers fill reportingController/Instance, not source.
    component = source.get("component") or obj.get("reportingComponent") or ""
    host = source.get("host") or obj.get("reportingInstance") or ""
    source_text = f"{component}, {host}" if host else str(component)
    return [
        last,
        obj.get("type", ""),
        obj.get("reason", ""),
        target,
        involved.get("fieldPath", ""),
        source_text,
        str(obj.get("message", "")).strip(),
        first,
        times,
        _name(obj),
    ]


@_printer(
    (
        _NAME,
        column("Containers", "Names of the template's containers."),
        column("Images", "Images of the template's containers."),
        column("Pod Labels", "Labels of the template."),
    )
)
def _pod_template(obj: Obj, now: float) -> list[Any]:
    template = mapping(obj.get("template"))
    names, images = container_cells(template.get("spec"))
    return [_name(obj), names, images, label_set(mapping(template.get("metadata")).get("labels"))]


_STORAGE_CLASS_ANNOTATION = "volume.beta.kubernetes.io/storage-class"


def _storage_class(obj: Obj) -> str:
    annotations = mapping(_meta(obj).get("annotations"))
    if _STORAGE_CLASS_ANNOTATION in annotations:
        return str(annotations[_STORAGE_CLASS_ANNOTATION])
    return str(_spec(obj).get("storageClassName") or "")


def _phase(obj: Obj) -> str:
    return (
        "Terminating" if _meta(obj).get("deletionTimestamp") else str(_status(obj).get("phase", ""))
    )


def _volume_mode(obj: Obj) -> str:
    mode = _spec(obj).get("volumeMode")
    return "<unset>" if mode is None else str(mode)


def _storage(resources: Any) -> str:
    # Quantities arrive canonical (kube-apiserver re-encodes them on
    # write), so the stored text is what Quantity.String() prints.
    return str(mapping(resources).get("storage", "0"))


@_printer(
    (
        _NAME,
        column("Capacity", "Storage capacity."),
        column("Access Modes", "Access modes."),
        column("Reclaim Policy", "Reclaim policy."),
        column("Status", "Phase of the volume."),
        column("Claim", "namespace/name of the bound claim."),
        column("StorageClass", "Storage class."),
        column("Reason", "Why the volume is in its phase."),
        _AGE,
        column("VolumeMode", "Block or Filesystem.", priority=1),
    )
)
def _persistent_volume(obj: Obj, now: float) -> list[Any]:
    spec = _spec(obj)
    claim = spec.get("claimRef")
    claim_text = ""
    if isinstance(claim, dict):
        claim_text = f"{claim.get('namespace', '')}/{claim.get('name', '')}"
    return [
        _name(obj),
        _storage(spec.get("capacity")),
        access_modes(spec.get("accessModes")),
        spec.get("persistentVolumeReclaimPolicy", ""),
        _phase(obj),
        claim_text,
        _storage_class(obj),
        _status(obj).get("reason", ""),
        _age(obj, now),
        _volume_mode(obj),
    ]


@_printer(
    (
        _NAME,
        column("Status", "Phase of the claim."),
        column("Volume", "The bound volume."),
        column("Capacity", "Capacity of the bound volume."),
        column("Access Modes", "Access modes of the bound volume."),
        column("StorageClass", "Storage class."),
        _AGE,
        column("VolumeMode", "Block or Filesystem.", priority=1),
    )
)
def _persistent_volume_claim(obj: Obj, now: float) -> list[Any]:
    spec, status = _spec(obj), _status(obj)
    bound = bool(spec.get("volumeName"))
    return [
        _name(obj),
        _phase(obj),
        spec.get("volumeName", ""),
        _storage(status.get("capacity")) if bound else "",
        access_modes(status.get("accessModes")) if bound else "",
        _storage_class(obj),
        _age(obj, now),
        _volume_mode(obj),
    ]


# -- apps/v1 -------------------------------------------------------------------


def _template_cells(obj: Obj, spec_of: Mapping[str, Any] | None = None) -> list[str]:
    names, images = container_cells(_template_spec(obj) if spec_of is None else spec_of)
    return [names, images]


@_printer(
    (
        _NAME,
        column("Desired", "Desired replicas.", "integer"),
        column("Current", "Current replicas.", "integer"),
        column("Ready", "Ready replicas.", "integer"),
        _AGE,
        _CONTAINERS,
        _IMAGES,
        _SELECTOR,
    )
)
def _replica_set(obj: Obj, now: float) -> list[Any]:
    spec, status = _spec(obj), _status(obj)
    return [
        _name(obj),
        _int(spec.get("replicas")),
        _int(status.get("replicas")),
        _int(status.get("readyReplicas")),
        _age(obj, now),
        *_template_cells(obj),
        label_selector(spec.get("selector")),
    ]


@_printer(
    (
        _NAME,
        column("Ready", "Ready replicas out of desired."),
        column("Up-to-date", "Replicas of the newest template."),
        column("Available", "Available replicas."),
        _AGE,
        _CONTAINERS,
        _IMAGES,
        _SELECTOR,
    )
)
def _deployment(obj: Obj, now: float) -> list[Any]:
    spec, status = _spec(obj), _status(obj)
    return [
        _name(obj),
        f"{_int(status.get('readyReplicas'))}/{_int(spec.get('replicas'))}",
        _int(status.get("updatedReplicas")),
        _int(status.get("availableReplicas")),
        _age(obj, now),
        *_template_cells(obj),
        label_selector(spec.get("selector")),
    ]


@_printer(
    (
        _NAME,
        column("Desired", "Nodes that should run the daemon pod.", "integer"),
        column("Current", "Nodes that run it.", "integer"),
        column("Ready", "Nodes where it is ready.", "integer"),
        column("Up-to-date", "Nodes that run the newest template.", "integer"),
        column("Available", "Nodes where it is available.", "integer"),
        column("Node Selector", "The template's node selector."),
        _AGE,
        _CONTAINERS,
        _IMAGES,
        _SELECTOR,
    )
)
def _daemon_set(obj: Obj, now: float) -> list[Any]:
    status = _status(obj)
    return [
        _name(obj),
        _int(status.get("desiredNumberScheduled")),
        _int(status.get("currentNumberScheduled")),
        _int(status.get("numberReady")),
        _int(status.get("updatedNumberScheduled")),
        _int(status.get("numberAvailable")),
        label_set(_template_spec(obj).get("nodeSelector")),
        _age(obj, now),
        *_template_cells(obj),
        label_selector(_spec(obj).get("selector")),
    ]


# apps/v1 daemon sets carry spec.templateGeneration as this annotation, put
# there by the conversion from kube-apiserver's internal object; the Table's
# PartialObjectMetadata is read from the internal object, without it.
_TEMPLATE_GENERATION = "deprecated.daemonset.template.generation"


@_printer((_NAME, column("Ready", "Ready replicas out of desired."), _AGE, _CONTAINERS, _IMAGES))
def _stateful_set(obj: Obj, now: float) -> list[Any]:
    ready = _int(_status(obj).get("readyReplicas"))
    return [
        _name(obj),
        f"{ready}/{_int(_spec(obj).get('replicas'))}",
        _age(obj, now),
        *_template_cells(obj),
    ]


# -- batch ---------------------------------------------------------------------


def _completions(obj: Obj) -> str:
    spec, succeeded = _spec(obj), _int(_status(obj).get("succeeded"))
    if spec.get("completions") is not None:
        return f"{succeeded}/{_int(spec.get('completions'))}"
    parallelism = _int(spec.get("parallelism"))
    return f"{succeeded}/1 of {parallelism}" if parallelism > 1 else f"{succeeded}/1"


def _job_duration(obj: Obj, now: float) -> str:
    start = parse_time(_status(obj).get("startTime"))
    if start is None:
        return ""
    end = parse_time(_status(obj).get("completionTime"))
    return human_duration((now if end is None else end) - start)


@_printer(
    (
        _NAME,
        column("Completions", "Succeeded pods out of those wanted."),
        column("Duration", "Time the job ran, or has been running."),
        _AGE,
        _CONTAINERS,
        _IMAGES,
        _SELECTOR,
    )
)
def _job(obj: Obj, now: float) -> list[Any]:
    return [
        _name(obj),
        _completions(obj),
        _job_duration(obj, now),
        _age(obj, now),
        *_template_cells(obj),
        label_selector(_spec(obj).get("selector")),
    ]


def _bool_pointer(value: Any) -> str:
    return "<unset>" if value is None else ("True" if value else "False")


@_printer(
    (
        _NAME,
        column("Schedule", "Cron schedule."),
        column("Suspend", "Whether runs are suspended.", "boolean"),
        column("Active", "Jobs running.", "integer"),
        column("Last Schedule", "Time since a job was last scheduled."),
        _AGE,
        _CONTAINERS,
        _IMAGES,
        _SELECTOR,
    )
)
def _cron_job(obj: Obj, now: float) -> list[Any]:
    spec = _spec(obj)
    job_spec = mapping(mapping(spec.get("jobTemplate")).get("spec"))
    last = _status(obj).get("lastScheduleTime")
    return [
        _name(obj),
        spec.get("schedule", ""),
        _bool_pointer(spec.get("suspend")),
        len(sequence(_status(obj).get("active"))),
        "<none>" if last is None else age(last, now),
        _age(obj, now),
        *_template_cells(obj, mapping(mapping(job_spec.get("template")).get("spec"))),
        label_selector(job_spec.get("selector")),
    ]


# -- coordination, discovery -----------------------------------------------------


@_printer((_NAME, column("Holder", "Identity of the holder."), _AGE))
def _lease(obj: Obj, now: float) -> list[Any]:
    return [_name(obj), _spec(obj).get("holderIdentity") or "", _age(obj, now)]


def _slice_ports(obj: Obj) -> str:
    ports = [mapping(p) for p in sequence(obj.get("ports"))]
    shown = []
    for port in ports[:3]:
        if port.get("port") is not None:
            shown.append(str(port["port"]))
        elif port.get("name") is not None:
            shown.append(str(port["name"]))
        else:
            shown.append("*")
    return capped_list(shown, len(ports), "<unset>")


def _slice_endpoints(obj: Obj) -> str:
    addresses = [
        str(address)
        for endpoint in sequence(obj.get("endpoints"))
        for address in sequence(mapping(endpoint).get("addresses"))
    ]
    return capped_list(addresses, len(addresses), "<unset>")


@_printer(
    (
        _NAME,
        column("AddressType", "IPv4, IPv6 or FQDN."),
        column("Ports", "Port numbers, the first three."),
        column("Endpoints", "Addresses, the first three."),
        _AGE,
    )
)
def _endpoint_slice(obj: Obj, now: float) -> list[Any]:
    return [
        _name(obj),
        obj.get("addressType", ""),
        _slice_ports(obj),
        _slice_endpoints(obj),
        _age(obj, now),
    ]


# -- no printer: the default table ----------------------------------------------


def _created_at(obj: Obj, now: float) -> list[Any]:
    then = parse_time(_meta(obj).get("creationTimestamp"))
    if then is None:
        return [_name(obj), "0001-01-01T00:00:00Z"]  # Go's zero time, in RFC 3339
    return [_name(obj), datetime.fromtimestamp(int(then), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")]


DEFAULT_PRINTER = Printer(
    (_NAME, column("Created At", "When the object was created.", "date")), _created_at
)

BUILTIN_PRINTERS: Mapping[tuple[str, str], Printer] = MappingProxyType(
    {
        ("", "pods"): POD_PRINTER,
        ("", "nodes"): _node,
        ("", "namespaces"): _namespace,
        ("", "services"): _service,
        ("", "endpoints"): _endpoints,
        ("", "configmaps"): _configmap,
        ("", "secrets"): _secret,
        ("", "serviceaccounts"): _service_account,
        ("", "events"): _event,
        ("", "podtemplates"): _pod_template,
        ("", "persistentvolumes"): _persistent_volume,
        ("", "persistentvolumeclaims"): _persistent_volume_claim,
        ("coordination.k8s.io", "leases"): _lease,
        ("apps", "replicasets"): _replica_set,
        ("apps", "deployments"): _deployment,
        ("apps", "daemonsets"): replace(
            _daemon_set, conversion_annotations=frozenset({_TEMPLATE_GENERATION})
        ),
        ("apps", "statefulsets"): _stateful_set,
        ("batch", "jobs"): _job,
        ("batch", "cronjobs"): _cron_job,
        ("discovery.k8s.io", "endpointslices"): _endpoint_slice,
        ("", "limitranges"): DEFAULT_PRINTER,
        ("apiextensions.k8s.io", "customresourcedefinitions"): DEFAULT_PRINTER,
        ("rbac.authorization.k8s.io", "clusterroles"): DEFAULT_PRINTER,
        ("rbac.authorization.k8s.io", "roles"): DEFAULT_PRINTER,
    }
)
