from __future__ import annotations

import asyncio
from typing import Any

from watchcache.proxy.caches import Prober


class _Answer:
    def __init__(self, rv: int) -> None:
        self.rv = rv

    def json(self) -> dict[str, Any]:
        return {"metadata": {"resourceVersion": str(self.rv)}}


class FakeUpstream:
    """Each get() is one probe on the wire, answered when the test says."""

    def __init__(self) -> None:
        self.asked: list[asyncio.Future[_Answer]] = []
        self.on_wire = asyncio.Event()

    async def get(self, path: str, params: dict[str, str]) -> _Answer:
        assert params == {"limit": "1"}
        answer: asyncio.Future[_Answer] = asyncio.get_running_loop().create_future()
        self.asked.append(answer)
        self.on_wire.set()
        return await answer

    async def answer(self, index: int, rv: int) -> None:
        async with asyncio.timeout(5):
            while len(self.asked) <= index:
                await asyncio.sleep(0)
        self.asked[index].set_result(_Answer(rv))


def _prober(upstream: FakeUpstream) -> Prober:
    return Prober(upstream, "/api/v1/configmaps")  # type: ignore[arg-type]


async def test_reads_arriving_before_the_probe_is_sent_share_it() -> None:
    upstream = FakeUpstream()
    prober = _prober(upstream)
    reads = [asyncio.create_task(prober.current_rv()) for _ in range(50)]
    await upstream.answer(0, 7)
    assert await asyncio.wait_for(asyncio.gather(*reads), 5) == [7] * 50
    assert prober.sent == 1
    assert (prober.coalesced, prober.last_rv) == (49, 7)


async def test_a_read_arriving_once_the_probe_is_out_waits_for_the_next() -> None:
    upstream = FakeUpstream()
    prober = _prober(upstream)
    early = asyncio.create_task(prober.current_rv())
    await upstream.on_wire.wait()
    late = [asyncio.create_task(prober.current_rv()) for _ in range(20)]
    await asyncio.sleep(0)
    await upstream.answer(0, 5)
    assert await asyncio.wait_for(early, 5) == 5
    assert not any(t.done() for t in late), "a late read took an answer sent before it arrived"
    await upstream.answer(1, 9)
    assert await asyncio.wait_for(asyncio.gather(*late), 5) == [9] * 20
    assert prober.sent == 2
    # The first late read asked for the second probe; 19 joined it.
    assert (prober.coalesced, prober.last_rv) == (19, 9)


async def test_reads_arriving_before_a_queued_probe_is_sent_share_it() -> None:
    upstream = FakeUpstream()
    prober = _prober(upstream)
    first = asyncio.create_task(prober.current_rv())
    await upstream.on_wire.wait()
    queued = asyncio.create_task(prober.current_rv())
    await asyncio.sleep(0)
    upstream.asked[0].set_result(_Answer(3))
    # The queued probe is started, not yet sent: a read now may join it.
    joining = asyncio.create_task(prober.current_rv())
    await upstream.answer(1, 4)
    answers = await asyncio.wait_for(asyncio.gather(first, queued, joining), 5)
    assert answers == [3, 4, 4]
    assert prober.sent == 2
    assert prober.coalesced == 1
