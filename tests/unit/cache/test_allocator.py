from __future__ import annotations

import subprocess
import sys

import pytest

# Frees an 8 MiB buffer (glibc then raises its thresholds to 8 MiB), then
# fills and frees a 4 MiB one, and prints how much more is resident after.
_CHILD = """
import re, sys
from pathlib import Path
from watchcache.cache.allocator import return_large_buffers

def rss():
    text = Path("/proc/self/status").read_text()
    return int(re.search(r"VmRSS:\\s+(\\d+) kB", text).group(1)) * 1024

if sys.argv[1] == "fixed":
    assert return_large_buffers()
first = bytearray(8 << 20)
del first
before = rss()
second = bytearray(b"x") * (4 << 20)
del second
print(rss() - before)
"""


def _kept(mode: str) -> int:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, mode], check=True, capture_output=True, text=True
    )
    return int(out.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_freed_large_buffers_leave_the_resident_set() -> None:
    assert _kept("fixed") < 1 << 20
    assert _kept("default") >= 3 << 20  # what glibc does unless told (the reason)
