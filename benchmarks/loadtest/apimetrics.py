"""What kube-apiserver itself says it served, from its ``/metrics``.

The proxy's point is the requests kube-apiserver no longer gets, so the
load test reads kube-apiserver's own counters rather than trusting the
generator's view:

    apiserver_request_total{verb, resource, code, ...}   counter
    apiserver_registered_watchers{group, kind, version}  gauge: watchers
                                                         of its watch cache

``requests`` sums the counter by (verb, resource); ``content_types`` sums
it by its ``contentType`` label, the Content-Type kube-apiserver answered
with (so protobuf clients show as ``application/vnd.kubernetes.protobuf``);
``watchers`` reads the gauge by kind. Only the Prometheus text format's plain sample lines are
parsed: ``name{labels} value``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping

__all__ = ["ApiCounters", "content_type_delta", "parse_metrics", "request_delta"]

_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})? (?P<value>\S+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


class ApiCounters:
    """One scrape: request counts by (verb, resource) and by the answer's
    content type, watchers by kind."""

    def __init__(
        self,
        requests: Mapping[tuple[str, str], float],
        watchers: Mapping[str, float],
        content_types: Mapping[str, float] | None = None,
    ):
        self.requests = dict(requests)
        self.watchers = dict(watchers)
        self.content_types = dict(content_types or {})

    def __repr__(self) -> str:
        return f"<ApiCounters {len(self.requests)} request series, watchers={self.watchers}>"


def parse_metrics(text: str) -> ApiCounters:
    requests: dict[tuple[str, str], float] = defaultdict(float)
    watchers: dict[str, float] = defaultdict(float)
    content_types: dict[str, float] = defaultdict(float)
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
            content_types[labels.get("contentType", "")] += value
        elif found["name"] == "apiserver_registered_watchers":
            watchers[labels.get("kind", "")] += value
    return ApiCounters(requests, watchers, content_types)


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


def content_type_delta(before: ApiCounters, after: ApiCounters) -> dict[str, int]:
    """Requests per answered content type between two scrapes, zeros left
    out (an empty type: no body, e.g. a watch ended early)."""
    delta = {}
    for content_type, value in sorted(after.content_types.items()):
        grown = int(value - before.content_types.get(content_type, 0))
        if grown:
            delta[content_type or "(none)"] = grown
    return delta
