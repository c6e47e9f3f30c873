"""selectors.py (interim): the operators kube-apiserver accepts."""

from __future__ import annotations

import pytest

from watchcache.testing.selectors import FieldSelector, LabelSelector
from watchcache.testing.status import ApiError

LABELS = {"app": "web", "tier": "front", "n": "5"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", True),
        ("app=web", True),
        ("app==web", True),
        ("app!=web", False),
        ("app in (web, db)", True),
        ("app notin (web)", False),
        ("tier", True),
        ("!tier", False),
        ("missing", False),
        ("!missing", True),
        ("n>4", True),
        ("n<5", False),
        ("app=web,tier in (front,back)", True),
    ],
)
def test_label_selector(text: str, expected: bool) -> None:
    assert LabelSelector.parse(text).matches(LABELS) is expected


def test_bad_label_selector_is_400() -> None:
    with pytest.raises(ApiError) as caught:
        LabelSelector.parse("a in (b")
    assert caught.value.code == 400


def test_field_selector_exact_and_negation() -> None:
    selector = FieldSelector.parse("spec.nodeName=n1,metadata.name!=x")
    assert selector.exact("spec.nodeName") == "n1" and selector.exact("metadata.name") is None
    assert selector.fields == frozenset({"spec.nodeName", "metadata.name"})
    assert selector.matches({"spec.nodeName": "n1", "metadata.name": "y"})
    assert not selector.matches({"spec.nodeName": "n1", "metadata.name": "x"})
