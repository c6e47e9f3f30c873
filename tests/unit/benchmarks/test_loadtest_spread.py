"""Repeated runs: the spread of a figure over them, the grouping of runs
into one step's repeats, files combined with their repeats numbered on,
the kubelets' CPU read per node, and the report's spread and kubelet
tables."""

from __future__ import annotations

import importlib.util
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from benchmarks.loadtest import procstat
from benchmarks.loadtest.kubelets import (
    _cleaned_up_on_error,
    crashes,
    kubelet_cpu_each,
    pod_order,
    slowest,
)
from benchmarks.loadtest.report import combine, render
from benchmarks.loadtest.spread import Spread, group_repeats, load_range, spread, spread_of


def test_spread_of_an_odd_count() -> None:
    assert spread([5, 1, 9, 3, 7]) == Spread(median=5, low=1, high=9, q1=2, q3=8, count=5)


def test_spread_of_an_even_count_takes_the_middle_two() -> None:
    assert spread([10, 40, 20, 30]) == Spread(median=25, low=10, high=40, q1=15, q3=35, count=4)


def test_one_run_is_its_own_spread() -> None:
    assert spread([2.5]) == Spread(2.5, 2.5, 2.5, 2.5, 2.5, 1)
    assert spread([2.5]).text() == "2.5"  # type: ignore[union-attr]


def test_missing_figures_are_left_out_not_counted_as_zero() -> None:
    assert spread([None, 4, "-", True, 2]) == Spread(3, 2, 4, 2, 4, 2)
    assert spread([None, "-"]) is None
    assert spread_of([{"v": 1}, {}, {"v": 3}], lambda r: r.get("v")) == Spread(2, 1, 3, 1, 3, 2)


def test_spread_text_is_median_then_range() -> None:
    assert spread([1000.0, 1234.5, 2000.0]).text(0) == "1,234 [1,000-2,000]"  # type: ignore[union-attr]


def _run(mode: str, repeat: int, **extra: Any) -> dict[str, Any]:
    return {
        "scenario": "broadcast",
        "backend": "apiserver",
        "mode": mode,
        "label": "broadcast W=200 R=50/s on apiserver",
        "params": {"watchers": 200, "rate": 50.0},
        "repeat": repeat,
        **extra,
    }


def test_repeats_are_grouped_by_step_and_mode_and_failures_left_out() -> None:
    runs = [
        _run("direct", 0),
        _run("proxy", 0),
        _run("direct", 1),
        _run("proxy", 1, error="boom"),
        {**_run("direct", 2), "params": {"watchers": 100, "rate": 50.0}},
    ]
    groups = list(group_repeats(runs).values())
    assert [[(r["mode"], r["repeat"]) for r in g] for g in groups] == [
        [("direct", 0), ("direct", 1)],
        [("proxy", 0)],
        [("direct", 2)],
    ]


def test_load_range_reads_the_one_minute_average_at_start() -> None:
    runs = [
        _run("direct", 0, load_average=[3.5, 2.0, 1.0]),
        _run("direct", 1, load_average=[6.25, 4.0, 2.0]),
        _run("direct", 2),  # an older file's run: no load recorded
    ]
    load = load_range(runs)
    assert load is not None and (load.low, load.high, load.count) == (3.5, 6.25, 2)
    assert load_range([_run("direct", 0)]) is None


def test_combined_files_number_their_repeats_on() -> None:
    first = {"meta": {"repeats": 2}, "runs": [_run("direct", 0), _run("direct", 1)]}
    older = {"meta": {}, "runs": [{k: v for k, v in _run("direct", 0).items() if k != "repeat"}]}
    last = {"meta": {"repeats": 2}, "runs": [_run("direct", 0), _run("direct", 1)]}
    data = combine([first, older, last])
    assert data["meta"]["repeats"] == 5
    assert [r["repeat"] for r in data["runs"]] == [0, 1, 2, 3, 4]
    assert [src["repeats"] for src in data["meta"]["sources"]] == ["0-1", "2-2", "3-4"]


