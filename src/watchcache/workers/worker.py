"""One worker process: ``python -m watchcache.workers.worker RUN_DIR SLOT READY_FD``.

Started by the primary (primary.py), never by hand. It reads the run's
``spec.json`` (written by the primary: the settings, with the listeners'
resolved ports, and where upstream and the feed are), runs ``open_proxy``
as a ``Replica`` of the primary (proxy/serve.py), ready only while the
primary is (readiness.py), answers its own metrics on its control socket, writes one line to READY_FD once it listens, and
serves until SIGTERM or SIGINT, then shuts down in the staged order
(proxy/server.py).
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from watchcache.proxy.config import ServeConfig
from watchcache.proxy.metrics import ProxyMetrics
from watchcache.proxy.serve import Replica, open_proxy, upstream_config
from watchcache.proxy.server import run_until_signalled
from watchcache.upstream import UpstreamClient, UpstreamConfig
from watchcache.workers.control import control_socket, serving_control
from watchcache.workers.metrics import PRIMARY, Gatherer
from watchcache.workers.readiness import PrimaryReadiness
from watchcache.workers.replica import PrimaryAutoCaches, Seeder

__all__ = ["FEED_HOST", "Spec", "main", "run_worker"]

# The Host the feed is asked with: one its plain-HTTP Host filter accepts.
FEED_HOST = "http://localhost"


@dataclass(frozen=True)
class Spec:
    """What the primary tells its workers, as ``spec.json`` in the run directory."""

    config: ServeConfig
    feed_socket: str
    control_dir: str
    # The embedded simulator's URL (it runs in the primary); None: the
    # settings name upstream, and each worker loads it as the primary did.
    embedded_url: str | None = None
    # The --listen-unix socket, listening, inherited by this number.
    unix_fd: int | None = None

    def encode(self) -> bytes:
        config = {
            name: value
            for name, value in vars(self.config).items()
            if name not in ("sources", "warnings")
        }
        return msgspec.json.encode({**vars(self), "config": config})

    @classmethod
    def decode(cls, data: bytes) -> Spec:
        raw: dict[str, Any] = msgspec.json.decode(data)
        config: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in raw["config"].items()
        }
        return cls(**{**raw, "config": ServeConfig(**config)})

    def upstream(self) -> UpstreamConfig:
        if self.embedded_url is not None:
            return UpstreamConfig(self.embedded_url, origin="embedded simulator")
        loaded = upstream_config(self.config)
        assert loaded is not None, "the primary found an upstream with the same settings"
        return loaded


async def run_worker(spec: Spec, slot: int, ready_fd: int) -> None:
    control_dir = Path(spec.control_dir)
    feed = UpstreamConfig(FEED_HOST, unix_socket=spec.feed_socket, origin="the primary's feed")
    metrics: list[ProxyMetrics] = []
    gatherer = Gatherer(control_dir, str(slot), lambda: metrics[0].exposition())
    unix = None
    if spec.unix_fd is not None:
        unix = socket.socket(fileno=spec.unix_fd)
    async with UpstreamClient(feed) as to_primary:
        primary_control = control_socket(control_dir, PRIMARY)
        replica = Replica(
            feed=feed,
            seed=Seeder(to_primary, primary_control),
            exposition=gatherer,
            unix_socket=unix,
            upper=PrimaryAutoCaches(primary_control),
        )
        embedded = spec.embedded_url is not None
        async with open_proxy(
            spec.config, spec.upstream(), embedded=embedded, replica=replica
        ) as proxy:
            metrics.append(proxy.parts.metrics)
            own = control_socket(control_dir, str(slot))
            primary = PrimaryReadiness(to_primary)
            proxy.parts.health.add_readiness("primary", primary.unready)
            async with (
                serving_control(own, proxy.parts.metrics.exposition),
                primary.running(),
            ):
                os.write(ready_fd, b"listening\n")
                os.close(ready_fd)
                await run_until_signalled(proxy)


def main(argv: list[str]) -> int:
    import uvloop

    from watchcache.cache.allocator import return_large_buffers
    from watchcache.proxy.logs import configure_logging

    run_dir, slot, ready_fd = Path(argv[0]), int(argv[1]), int(argv[2])
    spec = Spec.decode((run_dir / "spec.json").read_bytes())
    configure_logging(spec.config.effective_log_level(), spec.config.logging_format)
    return_large_buffers()
    with contextlib.suppress(KeyboardInterrupt):
        uvloop.run(run_worker(spec, slot, ready_fd))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
