"""Label key and value validation in kube's words."""

from __future__ import annotations

import pytest

from watchcache.api import validation


@pytest.mark.parametrize("key", ["a", "app.kubernetes.io/name", "A-b_c.d", "x" * 63, "a.b/c"])
def test_valid_keys(key: str) -> None:
    assert validation.qualified_name_errors(key) == []


def test_invalid_key_messages_in_kube_order() -> None:
    errors = validation.qualified_name_errors("Bad_Prefix/" + "x" * 64)
    assert errors[0].startswith("prefix part a lowercase RFC 1123 subdomain must consist")
    assert errors[1] == "name part must be no more than 63 characters"
    assert len(errors) == 2
    assert validation.qualified_name_errors("a/b/c")[0].startswith("a qualified name must consist")
    assert validation.qualified_name_errors("/a") == ["prefix part must be non-empty"]


def test_label_values() -> None:
    assert validation.label_value_errors("") == []
    assert validation.label_value_errors("a.b-c_d") == []
    assert validation.label_value_errors("-a")[0].startswith("a valid label must be an empty")
    assert validation.label_value_errors("é" * 32) == [
        "must be no more than 63 characters",
        validation.label_value_errors("é")[0],
    ]


def test_field_error_and_aggregate_text() -> None:
    one = validation.invalid_value("values[0]", 'a"b', ["bad"])
    assert one == 'values[0]: Invalid value: "a\\"b": bad'
    assert validation.aggregate([one]) == one
    assert validation.aggregate([one, "x", one]) == f"[{one}, x]"
