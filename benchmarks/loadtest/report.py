"""placeholder"""

from pathlib import Path
from typing import Any


def render(data: dict[str, Any], out: Path, name: str) -> Path:
    p = out / f"{name}.md"
    p.write_text("todo\n")
    return p
