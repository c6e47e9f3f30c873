"""Shared pytest configuration: every test under tests/e2e is marked ``e2e``."""

from __future__ import annotations

from pathlib import Path

import pytest

_E2E_DIR = Path(__file__).parent / "e2e"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _E2E_DIR in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)
