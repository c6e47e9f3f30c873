"""Kubernetes validation messages (apimachinery pkg/util/validation and
pkg/util/validation/field), word for word.

Glossary:
    qualified name  a label key: an optional DNS-1123 subdomain prefix and
                    "/", then a name of at most 63 alphanumerics, '-', '_'
                    and '.', starting and ending alphanumeric.
    label value     empty, or up to 63 characters of the name alphabet.
    field error     ``path: Invalid value: "v": detail`` (field.Error).
    aggregate       several errors as kube prints them: one bare, several
                    bracketed and comma-joined, duplicates dropped.

Invariant: every ``*_errors`` function returns [] exactly when kube accepts
the value, else kube's messages in kube's order. Lengths count UTF-8 bytes,
as Go's len does.
"""

from __future__ import annotations

import re

__all__ = ["aggregate", "invalid_value", "label_value_errors", "qualified_name_errors"]


_QNAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_QNAME_RE = re.compile(_QNAME_FMT)
_LABEL_VALUE_FMT = f"({_QNAME_FMT})?"
_LABEL_VALUE_RE = re.compile(_LABEL_VALUE_FMT)
_DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN_FMT = _DNS1123_LABEL_FMT + "(\\." + _DNS1123_LABEL_FMT + ")*"
_DNS1123_SUBDOMAIN_RE = re.compile(_DNS1123_SUBDOMAIN_FMT)
_QNAME_MSG = (
    "must consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)
_LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, "
    "'-', '_' or '.', and must start and end with an alphanumeric character"
)
_DNS1123_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
    "'-' or '.', and must start and end with an alphanumeric character"
)


def _regex_error(message: str, fmt: str, *examples: str) -> str:
    # The doubled space in "'MyName',  or" is kube's, kept on purpose.
    shown = "".join(("" if i == 0 else " or ") + f"'{e}', " for i, e in enumerate(examples))
    return f"{message} (e.g. {shown}regex used for validation is '{fmt}')"


def _byte_len(text: str) -> int:
    return len(text.encode())


def qualified_name_errors(key: str) -> list[str]:
    parts = key.split("/")
    if len(parts) > 2:
        return [
            "a qualified name "
            + _regex_error(_QNAME_MSG, _QNAME_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    errors: list[str] = []
    if len(parts) == 2:
        errors += _prefix_errors(parts[0])
    name = parts[-1]
    if not name:
        errors.append("name part must be non-empty")
    elif _byte_len(name) > 63:
        errors.append("name part must be no more than 63 characters")
    if not _QNAME_RE.fullmatch(name):
        errors.append(
            "name part " + _regex_error(_QNAME_MSG, _QNAME_FMT, "MyName", "my.name", "123-abc")
        )
    return errors


def _prefix_errors(prefix: str) -> list[str]:
    if not prefix:
        return ["prefix part must be non-empty"]
    errors = []
    if _byte_len(prefix) > 253:
        errors.append("prefix part must be no more than 253 characters")
    if not _DNS1123_SUBDOMAIN_RE.fullmatch(prefix):
        errors.append(
            "prefix part " + _regex_error(_DNS1123_MSG, _DNS1123_SUBDOMAIN_FMT, "example.com")
        )
    return errors


def label_value_errors(value: str) -> list[str]:
    errors = []
    if _byte_len(value) > 63:
        errors.append("must be no more than 63 characters")
    if not _LABEL_VALUE_RE.fullmatch(value):
        errors.append(
            _regex_error(_LABEL_VALUE_MSG, _LABEL_VALUE_FMT, "MyValue", "my_value", "12345")
        )
    return errors


def _go_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def invalid_value(path: str, value: str, details: list[str]) -> str:
    """field.Invalid(...).Error(): ``path: Invalid value: "v": detail``."""
    return f"{path}: Invalid value: {_go_quote(value)}: {'; '.join(details)}"


def aggregate(messages: list[str]) -> str:
    """utilerrors.Aggregate's text: one message bare, several bracketed,
    duplicates dropped."""
    unique = list(dict.fromkeys(messages))
    return unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"
