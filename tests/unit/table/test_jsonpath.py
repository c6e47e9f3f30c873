"""The JSONPath subset of CRD printer columns, and Go's printing of results."""

from __future__ import annotations

from typing import Any

import pytest

from watchcache.table.jsonpath import UnsupportedPath, compile_path, go_float, go_text

OBJ = {
    "spec": {"replicas": 3, "tags": ["a", "b", "c"], "a.b": "dotted", "map": {"y": 2, "x": 1}},
    "status": {
        "conditions": [
            {"type": "Other", "status": "x", "n": 1},
            {"type": "Ready", "status": "True", "n": 5},
        ]
    },
}


@pytest.mark.parametrize(
    ("path", "results"),
    [
        (".spec.replicas", [3]),
        ("{.spec.replicas}", [3]),
        ("$.spec.replicas", [3]),
        (".spec.missing", []),
        (".spec.replicas.deeper", []),
        (".spec.tags[0]", ["a"]),
        (".spec.tags[-1]", ["c"]),
        (".spec.tags[7]", []),
        (".spec.tags[*]", ["a", "b", "c"]),
        (".spec.tags[1:]", ["b", "c"]),
        (".spec.tags[:2]", ["a", "b"]),
        (".spec['a.b']", ["dotted"]),
        ('.spec["a.b"]', ["dotted"]),
        (".spec.map.*", [1, 2]),
        ('.status.conditions[?(@.type=="Ready")].status', ["True"]),
        (".status.conditions[?(@.type=='Ready')].status", ["True"]),
        ('.status.conditions[?(@.type!="Ready")].status', ["x"]),
        (".status.conditions[?(@.n>2)].type", ["Ready"]),
        (".status.conditions[?(@.n)].type", ["Other", "Ready"]),
        (".status.conditions[*].type", ["Other", "Ready"]),
    ],
)
def test_results(path: str, results: list[Any]) -> None:
    assert compile_path(path).results(OBJ) == results


@pytest.mark.parametrize("path", ["..spec", "spec.replicas", ".spec[0,1]", ".spec[?(@.a ~ 1)]"])
def test_outside_the_subset(path: str) -> None:
    with pytest.raises(UnsupportedPath):
        compile_path(path)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("s", "s"),
        (True, "true"),
        (3, "3"),
        (2.5, "2.5"),
        (4.0, "4"),
        (123456.0, "123456"),
        (1e6, "1e+06"),
        (12345678.5, "1.23456785e+07"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        ({"b": 1, "a": "<&>"}, '{"a":"\\u003c\\u0026\\u003e","b":1}'),
        (["x", 1], '["x",1]'),
    ],
)
def test_go_text(value: Any, text: str) -> None:
    assert go_text(value) == text


def test_go_float_specials() -> None:
    assert [go_float(v) for v in (float("nan"), float("inf"), -0.0)] == ["NaN", "+Inf", "-0"]
