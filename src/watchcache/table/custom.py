"""Custom resources' columns: a CRD version's ``additionalPrinterColumns``
evaluated as kube-apiserver's apiextensions table convertor does.

Glossary:
    printer column   one entry of ``additionalPrinterColumns``: name, type
                     (``integer``, ``number``, ``string``, ``boolean``,
                     ``date``), format, description, priority, jsonPath.
    default columns  what a version without printer columns serves: Age,
                     a ``date`` column on ``.metadata.creationTimestamp``.

Decisions (kube-apiserver 1.20):
    * the first column is always Name (format ``name``); the printer
      columns follow in the CRD's order.
    * a column whose path reaches nothing is null; otherwise its first
      result, converted by type: ``integer`` truncates floats, ``number``
      widens ints, ``boolean`` and ``string`` keep only values of their
      type (a string column prints any value as text), ``date`` is the
      age of an RFC 3339 string (``<invalid>`` if unparsable,
      ``<unknown>`` if empty); any other combination is null.
    * a column without a description is described by its path; Name and
      the default Age by ObjectMeta's field docs.
    * a path outside ``watchcache.table.jsonpath``'s subset makes
      ``crd_printer`` return None: kube-apiserver would have evaluated it,
      so the Table must come from upstream.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from watchcache.table.cellformat import mapping, sequence
from watchcache.table.duration import age, parse_time
from watchcache.table.jsonpath import JsonPath, UnsupportedPath, compile_path, go_text
from watchcache.table.kubedescriptions import DESCRIPTIONS
from watchcache.table.printer import Column, Printer, column

__all__ = ["crd_printer", "custom_printer"]

# kube-apiserver describes a custom resource's Name column, and the default
# Age column, by ObjectMeta's own field docs: the same texts as pods' Name
# and Age (read from a real v1.20.2, kubedescriptions.py).
_NAME = column("Name", DESCRIPTIONS["/pods"]["Name"], fmt="name")
_DEFAULT_COLUMNS: Sequence[Mapping[str, Any]] = (
    {
        "name": "Age",
        "type": "date",
        "description": DESCRIPTIONS["/pods"]["Age"],
        "jsonPath": ".metadata.creationTimestamp",
    },
)


def _integer(value: Any) -> Any:
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        return int(value)
    return value if isinstance(value, int) else None


def _number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    # Go encodes an integral float64 without a fraction: 3.0 is 3.
    return int(value) if float(value).is_integer() and abs(value) < 1e21 else float(value)


def _date(value: Any, now: float) -> Any:
    if not isinstance(value, str):
        return None
    if value in ("", "null"):
        return "<unknown>"
    return "<invalid>" if parse_time(value) is None else age(value, now)


def _cell(kind: str, value: Any, now: float) -> Any:
    if value is None:
        return None
    if kind == "string":
        return go_text(value)
    if kind == "integer":
        return _integer(value)
    if kind == "number":
        return _number(value)
    if kind == "boolean":
        return value if isinstance(value, bool) else None
    if kind == "date":
        return _date(value, now)
    return None


class _Cells:
    """The cells function of one CRD version: paths compiled once."""

    __slots__ = ("_columns",)

    def __init__(self, columns: Sequence[tuple[str, JsonPath]]) -> None:
        self._columns = tuple(columns)

    def __call__(self, obj: dict[str, Any], now: float) -> list[Any]:
        cells: list[Any] = [mapping(obj.get("metadata")).get("name", "")]
        for kind, path in self._columns:
            found = path.results(obj)
            cells.append(_cell(kind, found[0], now) if found else None)
        return cells


def custom_printer(printer_columns: Sequence[Mapping[str, Any]]) -> Printer | None:
    """The printer for these ``additionalPrinterColumns`` (the default Age
    column when empty), or None if a path is outside the subset."""
    specs = list(printer_columns) or list(_DEFAULT_COLUMNS)
    columns: list[Column] = [_NAME]
    compiled: list[tuple[str, JsonPath]] = []
    for spec in specs:
        path = str(spec.get("jsonPath", ""))
        try:
            compiled.append((str(spec.get("type", "")), compile_path(path)))
        except UnsupportedPath:
            return None
        description = str(spec.get("description") or "")
        columns.append(
            Column(
                str(spec.get("name", "")),
                str(spec.get("type", "")),
                str(spec.get("format") or ""),
                description or f"Custom resource definition column (in JSONPath format): {path}",
                int(spec.get("priority") or 0),
            )
        )
    return Printer(tuple(columns), _Cells(compiled))


def crd_printer(crd: Mapping[str, Any], version: str) -> Printer | None:
    """The printer of one served version of an apiextensions.k8s.io/v1
    CustomResourceDefinition, or None (version not in the CRD, or a path
    outside the subset)."""
    for served in sequence(mapping(crd.get("spec")).get("versions")):
        served = mapping(served)
        if served.get("name") == version:
            return custom_printer(sequence(served.get("additionalPrinterColumns")))
    return None
