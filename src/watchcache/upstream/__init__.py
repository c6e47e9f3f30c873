"""Talking to kube-apiserver: configuration, credentials and the one client.

    config = load_kubeconfig(context="prod")      # or load_incluster()
    async with UpstreamClient(config) as client:
        pods = await client.list("/api/v1/pods", {"limit": "500"})
        async with client.watch("/api/v1/pods", {"resourceVersion": rv}) as lines:
            async for line in lines:
                ...

What it offers (``__all__``), by module:
    config       ``UpstreamConfig`` (server, TLS, credentials, timeouts)
    kubeconfig   ``load_kubeconfig``, ``Kubeconfig``
    incluster    ``load_incluster``, ``NotInClusterError``
    credentials  ``Credential``, ``CredentialSource``,
                 ``StaticCredentials``, ``TokenFile``, ``ClientCert``
    exec         ``ExecPlugin``, ``ExecSpec`` (client-go's exec plugins)
    tls          ``TLSConfig``
    client       ``UpstreamClient`` (the only module that sees aiohttp's
                 exceptions), ``ClientOptions``, ``Response``,
                 ``WatchStream``, ``ForwardResponse``
    ratelimit    ``RateLimitedClient``, ``TokenBucket`` (client-go's qps
                 and burst, for the requests a process makes on its own)
    tunnel       ``open_tunnel``, ``Tunnel`` (upgraded connections: exec,
                 attach, port-forward)
    errors       what callers catch, one hierarchy under ``UpstreamError``:
                 ``ConfigError``, ``CredentialError``, ``UnreachableError``,
                 ``TLSError``, ``UpstreamTimeoutError``,
                 ``DisconnectedError``, ``ProtocolError``, ``StatusError``

The modules' lower-level pieces (``LineSplitter``, ``build_context``,
``TLSContexts``, ``kubeconfig_paths``, ``parse_exec_credential``,
``normalize_server``, their constants) are imported from the modules.
"""

from watchcache.upstream.client import (
    ClientOptions,
    ForwardResponse,
    Response,
    UpstreamClient,
    WatchStream,
)
from watchcache.upstream.config import UpstreamConfig
from watchcache.upstream.credentials import (
    ClientCert,
    Credential,
    CredentialSource,
    StaticCredentials,
    TokenFile,
)
from watchcache.upstream.errors import (
    ConfigError,
    CredentialError,
    DisconnectedError,
    ProtocolError,
    StatusError,
    TLSError,
    UnreachableError,
    UpstreamError,
    UpstreamTimeoutError,
)
from watchcache.upstream.exec import ExecPlugin, ExecSpec
from watchcache.upstream.incluster import NotInClusterError, load_incluster
from watchcache.upstream.kubeconfig import Kubeconfig, load_kubeconfig
from watchcache.upstream.ratelimit import RateLimitedClient, TokenBucket
from watchcache.upstream.tls import TLSConfig
from watchcache.upstream.tunnel import Tunnel, open_tunnel

__all__ = [
    "ClientCert",
    "ClientOptions",
    "ConfigError",
    "Credential",
    "CredentialError",
    "CredentialSource",
    "DisconnectedError",
    "ExecPlugin",
    "ExecSpec",
    "ForwardResponse",
    "Kubeconfig",
    "NotInClusterError",
    "ProtocolError",
    "RateLimitedClient",
    "Response",
    "StaticCredentials",
    "StatusError",
    "TLSConfig",
    "TLSError",
    "TokenBucket",
    "TokenFile",
    "Tunnel",
    "UnreachableError",
    "UpstreamClient",
    "UpstreamConfig",
    "UpstreamError",
    "UpstreamTimeoutError",
    "WatchStream",
    "load_incluster",
    "load_kubeconfig",
    "open_tunnel",
]
