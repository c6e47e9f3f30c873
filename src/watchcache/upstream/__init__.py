"""Talking to kube-apiserver: configuration, credentials and the one client.

    config = load_kubeconfig(context="prod")      # or load_incluster()
    async with UpstreamClient(config) as client:
        pods = await client.list("/api/v1/pods", {"limit": "500"})
        async with client.watch("/api/v1/pods", {"resourceVersion": rv}) as lines:
            async for line in lines:
                ...

Modules: ``config`` (UpstreamConfig), ``kubeconfig`` and ``incluster``
(loading it), ``credentials`` and ``exec`` (tokens, token files, client
certificates, exec plugins), ``tls`` (SSL contexts), ``client`` (requests;
the only module that sees aiohttp's exceptions), ``errors`` (what callers
catch).
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
from watchcache.upstream.tls import TLSConfig

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
    "Response",
    "StaticCredentials",
    "StatusError",
    "TLSConfig",
    "TLSError",
    "TokenFile",
    "UnreachableError",
    "UpstreamClient",
    "UpstreamConfig",
    "UpstreamError",
    "UpstreamTimeoutError",
    "WatchStream",
    "load_incluster",
    "load_kubeconfig",
]
