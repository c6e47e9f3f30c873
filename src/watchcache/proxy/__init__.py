"""``watchcache serve``: the proxy clients point at instead of kube-apiserver.

    config = load_config(args, os.environ)       # flags, env, TOML (config)
    async with open_proxy(config, upstream) as proxy:   # (serve)
        print(proxy.urls)

Modules, by layer, lowest first (docs/architecture.md has one read's path
through them):

settings and the server
    config          every setting: flags, environment, TOML file, docs
                    (``ServeConfig``, ``load_config``, ``add_arguments``)
    logs            text and JSON log lines
    connections     per-connection read-header and idle timeouts
    server          listeners (TCP, TLS, Unix), signals, orderly shutdown
                    (``RunningProxy``, ``start_proxy``)
    drain           closing open streams spread over time on shutdown
    serve           from settings to a running proxy (``open_proxy``, ``serve``)

one request
    context         per-request id, identity (the auth stage), access log
    requestinfo     the request parsed once: verb, resource path, requester
                    (``RequestInfo``, the ``parse_once`` middleware)
    app             the aiohttp application: local endpoints, middlewares,
                    then the handler (``ProxyParts``, ``build_app``)
    reads           the read path: decide cache or forward, then GET, LIST,
                    WATCH from the cache (``ReadPath``, ``ReadRequest``)
    fairness        each client's bound on cached LISTs in flight and open
                    watches, 429 past it (``Fairness``)
    rendering       one ``Rendering`` per form a client may ask for (JSON,
                    PartialObjectMetadata), content negotiation
    compression     gzip for large GET and LIST answers from the cache, as
                    kube-apiserver's (``Compression``, ``BodyWriter``)
    discovery       /api, /apis and their group documents, kept until a
                    CRD or APIService changes (``Discovery``)
    forward         everything else, to upstream and back (``Forwarder``)
    shareforward    a forwarded LIST with a shardSelector: upstream's answer
                    cut to the share, written as the cache's pages are
    tunnel          upgraded connections (exec, attach, port-forward)

the cached resources
    cachedresource  one resource's cache, reflector, watchers, prober and
                    readiness (``CachedResource``, ``parse_resource``)
    prober          upstream's current RV for consistent reads (``Prober``)
    caches          starting and stopping them (``open_caches``,
                    ``CacheFactory``)
    autocache       --auto-cache: resources cached on their first read,
                    dropped when idle (``AutoCaches``)
    crds            upstream's CRDs from a cache of them: custom resources'
                    Table columns, whether one is still defined
    consistency     the periodic check of a cache against upstream
    persistence     warm restart: caches loaded from and saved to
                    ``--cache-dir`` (``StateDir``)

observing it
    health          /healthz, /livez, /readyz
    metrics         /metrics: request metrics (``ProxyMetrics``)
    cachemetrics    the caches' figures, read at scrape time

The names in ``__all__`` are importable from here; each is loaded from its
module on first use, so importing one module (the CLI imports ``config``
to build its parser) never loads the others.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from watchcache.proxy.cachedresource import CachedResource
    from watchcache.proxy.config import ServeConfig, add_arguments, load_config
    from watchcache.proxy.forward import Forwarder
    from watchcache.proxy.reads import ReadPath, ReadRequest
    from watchcache.proxy.rendering import Rendering
    from watchcache.proxy.requestinfo import RequestInfo
    from watchcache.proxy.serve import open_proxy
    from watchcache.proxy.server import RunningProxy

# Each name offered here, and the module that defines it.
_OFFERED = {
    "CachedResource": "cachedresource",
    "Forwarder": "forward",
    "ReadPath": "reads",
    "ReadRequest": "reads",
    "Rendering": "rendering",
    "RequestInfo": "requestinfo",
    "RunningProxy": "server",
    "ServeConfig": "config",
    "add_arguments": "config",
    "load_config": "config",
    "open_proxy": "serve",
}

__all__ = [
    "CachedResource",
    "Forwarder",
    "ReadPath",
    "ReadRequest",
    "Rendering",
    "RequestInfo",
    "RunningProxy",
    "ServeConfig",
    "add_arguments",
    "load_config",
    "open_proxy",
]


def __getattr__(name: str) -> Any:
    module = _OFFERED.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
