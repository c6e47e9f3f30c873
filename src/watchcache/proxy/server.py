"""Running a proxy application: listeners, signals, orderly shutdown.

Listeners: every ``--listen`` host:port and the optional ``--listen-unix``
socket (mode 0660; a sidecar shares it through a volume). They serve plain
HTTP only when every ``--listen`` is loopback and neither a certificate
nor a client CA is configured (``ServeConfig.plain_http``); otherwise HTTPS
with ``--tls-cert-file``, or a self-signed certificate made at start,
reloaded when its files change (watchcache.auth.serving). Each accepted connection gets
``--read-header-timeout`` for its headers and ``--idle-timeout`` between
requests (connections.py). A worker process (``--workers`` above 1,
watchcache.workers) binds its TCP listeners with SO_REUSEPORT beside its
peers, and takes the Unix listener already listening from the primary.

Shutdown, in order, on SIGTERM or SIGINT:
    1. /readyz turns 500 (the tracker is draining), so a load balancer
       stops sending new clients;
    2. open watch streams are closed, spread over ``--shutdown-spread``,
       so their clients reconnect (to another replica) over that period
       instead of all at once;
    3. the listeners close and in-flight short requests finish (aiohttp's
       runner cleanup, bounded by its shutdown timeout);
    4. the application's cleanup contexts run in reverse (caches, upstream
       sessions).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from watchcache.auth import ServingTLS, self_signed
from watchcache.proxy.app import ProxyParts, build_app
from watchcache.proxy.config import ServeConfig
from watchcache.proxy.connections import deadline_factory

__all__ = ["RunningProxy", "start_proxy"]

log = logging.getLogger(__name__)

# In-flight non-streaming requests get this long after the listeners close.
SHORT_REQUEST_GRACE = 5.0
# Connections waiting to be accepted; the kernel caps it at
# net.core.somaxconn (Go's listeners, kube-apiserver's included, ask for
# that cap). aiohttp's default of 128 overflows when thousands of watchers
# reconnect at once: dropped SYNs are retried after 1, 3, 7, 15 s..., and
# 5,000 simulated nodes (10,000 watches) could not all connect in 5 minutes.
LISTEN_BACKLOG = 65535


@dataclass
class RunningProxy:
    runner: web.AppRunner
    parts: ProxyParts
    urls: list[str]
    tls: ServingTLS | None = None
    # Compares the certificate files with what is loaded, every minute.
    reloading: asyncio.Task[None] | None = None
    # Holds the self-signed certificate, if one was made; removed on stop.
    scratch: tempfile.TemporaryDirectory[str] | None = None

    async def stop(self) -> None:
        """Steps 1-4 of the module docstring."""
        if self.reloading is not None:
            self.reloading.cancel()
        if self.scratch is not None:
            self.scratch.cleanup()
        log.info(
            "draining %d open streams over %.1fs",
            len(self.parts.streams),
            self.parts.config.shutdown_spread,
        )
        await self.parts.streams.drain(self.parts.config.shutdown_spread)
        await self.runner.cleanup()


async def start_proxy(
    parts: ProxyParts,
    app: web.Application | None = None,
    *,
    reuse_port: bool = False,
    unix_socket: socket.socket | None = None,
) -> RunningProxy:
    """Start listening on every configured address; returns once bound.
    ``reuse_port``: TCP listeners share their port with other processes'
    (SO_REUSEPORT); ``unix_socket``: the ``--listen-unix`` socket, already
    bound and listening (a worker's, inherited from the primary)."""
    config = parts.config
    runner = web.AppRunner(
        app or build_app(parts),
        access_log=None,
        shutdown_timeout=SHORT_REQUEST_GRACE,
        handle_signals=False,
        keepalive_timeout=config.idle_timeout,
    )
    await runner.setup()
    scratch = None
    serving = None
    if not config.plain_http():
        cert, key = config.tls_cert_file, config.tls_private_key_file
        if not cert or not key:
            scratch = tempfile.TemporaryDirectory(prefix="watchcache-tls-")
            hosts = [host for host, _ in config.listen_addresses()]
            cert, key = self_signed(Path(scratch.name), hosts)
            log.warning("serving HTTPS with a self-signed certificate (%s): for development", cert)
        verifier = parts.delegation.authenticator.certificates if parts.delegation else None
        serving = ServingTLS(cert, key, config.client_ca_file, verifier)
    tls = serving.context if serving else None
    scheme = "https" if tls else "http"
    urls = []
    try:
        for host, port in config.listen_addresses():
            site = _Listener(runner, config, tls, host, port, reuse_port=reuse_port)
            await site.start()
            urls.append(f"{scheme}://{site.name}")
        if unix_socket is not None:
            inherited = _Listener(runner, config, tls, config.listen_unix or "", sock=unix_socket)
            await inherited.start()
            urls.append(f"unix://{config.listen_unix}")
        elif config.listen_unix:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(config.listen_unix)
            unix = _Listener(runner, config, tls, config.listen_unix)
            await unix.start()
            os.chmod(config.listen_unix, 0o660)
            urls.append(f"unix://{config.listen_unix}")
    except BaseException:
        await runner.cleanup()
        if scratch is not None:
            scratch.cleanup()
        raise
    reloading = asyncio.create_task(serving.watch()) if serving else None
    return RunningProxy(runner, parts, urls, serving, reloading, scratch)


class _Listener(web.BaseSite):
    """A TCP (host and port) or Unix (path) listener whose connections get
    a header deadline (connections.py). aiohttp's own sites hand the loop
    its handler factory as it is; this one wraps it, and stops the same
    way (the runner closes it before it shuts its connections down)."""

    def __init__(
        self,
        runner: web.AppRunner,
        config: ServeConfig,
        tls: ssl.SSLContext | None,
        host_or_path: str,
        port: int | None = None,
        *,
        reuse_port: bool = False,
        sock: socket.socket | None = None,
    ) -> None:
        super().__init__(runner, ssl_context=tls, backlog=LISTEN_BACKLOG)
        self._where = host_or_path
        self._port = port
        self._reuse_port = reuse_port
        self._sock = sock
        self._header_timeout = config.read_header_timeout

    @property
    def name(self) -> str:
        if self._port is None:
            return self._where
        # The port may have been 0: ask the listening socket.
        sockets = getattr(self._server, "sockets", None)
        port = sockets[0].getsockname()[1] if sockets else self._port
        return f"[{self._where}]:{port}" if ":" in self._where else f"{self._where}:{port}"

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None
        factory = deadline_factory(server, self._header_timeout)
        loop = asyncio.get_running_loop()
        tls = self._ssl_context
        # Go counts the TLS handshake against the read-header timeout; the
        # handshake is over before the deadline's protocol sees the socket.
        timeout = self._header_timeout
        # (asyncio refuses a handshake timeout without TLS.)
        handshake = timeout if tls and timeout > 0 else None
        if self._sock is not None:
            self._server = await loop.create_unix_server(
                factory,
                sock=self._sock,
                ssl=tls,
                backlog=self._backlog,
                ssl_handshake_timeout=handshake,
            )
        elif self._port is None:
            self._server = await loop.create_unix_server(
                factory,
                self._where,
                ssl=tls,
                backlog=self._backlog,
                ssl_handshake_timeout=handshake,
            )
        else:
            self._server = await loop.create_server(
                factory,
                self._where,
                self._port,
                ssl=tls,
                backlog=self._backlog,
                reuse_address=True,
                reuse_port=self._reuse_port or None,
                ssl_handshake_timeout=handshake,
            )


async def run_until_signalled(proxy: RunningProxy) -> None:
    """Serve until SIGTERM or SIGINT, then shut down in order."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        await proxy.stop()
