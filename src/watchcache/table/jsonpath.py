"""The JSONPath of custom resources' ``additionalPrinterColumns``, as
kube-apiserver evaluates it (client-go util/jsonpath with missing keys
allowed), for the subset CRDs use.

Glossary:
    path      the column's ``jsonPath`` without braces: steps such as
              ``.status.replicas``, ``['a.b']``, ``[0]``, ``[-1]``, ``[*]``,
              ``[1:3]``, ``[?(@.type=="Ready")]``, ``[?(@.ready)]``.
    results   every value the path reaches, in document order; a missing
              key or an index out of range reaches nothing (no error).
    text      how kube prints one result in a ``string`` column: strings
              as they are, numbers as Go's ``%v``, booleans ``true`` /
              ``false``, objects and arrays as compact JSON.

Invariant: ``compile`` raises ``UnsupportedPath`` for anything outside the
subset (recursive descent ``..``, unions, functions); the caller then lets
upstream render that Table rather than guess.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

__all__ = ["JsonPath", "UnsupportedPath", "compile_path", "go_text"]

Step = Callable[[Any], list[Any]]


class UnsupportedPath(ValueError):
    """A path outside the subset this module evaluates."""


_FIELD = re.compile(r"\.([A-Za-z0-9_\-$/]+)")
_QUOTED = re.compile(r"\[\s*'([^']*)'\s*\]|\[\s*\"([^\"]*)\"\s*\]")
_INDEX = re.compile(r"\[\s*(-?\d+)\s*\]")
_SLICE = re.compile(r"\[\s*(-?\d*)\s*:\s*(-?\d*)\s*\]")
_STAR = re.compile(r"\[\s*\*\s*\]|\.\*")
_FILTER = re.compile(
    r"\[\s*\?\(\s*@((?:\.[A-Za-z0-9_\-]+)+)\s*(?:(==|!=|<=|>=|<|>)\s*(.+?))?\s*\)\s*\]"
)


def _field(name: str) -> Step:
    return lambda value: [value[name]] if isinstance(value, dict) and name in value else []


def _index(i: int) -> Step:
    def step(value: Any) -> list[Any]:
        if not isinstance(value, list):
            return []
        at = i + len(value) if i < 0 else i
        return [value[at]] if 0 <= at < len(value) else []

    return step


def _slice(start: str, stop: str) -> Step:
    def step(value: Any) -> list[Any]:
        if not isinstance(value, list):
            return []
        return value[int(start) if start else None : int(stop) if stop else None]

    return step


def _star(value: Any) -> list[Any]:
    if isinstance(value, list):
        return list(value)
    if isinstance(value, dict):
        return [value[k] for k in sorted(value)]  # Go ranges a map's keys sorted here
    return []


def _literal(text: str) -> Any:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    if text in ("true", "false"):
        return text == "true"
    try:
        return json.loads(text)
    except ValueError as err:
        raise UnsupportedPath(f"filter literal {text!r}") from err


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    ">=": lambda a, b: a >= b,
}


def _filter(path: str, operator: str | None, literal: str | None) -> Step:
    inner = [_field(name) for name in path[1:].split(".")]
    expected = None if literal is None else _literal(literal)
    compare = None if operator is None else _COMPARE[operator]

    def keep(item: Any) -> bool:
        found = _run(inner, [item])
        if compare is None:
            return bool(found)
        try:
            return bool(found) and compare(found[0], expected)
        except TypeError:
            return False

    def step(value: Any) -> list[Any]:
        items = value if isinstance(value, list) else []
        return [item for item in items if keep(item)]

    return step


def _run(steps: Sequence[Step], values: list[Any]) -> list[Any]:
    for step in steps:
        values = [found for value in values for found in step(value)]
    return values


_STEPS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], Step]], ...] = (
    (_FIELD, lambda m: _field(m.group(1))),
    (_QUOTED, lambda m: _field(m.group(1) if m.group(1) is not None else m.group(2))),
    (_INDEX, lambda m: _index(int(m.group(1)))),
    (_SLICE, lambda m: _slice(m.group(1), m.group(2))),
    (_FILTER, lambda m: _filter(m.group(1), m.group(2), m.group(3))),
)


def _next_step(text: str, at: int) -> tuple[Step, int]:
    if text.startswith("..", at):
        raise UnsupportedPath("recursive descent")
    star = _STAR.match(text, at)
    if star:
        return _star, star.end()
    for pattern, build in _STEPS:
        match = pattern.match(text, at)
        if match:
            return build(match), match.end()
    raise UnsupportedPath(f"at {text[at:]!r}")


@dataclass(frozen=True, slots=True)
class JsonPath:
    text: str
    steps: tuple[Step, ...]

    def results(self, obj: Any) -> list[Any]:
        return _run(self.steps, [obj])


def compile_path(text: str) -> JsonPath:
    body = text.strip()
    if body.startswith("{") and body.endswith("}"):
        body = body[1:-1].strip()
    if body.startswith("$"):
        body = body[1:]
    if not body.startswith((".", "[")):
        raise UnsupportedPath(f"path {text!r} does not start with . or [")
    steps: list[Step] = []
    at = 0
    while at < len(body):
        step, at = _next_step(body, at)
        steps.append(step)
    return JsonPath(text, tuple(steps))


def go_float(value: float) -> str:
    """Go's ``%v`` of a float64 (``%g`` with the shortest digits): exponent
    form when the decimal exponent is below -4 or at least 6, so 1e6 is
    ``1e+06`` and 123456.0 is ``123456``."""
    if value != value or value in (float("inf"), float("-inf")):
        return {"nan": "NaN", "inf": "+Inf", "-inf": "-Inf"}[repr(value)]
    if value == 0:
        return "-0" if str(value).startswith("-") else "0"
    exponent = Decimal(repr(value)).adjusted()
    if -4 <= exponent < 6:
        return format(Decimal(repr(value)).normalize(), "f")
    mantissa = format(Decimal(repr(value)).scaleb(-exponent).normalize(), "f")
    return f"{mantissa}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"


def go_text(value: Any) -> str:
    """How kube's JSONPath prints one result."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_float(value)
    if value is None:
        return "<nil>"
    text = json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
