"""Writes at a fixed rate, paced by the clock rather than by replies.

A writer that waits for each reply before the next slows down exactly when
the server does, and hides the overload it should show. ``paced`` starts
job ``i`` at ``start + i / rate`` whatever the replies do, but holds at
most ``max_in_flight`` jobs at once: past that it waits for one to finish
(the server cannot keep up; queueing without bound would only measure the
generator's queue).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable

__all__ = ["bounded", "paced"]


async def paced(
    rate: float,
    count: int,
    job: Callable[[int], Awaitable[None]],
    max_in_flight: int = 200,
    on_tick: Callable[[int], None] | None = None,
) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    in_flight: set[asyncio.Task[None]] = set()
    for i in range(count):
        if (wait := start + i / rate - loop.time()) > 0:
            await asyncio.sleep(wait)
        if len(in_flight) >= max_in_flight:
            await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
        task: asyncio.Task[None] = asyncio.ensure_future(job(i))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
        if on_tick is not None:
            on_tick(i + 1)
    if in_flight:
        await asyncio.wait(in_flight)


async def bounded(limit: int, jobs: Iterable[Callable[[], Awaitable[None]]]) -> None:
    """Run the jobs, at most ``limit`` at once."""
    gate = asyncio.Semaphore(limit)

    async def one(job: Callable[[], Awaitable[None]]) -> None:
        async with gate:
            await job()

    await asyncio.gather(*(one(j) for j in jobs))