def test_kubelet_cpu_is_read_per_node_in_node_order() -> None:
    cpu = {"kube-apiserver": 9.0, "kubelet-10": 1.5, "kubelet-2": 0.5, "proxy": 2.0}
    cpu |= {"kubelet-0": 0.25, "proxy-json": 1.0}
    assert kubelet_cpu_each(cpu) == [0.25, 0.5, 1.5]
    assert kubelet_cpu_each({"proxy": 1.0}) == []


def test_a_process_cpu_reading_counts_every_thread() -> None:
    """Kubelets are Go processes with many threads: /proc/PID/stat of the
    process must count the CPU of a thread other than the main one."""
    me = {"me": os.getpid()}
    before = procstat.sample(me)

    def burn() -> None:
        end = time.thread_time() + 0.2
        while time.thread_time() < end:
            pass

    worker = threading.Thread(target=burn)
    worker.start()
    worker.join(timeout=30)  # the main thread waits without using CPU
    assert procstat.cpu_delta(before, procstat.sample(me))["me"] >= 0.15


def _kubelets(mode: str, repeat: int, per_node: float, load: float) -> dict[str, Any]:
    return {
        "scenario": "kubelets",
        "backend": "apiserver",
        "mode": mode,
        "label": "kubelets N=10 hollow nodes, 10 pods each on apiserver",
        "params": {"nodes": 10, "pods_per_node": 10, "duration": 10.0},
        "repeat": repeat,
        "load_average": [load, 1.0, 1.0],
        "pods": 100,
        "register_seconds": 5.0,
        "start_latency_ms": {"p50": 500.0, "p99": 900.0},
        "delete_latency_ms": {"p50": 700.0, "p99": 1000.0},
        "cpu_seconds": {"kube-apiserver": 10.0, "etcd": 1.0, "proxy": 0.5, "proxy-json": 3.0},
        "kubelet_cpu_seconds": per_node * 10,
        "kubelet_cpu_seconds_per_node": per_node,
        "kubelet_cpu_ms_per_node_second": per_node * 20,
        "kubelet_rss_mb_mean": 80.0,
        "apiserver_requests": {},
    }


def _data(runs: list[dict[str, Any]], repeats: int) -> dict[str, Any]:
    machine = {"cpu": "c", "cores": 2, "memory_gib": 1, "os": "o", "kernel": "k"}
    meta = {"profile": "full", "when": "now", "commit": "abc", "command": "python -m x"}
    return {"meta": {**meta, "machine": machine, "versions": {}, "repeats": repeats}, "runs": runs}


def test_the_report_gives_the_kubelets_cpu_against_direct_and_the_spread(tmp_path: Path) -> None:
    runs = [
        _kubelets("direct", 0, 2.0, 4.0),
        _kubelets("proxy", 0, 1.5, 5.0),
        _kubelets("proxy-json", 0, 2.5, 6.0),
        _kubelets("direct", 1, 4.0, 7.0),
        _kubelets("proxy", 1, 2.5, 3.0),
        _kubelets("proxy-json", 1, 3.5, 8.0),
    ]
    text = render(_data(runs, 2), tmp_path, "lt").read_text()
    # medians: direct 3.0, proxy 2.0, proxy-json 3.0 CPU-s per node
    assert "| 10 | 100 | direct | 2 | 3.00 [2.00-4.00] | 1.00 |" in text
    assert "| 10 | 100 | proxy | 2 | 2.00 [1.50-2.50] | 0.67 |" in text
    assert "| 10 | 100 | proxy-json | 2 | 3.00 [2.50-3.50] | 1.00 |" in text
    assert "## Spread over repeated runs" in text
    assert "the spread includes that noise" in text
    # the proxy-json mode's CPU is its own proxy's, and its load range is given
    assert "| 10.0 / 1.0 / 3.0 / - |" in text
    assert "kubelet CPU s per node 3.00 [2.50-3.50]" in text
    assert "| 6.00 [6.00-8.00] |" not in text and "| 7.00 [6.00-8.00] |" in text
    if importlib.util.find_spec("matplotlib") is not None:
        assert (tmp_path / "lt-spread.png").stat().st_size > 1000
        assert "(lt-spread.png)" in text


