"""``watchcache serve``: the proxy clients point at instead of kube-apiserver.

Modules:
    config    every setting: flags, environment, TOML file, docs
    context   per-request id, identity (the auth stage), access log
    health    /healthz, /livez, /readyz
    metrics   /metrics
    drain     closing open streams spread over time on shutdown
    app       the aiohttp application: local endpoints, then the handler
    server    listeners (TCP, TLS, Unix), signals, orderly shutdown
"""
