"""The spread of one figure over repeated runs of a step.

``run --repeat R`` (or ``report`` given several JSON files) leaves R runs
of each step and mode; the report draws each point's median and its
spread, and lists every run with the machine's load average beside it.

Glossary:
    repeats   the runs of one step in one mode (same scenario, backend,
              mode and parameters), told apart by their ``repeat``
    spread    median, minimum and maximum of a figure over the repeats,
              with the quartiles and the count; the quartiles are the
              medians of the lower and upper halves (the median itself
              left out when the count is odd), so for 4 runs the
              interquartile range spans the middle two
    load      the 1-minute load average as a run began, which the JSON
              keeps with each run (older files lack it)

Invariants: a figure that is missing or not a number in a run is left
out of its spread (a failed run does not count as zero); ``low <= q1 <=
median <= q3 <= high``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["Spread", "group_repeats", "load_range", "spread", "spread_of"]

Run = dict[str, Any]


@dataclass(frozen=True)
class Spread:
    median: float
    low: float
    high: float
    q1: float
    q3: float
    count: int

    def text(self, digits: int = 1) -> str:
        """``median [low-high]`` (just the value for one run)."""
        if self.count == 1:
            return f"{self.median:,.{digits}f}"
        return f"{self.median:,.{digits}f} [{self.low:,.{digits}f}-{self.high:,.{digits}f}]"


def _median(values: list[float]) -> float:
    middle = len(values) // 2
    if len(values) % 2:
        return values[middle]
    return (values[middle - 1] + values[middle]) / 2


def spread(values: Iterable[Any]) -> Spread | None:
    """The spread of the numbers among ``values`` (others left out), or
    None when there are none."""
    numbers = sorted(
        float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)
    )
    if not numbers:
        return None
    half = len(numbers) // 2
    lower, upper = numbers[:half], numbers[len(numbers) - half :]
    q1 = _median(lower) if lower else numbers[0]
    q3 = _median(upper) if upper else numbers[-1]
    return Spread(_median(numbers), numbers[0], numbers[-1], q1, q3, len(numbers))


def spread_of(runs: Iterable[Run], figure: Callable[[Run], Any]) -> Spread | None:
    """The spread of ``figure(run)`` over ``runs``."""
    return spread(figure(r) for r in runs)


def group_repeats(runs: Iterable[Run]) -> dict[tuple[Any, ...], list[Run]]:
    """Error-free runs by step and mode (scenario, backend, mode and the
    parameters), in first-seen order: each group is one step's repeats."""
    groups: dict[tuple[Any, ...], list[Run]] = {}
    for run in runs:
        if "error" in run:
            continue
        params = tuple(sorted(run.get("params", {}).items()))
        key = (run["scenario"], run["backend"], run["mode"], params)
        groups.setdefault(key, []).append(run)
    return groups


def load_range(runs: Iterable[Run]) -> Spread | None:
    """The 1-minute load average at the start of ``runs``: its spread."""
    return spread((r.get("load_average") or [None])[0] for r in runs)
