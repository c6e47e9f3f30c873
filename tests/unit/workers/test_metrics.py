"""metrics.py: counters summed over workers, gauges by worker, the primary's apart."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from watchcache.workers.control import serving_control
from watchcache.workers.metrics import PRIMARY, Gatherer, merge


def exposition(requests: float, watchers: float, seconds: list[float]) -> bytes:
    registry = CollectorRegistry()
    counter = Counter("reqs_total", "Requests.", ["verb"], registry=registry)
    counter.labels("list").inc(requests)
    Gauge("watchers", "Watchers open.", registry=registry).set(watchers)
    histogram = Histogram("took_seconds", "Durations.", buckets=(1.0,), registry=registry)
    for value in seconds:
        histogram.observe(value)
    return generate_latest(registry)


def samples(text: bytes) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text.decode())
        for s in family.samples
    }


def test_counters_and_histograms_are_summed_gauges_kept_per_worker() -> None:
    merged = samples(
        merge(
            {
                PRIMARY: exposition(100, 2, []),
                "0": exposition(3, 10, [0.5]),
                "1": exposition(4, 20, [2.0, 0.1]),
            }
        )
    )
    assert merged["reqs_total", frozenset({("verb", "list")})] == 7
    assert merged["took_seconds_count", frozenset()] == 3
    assert merged["took_seconds_bucket", frozenset({("le", "1.0")})] == 2
    assert merged["watchers", frozenset({("worker", "0")})] == 10
    assert merged["watchers", frozenset({("worker", "1")})] == 20
    # The primary's series stand apart, never in the workers' sums.
    assert merged["reqs_total", frozenset({("verb", "list"), ("worker", PRIMARY)})] == 100
    assert merged["watchers", frozenset({("worker", PRIMARY)})] == 2
    assert merged["watchcache_workers_scraped", frozenset()] == 3


def test_the_merge_is_an_exposition_prometheus_reads_back_typed() -> None:
    text = merge({"0": exposition(1, 1, [1.0]), "1": exposition(1, 1, [1.0])})
    types = {f.name: f.type for f in text_string_to_metric_families(text.decode())}
    assert types["reqs"] == "counter"
    assert types["watchers"] == "gauge"
    assert types["took_seconds"] == "histogram"
    assert b"# TYPE reqs_total counter" in text


async def test_gatherer_reads_every_control_socket_and_skips_none(tmp_path: Path) -> None:
    async with (
        serving_control(tmp_path / f"{PRIMARY}.sock", lambda: exposition(50, 1, [])),
        serving_control(tmp_path / "1.sock", lambda: exposition(4, 7, [])),
    ):
        gatherer = Gatherer(tmp_path, "0", lambda: exposition(3, 5, []))
        merged = samples(await gatherer())
    assert merged["reqs_total", frozenset({("verb", "list")})] == 7
    assert merged["watchers", frozenset({("worker", "1")})] == 7
    assert merged["watchers", frozenset({("worker", PRIMARY)})] == 1


async def test_a_process_that_does_not_answer_is_left_out(tmp_path: Path) -> None:
    (tmp_path / "1.sock").touch()  # a socket file left by a dead worker
    gatherer = Gatherer(tmp_path, "0", lambda: exposition(3, 5, []))
    merged = samples(await gatherer())
    assert merged["reqs_total", frozenset({("verb", "list")})] == 3
    assert merged["watchcache_workers_scraped", frozenset()] == 1
