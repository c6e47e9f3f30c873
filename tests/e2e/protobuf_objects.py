"""Varied objects of every built-in kind the protobuf encoder renders, to
create in a namespace of the real kube-apiserver and read back both ways.

Each entry: (collection path relative to the namespace or cluster, body).
``{ns}`` in a path is the test's namespace; cluster-scoped paths start with
``/``. The specs reach as many messages and field shapes as one body can:
pointers set to zero, negative and large integers, IntOrString both ways,
quantities, empty maps, base64 data, times and microtimes.
"""

from __future__ import annotations

from typing import Any

_LABELS = {"app": "web", "tier": "front", "z-last": "", "a.example.com/first": "1"}

_CONTAINER: dict[str, Any] = {
    "name": "main",
    "image": "registry.example/web:1.2.3",
    "command": ["/bin/web", "--flag"],
    "args": ["serve", ""],
    "workingDir": "/srv",
    "ports": [
        {"name": "http", "containerPort": 8080, "protocol": "TCP"},
        {"containerPort": 9090, "hostPort": 19090, "hostIP": "127.0.0.1", "protocol": "UDP"},
    ],
    "env": [
        {"name": "PLAIN", "value": "x"},
        {"name": "EMPTY", "value": ""},
        {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {
            "name": "CPU",
            "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu", "divisor": "1m"}},
        },
        {
            "name": "SECRET",
            "valueFrom": {"secretKeyRef": {"name": "s", "key": "k", "optional": False}},
        },
    ],
    "envFrom": [{"prefix": "CM_", "configMapRef": {"name": "cm", "optional": True}}],
    "resources": {
        "limits": {"cpu": "1500m", "memory": "1Gi", "ephemeral-storage": "2G"},
        "requests": {"cpu": "0.25", "memory": "128974848"},
    },
    "volumeMounts": [
        {"name": "scratch", "mountPath": "/tmp", "readOnly": False},
        {"name": "config", "mountPath": "/etc/cfg", "subPath": "a", "readOnly": True},
    ],
    "livenessProbe": {
        "httpGet": {
            "path": "/healthz",
            "port": "http",
            "scheme": "HTTP",
            "httpHeaders": [{"name": "X", "value": "y"}],
        },
        "initialDelaySeconds": 3,
        "periodSeconds": 7,
    },
    "readinessProbe": {"tcpSocket": {"port": 8080}, "failureThreshold": 1},
    "startupProbe": {"exec": {"command": ["true"]}, "timeoutSeconds": 2},
    "lifecycle": {
        "preStop": {"exec": {"command": ["sleep", "1"]}},
        "postStart": {"httpGet": {"port": 80, "host": "localhost"}},
    },
    "securityContext": {
        "runAsUser": 0,
        "runAsGroup": 3000,
        "runAsNonRoot": False,
        "privileged": False,
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
        "capabilities": {"add": ["NET_ADMIN"], "drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    },
    "imagePullPolicy": "IfNotPresent",
    "stdin": True,
    "tty": False,
}

_POD_SPEC: dict[str, Any] = {
    "volumes": [
        {"name": "scratch", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}},
        {"name": "plain", "emptyDir": {}},
        {
            "name": "config",
            "configMap": {
                "name": "cm",
                "items": [{"key": "a", "path": "a", "mode": 0o400}],
                "defaultMode": 0o644,
            },
        },
        {"name": "secret", "secret": {"secretName": "s", "optional": True}},
        {"name": "host", "hostPath": {"path": "/var/log", "type": "Directory"}},
        {
            "name": "projected",
            "projected": {
                "sources": [
                    {
                        "serviceAccountToken": {
                            "path": "token",
                            "expirationSeconds": 3607,
                            "audience": "api",
                        }
                    },
                    {
                        "downwardAPI": {
                            "items": [
                                {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}
                            ]
                        }
                    },
                ]
            },
        },
        {"name": "pvc", "persistentVolumeClaim": {"claimName": "data", "readOnly": True}},
    ],
    "initContainers": [{"name": "init", "image": "busybox", "command": ["true"]}],
    "containers": [_CONTAINER, {"name": "side", "image": "busybox"}],
    "restartPolicy": "Always",
    "terminationGracePeriodSeconds": 0,
    "activeDeadlineSeconds": 600,
    "dnsPolicy": "None",
    "dnsConfig": {
        "nameservers": ["1.1.1.1"],
        "searches": ["svc.local"],
        "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}],
    },
    "nodeSelector": {"disk": "ssd", "a": "b"},
    "serviceAccountName": "default",
    "automountServiceAccountToken": False,
    "hostname": "web-0",
    "subdomain": "web",
    "securityContext": {
        "fsGroup": 2000,
        "supplementalGroups": [1, 2, 2147483647],
        "sysctls": [{"name": "net.core.somaxconn", "value": "1024"}],
        "fsGroupChangePolicy": "OnRootMismatch",
    },
    "imagePullSecrets": [{"name": "pull"}],
    "affinity": {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}
                ]
            },
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {
                    "weight": 10,
                    "preference": {
                        "matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n"]}]
                    },
                }
            ],
        },
        "podAntiAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [
                {
                    "labelSelector": {"matchLabels": {"app": "web"}},
                    "topologyKey": "kubernetes.io/hostname",
                }
            ]
        },
    },
    "tolerations": [
        {"key": "k", "operator": "Equal", "value": "v", "effect": "NoSchedule"},
        {"operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 30},
    ],
    "hostAliases": [{"ip": "10.0.0.1", "hostnames": ["a", "b"]}],
    "priority": 0,
    "readinessGates": [{"conditionType": "example.com/ready"}],
    "enableServiceLinks": False,
    "topologySpreadConstraints": [
        {
            "maxSkew": 1,
            "topologyKey": "zone",
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {
                "matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["x", "y"]}]
            },
        }
    ],
    "setHostnameAsFQDN": False,
}


