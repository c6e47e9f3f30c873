"""readiness.py: a worker fails readiness with the primary's reason."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from watchcache.upstream import UpstreamClient, UpstreamConfig
from watchcache.workers.readiness import PrimaryReadiness


@pytest.fixture
async def primary(tmp_path: Path) -> AsyncIterator[tuple[list[str | None], UpstreamClient]]:
    """A primary's /readyz on a Unix socket, failing with the reason set."""
    failing: list[str | None] = [None]

    async def readyz(request: web.Request) -> web.Response:
        assert request.query.get("verbose") == "1"
        if failing[0] is None:
            return web.Response(text="[+]cache-pods ok\nreadyz check passed\n")
        text = f"[+]ping ok\n[-]cache-pods failed: {failing[0]}\nreadyz check failed\n"
        return web.Response(status=500, text=text)

    app = web.Application()
    app.router.add_get("/readyz", readyz)
    runner = web.AppRunner(app)
    await runner.setup()
    path = tmp_path / "feed.sock"
    await web.UnixSite(runner, str(path)).start()
    config = UpstreamConfig("http://localhost", unix_socket=str(path))
    async with UpstreamClient(config) as client:
        yield failing, client
    await runner.cleanup()


async def test_the_primarys_failure_is_the_workers(
    primary: tuple[list[str | None], UpstreamClient],
) -> None:
    failing, client = primary
    readiness = PrimaryReadiness(client)
    assert readiness.unready() is None  # before the first answer
    await readiness.poll_once()
    assert readiness.unready() is None
    failing[0] = "stale: nothing heard from upstream for 130s (bound 120s)"
    await readiness.poll_once()
    assert readiness.unready() == (
        "the primary is not ready: [-]cache-pods failed: "
        "stale: nothing heard from upstream for 130s (bound 120s)"
    )
    failing[0] = None
    await readiness.poll_once()
    assert readiness.unready() is None


async def test_a_primary_that_does_not_answer_is_not_ready(tmp_path: Path) -> None:
    config = UpstreamConfig("http://localhost", unix_socket=str(tmp_path / "absent.sock"))
    async with UpstreamClient(config) as client:
        readiness = PrimaryReadiness(client)
        await readiness.poll_once()
    assert (readiness.unready() or "").startswith("the primary does not answer: ")
