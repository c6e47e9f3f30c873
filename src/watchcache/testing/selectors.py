"""Interim label and field selectors for the simulator.

TODO(watchcache/api/selectors.py): replace by the shared module once it is
committed; ``LabelSelector`` and ``FieldSelector`` mirror its interface
(parse, matches, empty, exact, fields). Error messages here are close to
kube-apiserver's but not byte-identical; the shared module owns that.

Glossary:
    requirement   one comma-separated term: ``key op values``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from watchcache.testing import status

__all__ = ["FieldSelector", "LabelSelector"]

_SET_TERM = re.compile(r"^\s*(\S+)\s+(in|notin)\s+\(([^)]*)\)\s*$")
_CMP_TERM = re.compile(r"^\s*([^!=<>\s]+)\s*(==|!=|=|>|<)\s*(\S*)\s*$")
_EXISTS_TERM = re.compile(r"^\s*(!?)\s*([^!=<>\s(),]+)\s*$")

Check = Callable[[Mapping[str, str]], bool]


def _split_terms(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    terms, depth, start = [], 0, 0
    for index, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            terms.append(text[start:index])
            start = index + 1
    terms.append(text[start:])
    return [t for t in terms if t.strip()]


def _set_check(key: str, op: str, values: frozenset[str]) -> Check:
    if op == "in":
        return lambda labels: labels.get(key) in values
    return lambda labels: labels.get(key) not in values


def _int_or_fail(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise status.bad_request(
            f"unable to parse requirement: invalid integer value {text!r}"
        ) from None


def _cmp_check(key: str, op: str, value: str) -> Check:
    if op in ("=", "=="):
        return lambda labels: labels.get(key) == value
    if op == "!=":
        return lambda labels: labels.get(key) != value
    bound = _int_or_fail(value)

    def compare(labels: Mapping[str, str]) -> bool:
        found = labels.get(key)
        if found is None or not found.lstrip("-").isdigit():
            return False
        return int(found) > bound if op == ">" else int(found) < bound

    return compare


def _label_term(term: str) -> Check:
    if match := _SET_TERM.match(term):
        values = frozenset(v.strip() for v in match[3].split(",") if v.strip())
        return _set_check(match[1], match[2], values)
    if match := _CMP_TERM.match(term):
        return _cmp_check(match[1], match[2], match[3])
    if match := _EXISTS_TERM.match(term):
        key, negate = match[2], bool(match[1])
        return (lambda labels: key not in labels) if negate else (lambda labels: key in labels)
    raise status.bad_request(f"unable to parse requirement: {term.strip()!r}")


@dataclass(frozen=True, slots=True)
class LabelSelector:
    text: str
    checks: tuple[Check, ...]

    @classmethod
    def parse(cls, text: str) -> LabelSelector:
        return cls(text, tuple(_label_term(t) for t in _split_terms(text)))

    @property
    def empty(self) -> bool:
        return not self.checks

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(check(labels) for check in self.checks)


_FIELD_TERM = re.compile(r"^\s*([^!=\s]+)\s*(==|!=|=)\s*(.*?)\s*$")


@dataclass(frozen=True, slots=True)
class FieldSelector:
    text: str
    terms: tuple[tuple[str, str, str], ...]  # (field, op, value)

    @classmethod
    def parse(cls, text: str) -> FieldSelector:
        terms = []
        for term in _split_terms(text):
            match = _FIELD_TERM.match(term)
            if match is None:
                raise status.bad_request(f"invalid selector: '{text}'; can't understand '{term}'")
            op = "=" if match[2] == "==" else match[2]
            terms.append((match[1], op, match[3]))
        return cls(text, tuple(terms))

    @property
    def empty(self) -> bool:
        return not self.terms

    @property
    def fields(self) -> frozenset[str]:
        return frozenset(field for field, _, _ in self.terms)

    def exact(self, field: str) -> str | None:
        for name, op, value in self.terms:
            if name == field and op == "=":
                return value
        return None

    def matches(self, fields: Mapping[str, str]) -> bool:
        return all((fields.get(name) == value) == (op == "=") for name, op, value in self.terms)