def _template(labels: dict[str, str]) -> dict[str, Any]:
    return {
        "metadata": {"labels": labels, "annotations": {"note": "t"}},
        "spec": {
            "containers": [{"name": "c", "image": "busybox", "ports": [{"containerPort": 80}]}]
        },
    }


# Written with PUT .../status after the create (a create drops a pod's
# status); nothing in the dev cluster rewrites a pod's status.
POD_STATUS: dict[str, Any] = {
    "phase": "Running",
    "conditions": [
        {
            "type": "Ready",
            "status": "True",
            "lastProbeTime": None,
            "lastTransitionTime": "2021-01-02T03:04:05Z",
        },
        {"type": "PodScheduled", "status": "True", "lastTransitionTime": "2021-01-02T03:04:00Z"},
    ],
    "hostIP": "10.0.0.5",
    "podIP": "10.1.0.7",
    "podIPs": [{"ip": "10.1.0.7"}, {"ip": "fd00::7"}],
    "startTime": "2021-01-02T03:04:01Z",
    "qosClass": "BestEffort",
    "initContainerStatuses": [
        {
            "name": "init",
            "ready": True,
            "restartCount": 0,
            "image": "busybox:latest",
            "imageID": "docker-pullable://busybox@sha256:abc",
            "containerID": "containerd://1",
            "state": {
                "terminated": {
                    "exitCode": -1,
                    "signal": 9,
                    "reason": "Error",
                    "startedAt": "2021-01-02T03:04:02Z",
                    "finishedAt": "2021-01-02T03:04:03Z",
                    "containerID": "containerd://1",
                }
            },
        }
    ],
    "containerStatuses": [
        {
            "name": "c",
            "ready": True,
            "started": True,
            "restartCount": 2,
            "image": "busybox:latest",
            "imageID": "",
            "state": {"running": {"startedAt": "2021-01-02T03:04:04Z"}},
            "lastState": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off"}},
        }
    ],
}


