"""Upgraded connections upstream: exec, attach and port-forward.

kubectl exec, attach and port-forward send a request with ``Connection:
Upgrade`` and ``Upgrade: SPDY/3.1`` (or ``websocket``); kube-apiserver
answers ``101 Switching Protocols`` and from then on the connection carries
the kubelet's stream protocol. The proxy does not need to understand it:
it opens its own connection upstream, sends the request with its own
credentials, and, after the 101, copies bytes both ways.

aiohttp's client has no general upgrade support, so this module speaks
HTTP/1.1 itself over ``asyncio.open_connection``, with the TLS context and
credentials of the ``UpstreamClient`` it is given. Its failures map onto
``watchcache.upstream.errors`` like the client's.

Bounds: the response head is read up to ``MAX_HEAD_BYTES``; a non-101
answer's body up to ``MAX_ERROR_BYTES``.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from watchcache.upstream.client import UpstreamClient
from watchcache.upstream.credentials import Credential
from watchcache.upstream.errors import (
    ProtocolError,
    TLSError,
    UnreachableError,
    UpstreamTimeoutError,
)
from watchcache.upstream.tls import TLSContexts

__all__ = ["Tunnel", "open_tunnel"]

MAX_HEAD_BYTES = 64 * 1024
MAX_ERROR_BYTES = 64 * 1024


@dataclass
class Tunnel:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    # A non-101 answer's body (the connection is then closed).
    body: bytes = b""

    def close(self) -> None:
        self.writer.close()


async def open_tunnel(
    client: UpstreamClient,
    method: str,
    path_qs: str,
    headers: Mapping[str, str],
    *,
    connect_timeout: float = 10.0,
    use_credentials: bool = True,
) -> Tunnel:
    """Send one upgrade request upstream and read the answer's head. With
    ``use_credentials=False`` neither our token nor our client certificate
    is sent (the caller's own Authorization header decides who it is)."""
    config = client.config
    url = urlsplit(config.server)
    https = url.scheme == "https"
    port = url.port or (443 if https else 80)
    host = url.hostname or ""
    credential = await config.credentials.get() if use_credentials else Credential()
    context: ssl.SSLContext | None = (
        TLSContexts(config.tls).for_cert(credential.client_cert) if https else None
    )
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(
                host,
                port,
                ssl=context,
                server_hostname=(config.tls.server_name or host) if https else None,
                limit=MAX_HEAD_BYTES,
            ),
            connect_timeout,
        )
    except TimeoutError as err:
        raise UpstreamTimeoutError(f"connecting to {config.server} for {method} {path_qs}") from err
    except ssl.SSLError as err:
        raise TLSError(f"TLS with {config.server}: {err}") from err
    except OSError as err:
        raise UnreachableError(f"{config.server}: {err}") from err
    lines = [f"{method} {path_qs} HTTP/1.1", f"Host: {url.netloc}"]
    lines += [f"{k}: {v}" for k, v in headers.items() if k.lower() != "host"]
    lines += [f"{k}: {v}" for k, v in credential.headers().items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), connect_timeout)
    except TimeoutError as err:
        writer.close()
        raise UpstreamTimeoutError(f"{config.server} did not answer {method} {path_qs}") from err
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError) as err:
        writer.close()
        raise ProtocolError(
            f"{config.server} sent no usable answer to {method} {path_qs}: {err}"
        ) from err
    status, reason, answer_headers = _parse_head(head)
    tunnel = Tunnel(status, reason, answer_headers, reader, writer)
    if status != 101:
        length = next((int(v) for k, v in answer_headers if k.lower() == "content-length"), None)
        try:
            if length is not None:
                tunnel.body = await reader.readexactly(min(length, MAX_ERROR_BYTES))
            else:
                tunnel.body = await reader.read(MAX_ERROR_BYTES)
        except (asyncio.IncompleteReadError, OSError):
            pass
        writer.close()
    return tunnel


def _parse_head(head: bytes) -> tuple[int, str, list[tuple[str, str]]]:
    first, *rest = head.decode("latin-1").rstrip("\r\n").split("\r\n")
    parts = first.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise ProtocolError(f"not an HTTP status line: {first!r}")
    headers = []
    for line in rest:
        name, sep, value = line.partition(":")
        if sep:
            headers.append((name.strip(), value.strip()))
    return int(parts[1]), parts[2] if len(parts) > 2 else "", headers
