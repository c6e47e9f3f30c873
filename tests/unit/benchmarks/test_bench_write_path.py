"""bench_write_path's breakdown of a proxy's CPU per delivery, on fixed
figures."""

from __future__ import annotations

from benchmarks.bench_write_path import _breakdown

RUN = {
    "params": {"watchers": 200},
    "deliveries": 100_000,
    "cpu_seconds": {"proxy": 1.0},  # 10 us a delivery
    "system_cpu_seconds": {"proxy": 0.5},  # 5 of them the kernel's
    "events_per_write": 2.0,
}
DIRECT = {"deliveries_per_server_cpu_second": 16_000}  # at 10x: 6.25 us
REFLECT = {"cpu_seconds": 0.2, "events": 500}  # 400 us an event, 2 a delivery


def test_a_delivery_splits_into_hearing_the_kernel_and_the_rest() -> None:
    assert _breakdown(RUN, DIRECT, REFLECT) == (
        "us of CPU per delivery 10.0 (at 10x: 6.2): hearing the event 2.0"
        " (400 per event), the kernel 5.0; 10.0 us of it per write, the rest 3.0"
    )


def test_no_breakdown_without_the_kernels_time() -> None:
    run = {k: v for k, v in RUN.items() if k != "system_cpu_seconds"}
    assert _breakdown(run, DIRECT, REFLECT).startswith("no breakdown")