def objects() -> list[tuple[str, dict[str, Any]]]:
    sel = {"matchLabels": {"app": "web"}}
    return [
        (
            "/api/v1/namespaces/{ns}/pods",
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": "rich",
                    "labels": _LABELS,
                    "annotations": {"unicode": "héllo ✓", "json": '{"a": [1, 2]}', "e": ""},
                    "finalizers": ["example.com/keep"],
                    "ownerReferences": [
                        {
                            "apiVersion": "apps/v1",
                            "kind": "ReplicaSet",
                            "name": "rs",
                            "uid": "6e6b3b7a-0000-4000-8000-000000000001",
                            "controller": True,
                            "blockOwnerDeletion": False,
                        }
                    ],
                },
                "spec": _POD_SPEC,
            },
        ),
        (
            "/api/v1/namespaces/{ns}/pods",
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"generateName": "small-"},
                "spec": {
                    "containers": [{"name": "c", "image": "busybox"}],
                    "nodeName": "{ns}-node",  # an existing node: podgc keeps it
                },
            },
        ),
        (
            "/api/v1/nodes",
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {"name": "{ns}-node", "labels": {"kubernetes.io/hostname": "n"}},
                "spec": {
                    "podCIDR": "10.1.0.0/24",
                    "podCIDRs": ["10.1.0.0/24"],
                    "providerID": "fake://n",
                    "unschedulable": True,
                    "taints": [
                        {"key": "k", "value": "v", "effect": "NoSchedule"},
                        {"key": "t", "effect": "NoExecute", "timeAdded": "2021-01-02T03:04:05Z"},
                    ],
                },
                "status": {
                    "capacity": {"cpu": "4", "memory": "16Gi", "pods": "110"},
                    "allocatable": {"cpu": "3800m", "memory": "15Gi", "pods": "110"},
                    "conditions": [
                        {
                            "type": "Ready",
                            "status": "True",
                            "lastHeartbeatTime": "2021-01-02T03:04:05Z",
                            "lastTransitionTime": "1999-12-31T23:59:59Z",
                            "reason": "KubeletReady",
                            "message": "ok",
                        }
                    ],
                    "addresses": [
                        {"type": "InternalIP", "address": "10.0.0.5"},
                        {"type": "Hostname", "address": "n"},
                    ],
                    "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                    "nodeInfo": {
                        "machineID": "m",
                        "kernelVersion": "5.10",
                        "kubeletVersion": "v1.20.2",
                        "architecture": "amd64",
                        "operatingSystem": "linux",
                    },
                    "images": [
                        {"names": ["busybox:latest", "busybox@sha256:abc"], "sizeBytes": 1234567}
                    ],
                    "volumesAttached": [{"name": "kubernetes.io/csi/x^y", "devicePath": ""}],
                },
            },
        ),
        (
            "/api/v1/namespaces/{ns}/services",
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "web"},
                "spec": {
                    "selector": {"app": "web"},
                    "ports": [
                        {"name": "http", "port": 80, "targetPort": "http"},
                        {"name": "metrics", "port": 9090, "targetPort": 9090, "protocol": "UDP"},
                    ],
                    "sessionAffinity": "ClientIP",
                    "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 600}},
                },
            },
        ),
        (
            "/api/v1/namespaces/{ns}/services",
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "np"},
                "spec": {
                    "type": "NodePort",
                    "ports": [{"port": 443, "appProtocol": "https"}],
                    "externalTrafficPolicy": "Local",
                },
            },
        ),
        (
            "/api/v1/namespaces/{ns}/services",
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "ext"},
                "spec": {"type": "ExternalName", "externalName": "example.com"},
            },
        ),
        (
            "/api/v1/namespaces/{ns}/endpoints",
            {
                "apiVersion": "v1",
                "kind": "Endpoints",
                "metadata": {"name": "manual"},
                "subsets": [
                    {
                        "addresses": [
                            {
                                "ip": "10.0.0.1",
                                "hostname": "a",
                                "nodeName": "n1",
                                "targetRef": {"kind": "Pod", "name": "p", "namespace": "x"},
                            }
                        ],
                        "notReadyAddresses": [{"ip": "10.0.0.2"}],
                        "ports": [{"name": "http", "port": 80, "protocol": "TCP"}],
                    }
                ],
            },
        ),
        (
            "/api/v1/namespaces/{ns}/configmaps",
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "cm"},
                "data": {"a": "1", "empty": "", "multi": "line\nline"},
                "binaryData": {"bin": "AAEC/w==", "nothing": ""},
                "immutable": False,
            },
        ),
        (
            "/api/v1/namespaces/{ns}/secrets",
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "s"},
                "type": "Opaque",
                "data": {"k": "c2VjcmV0", "empty": ""},
                "stringData": {"plain": "text"},
            },
        ),
        (
            "/api/v1/namespaces/{ns}/serviceaccounts",
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": "robot"},
                "imagePullSecrets": [{"name": "pull"}],
                "automountServiceAccountToken": True,
            },
        ),
        (
            "/api/v1/namespaces/{ns}/events",
            {
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {"name": "ev1"},
                "involvedObject": {"kind": "Pod", "name": "rich", "namespace": "{ns}"},
                "reason": "Started",
                "message": "started",
                "type": "Normal",
                "count": 3,
                "firstTimestamp": "2021-01-02T03:04:05Z",
                "lastTimestamp": "2021-01-02T03:05:05Z",
                "source": {"component": "kubelet", "host": "n1"},
            },
        ),
        (
            "/apis/events.k8s.io/v1/namespaces/{ns}/events",
            {
                "apiVersion": "events.k8s.io/v1",
                "kind": "Event",
                "metadata": {"name": "ev2"},
                "eventTime": "2021-01-02T03:04:05.123456Z",
                "series": {"count": 2, "lastObservedTime": "2021-01-02T03:04:06.000001Z"},
                "reportingController": "example.com/ctl",
                "reportingInstance": "ctl-1",
                "action": "Sync",
                "reason": "Synced",
                "regarding": {"kind": "Pod", "name": "rich", "namespace": "{ns}"},
                "note": "n",
                "type": "Warning",
            },
        ),
        (
            "/api/v1/namespaces/{ns}/podtemplates",
            {
                "apiVersion": "v1",
                "kind": "PodTemplate",
                "metadata": {"name": "tpl"},
                "template": {"metadata": {"labels": _LABELS}, "spec": _POD_SPEC},
            },
        ),
        (
            "/apis/coordination.k8s.io/v1/namespaces/{ns}/leases",
            {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": "lock"},
                "spec": {
                    "holderIdentity": "me",
                    "leaseDurationSeconds": 15,
                    "acquireTime": "2021-01-02T03:04:05.000000Z",
                    "renewTime": "2021-01-02T03:04:20.654321Z",
                    "leaseTransitions": 0,
                },
            },
        ),
        (
            "/apis/discovery.k8s.io/v1beta1/namespaces/{ns}/endpointslices",
            {
                "apiVersion": "discovery.k8s.io/v1beta1",
                "kind": "EndpointSlice",
                "metadata": {"name": "web-abc", "labels": {"kubernetes.io/service-name": "web"}},
                "addressType": "IPv4",
                "endpoints": [
                    {
                        "addresses": ["10.0.0.1"],
                        "conditions": {"ready": True},
                        "hostname": "a",
                        "topology": {"kubernetes.io/hostname": "n1", "zone": "a"},
                        "targetRef": {"kind": "Pod", "name": "p"},
                    },
                    {"addresses": ["10.0.0.2"], "conditions": {}},
                ],
                "ports": [{"name": "http", "port": 80, "protocol": "TCP", "appProtocol": "http"}],
            },
        ),
        (
            "/apis/apps/v1/namespaces/{ns}/replicasets",
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "metadata": {"name": "rs"},
                "spec": {"replicas": 0, "selector": sel, "template": _template({"app": "web"})},
            },
        ),
        (
            "/apis/apps/v1/namespaces/{ns}/deployments",
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "dep"},
                "spec": {
                    "replicas": 0,
                    "selector": sel,
                    "template": _template({"app": "web"}),
                    "strategy": {
                        "type": "RollingUpdate",
                        "rollingUpdate": {"maxSurge": "50%", "maxUnavailable": 0},
                    },
                    "paused": True,
                    "revisionHistoryLimit": 2,
                },
            },
        ),
        (
            "/apis/apps/v1/namespaces/{ns}/daemonsets",
            {
                "apiVersion": "apps/v1",
                "kind": "DaemonSet",
                "metadata": {"name": "ds"},
                "spec": {
                    "selector": sel,
                    "template": _template({"app": "web"}),
                    "updateStrategy": {"type": "OnDelete"},
                },
            },
        ),
        (
            "/apis/apps/v1/namespaces/{ns}/statefulsets",
            {
                "apiVersion": "apps/v1",
                "kind": "StatefulSet",
                "metadata": {"name": "sts"},
                "spec": {
                    "replicas": 0,
                    "serviceName": "web",
                    "selector": sel,
                    "template": _template({"app": "web"}),
                    "podManagementPolicy": "Parallel",
                    "volumeClaimTemplates": [
                        {
                            "metadata": {"name": "data"},
                            "spec": {
                                "accessModes": ["ReadWriteOnce"],
                                "resources": {"requests": {"storage": "1Gi"}},
                            },
                        }
                    ],
                },
            },
        ),
        (
            "/apis/batch/v1/namespaces/{ns}/jobs",
            {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": {"name": "job"},
                "spec": {
                    "parallelism": 0,
                    "completions": 1,
                    "backoffLimit": 0,
                    "ttlSecondsAfterFinished": 100,
                    "template": {
                        "spec": {
                            "restartPolicy": "Never",
                            "containers": [{"name": "c", "image": "busybox"}],
                        }
                    },
                },
            },
        ),
        (
            "/api/v1/persistentvolumes",
            {
                "apiVersion": "v1",
                "kind": "PersistentVolume",
                "metadata": {"name": "{ns}-pv"},
                "spec": {
                    "capacity": {"storage": "10Gi"},
                    "accessModes": ["ReadWriteOnce", "ReadOnlyMany"],
                    "hostPath": {"path": "/data"},
                    "persistentVolumeReclaimPolicy": "Retain",
                    "storageClassName": "manual",
                    "mountOptions": ["ro"],
                    "volumeMode": "Filesystem",
                    "claimRef": {"namespace": "{ns}", "name": "data"},
                    "nodeAffinity": {
                        "required": {
                            "nodeSelectorTerms": [
                                {"matchExpressions": [{"key": "k", "operator": "Exists"}]}
                            ]
                        }
                    },
                },
            },
        ),
        (
            "/apis/scheduling.k8s.io/v1/priorityclasses",
            {
                "apiVersion": "scheduling.k8s.io/v1",
                "kind": "PriorityClass",
                "metadata": {"name": "{ns}-low"},
                "value": -5,
                "preemptionPolicy": "Never",
                "description": "negative integers as 10-byte varints",
            },
        ),
        (
            "/api/v1/namespaces/{ns}/persistentvolumeclaims",
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {"name": "data"},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": "1Gi"}, "limits": {"storage": "2Gi"}},
                    "storageClassName": "",
                    "selector": {"matchLabels": {"a": "b"}},
                },
            },
        ),
    ]
