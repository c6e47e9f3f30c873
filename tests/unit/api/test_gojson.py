"""Go's JSON scanner errors (checked against a real server in
tests/e2e/test_api_contract.py::test_malformed_token_json_answers_match)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from watchcache.api import gojson


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", "unexpected end of JSON input"),
        (b"{", "unexpected end of JSON input"),
        (b"abc", "invalid character 'a' looking for beginning of value"),
        (b"{1}", "invalid character '1' looking for beginning of object key string"),
        (b'{"v"}', "invalid character '}' after object key"),
        (b'{"v":"a" "rv":1}', "invalid character '\"' after object key:value pair"),
        (b'{"v":"a",}', "invalid character '}' looking for beginning of object key string"),
        (b"[1 2]", "invalid character '2' after array element"),
        (b"[1,]", "invalid character ']' looking for beginning of value"),
        (b"trUe", "invalid character 'U' in literal true (expecting 'u')"),
        (b"tru", "invalid character ' ' in literal true (expecting 'e')"),
        (b"-", "invalid character ' ' in numeric literal"),
        (b"1.", "invalid character ' ' after decimal point in numeric literal"),
        (b"1e+", "invalid character ' ' in exponent of numeric literal"),
        (b"01", "invalid character '1' after top-level value"),
        (b'"a\\qb"', "invalid character 'q' in string escape code"),
        (b'"a\\u12G4"', "invalid character 'G' in \\u hexadecimal character escape"),
        (b'"a\x01b"', "invalid character '\\x01' in string literal"),
        (b"'a'", "invalid character '\\'' looking for beginning of value"),
        (b"{} x", "invalid character 'x' after top-level value"),
    ],
)
def test_syntax_errors(data: bytes, error: str) -> None:
    assert gojson.syntax_error(data) == error


def test_kinds_and_numbers() -> None:
    value = gojson.loads(b'{"a":[1,2.50,"s",true,null,{}]}')
    assert isinstance(value, gojson.GoObject)
    ((key, items),) = value
    assert key == "a"
    assert [gojson.kind(v) for v in items if v is not None] == [
        "number",
        "number",
        "string",
        "bool",
        "object",
    ]
    assert gojson.number_text(items[1]) == "2.50"


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=8,
)


@given(_JSON)
def test_valid_json_has_no_syntax_error(value: object) -> None:
    data = json.dumps(value).encode()
    assert gojson.syntax_error(data) is None
    gojson.loads(data)


@given(st.binary(max_size=30))
def test_accepted_bytes_always_load(data: bytes) -> None:
    if gojson.syntax_error(data) is None:
        gojson.loads(data)
