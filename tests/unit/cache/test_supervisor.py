"""supervisor.py: a reflector that ends by a bug is reported and run again."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from watchcache.cache.reflector import ReflectorStatistics
from watchcache.cache.supervisor import RESTART_MAX, RESTART_MIN, Supervisor


class _Reflector:
    """Fails with each of ``failures`` in turn, then returns stopped."""

    path = "/api/v1/configmaps"

    def __init__(self, failures: list[BaseException | None]) -> None:
        self.failures = failures
        self.relists: list[bool] = []
        self.stopped = False
        self.stats = ReflectorStatistics()

    async def run(self, *, relist: bool = False) -> None:
        self.relists.append(relist)
        if self.failures:
            failure = self.failures.pop(0)
            if failure is not None:
                raise failure
            return  # ended unasked
        self.stopped = True


async def test_failures_are_logged_counted_and_run_again_with_a_relist(
    caplog: pytest.LogCaptureFixture,
) -> None:
    reflector = _Reflector([RuntimeError("bug one"), None, RuntimeError("bug two")])
    delays: list[float] = []
    seen_failed: list[str | None] = []
    supervisor: Supervisor

    async def sleep(delay: float) -> None:
        delays.append(delay)
        seen_failed.append(supervisor.failed)

    reflector_any: Any = reflector
    supervisor = Supervisor(reflector_any, sleep=sleep)
    with caplog.at_level(logging.ERROR):
        await supervisor.run()
    assert supervisor.restarts == 3
    assert delays == [RESTART_MIN, RESTART_MIN * 2, RESTART_MIN * 4]
    assert seen_failed == [
        "RuntimeError: bug one",
        "it returned without being stopped",
        "RuntimeError: bug two",
    ]
    assert supervisor.failed is None
    assert reflector.relists == [False, True, True, True]
    assert "bug one" in caplog.text and "Traceback" in caplog.text


async def test_the_delay_stops_growing_at_the_maximum() -> None:
    reflector = _Reflector([RuntimeError("again")] * 8)
    delays: list[float] = []

    async def sleep(delay: float) -> None:
        delays.append(delay)

    reflector_any: Any = reflector
    await Supervisor(reflector_any, sleep=sleep).run()
    assert max(delays) == RESTART_MAX and delays[-1] == RESTART_MAX


async def test_a_reflector_stopped_by_its_owner_ends_the_supervisor_at_once() -> None:
    reflector = _Reflector([])
    reflector_any: Any = reflector
    supervisor = Supervisor(reflector_any)
    await supervisor.run()
    assert supervisor.restarts == 0 and reflector.relists == [False]
