"""``watchcache serve`` from settings to a running proxy.

Reads of the resources named by ``--resources`` (and with ``--auto-cache``
of those read since, autocache.py) are answered from caches that mirror
the read upstream (reads.py); everything else is forwarded.

Choosing the upstream, in order:
    1. ``--in-cluster``: the pod's service account;
    2. ``--kubeconfig`` (or $KUBECONFIG, or ~/.kube/config when it exists),
       with ``--context``;
    3. none of those: the embedded default, the simulated API server
       (``watchcache.simulator``) started in this process with a small demo
       workload, so ``watchcache serve`` alone shows the product working.

``--read-upstream`` and ``--write-upstream`` replace the server URL of the
chosen upstream for reads and for writes; credentials and TLS settings
stay those of the kubeconfig (a read tier of proxies on loopback usually
needs neither).

``--workers`` above 1 hands the whole to ``watchcache.workers``: this
process becomes the primary (it reflects upstream and feeds the workers),
and each worker process runs ``open_proxy`` as a ``Replica`` of it.

Lifecycle (cleanup in reverse): upstream clients, then the listeners; on
SIGTERM/SIGINT the listeners' orderly shutdown (server.py), then the
clients close.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from watchcache.auth import Authenticator, Authorizer, ClientCertificates, Delegation
from watchcache.cache.allocator import glibc_trim, trim_periodically
from watchcache.cache.cache import Cache, CacheConfig
from watchcache.proxy.app import ProxyParts
from watchcache.proxy.autocache import Upper, custom_caching
from watchcache.proxy.cachemetrics import CacheCollector
from watchcache.proxy.caches import CacheFactory, open_caches
from watchcache.proxy.compression import Compression
from watchcache.proxy.config import ConfigError, ServeConfig
from watchcache.proxy.discovery import Discovery, discovery_running
from watchcache.proxy.drain import StreamTracker
from watchcache.proxy.fairness import Fairness, Limits
from watchcache.proxy.forward import Forwarder
from watchcache.proxy.metrics import ProxyMetrics
from watchcache.proxy.persistence import StateDir
from watchcache.proxy.reads import ReadPath
from watchcache.proxy.rendering import RENDERINGS, with_custom_tables
from watchcache.proxy.server import RunningProxy, run_until_signalled, start_proxy
from watchcache.upstream import UpstreamClient, UpstreamConfig, load_incluster, load_kubeconfig
from watchcache.upstream.kubeconfig import kubeconfig_paths
from watchcache.upstream.ratelimit import RateLimitedClient, TokenBucket

__all__ = ["Replica", "announce", "open_proxy", "serve", "upstream_config"]

log = logging.getLogger(__name__)


def _kubeconfig_given(config: ServeConfig, environ: Mapping[str, str]) -> bool:
    """A named kubeconfig (flag or $KUBECONFIG, even a missing one: that is
    an error to report, not a reason to fall back), or kubectl's default."""
    if config.kubeconfig or environ.get("KUBECONFIG"):
        return True
    return any(path.exists() for path in kubeconfig_paths(environ))


def upstream_config(
    config: ServeConfig, environ: Mapping[str, str] = os.environ
) -> UpstreamConfig | None:
    """The upstream the settings name, or None for the embedded default."""
    if config.in_cluster:
        return load_incluster()
    if _kubeconfig_given(config, environ):
        return load_kubeconfig(config.kubeconfig, context=config.context)
    return None


@dataclass(frozen=True)
class Replica:
    """How a worker process's proxy (watchcache.workers) differs from a
    lone one: its caches list, watch and probe ``feed`` (the primary, a
    watchcache itself) instead of upstream, starting from ``seed``; its
    discovery documents come from the feed too, unwatched; its TCP
    listeners share their ports (SO_REUSEPORT) and its Unix listener is
    ``unix_socket``, inherited; /metrics answers ``exposition``, every
    process's; with --auto-cache, ``upper`` asks the primary whether it
    caches a resource (autocache.py). Forwarded requests still go to
    upstream directly."""

    feed: UpstreamConfig
    seed: Callable[[str, Cache], Awaitable[None]]
    exposition: Callable[[], Awaitable[bytes]]
    unix_socket: socket.socket | None = None
    upper: Upper | None = None


