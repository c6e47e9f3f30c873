"""The ``watchcache`` command.

Subcommands:
    serve         the proxy (docs/serve.md)
    dev-cluster   run a real kube-apiserver v1.20 control plane on 127.0.0.1
    version       print the version

Every subcommand has ``--help``. Errors print one line and exit non-zero;
tracebacks are for bugs only.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from watchcache import __version__

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if not args.quiet else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except _UserError as err:
        print(f"watchcache: {err}", file=sys.stderr)
        return 1


class _UserError(Exception):
    """An error the user can act on; printed without a traceback."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="watchcache",
        description="Serve Kubernetes LIST and WATCH from a sharded in-memory cache.",
    )
    parser.add_argument("--version", action="version", version=f"watchcache {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="only print warnings and errors")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    version = sub.add_parser("version", help="print the version")
    version.set_defaults(func=lambda _args: _print(__version__))

    _add_serve(sub)
    _add_dev_cluster(sub)
    return parser


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _print(text: str) -> int:
    print(text)
    return 0


# -- serve -------------------------------------------------------------------


def _add_serve(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from watchcache.proxy.config import add_arguments

    serve = sub.add_parser(
        "serve",
        help="run the proxy in front of kube-apiserver (or the embedded simulator)",
        description=(
            "Serve the Kubernetes API on 127.0.0.1:8001, forwarding to the upstream named by "
            "--kubeconfig/--context or --in-cluster. With neither (and no $KUBECONFIG or "
            "~/.kube/config), serve the embedded simulated API server with a demo workload. "
            "Every flag is also an environment variable and a key of the --config TOML file; "
            "see docs/serve.md."
        ),
    )
    add_arguments(serve)
    serve.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    import uvloop

    from watchcache.cache.allocator import return_large_buffers
    from watchcache.proxy.config import ConfigError, load_config
    from watchcache.proxy.logs import configure_logging
    from watchcache.proxy.serve import serve
    from watchcache.upstream import UpstreamError

    try:
        config = load_config(args)
    except ConfigError as err:
        raise _UserError(str(err)) from None
    configure_logging(config.effective_log_level(), config.logging_format)
    for warning in config.warnings:
        logging.getLogger("watchcache.config").warning("%s", warning)
    return_large_buffers()  # freed LIST buffers go back to the OS (allocator.py)
    try:
        uvloop.run(serve(config))
    except (UpstreamError, OSError) as err:
        raise _UserError(str(err)) from None
    return 0


# -- dev-cluster -------------------------------------------------------------


def _default_cluster_dir() -> Path:
    from watchcache.devcluster.binaries import cache_dir

    return cache_dir() / "dev-cluster"


def _add_dev_cluster(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    dev = sub.add_parser(
        "dev-cluster",
        help="run a real kube-apiserver v1.20 control plane on 127.0.0.1",
        description=(
            "Start etcd, kube-apiserver and kube-controller-manager v1.20.2 on free 127.0.0.1 "
            "ports, with token and client-certificate authentication, RBAC and TLS. The first "
            "run builds the binaries from Debian's kubernetes source package (about 10 minutes, "
            "needs root for apt-get) and caches them in $WATCHCACHE_CACHE_DIR "
            "(default ~/.cache/watchcache)."
        ),
    )
    actions = dev.add_subparsers(title="actions", metavar="ACTION")

    def with_dir(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument(
            "--dir",
            type=Path,
            default=_default_cluster_dir(),
            help="the cluster's directory: keys, logs, kubeconfig, state (default: %(default)s)",
        )
        return p

    up = with_dir(actions.add_parser("up", help="start a cluster and write its kubeconfig"))
    up.add_argument(
        "--compaction-interval",
        default="5m",
        help="kube-apiserver's --etcd-compaction-interval, a Go duration; "
        "0 disables it (default: %(default)s)",
    )
    up.add_argument(
        "--foreground",
        action="store_true",
        help="stay in the foreground and stop the cluster on Ctrl-C or SIGTERM "
        "(default: start it in the background and return)",
    )
    up.set_defaults(func=_cluster_up)

    down = with_dir(actions.add_parser("down", help="stop the cluster started from --dir"))
    down.set_defaults(func=_cluster_down)

    status = with_dir(actions.add_parser("status", help="say whether the cluster in --dir runs"))
    status.set_defaults(func=_cluster_status)

    build = actions.add_parser("build", help="build (or find cached) binaries and print where")
    build.set_defaults(func=_cluster_build)
    dev.set_defaults(func=lambda _args: _help(dev))


def _cluster_up(args: argparse.Namespace) -> int:
    from watchcache.devcluster import ClusterConfig, DevCluster, DevClusterError

    if (args.dir / "state.json").exists():
        try:
            running = DevCluster.attach(args.dir)
        except DevClusterError:
            running = None
        if running and any(p.alive() for p in running.processes):
            raise _UserError(
                f"a dev cluster already runs from {args.dir} ({running.url}); "
                "`watchcache dev-cluster down` stops it"
            )
    cluster = DevCluster(
        ClusterConfig(
            workdir=args.dir.resolve(),
            compaction_interval=args.compaction_interval,
            tie_to_parent=args.foreground,
        )
    )
    try:
        cluster.start()
    except DevClusterError as err:
        raise _UserError(str(err)) from None
    print(f"kube-apiserver v1.20.2 is up at {cluster.url}")
    print(f"  export KUBECONFIG={cluster.kubeconfig}")
    print(
        "  contexts: watchcache-dev (admin token), watchcache-dev-cert (admin client "
        "certificate), watchcache-dev-nobody (no rights)"
    )
    if not args.foreground:
        print(f"  stop it with: watchcache dev-cluster down --dir {args.dir}")
        return 0
    print("  Ctrl-C stops it")
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        while all(p.alive() for p in cluster.processes):
            time.sleep(1)
        dead = [p for p in cluster.processes if not p.alive()]
        print(f"watchcache: {dead[0].name} exited; log {dead[0].log}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        cluster.stop()


def _cluster_down(args: argparse.Namespace) -> int:
    from watchcache.devcluster import DevCluster, DevClusterError

    try:
        cluster = DevCluster.attach(args.dir)
    except DevClusterError as err:
        raise _UserError(str(err)) from None
    cluster.stop()
    print(f"stopped the dev cluster in {args.dir}")
    return 0


def _cluster_status(args: argparse.Namespace) -> int:
    from watchcache.devcluster import DevCluster, DevClusterError

    try:
        cluster = DevCluster.attach(args.dir)
    except DevClusterError as err:
        print(err)
        return 3
    for proc in cluster.processes:
        print(f"{proc.name:<24} pid {proc.pid:<8} {'running' if proc.alive() else 'EXITED'}")
    print(f"url {cluster.url}\nkubeconfig {cluster.kubeconfig}")
    return 0 if all(p.alive() for p in cluster.processes) else 1


def _cluster_build(_args: argparse.Namespace) -> int:
    from watchcache.devcluster import find_binaries

    if os.geteuid() != 0:
        print(
            "watchcache: note: the build installs Debian packages and needs root", file=sys.stderr
        )
    binaries = find_binaries()
    for name, path in vars(binaries).items():
        print(f"{name:<24} {path}")
    return 0
