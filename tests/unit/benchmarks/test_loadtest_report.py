"""The report says what the JSON says: targets met and missed, tables,
and plots when matplotlib is there."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
from benchmarks.loadtest.report import _cpu_per_1000, combine, render, targets
from benchmarks.loadtest.spread import spread_of


def _broadcast(mode: str, per_cpu: int, p99: float) -> dict[str, Any]:
    server = "proxy" if mode == "proxy" else "kube-apiserver"
    return {
        "scenario": "broadcast",
        "backend": "apiserver",
        "mode": mode,
        "label": "broadcast",
        "params": {"watchers": 200, "rate": 50.0, "duration": 20, "pods": 100},
        "deliveries": 200_000,
        "deliveries_per_second": 10_000,
        "deliveries_per_server_cpu_second": per_cpu,
        "latency_ms": {"count": 1, "p50": 3.0, "p99": p99, "max": p99},
        "lost": 0,
        "duplicated": 0,
        "out_of_order": 0,
        "cpu_seconds": {"kube-apiserver": 20.0, "etcd": 1.0, "proxy": 4.0, "generator": 3.0},
        "cpu_ms_per_1000_deliveries": {server: 12.5, "kube-apiserver": 100.0},
        "apiserver_watchers_peak": {"Pod": 203},
        "generator_lag_ms": {"p99": 4.0},
    }


def _data(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "meta": {
            "profile": "test",
            "when": "now",
            "commit": "abc1234",
            "dirty": False,
            "command": "python -m benchmarks.loadtest run broadcast",
            "machine": {
                "cpu": "cpu",
                "cores": 2,
                "memory_gib": 1.0,
                "os": "os",
                "kernel": "k",
                "load_average_at_start": [0.5, 0.5, 0.5],
            },
            "versions": {"kube-apiserver": "v1.20.2"},
        },
        "runs": runs,
    }


def test_a_met_and_a_missed_target_are_told_apart() -> None:
    rows = targets([_broadcast("direct", 7_000, 900.0), _broadcast("proxy", 21_000, 20.0)])
    by_target = {t: (m, v) for t, m, v in rows}
    ratio = by_target["broadcast 200 watchers x 50/s: proxy >= 4x deliveries per CPU-second"]
    assert "3.0x" in ratio[0]
    assert ratio[1].startswith("**no**") and "75%" in ratio[1]
    assert by_target["broadcast 200 x 50/s: proxy p99 <= 50 ms"][1] == "yes"


def test_missing_runs_are_reported_as_not_measured() -> None:
    rows = targets([])
    assert rows == [("broadcast 200 x 50/s", "not measured (run missing or failed)", "-")]


def test_report_has_the_command_the_tables_and_failures(tmp_path: Path) -> None:
    failed = {
        "scenario": "nodes",
        "backend": "simulator",
        "mode": "proxy",
        "label": "nodes N=5000",
        "error": "RuntimeError('boom')",
    }
    data = _data([_broadcast("direct", 7_000, 900.0), _broadcast("proxy", 30_000, 20.0), failed])
    path = render(data, tmp_path, "lt")
    text = path.read_text()
    assert "python -m benchmarks.loadtest run broadcast" in text
    assert "| 200 | 50 | direct | 200,000 |" in text
    assert "nodes N=5000 (proxy): `RuntimeError('boom')`" in text
    if importlib.util.find_spec("matplotlib") is None:
        assert "Plots skipped" in text
    else:
        assert (tmp_path / "lt-broadcast-latency.png").stat().st_size > 1000
        assert "(lt-broadcast-cpu.png)" in text


@pytest.mark.parametrize("missing", ["lost", "duplicated"])
def test_a_run_with_errors_shows_its_counts(tmp_path: Path, missing: str) -> None:
    run = _broadcast("direct", 7_000, 900.0)
    run[missing] = 3
    text = render(_data([run]), tmp_path, "lt").read_text()
    expected = "3/0/0" if missing == "lost" else "0/3/0"
    assert expected in text


def test_the_nodes_target_is_judged_on_steady_churn() -> None:
    run = {
        "scenario": "nodes",
        "backend": "simulator",
        "mode": "proxy",
        "label": "nodes",
        "params": {"nodes": 1000, "pods": 10_000, "churn": 50.0},
        "latency_ms": {"count": 3, "p50": 40.0, "p99": 900.0, "max": 950.0},
        "latency_ms_by_phase": {"churn": {"count": 2, "p50": 8.0, "p99": 60.0, "max": 61.0}},
        "lost": 0,
        "duplicated": 0,
        "out_of_order": 0,
    }
    rows = {t: (m, v) for t, m, v in targets([run]) if t.startswith("nodes 1,000")}
    [(measured, verdict)] = rows.values()
    assert measured.startswith("p99 60.0 ms") and verdict == "yes"


def test_the_tiers_total_cpu_is_proxy_plus_kube_apiserver_behind_it() -> None:
    run = _broadcast("proxy", 30_000, 20.0)
    assert _cpu_per_1000(run, ("proxy", "kube-apiserver")) == 112.5
    assert _cpu_per_1000(run, ("proxy", "etcd")) is None  # not measured: no point


def test_spread_is_median_min_and_max_over_repeats() -> None:
    runs = [{"v": 3.0}, {"v": 1.0}, {"v": 10.0}, {"v": None}]
    s = spread_of(runs, lambda r: r["v"])
    assert s is not None and (s.median, s.low, s.high) == (3.0, 1.0, 10.0)
    s = spread_of(runs[:2], lambda r: r["v"])
    assert s is not None and (s.median, s.low, s.high) == (2.0, 1.0, 3.0)
    assert spread_of([{"v": None}], lambda r: r["v"]) is None


def test_repeated_runs_combine_and_plot_their_spread(tmp_path: Path) -> None:
    first = _data([_broadcast("direct", 7_000, 900.0), _broadcast("proxy", 30_000, 20.0)])
    again = _data([_broadcast("direct", 6_000, 950.0), _broadcast("proxy", 28_000, 25.0)])
    again["runs"][1]["cpu_ms_per_1000_deliveries"]["proxy"] = 14.0
    data = combine([first, again])
    assert data["meta"]["repeats"] == 2
    assert [r["repeat"] for r in data["runs"]] == [0, 0, 1, 1]
    text = render(data, tmp_path, "lt").read_text()
    assert "2 runs of the same steps" in text
    assert text.count("| 200 | 50 | proxy |") == 2
    if importlib.util.find_spec("matplotlib") is None:
        assert "Plots skipped" in text
        return
    assert (tmp_path / "lt-broadcast-headline.png").stat().st_size > 1000
    assert "(lt-broadcast-headline.png)" in text
    assert "(lt-broadcast-cpu.png)" in text


def test_the_nodes_latency_plot_includes_the_simulator_runs(tmp_path: Path) -> None:
    if importlib.util.find_spec("matplotlib") is None:
        pytest.skip("matplotlib is not installed (pip install -e '.[bench]')")
    runs = []
    for nodes in (1000, 5000):
        runs.append(
            {
                "scenario": "nodes",
                "backend": "simulator",
                "mode": "proxy",
                "label": f"nodes N={nodes}",
                "params": {"nodes": nodes, "pods": 10_000, "churn": 50.0},
                "deliveries": 1,
                "latency_ms": {"count": 1, "p50": 2.0, "p99": 9.0, "max": 9.0},
                "lost": 0,
                "duplicated": 0,
                "out_of_order": 0,
                "relists": 0,
                "write_errors": 0,
                "node_errors": 0,
                "cpu_seconds": {"simulator": 1.0, "proxy": 1.0, "generator": 1.0},
                "rss_mb": {"proxy": 100.0},
                "generator_lag_ms": {"p99": 1.0},
            }
        )
    text = render(_data(runs), tmp_path, "lt").read_text()
    assert (tmp_path / "lt-nodes-latency.png").stat().st_size > 1000
    assert "(lt-nodes-latency.png)" in text


def test_repeated_headline_runs_are_judged_on_their_medians() -> None:
    runs = [
        _broadcast("direct", 7_000, 900.0),
        _broadcast("proxy", 21_000, 90.0),
        _broadcast("direct", 6_000, 900.0),
        _broadcast("proxy", 30_000, 20.0),
        _broadcast("direct", 8_000, 900.0),
        _broadcast("proxy", 24_000, 40.0),
    ]
    by_target = {t: (m, v) for t, m, v in targets(runs)}
    measured, _ = by_target["broadcast 200 watchers x 50/s: proxy >= 4x deliveries per CPU-second"]
    assert "kube-apiserver 7,000/CPU-s" in measured and "proxy 24,000/CPU-s = 3.4x" in measured
    assert "(medians of 3 runs)" in measured
    assert by_target["broadcast 200 x 50/s: proxy p99 <= 50 ms"] == (
        "40 ms (medians of 3 runs)",
        "yes",
    )
