"""Log lines for people (text) and for machines (json).

Both carry the fields handlers attach with ``extra=`` (request_id, user,
served_by, duration_ms, remote, ...): text appends them as key=value, json
puts them beside time, level, logger and message.

json's ``time`` is RFC 3339 in UTC with milliseconds
(``2026-12-06T01:20:27.509Z``). The access log also passes ``method``,
``path`` and ``code`` as fields, for json; text leaves them out, as its
message already reads ``GET /path 200``.
"""

from __future__ import annotations

import datetime
import json
import logging
import sys

from aiohttp.http_exceptions import HttpProcessingError

__all__ = ["configure_logging"]

# Attributes every LogRecord has; anything else was passed with extra=.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


# Fields the access log's message already shows in text.
_IN_MESSAGE = frozenset({"method", "path", "code"})


def _extras(record: logging.LogRecord) -> dict[str, object]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD}


def rfc3339(created: float) -> str:
    """``created`` (seconds since the epoch) as RFC 3339, UTC, milliseconds."""
    moment = datetime.datetime.fromtimestamp(created, tz=datetime.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = {k: v for k, v in _extras(record).items() if k not in _IN_MESSAGE}
        return line + "".join(f" {k}={v}" for k, v in extras.items()) if extras else line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": rfc3339(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **_extras(record),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(level: str, fmt: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aiohttp's own access log repeats watchcache.access without its fields.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("aiohttp.server").addFilter(_client_errors_in_one_line)


def _client_errors_in_one_line(record: logging.LogRecord) -> bool:
    """A request aiohttp could not parse (a header over the limit, bad
    HTTP) is the client's mistake, already answered with a 4xx: one line,
    not an error with a traceback."""
    error = record.exc_info[1] if record.exc_info else None
    if isinstance(error, HttpProcessingError) and 400 <= error.code < 500:
        record.exc_info = None
        record.levelno, record.levelname = logging.INFO, "INFO"
        record.msg = f"{record.msg}: {error.code} " + error.message.replace("%", "%%")
    return True
