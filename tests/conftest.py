"""Shared pytest configuration: every test under tests/e2e is marked
``e2e``, and Hypothesis judges examples by what they do, never by how long
they take.

Hypothesis' defaults fail a test whose example runs over 200 ms
(``deadline``) or whose inputs take over a second to generate
(``HealthCheck.too_slow``): both measure the machine, not the code, and
both failed tests that pass on a loaded machine (a cold control-plane
build beside the suite). Timing belongs in benchmarks/.

Every ``watchcache serve`` a test starts runs as one process
(``WATCHCACHE_WORKERS=1``, inherited) unless the test passes ``--workers``:
tests count upstream requests, watchers and metrics of one process.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

_E2E_DIR = Path(__file__).parent / "e2e"

os.environ.setdefault("WATCHCACHE_WORKERS", "1")

settings.register_profile("watchcache", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("watchcache")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _E2E_DIR in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)
