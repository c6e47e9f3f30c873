"""The reflector under a misbehaving upstream (issue 14, items 2-4), against
a scripted stand-in for kube-apiserver: whatever it answers, the reflector
logs it, counts it, backs off from it and asks again; a watch that ends
after doing its work resumes at once; upstream losing its state is seen
and the cache takes the new state."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Callable

import pytest
from tests.polling import until
from tests.unit.cache.scripted_upstream import (
    HTML_502,
    PATH,
    Answer,
    ScriptedUpstream,
    bookmark,
    configmap,
    line,
)

from watchcache.api.resources import GroupVersionResource, builtin_resource
from watchcache.cache.cache import Cache, CacheConfig
from watchcache.cache.event import Event
from watchcache.cache.reflector import Reflector, ReflectorConfig
from watchcache.upstream import UpstreamClient, UpstreamConfig

CONFIGMAPS = builtin_resource(GroupVersionResource("", "v1", "configmaps"))


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Run:
    """A reflector running against the scripted upstream, with an injected
    clock and a sleep that records each delay and returns at once."""

    def __init__(
        self,
        upstream: ScriptedUpstream,
        client: UpstreamClient,
        cache_config: CacheConfig | None = None,
        **config: object,
    ) -> None:
        self.upstream = upstream
        self.clock = Clock()
        self.cache = Cache(CONFIGMAPS, cache_config or CacheConfig(), clock=self.clock)  # type: ignore[arg-type]
        self.slept: list[float] = []
        self.events: list[Event] = []
        self.relists = 0
        self.lost: list[tuple[int, int]] = []

        # Cleared, backoffs wait for it; set (the default), they return at once.
        self.go = asyncio.Event()
        self.go.set()

        async def sleep(delay: float) -> None:
            self.slept.append(delay)
            await self.go.wait()

        # The loop's turns, counted by a callback each event schedules: two
        # events handed on in the same turn have the same count.
        self.turns: list[int] = []
        self._turns = 0

        def turned() -> None:
            self._turns += 1

        async def record(event: Event) -> None:
            self.events.append(event)
            self.turns.append(self._turns)
            asyncio.get_running_loop().call_soon(turned)

        def relisted() -> None:
            self.relists += 1

        self.reflector = Reflector(
            client,
            PATH,
            self.cache,
            config=ReflectorConfig(**{"watch_list": False, **config}),  # type: ignore[arg-type]
            on_event=record,
            on_relist=relisted,
            on_state_lost=lambda old, new: self.lost.append((old, new)),
            clock=self.clock,
            sleep=sleep,
            rng=random.Random(3),
        )
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Run:
        self.task = asyncio.create_task(self.reflector.run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.reflector.stop()
        assert self.task is not None
        await asyncio.wait_for(self.task, 5)

    async def synced(self) -> None:
        await asyncio.wait_for(self.reflector.synced.wait(), 5)

    def names(self) -> dict[str, int]:
        return {entry.name: entry.rv for entry in self.cache.list().items}

    async def until(self, condition: Callable[[], object], what: str) -> None:
        """``tests.polling.until``, failing at once if the reflector ended."""

        def holds() -> object:
            assert self.task is not None
            if self.task.done():
                raise AssertionError(f"the reflector ended ({self.task!r}) before {what}")
            return condition()

        await until(holds, what, timeout=5, every=0.005)


@pytest.fixture
async def upstream() -> AsyncIterator[ScriptedUpstream]:
    async with ScriptedUpstream() as fake:
        yield fake


@pytest.fixture
async def client(upstream: ScriptedUpstream) -> AsyncIterator[UpstreamClient]:
    async with UpstreamClient(UpstreamConfig(upstream.url)) as upstream_client:
        yield upstream_client


# -- item 2: malformed answers -------------------------------------------------


async def test_a_non_json_watch_line_is_logged_counted_backed_off_and_retried(
    upstream: ScriptedUpstream, client: UpstreamClient, caplog: pytest.LogCaptureFixture
) -> None:
    upstream.write("a")
    async with Run(upstream, client) as run:
        await run.synced()
        first = await upstream.next_watch()
        with caplog.at_level(logging.WARNING, "watchcache.cache.reflector"):
            await first.send(HTML_502)
            second = await upstream.next_watch()
        assert second.query["resourceVersion"] == first.query["resourceVersion"]
        stats = run.reflector.statistics()
        assert (stats.errors, stats.errors_by_kind) == (1, {"malformed": 1})
        assert len(run.slept) == 1
        assert "502 Bad Gateway" in caplog.text
        await second.send(upstream.write("b"))
        await run.until(lambda: "b" in run.names(), "the next event arrived")


async def test_the_events_of_one_chunk_are_handed_on_in_one_loop_turn(
    upstream: ScriptedUpstream, client: UpstreamClient
) -> None:
    """So every watcher gets them in one write, not one per event
    (fanout/coalesce.py); before, each line was read in a task of its own."""
    upstream.write("a")
    async with Run(upstream, client) as run:
        await run.synced()
        watch = await upstream.next_watch()
        await watch.send(b"\n".join(upstream.write(name) for name in "bcdef"))
        await run.until(lambda: len(run.events) == 5, "the chunk's five events")
        assert [event.name for event in run.events] == list("bcdef")
        assert len(set(run.turns)) == 1, run.turns


async def test_a_list_answered_200_with_html_is_retried(
    upstream: ScriptedUpstream, client: UpstreamClient
) -> None:
    upstream.write("a")
    upstream.list_answers.append(Answer(200, HTML_502, {"Content-Type": "text/html"}))
    async with Run(upstream, client) as run:
        await run.until(run.reflector.synced.is_set, "synced")
        assert run.names() == {"a": 1}
        assert run.reflector.statistics().errors_by_kind == {"malformed": 1}
        assert len(run.slept) == 1


@pytest.mark.parametrize(
    "bad",
    [
        b'{"type":"ERROR","object":"not a Status"}',
        b'{"type":"SURPRISE","object":{}}',
        line("ADDED", b'{"metadata":{"name":"x","resourceVersion":"twelve"}}'),
        line("ADDED", b"[1,2]"),
        b'{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"soon"}}}',
    ],
    ids=[
        "error-not-status",
        "unknown-type",
        "rv-not-a-number",
        "object-not-object",
        "bad-bookmark",
    ],
)
async def test_a_malformed_watch_line_is_retried(
    upstream: ScriptedUpstream, client: UpstreamClient, bad: bytes
) -> None:
    upstream.write("a")
    async with Run(upstream, client) as run:
        await run.synced()
        await (await upstream.next_watch()).send(bad)
        second = await upstream.next_watch()
        await second.send(upstream.write("b"))
        await run.until(lambda: "b" in run.names(), "the next event arrived")
        assert run.reflector.statistics().errors_by_kind == {"malformed": 1}


@pytest.mark.parametrize("rv", ["-1", "+7", "1_0"])
async def test_a_bookmark_whose_rv_is_no_uint64_is_malformed_not_a_signal(
    upstream: ScriptedUpstream, client: UpstreamClient, rv: str
) -> None:
    """Regression (issue 15): ``int()`` read "-1" as an RV below the
    cache's, so a malformed bookmark was taken for upstream's state going
    back: a full relist, every follower's watch closed. RVs are read as
    kube-apiserver reads them; this one is upstream's error, backed off
    from and retried on the same RV."""
    upstream.write("a")
    async with Run(upstream, client) as run:
        await run.synced()
        first = await upstream.next_watch()
        await first.send(
            b'{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"%s"}}}' % rv.encode()
        )
        second = await upstream.next_watch()
        assert second.query["resourceVersion"] == first.query["resourceVersion"]
        await second.send(upstream.write("b"))
        await run.until(lambda: "b" in run.names(), "the next event arrived")
        stats = run.reflector.statistics()
        assert stats.errors_by_kind == {"malformed": 1}
        assert (stats.lists, stats.relists_state_lost, run.relists) == (1, 0, 0)


async def test_a_value_error_of_ours_is_a_bug_not_upstreams_malformed_answer(
    upstream: ScriptedUpstream, client: UpstreamClient
) -> None:
    """Regression (issue 15): every ValueError on the apply path was read
    as upstream's answer being malformed, so a transform's error (or a bug
    of ours) was logged as upstream's and retried for ever. Only the
    signals' own types are caught: this one ends ``run``, for its
    Supervisor to report with its traceback and run it again."""

    def transform(data: bytes) -> bytes:
        if b'"b"' in data:
            raise ValueError("a bug in the transform")
        return data

    upstream.write("a")
    run = Run(upstream, client, CacheConfig(transform=transform))
    task = asyncio.create_task(run.reflector.run())
    try:
        await asyncio.wait_for(run.reflector.synced.wait(), 5)
        await (await upstream.next_watch()).send(upstream.write("b"))
        with pytest.raises(ValueError, match="a bug in the transform"):
            await asyncio.wait_for(task, 5)
    finally:
        run.reflector.stop()
        task.cancel()
    assert run.reflector.statistics().errors == 0


async def test_an_error_line_with_a_status_backs_off_and_a_410_relists(
    upstream: ScriptedUpstream, client: UpstreamClient
) -> None:
    upstream.write("a")
    async with Run(upstream, client) as run:
        await run.synced()
        status = b'{"kind":"Status","apiVersion":"v1","code":500,"reason":"InternalError"}'
        await (await upstream.next_watch()).send(line("ERROR", status))
        expired = b'{"kind":"Status","apiVersion":"v1","code":410,"reason":"Expired"}'
        await (await upstream.next_watch()).send(line("ERROR", expired))
        await upstream.next_watch()
        stats = run.reflector.statistics()
        assert stats.errors_by_kind == {"500": 1}
        assert (stats.lists, stats.relists_after_410, run.relists) == (2, 1, 1)


async def test_garbage_in_a_watchlist_stream_is_retried(
    upstream: ScriptedUpstream, client: UpstreamClient
) -> None:
    upstream.watch_list = True
    async with Run(upstream, client, watch_list=True) as run:
        first = await upstream.next_watch()
        assert first.query["sendInitialEvents"] == "true"
        await first.send(HTML_502)
        second = await upstream.next_watch()
        assert second.query["sendInitialEvents"] == "true"
        await second.send(line("ADDED", configmap("a", 4)), bookmark(4, initial_events_end=True))
        await run.synced()
        assert run.names() == {"a": 4}
        assert run.reflector.statistics().errors_by_kind == {"malformed": 1}


async def test_a_watchlist_silent_during_its_initial_events_is_opened_again(
    upstream: ScriptedUpstream, client: UpstreamClient
) -> None:
    upstream.watch_list = True
    async with Run(upstream, client, watch_list=True, stall_timeout=0.2) as run:
        first = await upstream.next_watch()
        await first.send(line("ADDED", configmap("a", 4)))  # then nothing
        second = await upstream.next_watch()
        assert run.reflector.statistics().stalls == 1
        await second.send(line("ADDED", configmap("a", 4)), bookmark(5, initial_events_end=True))
        await run.synced()
        assert run.names() == {"a": 4}


async def test_an_event_in_the_same_chunk_as_the_initial_events_end_is_applied(
    upstream: ScriptedUpstream, client: UpstreamClient
) -> None:
    """A WatchList's initial events, their end bookmark and the next event
    arriving in one piece: the event after the bookmark is applied (the
    watch's lines were read through a second iterator, and the rest of
    that piece was lost: a gap in the cache's history)."""
    upstream.watch_list = True
    async with Run(upstream, client, watch_list=True) as run:
        watch = await upstream.next_watch()
        await watch.send(
            line("ADDED", configmap("a", 4)),
            bookmark(4, initial_events_end=True),
            line("MODIFIED", configmap("a", 5)),
            line("ADDED", configmap("b", 6)),
            together=True,
        )
        await run.synced()
        await watch.send(line("ADDED", configmap("c", 7)))
        await run.until(lambda: "c" in run.names(), "the next event applied")
        assert run.names() == {"a": 5, "b": 6, "c": 7}
        assert [e.rv for e in run.events] == [5, 6, 7]


async def test_a_relist_by_watchlist_asks_for_a_state_not_older_than_the_caches(
    upstream: ScriptedUpstream, client: UpstreamClient
) -> None:
    """The first sync is consistent (RV unset); after a 410 the WatchList
    asks for RV=the cache's with NotOlderThan, which a proxy upstream
    answers from its cache without proving it fresh first."""
    upstream.watch_list = True
    async with Run(upstream, client, watch_list=True) as run:
        first = await upstream.next_watch()
        assert "resourceVersion" not in first.query
        await first.send(line("ADDED", configmap("a", 4)), bookmark(4, initial_events_end=True))
        await run.synced()
        await first.send(line("MODIFIED", configmap("a", 6)))
        await run.until(lambda: run.names() == {"a": 6}, "the change applied")
        expired = b'{"kind":"Status","apiVersion":"v1","code":410,"reason":"Expired"}'
        await first.send(line("ERROR", expired))
        second = await upstream.next_watch()
        assert second.query["sendInitialEvents"] == "true"
        assert second.query["resourceVersion"] == "6"
        assert second.query["resourceVersionMatch"] == "NotOlderThan"
        await second.send(line("ADDED", configmap("b", 9)), bookmark(9, initial_events_end=True))
        await run.until(lambda: run.names() == {"b": 9}, "the new state taken")
        assert run.reflector.statistics().watch_lists == 2


async def test_a_refused_consistent_watchlist_is_tried_again_at_an_rv(
    upstream: ScriptedUpstream, client: UpstreamClient
) -> None:
    """Without WatchList (1.20 answers 422): the first sync lists; the next
    sync asks once more at an RV (an upstream proxy that forwarded a
    consistent one refuses no other), and once that is refused too,
    WatchList is not asked for again."""
    upstream.write("a")
    async with Run(upstream, client, watch_list=True) as run:
        await run.synced()
        expired = b'{"kind":"Status","apiVersion":"v1","code":410,"reason":"Expired"}'
        for _ in range(2):
            await (await upstream.next_watch()).send(line("ERROR", expired))
        await upstream.next_watch()
        asked = [q for _, q in upstream.requests if "sendInitialEvents" in q]
        assert [q.get("resourceVersion") for q in asked] == [None, "1"]
        assert run.reflector.statistics().lists == 3


# -- item 3: recovery ----------------------------------------------------------


async def test_cut_watches_that_did_their_work_resume_at_once(
    upstream: ScriptedUpstream, client: UpstreamClient
) -> None:
    """Six cuts 3 s apart (issue 14): each watch lasted more than a second,
    so each is a normal end, resumed with no backoff at all."""
    upstream.write("a")
    async with Run(upstream, client) as run:
        await run.synced()
        for _ in range(6):
            watch = await upstream.next_watch()
            run.clock.now += 3
            watch.cut()
        await (await upstream.next_watch()).send(upstream.write("b"))
        await run.until(lambda: "b" in run.names(), "the event after the cuts arrived")
        assert run.slept == []
        assert run.reflector.statistics().watch_ends == 6


async def test_a_watch_cut_at_once_after_an_event_resumes_at_once(
    upstream: ScriptedUpstream, client: UpstreamClient
) -> None:
    async with Run(upstream, client) as run:
        await run.synced()
        for i in range(3):
            watch = await upstream.next_watch()
            await watch.send(upstream.write(f"c{i}"))
            await run.until(lambda i=i: f"c{i}" in run.names(), "the event arrived")
            watch.cut()
        await upstream.next_watch()
        assert run.slept == []


async def test_a_watch_ended_at_once_with_nothing_backs_off_growing(
    upstream: ScriptedUpstream, client: UpstreamClient
) -> None:
    async with Run(upstream, client, backoff_min=1.0, backoff_max=30.0) as run:
        await run.synced()
        run.clock.now += 10
        for _ in range(3):
            await (await upstream.next_watch()).end()
        fourth = await upstream.next_watch()
        run.go.clear()
        await fourth.end()
        await run.until(lambda: len(run.slept) == 4, "four backoffs")
        # Accepting watches only to drop them is not hearing from upstream.
        assert run.reflector.silence() == 10
        run.go.set()
        await upstream.next_watch()
        assert run.reflector.statistics().errors_by_kind == {"short-watch": 4}
        ceilings = [1, 2, 4, 8]
        assert all(1.0 <= s <= c for s, c in zip(run.slept, ceilings, strict=True))


async def test_retry_after_is_waited_as_given_and_not_compounded(
    upstream: ScriptedUpstream, client: UpstreamClient
) -> None:
    upstream.write("a")
    for code in (429, 503, 429, 503, 429, 503):
        upstream.watch_answers.append(Answer(code, b"", {"Retry-After": "1"}))
    async with Run(upstream, client) as run:
        await run.synced()
        await upstream.next_watch()
        assert run.slept == [1.0] * 6
        assert run.reflector.statistics().errors_by_kind == {"429": 3, "503": 3}


async def test_silence_counts_from_the_last_answer(
    upstream: ScriptedUpstream, client: UpstreamClient
) -> None:
    upstream.write("a")
    async with Run(upstream, client) as run:
        await run.synced()
        watch = await upstream.next_watch()
        assert run.reflector.silence() == 0
        run.clock.now += 50
        assert run.reflector.silence() == 50
        await watch.send(bookmark(1))
        await run.until(lambda: run.reflector.silence() == 0, "the bookmark was heard")
        upstream.watch_answers.extend(Answer(503, b"") for _ in range(3))
        watch.cut()
        await run.until(lambda: len(run.slept) == 3, "three refusals")
        run.clock.now += 70
        assert run.reflector.silence() == 70  # refusals are not hearing from upstream
        assert "503" in (run.reflector.statistics().last_error or "")


# -- item 4: upstream state loss -------------------------------------------------


async def _fifty_then_restart_empty(run: Run, upstream: ScriptedUpstream) -> None:
    for i in range(50):
        upstream.write(f"old{i}")
    upstream.rv = 1000
    await run.synced()
    assert len(run.names()) == 50 and run.cache.rv == 1000
    upstream.restart_empty(35)
    upstream.write("new0")
    upstream.write("new1")


async def test_an_event_below_the_cache_rv_relists_and_takes_the_new_state(
    upstream: ScriptedUpstream, client: UpstreamClient
) -> None:
    async with Run(upstream, client) as run:
        await _fifty_then_restart_empty(run, upstream)
        watch = await upstream.next_watch()
        await watch.send(line("ADDED", configmap("new1", 37)))
        await run.until(lambda: run.lost, "the state loss was seen")
        assert run.names() == {"new0": 36, "new1": 37}
        assert run.cache.rv == 37
        assert run.lost == [(1000, 37)]
        assert run.reflector.statistics().relists_state_lost == 1
        await upstream.next_watch()


async def test_a_bookmark_below_the_cache_rv_relists(
    upstream: ScriptedUpstream, client: UpstreamClient
) -> None:
    async with Run(upstream, client) as run:
        await _fifty_then_restart_empty(run, upstream)
        await (await upstream.next_watch()).send(bookmark(37))
        await run.until(lambda: run.lost, "the state loss was seen")
        assert run.names() == {"new0": 36, "new1": 37}


async def test_a_410_relist_whose_rv_went_back_tells_followers(
    upstream: ScriptedUpstream, client: UpstreamClient
) -> None:
    async with Run(upstream, client) as run:
        await _fifty_then_restart_empty(run, upstream)
        expired = b'{"kind":"Status","apiVersion":"v1","code":410,"reason":"Expired"}'
        await (await upstream.next_watch()).send(line("ERROR", expired))
        await run.until(lambda: run.lost, "the state loss was seen")
        assert run.names() == {"new0": 36, "new1": 37}
        assert run.relists == 1


async def test_a_stalled_watch_probes_and_finds_upstream_went_back(
    upstream: ScriptedUpstream, client: UpstreamClient
) -> None:
    """kube-apiserver 1.20 sends a watch from a future RV nothing at all,
    not even bookmarks: the stall is the only sign, and the probe after it
    tells."""
    async with Run(upstream, client, stall_timeout=0.2) as run:
        await _fifty_then_restart_empty(run, upstream)
        await upstream.next_watch()
        await run.until(lambda: run.lost, "the state loss was seen")
        assert run.names() == {"new0": 36, "new1": 37}


async def test_a_probe_from_a_read_relists_at_once(
    upstream: ScriptedUpstream, client: UpstreamClient
) -> None:
    async with Run(upstream, client) as run:
        await _fifty_then_restart_empty(run, upstream)
        await upstream.next_watch()
        run.reflector.upstream_went_back(37, 1000)
        await run.until(lambda: run.lost, "the state loss was seen")
        assert run.names() == {"new0": 36, "new1": 37}
        assert run.slept == []


async def test_a_relist_asked_for_during_a_backoff_starts_at_once(
    upstream: ScriptedUpstream, client: UpstreamClient
) -> None:
    """A control plane restarted empty first refuses or drops watches (the
    reflector backs off, up to 30 s), then a consistent read's probe finds
    its RV went back: the relist, and every watcher's 410, must not wait
    for the backoff to end (a client timed out waiting for its 410)."""
    async with Run(upstream, client) as run:
        await _fifty_then_restart_empty(run, upstream)
        run.go.clear()  # a backoff lasts until the test ends it
        await (await upstream.next_watch()).end()  # a short watch: backed off from
        await run.until(lambda: run.slept, "the backoff")
        run.reflector.upstream_went_back(37, 1000)
        await run.until(lambda: run.lost, "the state loss was seen")
        assert run.names() == {"new0": 36, "new1": 37}
        assert not run.go.is_set(), "the backoff did not end on its own"


async def test_upstream_going_back_again_soon_is_backed_off_from(
    upstream: ScriptedUpstream, client: UpstreamClient
) -> None:
    """kube-apiserver kept running over a restored etcd: its watch cache
    replays the old state (RV 1000) to a watch from the new RV, and each
    consistent read's probe then finds upstream 'behind' again. Relisting
    at once each time would be a full LIST per read."""
    async with Run(upstream, client) as run:
        await _fifty_then_restart_empty(run, upstream)
        await upstream.next_watch()
        run.reflector.upstream_went_back(37, 1000)
        await run.until(lambda: run.lost, "the state loss was seen")
        replaying = await upstream.next_watch()
        await replaying.send(line("ADDED", configmap("old0", 1000)))
        await run.until(lambda: run.cache.rv == 1000, "the old state replayed")
        run.reflector.upstream_went_back(37, 1000)
        await run.until(lambda: len(run.lost) == 2, "the second loss was seen")
        assert len(run.slept) == 1
        assert run.reflector.statistics().errors_by_kind == {"state-lost-again": 1}
        run.clock.now += 31
        await (await upstream.next_watch()).send(line("ADDED", configmap("old1", 1001)))
        await run.until(lambda: run.cache.rv == 1001, "the old state replayed")
        run.reflector.upstream_went_back(37, 1001)
        await run.until(lambda: len(run.lost) == 3, "the third loss was seen")
        assert len(run.slept) == 1  # long after the last one: at once
