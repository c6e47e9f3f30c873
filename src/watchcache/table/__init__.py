"""Server-side printing: the ``meta.k8s.io`` Table kubectl asks for with
``Accept: application/json;as=Table;v=v1;g=meta.k8s.io,application/json``,
rendered from cached objects with kube-apiserver 1.20's columns and cells.

Layers, each its own module:
    duration    AGE and other durations (``HumanDuration``).
    cellformat  how values are spelled inside cells (labels, selectors...).
    printer     ``Column`` and ``Printer`` (columns + cells + conditions).
    pods        the pod printer (STATUS, READY, RESTARTS logic).
    builtin     the other built-in kinds, and the default NAME/CREATED AT.
    jsonpath    the JSONPath subset of CRD printer columns.
    custom      custom resources' ``additionalPrinterColumns``.
    render      Table assembly: lists, single objects, watch events,
                ``includeObject``.

``printer_for`` says whether the cache can print a built-in resource:
None means upstream must (a kind with a 1.20 printer not written here).
Its printers carry kube-apiserver's own column descriptions
(``kubedescriptions``): kubectl compares columns whole.
The store never holds Tables: they are built per request from the cached
bytes. docs/table.md describes the whole.
"""

from __future__ import annotations

import functools

import msgspec

from watchcache.table.builtin import BUILTIN_PRINTERS, DEFAULT_PRINTER
from watchcache.table.custom import crd_printer, custom_printer
from watchcache.table.duration import human_duration, short_human_duration
from watchcache.table.kubedescriptions import DESCRIPTIONS
from watchcache.table.printer import Column, Printer
from watchcache.table.render import Include, ListMeta, TableRenderer, WatchTables, parse_include

__all__ = [
    "BUILTIN_PRINTERS",
    "DEFAULT_PRINTER",
    "Column",
    "Include",
    "ListMeta",
    "Printer",
    "TableRenderer",
    "WatchTables",
    "crd_printer",
    "custom_printer",
    "human_duration",
    "parse_include",
    "printer_for",
    "short_human_duration",
]


@functools.cache
def printer_for(group: str, resource: str) -> Printer | None:
    """The printer of a built-in resource, or None if upstream must print it."""
    printer = BUILTIN_PRINTERS.get((group, resource))
    described = DESCRIPTIONS.get(f"{group}/{resource}")
    if printer is None or not described:
        return printer
    columns = tuple(
        msgspec.structs.replace(c, description=described.get(c.name, c.description))
        for c in printer.columns
    )
    return Printer(columns, printer.cells, printer.conditions, printer.conversion_annotations)
