"""List continue tokens, byte-identical to kube-apiserver's.

Glossary:
    key         where an object sits in its resource, relative to the
                request's prefix: ``name`` in a namespaced list,
                ``namespace/name`` in a list across namespaces, ``name`` for
                cluster-scoped kinds. Keys sort like etcd keys.
    token       base64url without padding of the compact JSON
                ``{"v":"meta.k8s.io/v1","rv":RV,"start":START}``.
    start       the first key the next page may hold: the last key served
                plus ``"\\x00"``, so the next page lists keys ``>= start``.
    rv          the resourceVersion the whole paginated list is read at;
                ``-1`` in a token handed out with a 410 means "continue at
                the latest state" (kube-apiserver's inconsistent continue).

Invariants:
    * ``decode_continue(encode_continue(rv, key))`` is
      ``ContinueToken(rv, key + "\\x00")``.
    * ``decode_continue`` raises only ``ApiError`` (400 BadRequest, message
      ``invalid continue token: ...``), whatever the text.

Decoding follows k8s.io/apiserver pkg/storage continue.go (1.34+). Where
1.20 differs: its unknown-version message quotes the version
(``... encoded version "x"``), and its Go type in JSON errors is
``etcd3.continueToken`` (1.34: ``storage.continueToken``). Go's JSON error
texts come from ``gojson``, which mirrors Go's scanner and decoder.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

from watchcache.api import gojson
from watchcache.api.status import ApiError, bad_request, expired

__all__ = [
    "INCONSISTENT_CONTINUE",
    "ContinueToken",
    "decode_continue",
    "encode_continue",
    "expired_continue",
]

_VERSION = "meta.k8s.io/v1"
_GO_TYPE = "storage.continueToken"

INCONSISTENT_CONTINUE = (
    "The provided continue parameter is too old to display a consistent list result. "
    "You can start a new list without the continue parameter, or use the continue token "
    "in this response to retrieve the remainder of the results. Continuing with the "
    "provided token results in an inconsistent list - objects that were created, "
    "modified, or deleted between the time the first chunk was returned and now may "
    "show up in the list."
)


@dataclass(frozen=True, slots=True)
class ContinueToken:
    rv: int
    start: str


def _go_json_string(text: str) -> str:
    """encoding/json's string encoding: HTML-safe, escapes U+2028/2029."""
    encoded = json.dumps(text, ensure_ascii=False)
    for char, escape in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        encoded = encoded.replace(char, escape)
    return encoded


def _encode(rv: int, start: str) -> str:
    raw = f'{{"v":"{_VERSION}","rv":{rv},"start":{_go_json_string(start)}}}'
    return base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode()


def encode_continue(rv: int, last_key: str) -> str:
    """The token for the page after ``last_key`` (a relative key)."""
    return _encode(rv, last_key + "\x00")


def expired_continue(token: ContinueToken) -> ApiError:
    """The 410 for a token whose rv is compacted: its Status carries a token
    to continue from the same key at the latest state (rv -1)."""
    return expired(INCONSISTENT_CONTINUE, continue_token=_encode(-1, token.start))


def _invalid(detail: str) -> ApiError:
    return bad_request(f"invalid continue token: continue key is not valid: {detail}")


_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


def _base64_error(text: str) -> int | None:
    """The byte offset Go's RawURLEncoding reports, or None if valid."""
    # Go skips CR and LF anywhere in the input.
    stripped = text.replace("\r", "").replace("\n", "")
    match = _BASE64URL.match(stripped)
    assert match is not None
    bad = match.end()
    if bad < len(stripped):
        # Offsets count bytes of the original input.
        return _original_offset(text, bad)
    if len(stripped) % 4 == 1:
        return _original_offset(text, len(stripped) - 1)
    return None


def _original_offset(text: str, index: int) -> int:
    seen = 0
    for pos, char in enumerate(text):
        if char in "\r\n":
            continue
        if seen == index:
            return len(text[:pos].encode())
        seen += 1
    return len(text.encode())


