from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from watchcache.proxy.config import OPTIONS, ConfigError, add_arguments, describe, load_config


def parse(argv: list[str], env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return load_config(parser.parse_args(argv), env or {})


def test_defaults_listen_on_loopback_only() -> None:
    config = parse([])
    assert config.listen_addresses() == [("127.0.0.1", 8001)]
    assert config.resources == ("pods", "nodes")
    assert config.history_window == 75.0
    assert config.sources["listen"] == "default"


def test_flag_beats_env_beats_file(tmp_path: Path) -> None:
    file = tmp_path / "c.toml"
    file.write_text(
        'shards = 4\nhistory-window = "2m"\nresources = ["pods", "apps/v1/deployments"]\nlog-level = "debug"\n'
    )
    config = parse(["--config", str(file), "--shards", "8"], {"WATCHCACHE_HISTORY_WINDOW": "90s"})
    assert config.shards == 8 and config.sources["shards"] == "flag --shards"
    assert (
        config.history_window == 90.0
        and config.sources["history_window"] == "env WATCHCACHE_HISTORY_WINDOW"
    )
    assert config.resources == ("pods", "apps/v1/deployments")
    assert config.log_level == "debug" and config.sources["log_level"] == f"file {file}"


def test_repeated_flags_and_commas_combine() -> None:
    config = parse(
        [
            "--resources",
            "pods,nodes",
            "--resources",
            "configmaps",
            "--listen",
            "127.0.0.1:0",
            "--listen",
            "[::1]:9000",
        ]
    )
    assert config.resources == ("pods", "nodes", "configmaps")
    assert config.listen_addresses() == [("127.0.0.1", 0), ("::1", 9000)]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--listen", "0.0.0.0:8001", "--auth", "none"], "--auth=delegated"),
        (["--auth", "open"], "delegated or none"),
        (["--accept-hosts", "(unclosed"], "--accept-hosts"),
        (["--listen", "nonsense"], "expected host:port"),
        (["--shards", "0"], "at least 1"),
        (["--history-window", "soon"], "not a duration"),
        (["--tls-cert-file", "x.pem"], "go together"),
        (["--logging-format", "xml"], "text or json"),
        (["--log-format", "xml"], "text or json"),
        (["-v", "loud"], "takes a number"),
        (["--in-cluster", "--kubeconfig", "k"], "exclude each other"),
    ],
)
def test_bad_settings_are_named(argv: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse(argv)


def test_non_loopback_is_served_with_delegated_auth_over_https() -> None:
    config = parse(["--listen", "0.0.0.0:8001"])
    assert config.auth_mode(embedded=False) == "delegated"
    assert not config.plain_http()


def test_auth_defaults_to_delegated_except_in_front_of_the_simulator() -> None:
    config = parse([])
    assert config.auth_mode(embedded=False) == "delegated"
    assert config.auth_mode(embedded=True) == "none"
    assert parse(["--auth", "none"]).auth_mode(embedded=False) == "none"


def test_plain_http_only_on_loopback_without_certificates() -> None:
    assert parse([]).plain_http()
    assert not parse(["--client-ca-file", "ca.pem"]).plain_http()
    assert not parse(["--tls-cert-file", "c", "--tls-private-key-file", "k"]).plain_http()
    assert parse([]).accept_hosts == (r"^localhost$", r"^127\.0\.0\.1$", r"^\[::1\]$")


def test_unknown_file_key_is_an_error(tmp_path: Path) -> None:
    file = tmp_path / "c.toml"
    file.write_text("shard = 4\n")
    with pytest.raises(ConfigError, match="unknown setting 'shard'"):
        parse(["--config", str(file)])


def test_every_option_is_documented() -> None:
    docs = (Path(__file__).parents[3] / "docs" / "serve.md").read_text()
    for opt in OPTIONS:
        assert f"`{opt.flag}`" in docs, f"{opt.flag} missing from docs/serve.md"
        assert f"`{opt.env}`" in docs
    assert describe() in docs, "docs/serve.md's table is stale: regenerate it from describe()"


@pytest.mark.parametrize(
    ("argv", "env", "expected"),
    [
        (["-v", "4"], {}, "debug"),
        (["-v=4"], {}, "debug"),
        (["--v=2"], {}, "info"),
        ([], {"WATCHCACHE_V": "5"}, "debug"),
        ([], {}, "info"),
        (["-v", "4", "--log-level", "warning"], {}, "warning"),
    ],
)
def test_verbosity_as_klog(argv: list[str], env: dict[str, str], expected: str) -> None:
    assert parse(argv, env).effective_log_level() == expected


def test_old_spellings_work_with_a_deprecation_warning(tmp_path: Path) -> None:
    config = parse(["--tls-cert-file", "c.pem", "--tls-key-file", "k.pem", "--log-format", "json"])
    assert (config.tls_private_key_file, config.logging_format) == ("k.pem", "json")
    assert config.warnings == (
        "--tls-key-file is deprecated: use --tls-private-key-file",
        "--log-format is deprecated: use --logging-format",
    )
    assert config.sources["tls_private_key_file"] == "flag --tls-key-file"
    # Environment and file too; the new spelling wins where both are given.
    config = parse([], {"WATCHCACHE_LOG_FORMAT": "json"})
    assert config.logging_format == "json"
    assert config.warnings == (
        "WATCHCACHE_LOG_FORMAT is deprecated: use WATCHCACHE_LOGGING_FORMAT",
    )
    file = tmp_path / "c.toml"
    file.write_text('log-format = "json"\n')
    config = parse(["--config", str(file)])
    assert config.logging_format == "json"
    assert config.warnings == (f"--config {file}: log-format is deprecated: use logging-format",)
    config = parse(["--log-format", "json", "--logging-format", "text"])
    assert config.logging_format == "text"
    assert parse(["--log-level", "debug"]).warnings == (
        "--log-level is deprecated: use -v (4 or more for debug)",
    )
    assert parse(["--logging-format", "json", "-v", "4"]).warnings == ()


def test_connection_timeouts_from_every_source(tmp_path: Path) -> None:
    """kube-apiserver's values by default (32 s, 90 s); flag, env and file
    each set them."""
    config = parse([])
    assert (config.read_header_timeout, config.idle_timeout) == (32.0, 90.0)
    file = tmp_path / "c.toml"
    file.write_text('read-header-timeout = "10s"\nidle-timeout = 120\n')
    config = parse(["--config", str(file)])
    assert (config.read_header_timeout, config.idle_timeout) == (10.0, 120.0)
    config = parse(
        ["--config", str(file), "--read-header-timeout", "500ms"], {"WATCHCACHE_IDLE_TIMEOUT": "3m"}
    )
    assert (config.read_header_timeout, config.idle_timeout) == (0.5, 180.0)
    assert config.sources["idle_timeout"] == "env WATCHCACHE_IDLE_TIMEOUT"
    with pytest.raises(ConfigError, match="--idle-timeout"):
        parse(["--idle-timeout", "0"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [("16Mi", 16 << 20), ("1Gi", 1 << 30), ("512Ki", 512 << 10), ("1000", 1000)],
)
def test_history_max_bytes_takes_sizes(text: str, expected: int) -> None:
    assert parse(["--history-max-bytes", text]).history_max_bytes == expected
    assert parse([]).history_max_bytes == 64 << 20


def test_history_max_bytes_refuses_what_is_not_a_size() -> None:
    with pytest.raises(ConfigError, match="not a size"):
        parse(["--history-max-bytes", "64MB"])


def test_history_packing_is_on_unless_turned_off() -> None:
    assert parse([]).history_packing is True
    assert parse(["--history-packing", "false"]).history_packing is False


def test_per_client_bounds_default_to_what_clients_need_and_zero_turns_them_off() -> None:
    config = parse([])
    assert (config.max_lists_inflight_per_client, config.max_watches_per_client) == (32, 1000)
    off = parse(["--max-lists-inflight-per-client=0"], {"WATCHCACHE_MAX_WATCHES_PER_CLIENT": "0"})
    assert (off.max_lists_inflight_per_client, off.max_watches_per_client) == (0, 0)
    with pytest.raises(ConfigError, match="0 \\(no bound\\) or more"):
        parse(["--max-watches-per-client=-1"])
