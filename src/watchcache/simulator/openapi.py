"""OpenAPI for kubectl: /openapi/v2 (protobuf or JSON) and /openapi/v3.

kubectl reads it for three things: ``kubectl explain`` (the schema of a
kind, found by its ``x-kubernetes-group-version-kind``), kubectl 1.20's
dry-run check (a kind supports ``--dry-run=server`` when its PATCH
operation takes a ``dryRun`` query parameter) and ``kubectl apply``'s
strategic merge patches (the ``x-kubernetes-patch-*`` of lists).

Glossary:
    definition   one named schema (v2 ``definitions``, v3
                 ``components.schemas``); every built-in kind has one.
    described    a kind whose fields are written out below (pods and what
                 they contain, nodes, namespaces, config maps, secrets,
                 services, deployments and the other workloads). The
                 schemas are this project's own wording, written for
                 explain; they are not Kubernetes' generated spec.
    open         every other kind: a description and no field list, so
                 explain names it and apply falls back on kubectl's
                 compiled-in patch rules, as for a kind a server does not
                 describe.
    gnostic      the protobuf form of an OpenAPI v2 document (messages of
                 gnostic's openapi_v2 package) that kubectl asks for.

Invariant: the document is built from the resource table once, at import;
custom resources are not described (kubectl then falls back as above).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from watchcache.api.resources import ResourceInfo, builtin_resources

__all__ = ["V2_JSON", "V2_PROTO", "v3_document", "v3_index"]

Schema = dict[str, Any]

# -- schema vocabulary ----------------------------------------------------


def _s(description: str) -> Schema:
    return {"type": "string", "description": description}


def _i(description: str) -> Schema:
    return {"type": "integer", "format": "int32", "description": description}


def _b(description: str) -> Schema:
    return {"type": "boolean", "description": description}


def _map(description: str) -> Schema:
    return {
        "type": "object",
        "additionalProperties": {"type": "string"},
        "description": description,
    }


def _ref(name: str, description: str) -> Schema:
    return {"$ref": f"#/definitions/{name}", "description": description}


def _list(item: Schema, description: str, merge_key: str = "") -> Schema:
    out: Schema = {"type": "array", "items": item, "description": description}
    if merge_key:
        out["x-kubernetes-patch-merge-key"] = merge_key
        out["x-kubernetes-patch-strategy"] = "merge"
    return out


def _refs(name: str, description: str, merge_key: str = "") -> Schema:
    return _list({"$ref": f"#/definitions/{name}"}, description, merge_key)


def _obj(
    description: str, properties: Mapping[str, Schema], required: Iterable[str] = ()
) -> Schema:
    out: Schema = {"type": "object", "description": description, "properties": dict(properties)}
    if required:
        out["required"] = list(required)
    return out


def _open(description: str) -> Schema:
    """Any value: no type, no fields (kube-openapi's "arbitrary")."""
    return {"description": description}


_QUANTITIES = {
    "type": "object",
    "additionalProperties": {"type": "string"},
}

# -- the described kinds ---------------------------------------------------

_META = "meta.v1.ObjectMeta"

_DEFINITIONS: dict[str, Schema] = {
    _META: _obj(
        "Standard metadata every persisted object has.",
        {
            "name": _s("Unique within a namespace (or the cluster, for cluster-scoped kinds)."),
            "generateName": _s(
                "Prefix the server completes into a unique name when name is empty."
            ),
            "namespace": _s("The namespace the object lives in; empty for cluster-scoped kinds."),
            "uid": _s("Unique in time and space; set by the server on creation."),
            "resourceVersion": _s("Opaque version of this object; changes on every write."),
            "generation": {
                "type": "integer",
                "format": "int64",
                "description": "Sequence number of the desired state; raised on spec changes.",
            },
            "creationTimestamp": _s("When the object was created (RFC 3339, UTC)."),
            "deletionTimestamp": _s("When the object will be deleted; set by a graceful delete."),
            "deletionGracePeriodSeconds": _i("Seconds allowed for graceful termination."),
            "labels": _map("Key/value pairs that selectors match."),
            "annotations": _map("Key/value pairs for tools; not selectable."),
            "ownerReferences": _refs(
                "meta.v1.OwnerReference", "Objects this one depends on.", "uid"
            ),
            "finalizers": {
                **_list(
                    {"type": "string"}, "Conditions that must clear before the object is deleted."
                ),
                "x-kubernetes-patch-strategy": "merge",
            },
            "managedFields": _list(
                _open("One manager's owned fields."),
                "Which manager owns which fields (server-side apply).",
            ),
        },
    ),
    "meta.v1.OwnerReference": _obj(
        "Identifies an owning object.",
        {
            "apiVersion": _s("API version of the owner."),
            "kind": _s("Kind of the owner."),
            "name": _s("Name of the owner."),
            "uid": _s("UID of the owner."),
            "controller": _b("Whether the owner is the managing controller."),
            "blockOwnerDeletion": _b("Whether the owner cannot be deleted before this object."),
        },
        ["apiVersion", "kind", "name", "uid"],
    ),
    "meta.v1.LabelSelector": _obj(
        "Selects objects by their labels; the terms are ANDed.",
        {
            "matchLabels": _map("Labels that must all be present with these values."),
            "matchExpressions": _list(
                _open("key, operator (In, NotIn, Exists, DoesNotExist), values."),
                "Set-based requirements.",
            ),
        },
    ),
    "core.v1.Container": _obj(
        "One container of a pod.",
        {
            "name": _s("Name of the container, unique within the pod (a DNS label)."),
            "image": _s("Container image reference."),
            "command": _list({"type": "string"}, "Entrypoint; the image's ENTRYPOINT when empty."),
            "args": _list(
                {"type": "string"}, "Arguments to the entrypoint; the image's CMD when empty."
            ),
            "workingDir": _s("Working directory of the container."),
            "ports": _refs(
                "core.v1.ContainerPort", "Ports the container exposes.", "containerPort"
            ),
            "env": _refs("core.v1.EnvVar", "Environment variables.", "name"),
            "envFrom": _list(
                _open("A config map or secret whose keys become variables."),
                "Sources of environment variables.",
            ),
            "resources": _ref(
                "core.v1.ResourceRequirements", "Compute resources the container needs."
            ),
            "volumeMounts": _list(
                _open("Where a volume is mounted."),
                "Volumes mounted into the container.",
                "mountPath",
            ),
            "livenessProbe": _open("When the container is restarted."),
            "readinessProbe": _open("When the container is ready for traffic."),
            "startupProbe": _open("When the container has started."),
            "lifecycle": _open("Actions on start and stop."),
            "securityContext": _open("Security options of the container."),
            "imagePullPolicy": _s("Always, Never or IfNotPresent."),
            "terminationMessagePath": _s("File the container writes its termination message to."),
            "terminationMessagePolicy": _s("File or FallbackToLogsOnError."),
            "stdin": _b("Whether the container keeps a stdin open."),
            "stdinOnce": _b("Whether stdin closes after the first attach ends."),
            "tty": _b("Whether the container gets a TTY."),
        },
        ["name"],
    ),
    "core.v1.ContainerPort": _obj(
        "A port a container exposes.",
        {
            "name": _s("Name services can refer to (an IANA_SVC_NAME)."),
            "containerPort": _i("Port number on the pod's IP."),
            "hostPort": _i("Port number on the node's IP."),
            "hostIP": _s("Node IP to bind the host port to."),
            "protocol": _s("TCP, UDP or SCTP (default TCP)."),
        },
        ["containerPort"],
    ),
    "core.v1.EnvVar": _obj(
        "An environment variable.",
        {
            "name": _s("Variable name."),
            "value": _s("Value; $(VAR) references are expanded."),
            "valueFrom": _open(
                "A field, resource, config map key or secret key to read the value from."
            ),
        },
        ["name"],
    ),
    "core.v1.ResourceRequirements": _obj(
        "Compute resources.",
        {
            "limits": {**_QUANTITIES, "description": "Most a container may use, by resource name."},
            "requests": {
                **_QUANTITIES,
                "description": "What the scheduler reserves, by resource name.",
            },
        },
    ),
    "core.v1.PodSpec": _obj(
        "What a pod runs and how.",
        {
            "containers": _refs("core.v1.Container", "The pod's containers; at least one.", "name"),
            "initContainers": _refs(
                "core.v1.Container",
                "Containers run to completion, in order, before the others.",
                "name",
            ),
            "volumes": _list(_open("A named volume."), "Volumes the containers may mount.", "name"),
            "restartPolicy": _s("Always, OnFailure or Never (default Always)."),
            "terminationGracePeriodSeconds": {
                "type": "integer",
                "format": "int64",
                "description": "Seconds between the termination signal and the kill (default 30).",
            },
            "activeDeadlineSeconds": {
                "type": "integer",
                "format": "int64",
                "description": "Seconds the pod may be active before it is failed.",
            },
            "dnsPolicy": _s("ClusterFirst, ClusterFirstWithHostNet, Default or None."),
            "nodeSelector": _map("Labels a node must have for the pod to be scheduled on it."),
            "serviceAccountName": _s("Service account the pod runs as."),
            "serviceAccount": _s("Deprecated alias of serviceAccountName."),
            "automountServiceAccountToken": _b("Whether the service account token is mounted."),
            "nodeName": _s("Node the pod is bound to; set by the scheduler."),
            "hostNetwork": _b("Whether the pod uses the node's network namespace."),
            "hostPID": _b("Whether the pod uses the node's PID namespace."),
            "hostIPC": _b("Whether the pod uses the node's IPC namespace."),
            "securityContext": _open("Security options of the pod."),
            "imagePullSecrets": _list(
                _open("name: a secret in the pod's namespace."),
                "Secrets for pulling images.",
                "name",
            ),
            "hostname": _s("Hostname of the pod."),
            "subdomain": _s("Subdomain of the pod's FQDN."),
            "affinity": _open("Scheduling constraints."),
            "schedulerName": _s("Scheduler that places the pod (default default-scheduler)."),
            "tolerations": _list(_open("A taint the pod tolerates."), "Taints the pod tolerates."),
            "priorityClassName": _s("Priority class of the pod."),
            "priority": _i("Priority, resolved from priorityClassName."),
            "enableServiceLinks": _b("Whether service environment variables are injected."),
            "preemptionPolicy": _s("PreemptLowerPriority or Never."),
            "topologySpreadConstraints": _list(
                _open("How pods spread over a topology."), "Spreading constraints.", "topologyKey"
            ),
        },
        ["containers"],
    ),
    "core.v1.PodCondition": _obj(
        "One condition of a pod.",
        {
            "type": _s("PodScheduled, Initialized, ContainersReady or Ready."),
            "status": _s("True, False or Unknown."),
            "lastProbeTime": _s("When the condition was last probed."),
            "lastTransitionTime": _s("When the status last changed."),
            "reason": _s("One-word reason for the last transition."),
            "message": _s("Human-readable details."),
        },
        ["type", "status"],
    ),
    "core.v1.PodStatus": _obj(
        "What the kubelet last reported about a pod.",
        {
            "phase": _s("Pending, Running, Succeeded, Failed or Unknown."),
            "conditions": _refs("core.v1.PodCondition", "Current conditions of the pod.", "type"),
            "message": _s("Why the pod is in this state."),
            "reason": _s("One-word reason for the state."),
            "hostIP": _s("IP of the node the pod runs on."),
            "podIP": _s("IP of the pod."),
            "podIPs": _list(_open("ip: one of the pod's IPs."), "IPs of the pod.", "ip"),
            "startTime": _s("When the kubelet accepted the pod."),
            "containerStatuses": _list(
                _open("One container's state."), "States of the containers."
            ),
            "initContainerStatuses": _list(
                _open("One init container's state."), "States of the init containers."
            ),
            "qosClass": _s("Guaranteed, Burstable or BestEffort."),
        },
    ),
    "core.v1.PodTemplateSpec": _obj(
        "The pods a controller creates.",
        {
            "metadata": _ref(_META, "Metadata of the pods."),
            "spec": _ref("core.v1.PodSpec", "Spec of the pods."),
        },
    ),
    "core.v1.NodeSpec": _obj(
        "How a node is configured.",
        {
            "podCIDR": _s("Pod IP range assigned to the node."),
            "podCIDRs": {
                **_list({"type": "string"}, "Pod IP ranges assigned to the node."),
                "x-kubernetes-patch-strategy": "merge",
            },
            "providerID": _s("ID of the node at its cloud provider."),
            "unschedulable": _b("Whether new pods may not be scheduled on the node."),
            "taints": _list(_open("key, value, effect."), "Taints of the node."),
        },
    ),
    "core.v1.NodeStatus": _obj(
        "What the kubelet last reported about a node.",
        {
            "capacity": {**_QUANTITIES, "description": "Total resources of the node."},
            "allocatable": {**_QUANTITIES, "description": "Resources available to pods."},
            "conditions": _list(
                _open("type, status, reason, message, timestamps."),
                "Current conditions of the node.",
                "type",
            ),
            "addresses": _list(_open("type and address."), "Addresses of the node.", "type"),
            "daemonEndpoints": _open("Ports of the daemons on the node."),
            "nodeInfo": _open("Versions and IDs of the node's software."),
            "images": _list(_open("An image on the node."), "Images on the node."),
        },
    ),
    "core.v1.NamespaceSpec": _obj(
        "How a namespace is configured.",
        {"finalizers": _list({"type": "string"}, "Must be empty before the namespace is removed.")},
    ),
    "core.v1.NamespaceStatus": _obj(
        "The state of a namespace.",
        {
            "phase": _s("Active or Terminating."),
            "conditions": _list(
                _open("A namespace condition."), "Conditions of the namespace.", "type"
            ),
        },
    ),
    "core.v1.ServicePort": _obj(
        "A port a service exposes.",
        {
            "name": _s("Name of the port; required when there are several."),
            "protocol": _s("TCP, UDP or SCTP (default TCP)."),
            "port": _i("Port the service listens on."),
            "targetPort": _open("Port number or name on the pods (default: port)."),
            "nodePort": _i("Port on every node, for NodePort and LoadBalancer."),
            "appProtocol": _s("Application protocol of the port."),
        },
        ["port"],
    ),
    "core.v1.ServiceSpec": _obj(
        "How a service routes traffic.",
        {
            "ports": _refs("core.v1.ServicePort", "Ports the service exposes.", "port"),
            "selector": _map("Labels of the pods traffic goes to."),
            "clusterIP": _s("Virtual IP of the service; None for a headless one."),
            "clusterIPs": _list({"type": "string"}, "Virtual IPs of the service."),
            "type": _s("ClusterIP, NodePort, LoadBalancer or ExternalName."),
            "externalName": _s("DNS name an ExternalName service aliases."),
            "externalIPs": _list(
                {"type": "string"}, "IPs outside the cluster that also route to the service."
            ),
            "sessionAffinity": _s("ClientIP or None."),
            "ipFamilies": _list({"type": "string"}, "IPv4, IPv6 or both."),
            "ipFamilyPolicy": _s("SingleStack, PreferDualStack or RequireDualStack."),
            "internalTrafficPolicy": _s("Cluster or Local."),
            "externalTrafficPolicy": _s("Cluster or Local."),
        },
    ),
    "core.v1.ServiceStatus": _obj(
        "The state of a service.",
        {
            "loadBalancer": _open("Ingress points of a load balancer."),
            "conditions": _list(
                _open("A service condition."), "Conditions of the service.", "type"
            ),
        },
    ),
    "apps.v1.DeploymentSpec": _obj(
        "The pods a deployment keeps running.",
        {
            "replicas": _i("Number of pods (default 1)."),
            "selector": _ref("meta.v1.LabelSelector", "Labels of the pods the deployment owns."),
            "template": _ref("core.v1.PodTemplateSpec", "The pods to create."),
            "strategy": _open("How old pods are replaced: RollingUpdate or Recreate."),
            "minReadySeconds": _i("Seconds a new pod must be ready to count as available."),
            "revisionHistoryLimit": _i("Old replica sets kept for rollback (default 10)."),
            "paused": _b("Whether rollouts are paused."),
            "progressDeadlineSeconds": _i("Seconds before a stalled rollout is reported."),
        },
        ["selector", "template"],
    ),
    "apps.v1.WorkloadSpec": _obj(
        "The pods the workload keeps running.",
        {
            "replicas": _i("Number of pods."),
            "selector": _ref("meta.v1.LabelSelector", "Labels of the pods the workload owns."),
            "template": _ref("core.v1.PodTemplateSpec", "The pods to create."),
            "minReadySeconds": _i("Seconds a new pod must be ready to count as available."),
            "serviceName": _s("Governing service (stateful sets)."),
            "updateStrategy": _open("How pods are replaced on a template change."),
            "volumeClaimTemplates": _list(
                _open("A claim each pod gets."), "Claims each pod gets (stateful sets)."
            ),
            "podManagementPolicy": _s("OrderedReady or Parallel (stateful sets)."),
            "revisionHistoryLimit": _i("Old revisions kept."),
        },
        ["selector", "template"],
    ),
    "apps.v1.WorkloadStatus": _obj(
        "What the controller last observed.",
        {
            "replicas": _i("Pods targeted."),
            "readyReplicas": _i("Pods ready."),
            "availableReplicas": _i("Pods available."),
            "updatedReplicas": _i("Pods with the current template."),
            "observedGeneration": {
                "type": "integer",
                "format": "int64",
                "description": "Generation the controller last acted on.",
            },
            "conditions": _list(
                _open("A workload condition."), "Conditions of the workload.", "type"
            ),
        },
    ),
}


def _kind(info: ResourceInfo, description: str, fields: Mapping[str, Schema]) -> Schema:
    gvr = info.gvr
    api_version = gvr.api_version
    properties: dict[str, Schema] = {
        "apiVersion": _s(f"Versioned schema of this object: {api_version}."),
        "kind": _s(f"Kind of this object: {info.kind}."),
        "metadata": _ref(_META, "Standard object metadata."),
        **fields,
    }
    schema = _obj(description, properties)
    schema["x-kubernetes-group-version-kind"] = [
        {"group": gvr.group, "version": gvr.version, "kind": info.kind}
    ]
    return schema


_WORKLOAD = {
    "spec": _ref("apps.v1.WorkloadSpec", "The desired pods."),
    "status": _ref("apps.v1.WorkloadStatus", "What the controller last observed."),
}

# kind -> (description, fields besides apiVersion, kind and metadata)
_DESCRIBED: dict[str, tuple[str, dict[str, Schema]]] = {
    "Pod": (
        "A group of containers scheduled together on one node.",
        {
            "spec": _ref("core.v1.PodSpec", "What the pod runs."),
            "status": _ref("core.v1.PodStatus", "What the kubelet last reported."),
        },
    ),
    "Node": (
        "A machine pods run on.",
        {
            "spec": _ref("core.v1.NodeSpec", "How the node is configured."),
            "status": _ref("core.v1.NodeStatus", "What the kubelet last reported."),
        },
    ),
    "Namespace": (
        "A scope for names; deleting it deletes what it holds.",
        {
            "spec": _ref("core.v1.NamespaceSpec", "How the namespace is configured."),
            "status": _ref("core.v1.NamespaceStatus", "The state of the namespace."),
        },
    ),
    "ConfigMap": (
        "Configuration data as key/value pairs.",
        {
            "data": _map("UTF-8 values by key."),
            "binaryData": _map("Base64-encoded binary values by key."),
            "immutable": _b("Whether data can no longer change."),
        },
    ),
    "Secret": (
        "Sensitive data as key/value pairs.",
        {
            "data": _map("Base64-encoded values by key."),
            "stringData": _map("Plain-text values, merged into data on write."),
            "type": _s("Kind of secret, e.g. Opaque or kubernetes.io/tls."),
            "immutable": _b("Whether data can no longer change."),
        },
    ),
    "Service": (
        "A stable name and virtual IP for a set of pods.",
        {
            "spec": _ref("core.v1.ServiceSpec", "How the service routes traffic."),
            "status": _ref("core.v1.ServiceStatus", "The state of the service."),
        },
    ),
    "Deployment": (
        "Declarative updates of a replicated set of pods.",
        {
            "spec": _ref("apps.v1.DeploymentSpec", "The pods to keep running."),
            "status": _ref("apps.v1.WorkloadStatus", "What the controller last observed."),
        },
    ),
    "ReplicaSet": ("Keeps a number of identical pods running.", _WORKLOAD),
    "StatefulSet": ("Pods with stable identities and storage.", _WORKLOAD),
    "DaemonSet": ("One pod on every (selected) node.", _WORKLOAD),
}


def _definitions() -> dict[str, Schema]:
    out = dict(_DEFINITIONS)
    for info in builtin_resources():
        gvr = info.gvr
        name = f"{gvr.group or 'core'}.{gvr.version}.{info.kind}"
        described = _DESCRIBED.get(info.kind)
        if described is not None:
            out[name] = _kind(info, *described)
            continue
        schema = _open(
            f"{info.kind} ({gvr.resource}): served by the simulator, whose OpenAPI "
            "does not list this kind's fields."
        )
        schema["x-kubernetes-group-version-kind"] = [
            {"group": gvr.group, "version": gvr.version, "kind": info.kind}
        ]
        out[name] = schema
    return out


_DRY_RUN = {
    "name": "dryRun",
    "in": "query",
    "type": "string",
    "uniqueItems": True,
    "description": "All: validate and answer, store nothing.",
}


def _operation_doc(
    ident: str, action: str, gvk: dict[str, str], params: Iterable[dict[str, Any]] = ()
) -> dict[str, Any]:
    return {
        "operationId": ident,
        "parameters": list(params),
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": gvk,
    }


def _paths() -> dict[str, Any]:
    """Per kind, its collection (GET) and object (GET, PATCH) paths, each
    operation naming the kind: newer kubectl explain finds a resource's
    kind from them; kubectl 1.20's dry-run check looks for ``dryRun``
    among the PATCH's parameters."""
    paths: dict[str, Any] = {}
    for info in builtin_resources():
        gvr = info.gvr
        root = f"/apis/{gvr.group}/{gvr.version}" if gvr.group else "/api/v1"
        scope = "/namespaces/{namespace}" if info.namespaced else ""
        gvk = {"group": gvr.group, "version": gvr.version, "kind": info.kind}
        ident = f"{info.kind}{gvr.group.split('.')[0].title()}{gvr.version.title()}"
        collection = f"{root}{scope}/{gvr.resource}"
        paths[collection] = {"get": _operation_doc(f"list{ident}", "list", gvk)}
        paths[f"{collection}/{{name}}"] = {
            "get": _operation_doc(f"read{ident}", "get", gvk),
            "patch": _operation_doc(f"patch{ident}", "patch", gvk, [_DRY_RUN]),
        }
    return paths


V2_JSON: dict[str, Any] = {
    "swagger": "2.0",
    "info": {"title": "Kubernetes", "version": "v1.34.0-watchcache-sim"},
    "paths": _paths(),
    "definitions": _definitions(),
}


# -- gnostic protobuf ------------------------------------------------------


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (wire type 2)."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _text(number: int, value: str) -> bytes:
    return _field(number, value.encode()) if value else b""


def _flag(number: int, value: bool) -> bytes:
    return _varint(number << 3) + b"\x01" if value else b""


def _extensions(number: int, source: Mapping[str, Any]) -> bytes:
    """``x-`` keys as NamedAny{name, Any{yaml}}; JSON is YAML."""
    return b"".join(
        _field(number, _text(1, key) + _field(2, _text(2, json.dumps(value))))
        for key, value in source.items()
        if key.startswith("x-")
    )


def _schema(schema: Mapping[str, Any]) -> bytes:
    out = _text(1, schema.get("$ref", "")) + _text(2, schema.get("format", ""))
    out += _text(4, schema.get("description", ""))
    out += b"".join(_text(19, name) for name in schema.get("required", ()))
    extra = schema.get("additionalProperties")
    if isinstance(extra, Mapping):
        out += _field(21, _field(1, _schema(extra)))
    if "type" in schema:
        out += _field(22, _text(1, schema["type"]))
    if "items" in schema:
        out += _field(23, _field(1, _schema(schema["items"])))
    properties = schema.get("properties")
    if properties is not None:
        named = b"".join(
            _field(1, _text(1, name) + _field(2, _schema(sub))) for name, sub in properties.items()
        )
        out += _field(25, named)
    return out + _extensions(31, schema)


def _parameter(param: Mapping[str, Any]) -> bytes:
    query = _text(2, param["in"]) + _text(3, param.get("description", "")) + _text(4, param["name"])
    query += _text(6, param.get("type", "")) + _flag(20, param.get("uniqueItems", False))
    # ParametersItem{parameter: Parameter{non_body: NonBody{query}}}
    return _field(1, _field(2, _field(3, query)))


def _operation(op: Mapping[str, Any]) -> bytes:
    out = _text(5, op.get("operationId", ""))
    out += b"".join(_field(8, _parameter(p)) for p in op.get("parameters", ()))
    return out + _extensions(13, op)


_OPERATIONS = {"get": 2, "put": 3, "post": 4, "delete": 5, "patch": 8}


def encode_v2(doc: Mapping[str, Any]) -> bytes:
    """A v2 document in gnostic's protobuf (the subset written here)."""
    info = doc["info"]
    out = _text(1, doc["swagger"]) + _field(2, _text(1, info["title"]) + _text(2, info["version"]))
    paths = b""
    for path, item in doc["paths"].items():
        ops = b"".join(_field(_OPERATIONS[verb], _operation(op)) for verb, op in item.items())
        paths += _field(2, _text(1, path) + _field(2, ops))
    out += _field(8, paths)
    named = b"".join(
        _field(1, _text(1, name) + _field(2, _schema(schema)))
        for name, schema in doc["definitions"].items()
    )
    return out + _field(9, named)


V2_PROTO = encode_v2(V2_JSON)


# -- v3 ----------------------------------------------------------------------


def _v3_refs(value: Any) -> Any:
    """The v2 schema with its $refs pointing at v3's components."""
    if isinstance(value, dict):
        return {
            k: (
                v.replace("#/definitions/", "#/components/schemas/") if k == "$ref" else _v3_refs(v)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_v3_refs(v) for v in value]
    return value


def _group_version_path(info: ResourceInfo) -> str:
    gvr = info.gvr
    return f"apis/{gvr.group}/{gvr.version}" if gvr.group else "api/v1"


def _v3_documents() -> dict[str, bytes]:
    """One document per group version: its kinds and every shared
    definition (a v3 document must resolve its own $refs)."""
    shared = {name: s for name, s in V2_JSON["definitions"].items() if name in _DEFINITIONS}
    docs: dict[str, dict[str, Any]] = {}
    for info in builtin_resources():
        gvr = info.gvr
        doc = docs.setdefault(
            _group_version_path(info),
            {
                "openapi": "3.0.0",
                "info": dict(V2_JSON["info"]),
                "paths": {},
                "components": {"schemas": _v3_refs(shared)},
            },
        )
        name = f"{gvr.group or 'core'}.{gvr.version}.{info.kind}"
        doc["components"]["schemas"][name] = _v3_refs(V2_JSON["definitions"][name])
        prefix = "/" + _group_version_path(info) + "/"
        for path, item in V2_JSON["paths"].items():
            if path.startswith(prefix) and path.removesuffix("/{name}").endswith(
                "/" + gvr.resource
            ):
                doc["paths"][path] = {
                    verb: {k: v for k, v in op.items() if k != "parameters"}
                    for verb, op in item.items()
                }
    return {path: json.dumps(doc).encode() for path, doc in docs.items()}


_V3 = _v3_documents()
_V3_HASH = {path: hashlib.sha512(body).hexdigest()[:64].upper() for path, body in _V3.items()}


def v3_index() -> dict[str, Any]:
    """/openapi/v3: where each group version's document is."""
    return {
        "paths": {
            path: {"serverRelativeURL": f"/openapi/v3/{path}?hash={_V3_HASH[path]}"} for path in _V3
        }
    }


def v3_document(path: str) -> bytes | None:
    """/openapi/v3/<path>: that group version's document, as JSON."""
    return _V3.get(path)
