"""Values inside cells: label sets, selectors, access modes, capped lists."""

from __future__ import annotations

from typing import Any

import pytest

from watchcache.table.cellformat import access_modes, capped_list, label_selector, label_set


def test_label_set() -> None:
    assert label_set({"b": "2", "a": "1"}) == "a=1,b=2"
    assert label_set({}) == label_set(None) == "<none>"


@pytest.mark.parametrize(
    ("selector", "text"),
    [
        (None, "<none>"),
        ({}, "<none>"),
        ({"matchLabels": {"b": "1", "a": "2"}}, "a=2,b=1"),
        (
            {"matchExpressions": [{"key": "k", "operator": "In", "values": ["z", "y"]}]},
            "k in (y,z)",
        ),
        ({"matchExpressions": [{"key": "k", "operator": "NotIn", "values": ["x"]}]}, "k notin (x)"),
        ({"matchExpressions": [{"key": "k", "operator": "Exists"}]}, "k"),
        ({"matchExpressions": [{"key": "k", "operator": "DoesNotExist"}]}, "!k"),
        ({"matchExpressions": [{"key": "k", "operator": "Near"}]}, "<error>"),
    ],
)
def test_label_selector(selector: Any, text: str) -> None:
    assert label_selector(selector) == text


def test_access_modes_in_kube_order_without_duplicates() -> None:
    assert (
        access_modes(["ReadWriteMany", "ReadOnlyMany", "ReadWriteOnce", "ReadWriteMany"])
        == "RWO,ROX,RWX"
    )
    assert access_modes(None) == ""


def test_capped_list() -> None:
    assert capped_list(["a", "b", "c"], 3, "-") == "a,b,c"
    assert capped_list(["a", "b", "c", "d"], 5, "-") == "a,b,c + 2 more..."
    assert capped_list([], 0, "-") == "-"
