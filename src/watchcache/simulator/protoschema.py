"""Field-number schemas of the built-in kinds kubectl's generators create.

kubectl 1.3x sends the bodies of ``kubectl create deployment|service|job|
cronjob|role|...`` as protobuf; protobuf.py turns them into the JSON the
same objects would have been sent as. These tables are what it needs: for
each message, its fields' numbers, JSON names and types. The numbers are
the k8s.io/api ``generated.proto`` ones (stable across releases: protobuf
never reuses a number); only the fields a generator can set, and their
neighbours, are listed.

Grammar (one message per entry, one field per word):
    name=N          a string
    name=N:T        type T, one of:
        i           an integer (varint; int32 negatives are sign-extended)
        b           a bool
        bytes       base64 in JSON, like Go's []byte
        {}          map<string, string>
        {bytes}     map<string, bytes>: base64 values
        {Quantity}  map<string, Quantity>: the quantity's string
        [s] [i]     repeated strings, integers
        [M]         repeated message M
        M           message M
        -M          message M inlined into its parent (``json:",inline"``)
        _           read and dropped: status, which a create ignores
    a trailing ?    keep the value even when zero: a pointer (``*int32``),
                    or a field without ``omitempty``. Other zero scalars
                    are dropped, as omitempty drops them in JSON (gogo
                    writes every non-pointer field, zero or not).

Special messages, rendered as JSON renders them: Quantity (a string),
IntOrString (an int or a string), Time (RFC 3339, or absent when zero).

Invariant: every message a field names is in ``MESSAGES`` or special; a
test parses every entry.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["KINDS", "MESSAGES", "SPECIAL", "Field", "schema"]

SPECIAL = frozenset({"Quantity", "IntOrString", "Time"})

_SOURCE: dict[str, str] = {
    # meta/v1
    "ObjectMeta": (
        "name=1 generateName=2 namespace=3 uid=5 resourceVersion=6 generation=7:i"
        " creationTimestamp=8:Time deletionTimestamp=9:Time"
        " deletionGracePeriodSeconds=10:i? labels=11:{} annotations=12:{}"
        " ownerReferences=13:[OwnerReference] finalizers=14:[s]"
    ),
    "OwnerReference": ("kind=1 name=3 uid=4 apiVersion=5 controller=6:b? blockOwnerDeletion=7:b?"),
    "LabelSelector": "matchLabels=1:{} matchExpressions=2:[LabelSelectorRequirement]",
    "LabelSelectorRequirement": "key=1 operator=2 values=3:[s]",
    # core/v1
    "Namespace": "metadata=1:ObjectMeta spec=2:_ status=3:_",
    "ConfigMap": "metadata=1:ObjectMeta data=2:{} binaryData=3:{bytes} immutable=4:b?",
    "Secret": ("metadata=1:ObjectMeta data=2:{bytes} stringData=4:{} type=3 immutable=5:b?"),
    "PodTemplateSpec": "metadata=1:ObjectMeta spec=2:PodSpec",
    "PodSpec": (
        "containers=2:[Container] initContainers=20:[Container] restartPolicy=3"
        " terminationGracePeriodSeconds=4:i? activeDeadlineSeconds=5:i? dnsPolicy=6"
        " nodeSelector=7:{} serviceAccountName=8 serviceAccount=9"
        " automountServiceAccountToken=21:b? nodeName=10 hostNetwork=11:b hostPID=12:b"
        " hostIPC=13:b shareProcessNamespace=27:b? imagePullSecrets=15:[LocalObjectReference]"
        " hostname=16 subdomain=17 schedulerName=19 priorityClassName=24 priority=25:i?"
        " runtimeClassName=29 enableServiceLinks=30:b? preemptionPolicy=31"
        " overhead=32:{Quantity} setHostnameAsFQDN=35:b?"
    ),
    "Container": (
        "name=1? image=2 command=3:[s] args=4:[s] workingDir=5 ports=6:[ContainerPort]"
        " env=7:[EnvVar] resources=8:ResourceRequirements terminationMessagePath=13"
        " terminationMessagePolicy=20 imagePullPolicy=14 stdin=16:b stdinOnce=17:b tty=18:b"
    ),
    "ContainerPort": "name=1 hostPort=2:i containerPort=3:i? protocol=4 hostIP=5",
    "EnvVar": "name=1? value=2",
    "ResourceRequirements": "limits=1:{Quantity} requests=2:{Quantity}",
    "LocalObjectReference": "name=1",
    "ObjectReference": (
        "kind=1 namespace=2 name=3 uid=4 apiVersion=5 resourceVersion=6 fieldPath=7"
    ),
    "Service": "metadata=1:ObjectMeta spec=2:ServiceSpec status=3:_",
    "ServiceSpec": (
        "ports=1:[ServicePort] selector=2:{} clusterIP=3 clusterIPs=18:[s] type=4"
        " externalIPs=5:[s] sessionAffinity=7 loadBalancerIP=8"
        " loadBalancerSourceRanges=9:[s] externalName=10 externalTrafficPolicy=11"
        " healthCheckNodePort=12:i publishNotReadyAddresses=13:b ipFamilies=19:[s]"
        " ipFamilyPolicy=17 allocateLoadBalancerNodePorts=20:b? loadBalancerClass=21"
        " internalTrafficPolicy=22 trafficDistribution=23"
    ),
    "ServicePort": (
        "name=1 protocol=2 appProtocol=6 port=3:i? targetPort=4:IntOrString nodePort=5:i"
    ),
    "ServiceAccount": (
        "metadata=1:ObjectMeta secrets=2:[ObjectReference]"
        " imagePullSecrets=3:[LocalObjectReference] automountServiceAccountToken=4:b?"
    ),
    "ResourceQuota": "metadata=1:ObjectMeta spec=2:ResourceQuotaSpec status=3:_",
    "ResourceQuotaSpec": "hard=1:{Quantity} scopes=2:[s]",
    # apps/v1
    "Deployment": "metadata=1:ObjectMeta spec=2:DeploymentSpec status=3:_",
    "DeploymentSpec": (
        "replicas=1:i? selector=2:LabelSelector template=3:PodTemplateSpec"
        " strategy=4:DeploymentStrategy minReadySeconds=5:i revisionHistoryLimit=6:i?"
        " paused=7:b progressDeadlineSeconds=9:i?"
    ),
    "DeploymentStrategy": "type=1 rollingUpdate=2:RollingUpdateDeployment",
    "RollingUpdateDeployment": "maxUnavailable=1:IntOrString maxSurge=2:IntOrString",
    # batch/v1
    "Job": "metadata=1:ObjectMeta spec=2:JobSpec status=3:_",
    "JobSpec": (
        "parallelism=1:i? completions=2:i? activeDeadlineSeconds=3:i? backoffLimit=7:i?"
        " selector=4:LabelSelector manualSelector=5:b? template=6:PodTemplateSpec"
        " ttlSecondsAfterFinished=8:i? completionMode=9 suspend=10:b?"
    ),
    "CronJob": "metadata=1:ObjectMeta spec=2:CronJobSpec status=3:_",
    "CronJobSpec": (
        "schedule=1? startingDeadlineSeconds=2:i? concurrencyPolicy=3 suspend=4:b?"
        " jobTemplate=5:JobTemplateSpec successfulJobsHistoryLimit=6:i?"
        " failedJobsHistoryLimit=7:i? timeZone=8"
    ),
    "JobTemplateSpec": "metadata=1:ObjectMeta spec=2:JobSpec",
    # rbac.authorization.k8s.io/v1
    "Role": "metadata=1:ObjectMeta rules=2:[PolicyRule]",
    "ClusterRole": ("metadata=1:ObjectMeta rules=2:[PolicyRule] aggregationRule=3:AggregationRule"),
    "PolicyRule": (
        "verbs=1:[s] apiGroups=2:[s] resources=3:[s] resourceNames=4:[s] nonResourceURLs=5:[s]"
    ),
    "AggregationRule": "clusterRoleSelectors=1:[LabelSelector]",
    "RoleBinding": "metadata=1:ObjectMeta subjects=2:[Subject] roleRef=3:RoleRef",
    "ClusterRoleBinding": "metadata=1:ObjectMeta subjects=2:[Subject] roleRef=3:RoleRef",
    "Subject": "kind=1? apiGroup=2 name=3? namespace=4",
    "RoleRef": "apiGroup=1? kind=2? name=3?",
    # scheduling.k8s.io/v1
    "PriorityClass": (
        "metadata=1:ObjectMeta value=2:i? globalDefault=3:b description=4 preemptionPolicy=5"
    ),
    # policy/v1
    "PodDisruptionBudget": ("metadata=1:ObjectMeta spec=2:PodDisruptionBudgetSpec status=3:_"),
    "PodDisruptionBudgetSpec": (
        "minAvailable=1:IntOrString selector=2:LabelSelector maxUnavailable=3:IntOrString"
        " unhealthyPodEvictionPolicy=4"
    ),
    # networking.k8s.io/v1
    "Ingress": "metadata=1:ObjectMeta spec=2:IngressSpec status=3:_",
    "IngressSpec": (
        "ingressClassName=4 defaultBackend=1:IngressBackend tls=2:[IngressTLS]"
        " rules=3:[IngressRule]"
    ),
    "IngressRule": "host=1 ingressRuleValue=2:-IngressRuleValue",
    "IngressRuleValue": "http=1:HTTPIngressRuleValue",
    "HTTPIngressRuleValue": "paths=1:[HTTPIngressPath]",
    "HTTPIngressPath": "path=1 pathType=3 backend=2:IngressBackend",
    "IngressBackend": "service=4:IngressServiceBackend",
    "IngressServiceBackend": "name=1? port=2:ServiceBackendPort",
    "ServiceBackendPort": "name=1 number=2:i",
    "IngressTLS": "hosts=1:[s] secretName=2",
    # authorization/v1: what kubectl auth can-i sends
    "SelfSubjectAccessReview": "metadata=1:ObjectMeta spec=2:SelfSubjectAccessReviewSpec status=3:_",
    "SelfSubjectAccessReviewSpec": (
        "resourceAttributes=1:ResourceAttributes nonResourceAttributes=2:NonResourceAttributes"
    ),
    "ResourceAttributes": (
        "namespace=1 verb=2 group=3 version=4 resource=5 subresource=6 name=7"
        " fieldSelector=8:FieldSelectorAttributes labelSelector=9:LabelSelectorAttributes"
    ),
    "FieldSelectorAttributes": "rawSelector=1 requirements=2:[FieldSelectorRequirement]",
    "FieldSelectorRequirement": "key=1 operator=2 values=3:[s]",
    "LabelSelectorAttributes": "rawSelector=1 requirements=2:[LabelSelectorRequirement]",
    "NonResourceAttributes": "path=1 verb=2",
    "SelfSubjectRulesReview": "metadata=1:ObjectMeta spec=2:SelfSubjectRulesReviewSpec status=3:_",
    "SelfSubjectRulesReviewSpec": "namespace=1",
}

# The kinds a protobuf body may carry, by kind name (the envelope's kind).
KINDS = frozenset(
    {
        "Namespace",
        "ConfigMap",
        "Secret",
        "Deployment",
        "Service",
        "ServiceAccount",
        "ResourceQuota",
        "Job",
        "CronJob",
        "Role",
        "ClusterRole",
        "RoleBinding",
        "ClusterRoleBinding",
        "PriorityClass",
        "PodDisruptionBudget",
        "Ingress",
        "SelfSubjectAccessReview",
        "SelfSubjectRulesReview",
    }
)


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    type: str  # "s", "i", "b", "bytes", "{}", "{bytes}", "{Quantity}", "_", or a message
    repeated: bool = False
    inline: bool = False
    keep_zero: bool = False


def _parse_field(word: str) -> tuple[int, Field]:
    keep_zero = word.endswith("?")
    word = word.rstrip("?")
    left, _, kind = word.partition(":")
    name, _, number = left.partition("=")
    kind = kind or "s"
    repeated = kind.startswith("[")
    inline = kind.startswith("-")
    kind = kind.strip("[]-")
    return int(number), Field(name, kind, repeated, inline, keep_zero)


def schema(source: dict[str, str]) -> dict[str, dict[int, Field]]:
    return {
        message: dict(_parse_field(word) for word in words.split())
        for message, words in source.items()
    }


MESSAGES = schema(_SOURCE)
