"""Go's strconv.ParseInt / ParseUint / Quote: values and error messages,
numbers of any length included (Python's int() refuses over 4,300 digits)."""

from __future__ import annotations

import pytest

from watchcache.api.strconv import NumError, parse_int64, parse_uint64, quote

LONG = "9" * 5000


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0", 0),
        ("+5", 5),
        ("-5", -5),
        ("007", 7),
        ("0" * 5000 + "7", 7),  # leading zeros of any length: Go reads 7
        ("9223372036854775807", 2**63 - 1),
        ("-9223372036854775808", -(2**63)),
    ],
)
def test_parse_int64_values(text: str, value: int) -> None:
    assert parse_int64(text) == value


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "invalid syntax"),
        ("+", "invalid syntax"),
        ("1_0", "invalid syntax"),
        (" 7", "invalid syntax"),
        ("٣", "invalid syntax"),  # a non-ASCII digit
        ("9223372036854775808", "value out of range"),
        ("-9223372036854775809", "value out of range"),
        (LONG, "value out of range"),
        ("-" + LONG, "value out of range"),
        ("1" * 4301, "value out of range"),
        # Go finds the overflow before the bad character after it.
        ("9" * 25 + "x", "value out of range"),
        ("9" * 19 + "x", "invalid syntax"),
    ],
)
def test_parse_int64_errors(text: str, reason: str) -> None:
    with pytest.raises(NumError) as caught:
        parse_int64(text)
    assert str(caught.value) == f'strconv.ParseInt: parsing "{text}": {reason}'


def test_parse_uint64() -> None:
    assert parse_uint64("18446744073709551615") == 2**64 - 1
    assert parse_uint64("0" * 5000) == 0
    for text, reason in [
        ("18446744073709551616", "value out of range"),
        (LONG, "value out of range"),
        ("+5", "invalid syntax"),
        ("-1", "invalid syntax"),
    ]:
        with pytest.raises(NumError, match=reason):
            parse_uint64(text)


def test_quote_escapes_as_go() -> None:
    assert quote("abc") == '"abc"'
    assert quote('a"b\\c') == '"a\\"b\\\\c"'
    assert quote("tab\there\nnul\x00del\x7f") == '"tab\\there\\nnul\\x00del\\x7f"'
    assert quote("héllo ☃") == '"héllo ☃"'
    assert quote("\u200b\U000e0001") == '"\\u200b\\U000e0001"'
