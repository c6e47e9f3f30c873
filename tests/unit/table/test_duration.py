"""Durations as kube prints them (HumanDuration, ShortHumanDuration)."""

from __future__ import annotations

import pytest

from watchcache.table.duration import age, human_duration, parse_time, short_human_duration

MIN, HOUR, DAY, YEAR = 60, 3600, 86400, 365 * 86400


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-2.5, "<invalid>"),
        (-2, "<invalid>"),
        (-1.5, "0s"),  # truncated toward zero: -1
        (-0.2, "0s"),
        (0, "0s"),
        (119.9, "119s"),
        (120, "2m"),
        (150, "2m30s"),
        (9 * MIN + 59, "9m59s"),
        (10 * MIN + 59, "10m"),
        (3 * HOUR - 1, "179m"),
        (3 * HOUR, "3h"),
        (3 * HOUR + 20 * MIN, "3h20m"),
        (8 * HOUR + 59 * MIN, "8h"),
        (47 * HOUR, "47h"),
        (2 * DAY, "2d"),
        (4 * DAY + 5 * HOUR, "4d5h"),
        (8 * DAY + 5 * HOUR, "8d"),
        (2 * YEAR - 1, "729d"),
        (2 * YEAR + 30 * DAY, "2y30d"),
        (3 * YEAR, "3y"),
        (8 * YEAR + 100 * DAY, "8y"),
    ],
)
def test_human_duration(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-3, "<invalid>"),
        (-1, "0s"),
        (59, "59s"),
        (60, "1m"),
        (HOUR - 1, "59m"),
        (HOUR, "1h"),
        (DAY - 1, "23h"),
        (DAY, "1d"),
        (YEAR - 1, "364d"),
        (YEAR * 2 + 5, "2y"),
    ],
)
def test_short_human_duration(seconds: float, text: str) -> None:
    assert short_human_duration(seconds) == text


def test_age_of_a_timestamp() -> None:
    created = "2020-01-01T00:00:00Z"
    now = parse_time(created)
    assert now is not None
    assert age(created, now + 150) == "2m30s"
    assert age("2020-01-01T00:00:00.500000Z", now + 1) == "0s"


@pytest.mark.parametrize("value", [None, "", "yesterday", 12])
def test_a_missing_or_bad_timestamp_is_unknown(value: object) -> None:
    assert age(value, 0.0) == "<unknown>"
