from __future__ import annotations

from benchmarks.nodesim.ledger import Ledger, percentiles


def test_a_clean_stream_has_nothing_to_report() -> None:
    ledger = Ledger()
    ledger.started("n1", 10)
    for rv in (11, 12, 13):
        ledger.expect("n1", rv)
        ledger.seen("n1", rv, None)
    summary = ledger.summary()
    assert (summary["lost"], summary["duplicated"], summary["out_of_order"]) == (0, 0, 0)
    assert summary["deliveries"] == 3


def test_loss_duplicate_and_reorder_are_each_counted() -> None:
    ledger = Ledger()
    ledger.started("n1", 10)
    for rv in (11, 12, 13, 14):
        ledger.expect("n1", rv)
    ledger.seen("n1", 11, None)
    ledger.seen("n1", 13, None)
    ledger.seen("n1", 13, None)  # duplicate
    ledger.seen("n1", 12, None)  # arrives after 13: out of order
    assert ledger.missing("n1") == [14]
    summary = ledger.summary()
    assert (summary["lost"], summary["duplicated"], summary["out_of_order"]) == (1, 1, 1)


def test_writes_before_the_watch_started_or_inside_a_relist_gap_are_excused() -> None:
    ledger = Ledger()
    ledger.expect("n1", 5)  # before the watch's list RV
    ledger.started("n1", 10)
    ledger.expect("n1", 12)
    ledger.expect("n1", 20)
    ledger.relisted("n1", 10, 15)  # 410 at 10, relisted at 15: 12 came as list state
    assert ledger.missing("n1") == [20]


def test_percentiles() -> None:
    assert percentiles([]) == {"count": 0}
    result = percentiles([float(i) for i in range(1, 101)])
    assert result["p50"] == 51 and result["p99"] == 100 and result["max"] == 100


def test_latency_by_the_phase_the_write_was_sent_in() -> None:
    ledger = Ledger()
    ledger.started("n1", 10)
    # Writes sent at t=100 ns (a burst) and t=300 ns (steady), timed on arrival.
    ledger.expect("n1", 11)
    ledger.seen("n1", 11, 100)
    ledger.expect("n1", 12)
    ledger.seen("n1", 12, 300)
    ledger.latencies_ns[:] = [900_000_000, 5_000_000]  # 900 ms and 5 ms, for a fixed answer
    summary = ledger.summary({"create": (0, 200), "churn": (200, 400), "delete": (400, 500)})
    assert summary["latency_ms_by_phase"]["create"]["max"] == 900.0
    assert summary["latency_ms_by_phase"]["churn"]["max"] == 5.0
    assert summary["latency_ms_by_phase"]["delete"] == {"count": 0}
    assert summary["latency_ms"]["count"] == 2
