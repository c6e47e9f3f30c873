"""A proxy in this process, for tests: its settings from flags, the wait
until it is ready, and both together with a client session."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import AsyncIterator

import aiohttp
from tests.polling import until

from watchcache.proxy.config import ServeConfig, add_arguments, load_config
from watchcache.proxy.serve import open_proxy
from watchcache.proxy.server import RunningProxy
from watchcache.upstream import UpstreamConfig

__all__ = ["ready_proxy", "serve_config", "wait_until_ready"]


def serve_config(*argv: str) -> ServeConfig:
    """``watchcache serve``'s settings for ``argv``, on a free loopback port
    with no shutdown spread and ``--auth=none`` (the proxy's own
    credentials) unless ``argv`` says otherwise; the environment is not
    read."""
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    base = ["--listen", "127.0.0.1:0", "--shutdown-spread", "0", "--auth", "none"]
    return load_config(parser.parse_args([*base, *argv]), {})


async def wait_until_ready(session: aiohttp.ClientSession, url: str, timeout: float = 60.0) -> None:
    """Until ``url``/readyz answers 200 (every cache has synced)."""

    async def ready() -> bool:
        async with session.get(url + "/readyz") as r:
            return r.status == 200

    await until(ready, f"{url} to be ready", timeout=timeout, every=0.02)


@contextlib.asynccontextmanager
async def ready_proxy(
    upstream: str, *argv: str
) -> AsyncIterator[tuple[RunningProxy, aiohttp.ClientSession]]:
    """A proxy in front of ``upstream`` with ``serve_config(*argv)``, once it
    is ready, and a client session; both closed on exit, the session first."""
    async with (
        open_proxy(serve_config(*argv), UpstreamConfig(upstream)) as proxy,
        aiohttp.ClientSession() as session,
    ):
        await wait_until_ready(session, proxy.urls[0])
        yield proxy, session
