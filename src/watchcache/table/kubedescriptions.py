"""kube-apiserver 1.20's Table column descriptions, as its Tables carry
them, by ``group/resource`` and column name.

kubectl compares column definitions whole, descriptions included, when it
decides whether to print a header again (``kubectl get NAME -w`` reads
the object from upstream and its watch from the cache), so the cache's
must be upstream's. These are wire data read from a real v1.20.2 by
tests/e2e/test_table_descriptions.py, which writes this module with
``WATCHCACHE_WRITE_DESCRIPTIONS=1`` and otherwise checks it. A column not
listed keeps the printer's own description.
"""

from __future__ import annotations

import pprint
from collections.abc import Mapping

__all__ = ["DESCRIPTIONS", "module_text"]

DESCRIPTIONS: Mapping[str, Mapping[str, str]] = {
    "/configmaps": {
        "Age": "CreationTimestamp is a timestamp representing the server time when this "
        "object was created. It is not guaranteed to be set in happens-before "
        "order across separate operations. Clients may not set this value. It is "
        "represented in RFC3339 form and is in UTC.\n"
        "\n"
        "Populated by the system. Read-only. Null for lists. More info: "
        "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
        "Data": "Data contains the configuration data. Each key must consist of "
        "alphanumeric characters, '-', '_' or '.'. Values with non-UTF-8 byte "
        "sequences must use the BinaryData field. The keys stored in Data must "
        "not overlap with the keys in the BinaryData field, this is enforced "
        "during validation process.",
        "Name": "Name must be unique within a namespace. Is required when creating "
        "resources, although some resources may allow a client to request the "
        "generation of an appropriate name automatically. Name is primarily "
        "intended for creation idempotence and configuration definition. Cannot "
        "be updated. More info: "
        "http://kubernetes.io/docs/user-guide/identifiers#names",
    },
    "/endpoints": {
        "Age": "CreationTimestamp is a timestamp representing the server time when this "
        "object was created. It is not guaranteed to be set in happens-before "
        "order across separate operations. Clients may not set this value. It is "
        "represented in RFC3339 form and is in UTC.\n"
        "\n"
        "Populated by the system. Read-only. Null for lists. More info: "
        "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
        "Endpoints": "The set of all endpoints is the union of all subsets. Addresses are "
        "placed into subsets according to the IPs they share. A single "
        "address with multiple ports, some of which are ready and some of "
        "which are not (because they come from different containers) will "
        "result in the address being displayed in different subsets for the "
        "different ports. No address will appear in both Addresses and "
        "NotReadyAddresses in the same subset. Sets of addresses and ports "
        "that comprise a service.",
        "Name": "Name must be unique within a namespace. Is required when creating "
        "resources, although some resources may allow a client to request the "
        "generation of an appropriate name automatically. Name is primarily "
        "intended for creation idempotence and configuration definition. Cannot "
        "be updated. More info: "
        "http://kubernetes.io/docs/user-guide/identifiers#names",
    },
    "/events": {
        "Count": "The number of times this event has occurred.",
        "First Seen": "The time at which the event was first recorded. (Time of server "
        "receipt is in TypeMeta.)",
        "Last Seen": "The time at which the most recent occurrence of this event was recorded.",
        "Message": "A human-readable description of the status of this operation.",
        "Name": "Name must be unique within a namespace. Is required when creating "
        "resources, although some resources may allow a client to request the "
        "generation of an appropriate name automatically. Name is primarily intended "
        "for creation idempotence and configuration definition. Cannot be updated. "
        "More info: http://kubernetes.io/docs/user-guide/identifiers#names",
        "Object": "The object that this event is about.",
        "Reason": "This should be a short, machine understandable string that gives the "
        "reason for the transition into the object's current status.",
        "Source": "The component reporting this event. Should be a short machine "
        "understandable string.",
        "Subobject": "If referring to a piece of an object instead of an entire object, this "
        "string should contain a valid JSON/Go field access statement, such as "
        "desiredState.manifest.containers[2]. For example, if the object "
        "reference is to a container within a pod, this would take on a value "
        'like: "spec.containers{name}" (where "name" refers to the name of the '
        "container that triggered the event) or if no container name is "
        'specified "spec.containers[2]" (container with index 2 in this pod). '
        "This syntax is chosen only to have some well-defined way of "
        "referencing a part of an object.",
        "Type": "Type of this event (Normal, Warning), new types could be added in the future",
    },
    "/limitranges": {
        "Created At": "CreationTimestamp is a timestamp representing the server time "
        "when this object was created. It is not guaranteed to be set in "
        "happens-before order across separate operations. Clients may not "
        "set this value. It is represented in RFC3339 form and is in "
        "UTC.\n"
        "\n"
        "Populated by the system. Read-only. Null for lists. More info: "
        "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
        "Name": "Name must be unique within a namespace. Is required when creating "
        "resources, although some resources may allow a client to request the "
        "generation of an appropriate name automatically. Name is primarily "
        "intended for creation idempotence and configuration definition. Cannot "
        "be updated. More info: "
        "http://kubernetes.io/docs/user-guide/identifiers#names",
    },
    "/namespaces": {
        "Age": "CreationTimestamp is a timestamp representing the server time when this "
        "object was created. It is not guaranteed to be set in happens-before "
        "order across separate operations. Clients may not set this value. It is "
        "represented in RFC3339 form and is in UTC.\n"
        "\n"
        "Populated by the system. Read-only. Null for lists. More info: "
        "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
        "Name": "Name must be unique within a namespace. Is required when creating "
        "resources, although some resources may allow a client to request the "
        "generation of an appropriate name automatically. Name is primarily "
        "intended for creation idempotence and configuration definition. Cannot "
        "be updated. More info: "
        "http://kubernetes.io/docs/user-guide/identifiers#names",
        "Status": "The status of the namespace",
    },
    "/nodes": {
        "Age": "CreationTimestamp is a timestamp representing the server time when this "
        "object was created. It is not guaranteed to be set in happens-before order "
        "across separate operations. Clients may not set this value. It is represented "
        "in RFC3339 form and is in UTC.\n"
        "\n"
        "Populated by the system. Read-only. Null for lists. More info: "
        "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
        "Container-Runtime": "ContainerRuntime Version reported by the node through runtime "
        "remote API (e.g. docker://1.5.0).",
        "External-IP": "List of addresses reachable to the node. Queried from cloud provider, "
        "if available. More info: "
        "https://kubernetes.io/docs/concepts/nodes/node/#addresses Note: This "
        "field is declared as mergeable, but the merge key is not sufficiently "
        "unique, which can cause data corruption when it is merged. Callers "
        "should instead use a full-replacement patch. See "
        "http://pr.k8s.io/79391 for an example.",
        "Internal-IP": "List of addresses reachable to the node. Queried from cloud provider, "
        "if available. More info: "
        "https://kubernetes.io/docs/concepts/nodes/node/#addresses Note: This "
        "field is declared as mergeable, but the merge key is not sufficiently "
        "unique, which can cause data corruption when it is merged. Callers "
        "should instead use a full-replacement patch. See "
        "http://pr.k8s.io/79391 for an example.",
        "Kernel-Version": "Kernel Version reported by the node from 'uname -r' (e.g. "
        "3.16.0-0.bpo.4-amd64).",
        "Name": "Name must be unique within a namespace. Is required when creating resources, "
        "although some resources may allow a client to request the generation of an "
        "appropriate name automatically. Name is primarily intended for creation "
        "idempotence and configuration definition. Cannot be updated. More info: "
        "http://kubernetes.io/docs/user-guide/identifiers#names",
        "OS-Image": "OS Image reported by the node from /etc/os-release (e.g. Debian "
        "GNU/Linux 7 (wheezy)).",
        "Roles": "The roles of the node",
        "Status": "The status of the node",
        "Version": "Kubelet Version reported by the node.",
    },
    "/persistentvolumeclaims": {
        "Access Modes": "AccessModes contains the actual access modes the "
        "volume backing the PVC has. More info: "
        "https://kubernetes.io/docs/concepts/storage/persistent-volumes#access-modes-1",
        "Age": "CreationTimestamp is a timestamp representing the server "
        "time when this object was created. It is not guaranteed to "
        "be set in happens-before order across separate operations. "
        "Clients may not set this value. It is represented in RFC3339 "
        "form and is in UTC.\n"
        "\n"
        "Populated by the system. Read-only. Null for lists. More "
        "info: "
        "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
        "Capacity": "Represents the actual resources of the underlying volume.",
        "Name": "Name must be unique within a namespace. Is required when "
        "creating resources, although some resources may allow a "
        "client to request the generation of an appropriate name "
        "automatically. Name is primarily intended for creation "
        "idempotence and configuration definition. Cannot be "
        "updated. More info: "
        "http://kubernetes.io/docs/user-guide/identifiers#names",
        "Status": "Phase represents the current phase of PersistentVolumeClaim.",
        "StorageClass": "StorageClass of the pvc",
        "Volume": "VolumeName is the binding reference to the PersistentVolume backing this claim.",
        "VolumeMode": "volumeMode defines what type of volume is required by "
        "the claim. Value of Filesystem is implied when not "
        "included in claim spec.",
    },
    "/persistentvolumes": {
        "Access Modes": "AccessModes contains all ways the volume can be mounted. "
        "More info: "
        "https://kubernetes.io/docs/concepts/storage/persistent-volumes#access-modes",
        "Age": "CreationTimestamp is a timestamp representing the server time "
        "when this object was created. It is not guaranteed to be set in "
        "happens-before order across separate operations. Clients may not "
        "set this value. It is represented in RFC3339 form and is in UTC.\n"
        "\n"
        "Populated by the system. Read-only. Null for lists. More info: "
        "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
        "Capacity": "A description of the persistent volume's resources and "
        "capacity. More info: "
        "https://kubernetes.io/docs/concepts/storage/persistent-volumes#capacity",
        "Claim": "ClaimRef is part of a bi-directional binding between "
        "PersistentVolume and PersistentVolumeClaim. Expected to be "
        "non-nil when bound. claim.VolumeName is the authoritative bind "
        "between PV and PVC. More info: "
        "https://kubernetes.io/docs/concepts/storage/persistent-volumes#binding",
        "Name": "Name must be unique within a namespace. Is required when "
        "creating resources, although some resources may allow a client "
        "to request the generation of an appropriate name automatically. "
        "Name is primarily intended for creation idempotence and "
        "configuration definition. Cannot be updated. More info: "
        "http://kubernetes.io/docs/user-guide/identifiers#names",
        "Reason": "Reason is a brief CamelCase string that describes any failure "
        "and is meant for machine parsing and tidy display in the CLI.",
        "Reclaim Policy": "What happens to a persistent volume when released from "
        "its claim. Valid options are Retain (default for "
        "manually created PersistentVolumes), Delete (default "
        "for dynamically provisioned PersistentVolumes), and "
        "Recycle (deprecated). Recycle must be supported by the "
        "volume plugin underlying this PersistentVolume. More "
        "info: "
        "https://kubernetes.io/docs/concepts/storage/persistent-volumes#reclaiming",
        "Status": "Phase indicates if a volume is available, bound to a claim, or "
        "released by a claim. More info: "
        "https://kubernetes.io/docs/concepts/storage/persistent-volumes#phase",
        "StorageClass": "StorageClass of the pv",
        "VolumeMode": "volumeMode defines if a volume is intended to be used with "
        "a formatted filesystem or to remain in raw block state. "
        "Value of Filesystem is implied when not included in spec.",
    },
    "/pods": {
        "Age": "CreationTimestamp is a timestamp representing the server time when this object "
        "was created. It is not guaranteed to be set in happens-before order across "
        "separate operations. Clients may not set this value. It is represented in "
        "RFC3339 form and is in UTC.\n"
        "\n"
        "Populated by the system. Read-only. Null for lists. More info: "
        "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
        "IP": "IP address allocated to the pod. Routable at least within the cluster. Empty if "
        "not yet allocated.",
        "Name": "Name must be unique within a namespace. Is required when creating resources, "
        "although some resources may allow a client to request the generation of an "
        "appropriate name automatically. Name is primarily intended for creation "
        "idempotence and configuration definition. Cannot be updated. More info: "
        "http://kubernetes.io/docs/user-guide/identifiers#names",
        "Node": "NodeName is a request to schedule this pod onto a specific node. If it is "
        "non-empty, the scheduler simply schedules this pod onto that node, assuming "
        "that it fits resource requirements.",
        "Nominated Node": "nominatedNodeName is set only when this pod preempts other pods on "
        "the node, but it cannot be scheduled right away as preemption "
        "victims receive their graceful termination periods. This field does "
        "not guarantee that the pod will be scheduled on this node. "
        "Scheduler may decide to place the pod elsewhere if other nodes "
        "become available sooner. Scheduler may also decide to give the "
        "resources on this node to a higher priority pod that is created "
        "after preemption. As a result, this field may be different than "
        "PodSpec.nodeName when the pod is scheduled.",
        "Readiness Gates": "If specified, all readiness gates will be evaluated for pod "
        "readiness. A pod is ready when all its containers are ready AND "
        "all conditions specified in the readiness gates have status equal "
        'to "True" More info: '
        "https://git.k8s.io/enhancements/keps/sig-network/0007-pod-ready%2B%2B.md",
        "Ready": "The aggregate readiness state of this pod for accepting traffic.",
        "Restarts": "The number of times the containers in this pod have been restarted.",
        "Status": "The aggregate status of the containers in this pod.",
    },
    "/podtemplates": {
        "Containers": "Names of each container in the template.",
        "Images": "Images referenced by each container in the template.",
        "Name": "Name must be unique within a namespace. Is required when creating "
        "resources, although some resources may allow a client to request the "
        "generation of an appropriate name automatically. Name is primarily "
        "intended for creation idempotence and configuration definition. "
        "Cannot be updated. More info: "
        "http://kubernetes.io/docs/user-guide/identifiers#names",
        "Pod Labels": "The labels for the pod template.",
    },
    "/secrets": {
        "Age": "CreationTimestamp is a timestamp representing the server time when this "
        "object was created. It is not guaranteed to be set in happens-before order "
        "across separate operations. Clients may not set this value. It is "
        "represented in RFC3339 form and is in UTC.\n"
        "\n"
        "Populated by the system. Read-only. Null for lists. More info: "
        "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
        "Data": "Data contains the secret data. Each key must consist of alphanumeric "
        "characters, '-', '_' or '.'. The serialized form of the secret data is a "
        "base64 encoded string, representing the arbitrary (possibly non-string) "
        "data value here. Described in "
        "https://tools.ietf.org/html/rfc4648#section-4",
        "Name": "Name must be unique within a namespace. Is required when creating "
        "resources, although some resources may allow a client to request the "
        "generation of an appropriate name automatically. Name is primarily "
        "intended for creation idempotence and configuration definition. Cannot be "
        "updated. More info: http://kubernetes.io/docs/user-guide/identifiers#names",
        "Type": "Used to facilitate programmatic handling of secret data.",
    },
    "/serviceaccounts": {
        "Age": "CreationTimestamp is a timestamp representing the server time when "
        "this object was created. It is not guaranteed to be set in "
        "happens-before order across separate operations. Clients may not "
        "set this value. It is represented in RFC3339 form and is in UTC.\n"
        "\n"
        "Populated by the system. Read-only. Null for lists. More info: "
        "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
        "Name": "Name must be unique within a namespace. Is required when creating "
        "resources, although some resources may allow a client to request "
        "the generation of an appropriate name automatically. Name is "
        "primarily intended for creation idempotence and configuration "
        "definition. Cannot be updated. More info: "
        "http://kubernetes.io/docs/user-guide/identifiers#names",
        "Secrets": "Secrets is the list of secrets allowed to be used by pods "
        "running using this ServiceAccount. More info: "
        "https://kubernetes.io/docs/concepts/configuration/secret",
    },
    "/services": {
        "Age": "CreationTimestamp is a timestamp representing the server time when this "
        "object was created. It is not guaranteed to be set in happens-before order "
        "across separate operations. Clients may not set this value. It is "
        "represented in RFC3339 form and is in UTC.\n"
        "\n"
        "Populated by the system. Read-only. Null for lists. More info: "
        "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
        "Cluster-IP": "clusterIP is the IP address of the service and is usually assigned "
        "randomly. If an address is specified manually, is in-range (as per "
        "system configuration), and is not in use, it will be allocated to "
        "the service; otherwise creation of the service will fail. This "
        "field may not be changed through updates unless the type field is "
        "also being changed to ExternalName (which requires this field to be "
        "blank) or the type field is being changed from ExternalName (in "
        "which case this field may optionally be specified, as describe "
        'above).  Valid values are "None", empty string (""), or a valid IP '
        'address. Setting this to "None" makes a "headless service" (no '
        "virtual IP), which is useful when direct endpoint connections are "
        "preferred and proxying is not required.  Only applies to types "
        "ClusterIP, NodePort, and LoadBalancer. If this field is specified "
        "when creating a Service of type ExternalName, creation will fail. "
        "This field will be wiped when updating a Service to type "
        "ExternalName. More info: "
        "https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies",
        "External-IP": "externalIPs is a list of IP addresses for which nodes in the "
        "cluster will also accept traffic for this service.  These IPs are "
        "not managed by Kubernetes.  The user is responsible for ensuring "
        "that traffic arrives at a node with this IP.  A common example is "
        "external load-balancers that are not part of the Kubernetes "
        "system.",
        "Name": "Name must be unique within a namespace. Is required when creating "
        "resources, although some resources may allow a client to request the "
        "generation of an appropriate name automatically. Name is primarily "
        "intended for creation idempotence and configuration definition. Cannot be "
        "updated. More info: "
        "http://kubernetes.io/docs/user-guide/identifiers#names",
        "Port(s)": "The list of ports that are exposed by this service. More info: "
        "https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies",
        "Selector": "Route service traffic to pods with label keys and values matching "
        "this selector. If empty or not present, the service is assumed to "
        "have an external process managing its endpoints, which Kubernetes "
        "will not modify. Only applies to types ClusterIP, NodePort, and "
        "LoadBalancer. Ignored if type is ExternalName. More info: "
        "https://kubernetes.io/docs/concepts/services-networking/service/",
        "Type": "type determines how the Service is exposed. Defaults to ClusterIP. Valid "
        "options are ExternalName, ClusterIP, NodePort, and LoadBalancer. "
        '"ClusterIP" allocates a cluster-internal IP address for load-balancing to '
        "endpoints. Endpoints are determined by the selector or if that is not "
        "specified, by manual construction of an Endpoints object or EndpointSlice "
        'objects. If clusterIP is "None", no virtual IP is allocated and the '
        "endpoints are published as a set of endpoints rather than a virtual IP. "
        '"NodePort" builds on ClusterIP and allocates a port on every node which '
        'routes to the same endpoints as the clusterIP. "LoadBalancer" builds on '
        "NodePort and creates an external load-balancer (if supported in the "
        "current cloud) which routes to the same endpoints as the clusterIP. "
        '"ExternalName" aliases this service to the specified externalName. '
        "Several other fields do not apply to ExternalName services. More info: "
        "https://kubernetes.io/docs/concepts/services-networking/service/#publishing-services-service-types",
    },
    "apiextensions.k8s.io/customresourcedefinitions": {
        "Created At": "CreationTimestamp is a "
        "timestamp representing the "
        "server time when this object "
        "was created. It is not "
        "guaranteed to be set in "
        "happens-before order across "
        "separate operations. Clients "
        "may not set this value. It is "
        "represented in RFC3339 form "
        "and is in UTC.\n"
        "\n"
        "Populated by the system. "
        "Read-only. Null for lists. "
        "More info: "
        "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
        "Name": "Name must be unique within a "
        "namespace. Is required when creating "
        "resources, although some resources "
        "may allow a client to request the "
        "generation of an appropriate name "
        "automatically. Name is primarily "
        "intended for creation idempotence "
        "and configuration definition. Cannot "
        "be updated. More info: "
        "http://kubernetes.io/docs/user-guide/identifiers#names",
    },
    "apps/daemonsets": {
        "Age": "CreationTimestamp is a timestamp representing the server time when "
        "this object was created. It is not guaranteed to be set in "
        "happens-before order across separate operations. Clients may not set "
        "this value. It is represented in RFC3339 form and is in UTC.\n"
        "\n"
        "Populated by the system. Read-only. Null for lists. More info: "
        "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
        "Available": "The number of nodes that should be running the daemon pod and "
        "have one or more of the daemon pod running and available "
        "(ready for at least spec.minReadySeconds)",
        "Containers": "Names of each container in the template.",
        "Current": "The number of nodes that are running at least 1 daemon pod and "
        "are supposed to run the daemon pod. More info: "
        "https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/",
        "Desired": "The total number of nodes that should be running the daemon pod "
        "(including nodes correctly running the daemon pod). More info: "
        "https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/",
        "Images": "Images referenced by each container in the template.",
        "Name": "Name must be unique within a namespace. Is required when creating "
        "resources, although some resources may allow a client to request "
        "the generation of an appropriate name automatically. Name is "
        "primarily intended for creation idempotence and configuration "
        "definition. Cannot be updated. More info: "
        "http://kubernetes.io/docs/user-guide/identifiers#names",
        "Node Selector": "NodeSelector is a selector which must be true for the pod "
        "to fit on a node. Selector which must match a node's "
        "labels for the pod to be scheduled on that node. More "
        "info: "
        "https://kubernetes.io/docs/concepts/configuration/assign-pod-node/",
        "Ready": "The number of nodes that should be running the daemon pod and have "
        "one or more of the daemon pod running and ready.",
        "Selector": "A label query over pods that are managed by the daemon set. "
        "Must match in order to be controlled. If empty, defaulted to "
        "labels on Pod template. More info: "
        "https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
        "Up-to-date": "The total number of nodes that are running updated daemon pod",
    },
    "apps/deployments": {
        "Age": "CreationTimestamp is a timestamp representing the server time when "
        "this object was created. It is not guaranteed to be set in "
        "happens-before order across separate operations. Clients may not "
        "set this value. It is represented in RFC3339 form and is in UTC.\n"
        "\n"
        "Populated by the system. Read-only. Null for lists. More info: "
        "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
        "Available": "Total number of available pods (ready for at least "
        "minReadySeconds) targeted by this deployment.",
        "Containers": "Names of each container in the template.",
        "Images": "Images referenced by each container in the template.",
        "Name": "Name must be unique within a namespace. Is required when creating "
        "resources, although some resources may allow a client to request "
        "the generation of an appropriate name automatically. Name is "
        "primarily intended for creation idempotence and configuration "
        "definition. Cannot be updated. More info: "
        "http://kubernetes.io/docs/user-guide/identifiers#names",
        "Ready": "Number of the pod with ready state",
        "Selector": "Label selector for pods. Existing ReplicaSets whose pods are "
        "selected by this will be the ones affected by this deployment.",
        "Up-to-date": "Total number of non-terminated pods targeted by this "
        "deployment that have the desired template spec.",
    },
    "apps/replicasets": {
        "Age": "CreationTimestamp is a timestamp representing the server time when "
        "this object was created. It is not guaranteed to be set in "
        "happens-before order across separate operations. Clients may not "
        "set this value. It is represented in RFC3339 form and is in UTC.\n"
        "\n"
        "Populated by the system. Read-only. Null for lists. More info: "
        "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
        "Containers": "Names of each container in the template.",
        "Current": "Replicas is the most recently oberved number of replicas. More "
        "info: "
        "https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller/#what-is-a-replicationcontroller",
        "Desired": "Replicas is the number of desired replicas. This is a pointer "
        "to distinguish between explicit zero and unspecified. Defaults "
        "to 1. More info: "
        "https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller/#what-is-a-replicationcontroller",
        "Images": "Images referenced by each container in the template.",
        "Name": "Name must be unique within a namespace. Is required when creating "
        "resources, although some resources may allow a client to request "
        "the generation of an appropriate name automatically. Name is "
        "primarily intended for creation idempotence and configuration "
        "definition. Cannot be updated. More info: "
        "http://kubernetes.io/docs/user-guide/identifiers#names",
        "Ready": "The number of ready replicas for this replica set.",
        "Selector": "Selector is a label query over pods that should match the "
        "replica count. If the selector is empty, it is defaulted to "
        "the labels present on the pod template. Label keys and values "
        "that must match in order to be controlled by this replica set. "
        "More info: "
        "https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
    },
    "apps/statefulsets": {
        "Age": "CreationTimestamp is a timestamp representing the server time when "
        "this object was created. It is not guaranteed to be set in "
        "happens-before order across separate operations. Clients may not "
        "set this value. It is represented in RFC3339 form and is in UTC.\n"
        "\n"
        "Populated by the system. Read-only. Null for lists. More info: "
        "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
        "Containers": "Names of each container in the template.",
        "Images": "Images referenced by each container in the template.",
        "Name": "Name must be unique within a namespace. Is required when creating "
        "resources, although some resources may allow a client to request "
        "the generation of an appropriate name automatically. Name is "
        "primarily intended for creation idempotence and configuration "
        "definition. Cannot be updated. More info: "
        "http://kubernetes.io/docs/user-guide/identifiers#names",
        "Ready": "Number of the pod with ready state",
    },
    "batch/cronjobs": {
        "Active": "A list of pointers to currently running jobs.",
        "Age": "CreationTimestamp is a timestamp representing the server time when "
        "this object was created. It is not guaranteed to be set in "
        "happens-before order across separate operations. Clients may not set "
        "this value. It is represented in RFC3339 form and is in UTC.\n"
        "\n"
        "Populated by the system. Read-only. Null for lists. More info: "
        "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
        "Containers": "Names of each container in the template.",
        "Images": "Images referenced by each container in the template.",
        "Last Schedule": "Information when was the last time the job was successfully scheduled.",
        "Name": "Name must be unique within a namespace. Is required when creating "
        "resources, although some resources may allow a client to request the "
        "generation of an appropriate name automatically. Name is primarily "
        "intended for creation idempotence and configuration definition. "
        "Cannot be updated. More info: "
        "http://kubernetes.io/docs/user-guide/identifiers#names",
        "Schedule": "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron.",
        "Selector": "A label query over pods that should match the pod count. "
        "Normally, the system sets this field for you. More info: "
        "https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
        "Suspend": "This flag tells the controller to suspend subsequent executions, "
        "it does not apply to already started executions.  Defaults to "
        "false.",
    },
    "batch/jobs": {
        "Age": "CreationTimestamp is a timestamp representing the server time when this "
        "object was created. It is not guaranteed to be set in happens-before "
        "order across separate operations. Clients may not set this value. It is "
        "represented in RFC3339 form and is in UTC.\n"
        "\n"
        "Populated by the system. Read-only. Null for lists. More info: "
        "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
        "Completions": "The number of pods which reached phase Succeeded.",
        "Containers": "Names of each container in the template.",
        "Duration": "Time required to complete the job.",
        "Images": "Images referenced by each container in the template.",
        "Name": "Name must be unique within a namespace. Is required when creating "
        "resources, although some resources may allow a client to request the "
        "generation of an appropriate name automatically. Name is primarily "
        "intended for creation idempotence and configuration definition. Cannot "
        "be updated. More info: "
        "http://kubernetes.io/docs/user-guide/identifiers#names",
        "Selector": "A label query over pods that should match the pod count. Normally, "
        "the system sets this field for you. More info: "
        "https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
    },
    "coordination.k8s.io/leases": {
        "Age": "CreationTimestamp is a timestamp representing the server "
        "time when this object was created. It is not guaranteed "
        "to be set in happens-before order across separate "
        "operations. Clients may not set this value. It is "
        "represented in RFC3339 form and is in UTC.\n"
        "\n"
        "Populated by the system. Read-only. Null for lists. More "
        "info: "
        "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
        "Holder": "holderIdentity contains the identity of the holder of a current lease.",
        "Name": "Name must be unique within a namespace. Is required when "
        "creating resources, although some resources may allow a "
        "client to request the generation of an appropriate name "
        "automatically. Name is primarily intended for creation "
        "idempotence and configuration definition. Cannot be "
        "updated. More info: "
        "http://kubernetes.io/docs/user-guide/identifiers#names",
    },
    "discovery.k8s.io/endpointslices": {
        "AddressType": "addressType specifies the type of address "
        "carried by this EndpointSlice. All addresses "
        "in this slice must be the same type. This "
        "field is immutable after creation. The "
        "following address types are currently "
        "supported: * IPv4: Represents an IPv4 "
        "Address. * IPv6: Represents an IPv6 Address. "
        "* FQDN: Represents a Fully Qualified Domain "
        "Name.",
        "Age": "CreationTimestamp is a timestamp representing the "
        "server time when this object was created. It is not "
        "guaranteed to be set in happens-before order across "
        "separate operations. Clients may not set this value. "
        "It is represented in RFC3339 form and is in UTC.\n"
        "\n"
        "Populated by the system. Read-only. Null for lists. "
        "More info: "
        "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
        "Endpoints": "endpoints is a list of unique endpoints in "
        "this slice. Each slice may include a maximum "
        "of 1000 endpoints.",
        "Name": "Name must be unique within a namespace. Is required "
        "when creating resources, although some resources "
        "may allow a client to request the generation of an "
        "appropriate name automatically. Name is primarily "
        "intended for creation idempotence and configuration "
        "definition. Cannot be updated. More info: "
        "http://kubernetes.io/docs/user-guide/identifiers#names",
        "Ports": "ports specifies the list of network ports exposed "
        "by each endpoint in this slice. Each port must "
        "have a unique name. When ports is empty, it "
        "indicates that there are no defined ports. When a "
        "port is defined with a nil port value, it "
        'indicates "all ports". Each slice may include a '
        "maximum of 100 ports.",
    },
    "rbac.authorization.k8s.io/clusterroles": {
        "Created At": "CreationTimestamp is a timestamp "
        "representing the server time when this "
        "object was created. It is not "
        "guaranteed to be set in happens-before "
        "order across separate operations. "
        "Clients may not set this value. It is "
        "represented in RFC3339 form and is in "
        "UTC.\n"
        "\n"
        "Populated by the system. Read-only. "
        "Null for lists. More info: "
        "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
        "Name": "Name must be unique within a namespace. Is "
        "required when creating resources, although "
        "some resources may allow a client to request "
        "the generation of an appropriate name "
        "automatically. Name is primarily intended "
        "for creation idempotence and configuration "
        "definition. Cannot be updated. More info: "
        "http://kubernetes.io/docs/user-guide/identifiers#names",
    },
    "rbac.authorization.k8s.io/roles": {
        "Created At": "CreationTimestamp is a timestamp representing "
        "the server time when this object was created. "
        "It is not guaranteed to be set in "
        "happens-before order across separate "
        "operations. Clients may not set this value. "
        "It is represented in RFC3339 form and is in "
        "UTC.\n"
        "\n"
        "Populated by the system. Read-only. Null for "
        "lists. More info: "
        "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
        "Name": "Name must be unique within a namespace. Is required "
        "when creating resources, although some resources "
        "may allow a client to request the generation of an "
        "appropriate name automatically. Name is primarily "
        "intended for creation idempotence and configuration "
        "definition. Cannot be updated. More info: "
        "http://kubernetes.io/docs/user-guide/identifiers#names",
    },
}


def module_text(descriptions: Mapping[str, Mapping[str, str]]) -> str:
    """This module's source with ``descriptions`` as its data."""
    with open(__file__) as source:
        text = source.read()
    head, _, _ = text.partition("DESCRIPTIONS: Mapping[str, Mapping[str, str]] = ")
    _, _, tail = text.partition("\n\n\ndef module_text")
    data = pprint.pformat(dict(descriptions), width=99, sort_dicts=True)
    return (
        f"{head}DESCRIPTIONS: Mapping[str, Mapping[str, str]] = {data}\n\n\ndef module_text{tail}"
    )
