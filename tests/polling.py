"""Waiting in tests, with a bound, for something that sends no signal.

Glossary:
    condition  a callable whose truthy result ends the wait and is returned;
               ``until`` also takes one that returns an awaitable (an HTTP
               probe) and awaits it
    what       what was waited for, named in the AssertionError raised when
               ``timeout`` seconds pass first
    every      the pause between two tries

Polling is for what cannot be awaited: a cache a task fills, an endpoint,
another process. Where the code under test sets an event or a future, wait
on that instead (``asyncio.timeout`` around it). The unit and the e2e tests
both use these (``until`` in asyncio, ``until_blocking`` in plain threads,
for subprocesses and blocking clients).
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

__all__ = ["until", "until_blocking"]

T = TypeVar("T")


async def until(
    condition: Callable[[], T | Awaitable[T]],
    what: str = "the condition",
    *,
    timeout: float = 10.0,
    every: float = 0.01,
) -> T:
    """Try ``condition`` until it is truthy; its value. AssertionError
    naming ``what`` after ``timeout`` seconds."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                value = condition()
                if inspect.isawaitable(value):
                    value = await value
                if value:
                    return value  # type: ignore[return-value]
                await asyncio.sleep(every)
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout} s waiting for {what}") from None


def until_blocking(
    condition: Callable[[], T],
    what: str = "the condition",
    *,
    timeout: float = 10.0,
    every: float = 0.05,
) -> T:
    """``until`` for code outside an event loop: blocks between tries."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)
    return value