@contextlib.asynccontextmanager
async def open_proxy(
    config: ServeConfig,
    upstream: UpstreamConfig,
    *,
    embedded: bool = False,
    replica: Replica | None = None,
    feed: bool = False,
) -> AsyncIterator[RunningProxy]:
    """A listening proxy in front of ``upstream`` (the embedded simulator
    when ``embedded``); closed on exit. ``replica``: a worker process's;
    ``feed``: the primary's, serving its workers (autocache.py's
    ``serve_unready``)."""
    read_config = (
        dataclasses.replace(upstream, server=config.read_upstream)
        if config.read_upstream
        else upstream
    )
    write_config = (
        dataclasses.replace(upstream, server=config.write_upstream)
        if config.write_upstream
        else upstream
    )
    streams = StreamTracker()
    metrics = ProxyMetrics()
    cache_config = CacheConfig(
        shard_count=config.shards,
        history_window=config.history_window,
        history_max_bytes=config.history_max_bytes,
        history_packing=config.history_packing,
    )
    # The caches' own requests are rate-limited; forwarded ones are not.
    limiter = TokenBucket(config.kube_api_qps, config.kube_api_burst)
    state_dir = None
    if config.cache_dir:
        state_dir = StateDir(
            Path(config.cache_dir), read_config, save_interval=config.cache_save_interval
        )
        metrics.registry.register(state_dir)
    async with (
        UpstreamClient(read_config) as read,
        UpstreamClient(write_config) as write,
        RateLimitedClient(replica.feed if replica else read_config, limiter=limiter) as own,
        open_caches(
            config.resources,
            own,
            cache_config,
            max_staleness=config.max_staleness,
            serve_stale=config.serve_stale_on_outage,
            state_dir=state_dir,
            seed=replica.seed if replica else None,
            write_window=config.watch_write_window,
            consistency_check_interval=config.consistency_check_interval,
        ) as caches,
        contextlib.AsyncExitStack() as stack,  # closed first
    ):
        forwarder = Forwarder(read, write, streams, metrics, answer_timeout=config.upstream_timeout)
        delegation = _delegation(config, write, embedded=embedded)
        authorizer = delegation.authorizer if delegation else None
        renderings = RENDERINGS
        if not config.protobuf:
            renderings = tuple(r for r in RENDERINGS if r.family != "protobuf")
        factory = CacheFactory(
            own,
            cache_config,
            max_staleness=config.max_staleness,
            serve_stale=config.serve_stale_on_outage,
            write_window=config.watch_write_window,
            consistency_check_interval=config.consistency_check_interval,
        )
        custom = await stack.enter_async_context(
            custom_caching(
                config,
                caches,
                factory,
                metrics,
                streams,
                state_dir=state_dir,
                serve_unready=feed,
                upper=replica.upper if replica else None,
                seed=replica.seed if replica else None,
            )
        )
        if custom.definitions is not None:
            renderings = with_custom_tables(renderings, custom.definitions.printer)
        fairness = Fairness(
            Limits(config.max_lists_inflight_per_client, config.max_watches_per_client)
        )
        metrics.registry.register(fairness)
        reads = ReadPath(
            caches,
            forwarder,
            authorizer=authorizer,
            renderings=renderings,
            compression=Compression(enabled=config.response_compression),
            auto=custom.auto,
            fairness=fairness,
            ask=forwarder.asking,
        )
        parts = ProxyParts(
            config=config,
            handle=reads,
            metrics=metrics,
            streams=streams,
            delegation=delegation,
            exposition=replica.exposition if replica else None,
        )
        if config.discovery_ttl > 0:
            discovery = (
                Discovery(own, ttl=config.discovery_ttl, watch=False)
                if replica
                else Discovery(read, ttl=config.discovery_ttl)
            )
            parts.discovery = await stack.enter_async_context(discovery_running(discovery))
        metrics.registry.register(CacheCollector(functools.partial(custom.labelled, caches)))
        for gvr, resource in caches.items():
            parts.health.add_readiness(f"cache-{gvr.resource}", resource.unready)
            parts.health.add_note(f"cache-{gvr.resource}", resource.outage)
            streams.add_source(functools.partial(resource.registry.closers, "shutting down"))
        proxy = await start_proxy(
            parts,
            reuse_port=replica is not None,
            unix_socket=replica.unix_socket if replica else None,
        )
        # Each process trims its own heap (a worker's, the primary's).
        trimming = asyncio.create_task(trim_periodically(config.malloc_trim_interval, glibc_trim()))
        try:
            yield proxy
        finally:
            trimming.cancel()
            if proxy.runner.server is not None:
                await proxy.stop()


