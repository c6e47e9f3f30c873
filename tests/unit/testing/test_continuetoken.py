"""continuetoken.py: kube-apiserver's exact bytes."""

from __future__ import annotations

import pytest

from watchcache.testing.continuetoken import ContinueToken, decode_continue, encode_continue
from watchcache.testing.status import ApiError


def test_encoding_matches_go_bytes() -> None:
    # base64url of {"v":"meta.k8s.io/v1","rv":6,"start":"kube-node-lease\u0000"}
    expected = "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6Niwic3RhcnQiOiJrdWJlLW5vZGUtbGVhc2VcdTAwMDAifQ"
    assert encode_continue(6, "kube-node-lease") == expected


def test_round_trip() -> None:
    assert decode_continue(encode_continue(42, "ns/name")) == ContinueToken(42, "ns/name\x00")


def test_html_characters_escaped_like_go() -> None:
    import base64

    token = encode_continue(1, "a<b")
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    assert "\\u003c" in raw


@pytest.mark.parametrize("bad", ["!!!", "e30", "eyJ2IjoieCJ9"])
def test_malformed_token_is_400(bad: str) -> None:
    with pytest.raises(ApiError) as caught:
        decode_continue(bad)
    assert caught.value.code == 400
