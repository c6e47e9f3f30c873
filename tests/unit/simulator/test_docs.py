"""docs/simulator.md's examples run as written."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import pytest

GUIDE = Path(__file__).parents[3] / "docs" / "simulator.md"


def _examples() -> list[str]:
    return re.findall(r"```python\n(.*?)```", GUIDE.read_text(), re.S)


def test_the_guide_has_both_examples() -> None:
    assert len(_examples()) == 2


@pytest.mark.parametrize("index", range(2))
async def test_example_runs(index: int) -> None:
    namespace: dict[str, Any] = {}
    exec(compile(_examples()[index], f"{GUIDE}:example{index}", "exec"), namespace)
    [test] = [fn for name, fn in namespace.items() if name.startswith("test_")]
    if inspect.iscoroutinefunction(test):
        await test()
    else:
        test()
