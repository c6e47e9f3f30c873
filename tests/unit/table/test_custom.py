"""Custom resources' printer columns, as kube-apiserver 1.20 prints them."""

from __future__ import annotations

from typing import Any

from watchcache.table import crd_printer, custom_printer
from watchcache.table.duration import parse_time

CREATED = "2020-01-01T00:00:00Z"
NOW = (parse_time(CREATED) or 0.0) + 150


def cr(spec: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": "w", "creationTimestamp": CREATED}, "spec": spec}


COLUMNS = [
    {"name": "Replicas", "type": "integer", "jsonPath": ".spec.n"},
    {"name": "Ratio", "type": "number", "jsonPath": ".spec.n", "description": "d", "priority": 1},
    {"name": "On", "type": "boolean", "jsonPath": ".spec.n"},
    {"name": "Text", "type": "string", "jsonPath": ".spec.n", "format": "byte"},
    {"name": "Started", "type": "date", "jsonPath": ".spec.n"},
]


def test_columns_start_with_name_and_follow_the_crd() -> None:
    printer = custom_printer(COLUMNS)
    assert printer is not None
    columns = [(c.name, c.type, c.format, c.description, c.priority) for c in printer.columns]
    assert columns[0][:3] == ("Name", "string", "name")
    assert columns[1] == (
        "Replicas",
        "integer",
        "",
        "Custom resource definition column (in JSONPath format): .spec.n",
        0,
    )
    assert columns[2] == ("Ratio", "number", "", "d", 1)
    assert columns[4][2] == "byte"


def cells(value: Any) -> list[Any]:
    printer = custom_printer(COLUMNS)
    assert printer is not None
    return printer.cells(cr({} if value is ... else {"n": value}), NOW)[1:]


def test_cells_by_type() -> None:
    assert cells(...) == [None, None, None, None, None]
    assert cells(None) == [None, None, None, None, None]
    assert cells(3) == [3, 3, None, "3", None]
    assert cells(2.7) == [2, 2.7, None, "2.7", None]
    assert cells(True) == [None, None, True, "true", None]
    assert cells("2020-01-01T00:00:30Z") == [None, None, None, "2020-01-01T00:00:30Z", "2m"]
    assert cells("soon")[4] == "<invalid>"
    assert cells("")[4] == "<unknown>"
    assert cells(["a"])[3] == '["a"]'


def test_no_columns_is_name_and_age() -> None:
    printer = custom_printer([])
    assert printer is not None
    assert [(c.name, c.type) for c in printer.columns] == [("Name", "string"), ("Age", "date")]
    assert printer.cells(cr({}), NOW) == ["w", "2m30s"]


def test_crd_versions() -> None:
    crd = {
        "spec": {
            "versions": [
                {"name": "v1", "additionalPrinterColumns": COLUMNS[:1]},
                {
                    "name": "v2",
                    "additionalPrinterColumns": [
                        {"name": "X", "type": "string", "jsonPath": "..x"}
                    ],
                },
            ]
        }
    }
    v1 = crd_printer(crd, "v1")
    assert v1 is not None and [c.name for c in v1.columns] == ["Name", "Replicas"]
    assert crd_printer(crd, "v2") is None  # outside the subset: upstream prints it
    assert crd_printer(crd, "v3") is None
