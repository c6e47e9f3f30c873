"""Printers never raise: any JSON value where a field is expected prints as
that field's zero value (objects come from upstream, and a printer that
raised would turn one odd object into a failed list)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from watchcache.table import BUILTIN_PRINTERS, custom_printer

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=12,
)
FIELDS = [
    "metadata",
    "spec",
    "status",
    "data",
    "subsets",
    "secrets",
    "ports",
    "endpoints",
    "involvedObject",
    "source",
    "series",
    "count",
    "firstTimestamp",
    "lastTimestamp",
    "eventTime",
    "template",
    "type",
    "message",
    "addressType",
]
NESTED = [
    "containers",
    "initContainers",
    "containerStatuses",
    "initContainerStatuses",
    "conditions",
    "readinessGates",
    "state",
    "replicas",
    "selector",
    "template",
    "phase",
    "capacity",
    "accessModes",
    "claimRef",
    "addresses",
    "nodeInfo",
    "loadBalancer",
    "clusterIPs",
    "podIPs",
    "creationTimestamp",
    "labels",
    "annotations",
    "deletionTimestamp",
    "startTime",
    "jobTemplate",
]


@st.composite
def objects(draw: st.DrawFn) -> dict[str, Any]:
    nested = st.dictionaries(st.sampled_from(NESTED), json_values, max_size=6)
    return draw(st.dictionaries(st.sampled_from(FIELDS), nested | json_values, max_size=8))


@given(objects())
def test_builtin_printers_never_raise(obj: dict[str, Any]) -> None:
    for printer in BUILTIN_PRINTERS.values():
        cells = printer.cells(obj, 1e9)
        assert len(cells) == len(printer.columns)
        printer.conditions(obj)


@given(objects())
def test_custom_columns_never_raise(obj: dict[str, Any]) -> None:
    printer = custom_printer(
        [
            {"name": kind, "type": kind, "jsonPath": path}
            for kind in ("integer", "number", "boolean", "string", "date")
            for path in (
                ".spec.replicas",
                ".status.conditions[?(@.type=='Ready')].status",
                ".spec[*]",
            )
        ]
    )
    assert printer is not None
    assert len(printer.cells(obj, 1e9)) == len(printer.columns)
