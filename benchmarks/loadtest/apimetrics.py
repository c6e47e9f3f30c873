"""What kube-apiserver itself says it served, from its ``/metrics``.

The proxy's point is the requests kube-apiserver no longer gets, so the
load test reads kube-apiserver's own counters rather than trusting the
generator's view:

    apiserver_request_total{verb, resource, code, ...}   counter
    apiserver_registered_watchers{group, kind, version}  gauge: watchers
                                                         of its watch cache

``requests`` sums the counter by (verb, resource); ``watchers`` reads the
gauge by kind. Only the Prometheus text format's plain sample lines are
parsed: ``name{labels} value``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping

__all__ = ["ApiCounters", "parse_metrics", "request_delta"]

_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})? (?P<value>\S+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


class ApiCounters:
    """One scrape: request counts by (verb, resource), watchers by kind."""

    def __init__(self, requests: Mapping[tuple[str, str], float], watchers: Mapping[str, float]):
        self.requests = dict(requests)
        self.watchers = dict(watchers)

    def __repr__(self) -> str:
        return f"<ApiCounters {len(self.requests)} request series, watchers={self.watchers}>"


def parse_metrics(text: str) -> ApiCounters:
    requests: dict[tuple[str, str], float] = defaultdict(float)
    watchers: dict[str, float] = defaultdict(float)
    for line in text.splitlines():
        if not line.startswith(("apiserver_request_total", "apiserver_registered_watchers")):
            continue
        found = _SAMPLE.match(line)
        if not found:
            continue
        labels = dict(_LABEL.findall(found["labels"] or ""))
        value = float(found["value"])
        if found["name"] == "apiserver_request_total":
            requests[(labels.get("verb", ""), labels.get("resource", ""))] += value
        elif found["name"] == "apiserver_registered_watchers":
            watchers[labels.get("kind", "")] += value
    return ApiCounters(requests, watchers)


def request_delta(
    before: ApiCounters, after: ApiCounters, resources: tuple[str, ...] = ("pods", "nodes")
) -> dict[str, int]:
    """Requests per "VERB resource" between two scrapes, zeros left out."""
    delta = {}
    for (verb, resource), value in sorted(after.requests.items()):
        if resource not in resources:
            continue
        grown = int(value - before.requests.get((verb, resource), 0))
        if grown:
            delta[f"{verb} {resource}"] = grown
    return delta
