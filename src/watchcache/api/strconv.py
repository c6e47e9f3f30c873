"""Go's strconv, as kube-apiserver's error messages show it.

kube-apiserver parses integer query parameters (``limit``,
``timeoutSeconds``, a label selector's ``>``/``<`` operand) with
``strconv.ParseInt(s, 10, 64)`` and resource versions with
``strconv.ParseUint(s, 10, 64)``, and puts the error into its Status
message verbatim: ``strconv.ParseInt: parsing "x": invalid syntax`` or
``...: value out of range``, the input quoted by ``strconv.Quote``.

Invariant: nothing here converts more digits than an int64 or uint64 can
hold. Python's ``int()`` refuses strings over 4,300 digits with a
ValueError (CVE-2020-10735's limit), which a client could otherwise turn
into a 500 with a 25-digit-per-line traceback; here such a number is out
of range (or, with leading zeros, as small as Go reads it).
"""

from __future__ import annotations

import re

__all__ = ["NumError", "parse_int64", "parse_uint64", "quote"]

_LEADING_DIGITS = re.compile(r"0*([0-9]*)")
# More significant digits than this cannot fit 64 bits (2**64 has 20).
_MAX_DIGITS = 20


class NumError(ValueError):
    """strconv.NumError: ``str(err)`` is Go's message."""

    def __init__(self, func: str, text: str, reason: str) -> None:
        super().__init__(f"strconv.{func}: parsing {quote(text)}: {reason}")
        self.out_of_range = reason == "value out of range"


def parse_int64(text: str) -> int:
    """strconv.ParseInt(text, 10, 64); raises NumError as Go words it."""
    negative = text.startswith("-")
    unsigned = text[1:] if text[:1] in ("+", "-") else text
    value = _parse(unsigned, "ParseInt", text)
    if negative:
        value = -value
    if not -(2**63) <= value < 2**63:
        raise NumError("ParseInt", text, "value out of range")
    return value


def parse_uint64(text: str) -> int:
    """strconv.ParseUint(text, 10, 64); raises NumError as Go words it."""
    return _parse(text, "ParseUint", text)


def _parse(digits: str, func: str, text: str) -> int:
    """Go's loop: digits left to right, out of range as soon as the value
    passes 2**64-1 (even if a bad character follows), invalid syntax at
    the first character that is not an ASCII digit, or for nothing."""
    match = _LEADING_DIGITS.match(digits)
    assert match is not None  # the pattern matches any string, if only ""
    significant = match.group(1)
    if len(significant) > _MAX_DIGITS or (significant and int(significant) >= 2**64):
        raise NumError(func, text, "value out of range")
    if not digits or match.end() != len(digits):
        raise NumError(func, text, "invalid syntax")
    return int(significant or "0")


_NAMED_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    "\\": "\\\\",
    '"': '\\"',
}


def quote(text: str) -> str:
    """strconv.Quote: double-quoted, printable characters as they are,
    the rest escaped (Go's IsPrint and Python's isprintable agree: letters,
    marks, numbers, punctuation, symbols and the ASCII space)."""
    if text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    out = ['"']
    for ch in text:
        named = _NAMED_ESCAPES.get(ch)
        if named is not None:
            out.append(named)
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)
