"""How kube-apiserver's printers spell values inside cells.

Glossary:
    label set        ``k=v`` pairs sorted by key, comma-joined
                     (``labels.FormatLabels``); empty is ``<none>``.
    label selector   a ``metav1.LabelSelector`` as its selector string
                     (``metav1.FormatLabelSelector``): ``k=v`` for
                     matchLabels, ``k in (a,b)``, ``k notin (a,b)``, ``k``
                     and ``!k`` for expressions, requirements sorted by key,
                     values sorted; nil or empty is ``<none>``, an invalid
                     operator ``<error>``.
    container cells  the names and the images of a pod template's
                     containers, each comma-joined.
    capped list      at most three entries then `` + N more...``.

Invariant: every function takes decoded JSON (dicts, lists, str, int) and
treats a missing or null field as Go's zero value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "access_modes",
    "capped_list",
    "container_cells",
    "count",
    "label_selector",
    "label_set",
    "mapping",
    "sequence",
]

_LIST_CAP = 3


def mapping(value: Any) -> Mapping[str, Any]:
    """``value`` if it is a JSON object, else an empty one (Go's zero)."""
    return value if isinstance(value, dict) else {}


def sequence(value: Any) -> Sequence[Any]:
    """``value`` if it is a JSON array, else an empty one."""
    return value if isinstance(value, list) else ()


def count(value: Any) -> int:
    """An int32/int64 field: its value if it is an integer, else 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def label_set(labels: Any) -> str:
    pairs = mapping(labels)
    if not pairs:
        return "<none>"
    return ",".join(f"{k}={pairs[k]}" for k in sorted(pairs))


_OPERATORS = {"In": "in", "NotIn": "notin"}


def label_selector(selector: Any) -> str:
    if not isinstance(selector, dict):
        return "<none>"
    requirements: list[tuple[str, str]] = [
        (k, f"{k}={v}") for k, v in mapping(selector.get("matchLabels")).items()
    ]
    for expression in sequence(selector.get("matchExpressions")):
        text = _requirement(mapping(expression))
        if text is None:
            return "<error>"
        requirements.append((str(mapping(expression).get("key", "")), text))
    requirements.sort(key=lambda pair: pair[0])
    return ",".join(text for _, text in requirements) or "<none>"


def _requirement(expression: Mapping[str, Any]) -> str | None:
    key = str(expression.get("key", ""))
    operator = expression.get("operator")
    values = sorted(str(v) for v in sequence(expression.get("values")))
    if operator in _OPERATORS:
        return f"{key} {_OPERATORS[operator]} ({','.join(values)})"
    if operator == "Exists":
        return key
    if operator == "DoesNotExist":
        return f"!{key}"
    return None


def container_cells(pod_spec: Any) -> tuple[str, str]:
    containers = [mapping(c) for c in sequence(mapping(pod_spec).get("containers"))]
    names = ",".join(str(c.get("name", "")) for c in containers)
    images = ",".join(str(c.get("image", "")) for c in containers)
    return names, images


_ACCESS_MODES = (("ReadWriteOnce", "RWO"), ("ReadOnlyMany", "ROX"), ("ReadWriteMany", "RWX"))


def access_modes(modes: Any) -> str:
    present = {mode for mode in sequence(modes) if isinstance(mode, str)}
    return ",".join(short for mode, short in _ACCESS_MODES if mode in present)


def capped_list(items: Sequence[str], total: int, empty: str) -> str:
    """The first three of ``total`` items (``items`` holds at least those),
    then how many more; ``empty`` when there are none."""
    text = ",".join(items[:_LIST_CAP])
    if total > _LIST_CAP:
        return f"{text} + {total - _LIST_CAP} more..."
    return text or empty
