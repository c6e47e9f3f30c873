from __future__ import annotations

import asyncio
import gc

from tests.unit.fanout.fakes import EqSelector, Event, FakeSink, Obj, bookmark

from watchcache.fanout.budget import MAX_BUDGET
from watchcache.fanout.filter import WatchFilter
from watchcache.fanout.registry import Registry
from watchcache.fanout.watcher import Watcher


def node_filter(node: str) -> WatchFilter:
    return WatchFilter(None, EqSelector(), EqSelector({"spec.nodeName": node}))


def pod(name: str, node: str, **labels: str) -> Obj:
    return Obj("default", name, labels, node)


async def settle() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


async def test_watchers_are_indexed_by_their_narrowest_key() -> None:
    registry = Registry(trigger_field="spec.nodeName")
    by_node = Watcher(FakeSink(), node_filter("n1"), 0)
    by_name = Watcher(
        FakeSink(), WatchFilter("default", EqSelector(), EqSelector({"metadata.name": "p"})), 0
    )
    by_ns = Watcher(FakeSink(), WatchFilter("default", EqSelector(), EqSelector()), 0)
    everything = Watcher(FakeSink(), WatchFilter(None, EqSelector(), EqSelector()), 0)
    for w in (by_node, by_name, by_ns, everything):
        registry.add(w)
    assert by_node.index_key == ("trigger", "n1")
    assert by_name.index_key == ("name", ("default", "p"))
    assert by_ns.index_key == ("namespace", "default")
    assert everything.index_key == ("everyone", None)
    other_node = Event("ADDED", 2, pod("q", "n2"))
    assert registry.candidates(other_node) == {by_ns, everything}


async def test_moving_between_trigger_values_tells_both_sides() -> None:
    registry = Registry(trigger_field="spec.nodeName")
    sinks = {n: FakeSink() for n in ("n1", "n2", "n3")}
    for n, sink in sinks.items():
        registry.add(Watcher(sink, node_filter(n), 0))
    await registry.dispatch(Event("MODIFIED", 5, pod("p", "n2"), prev=pod("p", "n1")))
    await settle()
    assert [e["type"] for e in sinks["n1"].lines()] == ["DELETED"]
    assert [e["type"] for e in sinks["n2"].lines()] == ["ADDED"]
    assert sinks["n3"].lines() == []


async def test_one_stuck_reader_among_a_thousand_costs_the_others_at_most_the_budget() -> None:
    waits: list[float] = []

    async def budget_runs_out(delay: float) -> None:
        waits.append(delay)  # the wait's bound; it passes at once

    registry = Registry(trigger_field="spec.nodeName", sleep=budget_runs_out)
    sinks = [FakeSink() for _ in range(1000)]
    watchers = [
        Watcher(s, WatchFilter(None, EqSelector(), EqSelector()), 0, limit=200) for s in sinks
    ]
    for w in watchers:
        registry.add(w)
    stuck = sinks[500]
    stuck.stalled = True
    await registry.dispatch(Event("ADDED", 2, pod("a", "n1", pad="x" * 300)))
    await settle()  # the stuck reader's buffer is now over its limit
    await asyncio.wait_for(registry.dispatch(Event("ADDED", 3, pod("b", "n1"))), 30)
    await settle()
    assert watchers[500].closed.done() and "too slow" in (watchers[500].close_reason or "")
    assert len(waits) == 1, "only the stuck reader is waited for"
    assert 0 < waits[0] <= MAX_BUDGET
    for i, sink in enumerate(sinks):
        if i != 500:
            assert [e["object"]["metadata"]["name"] for e in sink.lines()] == ["a", "b"]
    assert registry.statistics().closed_slow == 1
    assert len(registry) == 999


async def test_a_briefly_slow_reader_is_waited_for_not_closed() -> None:
    """Woken by its socket when the transport drains (resume_writing): the
    wait's bound never passes here."""
    sink = FakeSink()

    async def the_client_reads_meanwhile(delay: float) -> None:
        sink.unstall()
        await asyncio.Event().wait()

    registry = Registry(sleep=the_client_reads_meanwhile)
    watcher = Watcher(sink, WatchFilter(None, EqSelector(), EqSelector()), 0, limit=200)
    watcher.socket.take_over()
    registry.add(watcher)
    sink.stalled = True
    await registry.dispatch(Event("ADDED", 2, pod("a", "", pad="x" * 300)))
    await settle()
    await asyncio.wait_for(registry.dispatch(Event("ADDED", 3, pod("b", ""))), 5)
    await settle()
    assert not watcher.closed.done()
    assert [e["object"]["metadata"]["name"] for e in sink.lines()] == ["a", "b"]
    assert registry.statistics().budget_waits == 1


