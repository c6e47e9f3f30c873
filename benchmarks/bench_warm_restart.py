"""A proxy's restart, cold against warm (--cache-dir), in front of the real
kube-apiserver (issue 21 item 5).

Creates ``--pods`` pods (default 10,000, ~7 KB each) in a dev cluster and
starts ``watchcache serve --resources pods --cache-dir DIR`` with an empty
DIR (a cold start: it lists every pod), waits until /readyz passes, stops it
(it saves its state), creates ``--changes`` more pods (what a rolling
restart misses), and starts it again on the same DIR (a warm start: it
loads the file and resumes by watch). The proxy reads upstream through a
byte-counting TCP relay (``--read-upstream``), so "upstream bytes" is what
it received from kube-apiserver (TLS included) until it was ready and until
it exited. Time to ready is from starting the process to /readyz's 200
(Python's start-up included, the same in both). Prints both starts and the
ratio cold / warm.

    python benchmarks/bench_warm_restart.py [--pods 10000] [--changes 100]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script
from benchmarks.bench_list_pods import create_pods
from watchcache.devcluster import ClusterConfig, DevCluster


class CountingRelay:
    """A TCP relay on 127.0.0.1 to ``target``, in a thread of its own,
    counting the bytes that come back from it."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.received = 0
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()
        self._ready.wait(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._relay, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _relay(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        upstream_r, upstream_w = await asyncio.open_connection(*self.target)

        async def pipe(r: asyncio.StreamReader, w: asyncio.StreamWriter, count: bool) -> None:
            try:
                while data := await r.read(1 << 16):
                    if count:
                        self.received += len(data)
                    w.write(data)
                    await w.drain()
            except ConnectionError:
                pass
            finally:
                w.close()

        await asyncio.gather(pipe(client_r, upstream_w, False), pipe(upstream_r, client_w, True))


@dataclass
class Start:
    ready_seconds: float
    bytes_at_ready: int
    bytes_at_exit: int
    lists: float
    log: str


def metric(url: str, name: str) -> float:
    with urllib.request.urlopen(url + "/metrics", timeout=30) as r:
        text = r.read().decode()
    found = re.search(rf'^{name}\{{resource="pods"\}} (\S+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


def start(cluster: DevCluster, relay: CountingRelay, state: Path, log: Path) -> Start:
    before = relay.received
    started = time.monotonic()
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "watchcache",
                "serve",
                "--kubeconfig",
                str(cluster.kubeconfig),
                "--read-upstream",
                f"https://127.0.0.1:{relay.port}",
                "--resources",
                "pods",
                "--workers",
                "1",
                "--cache-dir",
                str(state),
                "--auth=none",
                "--listen",
                "127.0.0.1:0",
                "--shutdown-spread",
                "0",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        url = ""
        while not url:
            found = re.search(r"serving on (http://127\.0\.0\.1:\d+)", log.read_text())
            url = found.group(1) if found else ""
            assert proc.poll() is None, log.read_text()
            time.sleep(0.01)
        while True:
            try:
                with urllib.request.urlopen(url + "/readyz", timeout=30) as r:
                    if r.status == 200:
                        break
            except urllib.error.HTTPError:
                pass
            time.sleep(0.01)
        ready = time.monotonic() - started
        at_ready = relay.received - before
        lists = metric(url, "watchcache_upstream_lists_total")
    finally:
        proc.terminate()
        proc.wait(60)
    return Start(ready, at_ready, relay.received - before, lists, log.read_text())


def random_pad() -> str:
    """6,000 random hex characters: gzip (kube-apiserver compresses lists
    over 128 KB) halves them, instead of the constant pad's 100x."""
    return secrets.token_hex(3000)


def median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--changes", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    runs: dict[str, list[Start]] = {"cold": [], "warm": []}
    with (
        tempfile.TemporaryDirectory() as tmp,
        DevCluster(ClusterConfig(workdir=Path(tmp) / "c", tie_to_parent=True)) as cluster,
    ):
        asyncio.run(create_pods(cluster, args.pods, on_nodes=False, pad=random_pad))
        server = urllib.parse.urlsplit(cluster.url)
        relay = CountingRelay(server.hostname or "127.0.0.1", server.port or 443)
        total = args.pods
        for n in range(args.rounds):
            state = Path(tmp) / f"state-{n}"  # empty: a cold start, which saves
            runs["cold"].append(start(cluster, relay, state, Path(tmp) / f"cold-{n}.log"))
            more = total + args.changes
            asyncio.run(create_pods(cluster, more, total, on_nodes=False, pad=random_pad))
            total = more
            runs["warm"].append(start(cluster, relay, state, Path(tmp) / f"warm-{n}.log"))
            assert "warm start from" in runs["warm"][-1].log, runs["warm"][-1].log[-2000:]
        size = sum(f.stat().st_size for f in state.glob("*.state"))
    print(
        f"restart with {args.pods} pods ({args.changes} created while stopped), "
        f"state file {size / 1e6:.1f} MB; median of {args.rounds}, interleaved"
    )
    print("           ready   upstream MB at ready   at exit   upstream LISTs")
    medians = {}
    for name, starts in runs.items():
        ready = median([s.ready_seconds for s in starts])
        at_ready = median([s.bytes_at_ready for s in starts])
        at_exit = median([s.bytes_at_exit for s in starts])
        lists = median([s.lists for s in starts])
        medians[name] = (ready, at_ready)
        print(
            f"  {name}  {ready:7.2f} s   {at_ready / 1e6:10.2f}"
            f"             {at_exit / 1e6:8.2f}   {lists:5.0f}"
        )
    (cold_s, cold_b), (warm_s, warm_b) = medians["cold"], medians["warm"]
    print(
        f"  ratio cold / warm: time to ready {cold_s / warm_s:.1f}x, "
        f"upstream bytes at ready {cold_b / max(warm_b, 1):.0f}x"
    )


if __name__ == "__main__":
    main()
