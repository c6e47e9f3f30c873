"""/metrics with ``--workers`` above 1: every process's figures in one answer.

Each process (the primary and every worker) answers its own metrics on its
control socket (control.py); a worker asked for /metrics gathers them all
and merges them (``merge``). That is prometheus_client's multiprocess mode
done by scraping: its values live in each process's own registry and
collectors (the caches' figures are read at scrape time, which a shared
file of counters could not hold).

Merge rules, per sample:
    worker counters    summed over the workers (every ``counter``,
    and histograms     ``histogram`` and ``summary`` series: requests,
                       durations, events applied, CPU seconds), no label
                       added: the host's total, whichever worker served
    worker gauges      one series per worker, labelled ``worker="<slot>"``
                       (watchers open, objects cached, memory), as the
                       multiprocess mode's default for gauges (by pid)
    the primary's      every series labelled ``worker="primary"``, never
                       summed with the workers': its caches are the ones
                       that hear upstream (``watchcache_upstream_watches``
                       there counts watches of kube-apiserver), and its
                       requests are the workers' lists and watches of it

A process that does not answer within ``SCRAPE_TIMEOUT`` (one restarting)
is left out of that scrape; ``watchcache_workers_scraped`` says how many
were in it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path

import aiohttp
from prometheus_client import generate_latest
from prometheus_client.core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

__all__ = ["PRIMARY", "SCRAPE_TIMEOUT", "Gatherer", "merge"]

log = logging.getLogger(__name__)

PRIMARY = "primary"
# A process's own exposition takes about a millisecond; one that does not
# answer in this long is restarting or stuck.
SCRAPE_TIMEOUT = 5.0
_SUMMED = frozenset({"counter", "histogram", "summary"})


def merge(expositions: Mapping[str, bytes]) -> bytes:
    """One exposition from each process's, by its name (``PRIMARY`` or a
    worker's slot), by the module's rules."""
    families: dict[str, Metric] = {}
    sums: dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]] = {}
    for process, text in expositions.items():
        for family in text_string_to_metric_families(text.decode()):
            merged = families.get(family.name)
            if merged is None:
                merged = families[family.name] = Metric(
                    family.name, family.documentation, family.type
                )
                sums[family.name] = {}
            summed = process != PRIMARY and family.type in _SUMMED
            for sample in family.samples:
                if summed:
                    key = (sample.name, tuple(sorted(sample.labels.items())))
                    totals = sums[family.name]
                    totals[key] = totals.get(key, 0.0) + sample.value
                else:
                    labels = {**sample.labels, "worker": process}
                    merged.add_sample(sample.name, labels, sample.value)
    for name, totals in sums.items():
        for (sample_name, pairs), value in totals.items():
            families[name].add_sample(sample_name, dict(pairs), value)
    scraped = Metric(
        "watchcache_workers_scraped",
        "Processes (the primary and the workers) whose metrics this answer holds.",
        "gauge",
    )
    scraped.add_sample("watchcache_workers_scraped", {}, float(len(expositions)))
    return generate_latest(_Families([*families.values(), scraped]))


class _Families(Collector):
    def __init__(self, families: Iterable[Metric]) -> None:
        self._families = list(families)

    def collect(self) -> Iterator[Metric]:
        return iter(self._families)


class Gatherer:
    """Every process's exposition, merged: what a worker's /metrics answers.

    ``control_dir`` holds one control socket per process, named
    ``<name>.sock``; this process's own (``name``) is read in-process."""

    def __init__(self, control_dir: Path, name: str, local: Callable[[], bytes]) -> None:
        self.control_dir = control_dir
        self.name = name
        self.local = local

    async def __call__(self) -> bytes:
        names = sorted(p.stem for p in self.control_dir.glob("*.sock"))
        others = [n for n in names if n != self.name]
        answers = await asyncio.gather(*(self._scrape(n) for n in others))
        expositions = {self.name: self.local()}
        expositions.update((n, a) for n, a in zip(others, answers, strict=True) if a is not None)
        # A stable order: the primary, then the workers by slot.
        ordered = dict(sorted(expositions.items(), key=lambda item: _order(item[0])))
        return merge(ordered)

    async def _scrape(self, name: str) -> bytes | None:
        path = self.control_dir / f"{name}.sock"
        try:
            return await scrape(path)
        except (aiohttp.ClientError, OSError, TimeoutError) as err:
            log.debug("metrics of %s not read: %s", name, err)
            return None


async def scrape(path: Path, route: str = "/metrics") -> bytes:
    """GET ``route`` from a control socket; its body if 200."""
    timeout = aiohttp.ClientTimeout(total=SCRAPE_TIMEOUT)
    connector = aiohttp.UnixConnector(str(path))
    async with (
        aiohttp.ClientSession(connector=connector, timeout=timeout) as session,
        session.get(f"http://localhost{route}") as response,
    ):
        response.raise_for_status()
        return await response.read()


def _order(name: str) -> tuple[int, int]:
    return (0, 0) if name == PRIMARY else (1, int(name) if name.isdigit() else 0)
