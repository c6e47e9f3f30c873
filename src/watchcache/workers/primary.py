"""The primary process of ``watchcache serve --workers N`` (N above 1).

What it does, in order:
    1. makes a run directory (mode 0700: only this user reaches its
       sockets) holding ``spec.json``, the feed socket and ``control/``;
    2. reserves every ``--listen`` port: a socket bound with SO_REUSEPORT
       but never listening, so port 0 is resolved once and the workers bind
       the same port beside it (the kernel spreads connections over the
       listening sockets of the group only, the workers'); ``--listen-unix``
       is bound and listening here, and inherited by every worker;
    3. opens the feed: ``open_proxy`` in front of upstream listening on the
       feed socket only, with ``--auth=none`` (the socket is this user's
       alone). Its caches are the host's one list and watch per resource
       upstream, its consistency checks and ``--cache-dir`` the only ones;
       with --auto-cache its auto caches are the host's too: a worker
       caches a resource only once the primary does (``/auto-cache`` on
       the control socket, autocache.py);
    4. starts the workers (supervision.py), each a ``Replica`` whose
       caches list and watch the feed (worker.py), and prints where it
       serves once they all listen;
    5. on SIGTERM or SIGINT: stops the workers (each drains its watches
       over ``--shutdown-spread``), then closes the feed, then removes the
       run directory.

The primary serves no client itself: its CPU goes to hearing upstream and
to one watch per worker and resource.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from watchcache.auth import self_signed
from watchcache.proxy.cachedresource import CachedResource
from watchcache.proxy.config import ServeConfig
from watchcache.proxy.reads import ReadPath
from watchcache.proxy.serve import announce, open_proxy
from watchcache.proxy.server import LISTEN_BACKLOG, SHORT_REQUEST_GRACE
from watchcache.upstream import UpstreamConfig
from watchcache.workers.control import (
    auto_cache_route,
    control_socket,
    history_route,
    serving_control,
)
from watchcache.workers.metrics import PRIMARY
from watchcache.workers.supervision import Launch, Supervisor, WorkerProcess
from watchcache.workers.worker import Spec

__all__ = ["serve_workers"]

log = logging.getLogger(__name__)

# After the workers' own staged shutdown (--shutdown-spread, then in-flight
# requests' grace), this much more before they are killed.
STOP_SLACK = 10.0
_PR_SET_PDEATHSIG = 1


async def serve_workers(config: ServeConfig, upstream: UpstreamConfig, *, embedded: bool) -> None:
    """Serve until SIGTERM or SIGINT with ``config.worker_count()`` workers."""
    count = config.worker_count()
    with _run_dir() as run_dir, _reserved(config) as (listen, unix):
        control_dir = run_dir / "control"
        control_dir.mkdir()
        feed_socket = run_dir / "feed.sock"
        feed_config = dataclasses.replace(
            config,
            listen=(),
            listen_unix=str(feed_socket),
            auth="none",
            accept_hosts=(r"^localhost$",),
            tls_cert_file=None,
            tls_private_key_file=None,
            client_ca_file=None,
            shutdown_spread=0.0,
            workers=1,
            # The workers write their clients' events with the window: the
            # feed's own watches (theirs) are written at once, so an event
            # waits for one window at most on its way.
            watch_write_window=0.0,
        )
        async with open_proxy(feed_config, upstream, embedded=embedded, feed=True) as feed:
            reads = feed.parts.handle
            assert isinstance(reads, ReadPath)
            routes = [history_route(functools.partial(_by_path, reads))]
            if reads.auto is not None:
                routes.append(auto_cache_route(reads.auto))
            async with serving_control(
                control_socket(control_dir, PRIMARY), feed.parts.metrics.exposition, *routes
            ):
                spec = Spec(
                    config=_worker_config(config, listen, run_dir),
                    feed_socket=str(feed_socket),
                    control_dir=str(control_dir),
                    embedded_url=upstream.server if embedded else None,
                    unix_fd=unix.fileno() if unix is not None else None,
                )
                (run_dir / "spec.json").write_bytes(spec.encode())
                supervisor = Supervisor(count, _launcher(run_dir, spec))
                await _serve(supervisor, spec, upstream, embedded=embedded)


async def _serve(
    supervisor: Supervisor, spec: Spec, upstream: UpstreamConfig, *, embedded: bool
) -> None:
    config = spec.config
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        starting = asyncio.ensure_future(supervisor.start())
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not starting.done():  # signalled before every worker listened
            starting.cancel()
            return
        starting.result()
        scheme = "http" if config.plain_http() else "https"
        urls = [f"{scheme}://{address}" for address in config.listen]
        if config.listen_unix:
            urls.append(f"unix://{config.listen_unix}")
        announce(
            urls,
            upstream,
            embedded=embedded,
            delegated=config.auth_mode(embedded=embedded) == "delegated",
        )
        log.info("%d workers: %s", supervisor.count, supervisor)
        await stop.wait()
    finally:
        # A second signal while the workers stop (a terminal's Ctrl-C or
        # `timeout` signal the whole process group too) changes nothing:
        # the stop is bounded, and the run directory is then removed.
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, log.info, "already stopping the workers")
        try:
            await supervisor.stop(config.shutdown_spread + SHORT_REQUEST_GRACE + STOP_SLACK)
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)


def _by_path(reads: ReadPath) -> dict[str, CachedResource]:
    """The primary's caches, named and auto, by collection path."""
    auto = reads.auto.caches if reads.auto is not None else {}
    return {resource.path: resource for resource in [*reads.caches.values(), *auto.values()]}


