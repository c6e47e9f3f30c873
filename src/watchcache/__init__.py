"""watchcache: serve Kubernetes LIST and WATCH from a sharded in-memory cache.

The package has three faces:

- the proxy (``watchcache serve``), which answers reads from the cache and
  forwards everything else to kube-apiserver;
- the library, the same cache imported by Python controllers as an informer;
- the tooling that proves both: a real control plane for tests
  (:mod:`watchcache.devcluster`) and load generators under ``benchmarks/``.
"""

__version__ = "0.1.0.dev0"

__all__ = ["__version__"]
