from __future__ import annotations

import json
import logging

from watchcache.proxy.logs import JsonFormatter, TextFormatter


def record() -> logging.LogRecord:
    rec = logging.LogRecord(
        "watchcache.access", logging.INFO, __file__, 1, "GET %s %d", ("/api", 200), None
    )
    rec.request_id = "abc"
    rec.served_by = "upstream"
    return rec


def test_text_appends_fields() -> None:
    line = TextFormatter().format(record())
    assert line.endswith("watchcache.access: GET /api 200 request_id=abc served_by=upstream")


def test_json_has_message_and_fields() -> None:
    entry = json.loads(JsonFormatter().format(record()))
    assert entry["message"] == "GET /api 200"
    assert (entry["level"], entry["request_id"], entry["served_by"]) == ("info", "abc", "upstream")


def test_json_time_is_rfc3339_with_milliseconds_and_zone() -> None:
    rec = record()
    rec.created = 1796001627.5094
    entry = json.loads(JsonFormatter().format(rec))
    assert entry["time"] == "2026-11-30T01:20:27.509Z"


def test_access_fields_are_json_fields_and_not_repeated_in_text() -> None:
    rec = record()
    rec.method, rec.path, rec.code = "GET", "/api", 200
    entry = json.loads(JsonFormatter().format(rec))
    assert (entry["method"], entry["path"], entry["code"]) == ("GET", "/api", 200)
    line = TextFormatter().format(rec)
    assert line.endswith("GET /api 200 request_id=abc served_by=upstream")


def test_health_checks_answered_yes_are_logged_at_debug_and_everything_else_at_info() -> None:
    from watchcache.proxy.context import _access_level

    assert _access_level("/readyz", 200) == logging.DEBUG
    assert _access_level("/livez/ping", 200) == logging.DEBUG
    assert _access_level("/healthz", 200) == logging.DEBUG
    assert _access_level("/readyz", 500) == logging.INFO, "a failing check is news"
    assert _access_level("/api/v1/pods", 200) == logging.INFO
