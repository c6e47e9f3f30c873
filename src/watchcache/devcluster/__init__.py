"""A real kube-apiserver v1.20 control plane on 127.0.0.1, for tests and people.

    cluster = DevCluster(ClusterConfig(workdir=path), find_binaries())
    cluster.start()
    code, body = cluster.request("GET", "/api/v1/namespaces")
    cluster.stop()

What it offers (``__all__``), by module:
    binaries     ``find_binaries`` (find or build kube-apiserver,
                 kube-controller-manager, etcd, kubectl 1.20),
                 ``Binaries``, ``KUBE_VERSION``
    cluster      ``DevCluster`` (everything below, started and stopped in
                 order), ``ClusterConfig``, ``DevClusterError``
    kubeconfig   the contexts of the kubeconfig a cluster writes:
                 ``CONTEXT_ADMIN``, ``CONTEXT_CERT``, ``CONTEXT_NOBODY``

Imported from their modules, being a cluster's parts or a tool of its own:
    pki          the CA, serving and client certificates, service-account
                 keys (``make_pki``)
    processes    start and stop exactly the processes a cluster owns
                 (``spawn``, ``OwnedProcess``)
    conformance  Kubernetes' e2e.test run against a cluster or a proxy, its
                 JUnit results (``run_e2e``, ``Results``)

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
