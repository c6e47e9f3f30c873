"""Interim continue-token codec for the simulator.

TODO(watchcache/api/continuetoken.py): replace by the shared module once it
is committed; the names mirror its interface.

A token is base64url without padding of
``{"v":"meta.k8s.io/v1","rv":RV,"start":"KEY\\u0000"}`` where KEY is the
last returned key relative to the request prefix. Go's encoding/json writes
the NUL as ``\\u0000`` and escapes <, > and & the same way.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from watchcache.testing import status

__all__ = ["ContinueToken", "decode_continue", "encode_continue", "expired_continue"]


@dataclass(frozen=True, slots=True)
class ContinueToken:
    rv: int
    start: str


def _go_json_string(text: str) -> str:
    out = json.dumps(text, ensure_ascii=False)
    return out.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def encode_continue(rv: int, last_key: str) -> str:
    start = _go_json_string(last_key + "\x00")
    raw = f'{{"v":"meta.k8s.io/v1","rv":{rv},"start":{start}}}'
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _invalid(why: str) -> status.ApiError:
    return status.bad_request(f"invalid continue token: {why}")


def decode_continue(token: str) -> ContinueToken:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError):
        raise _invalid("continue key is not valid: illegal base64 data") from None
    if not isinstance(data, dict) or data.get("v") != "meta.k8s.io/v1":
        raise _invalid("continue key is not valid: server does not recognize this encoded key")
    rv, start = data.get("rv"), data.get("start")
    if not isinstance(rv, int) or not isinstance(start, str):
        raise _invalid("continue key is not valid: incorrect encoded start resourceVersion")
    if rv == 0:
        raise _invalid(
            "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)"
        )
    return ContinueToken(rv, start)


def expired_continue(token: ContinueToken) -> status.ApiError:
    """410 whose Status carries a token to go on at the latest state."""
    error = status.expired(
        "The provided continue parameter is too old to display a consistent list result. "
        "You can start a new list without the continue parameter, or use the continue token "
        "in this response to retrieve the remainder of the results. Continuing with the "
        "provided token results in an inconsistent list - objects that were created, modified, "
        "or deleted between the time the first chunk was returned and now may show up in the list."
    )
    error.metadata["continue"] = encode_continue(-1, token.start.rstrip("\x00"))
    return error
