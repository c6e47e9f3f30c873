"""Running a proxy application: listeners, signals, orderly shutdown.

Listeners: every ``--listen`` host:port (TCP, TLS when a certificate is
configured) and the optional ``--listen-unix`` socket (mode 0660; a sidecar
shares it through a volume).

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
import ssl
from dataclasses import dataclass

from aiohttp import web

from watchcache.proxy.app import ProxyParts, build_app

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

    async def stop(self) -> None:
        """Steps 1-4 of the module docstring."""
        log.info(
            "draining %d open streams over %.1fs",
            len(self.parts.streams),
            self.parts.config.shutdown_spread,
        )
        await self.parts.streams.drain(self.parts.config.shutdown_spread)
        await self.runner.cleanup()


async def start_proxy(parts: ProxyParts, app: web.Application | None = None) -> RunningProxy:
    """Start listening on every configured address; returns once bound."""
    config = parts.config
    runner = web.AppRunner(
        app or build_app(parts),
        access_log=None,
        shutdown_timeout=SHORT_REQUEST_GRACE,
        handle_signals=False,
    )
    await runner.setup()
    tls = _tls_context(config.tls_cert_file, config.tls_private_key_file)
    scheme = "https" if tls else "http"
    urls = []
    try:
        for host, port in config.listen_addresses():
            site = web.TCPSite(
                runner, host, port, ssl_context=tls, reuse_address=True, backlog=LISTEN_BACKLOG
            )
            await site.start()
            urls.append(f"{scheme}://{_bound(site, host)}")
        if config.listen_unix:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(config.listen_unix)
            unix = web.UnixSite(runner, config.listen_unix, ssl_context=tls, backlog=LISTEN_BACKLOG)
            await unix.start()
            os.chmod(config.listen_unix, 0o660)
            urls.append(f"unix://{config.listen_unix}")
    except BaseException:
        await runner.cleanup()
        raise
    return RunningProxy(runner, parts, urls)


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


def _tls_context(cert: str | None, key: str | None) -> ssl.SSLContext | None:
    if not cert or not key:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def _bound(site: web.TCPSite, host: str) -> str:
    # The port may have been 0: ask the listening socket. aiohttp keeps the
    # loop's server (asyncio's or uvloop's) in a private attribute.
    sockets = getattr(site._server, "sockets", None)
    port = sockets[0].getsockname()[1] if sockets else site._port
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