def test_one_run_has_no_spread_section(tmp_path: Path) -> None:
    runs = [_kubelets("direct", 0, 2.0, 4.0), _kubelets("proxy", 0, 1.5, 5.0)]
    text = render(_data(runs, 1), tmp_path, "lt").read_text()
    assert "Spread over repeated runs" not in text
    assert "| 10 | 100 | proxy | 1 | 1.50 | 0.75 |" in text


def test_pods_are_created_round_robin_over_the_nodes() -> None:
    order = list(pod_order(["a", "b", "c"], 2).items())
    assert order == [
        ("a-pod-0", "a"),
        ("b-pod-0", "b"),
        ("c-pod-0", "c"),
        ("a-pod-1", "a"),
        ("b-pod-1", "b"),
        ("c-pod-1", "c"),
    ]


def test_a_hollow_node_that_died_is_named_with_its_fatal_line() -> None:
    logs = {
        "hollow-0": "I1206 07:53:46 fake_cpu_manager.go:49] AddContainer\n",
        "hollow-6": (
            "I1206 07:53:46 fake_topology_manager.go:44] AddContainer\n"
            "fatal error: concurrent map writes\n\ngoroutine 477 [running]:\n"
            "panic: later\n"
        ),
        "hollow-7": "E1206 kubelet.go:2243] x\npanic: runtime error: invalid memory address\n",
    }
    assert crashes(logs) == {
        "hollow-6": "fatal error: concurrent map writes",
        "hollow-7": "panic: runtime error: invalid memory address",
    }


async def test_a_failed_kubelets_run_leaves_no_pods_or_nodes_behind() -> None:
    """A run that failed (a node died, its pods Pending) must not leave its
    pods for the next repeat to collide with: they are deleted at once."""
    calls: list[tuple[str, str, dict[str, str] | None]] = []

    class Admin:
        async def call(self, method: str, path: str, *_: Any, **kw: Any) -> dict[str, Any]:
            calls.append((method, path, kw.get("params")))
            return {}

    with pytest.raises(TimeoutError):
        async with _cleaned_up_on_error(Admin(), ["n0", "n1"], 2):  # type: ignore[arg-type]
            raise TimeoutError("190 of 200 pods Running")
    pods = [(path, params) for method, path, params in calls if "/pods/" in path]
    assert [path.rsplit("/", 1)[1] for path, _ in pods] == [
        "n0-pod-0",
        "n1-pod-0",
        "n0-pod-1",
        "n1-pod-1",
    ]
    assert all(params == {"gracePeriodSeconds": "0"} for _, params in pods)
    assert [path for _, path, _ in calls if "/nodes/" in path] == [
        "/api/v1/nodes/n0",
        "/api/v1/nodes/n1",
    ]
    calls.clear()
    async with _cleaned_up_on_error(Admin(), ["n0"], 1):  # type: ignore[arg-type]
        pass
    assert calls == []  # a run that went well cleans up on its own path


def test_the_slowest_deletes_are_named_largest_first() -> None:
    times = {"a": 4000.2, "b": 36400.7, "c": 5000.0, "d": 12000.4}
    assert slowest(times, 3) == {"b": 36401, "d": 12000, "c": 5000}
    assert list(slowest(times, 3)) == ["b", "d", "c"]
    assert slowest({}, 3) == {}


def test_kubelet_ports_are_distinct_and_free_when_chosen() -> None:
    import socket

    from watchcache.devcluster.cluster import free_ports

    ports = free_ports(6)
    assert len(set(ports)) == 6
    for port in ports:  # each can be bound: nobody held it
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", port))