def _worker_config(config: ServeConfig, listen: tuple[str, ...], run_dir: Path) -> ServeConfig:
    """The workers' settings: the resolved ports; no --cache-dir nor
    consistency checks (the primary's caches are the ones that hear
    upstream); one self-signed certificate for all when one is needed."""
    worker = dataclasses.replace(
        config, listen=listen, cache_dir=None, consistency_check_interval=0.0, workers=1
    )
    if not config.plain_http() and not config.tls_cert_file:
        hosts = [host for host, _ in config.listen_addresses()]
        cert, key = self_signed(run_dir, hosts)
        log.warning("serving HTTPS with a self-signed certificate (%s): for development", cert)
        worker = dataclasses.replace(worker, tls_cert_file=cert, tls_private_key_file=key)
    return worker


class _Worker:
    """A worker process and the pipe on which it says it listens."""

    def __init__(self, proc: asyncio.subprocess.Process, ready: asyncio.StreamReader) -> None:
        self._proc = proc
        self._ready = ready

    @property
    def pid(self) -> int:
        return self._proc.pid

    @property
    def returncode(self) -> int | None:
        return self._proc.returncode

    async def wait(self) -> int:
        return await self._proc.wait()

    async def listening(self) -> None:
        # A line, or EOF without one: it exited before listening.
        await self._ready.readline()

    def send_signal(self, sig: int) -> None:
        self._proc.send_signal(sig)

    def kill(self) -> None:
        self._proc.kill()


def _launcher(run_dir: Path, spec: Spec) -> Launch:
    async def launch(slot: int) -> WorkerProcess:
        ready_read, ready_write = os.pipe()
        inherited = [ready_write] + ([spec.unix_fd] if spec.unix_fd is not None else [])
        try:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "watchcache.workers.worker",
                str(run_dir),
                str(slot),
                str(ready_write),
                pass_fds=inherited,
                preexec_fn=_die_with_parent,
            )
        finally:
            os.close(ready_write)
        ready = asyncio.StreamReader()
        loop = asyncio.get_running_loop()
        pipe = os.fdopen(ready_read, "rb", buffering=0)
        transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(ready), pipe
        )
        proc_ready = _Worker(proc, ready)
        # The pipe is read once; its end closes with the process's.
        asyncio.ensure_future(proc.wait()).add_done_callback(lambda _: transport.close())
        return proc_ready

    return launch


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL when the primary dies, however."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


@contextlib.contextmanager
def _run_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="watchcache-workers-"))  # mode 0700
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def _reserved(config: ServeConfig) -> Iterator[tuple[tuple[str, ...], socket.socket | None]]:
    """Each --listen address with its port resolved, held by a bound,
    never listening SO_REUSEPORT socket; the --listen-unix socket, listening."""
    held: list[socket.socket] = []
    unix: socket.socket | None = None
    try:
        listen = []
        for host, port in config.listen_addresses():
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            held.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, port))
            bound = sock.getsockname()[1]
            listen.append(f"[{host}]:{bound}" if ":" in host else f"{host}:{bound}")
        if config.listen_unix:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(config.listen_unix)
            unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            held.append(unix)
            unix.bind(config.listen_unix)
            unix.listen(LISTEN_BACKLOG)
            os.chmod(config.listen_unix, 0o660)
            unix.set_inheritable(True)
        yield tuple(listen), unix
    finally:
        for sock in held:
            sock.close()
        if unix is not None and config.listen_unix:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(config.listen_unix)
