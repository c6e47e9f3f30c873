from __future__ import annotations

import json

from watchcache.api.status import expired
from watchcache.api.watchevent import BOOKMARK, error_line, watch_line


def test_a_line_is_what_go_writes_byte_for_byte() -> None:
    obj = {"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "a", "resourceVersion": "7"}}
    raw = json.dumps(obj, separators=(",", ":")).encode()
    expected = json.dumps({"type": "MODIFIED", "object": obj}, separators=(",", ":")) + "\n"
    assert watch_line("MODIFIED", raw) == expected.encode()


def test_the_object_is_spliced_in_as_it_is() -> None:
    raw = b'{"metadata": {"name":  "spaced"}}'
    assert watch_line(BOOKMARK, raw) == b'{"type":"BOOKMARK","object":' + raw + b"}\n"


def test_an_error_line_carries_the_status() -> None:
    error = expired("too old resource version: 1 (5)")
    line = error_line(error)
    assert line.endswith(b"}\n") and line.count(b"\n") == 1
    assert json.loads(line) == {"type": "ERROR", "object": json.loads(error.body())}
