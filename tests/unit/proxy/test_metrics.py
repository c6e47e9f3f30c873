"""/metrics as an operator scrapes it: the process and Python collectors,
no ``_created`` series, and every family of the issue present and moving
when what it counts happens (a proxy in front of the simulator)."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import aiohttp
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from tests.inprocess import ready_proxy
from tests.polling import until

from watchcache.cache.reflector import ReflectorStatistics
from watchcache.fanout.registry import RegistryStatistics
from watchcache.proxy.cachemetrics import CacheCollector
from watchcache.simulator.app import Simulator

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "p"},
    "spec": {"containers": [{"name": "c", "image": "x"}]},
}


def parse(text: str) -> Samples:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def scrape(session: aiohttp.ClientSession, base: str) -> tuple[str, Samples]:
    async with session.get(base + "/metrics") as r:
        assert r.status == 200
        text = await r.text()
    return text, parse(text)


async def scraped_until(
    session: aiohttp.ClientSession, base: str, done: Callable[[Samples], bool]
) -> Samples:
    """Scrape until ``done`` holds; fail after 10 s."""

    async def scraped() -> Samples | None:
        _, samples = await scrape(session, base)
        return samples if done(samples) else None

    return await until(scraped, "the scrape to show it", every=0.02)


async def test_every_family_appears_and_moves() -> None:
    pods = "/api/v1/namespaces/default/pods"
    async with Simulator() as sim, ready_proxy(sim.url, "--resources", "pods") as (proxy, session):
        url, base = sim.url, proxy.urls[0]
        text, before = await scrape(session, base)
        # The default registry's collectors, and no _created series.
        assert value(before, "process_cpu_seconds_total") > 0
        assert value(before, "process_resident_memory_bytes") > 0
        assert any(name.startswith("python_gc_") for name, _ in before)
        assert "_created" not in text
        pods_label = {"resource": "pods"}
        for name in (
            "watchcache_cache_synced",
            "watchcache_cache_resource_version",
            "watchcache_cache_upstream_resource_version",
            "watchcache_cache_lag_resource_versions",
            "watchcache_cache_objects",
            "watchcache_cache_history_events",
            "watchcache_cache_history_bytes",
            "watchcache_cache_history_window_seconds",
            "watchcache_registered_watchers",
            "watchcache_cache_events_applied_total",
            "watchcache_cache_staleness_seconds",
            "watchcache_reflector_restarts_total",
            "watchcache_upstream_watches_total",
            "watchcache_upstream_watch_stalls_total",
            "watchcache_watchers_closed_slow_total",
            "watchcache_watch_bytes_written_total",
            "watchcache_watch_deliveries_total",
            "watchcache_watch_writes_total",
            "watchcache_consistent_read_probes_total",
            "watchcache_consistent_read_probes_coalesced_total",
        ):
            assert (name, frozenset(pods_label.items())) in before, name
        for reason in ("expired", "state_lost"):
            key = frozenset({**pods_label, "reason": reason}.items())
            assert ("watchcache_cache_relists_total", key) in before, reason
        assert value(before, "watchcache_cache_synced", **pods_label) == 1

        # A watch from the cache, then a write upstream it hears about.
        watch = await session.get(base + pods + "?watch=1&resourceVersion=0")
        assert watch.status == 200
        await scraped_until(
            session, base, lambda s: value(s, "watchcache_registered_watchers", **pods_label)
        )
        async with session.post(url + pods, json=POD) as r:
            assert r.status == 201
            created_rv = int((await r.json())["metadata"]["resourceVersion"])
        line = await asyncio.wait_for(watch.content.readline(), 10)
        assert json.loads(line)["object"]["metadata"]["name"] == "p"
        # Served from the cache and timed; a consistent read probes.
        async with session.get(base + pods + "?resourceVersion=0") as r:
            assert r.status == 200
        async with session.get(base + pods) as r:
            assert r.status == 200
        after = await scraped_until(
            session,
            base,
            lambda s: value(s, "watchcache_watch_bytes_written_total", **pods_label) > 0,
        )
        assert (
            value(
                after,
                "watchcache_request_duration_seconds_count",
                verb="list",
                resource="pods",
                served_by="cache",
            )
            >= 1
        )
        for moved in (
            "watchcache_cache_events_applied_total",
            "watchcache_cache_objects",
            "watchcache_cache_history_events",
            "watchcache_consistent_read_probes_total",
            "watchcache_watch_deliveries_total",
            "watchcache_watch_writes_total",
        ):
            assert value(after, moved, **pods_label) > value(before, moved, **pods_label), moved
        assert value(after, "watchcache_cache_resource_version", **pods_label) >= created_rv
        assert value(after, "watchcache_cache_upstream_resource_version", **pods_label) >= (
            created_rv
        )
        assert value(after, "watchcache_cache_history_window_seconds", **pods_label) >= 0
        # The watch is not timed: it is still open.
        assert not any(
            name == "watchcache_request_duration_seconds_count" and ("verb", "watch") in labels
            for name, labels in after
        )
        watch.close()

        # Upstream drops the cache's watch: it is reopened.
        sim.faults.cut_watches("pods")
        await scraped_until(
            session,
            base,
            lambda s: (
                value(s, "watchcache_upstream_watches_total", **pods_label)
                > value(after, "watchcache_upstream_watches_total", **pods_label)
            ),
        )
        # A change the cache misses, then history that no longer covers
        # its RV: the reconnecting watch gets 410 and the cache relists.
        sim.faults.stall_watches("pods")
        async with session.post(url + pods, json={**POD, "metadata": {"name": "q"}}) as r:
            assert r.status == 201
        sim.faults.shrink_history(0, "pods")
        sim.faults.resume_watches()
        sim.faults.cut_watches("pods")
        await scraped_until(
            session,
            base,
            lambda s: (
                value(s, "watchcache_cache_relists_total", **pods_label, reason="expired") >= 1
            ),
        )


def test_collector_reads_stalls_slow_watchers_and_coalesced_probes() -> None:
    """The counters only a long stall or a slow client move, read through
    the collector from the statistics the cache's parts keep."""
    reflector = ReflectorStatistics(
        watch_lists=1,
        lists=0,
        watches=4,
        relists_after_410=2,
        stalls=3,
        errors=5,
        events=100,
        synced=True,
        relists_state_lost=1,
        errors_by_kind=Counter({"503": 4, "malformed": 1}),
        restarts=2,
    )
    registry = RegistryStatistics(
        watchers=7,
        dispatched_events=9,
        deliveries=60,
        closed_slow=6,
        budget_waits=1,
        bytes_written=4096,
        timer_entries=7,
    )
    history = SimpleNamespace(covered_seconds=lambda: 75.0)
    cache = SimpleNamespace(
        rv=90,
        history=history,
        statistics=lambda: SimpleNamespace(objects=10, history_events=8, history_bytes=800),
    )
    resource: Any = SimpleNamespace(
        cache=cache,
        reflector=SimpleNamespace(statistics=lambda: reflector, silence=lambda: 42.0),
        registry=SimpleNamespace(statistics=lambda: registry),
        prober=SimpleNamespace(sent=11, coalesced=12, last_rv=95),
        outage=lambda: None,
        consistency={"match": 4},
    )
    registry_out = CollectorRegistry()
    registry_out.register(CacheCollector(lambda: {"pods": resource}))
    samples = parse(generate_latest(registry_out).decode())
    pods = {"resource": "pods"}
    assert value(samples, "watchcache_upstream_watch_stalls_total", **pods) == 3
    assert value(samples, "watchcache_watchers_closed_slow_total", **pods) == 6
    assert value(samples, "watchcache_consistent_read_probes_coalesced_total", **pods) == 12
    assert value(samples, "watchcache_upstream_watches_total", **pods) == 5
    assert value(samples, "watchcache_cache_lag_resource_versions", **pods) == 5
    assert value(samples, "watchcache_cache_history_window_seconds", **pods) == 75
    assert value(samples, "watchcache_registered_watchers", **pods) == 7
    assert value(samples, "watchcache_cache_staleness_seconds", **pods) == 42
    assert value(samples, "watchcache_reflector_restarts_total", **pods) == 2
    assert value(samples, "watchcache_cache_relists_total", **pods, reason="expired") == 2
    assert value(samples, "watchcache_cache_relists_total", **pods, reason="state_lost") == 1
    assert value(samples, "watchcache_upstream_watch_errors_total", **pods, kind="503") == 4
    assert value(samples, "watchcache_upstream_watch_errors_total", **pods, kind="malformed") == 1
