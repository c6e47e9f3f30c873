"""A real kube-apiserver v1.20 control plane on 127.0.0.1, for tests and people.

Modules:
    binaries    find or build kube-apiserver, kube-controller-manager, etcd, kubectl 1.20
    pki         the CA, serving and client certificates, service-account keys
    processes   start and stop exactly the processes a cluster owns
    kubeconfig  the kubeconfig a cluster writes
    cluster     ``DevCluster``: all of the above, started and stopped in order
    conformance Kubernetes' e2e.test run against a cluster or a proxy, its JUnit results

From the shell: ``watchcache dev-cluster up|down|status|build``.
"""

from watchcache.devcluster.binaries import KUBE_VERSION, Binaries, find_binaries
from watchcache.devcluster.cluster import ClusterConfig, DevCluster, DevClusterError
from watchcache.devcluster.kubeconfig import CONTEXT_ADMIN, CONTEXT_CERT, CONTEXT_NOBODY

__all__ = [
    "CONTEXT_ADMIN",
    "CONTEXT_CERT",
    "CONTEXT_NOBODY",
    "KUBE_VERSION",
    "Binaries",
    "ClusterConfig",
    "DevCluster",
    "DevClusterError",
    "find_binaries",
]
