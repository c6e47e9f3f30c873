"""The load test's measuring parts on fixed inputs: /proc parsing,
kube-apiserver's metrics, the per-watcher check, pacing."""

from __future__ import annotations

import asyncio
import os
import time

from benchmarks.loadtest import procstat, suite
from benchmarks.loadtest.apimetrics import content_type_delta, parse_metrics, request_delta
from benchmarks.loadtest.pacing import paced
from benchmarks.loadtest.streams import check_stream


def test_stat_cpu_counts_fields_after_a_name_with_spaces_and_parentheses() -> None:
    # pid (comm) state ppid ... utime=field 14, stime=field 15
    fields = ["S", *["0"] * 10, "250", "150", *["0"] * 30]
    line = "1234 (kube api) (x)) " + " ".join(fields)
    assert procstat.parse_stat_cpu(line, ticks_per_second=100) == 4.0
    assert procstat.parse_stat_times(line, ticks_per_second=100) == (2.5, 1.5)


def test_status_fields_are_bytes() -> None:
    status = "Name:\tx\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\n"
    assert procstat.parse_status_kib(status, "VmRSS") == 1024 * 1024
    assert procstat.parse_status_kib(status, "VmHWM") == 2048 * 1024
    assert procstat.parse_status_kib(status, "VmSwap") == 0


def test_sampling_this_process_sees_its_cpu_grow() -> None:
    before = procstat.sample({"me": os.getpid(), "gone": 2**22 + 12345})
    end = time.process_time() + 0.05
    while time.process_time() < end:
        pass
    after = procstat.sample({"me": os.getpid()})
    assert "gone" not in before
    assert after["me"].rss_bytes > 0
    assert procstat.cpu_delta(before, after)["me"] >= 0.03
    # A busy loop in Python is the user's time, not the kernel's.
    assert procstat.system_delta(before, after)["me"] < procstat.cpu_delta(before, after)["me"]


METRICS_BEFORE = """\
# HELP apiserver_request_total [STABLE] Counter of apiserver requests
# TYPE apiserver_request_total counter
apiserver_request_total{code="200",component="apiserver",contentType="application/json",dry_run="",group="",resource="pods",scope="namespace",subresource="",verb="LIST",version="v1"} 5
apiserver_request_total{code="200",component="apiserver",contentType="application/json",dry_run="",group="",resource="pods",scope="cluster",subresource="",verb="LIST",version="v1"} 2
apiserver_request_total{code="200",component="apiserver",contentType="application/json",dry_run="",group="",resource="pods",scope="namespace",subresource="",verb="WATCH",version="v1"} 1
apiserver_registered_watchers{group="",kind="Pod",version="v1"} 3
apiserver_registered_watchers{group="coordination.k8s.io",kind="Lease",version="v1"} 1
"""

METRICS_AFTER = METRICS_BEFORE.replace(
    'verb="LIST",version="v1"} 5', 'verb="LIST",version="v1"} 12'
)
METRICS_AFTER = METRICS_AFTER.replace(
    'verb="WATCH",version="v1"} 1', 'verb="WATCH",version="v1"} 201'
)
METRICS_AFTER += 'apiserver_request_total{code="201",resource="configmaps",verb="POST"} 9\n'


def test_metrics_sum_requests_by_verb_and_resource() -> None:
    before, after = parse_metrics(METRICS_BEFORE), parse_metrics(METRICS_AFTER)
    assert before.requests[("LIST", "pods")] == 7
    assert before.watchers == {"Pod": 3, "Lease": 1}
    assert request_delta(before, after) == {"LIST pods": 7, "WATCH pods": 200}
    assert request_delta(before, after, resources=("configmaps",)) == {"POST configmaps": 9}


def test_a_clean_stream_has_nothing_wrong() -> None:
    check = check_stream([12, 11, 13], start_rv=10, seen=[11, 12, 13])
    assert (check.lost, check.duplicated, check.out_of_order, check.unexpected) == (0, 0, 0, 0)


def test_stream_faults_are_each_counted() -> None:
    # 14 lost, 12 twice, 11 after 13, 20 nobody wrote; 9 is before the start
    check = check_stream([9, 11, 12, 13, 14], start_rv=10, seen=[12, 12, 13, 11, 20])
    assert (check.lost, check.duplicated, check.out_of_order, check.unexpected) == (1, 1, 1, 1)


async def test_paced_jobs_start_on_the_clock_and_bound_what_is_in_flight() -> None:
    starts: list[float] = []
    in_flight = peak = 0
    loop = asyncio.get_running_loop()

    async def job(i: int) -> None:
        nonlocal in_flight, peak
        starts.append(loop.time())
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.05)
        in_flight -= 1

    began = loop.time()
    await paced(200, 20, job, max_in_flight=3)
    assert len(starts) == 20
    assert peak <= 3
    # 20 jobs of 50 ms, 3 at a time: at least 6 rounds of waiting
    assert loop.time() - began >= 0.3


def test_metrics_count_requests_by_the_content_type_answered() -> None:
    protobuf = (
        'apiserver_request_total{code="200",contentType="application/vnd.kubernetes.protobuf",'
        'resource="leases",verb="PUT"} '
    )
    before = parse_metrics(METRICS_BEFORE + protobuf + "4\n")
    after = parse_metrics(METRICS_AFTER + protobuf + "10\n")
    assert content_type_delta(before, after) == {
        "application/json": 7 + 200,
        "application/vnd.kubernetes.protobuf": 6,
        "(none)": 9,
    }


def test_a_run_is_identified_by_what_was_checked_out_when_it_began() -> None:
    """A run takes minutes and the checkout may move on meanwhile: the
    commit and time recorded are those taken at the start."""

    class NoServers:
        def started(self) -> list[object]:
            return []

    identity = suite.run_identity(["run", "broadcast"])
    assert identity["command"] == "python -m benchmarks.loadtest run broadcast"
    assert len(identity["load_average_at_start"]) == 3
    began = {**identity, "commit": "0000000", "when": "then"}
    meta = suite.machine_info(NoServers(), ["run", "broadcast"], began)  # type: ignore[arg-type]
    assert (meta["commit"], meta["when"]) == ("0000000", "then")
    assert meta["machine"]["load_average_at_start"] == identity["load_average_at_start"]
