"""Kubernetes protobuf schemas, v0.20.2: written by scripts/gen-protoschema.py.

Do not edit: rerun the script. Grammar: see the script's docstring.
"""

RELEASE = "v0.20.2"

# package key -> (apiVersion of its kinds, or '' when none; its messages)
PACKAGES: dict[str, tuple[str, str]] = {
    "core/v1": (
        "v1",
        """
AWSElasticBlockStoreVolumeSource volumeID=1:s fsType=2:s partition=3:i32 readOnly=4:b
Affinity nodeAffinity=1:NodeAffinity* podAffinity=2:PodAffinity* podAntiAffinity=3:PodAntiAffinity*
AttachedVolume name=1:s devicePath=2:s
AvoidPods preferAvoidPods=1:[PreferAvoidPodsEntry
AzureDiskVolumeSource diskName=1:s diskURI=2:s cachingMode=3:s* fsType=4:s* readOnly=5:b* kind=6:s*
AzureFilePersistentVolumeSource secretName=1:s shareName=2:s readOnly=3:b secretNamespace=4:s*
AzureFileVolumeSource secretName=1:s shareName=2:s readOnly=3:b
Binding metadata=1:meta/v1.ObjectMeta target=2:ObjectReference
CSIPersistentVolumeSource driver=1:s volumeHandle=2:s readOnly=3:b fsType=4:s volumeAttributes=5:{s controllerPublishSecretRef=6:SecretReference* nodeStageSecretRef=7:SecretReference* nodePublishSecretRef=8:SecretReference* controllerExpandSecretRef=9:SecretReference*
CSIVolumeSource driver=1:s readOnly=2:b* fsType=3:s* volumeAttributes=4:{s nodePublishSecretRef=5:LocalObjectReference*
Capabilities add=1:[s drop=2:[s
CephFSPersistentVolumeSource monitors=1:[s path=2:s user=3:s secretFile=4:s secretRef=5:SecretReference* readOnly=6:b
CephFSVolumeSource monitors=1:[s path=2:s user=3:s secretFile=4:s secretRef=5:LocalObjectReference* readOnly=6:b
CinderPersistentVolumeSource volumeID=1:s fsType=2:s readOnly=3:b secretRef=4:SecretReference*
CinderVolumeSource volumeID=1:s fsType=2:s readOnly=3:b secretRef=4:LocalObjectReference*
ClientIPConfig timeoutSeconds=1:i32*
ComponentCondition type=1:s status=2:s message=3:s error=4:s
ComponentStatus metadata=1:meta/v1.ObjectMeta conditions=2:[ComponentCondition
ComponentStatusList metadata=1:meta/v1.ListMeta items=2:[ComponentStatus
ConfigMap metadata=1:meta/v1.ObjectMeta data=2:{s binaryData=3:{y immutable=4:b*
ConfigMapEnvSource localObjectReference=1:LocalObjectReference^ optional=2:b*
ConfigMapKeySelector localObjectReference=1:LocalObjectReference^ key=2:s optional=3:b*
ConfigMapList metadata=1:meta/v1.ListMeta items=2:[ConfigMap
ConfigMapNodeConfigSource namespace=1:s name=2:s uid=3:s resourceVersion=4:s kubeletConfigKey=5:s
ConfigMapProjection localObjectReference=1:LocalObjectReference^ items=2:[KeyToPath optional=4:b*
ConfigMapVolumeSource localObjectReference=1:LocalObjectReference^ items=2:[KeyToPath defaultMode=3:i32* optional=4:b*
Container name=1:s image=2:s command=3:[s args=4:[s workingDir=5:s ports=6:[ContainerPort env=7:[EnvVar resources=8:ResourceRequirements volumeMounts=9:[VolumeMount livenessProbe=10:Probe* readinessProbe=11:Probe* lifecycle=12:Lifecycle* terminationMessagePath=13:s imagePullPolicy=14:s securityContext=15:SecurityContext* stdin=16:b stdinOnce=17:b tty=18:b envFrom=19:[EnvFromSource terminationMessagePolicy=20:s volumeDevices=21:[VolumeDevice startupProbe=22:Probe*
ContainerImage names=1:[s sizeBytes=2:i64
ContainerPort name=1:s hostPort=2:i32 containerPort=3:i32 protocol=4:s hostIP=5:s
ContainerState waiting=1:ContainerStateWaiting* running=2:ContainerStateRunning* terminated=3:ContainerStateTerminated*
ContainerStateRunning startedAt=1:meta/v1.Time
ContainerStateTerminated exitCode=1:i32 signal=2:i32 reason=3:s message=4:s startedAt=5:meta/v1.Time finishedAt=6:meta/v1.Time containerID=7:s
ContainerStateWaiting reason=1:s message=2:s
ContainerStatus name=1:s state=2:ContainerState lastState=3:ContainerState ready=4:b restartCount=5:i32 image=6:s imageID=7:s containerID=8:s started=9:b*
DaemonEndpoint Port=1:i32
DownwardAPIProjection items=1:[DownwardAPIVolumeFile
DownwardAPIVolumeFile path=1:s fieldRef=2:ObjectFieldSelector* resourceFieldRef=3:ResourceFieldSelector* mode=4:i32*
DownwardAPIVolumeSource items=1:[DownwardAPIVolumeFile defaultMode=2:i32*
EmptyDirVolumeSource medium=1:s sizeLimit=2:resource.Quantity*
EndpointAddress ip=1:s targetRef=2:ObjectReference* hostname=3:s nodeName=4:s*
EndpointPort name=1:s port=2:i32 protocol=3:s appProtocol=4:s*
EndpointSubset addresses=1:[EndpointAddress notReadyAddresses=2:[EndpointAddress ports=3:[EndpointPort
Endpoints metadata=1:meta/v1.ObjectMeta subsets=2:[EndpointSubset
EndpointsList metadata=1:meta/v1.ListMeta items=2:[Endpoints
EnvFromSource prefix=1:s configMapRef=2:ConfigMapEnvSource* secretRef=3:SecretEnvSource*
EnvVar name=1:s value=2:s valueFrom=3:EnvVarSource*
EnvVarSource fieldRef=1:ObjectFieldSelector* resourceFieldRef=2:ResourceFieldSelector* configMapKeyRef=3:ConfigMapKeySelector* secretKeyRef=4:SecretKeySelector*
EphemeralContainer ephemeralContainerCommon=1:EphemeralContainerCommon^ targetContainerName=2:s
EphemeralContainerCommon name=1:s image=2:s command=3:[s args=4:[s workingDir=5:s ports=6:[ContainerPort env=7:[EnvVar resources=8:ResourceRequirements volumeMounts=9:[VolumeMount livenessProbe=10:Probe* readinessProbe=11:Probe* lifecycle=12:Lifecycle* terminationMessagePath=13:s imagePullPolicy=14:s securityContext=15:SecurityContext* stdin=16:b stdinOnce=17:b tty=18:b envFrom=19:[EnvFromSource terminationMessagePolicy=20:s volumeDevices=21:[VolumeDevice startupProbe=22:Probe*
EphemeralContainers metadata=1:meta/v1.ObjectMeta ephemeralContainers=2:[EphemeralContainer
EphemeralVolumeSource volumeClaimTemplate=1:PersistentVolumeClaimTemplate* readOnly=2:b
Event metadata=1:meta/v1.ObjectMeta involvedObject=2:ObjectReference reason=3:s message=4:s source=5:EventSource firstTimestamp=6:meta/v1.Time lastTimestamp=7:meta/v1.Time count=8:i32 type=9:s eventTime=10:meta/v1.MicroTime series=11:EventSeries* action=12:s related=13:ObjectReference* reportingComponent=14:s reportingInstance=15:s
EventList metadata=1:meta/v1.ListMeta items=2:[Event
EventSeries count=1:i32 lastObservedTime=2:meta/v1.MicroTime
EventSource component=1:s host=2:s
ExecAction command=1:[s
FCVolumeSource targetWWNs=1:[s lun=2:i32* fsType=3:s readOnly=4:b wwids=5:[s
FlexPersistentVolumeSource driver=1:s fsType=2:s secretRef=3:SecretReference* readOnly=4:b options=5:{s
FlexVolumeSource driver=1:s fsType=2:s secretRef=3:LocalObjectReference* readOnly=4:b options=5:{s
FlockerVolumeSource datasetName=1:s datasetUUID=2:s
GCEPersistentDiskVolumeSource pdName=1:s fsType=2:s partition=3:i32 readOnly=4:b
GitRepoVolumeSource repository=1:s revision=2:s directory=3:s
GlusterfsPersistentVolumeSource endpoints=1:s path=2:s readOnly=3:b endpointsNamespace=4:s*
GlusterfsVolumeSource endpoints=1:s path=2:s readOnly=3:b
HTTPGetAction path=1:s port=2:intstr.IntOrString host=3:s scheme=4:s httpHeaders=5:[HTTPHeader
HTTPHeader name=1:s value=2:s
Handler exec=1:ExecAction* httpGet=2:HTTPGetAction* tcpSocket=3:TCPSocketAction*
HostAlias ip=1:s hostnames=2:[s
HostPathVolumeSource path=1:s type=2:s*
ISCSIPersistentVolumeSource targetPortal=1:s iqn=2:s lun=3:i32 iscsiInterface=4:s fsType=5:s readOnly=6:b portals=7:[s chapAuthDiscovery=8:b secretRef=10:SecretReference* chapAuthSession=11:b initiatorName=12:s*
ISCSIVolumeSource targetPortal=1:s iqn=2:s lun=3:i32 iscsiInterface=4:s fsType=5:s readOnly=6:b portals=7:[s chapAuthDiscovery=8:b secretRef=10:LocalObjectReference* chapAuthSession=11:b initiatorName=12:s*
KeyToPath key=1:s path=2:s mode=3:i32*
Lifecycle postStart=1:Handler* preStop=2:Handler*
LimitRange metadata=1:meta/v1.ObjectMeta spec=2:LimitRangeSpec
LimitRangeItem type=1:s max=2:{resource.Quantity min=3:{resource.Quantity default=4:{resource.Quantity defaultRequest=5:{resource.Quantity maxLimitRequestRatio=6:{resource.Quantity
LimitRangeList metadata=1:meta/v1.ListMeta items=2:[LimitRange
LimitRangeSpec limits=1:[LimitRangeItem
List metadata=1:meta/v1.ListMeta items=2:[runtime.RawExtension
LoadBalancerIngress ip=1:s hostname=2:s ports=4:[PortStatus
LoadBalancerStatus ingress=1:[LoadBalancerIngress
LocalObjectReference name=1:s
LocalVolumeSource path=1:s fsType=2:s*
NFSVolumeSource server=1:s path=2:s readOnly=3:b
Namespace metadata=1:meta/v1.ObjectMeta spec=2:NamespaceSpec status=3:NamespaceStatus
NamespaceCondition type=1:s status=2:s lastTransitionTime=4:meta/v1.Time reason=5:s message=6:s
NamespaceList metadata=1:meta/v1.ListMeta items=2:[Namespace
NamespaceSpec finalizers=1:[s
NamespaceStatus phase=1:s conditions=2:[NamespaceCondition
Node metadata=1:meta/v1.ObjectMeta spec=2:NodeSpec status=3:NodeStatus
NodeAddress type=1:s address=2:s
NodeAffinity requiredDuringSchedulingIgnoredDuringExecution=1:NodeSelector* preferredDuringSchedulingIgnoredDuringExecution=2:[PreferredSchedulingTerm
NodeCondition type=1:s status=2:s lastHeartbeatTime=3:meta/v1.Time lastTransitionTime=4:meta/v1.Time reason=5:s message=6:s
NodeConfigSource configMap=2:ConfigMapNodeConfigSource*
NodeConfigStatus assigned=1:NodeConfigSource* active=2:NodeConfigSource* lastKnownGood=3:NodeConfigSource* error=4:s
NodeDaemonEndpoints kubeletEndpoint=1:DaemonEndpoint
NodeList metadata=1:meta/v1.ListMeta items=2:[Node
NodeProxyOptions path=1:s
NodeResources capacity=1:{resource.Quantity
NodeSelector nodeSelectorTerms=1:[NodeSelectorTerm
NodeSelectorRequirement key=1:s operator=2:s values=3:[s
NodeSelectorTerm matchExpressions=1:[NodeSelectorRequirement matchFields=2:[NodeSelectorRequirement
NodeSpec podCIDR=1:s externalID=2:s providerID=3:s unschedulable=4:b taints=5:[Taint configSource=6:NodeConfigSource* podCIDRs=7:[s
NodeStatus capacity=1:{resource.Quantity allocatable=2:{resource.Quantity phase=3:s conditions=4:[NodeCondition addresses=5:[NodeAddress daemonEndpoints=6:NodeDaemonEndpoints nodeInfo=7:NodeSystemInfo images=8:[ContainerImage volumesInUse=9:[s volumesAttached=10:[AttachedVolume config=11:NodeConfigStatus*
NodeSystemInfo machineID=1:s systemUUID=2:s bootID=3:s kernelVersion=4:s osImage=5:s containerRuntimeVersion=6:s kubeletVersion=7:s kubeProxyVersion=8:s operatingSystem=9:s architecture=10:s
ObjectFieldSelector apiVersion=1:s fieldPath=2:s
ObjectReference kind=1:s namespace=2:s name=3:s uid=4:s apiVersion=5:s resourceVersion=6:s fieldPath=7:s
PersistentVolume metadata=1:meta/v1.ObjectMeta spec=2:PersistentVolumeSpec status=3:PersistentVolumeStatus
PersistentVolumeClaim metadata=1:meta/v1.ObjectMeta spec=2:PersistentVolumeClaimSpec status=3:PersistentVolumeClaimStatus
PersistentVolumeClaimCondition type=1:s status=2:s lastProbeTime=3:meta/v1.Time lastTransitionTime=4:meta/v1.Time reason=5:s message=6:s
PersistentVolumeClaimList metadata=1:meta/v1.ListMeta items=2:[PersistentVolumeClaim
PersistentVolumeClaimSpec accessModes=1:[s resources=2:ResourceRequirements volumeName=3:s selector=4:meta/v1.LabelSelector* storageClassName=5:s* volumeMode=6:s* dataSource=7:TypedLocalObjectReference*
PersistentVolumeClaimStatus phase=1:s accessModes=2:[s capacity=3:{resource.Quantity conditions=4:[PersistentVolumeClaimCondition
PersistentVolumeClaimTemplate metadata=1:meta/v1.ObjectMeta spec=2:PersistentVolumeClaimSpec
PersistentVolumeClaimVolumeSource claimName=1:s readOnly=2:b
PersistentVolumeList metadata=1:meta/v1.ListMeta items=2:[PersistentVolume
PersistentVolumeSource gcePersistentDisk=1:GCEPersistentDiskVolumeSource* awsElasticBlockStore=2:AWSElasticBlockStoreVolumeSource* hostPath=3:HostPathVolumeSource* glusterfs=4:GlusterfsPersistentVolumeSource* nfs=5:NFSVolumeSource* rbd=6:RBDPersistentVolumeSource* iscsi=7:ISCSIPersistentVolumeSource* cinder=8:CinderPersistentVolumeSource* cephfs=9:CephFSPersistentVolumeSource* fc=10:FCVolumeSource* flocker=11:FlockerVolumeSource* flexVolume=12:FlexPersistentVolumeSource* azureFile=13:AzureFilePersistentVolumeSource* vsphereVolume=14:VsphereVirtualDiskVolumeSource* quobyte=15:QuobyteVolumeSource* azureDisk=16:AzureDiskVolumeSource* photonPersistentDisk=17:PhotonPersistentDiskVolumeSource* portworxVolume=18:PortworxVolumeSource* scaleIO=19:ScaleIOPersistentVolumeSource* local=20:LocalVolumeSource* storageos=21:StorageOSPersistentVolumeSource* csi=22:CSIPersistentVolumeSource*
PersistentVolumeSpec capacity=1:{resource.Quantity persistentVolumeSource=2:PersistentVolumeSource^ accessModes=3:[s claimRef=4:ObjectReference* persistentVolumeReclaimPolicy=5:s storageClassName=6:s mountOptions=7:[s volumeMode=8:s* nodeAffinity=9:VolumeNodeAffinity*
PersistentVolumeStatus phase=1:s message=2:s reason=3:s
PhotonPersistentDiskVolumeSource pdID=1:s fsType=2:s
Pod metadata=1:meta/v1.ObjectMeta spec=2:PodSpec status=3:PodStatus
PodAffinity requiredDuringSchedulingIgnoredDuringExecution=1:[PodAffinityTerm preferredDuringSchedulingIgnoredDuringExecution=2:[WeightedPodAffinityTerm
PodAffinityTerm labelSelector=1:meta/v1.LabelSelector* namespaces=2:[s topologyKey=3:s
PodAntiAffinity requiredDuringSchedulingIgnoredDuringExecution=1:[PodAffinityTerm preferredDuringSchedulingIgnoredDuringExecution=2:[WeightedPodAffinityTerm
PodAttachOptions stdin=1:b stdout=2:b stderr=3:b tty=4:b container=5:s
PodCondition type=1:s status=2:s lastProbeTime=3:meta/v1.Time lastTransitionTime=4:meta/v1.Time reason=5:s message=6:s
PodDNSConfig nameservers=1:[s searches=2:[s options=3:[PodDNSConfigOption
PodDNSConfigOption name=1:s value=2:s*
PodExecOptions stdin=1:b stdout=2:b stderr=3:b tty=4:b container=5:s command=6:[s
PodIP ip=1:s
PodList metadata=1:meta/v1.ListMeta items=2:[Pod
PodLogOptions container=1:s follow=2:b previous=3:b sinceSeconds=4:i64* sinceTime=5:meta/v1.Time* timestamps=6:b tailLines=7:i64* limitBytes=8:i64* insecureSkipTLSVerifyBackend=9:b
PodPortForwardOptions ports=1:[i32
PodProxyOptions path=1:s
PodReadinessGate conditionType=1:s
PodSecurityContext seLinuxOptions=1:SELinuxOptions* runAsUser=2:i64* runAsNonRoot=3:b* supplementalGroups=4:[i64 fsGroup=5:i64* runAsGroup=6:i64* sysctls=7:[Sysctl windowsOptions=8:WindowsSecurityContextOptions* fsGroupChangePolicy=9:s* seccompProfile=10:SeccompProfile*
PodSignature podController=1:meta/v1.OwnerReference*
PodSpec volumes=1:[Volume containers=2:[Container restartPolicy=3:s terminationGracePeriodSeconds=4:i64* activeDeadlineSeconds=5:i64* dnsPolicy=6:s nodeSelector=7:{s serviceAccountName=8:s serviceAccount=9:s nodeName=10:s hostNetwork=11:b hostPID=12:b hostIPC=13:b securityContext=14:PodSecurityContext* imagePullSecrets=15:[LocalObjectReference hostname=16:s subdomain=17:s affinity=18:Affinity* schedulerName=19:s initContainers=20:[Container automountServiceAccountToken=21:b* tolerations=22:[Toleration hostAliases=23:[HostAlias priorityClassName=24:s priority=25:i32* dnsConfig=26:PodDNSConfig* shareProcessNamespace=27:b* readinessGates=28:[PodReadinessGate runtimeClassName=29:s* enableServiceLinks=30:b* preemptionPolicy=31:s* overhead=32:{resource.Quantity topologySpreadConstraints=33:[TopologySpreadConstraint ephemeralContainers=34:[EphemeralContainer setHostnameAsFQDN=35:b*
PodStatus phase=1:s conditions=2:[PodCondition message=3:s reason=4:s hostIP=5:s podIP=6:s startTime=7:meta/v1.Time* containerStatuses=8:[ContainerStatus qosClass=9:s initContainerStatuses=10:[ContainerStatus nominatedNodeName=11:s podIPs=12:[PodIP ephemeralContainerStatuses=13:[ContainerStatus
PodStatusResult metadata=1:meta/v1.ObjectMeta status=2:PodStatus
PodTemplate metadata=1:meta/v1.ObjectMeta template=2:PodTemplateSpec
PodTemplateList metadata=1:meta/v1.ListMeta items=2:[PodTemplate
PodTemplateSpec metadata=1:meta/v1.ObjectMeta spec=2:PodSpec
PortStatus port=1:i32 protocol=2:s error=3:s*
PortworxVolumeSource volumeID=1:s fsType=2:s readOnly=3:b
Preconditions uid=1:s*
PreferAvoidPodsEntry podSignature=1:PodSignature evictionTime=2:meta/v1.Time reason=3:s message=4:s
PreferredSchedulingTerm weight=1:i32 preference=2:NodeSelectorTerm
Probe handler=1:Handler^ initialDelaySeconds=2:i32 timeoutSeconds=3:i32 periodSeconds=4:i32 successThreshold=5:i32 failureThreshold=6:i32
ProjectedVolumeSource sources=1:[VolumeProjection defaultMode=2:i32*
QuobyteVolumeSource registry=1:s volume=2:s readOnly=3:b user=4:s group=5:s tenant=6:s
RBDPersistentVolumeSource monitors=1:[s image=2:s fsType=3:s pool=4:s user=5:s keyring=6:s secretRef=7:SecretReference* readOnly=8:b
RBDVolumeSource monitors=1:[s image=2:s fsType=3:s pool=4:s user=5:s keyring=6:s secretRef=7:LocalObjectReference* readOnly=8:b
RangeAllocation metadata=1:meta/v1.ObjectMeta range=2:s data=3:y*
ReplicationController metadata=1:meta/v1.ObjectMeta spec=2:ReplicationControllerSpec status=3:ReplicationControllerStatus
ReplicationControllerCondition type=1:s status=2:s lastTransitionTime=3:meta/v1.Time reason=4:s message=5:s
ReplicationControllerList metadata=1:meta/v1.ListMeta items=2:[ReplicationController
ReplicationControllerSpec replicas=1:i32* selector=2:{s template=3:PodTemplateSpec* minReadySeconds=4:i32
ReplicationControllerStatus replicas=1:i32 fullyLabeledReplicas=2:i32 observedGeneration=3:i64 readyReplicas=4:i32 availableReplicas=5:i32 conditions=6:[ReplicationControllerCondition
ResourceFieldSelector containerName=1:s resource=2:s divisor=3:resource.Quantity
ResourceQuota metadata=1:meta/v1.ObjectMeta spec=2:ResourceQuotaSpec status=3:ResourceQuotaStatus
ResourceQuotaList metadata=1:meta/v1.ListMeta items=2:[ResourceQuota
ResourceQuotaSpec hard=1:{resource.Quantity scopes=2:[s scopeSelector=3:ScopeSelector*
ResourceQuotaStatus hard=1:{resource.Quantity used=2:{resource.Quantity
ResourceRequirements limits=1:{resource.Quantity requests=2:{resource.Quantity
SELinuxOptions user=1:s role=2:s type=3:s level=4:s
ScaleIOPersistentVolumeSource gateway=1:s system=2:s secretRef=3:SecretReference* sslEnabled=4:b protectionDomain=5:s storagePool=6:s storageMode=7:s volumeName=8:s fsType=9:s readOnly=10:b
ScaleIOVolumeSource gateway=1:s system=2:s secretRef=3:LocalObjectReference* sslEnabled=4:b protectionDomain=5:s storagePool=6:s storageMode=7:s volumeName=8:s fsType=9:s readOnly=10:b
ScopeSelector matchExpressions=1:[ScopedResourceSelectorRequirement
ScopedResourceSelectorRequirement scopeName=1:s operator=2:s values=3:[s
SeccompProfile type=1:s localhostProfile=2:s*
Secret metadata=1:meta/v1.ObjectMeta data=2:{y type=3:s stringData=4:{s immutable=5:b*
SecretEnvSource localObjectReference=1:LocalObjectReference^ optional=2:b*
SecretKeySelector localObjectReference=1:LocalObjectReference^ key=2:s optional=3:b*
SecretList metadata=1:meta/v1.ListMeta items=2:[Secret
SecretProjection localObjectReference=1:LocalObjectReference^ items=2:[KeyToPath optional=4:b*
SecretReference name=1:s namespace=2:s
SecretVolumeSource secretName=1:s items=2:[KeyToPath defaultMode=3:i32* optional=4:b*
SecurityContext capabilities=1:Capabilities* privileged=2:b* seLinuxOptions=3:SELinuxOptions* runAsUser=4:i64* runAsNonRoot=5:b* readOnlyRootFilesystem=6:b* allowPrivilegeEscalation=7:b* runAsGroup=8:i64* procMount=9:s* windowsOptions=10:WindowsSecurityContextOptions* seccompProfile=11:SeccompProfile*
SerializedReference reference=1:ObjectReference
Service metadata=1:meta/v1.ObjectMeta spec=2:ServiceSpec status=3:ServiceStatus
ServiceAccount metadata=1:meta/v1.ObjectMeta secrets=2:[ObjectReference imagePullSecrets=3:[LocalObjectReference automountServiceAccountToken=4:b*
ServiceAccountList metadata=1:meta/v1.ListMeta items=2:[ServiceAccount
ServiceAccountTokenProjection audience=1:s expirationSeconds=2:i64* path=3:s
ServiceList metadata=1:meta/v1.ListMeta items=2:[Service
ServicePort name=1:s protocol=2:s port=3:i32 targetPort=4:intstr.IntOrString nodePort=5:i32 appProtocol=6:s*
ServiceProxyOptions path=1:s
ServiceSpec ports=1:[ServicePort selector=2:{s clusterIP=3:s type=4:s externalIPs=5:[s sessionAffinity=7:s loadBalancerIP=8:s loadBalancerSourceRanges=9:[s externalName=10:s externalTrafficPolicy=11:s healthCheckNodePort=12:i32 publishNotReadyAddresses=13:b sessionAffinityConfig=14:SessionAffinityConfig* topologyKeys=16:[s ipFamilyPolicy=17:s* clusterIPs=18:[s ipFamilies=19:[s allocateLoadBalancerNodePorts=20:b*
ServiceStatus loadBalancer=1:LoadBalancerStatus conditions=2:[meta/v1.Condition
SessionAffinityConfig clientIP=1:ClientIPConfig*
StorageOSPersistentVolumeSource volumeName=1:s volumeNamespace=2:s fsType=3:s readOnly=4:b secretRef=5:ObjectReference*
StorageOSVolumeSource volumeName=1:s volumeNamespace=2:s fsType=3:s readOnly=4:b secretRef=5:LocalObjectReference*
Sysctl name=1:s value=2:s
TCPSocketAction port=1:intstr.IntOrString host=2:s
Taint key=1:s value=2:s effect=3:s timeAdded=4:meta/v1.Time*
Toleration key=1:s operator=2:s value=3:s effect=4:s tolerationSeconds=5:i64*
TopologySelectorLabelRequirement key=1:s values=2:[s
TopologySelectorTerm matchLabelExpressions=1:[TopologySelectorLabelRequirement
TopologySpreadConstraint maxSkew=1:i32 topologyKey=2:s whenUnsatisfiable=3:s labelSelector=4:meta/v1.LabelSelector*
TypedLocalObjectReference apiGroup=1:s* kind=2:s name=3:s
Volume name=1:s volumeSource=2:VolumeSource^
VolumeDevice name=1:s devicePath=2:s
VolumeMount name=1:s readOnly=2:b mountPath=3:s subPath=4:s mountPropagation=5:s* subPathExpr=6:s
VolumeNodeAffinity required=1:NodeSelector*
VolumeProjection secret=1:SecretProjection* downwardAPI=2:DownwardAPIProjection* configMap=3:ConfigMapProjection* serviceAccountToken=4:ServiceAccountTokenProjection*
VolumeSource hostPath=1:HostPathVolumeSource* emptyDir=2:EmptyDirVolumeSource* gcePersistentDisk=3:GCEPersistentDiskVolumeSource* awsElasticBlockStore=4:AWSElasticBlockStoreVolumeSource* gitRepo=5:GitRepoVolumeSource* secret=6:SecretVolumeSource* nfs=7:NFSVolumeSource* iscsi=8:ISCSIVolumeSource* glusterfs=9:GlusterfsVolumeSource* persistentVolumeClaim=10:PersistentVolumeClaimVolumeSource* rbd=11:RBDVolumeSource* flexVolume=12:FlexVolumeSource* cinder=13:CinderVolumeSource* cephfs=14:CephFSVolumeSource* flocker=15:FlockerVolumeSource* downwardAPI=16:DownwardAPIVolumeSource* fc=17:FCVolumeSource* azureFile=18:AzureFileVolumeSource* configMap=19:ConfigMapVolumeSource* vsphereVolume=20:VsphereVirtualDiskVolumeSource* quobyte=21:QuobyteVolumeSource* azureDisk=22:AzureDiskVolumeSource* photonPersistentDisk=23:PhotonPersistentDiskVolumeSource* portworxVolume=24:PortworxVolumeSource* scaleIO=25:ScaleIOVolumeSource* projected=26:ProjectedVolumeSource* storageos=27:StorageOSVolumeSource* csi=28:CSIVolumeSource* ephemeral=29:EphemeralVolumeSource*
VsphereVirtualDiskVolumeSource volumePath=1:s fsType=2:s storagePolicyName=3:s storagePolicyID=4:s
WeightedPodAffinityTerm weight=1:i32 podAffinityTerm=2:PodAffinityTerm
WindowsSecurityContextOptions gmsaCredentialSpecName=1:s* gmsaCredentialSpec=2:s* runAsUserName=3:s*
""",
    ),
    "apps/v1": (
        "apps/v1",
        """
ControllerRevision metadata=1:meta/v1.ObjectMeta data=2:runtime.RawExtension revision=3:i64
ControllerRevisionList metadata=1:meta/v1.ListMeta items=2:[ControllerRevision
DaemonSet metadata=1:meta/v1.ObjectMeta spec=2:DaemonSetSpec status=3:DaemonSetStatus
DaemonSetCondition type=1:s status=2:s lastTransitionTime=3:meta/v1.Time reason=4:s message=5:s
DaemonSetList metadata=1:meta/v1.ListMeta items=2:[DaemonSet
DaemonSetSpec selector=1:meta/v1.LabelSelector* template=2:core/v1.PodTemplateSpec updateStrategy=3:DaemonSetUpdateStrategy minReadySeconds=4:i32 revisionHistoryLimit=6:i32*
DaemonSetStatus currentNumberScheduled=1:i32 numberMisscheduled=2:i32 desiredNumberScheduled=3:i32 numberReady=4:i32 observedGeneration=5:i64 updatedNumberScheduled=6:i32 numberAvailable=7:i32 numberUnavailable=8:i32 collisionCount=9:i32* conditions=10:[DaemonSetCondition
DaemonSetUpdateStrategy type=1:s rollingUpdate=2:RollingUpdateDaemonSet*
Deployment metadata=1:meta/v1.ObjectMeta spec=2:DeploymentSpec status=3:DeploymentStatus
DeploymentCondition type=1:s status=2:s reason=4:s message=5:s lastUpdateTime=6:meta/v1.Time lastTransitionTime=7:meta/v1.Time
DeploymentList metadata=1:meta/v1.ListMeta items=2:[Deployment
DeploymentSpec replicas=1:i32* selector=2:meta/v1.LabelSelector* template=3:core/v1.PodTemplateSpec strategy=4:DeploymentStrategy minReadySeconds=5:i32 revisionHistoryLimit=6:i32* paused=7:b progressDeadlineSeconds=9:i32*
DeploymentStatus observedGeneration=1:i64 replicas=2:i32 updatedReplicas=3:i32 availableReplicas=4:i32 unavailableReplicas=5:i32 conditions=6:[DeploymentCondition readyReplicas=7:i32 collisionCount=8:i32*
DeploymentStrategy type=1:s rollingUpdate=2:RollingUpdateDeployment*
ReplicaSet metadata=1:meta/v1.ObjectMeta spec=2:ReplicaSetSpec status=3:ReplicaSetStatus
ReplicaSetCondition type=1:s status=2:s lastTransitionTime=3:meta/v1.Time reason=4:s message=5:s
ReplicaSetList metadata=1:meta/v1.ListMeta items=2:[ReplicaSet
ReplicaSetSpec replicas=1:i32* selector=2:meta/v1.LabelSelector* template=3:core/v1.PodTemplateSpec minReadySeconds=4:i32
ReplicaSetStatus replicas=1:i32 fullyLabeledReplicas=2:i32 observedGeneration=3:i64 readyReplicas=4:i32 availableReplicas=5:i32 conditions=6:[ReplicaSetCondition
RollingUpdateDaemonSet maxUnavailable=1:intstr.IntOrString*
RollingUpdateDeployment maxUnavailable=1:intstr.IntOrString* maxSurge=2:intstr.IntOrString*
RollingUpdateStatefulSetStrategy partition=1:i32*
StatefulSet metadata=1:meta/v1.ObjectMeta spec=2:StatefulSetSpec status=3:StatefulSetStatus
StatefulSetCondition type=1:s status=2:s lastTransitionTime=3:meta/v1.Time reason=4:s message=5:s
StatefulSetList metadata=1:meta/v1.ListMeta items=2:[StatefulSet
StatefulSetSpec replicas=1:i32* selector=2:meta/v1.LabelSelector* template=3:core/v1.PodTemplateSpec volumeClaimTemplates=4:[core/v1.PersistentVolumeClaim serviceName=5:s podManagementPolicy=6:s updateStrategy=7:StatefulSetUpdateStrategy revisionHistoryLimit=8:i32*
StatefulSetStatus observedGeneration=1:i64 replicas=2:i32 readyReplicas=3:i32 currentReplicas=4:i32 updatedReplicas=5:i32 currentRevision=6:s updateRevision=7:s collisionCount=9:i32* conditions=10:[StatefulSetCondition
StatefulSetUpdateStrategy type=1:s rollingUpdate=2:RollingUpdateStatefulSetStrategy*
""",
    ),
    "batch/v1": (
        "batch/v1",
        """
Job metadata=1:meta/v1.ObjectMeta spec=2:JobSpec status=3:JobStatus
JobCondition type=1:s status=2:s lastProbeTime=3:meta/v1.Time lastTransitionTime=4:meta/v1.Time reason=5:s message=6:s
JobList metadata=1:meta/v1.ListMeta items=2:[Job
JobSpec parallelism=1:i32* completions=2:i32* activeDeadlineSeconds=3:i64* selector=4:meta/v1.LabelSelector* manualSelector=5:b* template=6:core/v1.PodTemplateSpec backoffLimit=7:i32* ttlSecondsAfterFinished=8:i32*
JobStatus conditions=1:[JobCondition startTime=2:meta/v1.Time* completionTime=3:meta/v1.Time* active=4:i32 succeeded=5:i32 failed=6:i32
""",
    ),
    "batch/v1beta1": (
        "batch/v1beta1",
        """
CronJob metadata=1:meta/v1.ObjectMeta spec=2:CronJobSpec status=3:CronJobStatus
CronJobList metadata=1:meta/v1.ListMeta items=2:[CronJob
CronJobSpec schedule=1:s startingDeadlineSeconds=2:i64* concurrencyPolicy=3:s suspend=4:b* jobTemplate=5:JobTemplateSpec successfulJobsHistoryLimit=6:i32* failedJobsHistoryLimit=7:i32*
CronJobStatus active=1:[core/v1.ObjectReference lastScheduleTime=4:meta/v1.Time*
JobTemplate metadata=1:meta/v1.ObjectMeta template=2:JobTemplateSpec
JobTemplateSpec metadata=1:meta/v1.ObjectMeta spec=2:batch/v1.JobSpec
""",
    ),
    "coordination/v1": (
        "coordination.k8s.io/v1",
        """
Lease metadata=1:meta/v1.ObjectMeta spec=2:LeaseSpec
LeaseList metadata=1:meta/v1.ListMeta items=2:[Lease
LeaseSpec holderIdentity=1:s* leaseDurationSeconds=2:i32* acquireTime=3:meta/v1.MicroTime* renewTime=4:meta/v1.MicroTime* leaseTransitions=5:i32*
""",
    ),
    "discovery/v1beta1": (
        "discovery.k8s.io/v1beta1",
        """
Endpoint addresses=1:[s conditions=2:EndpointConditions hostname=3:s* targetRef=4:core/v1.ObjectReference* topology=5:{s nodeName=6:s*
EndpointConditions ready=1:b* serving=2:b* terminating=3:b*
EndpointPort name=1:s* protocol=2:s* port=3:i32* appProtocol=4:s*
EndpointSlice metadata=1:meta/v1.ObjectMeta endpoints=2:[Endpoint ports=3:[EndpointPort addressType=4:s
EndpointSliceList metadata=1:meta/v1.ListMeta items=2:[EndpointSlice
""",
    ),
    "events/v1": (
        "events.k8s.io/v1",
        """
Event metadata=1:meta/v1.ObjectMeta eventTime=2:meta/v1.MicroTime series=3:EventSeries* reportingController=4:s reportingInstance=5:s action=6:s reason=7:s regarding=8:core/v1.ObjectReference related=9:core/v1.ObjectReference* note=10:s type=11:s deprecatedSource=12:core/v1.EventSource deprecatedFirstTimestamp=13:meta/v1.Time deprecatedLastTimestamp=14:meta/v1.Time deprecatedCount=15:i32
EventList metadata=1:meta/v1.ListMeta items=2:[Event
EventSeries count=1:i32 lastObservedTime=2:meta/v1.MicroTime
""",
    ),
    "networking/v1": (
        "networking.k8s.io/v1",
        """
HTTPIngressPath path=1:s backend=2:IngressBackend pathType=3:s*
HTTPIngressRuleValue paths=1:[HTTPIngressPath
IPBlock cidr=1:s except=2:[s
Ingress metadata=1:meta/v1.ObjectMeta spec=2:IngressSpec status=3:IngressStatus
IngressBackend resource=3:core/v1.TypedLocalObjectReference* service=4:IngressServiceBackend*
IngressClass metadata=1:meta/v1.ObjectMeta spec=2:IngressClassSpec
IngressClassList metadata=1:meta/v1.ListMeta items=2:[IngressClass
IngressClassSpec controller=1:s parameters=2:core/v1.TypedLocalObjectReference*
IngressList metadata=1:meta/v1.ListMeta items=2:[Ingress
IngressRule host=1:s ingressRuleValue=2:IngressRuleValue^
IngressRuleValue http=1:HTTPIngressRuleValue*
IngressServiceBackend name=1:s port=2:ServiceBackendPort
IngressSpec defaultBackend=1:IngressBackend* tls=2:[IngressTLS rules=3:[IngressRule ingressClassName=4:s*
IngressStatus loadBalancer=1:core/v1.LoadBalancerStatus
IngressTLS hosts=1:[s secretName=2:s
NetworkPolicy metadata=1:meta/v1.ObjectMeta spec=2:NetworkPolicySpec
NetworkPolicyEgressRule ports=1:[NetworkPolicyPort to=2:[NetworkPolicyPeer
NetworkPolicyIngressRule ports=1:[NetworkPolicyPort from=2:[NetworkPolicyPeer
NetworkPolicyList metadata=1:meta/v1.ListMeta items=2:[NetworkPolicy
NetworkPolicyPeer podSelector=1:meta/v1.LabelSelector* namespaceSelector=2:meta/v1.LabelSelector* ipBlock=3:IPBlock*
NetworkPolicyPort protocol=1:s* port=2:intstr.IntOrString*
NetworkPolicySpec podSelector=1:meta/v1.LabelSelector ingress=2:[NetworkPolicyIngressRule egress=3:[NetworkPolicyEgressRule policyTypes=4:[s
ServiceBackendPort name=1:s number=2:i32
""",
    ),
    "policy/v1beta1": (
        "policy/v1beta1",
        """
AllowedCSIDriver name=1:s
AllowedFlexVolume driver=1:s
AllowedHostPath pathPrefix=1:s readOnly=2:b
Eviction metadata=1:meta/v1.ObjectMeta deleteOptions=2:meta/v1.DeleteOptions*
FSGroupStrategyOptions rule=1:s ranges=2:[IDRange
HostPortRange min=1:i32 max=2:i32
IDRange min=1:i64 max=2:i64
PodDisruptionBudget metadata=1:meta/v1.ObjectMeta spec=2:PodDisruptionBudgetSpec status=3:PodDisruptionBudgetStatus
PodDisruptionBudgetList metadata=1:meta/v1.ListMeta items=2:[PodDisruptionBudget
PodDisruptionBudgetSpec minAvailable=1:intstr.IntOrString* selector=2:meta/v1.LabelSelector* maxUnavailable=3:intstr.IntOrString*
PodDisruptionBudgetStatus observedGeneration=1:i64 disruptedPods=2:{meta/v1.Time disruptionsAllowed=3:i32 currentHealthy=4:i32 desiredHealthy=5:i32 expectedPods=6:i32
PodSecurityPolicy metadata=1:meta/v1.ObjectMeta spec=2:PodSecurityPolicySpec
PodSecurityPolicyList metadata=1:meta/v1.ListMeta items=2:[PodSecurityPolicy
PodSecurityPolicySpec privileged=1:b defaultAddCapabilities=2:[s requiredDropCapabilities=3:[s allowedCapabilities=4:[s volumes=5:[s hostNetwork=6:b hostPorts=7:[HostPortRange hostPID=8:b hostIPC=9:b seLinux=10:SELinuxStrategyOptions runAsUser=11:RunAsUserStrategyOptions supplementalGroups=12:SupplementalGroupsStrategyOptions fsGroup=13:FSGroupStrategyOptions readOnlyRootFilesystem=14:b defaultAllowPrivilegeEscalation=15:b* allowPrivilegeEscalation=16:b* allowedHostPaths=17:[AllowedHostPath allowedFlexVolumes=18:[AllowedFlexVolume allowedUnsafeSysctls=19:[s forbiddenSysctls=20:[s allowedProcMountTypes=21:[s runAsGroup=22:RunAsGroupStrategyOptions* allowedCSIDrivers=23:[AllowedCSIDriver runtimeClass=24:RuntimeClassStrategyOptions*
RunAsGroupStrategyOptions rule=1:s ranges=2:[IDRange
RunAsUserStrategyOptions rule=1:s ranges=2:[IDRange
RuntimeClassStrategyOptions allowedRuntimeClassNames=1:[s defaultRuntimeClassName=2:s*
SELinuxStrategyOptions rule=1:s seLinuxOptions=2:core/v1.SELinuxOptions*
SupplementalGroupsStrategyOptions rule=1:s ranges=2:[IDRange
""",
    ),
    "rbac/v1": (
        "rbac.authorization.k8s.io/v1",
        """
AggregationRule clusterRoleSelectors=1:[meta/v1.LabelSelector
ClusterRole metadata=1:meta/v1.ObjectMeta rules=2:[PolicyRule aggregationRule=3:AggregationRule*
ClusterRoleBinding metadata=1:meta/v1.ObjectMeta subjects=2:[Subject roleRef=3:RoleRef
ClusterRoleBindingList metadata=1:meta/v1.ListMeta items=2:[ClusterRoleBinding
ClusterRoleList metadata=1:meta/v1.ListMeta items=2:[ClusterRole
PolicyRule verbs=1:[s apiGroups=2:[s resources=3:[s resourceNames=4:[s nonResourceURLs=5:[s
Role metadata=1:meta/v1.ObjectMeta rules=2:[PolicyRule
RoleBinding metadata=1:meta/v1.ObjectMeta subjects=2:[Subject roleRef=3:RoleRef
RoleBindingList metadata=1:meta/v1.ListMeta items=2:[RoleBinding
RoleList metadata=1:meta/v1.ListMeta items=2:[Role
RoleRef apiGroup=1:s kind=2:s name=3:s
Subject kind=1:s apiGroup=2:s name=3:s namespace=4:s
""",
    ),
    "scheduling/v1": (
        "scheduling.k8s.io/v1",
        """
PriorityClass metadata=1:meta/v1.ObjectMeta value=2:i32 globalDefault=3:b description=4:s preemptionPolicy=5:s*
PriorityClassList metadata=1:meta/v1.ListMeta items=2:[PriorityClass
""",
    ),
    "storage/v1": (
        "storage.k8s.io/v1",
        """
CSIDriver metadata=1:meta/v1.ObjectMeta spec=2:CSIDriverSpec
CSIDriverList metadata=1:meta/v1.ListMeta items=2:[CSIDriver
CSIDriverSpec attachRequired=1:b* podInfoOnMount=2:b* volumeLifecycleModes=3:[s storageCapacity=4:b* fsGroupPolicy=5:s* tokenRequests=6:[TokenRequest requiresRepublish=7:b*
CSINode metadata=1:meta/v1.ObjectMeta spec=2:CSINodeSpec
CSINodeDriver name=1:s nodeID=2:s topologyKeys=3:[s allocatable=4:VolumeNodeResources*
CSINodeList metadata=1:meta/v1.ListMeta items=2:[CSINode
CSINodeSpec drivers=1:[CSINodeDriver
StorageClass metadata=1:meta/v1.ObjectMeta provisioner=2:s parameters=3:{s reclaimPolicy=4:s* mountOptions=5:[s allowVolumeExpansion=6:b* volumeBindingMode=7:s* allowedTopologies=8:[core/v1.TopologySelectorTerm
StorageClassList metadata=1:meta/v1.ListMeta items=2:[StorageClass
TokenRequest audience=1:s expirationSeconds=2:i64*
VolumeAttachment metadata=1:meta/v1.ObjectMeta spec=2:VolumeAttachmentSpec status=3:VolumeAttachmentStatus
VolumeAttachmentList metadata=1:meta/v1.ListMeta items=2:[VolumeAttachment
VolumeAttachmentSource persistentVolumeName=1:s* inlineVolumeSpec=2:core/v1.PersistentVolumeSpec*
VolumeAttachmentSpec attacher=1:s source=2:VolumeAttachmentSource nodeName=3:s
VolumeAttachmentStatus attached=1:b attachmentMetadata=2:{s attachError=3:VolumeError* detachError=4:VolumeError*
VolumeError time=1:meta/v1.Time message=2:s
VolumeNodeResources count=1:i32*
""",
    ),
    "meta/v1": (
        "meta.k8s.io/v1",
        """
APIGroup name=1:s versions=2:[GroupVersionForDiscovery preferredVersion=3:GroupVersionForDiscovery serverAddressByClientCIDRs=4:[ServerAddressByClientCIDR
APIGroupList groups=1:[APIGroup
APIResource name=1:s namespaced=2:b kind=3:s verbs=4:Verbs shortNames=5:[s singularName=6:s categories=7:[s group=8:s version=9:s storageVersionHash=10:s
APIResourceList groupVersion=1:s resources=2:[APIResource
APIVersions versions=1:[s serverAddressByClientCIDRs=2:[ServerAddressByClientCIDR
Condition type=1:s status=2:s observedGeneration=3:i64 lastTransitionTime=4:Time reason=5:s message=6:s
CreateOptions dryRun=1:[s fieldManager=3:s
DeleteOptions gracePeriodSeconds=1:i64* preconditions=2:Preconditions* orphanDependents=3:b* propagationPolicy=4:s* dryRun=5:[s
Duration duration=1:i64
ExportOptions export=1:b exact=2:b
FieldsV1 -=1:y*
GetOptions resourceVersion=1:s
GroupKind group=1:s kind=2:s
GroupResource group=1:s resource=2:s
GroupVersion group=1:s version=2:s
GroupVersionForDiscovery groupVersion=1:s version=2:s
GroupVersionKind group=1:s version=2:s kind=3:s
GroupVersionResource group=1:s version=2:s resource=3:s
LabelSelector matchLabels=1:{s matchExpressions=2:[LabelSelectorRequirement
LabelSelectorRequirement key=1:s operator=2:s values=3:[s
List metadata=1:ListMeta items=2:[runtime.RawExtension
ListMeta selfLink=1:s resourceVersion=2:s continue=3:s remainingItemCount=4:i64*
ListOptions labelSelector=1:s fieldSelector=2:s watch=3:b resourceVersion=4:s timeoutSeconds=5:i64* limit=7:i64 continue=8:s allowWatchBookmarks=9:b resourceVersionMatch=10:s
ManagedFieldsEntry manager=1:s operation=2:s apiVersion=3:s time=4:Time* fieldsType=6:s fieldsV1=7:FieldsV1*
MicroTime seconds=1:i64 nanos=2:i32
ObjectMeta name=1:s generateName=2:s namespace=3:s selfLink=4:s uid=5:s resourceVersion=6:s generation=7:i64 creationTimestamp=8:Time deletionTimestamp=9:Time* deletionGracePeriodSeconds=10:i64* labels=11:{s annotations=12:{s ownerReferences=13:[OwnerReference finalizers=14:[s clusterName=15:s managedFields=17:[ManagedFieldsEntry
OwnerReference kind=1:s name=3:s uid=4:s apiVersion=5:s controller=6:b* blockOwnerDeletion=7:b*
PartialObjectMetadata metadata=1:ObjectMeta
PartialObjectMetadataList metadata=1:ListMeta items=2:[PartialObjectMetadata
Patch
PatchOptions dryRun=1:[s force=2:b* fieldManager=3:s
Preconditions uid=1:s* resourceVersion=2:s*
RootPaths paths=1:[s
ServerAddressByClientCIDR clientCIDR=1:s serverAddress=2:s
Status metadata=1:ListMeta status=2:s message=3:s reason=4:s details=5:StatusDetails* code=6:i32
StatusCause reason=1:s message=2:s field=3:s
StatusDetails name=1:s group=2:s kind=3:s causes=4:[StatusCause retryAfterSeconds=5:i32 uid=6:s
TableOptions includeObject=1:s
Time seconds=1:i64 nanos=2:i32
Timestamp seconds=1:i64 nanos=2:i32
TypeMeta kind=1:s apiVersion=2:s
UpdateOptions dryRun=1:[s fieldManager=2:s
Verbs@list items=1:[s
WatchEvent type=1:s object=2:runtime.RawExtension
""",
    ),
    "runtime": (
        "",
        """
RawExtension -=1:y*
TypeMeta apiVersion=1:s kind=2:s
Unknown typeMeta=1:TypeMeta^ raw=2:y contentEncoding=3:s contentType=4:s
""",
    ),
    "intstr": (
        "",
        """
IntOrString type=1:i64 intVal=2:i32 strVal=3:s
""",
    ),
    "resource": (
        "",
        """
Quantity string=1:s
""",
    ),
}
