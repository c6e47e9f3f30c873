"""The informer against the simulator: sync, lister, handlers (late ones
included), relists after 410, slow handlers, transforms, indexers, resync,
scopes and metrics."""

from __future__ import annotations

import asyncio
import json
import random

import pytest
from tests.unit.informer.fakes import (
    CONFIGMAPS,
    Recorder,
    cm,
    delete,
    settle,
    upstream_state,
    write,
)

from watchcache.cache.reflector import ReflectorConfig
from watchcache.informer import Informer, KubeObject
from watchcache.simulator import Simulator
from watchcache.upstream import UpstreamClient


async def no_backoff(_delay: float) -> None:
    await asyncio.sleep(0)


def informer(client: UpstreamClient, **options: object) -> Informer:
    return Informer(
        client,
        "configmaps",
        reflector_config=ReflectorConfig(page_size=2),
        sleep=no_backoff,
        rng=random.Random(3),
        **options,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("watch_list", [True, False], ids=["watchlist", "list-then-watch"])
async def test_syncs_lists_and_hands_every_change_to_handlers(
    sim: Simulator, client: UpstreamClient, watch_list: bool
) -> None:
    for name in ("a", "b", "c"):
        write(sim, name)
    write(sim, "x", namespace="other")
    rec = Recorder()
    inf = Informer(
        client, "configmaps", reflector_config=ReflectorConfig(page_size=2, watch_list=watch_list)
    )
    handle = inf.add_handler(**rec.callbacks())
    assert not inf.has_synced()
    async with inf:
        assert await inf.wait_for_sync(10)
        assert inf.has_synced()
        assert await handle.wait_for_sync(10)
        assert sorted(rec.log) == [
            ("add", k) for k in ("default/a", "default/b", "default/c", "other/x")
        ]
        got = inf.lister.get("default", "b")
        assert got is not None and got.name == "b" and got.namespace == "default"
        assert inf.lister.get("default", "zz") is None
        assert [o.name for o in inf.lister.list("default")] == ["a", "b", "c"]
        assert [o.key for o in inf.lister.list()] == [
            "default/a",
            "default/b",
            "default/c",
            "other/x",
        ]

        write(sim, "b", "changed")
        delete(sim, "c")
        rv = write(sim, "d")
        await settle(inf, [handle], rv)
        assert rec.log[4:] == [
            ("update", "default/b"),
            ("delete", "default/c"),
            ("add", "default/d"),
        ]
        assert rec.errors == []
        assert rec.state() == upstream_state(sim)
        assert {o.key: int(o.resource_version) for o in inf.lister.list()} == upstream_state(sim)
        stats = inf.statistics()
        assert stats is not None and (stats.watch_lists, stats.lists) == (
            (1, 0) if watch_list else (0, 1)
        )


async def test_a_delete_seen_by_the_watch_carries_the_final_state(
    sim: Simulator, client: UpstreamClient
) -> None:
    write(sim, "a")
    deleted: list[KubeObject] = []
    async with informer(client) as inf:
        handle = inf.add_handler(on_delete=deleted.append)
        await inf.wait_for_sync(10)
        delete(sim, "a")
        rv = sim.store.rv
        await settle(inf, [handle], rv)
    assert [(o.name, o.final_state_unknown) for o in deleted] == [("a", False)]
    # The object as the DELETED event carried it, at the deletion's RV.
    assert int(deleted[0].resource_version) == rv


async def test_a_handler_added_late_first_gets_the_state_as_adds(
    sim: Simulator, client: UpstreamClient
) -> None:
    for name in ("a", "b"):
        write(sim, name)
    async with informer(client) as inf:
        await inf.wait_for_sync(10)
        rec = Recorder()
        handle = inf.add_handler(**rec.callbacks())
        assert await handle.wait_for_sync(10)
        assert rec.log == [("add", "default/a"), ("add", "default/b")]
        rv = write(sim, "a", "new")
        await settle(inf, [handle], rv)
        assert rec.log[2:] == [("update", "default/a")]
        handle.remove()
        rv = write(sim, "c")
        await settle(inf, [], rv)
        assert len(rec.log) == 3  # removed: heard nothing more
        assert rec.errors == []


async def test_a_relist_after_410_reports_what_the_watch_missed(
    sim: Simulator, client: UpstreamClient
) -> None:
    for name in ("keep", "doomed", "edited"):
        write(sim, name)
    rec = Recorder()
    async with informer(client) as inf:
        handle = inf.add_handler(**rec.callbacks())
        await inf.wait_for_sync(10)
        sim.faults.stall_watches()
        delete(sim, "doomed")
        write(sim, "edited", "new")
        delete(sim, "keep")
        write(sim, "keep")  # recreated: another uid under the same key
        rv = write(sim, "born")
        sim.faults.shrink_history(1)
        sim.faults.cut_watches()
        sim.faults.resume_watches()
        await settle(inf, [handle], rv)
        assert rec.errors == []
        assert sorted(rec.unknown_deletes) == ["default/doomed", "default/keep"]
        assert sorted(rec.log[3:]) == [
            ("add", "default/born"),
            ("add", "default/keep"),
            ("delete", "default/doomed"),
            ("delete", "default/keep"),
            ("update", "default/edited"),
        ]
        assert rec.state() == upstream_state(sim)
        stats = inf.statistics()
        assert stats is not None and stats.relists_after_410 == 1
        assert b'watchcache_informer_relists_total{resource="configmaps"} 1.0' in (
            inf.metrics.exposition()
        )


async def test_a_stuck_handler_holds_up_neither_the_watch_nor_other_handlers(
    sim: Simulator, client: UpstreamClient
) -> None:
    gate = asyncio.Event()
    stuck_calls: list[tuple[str, str]] = []

    async def stuck_add(obj: KubeObject) -> None:
        stuck_calls.append(("add", obj.key))
        await gate.wait()

    def stuck_update(old: KubeObject, new: KubeObject) -> None:
        stuck_calls.append(("update", f"{new.key}@{new.to_dict()['data']['k']}"))

    fast = Recorder()
    write(sim, "first")
    async with informer(client) as inf:
        stuck = inf.add_handler(on_add=stuck_add, on_update=stuck_update, name="stuck")
        quick = inf.add_handler(**fast.callbacks(), name="quick")
        await inf.wait_for_sync(10)
        for i in range(50):
            rv = write(sim, "hot", str(i))
        await settle(inf, [quick], rv)
        assert fast.log.count(("update", "default/hot")) == 49  # every change
        assert not stuck.has_synced()
        # One notification per object, however many changes: the queue is
        # bounded by the objects, and merged changes keep their first state.
        assert (
            b'watchcache_informer_handler_queue_depth{handler="stuck",resource="configmaps"} 1.0'
            in inf.metrics.exposition()
        )
        gate.set()
        await settle(inf, [stuck], rv)
        assert stuck_calls == [("add", "default/first"), ("add", "default/hot")]
        assert stuck.has_synced()
        rv = write(sim, "hot", "last")
        await settle(inf, [stuck], rv)
        assert stuck_calls[-1] == ("update", "default/hot@last")


async def test_a_failing_handler_is_logged_and_goes_on(
    sim: Simulator, client: UpstreamClient, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[str] = []

    def flaky(obj: KubeObject) -> None:
        seen.append(obj.name)
        if obj.name == "bad":
            raise RuntimeError("boom")

    write(sim, "bad")
    write(sim, "good")
    async with informer(client) as inf:
        handle = inf.add_handler(on_add=flaky, name="flaky")
        await inf.wait_for_sync(10)
        await asyncio.wait_for(handle.wait_idle(), 10)
    assert seen == ["bad", "good"]
    assert "handler flaky failed" in caplog.text
    assert b'watchcache_informer_handler_errors_total{handler="flaky"' in inf.metrics.exposition()


async def test_indexers_transform_and_selectors(sim: Simulator, client: UpstreamClient) -> None:
    sim.verbs.create(CONFIGMAPS, "default", cm("a", "x", app="web", tier="front"))
    sim.verbs.create(CONFIGMAPS, "default", cm("b", "y", app="web", tier="back"))
    sim.verbs.create(CONFIGMAPS, "default", cm("c", "x", app="db"))
    sim.verbs.create(CONFIGMAPS, "other", cm("d", "x", namespace="other", app="web"))

    def by_value(obj: KubeObject) -> list[str]:
        return [obj.to_dict()["data"]["k"]]

    def shout(raw: bytes) -> bytes:
        obj = json.loads(raw)
        obj["data"]["k"] = obj["data"]["k"].upper()
        return json.dumps(obj).encode()

    inf = informer(
        client, namespace="default", label_selector={"app": "web"}, indexers={"value": by_value}
    )
    inf.add_indexers({"tier": lambda o: [o.labels.get("tier", "")]})
    async with inf:
        await inf.wait_for_sync(10)
        assert [o.name for o in inf.lister.list()] == ["a", "b"]  # scope applied upstream
        assert [o.name for o in inf.lister.by_index("value", "x")] == ["a"]
        assert [o.name for o in inf.lister.by_index("tier", "back")] == ["b"]
        assert [o.name for o in inf.lister.list(label_selector="tier in (front)")] == ["a"]
        with pytest.raises(KeyError):
            inf.lister.by_index("nope", "x")
    shouting = informer(client, transform=shout, field_selector="metadata.name=c")
    async with shouting:
        await shouting.wait_for_sync(10)
        (only,) = shouting.lister.list()
        assert only.to_dict()["data"] == {"k": "X"}


async def test_a_transform_that_fails_restarts_the_reflector_and_stats_count_it(
    sim: Simulator, client: UpstreamClient
) -> None:
    """A transform's error is a bug, not upstream's: the reflector ends,
    its Supervisor runs it again (relisting), and ``statistics()`` says so."""
    failures = [ValueError("the transform failed once")]

    def flaky(data: bytes) -> bytes:
        if b'"b"' in data and failures:
            raise failures.pop()
        return data

    write(sim, "a")
    rec = Recorder()
    inf = informer(client, transform=flaky)
    handle = inf.add_handler(**rec.callbacks())
    async with inf:
        assert await inf.wait_for_sync(10)
        rv = write(sim, "b")
        await settle(inf, [handle], rv)
        stats = inf.statistics()
        assert stats is not None and stats.restarts == 1 and stats.errors == 0
    assert rec.state() == upstream_state(sim)


async def test_resync_redelivers_every_object_as_an_update_to_itself(
    sim: Simulator, client: UpstreamClient
) -> None:
    write(sim, "a")
    write(sim, "b")
    ticks: asyncio.Queue[None] = asyncio.Queue()
    periods: list[float] = []

    async def sleep(delay: float) -> None:
        periods.append(delay)
        await ticks.get()

    updates: list[tuple[KubeObject, KubeObject]] = []
    inf = Informer(client, "configmaps", resync=30.0, sleep=sleep)
    handle = inf.add_handler(on_update=lambda old, new: updates.append((old, new)))
    async with inf:
        await inf.wait_for_sync(10)
        await asyncio.wait_for(handle.wait_idle(), 10)
        assert updates == []
        ticks.put_nowait(None)
        async with asyncio.timeout(10):
            while len(updates) < 2:
                await handle.wait_idle()
                await asyncio.sleep(0)
    assert periods[0] == 30.0
    assert [(old.name, old == new) for old, new in updates] == [("a", True), ("b", True)]


async def test_metadata_only_asks_for_partial_object_metadata() -> None:
    sent: list[tuple[str, object]] = []

    class Recording:
        async def get(self, path: str, params: object = None, *, headers: object = None) -> None:
            sent.append(("list", headers))

        def watch(self, path: str, params: object = None, *, headers: object = None) -> None:
            sent.append(("watch", headers))

    from watchcache.informer.source import Scope, ScopedClient, parse_resource

    scoped = ScopedClient(Recording(), Scope(parse_resource("pods"), metadata_only=True))  # type: ignore[arg-type]
    await scoped.get("/api/v1/pods")
    scoped.watch("/api/v1/pods")
    assert sent == [
        ("list", {"Accept": "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"}),
        ("watch", {"Accept": "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"}),
    ]


async def test_stopped_and_started_again_it_resumes_and_delivers_what_waited(
    sim: Simulator, client: UpstreamClient
) -> None:
    write(sim, "a")
    rec = Recorder()
    gate = asyncio.Event()

    async def gated_update(old: KubeObject, new: KubeObject) -> None:
        await gate.wait()
        rec.on_update(old, new)

    inf = informer(client)
    handle = inf.add_handler(on_add=rec.on_add, on_update=gated_update, on_delete=rec.on_delete)
    async with inf:
        await inf.wait_for_sync(10)
        rv = write(sim, "a", "2")
        await settle(inf, [], rv)
    # Stopped in the middle of the update call: it is made again on start.
    write(sim, "b")
    rv = write(sim, "a", "3")
    gate.set()
    async with inf:
        await settle(inf, [handle], rv)
        stats = inf.statistics()
        assert stats is not None and (stats.lists, stats.watch_lists) == (0, 0)  # resumed
    assert rec.errors == []
    assert rec.state() == upstream_state(sim)
    # The interrupted update and the one made while stopped may merge.
    assert rec.log[0] == ("add", "default/a") and ("add", "default/b") in rec.log
    assert rec.log.count(("update", "default/a")) in (1, 2)
