"""Ages as kube-apiserver prints them: Go's ``time.Duration`` rounded to
the one or two units a person reads.

Glossary:
    human   ``HumanDuration`` (apimachinery util/duration): two units while
            the second still says something (``5m30s``, ``3h20m``,
            ``4d5h``, ``2y30d``), one otherwise. Every AGE cell of 1.20's
            printers and of custom resources' ``date`` columns uses it.
    short   ``ShortHumanDuration``: one unit, always (``5m``, ``3h``).
            kube-apiserver 1.20 no longer prints it in any Table; kept for
            clients that want kubectl's older output.
    age     the human duration from a timestamp to "now", both injected;
            a missing or unparsable timestamp is ``<unknown>``.

Invariants:
    * a duration below -1 s is ``<invalid>`` and one in (-2 s, 0) is
      ``0s``: kube tolerates two seconds of clock skew between writer and
      reader (seconds are truncated toward zero, as Go's ``int()`` does).
    * every unit boundary is an integer number of seconds, so float
      seconds since the epoch are exact enough (timestamps have at most
      microseconds).
"""

from __future__ import annotations

from datetime import datetime

__all__ = ["age", "human_duration", "parse_time", "short_human_duration"]

_MINUTE = 60
_HOUR = 3600
_DAY = 86400
_YEAR = 365 * _DAY


def _skew(seconds: int) -> str | None:
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    return None


def human_duration(seconds: float) -> str:
    """``HumanDuration`` of a duration given in seconds."""
    whole = int(seconds)  # toward zero, like Go's int(d.Seconds())
    skewed = _skew(whole)
    if skewed is not None:
        return skewed
    if whole < 2 * _MINUTE:
        return f"{whole}s"
    minutes = whole // _MINUTE
    if minutes < 10:
        return _two(minutes, "m", whole % _MINUTE, "s")
    if minutes < 3 * 60:
        return f"{minutes}m"
    hours = whole // _HOUR
    if hours < 8:
        return _two(hours, "h", minutes % 60, "m")
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return _two(hours // 24, "d", hours % 24, "h")
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        return _two(hours // 24 // 365, "y", (hours // 24) % 365, "d")
    return f"{hours // 24 // 365}y"


def _two(big: int, big_unit: str, small: int, small_unit: str) -> str:
    return f"{big}{big_unit}" if small == 0 else f"{big}{big_unit}{small}{small_unit}"


def short_human_duration(seconds: float) -> str:
    """``ShortHumanDuration`` of a duration given in seconds."""
    whole = int(seconds)
    skewed = _skew(whole)
    if skewed is not None:
        return skewed
    if whole < _MINUTE:
        return f"{whole}s"
    if whole < _HOUR:
        return f"{whole // _MINUTE}m"
    if whole < _DAY:
        return f"{whole // _HOUR}h"
    if whole < _YEAR:
        return f"{whole // _DAY}d"
    return f"{whole // _YEAR}y"


def parse_time(value: object) -> float | None:
    """Seconds since the epoch of an RFC 3339 timestamp (``metav1.Time`` or
    ``MicroTime``), or None when absent or unparsable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        return None


def age(timestamp: object, now: float) -> str:
    """The AGE cell: ``<unknown>`` for a zero timestamp, else how long ago."""
    then = parse_time(timestamp)
    return "<unknown>" if then is None else human_duration(now - then)