def _delegation(
    config: ServeConfig, reviewer: UpstreamClient, *, embedded: bool
) -> Delegation | None:
    """--auth=delegated's authenticator and authorizer, reviewing with the
    write upstream (kube-apiserver itself); None with --auth=none."""
    mode = config.auth_mode(embedded=embedded)
    if mode == "none":
        if not config.loopback_only():
            raise ConfigError(
                "--auth=none (the default in front of the embedded simulator) "
                "listens on loopback only"
            )
        return None
    return Delegation(
        Authenticator(
            reviewer,
            anonymous=config.anonymous_auth,
            audiences=config.api_audiences,
            ttl=config.authentication_token_webhook_cache_ttl,
            # Loaded with --client-ca-file by the serving TLS (server.py).
            certificates=ClientCertificates() if config.client_ca_file else None,
        ),
        Authorizer(
            reviewer,
            allowed_ttl=config.authorization_webhook_cache_authorized_ttl,
            denied_ttl=config.authorization_webhook_cache_unauthorized_ttl,
        ),
    )


async def serve(config: ServeConfig) -> None:
    upstream = upstream_config(config)
    if upstream is None:
        async with embedded_upstream() as simulated:
            await _serve(config, simulated, embedded=True)
        return
    await _serve(config, upstream, embedded=False)


async def _serve(config: ServeConfig, upstream: UpstreamConfig, *, embedded: bool) -> None:
    if config.worker_count() > 1:
        from watchcache.workers.primary import serve_workers

        await serve_workers(config, upstream, embedded=embedded)
        return
    await _serve_alone(config, upstream, embedded=embedded)


# The demo workload changes something this often: often enough that
# `kubectl get pods -w` shows life within seconds.
DEMO_STEP_SECONDS = 2.0


@contextlib.asynccontextmanager
async def embedded_upstream() -> AsyncIterator[UpstreamConfig]:
    """The simulated API server on a free loopback port, with its demo
    workload running, as an upstream; stopped on exit."""
    from watchcache.simulator.app import Simulator
    from watchcache.simulator.demo import DemoWorkload

    simulator = Simulator()
    url = await simulator.start("127.0.0.1", 0)
    workload = DemoWorkload(simulator)

    async def live() -> None:
        while True:
            await asyncio.sleep(DEMO_STEP_SECONDS)
            workload.step()

    stepping = asyncio.get_running_loop().create_task(live())
    try:
        yield UpstreamConfig(url, origin="embedded simulator")
    finally:
        stepping.cancel()
        await simulator.stop()


async def _serve_alone(config: ServeConfig, upstream: UpstreamConfig, *, embedded: bool) -> None:
    async with open_proxy(config, upstream, embedded=embedded) as proxy:
        announce(
            proxy.urls, upstream, embedded=embedded, delegated=proxy.parts.delegation is not None
        )
        await run_until_signalled(proxy)


def announce(urls: list[str], upstream: UpstreamConfig, *, embedded: bool, delegated: bool) -> None:
    """The start-up lines: where to point kubectl."""
    where = "the embedded simulated API server" if embedded else upstream.server
    log.info("serving on %s in front of %s", ", ".join(urls), where)
    print(f"watchcache is serving on {urls[0]} in front of {where}", flush=True)
    print(f"  kubectl --server {urls[0]} get pods -A", flush=True)
    if delegated:
        # kubectl sends its kubeconfig's token (or certificate, over
        # HTTPS); upstream decides who that is.
        print("  (as yourself: --auth=delegated checks your credentials upstream)", flush=True)
