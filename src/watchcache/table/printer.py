"""What a Table is made of: column definitions, and the function that turns
one object into one row of cells.

Glossary:
    column      a ``TableColumnDefinition``: name, type (``string``,
                ``integer``, ``number``, ``boolean``, ``date``), format
                (``name`` marks the column kubectl treats as the object's
                name), description, priority (0 always shown, 1 only with
                ``kubectl get -o wide``).
    cells       one value per column, in column order: str, int, float,
                bool, or None (JSON null: a custom column whose path found
                nothing).
    conditions  a row's ``TableRowCondition`` list (pods that have
                finished carry ``Completed``), or None for none.
    conversion annotations
                annotations the versioned object has and kube-apiserver's
                internal object has not (the conversion adds them), so a
                row's PartialObjectMetadata, read from the internal object,
                lacks them.
    Printer     columns plus the two functions above; the same printer
                serves lists, single objects and watch events.

Invariants:
    * ``len(cells(obj, now)) == len(columns)`` for every object:
      kube-apiserver renders the wide columns always and kubectl hides them.
    * printers read decoded JSON and treat a missing or null field as Go's
      zero value; they never raise on a well-formed object of their kind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

__all__ = ["Cells", "Column", "Conditions", "Printer", "column"]

Cells = Callable[[dict[str, Any], float], list[Any]]
Conditions = Callable[[dict[str, Any]], list[dict[str, str]] | None]


class Column(msgspec.Struct, frozen=True):
    """One ``TableColumnDefinition``; field order is the wire order."""

    name: str
    type: str
    format: str
    description: str
    priority: int


def column(
    name: str, description: str, kind: str = "string", fmt: str = "", priority: int = 0
) -> Column:
    return Column(name, kind, fmt, description, priority)


def _no_conditions(obj: dict[str, Any]) -> None:
    return None


@dataclass(frozen=True, slots=True)
class Printer:
    columns: tuple[Column, ...]
    cells: Cells
    conditions: Conditions = _no_conditions
    conversion_annotations: frozenset[str] = frozenset()