def _decode_base64(text: str) -> bytes:
    if not text.isascii():
        raise _invalid(f"illegal base64 data at input byte {_non_ascii_offset(text)}")
    bad = _base64_error(text)
    if bad is not None:
        raise _invalid(f"illegal base64 data at input byte {bad}")
    stripped = text.replace("\r", "").replace("\n", "")
    try:
        return base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
    except (binascii.Error, ValueError) as err:  # pragma: no cover - checked above
        raise _invalid(f"illegal base64 data at input byte {len(text)}") from err


def _non_ascii_offset(text: str) -> int:
    stripped_prefix = re.match(r"[A-Za-z0-9_\r\n-]*", text)
    assert stripped_prefix is not None
    return len(text[: stripped_prefix.end()].encode())


def _parse_json(data: bytes) -> tuple[str, int, str]:
    """json.Unmarshal into kube's continueToken struct: syntax first, then
    the first field whose type does not fit, in the order keys appear."""
    syntax = gojson.syntax_error(data)
    if syntax is not None:
        raise _invalid(syntax)
    try:
        parsed = gojson.loads(data)
    except (ValueError, RecursionError):
        # Valid for Go but beyond Python's parser (nesting > ~1000 deep).
        raise _invalid("exceeded max depth") from None
    if parsed is None:
        return "", 0, ""
    if not isinstance(parsed, gojson.GoObject):
        raise _invalid(
            f"json: cannot unmarshal {gojson.kind(parsed)} into Go value of type {_GO_TYPE}"
        )
    return _struct_fields(parsed)


_FIELD_TYPES = {"v": "string", "rv": "int64", "start": "string"}


def _struct_fields(obj: gojson.GoObject) -> tuple[str, int, str]:
    # Go matches keys to fields case-insensitively; a later key wins.
    values: dict[str, Any] = {"v": None, "rv": None, "start": None}
    for key, value in obj:
        name = key.lower()
        if name not in _FIELD_TYPES or value is None:
            continue
        if not _fits(value, _FIELD_TYPES[name]):
            raise _invalid(_type_error(name, value))
        values[name] = value
    return values["v"] or "", values["rv"] or 0, values["start"] or ""


def _fits(value: Any, go_type: str) -> bool:
    if go_type == "string":
        return isinstance(value, str)
    return isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63


def _type_error(name: str, value: Any) -> str:
    go_type = _FIELD_TYPES[name]
    shown = gojson.kind(value)
    if shown == "number" and go_type == "int64":
        shown = f"number {gojson.number_text(value)}"
    return f"json: cannot unmarshal {shown} into Go struct field continueToken.{name} of type {go_type}"


def _is_clean(rooted: str) -> bool:
    """path.Clean(rooted) == rooted, for a path starting with "/"."""
    if rooted == "/":
        return True
    parts = rooted[1:].split("/")
    return all(part not in ("", ".", "..") for part in parts)


def decode_continue(token: str) -> ContinueToken:
    """Read a client's continue token as kube-apiserver does; raise the 400
    it answers for a malformed one."""
    version, rv, start = _parse_json(_decode_base64(token))
    if version != _VERSION:
        raise _invalid(f"server does not recognize this encoded version {version}")
    if rv == 0:
        raise bad_request(
            "invalid continue token: continue key is not valid: "
            "incorrect encoded start resourceVersion (version meta.k8s.io/v1)"
        )
    if not start:
        raise bad_request(
            "invalid continue token: continue key is not valid: "
            "encoded start key empty (version meta.k8s.io/v1)"
        )
    # Path traversal guard: the key, rooted, must already be clean.
    rooted = start if start.startswith("/") else "/" + start
    if not _is_clean(rooted):
        raise _invalid(start)
    return ContinueToken(rv, rooted[1:])