async def test_bookmarks_and_deadline_on_tick() -> None:
    now = [1000.0]
    registry = Registry(bookmark_line=bookmark, clock=lambda: now[0], bookmark_interval=60)
    sink = FakeSink()
    watcher = Watcher(
        sink, WatchFilter(None, EqSelector(), EqSelector()), 0, bookmarks=True, deadline=1100.0
    )
    quiet = Watcher(FakeSink(), WatchFilter(None, EqSelector(), EqSelector()), 0, deadline=1100.0)
    registry.add(watcher)
    registry.add(quiet)
    await registry.dispatch(Event("ADDED", 7, pod("a", "")))
    registry.rv = 9  # e.g. an event for another watcher moved the resource on
    now[0] = 1061.0
    registry.tick()
    await settle()
    assert sink.lines()[-1] == {
        "type": "BOOKMARK",
        "object": {"metadata": {"resourceVersion": "9"}},
    }
    registry.rv = 12
    now[0] = 1098.5  # 2 s before the deadline
    registry.tick()
    await settle()
    assert [e["type"] for e in sink.lines()].count("BOOKMARK") == 2
    assert all(e["type"] != "BOOKMARK" for e in quiet.socket.transport.lines())  # type: ignore[attr-defined]
    now[0] = 1100.0
    registry.tick()
    assert watcher.closed.done() and quiet.closed.done()
    assert watcher.close_reason == "deadline"
    assert len(registry) == 0


async def test_tick_forgets_a_watcher_whose_socket_is_closing() -> None:
    """The safety net behind the connection's own notice: an idle watcher
    whose sink is closing is closed on the next tick."""
    registry = Registry()
    sink = FakeSink()
    watcher = Watcher(sink, WatchFilter(None, EqSelector(), EqSelector()), 0)
    registry.add(watcher)
    registry.tick()
    assert len(registry) == 1
    sink.closing = True
    registry.tick()
    assert watcher.close_reason == "client went away"
    assert len(registry) == 0


async def test_equal_filters_share_one_object() -> None:
    registry = Registry(trigger_field="spec.nodeName")
    first, second = (
        Watcher(FakeSink(), node_filter("n1"), 0),
        Watcher(FakeSink(), node_filter("n1"), 0),
    )
    assert first.filter is not second.filter
    registry.add(first)
    registry.add(second)
    assert first.filter is second.filter


async def test_bytes_written_count_closed_watchers_too() -> None:
    registry = Registry(trigger_field="spec.nodeName")
    sinks = {n: FakeSink() for n in ("n1", "n2")}
    watchers = {n: Watcher(sink, node_filter(n), 0) for n, sink in sinks.items()}
    for w in watchers.values():
        registry.add(w)
    await registry.dispatch(Event("ADDED", 5, pod("p", "n1")))
    await registry.dispatch(Event("ADDED", 6, pod("q", "n2")))
    await settle()
    written = registry.statistics().bytes_written
    assert written == sum(w.bytes_written for w in watchers.values()) > 0
    watchers["n1"].close("done")
    watchers["n1"].close("again")  # closing twice counts once
    assert registry.statistics().watchers == 1
    assert registry.statistics().bytes_written == written


def live_watchers() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, Watcher))


async def test_closed_watchers_are_released_before_their_deadline() -> None:
    """Before: each closed watcher stayed in the timer heap until its
    deadline (30-60 min without timeoutSeconds), 2,000 per storm round."""
    now = [1000.0]
    registry = Registry(bookmark_line=bookmark, clock=lambda: now[0], bookmark_interval=60)
    before = live_watchers()
    for round in range(3):
        watchers = [
            Watcher(
                FakeSink(),
                WatchFilter(None, EqSelector(), EqSelector()),
                0,
                bookmarks=i % 2 == 0,
                deadline=now[0] + 3600,
            )
            for i in range(2000)
        ]
        for watcher in watchers:
            registry.add(watcher)
        assert registry.statistics().timer_entries >= 5000
        keep = watchers.pop()  # one stays open across rounds
        for watcher in watchers:
            watcher.close("client went away")
        del watchers, watcher
        now[0] += 1
        registry.tick()
        assert registry.statistics().watchers == round + 1
        assert registry.statistics().timer_entries <= 6 * (round + 1)
        assert live_watchers() - before <= round + 1
        del keep
    registry.close_all("test over")
    assert registry.statistics().timer_entries == 0
    assert live_watchers() == before


async def test_dead_timer_entries_never_outnumber_live_ones() -> None:
    now = [1000.0]
    registry = Registry(clock=lambda: now[0])
    watchers = [
        Watcher(FakeSink(), WatchFilter(None, EqSelector(), EqSelector()), 0, deadline=2000.0)
        for _ in range(100)
    ]
    for watcher in watchers:
        registry.add(watcher)
    for watcher in watchers[:60]:
        watcher.close("client went away")
        assert registry._dead_timers * 2 <= len(registry._timers)
    now[0] = 2000.0
    registry.tick()  # the rest reach their deadline; their entries pop
    assert all(w.closed.done() for w in watchers)
    assert registry.statistics().timer_entries == 0 and registry._dead_timers == 0
