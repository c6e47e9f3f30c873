"""Go's encoding/json as kube-apiserver's error messages show it.

kube-apiserver puts Go's JSON errors verbatim into some Status messages (a
malformed continue token). To answer the same, this module checks bytes
with the same state machine as Go's scanner and words its errors the same.

Glossary:
    syntax error    what Go's scanner reports before decoding anything:
                    ``invalid character 'x' looking for beginning of value``
                    or ``unexpected end of JSON input``.
    kind            Go's name for a JSON value's type in an
                    UnmarshalTypeError: string, number, bool, array, object.
    GoNumber        a non-integer JSON number, or an integer too long for
                    any Go integer type, kept as its source text because Go
                    quotes the literal ("number 5.0"); Python's int() would
                    refuse one of over 4,300 digits.
    GoObject        a JSON object as its ordered (key, value) pairs.

Invariant: ``syntax_error(data)`` is None exactly when Go's scanner accepts
``data``; then ``loads(data)`` succeeds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = ["GoNumber", "GoObject", "kind", "loads", "number_text", "syntax_error"]

_SPACE = frozenset(b" \t\r\n")
# Sets of byte values, so the end-of-input marker -1 is simply not in them.
_DIGITS = frozenset(b"0123456789")
_EXPONENT = frozenset(b"eE")
_SIGN = frozenset(b"+-")
_MAX_DEPTH = 10000  # Go's scanner limit


@dataclass(frozen=True, slots=True)
class GoNumber:
    text: str


class GoObject(list[tuple[str, Any]]):
    """A JSON object as its (key, value) pairs in order, duplicates kept:
    Go decodes every occurrence, so a bad first value is reported even if a
    later duplicate key is fine."""


def _quote_char(byte: int) -> str:
    """quoteChar in Go's scanner: the offending byte as Go prints it."""
    if byte == ord("'"):
        return "'\\''"
    if byte == ord('"'):
        return "'\"'"
    char = chr(byte)  # Go converts the byte to a rune, not a UTF-8 decode
    if char.isprintable():
        return f"'{char}'"
    if byte < 0x20 or byte == 0x7F:
        shown = {7: "\\a", 8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v", 12: "\\f", 13: "\\r"}
        return "'" + shown.get(byte, f"\\x{byte:02x}") + "'"
    return f"'\\u{byte:04x}'"


class _SyntaxError(Exception):
    pass


def _fail(byte: int, context: str) -> _SyntaxError:
    return _SyntaxError(f"invalid character {_quote_char(byte)} {context}")


class _Scanner:
    """A cursor over the bytes; each method consumes one JSON construct."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        self.depth = 0

    def peek(self) -> int:
        if self.pos >= len(self.data):
            raise _SyntaxError("unexpected end of JSON input")
        return self.data[self.pos]

    def skip_space(self) -> int:
        while self.peek() in _SPACE:
            self.pos += 1
        return self.data[self.pos]

    def value(self) -> None:
        byte = self.skip_space()
        if byte == ord("{"):
            self.container(ord("}"), self.member, "after object key:value pair")
        elif byte == ord("["):
            self.container(ord("]"), self.value, "after array element")
        elif byte == ord('"'):
            self.string()
        elif byte == ord("-") or byte in _DIGITS:
            self.number()
        elif byte in b"tfn":
            self.literal({ord("t"): b"true", ord("f"): b"false", ord("n"): b"null"}[byte])
        else:
            raise _fail(byte, "looking for beginning of value")

    def container(self, close: int, item: Any, after_item: str) -> None:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise _SyntaxError("exceeded max depth")
        self.pos += 1
        is_object = close == ord("}")
        if self.skip_space() == close:
            self.pos += 1
            self.depth -= 1
            return
        while True:
            item()
            byte = self.skip_space()
            self.pos += 1
            if byte == close:
                self.depth -= 1
                return
            if byte != ord(","):
                raise _fail(byte, after_item)
            if is_object and self.skip_space() != ord('"'):
                raise _fail(self.peek(), "looking for beginning of object key string")

    def member(self) -> None:
        byte = self.skip_space()
        if byte != ord('"'):
            raise _fail(byte, "looking for beginning of object key string")
        self.string()
        byte = self.skip_space()
        if byte != ord(":"):
            raise _fail(byte, "after object key")
        self.pos += 1
        self.value()

    def string(self) -> None:
        self.pos += 1
        while True:
            byte = self.peek()
            self.pos += 1
            if byte == ord('"'):
                return
            if byte == ord("\\"):
                self.escape()
            elif byte < 0x20:
                raise _fail(byte, "in string literal")

    def escape(self) -> None:
        byte = self.peek()
        self.pos += 1
        if byte == ord("u"):
            for _ in range(4):
                hexdigit = self.peek()
                if hexdigit not in b"0123456789abcdefABCDEF":
                    raise _fail(hexdigit, "in \\u hexadecimal character escape")
                self.pos += 1
        elif byte not in b'bfnrt\\/"':
            raise _fail(byte, "in string escape code")

    def number(self) -> None:
        if self.data[self.pos] == ord("-"):
            self.pos += 1
            if self._at() not in _DIGITS:
                raise self._number_error("in numeric literal")
        if self._at() == ord("0"):
            self.pos += 1
        else:
            self._digits()
        if self._at() == ord("."):
            self.pos += 1
            if self._at() not in _DIGITS:
                raise self._number_error("after decimal point in numeric literal")
            self._digits()
        if self._at() in _EXPONENT:
            self.pos += 1
            if self._at() in _SIGN:
                self.pos += 1
            if self._at() not in _DIGITS:
                raise self._number_error("in exponent of numeric literal")
            self._digits()

    def _at(self) -> int:
        # -1 at the end: numbers may end the input.
        return self.data[self.pos] if self.pos < len(self.data) else -1

    def _digits(self) -> None:
        while self._at() in _DIGITS:
            self.pos += 1

    def _number_error(self, context: str) -> _SyntaxError:
        return _fail(self._at_or_space(), context)

    def _at_or_space(self) -> int:
        # At the end Go's scanner feeds one space through the state machine,
        # so an unfinished number or literal reports ' '.
        return self.data[self.pos] if self.pos < len(self.data) else ord(" ")

    def literal(self, word: bytes) -> None:
        for expected in word:
            byte = self._at_or_space()
            if byte != expected:
                name = word.decode()
                raise _fail(byte, f"in literal {name} (expecting '{chr(expected)}')")
            self.pos += 1

    def end(self) -> None:
        while self.pos < len(self.data):
            byte = self.data[self.pos]
            if byte not in _SPACE:
                raise _fail(byte, "after top-level value")
            self.pos += 1


def syntax_error(data: bytes) -> str | None:
    """Go's scanner error for ``data``, or None when it is valid JSON."""
    scanner = _Scanner(data)
    try:
        scanner.value()
        scanner.end()
    except _SyntaxError as err:
        return str(err)
    return None


def loads(data: bytes) -> Any:
    """Decode JSON that ``syntax_error`` accepted. Invalid UTF-8 becomes
    U+FFFD as in Go; non-integer numbers become GoNumber, objects
    GoObject."""
    text = data.decode("utf-8", errors="replace")
    return json.loads(text, parse_float=GoNumber, parse_int=_integer, object_pairs_hook=GoObject)


# Digits beyond which no Go integer (at most 64 bits: 20 digits) holds it.
_MAX_INT_DIGITS = 20


def _integer(text: str) -> int | GoNumber:
    return GoNumber(text) if len(text.lstrip("-")) > _MAX_INT_DIGITS else int(text)


def kind(value: Any) -> str:
    """The JSON kind Go names in ``cannot unmarshal KIND into ...``."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, GoNumber)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, GoObject):
        return "object"
    return "array"


def number_text(value: int | GoNumber) -> str:
    """A number as its JSON literal: Go quotes it when it does not fit an
    integer field ("number 5.0", "number 99999999999999999999")."""
    return value.text if isinstance(value, GoNumber) else str(value)
