"""``python -m benchmarks.nodesim``: run the node simulator against a server.

Examples (from the repository root):

    # against a running dev cluster
    python -m benchmarks.nodesim --kubeconfig ~/.cache/watchcache/dev-cluster/kubeconfig \\
        --nodes 100 --pods 1000 --churn 50 --duration 30

    # against any server by URL and token
    python -m benchmarks.nodesim --server https://127.0.0.1:6443 --token T --ca ca.crt

Prints progress on stderr and one JSON result on stdout (or --output FILE).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import ssl
import sys
from pathlib import Path

from benchmarks.nodesim.driver import RunConfig, run
from benchmarks.nodesim.node import PROFILES
from benchmarks.nodesim.target import Target
from watchcache.upstream import load_kubeconfig
from watchcache.upstream.tls import build_context


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.nodesim",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    where = parser.add_argument_group("target")
    where.add_argument(
        "--kubeconfig",
        type=Path,
        help="take server, token and CA from this kubeconfig's current context",
    )
    where.add_argument("--server", help="base URL of the API server (or the proxy) under test")
    where.add_argument("--token", help="bearer token")
    where.add_argument("--ca", help="CA certificate file for https")
    where.add_argument(
        "--insecure", action="store_true", help="do not verify the server's certificate"
    )
    where.add_argument(
        "--connections", type=int, default=200, help="connection pool size (default: %(default)s)"
    )
    load = parser.add_argument_group("load")
    defaults = RunConfig()
    load.add_argument(
        "--nodes", type=int, default=defaults.nodes, help="simulated nodes (default: %(default)s)"
    )
    load.add_argument(
        "--pods",
        type=int,
        default=defaults.pods,
        help="pods, bound round-robin (default: %(default)s)",
    )
    load.add_argument(
        "--churn",
        type=float,
        default=defaults.churn,
        help="pod patches per second (default: %(default)s)",
    )
    load.add_argument(
        "--duration",
        type=float,
        default=defaults.duration,
        help="seconds of churn (default: %(default)s)",
    )
    load.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        default=defaults.profile,
        help="heartbeat schedule (default: %(default)s)",
    )
    load.add_argument(
        "--pod-size", type=int, default=defaults.pod_size, help="padding bytes per pod (default: 0)"
    )
    load.add_argument(
        "--namespace",
        default=defaults.namespace,
        help="namespace of the pods (default: %(default)s)",
    )
    load.add_argument(
        "--concurrency",
        type=int,
        default=defaults.concurrency,
        help="writes in flight at once (default: %(default)s)",
    )
    load.add_argument(
        "--settle",
        type=float,
        default=defaults.settle,
        help="seconds to wait for the last events (default: %(default)s)",
    )
    load.add_argument("--keep", action="store_true", help="leave nodes and leases behind")
    parser.add_argument("--output", type=Path, help="write the JSON result here too")
    args = parser.parse_args(argv)

    context = None
    if args.kubeconfig:
        server, token, context = _from_kubeconfig(args.kubeconfig)
        args.server = args.server or server
        args.token = args.token or token
    if not args.server:
        parser.error("give --server or --kubeconfig")
    config = RunConfig(
        nodes=args.nodes,
        pods=args.pods,
        churn=args.churn,
        duration=args.duration,
        profile=args.profile,
        namespace=args.namespace,
        pod_size=args.pod_size,
        concurrency=args.concurrency,
        settle=args.settle,
        keep=args.keep,
    )
    target = Target(
        args.server,
        token=args.token,
        ca_file=args.ca,
        insecure=args.insecure,
        connections=args.connections,
        ssl_context=context,
    )

    async def go() -> dict[str, object]:
        async with target:
            return await run(
                target, config, progress=lambda m: print(f"nodesim: {m}", file=sys.stderr)
            )

    result = asyncio.run(go())
    text = json.dumps(result, indent=2)
    print(text)
    if args.output:
        args.output.write_text(text + "\n")
    delivery = result["delivery"]
    assert isinstance(delivery, dict)
    return 0 if delivery["lost"] == delivery["duplicated"] == delivery["out_of_order"] == 0 else 1


def _from_kubeconfig(path: Path) -> tuple[str, str | None, ssl.SSLContext | None]:
    """Server, token and TLS context as watchcache's own loader reads the
    kubeconfig (tokens, token files, client certificates, exec plugins)."""
    config = load_kubeconfig(path)
    credential = asyncio.run(config.credentials.get())
    https = config.server.startswith("https:")
    return (
        config.server,
        credential.token,
        build_context(config.tls, credential.client_cert) if https else None,
    )


if __name__ == "__main__":
    raise SystemExit(main())
