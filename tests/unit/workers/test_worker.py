"""worker.py: the spec the primary writes reads back as the same settings."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from watchcache.proxy.config import add_arguments, load_config, usable_cores
from watchcache.workers.worker import Spec


def test_spec_round_trips_the_settings() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(
        ["--listen", "127.0.0.1:0", "--resources", "pods,configmaps", "--workers", "3", "-v", "4"]
    )
    config = load_config(args, {})
    spec = Spec(
        config, "/run/feed.sock", "/run/control", embedded_url="http://127.0.0.1:9", unix_fd=7
    )
    again = Spec.decode(spec.encode())
    assert again == spec
    assert again.config.resources == ("pods", "configmaps")
    assert again.config.workers == 3
    assert again.upstream().server == "http://127.0.0.1:9"


def test_workers_defaults_to_the_usable_cores() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    config = load_config(parser.parse_args([]), {})
    assert config.workers is None
    assert config.worker_count() == usable_cores()
    assert load_config(parser.parse_args([]), {"WATCHCACHE_WORKERS": "1"}).worker_count() == 1


def test_usable_cores_follow_a_cgroup_quota_below_the_affinity(tmp_path: Path) -> None:
    cores = len(os.sched_getaffinity(0))
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert usable_cores(tmp_path) == cores
    (tmp_path / "cpu.max").write_text("50000 100000\n")
    assert usable_cores(tmp_path) == 1  # half a core: one worker
    (tmp_path / "cpu.max").write_text(f"{cores * 100000 + 1} 100000\n")
    assert usable_cores(tmp_path) == cores  # never above the affinity
    assert usable_cores(tmp_path / "absent") == cores
