"""``watchcache serve``'s settings: one table, three sources, one document.

Every setting is declared once in ``OPTIONS``. From that table come the
command-line flags (``--read-upstream``), the environment variables
(``WATCHCACHE_READ_UPSTREAM``) and the keys of the TOML config file
(``read-upstream = "..."``), and ``docs/serve.md`` is checked against it by
a test, so no setting goes undocumented.

Precedence, highest first: command line, environment, config file, default.

Spelling: Kubernetes' own where kube-apiserver has the setting
(``--tls-private-key-file``, ``-v``/``--v``, ``--logging-format``). An
option's ``old_names`` are its earlier spellings: still accepted as flag,
environment variable and file key, each use adding a deprecation warning
to ``ServeConfig.warnings`` (logged at start); the new spelling wins when
both are given at the same level.

Glossary:
    upstream        the kube-apiserver (or another watchcache) behind us
    read upstream   where cached resources are listed and watched from, and
                    uncached reads go; may be another proxy (a read tier)
    write upstream  where writes go; normally kube-apiserver itself
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["OPTIONS", "ConfigError", "Option", "ServeConfig", "add_arguments", "load_config"]

ENV_PREFIX = "WATCHCACHE_"


class ConfigError(ValueError):
    """A setting has a value that cannot work; the message names it."""


@dataclass(frozen=True)
class Option:
    name: str  # the flag without dashes, the TOML key, and (upper, _) the env suffix
    help: str
    default: Any = None
    parse: Callable[[str], Any] = str
    repeated: bool = False  # a list: flag may repeat, env and file take comma-separated
    flag_only: bool = False  # a switch: --name sets True
    old_names: tuple[str, ...] = ()  # deprecated spellings, still accepted
    short: str | None = None  # a one-letter flag too, e.g. "-v"

    @property
    def flag(self) -> str:
        return f"--{self.name}"

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper().replace("-", "_")

    @property
    def attr(self) -> str:
        return self.name.replace("-", "_")


def _duration(text: str) -> float:
    """Seconds from "75s", "2m", "1h", "500ms" or a bare number of seconds."""
    text = text.strip()
    for suffix, scale in (("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0)):
        if text.endswith(suffix) and text[: -len(suffix)].replace(".", "", 1).isdigit():
            return float(text[: -len(suffix)]) * scale
    try:
        return float(text)
    except ValueError:
        raise ConfigError(f"not a duration: {text!r} (use e.g. 75s, 2m, 500ms)") from None


def _whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"not a whole number: {text!r}") from None


def _positive_int(text: str) -> int:
    value = _whole_number(text)
    if value < 1:
        raise ConfigError(f"must be at least 1: {value}")
    return value


def _count(text: str) -> int:
    value = _whole_number(text)
    if value < 0:
        raise ConfigError(f"must be 0 (no bound) or more: {value}")
    return value


def _byte_size(text: str) -> int:
    """Bytes from "64Mi", "1Gi", "512Ki" or a bare number of bytes."""
    text = text.strip()
    for suffix, scale in (("Ki", 1 << 10), ("Mi", 1 << 20), ("Gi", 1 << 30)):
        if text.endswith(suffix) and text[: -len(suffix)].isdigit():
            return int(text[: -len(suffix)]) * scale
    if text.isdigit():
        return int(text)
    raise ConfigError(f"not a size: {text!r} (use e.g. 64Mi, 1Gi or a number of bytes)")


def _power_of_two(text: str) -> int:
    value = _positive_int(text)
    if value & (value - 1):
        raise ConfigError(f"must be a power of two (shard ranges map onto whole shards): {value}")
    return value


def _verbosity(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(f"-v takes a number (klog's verbosity), not {text!r}") from None
    if value < 0:
        raise ConfigError(f"-v must be 0 or more: {value}")
    return value


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"not a number: {text!r}") from None
    if value < 0:
        raise ConfigError(f"must be 0 (no limit) or more: {value}")
    return value


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"not a boolean: {text!r}")


OPTIONS: tuple[Option, ...] = (
    Option("config", "a TOML file of settings, keys named as the flags without dashes"),
    Option(
        "kubeconfig",
        "the kubeconfig to reach kube-apiserver with (default: $KUBECONFIG, "
        "then ~/.kube/config); with no kubeconfig and no in-cluster service account, "
        "watchcache serves its embedded simulated API server",
    ),
    Option("context", "the kubeconfig context to use (default: its current-context)"),
    Option(
        "in-cluster",
        "use the pod's service account to reach kube-apiserver",
        default=False,
        parse=_bool,
        flag_only=True,
    ),
    Option(
        "read-upstream",
        "URL of the read upstream, e.g. another watchcache (default: the kubeconfig's server)",
    ),
    Option("write-upstream", "URL of the write upstream (default: the kubeconfig's server)"),
    Option(
        "listen",
        "host:port to listen on, repeatable (default: 127.0.0.1:8001)",
        default=("127.0.0.1:8001",),
        repeated=True,
    ),
    Option("listen-unix", "also listen on this Unix socket path (for sidecars)"),
    Option(
        "workers",
        "processes serving clients (default: the usable cores: the CPU affinity, or the "
        "cgroup's CPU quota rounded up when lower). Above 1, the "
        "first process lists and watches upstream once per resource and feeds its events "
        "to the workers, each with its own cache replica, sharing the listeners "
        "(SO_REUSEPORT); a worker that dies is started again; /metrics sums their counters "
        "(docs/architecture.md#worker-processes). 1: one process does everything",
        parse=_positive_int,
    ),
    Option(
        "allow-non-loopback",
        "deprecated and ignored: a non-loopback --listen needs --auth=delegated (the default "
        "with a real upstream) and serves HTTPS",
        default=False,
        parse=_bool,
        flag_only=True,
    ),
    Option(
        "tls-cert-file",
        "serve HTTPS with this certificate (PEM, chain after it); needs "
        "--tls-private-key-file. Both files are read again when they change, without a "
        "restart. Without them, HTTPS on a non-loopback --listen or with --client-ca-file "
        "uses a self-signed certificate made at start (for development), and loopback "
        "listeners serve plain HTTP",
    ),
    Option(
        "tls-private-key-file",
        "the private key (PEM) for --tls-cert-file",
        old_names=("tls-key-file",),
    ),
    Option(
        "client-ca-file",
        "accept client certificates signed by a CA in this file (PEM): the user is the "
        "subject's CN, the groups its O values, as kube-apiserver's; read again when it changes",
    ),
    Option(
        "accept-hosts",
        "on plain HTTP (loopback only), the Host header must match one of these regular "
        "expressions (port removed), or the request gets 403: a web page cannot reach the "
        "proxy by DNS rebinding. kubectl proxy's default",
        default=(r"^localhost$", r"^127\.0\.0\.1$", r"^\[::1\]$"),
        repeated=True,
    ),
    Option(
        "auth",
        "delegated: every request is authenticated (client certificate, bearer token by "
        "TokenReview, or anonymous), reads from the cache authorized by SubjectAccessReview, "
        "and forwarded requests made as the requester. none: every request is made with the "
        "proxy's own credentials, as kubectl proxy does; refused unless every --listen is "
        "loopback. Default: delegated, none in front of the embedded simulator",
    ),
    Option(
        "anonymous-auth",
        "with --auth=delegated, a request with no credentials is system:anonymous in group "
        "system:unauthenticated (and authorized as such); false: it gets 401",
        default=True,
        parse=_bool,
    ),
    Option(
        "api-audiences",
        "audiences bearer tokens must be meant for (TokenReview's spec.audiences); "
        "default: upstream's own",
        default=(),
        repeated=True,
    ),
    Option(
        "authentication-token-webhook-cache-ttl",
        "how long a TokenReview's answer is reused for the same token; kube-apiserver's default",
        default=120.0,
        parse=_duration,
    ),
    Option(
        "authorization-webhook-cache-authorized-ttl",
        "how long an allowing SubjectAccessReview is reused for the same user and request "
        "attributes; kube-apiserver's default",
        default=300.0,
        parse=_duration,
    ),
    Option(
        "authorization-webhook-cache-unauthorized-ttl",
        "how long a denying SubjectAccessReview is reused; kube-apiserver's default",
        default=30.0,
        parse=_duration,
    ),
    # Defaults from what clients need: proxy/fairness.py, docs/security.md#fairness.
    Option(
        "max-lists-inflight-per-client",
        "with --auth=delegated, LISTs answered from the cache at once for one client (its "
        "user at its address); past it 429 with Retry-After: 1, as kube-apiserver sheds load. "
        "Members of system:masters are exempt. 0: no bound (docs/security.md#fairness)",
        default=32,
        parse=_count,
    ),
    Option(
        "max-watches-per-client",
        "with --auth=delegated, watches of cached resources one client (its user at its "
        "address) may hold open; past it 429 with Retry-After: 1. Members of system:masters "
        "are exempt. 0: no bound",
        default=1000,
        parse=_count,
    ),
    Option(
        "resources",
        "resources to cache, comma-separated: core ones by plural name "
        "(pods), others as group/version/resource (apps/v1/deployments)",
        default=("pods", "nodes"),
        repeated=True,
    ),
    Option(
        "auto-cache",
        "also cache any resource a client reads (LIST, GET or WATCH of a built-in kind the "
        "proxy knows, or of a custom resource, that upstream serves with list and watch; "
        "never a subresource) from its first read on: that read and the others until the "
        "cache has synced are forwarded, later ones answered from the cache. Named "
        "--resources stay cached; an auto cache is dropped when idle (--auto-cache-idle) or "
        "when its CRD is deleted",
        default=False,
        parse=_bool,
        flag_only=True,
    ),
    Option(
        "auto-cache-max",
        "with --auto-cache, at most this many resources cached on first read; past it, "
        "reads of further resources are forwarded (watchcache_auto_cache_refusals_total"
        '{reason="bound"})',
        default=100,
        parse=_positive_int,
    ),
    Option(
        "auto-cache-idle",
        "with --auto-cache, drop a resource's auto cache (and its memory) after this long "
        "with no read and no watch open on it; longer than client-go's longest watch (10m), "
        "so a client whose watch went upstream before the cache was ready renews it first",
        default=900.0,
        parse=_duration,
    ),
    Option("shards", "store shards per resource, a power of two", default=16, parse=_power_of_two),
    Option(
        "history-window",
        "how long the watch history covers at least",
        default=75.0,
        parse=_duration,
    ),
    Option(
        "history-max-bytes",
        "at most this many bytes of superseded and deleted objects kept in each cache's "
        "watch history (the oldest events go first; a watch resuming before them gets "
        "410 and relists); the rest of the memory is the current objects, about 1.15x "
        "their JSON (67108864 is 64Mi; sizing: docs/memory.md)",
        default=64 << 20,
        parse=_byte_size,
    ),
    Option(
        "history-packing",
        "keep the superseded objects of events older than each watch history's newest "
        "128 packed (LZ4 deltas against the next version, about 1% of their size), read "
        "back whole by a watch or LIST at an old resourceVersion; costs about 4 us of CPU "
        "per update of a 6 KB object. false: kept whole, up to --history-max-bytes",
        default=True,
        parse=_bool,
    ),
    Option(
        "watch-write-window",
        "at most this long an event waits so that a busy watch's events go out in one "
        "write: a watch that wrote less than this ago writes when it is over or once it "
        "holds two events, any other at once. At 50 events a second that halves the "
        "writes (over TLS, 4.3-4.7x kube-apiserver's deliveries per CPU-second against "
        "2.7-3.4x without), for at most 20 ms more per event. Watches from another "
        "watchcache (a tier below, a worker) are written at once, so an event waits one "
        "window at most across tiers; 0 writes each batch of events at once "
        "(fanout/coalesce.py)",
        default=0.04,
        parse=_duration,
    ),
    Option(
        "shutdown-spread",
        "on shutdown, close open watches spread over this long so "
        "clients do not all reconnect in the same second",
        default=10.0,
        parse=_duration,
    ),
    # kube-apiserver's ReadHeaderTimeout and IdleTimeout (k8s.io/apiserver
    # pkg/server/secure_serving.go since 1.25); proxy/connections.py.
    Option(
        "read-header-timeout",
        "close a client connection whose request line and headers take longer than "
        "this (from accepting it, TLS handshake included, or from the first byte of a "
        "later request on it); kube-apiserver's value. 0 turns it off",
        default=32.0,
        parse=_duration,
    ),
    Option(
        "idle-timeout",
        "close a kept-alive client connection that sends no complete request for this "
        "long after its last response; kube-apiserver's value",
        default=90.0,
        parse=_duration,
    ),
    Option(
        "max-staleness",
        "how long a cached resource may go without hearing from upstream (an event, a "
        "bookmark, a list page, a watch accepted) before /readyz fails for it; a healthy "
        "watch of a quiet resource hears a bookmark about once a minute and is renewed after "
        "90 s of silence",
        default=120.0,
        parse=_duration,
    ),
    Option(
        "protobuf",
        "answer Go clients that prefer kube's protobuf (application/vnd.kubernetes.protobuf) "
        "in protobuf from the cache, as kube-apiserver does for built-in kinds; each object's "
        "message is encoded on its first protobuf read and kept beside its JSON, packed against "
        "it (about 1/20 of its size more; a read unpacks it in about 1 us). false: every cached "
        "answer is JSON, which Go clients accept too",
        default=True,
        parse=_bool,
    ),
    Option(
        "response-compression",
        "gzip a GET's or LIST's answer from the cache when it is larger than 128 KiB and the "
        "client's Accept-Encoding names gzip (Go clients always do), as kube-apiserver does: "
        "a twelfth of the bytes for 1.25 times the proxy's CPU of a plain LIST (ISA-L's "
        "deflate at level 1, benchmarks/bench_compression.py). Watches are never "
        "compressed; forwarded answers keep upstream's encoding. false: for a sidecar on "
        "loopback, where bytes cost nothing and the client's gunzip does (about 110 ms "
        "a 58 MB LIST)",
        default=True,
        parse=_bool,
    ),
    Option(
        "serve-stale-on-outage",
        "while upstream has been silent past --max-staleness, stay ready and go on serving "
        "from the cache: open watches stay open (bookmarks go on), reads at resourceVersion "
        "0 or N are answered from the cache, consistent reads (no resourceVersion) get "
        "kube-apiserver's own answer for unreachable storage (500 ServerTimeout) at once; "
        "reported in /readyz?verbose and watchcache_cache_serving_stale. Off: readiness "
        "fails instead, so clients move to a replica that hears upstream",
        default=False,
        parse=_bool,
        flag_only=True,
    ),
    Option(
        "discovery-ttl",
        "answer API discovery (/api, /apis, each group and group-version, /version) from "
        "documents fetched upstream, kept this long and dropped whenever a "
        "CustomResourceDefinition or APIService changes (the proxy watches both; 5 s while "
        "it cannot). 0: forward discovery like any other request",
        default=300.0,
        parse=_duration,
    ),
    Option(
        "consistency-check-interval",
        "every this long, compare each cache with upstream's LIST at the cache's RV "
        "(a digest of names and resourceVersions), count the result in "
        "watchcache_consistency_checks_total and relist on a mismatch; each check is a full "
        "LIST upstream. 0: off (kube-apiserver 1.34 checks every 5m)",
        default=0.0,
        parse=_duration,
    ),
    Option(
        "malloc-trim-interval",
        "every this long, when the resident set grew since the last time, give the C "
        "allocator's free pages back to the OS (glibc's malloc_trim, in a thread): under "
        "churn the heap keeps memory freed among live objects (docs/operations.md#memory). "
        "0: off; without glibc it does nothing",
        default=30.0,
        parse=_duration,
    ),
    Option(
        "cache-dir",
        "save each cache's state in this directory (at --cache-save-interval and at shutdown) "
        "and start from it: the cache then resumes by watch from the saved resourceVersion "
        "and lists only if upstream's history no longer covers it (a 410), so a restart does "
        "not relist everything. A file saved for another upstream server or CA, another "
        "resource or another format is ignored. --auto-cache's caches are saved too and "
        "restored as auto caches, unless upstream no longer serves them. Unset: off, every "
        "start lists",
    ),
    Option(
        "cache-save-interval",
        "with --cache-dir, how often each cache's state is saved (when it changed)",
        default=60.0,
        parse=_duration,
    ),
    Option(
        "upstream-timeout",
        "timeout for one upstream request that is not a watch",
        default=60.0,
        parse=_duration,
    ),
    Option(
        "kube-api-qps",
        "requests a second, on average, the proxy sends upstream for itself (its caches' "
        "lists and watches, consistent reads' probes); forwarded requests are not limited. "
        "0: no limit",
        default=50,
        parse=_rate,
    ),
    Option(
        "kube-api-burst",
        "how many of those requests may go at once above --kube-api-qps",
        default=100,
        parse=_positive_int,
    ),
    Option(
        "logging-format",
        "text or json (one object a line: RFC 3339 time with milliseconds and zone, "
        "level, logger, message, and method, path, code and the like as fields)",
        default="text",
        old_names=("log-format",),
    ),
    Option(
        "v",
        "log verbosity as klog's: 0-3 info, 4 or more debug",
        default=0,
        parse=_verbosity,
        short="-v",
    ),
    Option(
        "log-level",
        "deprecated, use -v: debug, info, warning or error; overrides -v when given",
    ),
)


@dataclass(frozen=True)
class ServeConfig:
    kubeconfig: str | None = None
    context: str | None = None
    in_cluster: bool = False
    read_upstream: str | None = None
    write_upstream: str | None = None
    listen: tuple[str, ...] = ("127.0.0.1:8001",)
    listen_unix: str | None = None
    # None: the number of usable cores (worker_count). Built by hand: 1.
    workers: int | None = 1
    allow_non_loopback: bool = False
    tls_cert_file: str | None = None
    tls_private_key_file: str | None = None
    client_ca_file: str | None = None
    accept_hosts: tuple[str, ...] = (r"^localhost$", r"^127\.0\.0\.1$", r"^\[::1\]$")
    # None: delegated in front of a real upstream, none in front of the
    # embedded simulator (auth_mode). Built by hand (tests): none.
    auth: str | None = "none"
    anonymous_auth: bool = True
    api_audiences: tuple[str, ...] = ()
    authentication_token_webhook_cache_ttl: float = 120.0
    authorization_webhook_cache_authorized_ttl: float = 300.0
    authorization_webhook_cache_unauthorized_ttl: float = 30.0
    # Built by hand (tests): no bounds, as with --auth=none.
    max_lists_inflight_per_client: int = 0
    max_watches_per_client: int = 0
    resources: tuple[str, ...] = ("pods", "nodes")
    auto_cache: bool = False
    auto_cache_max: int = 100
    auto_cache_idle: float = 900.0
    shards: int = 16
    history_window: float = 75.0
    history_max_bytes: int = 64 << 20
    history_packing: bool = True
    watch_write_window: float = 0.04
    shutdown_spread: float = 10.0
    max_staleness: float = 120.0
    read_header_timeout: float = 32.0
    idle_timeout: float = 90.0
    protobuf: bool = True
    response_compression: bool = True
    serve_stale_on_outage: bool = False
    discovery_ttl: float = 300.0
    consistency_check_interval: float = 0.0
    malloc_trim_interval: float = 30.0
    cache_dir: str | None = None
    cache_save_interval: float = 60.0
    upstream_timeout: float = 60.0
    kube_api_qps: float = 50
    kube_api_burst: int = 100
    logging_format: str = "text"
    v: int = 0
    log_level: str | None = None
    config: str | None = None
    # Where each setting came from, for the start-up log line.
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)
    # Deprecated spellings used, one line each, for the start-up log.
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def effective_log_level(self) -> str:
        """--log-level when given (deprecated), else from -v."""
        if self.log_level:
            return self.log_level
        return "debug" if self.v >= 4 else "info"

    def worker_count(self) -> int:
        """--workers, or the usable cores when unset."""
        if self.workers is not None:
            return self.workers
        return usable_cores()

    def listen_addresses(self) -> list[tuple[str, int]]:
        return [_host_port(a) for a in self.listen]

    def auth_mode(self, *, embedded: bool) -> str:
        """``delegated`` or ``none`` (the --auth option's default rule)."""
        if self.auth is not None:
            return self.auth
        return "none" if embedded else "delegated"

    def plain_http(self) -> bool:
        """Listeners serve plain HTTP: only when every one is loopback and
        neither a certificate nor a client CA is configured."""
        if self.tls_cert_file or self.client_ca_file:
            return False
        return self.loopback_only()

    def loopback_only(self) -> bool:
        return all(_is_loopback(host) for host, _ in self.listen_addresses())


def usable_cores(cgroup: Path = Path("/sys/fs/cgroup")) -> int:
    """The cores this process may run on (its CPU affinity), or fewer when
    its cgroup's CPU quota (a container's CPU limit, cgroup v2 ``cpu.max``)
    allows less, rounded up: more workers than that only share the quota."""
    cores = len(os.sched_getaffinity(0)) or 1
    try:
        quota, period = (cgroup / "cpu.max").read_text().split()
    except (OSError, ValueError):
        return cores
    if quota == "max" or not quota.isdigit() or not period.isdigit() or int(period) == 0:
        return cores
    return max(1, min(cores, -(-int(quota) // int(period))))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add every option as a flag; defaults stay None so sources can layer."""
    for opt in OPTIONS:
        env_note = f" [env {opt.env}]"
        default_note = f" (default: {_default(opt)})" if _default(opt) else ""
        spellings = [opt.flag] if opt.short is None else [opt.short, opt.flag]
        _add_flag(parser, opt, spellings, opt.attr, opt.help + default_note + env_note)
        for old in opt.old_names:
            _add_flag(parser, opt, [f"--{old}"], _old_attr(old), argparse.SUPPRESS)


def _add_flag(
    parser: argparse.ArgumentParser, opt: Option, spellings: list[str], dest: str, text: str
) -> None:
    if opt.flag_only:
        parser.add_argument(
            *spellings, dest=dest, action="store_const", const=True, default=None, help=text
        )
    elif opt.repeated:
        parser.add_argument(
            *spellings,
            dest=dest,
            action="append",
            default=None,
            metavar=opt.name.upper(),
            help=text,
        )
    else:
        parser.add_argument(
            *spellings,
            dest=dest,
            default=None,
            metavar=opt.name.upper().replace("-", "_"),
            help=text,
        )


def _old_attr(old: str) -> str:
    return "deprecated_" + old.replace("-", "_")


def _old_env(old: str) -> str:
    return ENV_PREFIX + old.upper().replace("-", "_")


def load_config(args: argparse.Namespace, environ: Mapping[str, str] = os.environ) -> ServeConfig:
    """Layer defaults < config file < environment < command line, then check."""
    values: dict[str, Any] = {opt.attr: opt.default for opt in OPTIONS}
    sources = dict.fromkeys(values, "default")
    warnings: list[str] = []
    config_path = getattr(args, "config", None) or environ.get(ENV_PREFIX + "CONFIG")
    if config_path:
        file_values, file_warnings = _read_file(Path(config_path))
        warnings += file_warnings
        for key, raw in file_values.items():
            values[key] = raw
            sources[key] = f"file {config_path}"
    for opt in OPTIONS:
        for old in opt.old_names:
            if _old_env(old) in environ and opt.env not in environ:
                values[opt.attr] = _parse(opt, environ[_old_env(old)])
                sources[opt.attr] = f"env {_old_env(old)}"
                warnings.append(f"{_old_env(old)} is deprecated: use {opt.env}")
        if opt.env in environ:
            values[opt.attr] = _parse(opt, environ[opt.env])
            sources[opt.attr] = f"env {opt.env}"
        for old in opt.old_names:
            given_old = getattr(args, _old_attr(old), None)
            if given_old is not None and getattr(args, opt.attr, None) is None:
                values[opt.attr] = _parse_cli(opt, given_old)
                sources[opt.attr] = f"flag --{old}"
                warnings.append(f"--{old} is deprecated: use {opt.flag}")
        given = getattr(args, opt.attr, None)
        if given is not None:
            values[opt.attr] = _parse_cli(opt, given)
            sources[opt.attr] = f"flag {opt.flag}"
    if sources["log_level"] != "default":
        warnings.append("--log-level is deprecated: use -v (4 or more for debug)")
    config = ServeConfig(**values, sources=sources, warnings=tuple(warnings))
    _check(config)
    return config


def _read_file(path: Path) -> tuple[dict[str, Any], list[str]]:
    """The file's settings by attribute, and a warning per old key used."""
    try:
        raw = tomllib.loads(path.read_text())
    except OSError as err:
        raise ConfigError(f"--config {path}: {err.strerror}") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"--config {path}: {err}") from None
    by_name = {opt.name: opt for opt in OPTIONS}
    old = {name: opt for opt in OPTIONS for name in opt.old_names}
    values = {}
    warnings = []
    for key, value in raw.items():
        opt = by_name.get(key)
        if opt is None and key in old:
            opt = old[key]
            if opt.name in raw:
                continue  # the new spelling is there too, and wins
            warnings.append(f"--config {path}: {key} is deprecated: use {opt.name}")
        if opt is None or opt.name == "config":
            raise ConfigError(f"--config {path}: unknown setting {key!r}")
        values[opt.attr] = _from_toml(opt, value, path)
    return values, warnings


def _from_toml(opt: Option, value: Any, path: Path) -> Any:
    if opt.repeated:
        items = value if isinstance(value, list) else str(value).split(",")
        return tuple(opt.parse(str(v).strip()) for v in items if str(v).strip())
    if isinstance(value, bool) and opt.parse is _bool:
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise ConfigError(f"--config {path}: {opt.name} must be a string, number or boolean")
    return opt.parse(value)


def _parse(opt: Option, text: str) -> Any:
    if opt.repeated:
        return tuple(opt.parse(v.strip()) for v in text.split(",") if v.strip())
    return opt.parse(text)


def _parse_cli(opt: Option, given: Any) -> Any:
    if opt.flag_only:
        return True
    if opt.repeated:
        return tuple(opt.parse(v.strip()) for item in given for v in item.split(",") if v.strip())
    return opt.parse(given)


def _check(config: ServeConfig) -> None:
    addresses = config.listen_addresses()
    if config.auth not in (None, "delegated", "none"):
        raise ConfigError(f"--auth must be delegated or none, not {config.auth!r}")
    if config.auth == "none":
        for host, port in addresses:
            if not _is_loopback(host):
                raise ConfigError(
                    f"--listen {host}:{port} is not a loopback address and --auth=none would "
                    "let every client read and write with the proxy's credentials; "
                    "use --auth=delegated"
                )
    for pattern in config.accept_hosts:
        try:
            re.compile(pattern)
        except re.error as err:
            raise ConfigError(f"--accept-hosts {pattern!r}: {err}") from None
    if bool(config.tls_cert_file) != bool(config.tls_private_key_file):
        raise ConfigError("--tls-cert-file and --tls-private-key-file go together")
    if config.logging_format not in ("text", "json"):
        raise ConfigError(f"--logging-format must be text or json, not {config.logging_format!r}")
    if config.log_level is not None and config.log_level not in (
        "debug",
        "info",
        "warning",
        "error",
    ):
        raise ConfigError(
            f"--log-level must be debug, info, warning or error, not {config.log_level!r}"
        )
    if config.idle_timeout <= 0:
        raise ConfigError(f"--idle-timeout must be more than 0, not {config.idle_timeout}")
    if config.cache_save_interval <= 0:
        raise ConfigError(
            f"--cache-save-interval must be more than 0, not {config.cache_save_interval}"
        )
    if config.auto_cache_idle <= 0:
        raise ConfigError(f"--auto-cache-idle must be more than 0, not {config.auto_cache_idle}")
    if config.in_cluster and config.kubeconfig:
        raise ConfigError("--in-cluster and --kubeconfig exclude each other")


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise ConfigError(f"--listen {text!r}: expected host:port")
    host = host.strip("[]") or "127.0.0.1"
    if int(port) > 65535:
        raise ConfigError(f"--listen {text!r}: port out of range")
    return host, int(port)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _default(opt: Option) -> str:
    """The default as the help and the docs show it ("" for none, or off)."""
    if opt.default is None or opt.default is False:
        return ""
    if opt.parse is _duration and isinstance(opt.default, float) and 0 < opt.default < 1:
        return f"{opt.default * 1000:g}ms"
    return _show(opt.default)


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    if isinstance(value, float) and value.is_integer():
        return f"{int(value)}s"
    return str(value)


def describe(options: Sequence[Option] = OPTIONS) -> str:
    """A Markdown table of every option, for docs/serve.md."""
    rows = ["| flag | environment | default | meaning |", "|---|---|---|---|"]
    for opt in options:
        default = _default(opt)
        flags = f"`{opt.short}`, `{opt.flag}`" if opt.short else f"`{opt.flag}`"
        meaning = opt.help
        if opt.old_names:
            was = ", ".join(f"`--{old}`" for old in opt.old_names)
            meaning += f" (formerly {was}, still accepted with a deprecation warning)"
        rows.append(f"| {flags} | `{opt.env}` | {default} | {meaning} |")
    return "\n".join(rows)
