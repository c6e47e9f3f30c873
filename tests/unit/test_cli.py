from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from watchcache import __version__
from watchcache.cli import main


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "dev-cluster" in out and "version" in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["version"]) == 0
    assert capsys.readouterr().out.strip() == __version__


def test_dev_cluster_help_documents_every_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["dev-cluster", "up", "--help"])
    out = capsys.readouterr().out
    for flag in ("--dir", "--compaction-interval", "--foreground"):
        assert flag in out


def test_down_without_a_cluster_is_a_one_line_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "watchcache", "dev-cluster", "down", "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert done.stderr.strip() == f"watchcache: no dev cluster is running from {tmp_path}"
    assert "Traceback" not in done.stderr


def test_status_without_a_cluster_exits_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["dev-cluster", "status", "--dir", str(tmp_path)]) == 3
    assert "no dev cluster" in capsys.readouterr().out
