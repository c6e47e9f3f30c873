"""Continue tokens: kube-apiserver's bytes and its 400s for bad ones."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from watchcache.api.continuetoken import (
    INCONSISTENT_CONTINUE,
    ContinueToken,
    decode_continue,
    encode_continue,
    expired_continue,
)
from watchcache.api.status import ApiError


def _b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode()


def test_encoding_is_kube_apiservers_bytes() -> None:
    # A token a real kube-apiserver issued for a namespaced pods list at RV 5
    # after pod "a" (see tests/e2e/test_api_contract.py for the live check).
    assert encode_continue(5, "a") == _b64('{"v":"meta.k8s.io/v1","rv":5,"start":"a\\u0000"}')
    assert encode_continue(7, "ns/p") == _b64('{"v":"meta.k8s.io/v1","rv":7,"start":"ns/p\\u0000"}')
    assert "=" not in encode_continue(1, "abcd")


def test_go_html_escaping() -> None:
    raw = base64.urlsafe_b64decode(encode_continue(1, "<&>") + "==").decode()
    assert raw == '{"v":"meta.k8s.io/v1","rv":1,"start":"\\u003c\\u0026\\u003e\\u0000"}'


def _error(token: str) -> str:
    with pytest.raises(ApiError) as caught:
        decode_continue(token)
    assert (caught.value.code, caught.value.reason) == (400, "BadRequest")
    return caught.value.message


_PREFIX = "invalid continue token: continue key is not valid: "


@pytest.mark.parametrize(
    ("token", "detail"),
    [
        ("a=b", "illegal base64 data at input byte 1"),
        ("YQ=", "illegal base64 data at input byte 2"),
        ("abcde", "illegal base64 data at input byte 4"),
        ("abc", "invalid character 'i' looking for beginning of value"),
        ("", "unexpected end of JSON input"),
        (_b64("[1]"), "json: cannot unmarshal array into Go value of type storage.continueToken"),
        (
            _b64('{"v":"meta.k8s.io/v1","rv":"5","start":"a"}'),
            "json: cannot unmarshal string into Go struct field continueToken.rv of type int64",
        ),
        (_b64('{"v":"x","rv":5,"start":"a"}'), "server does not recognize this encoded version x"),
        # Over Python's 4,300-digit int() limit (once misreported as too deep).
        (
            _b64('{"v":"meta.k8s.io/v1","rv":' + "9" * 5000 + ',"start":"a"}'),
            f"json: cannot unmarshal number {'9' * 5000} into Go struct field continueToken.rv"
            " of type int64",
        ),
        (
            _b64('{"v":-' + "1" * 5000 + "}"),
            "json: cannot unmarshal number into Go struct field continueToken.v of type string",
        ),
        (_b64("null"), "server does not recognize this encoded version "),
        (_b64('{"v":"meta.k8s.io/v1","rv":5,"start":"../a"}'), "../a"),
        (_b64('{"v":"meta.k8s.io/v1","rv":5,"start":"."}'), "."),
        (_b64('{"v":"meta.k8s.io/v1","rv":5,"start":"a//b"}'), "a//b"),
        (
            _b64('{"v":"meta.k8s.io/v1","rv":0,"start":"a"}'),
            "incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
        ),
        (
            _b64('{"v":"meta.k8s.io/v1","rv":5,"start":""}'),
            "encoded start key empty (version meta.k8s.io/v1)",
        ),
    ],
)
def test_malformed_tokens(token: str, detail: str) -> None:
    assert _error(token) == _PREFIX + detail


def test_lenient_cases_kube_accepts() -> None:
    assert decode_continue(_b64('{"V":"meta.k8s.io/v1","RV":-1,"start":"a","x":1}')) == (
        ContinueToken(-1, "a")
    )
    # A rooted start is read relative to the prefix; "/" means from the top.
    assert decode_continue(_b64('{"v":"meta.k8s.io/v1","rv":5,"start":"/"}')).start == ""
    assert decode_continue(_b64('{"v":"meta.k8s.io/v1","rv":5,"start":"/a"}')).start == "a"


def test_expired_continue_hands_out_rv_minus_one() -> None:
    err = expired_continue(ContinueToken(5, "ns/p\x00"))
    assert (err.code, err.reason, err.message) == (410, "Expired", INCONSISTENT_CONTINUE)
    new = err.status()["metadata"]["continue"]
    assert decode_continue(new) == ContinueToken(-1, "ns/p\x00")


_KEYS = st.from_regex(
    r"[a-z0-9]([-a-z0-9.]{0,10}[a-z0-9])?(/[a-z0-9]([-a-z0-9]{0,10}[a-z0-9])?)?", fullmatch=True
)


@given(st.integers(min_value=1, max_value=2**63 - 1), _KEYS)
def test_round_trip(rv: int, key: str) -> None:
    token = encode_continue(rv, key)
    assert decode_continue(token) == ContinueToken(rv, key + "\x00")
    raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    assert raw == {"v": "meta.k8s.io/v1", "rv": rv, "start": key + "\x00"}


@given(st.text(max_size=60))
def test_decode_raises_only_api_errors(text: str) -> None:
    try:
        decode_continue(text)
    except ApiError as err:
        assert err.code == 400


@given(st.binary(max_size=60))
def test_decode_of_arbitrary_payloads_raises_only_api_errors(payload: bytes) -> None:
    try:
        decode_continue(base64.urlsafe_b64encode(payload).rstrip(b"=").decode())
    except ApiError as err:
        assert err.code == 400


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(st.sampled_from(["v", "rv", "start", "x"]), inner, max_size=3)
        ),
        max_leaves=6,
    )
)
def test_decode_of_arbitrary_json_raises_only_api_errors(value: object) -> None:
    try:
        decode_continue(_b64(json.dumps(value)))
    except ApiError as err:
        assert err.code == 400
