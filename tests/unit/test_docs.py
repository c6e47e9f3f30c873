"""Every relative link in the repository's Markdown names a file a clone
has (no links into the development workspace's ../shared)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def markdown_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.md"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [ROOT / name for name in listed]


def test_relative_links_resolve_inside_the_clone() -> None:
    files = markdown_files()
    assert ROOT / "README.md" in files
    broken = []
    for doc in files:
        text = doc.read_text()
        if "../shared/" in text:
            broken.append(f"{doc.relative_to(ROOT)}: mentions ../shared/")
        for target in LINK.findall(text):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            path = (doc.parent / target.split("#", 1)[0]).resolve()
            if not path.exists() or ROOT not in path.parents:
                broken.append(f"{doc.relative_to(ROOT)}: {target}")
    assert broken == []
