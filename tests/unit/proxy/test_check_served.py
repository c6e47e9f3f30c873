"""--resources naming something upstream does not serve fails at start in
one line, instead of a cache that retries for ever and never gets ready."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
import yaml

from watchcache.proxy.caches import check_served
from watchcache.simulator.app import Simulator
from watchcache.upstream import ConfigError, UpstreamClient, UpstreamConfig


async def test_served_resources_pass_and_others_are_named() -> None:
    sim = Simulator()
    url = await sim.start("127.0.0.1", 0)
    try:
        async with UpstreamClient(UpstreamConfig(url)) as client:
            await check_served(client, ["pods", "nodes", "apps/v1/deployments"])
            with pytest.raises(ConfigError, match=r"serves no resource 'widgets' in v1"):
                await check_served(client, ["pods", "widgets"])
            with pytest.raises(ConfigError, match=r"does not serve the API example.com/v1"):
                await check_served(client, ["example.com/v1/widgets"])
            with pytest.raises(ConfigError, match="expected a plural name"):
                await check_served(client, ["a/b"])
    finally:
        await sim.stop()


async def test_unreachable_discovery_is_not_a_verdict() -> None:
    async with UpstreamClient(UpstreamConfig("http://127.0.0.1:9")) as client:
        await check_served(client, ["pods"])  # logged; the caches will retry


async def test_serve_exits_with_one_line(tmp_path: Path) -> None:
    sim = Simulator()
    url = await sim.start("127.0.0.1", 0)
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "s", "cluster": {"server": url}}],
                "users": [{"name": "u", "user": {}}],
                "contexts": [{"name": "c", "context": {"cluster": "s", "user": "u"}}],
                "current-context": "c",
            }
        )
    )
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "watchcache",
            "serve",
            f"--kubeconfig={kubeconfig}",
            "--listen=127.0.0.1:0",
            "--auth=none",
            "--resources=pods,widgets",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        await sim.stop()
    assert proc.returncode == 1
    lines = err.decode().strip().splitlines()
    assert lines[-1] == f"watchcache: --resources widgets: {url} serves no resource 'widgets' in v1"
    assert "Traceback" not in err.decode()
