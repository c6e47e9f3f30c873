"""Per-client fairness for what the cache serves: a bound on each client's
LISTs in flight and on its open watches, 429 past it.

Glossary:
    client      one requester at one address: the authenticated user
                (``--auth=delegated``) and the client's IP address. Not the
                user alone: every pod of a DaemonSet runs as one service
                account, so kube-proxy on 5,000 nodes is one user with
                15,000 watches, each pod's few being what one client needs
    exempt      never bounded: a member of ``system:masters`` (the group
                kube-apiserver 1.20's mandatory ``exempt`` FlowSchema
                matches, and its max-in-flight filter lets through), and
                every request under ``--auth=none``, where every client
                holds the proxy's own credentials (loopback only; upstream
                sees them all as the proxy)
    flow        a client's LISTs in flight and open watches, as two counts
    ticket      what an admitted LIST or watch holds until its answer ends;
                leaving it gives the slot back

kube-apiserver 1.20's priority and fairness shares the server among flows
(APF's ByUser) and bounds only short requests: watches are long-running and
pass. Here the cache answers, so the bound is per client: ``lists`` LISTs
at once (what a client-go client's informers send at start, all at once:
kube-controller-manager's ~40 informers, limited to a burst of 30 by its
own client) and ``watches`` open watches (a kubelet holds one per secret
and configmap its pods mount, a few hundred at most; kube-controller-
manager one per informer); the defaults (32 and 1,000, set in config.py)
come from those figures. A GET is not bounded (one object, answered at
once). In one event loop the LIST bound caps a client's share of the
loop's steps by its concurrency, not its rate (docs/security.md#fairness,
with what benchmarks/bench_fairness.py measured).

The answer past a bound is kube-apiserver's (its max-in-flight and APF
filters): 429 with ``Retry-After: 1`` and the message "Too many requests,
please try again later.". 1.20 writes that message as plain text; here it
is a Status (reason TooManyRequests, ``details.retryAfterSeconds`` 1) as
every error this proxy answers, and client-go reads both the same way
(``IsTooManyRequests``, and a LIST retried after Retry-After).

Invariants: a flow is in ``_flows`` exactly while it holds a ticket, so the
table never holds more entries than there are LISTs and watches in flight
(bounded by the connections the proxy accepts); every ticket given back
once, however its request ended: when its ``with`` block ends, or for a
watch when the watch ends (``Ticket.keep_until_closed``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, Protocol

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from watchcache.api.status import ApiError, too_many_requests
from watchcache.auth.identity import Identity

__all__ = [
    "MASTERS_GROUP",
    "RETRY_AFTER",
    "Fairness",
    "Limits",
    "Ticket",
    "too_many",
]

Kind = Literal["list", "watch"]

# kube-apiserver's privileged group (user.SystemPrivilegedGroup).
MASTERS_GROUP = "system:masters"
# kube-apiserver's Retry-After for a request it sheds (filters/maxinflight.go).
RETRY_AFTER = 1


def too_many() -> ApiError:
    """kube-apiserver's 429 for a request past its bound."""
    return too_many_requests("Too many requests, please try again later.", RETRY_AFTER)


@dataclass(frozen=True)
class Limits:
    """Per client; 0: no bound."""

    lists: int = 0
    watches: int = 0

    @property
    def off(self) -> bool:
        return not (self.lists or self.watches)


class _Flow:
    __slots__ = ("lists", "watches")

    def __init__(self) -> None:
        self.lists = 0
        self.watches = 0


class _Closable(Protocol):
    @property
    def closed(self) -> asyncio.Future[str]: ...


class Ticket:
    """An admitted LIST or watch; ``with ticket:`` around its answer. A
    watch outlives its HTTP handler (fanout/stream.py hands its socket
    over), so it keeps the ticket until it ends (``keep_until_closed``)."""

    __slots__ = ("_fairness", "_kept", "_key", "_kind")

    def __init__(self, fairness: Fairness | None, key: tuple[str, str], kind: Kind | None) -> None:
        self._fairness = fairness
        self._key = key
        self._kind = kind
        self._kept = False

    @property
    def counted(self) -> bool:
        """Held against a bound (not exempt, not a GET, not given back)."""
        return self._fairness is not None

    def __enter__(self) -> Ticket:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._kept:
            self.give_back()

    def keep_until_closed(self, watch: _Closable) -> None:
        """Given back when ``watch`` ends, not when the ``with`` block does."""
        if self._fairness is None:
            return
        self._kept = True
        watch.closed.add_done_callback(lambda _: self.give_back())

    def give_back(self) -> None:
        """The slot is free again; only the first call counts."""
        fairness, self._fairness = self._fairness, None
        if fairness is not None and self._kind is not None:
            fairness._release(self._key, self._kind)


_FREE = Ticket(None, ("", ""), None)


class Fairness:
    """The bounds of every client, and their counts (a Prometheus collector)."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        # Flows holding at least one ticket (the module's invariant).
        self._flows: dict[tuple[str, str], _Flow] = {}
        self.rejected: dict[Kind, int] = {"list": 0, "watch": 0}
        self.exempted = 0

    def __repr__(self) -> str:
        return f"<Fairness {self.limits} flows={len(self._flows)} rejected={self.rejected}>"

    @property
    def clients(self) -> int:
        """Clients holding a ticket: the entries of the table. (Not
        ``__len__``: an idle Fairness must not be falsy.)"""
        return len(self._flows)

    def admit(self, identity: Identity, address: str, verb: str) -> Ticket | None:
        """A ticket for a read of ``verb`` by ``identity`` from ``address``,
        or None when the client is at its bound (answer ``too_many()``)."""
        kind: Kind | None = "list" if verb == "list" else "watch" if verb == "watch" else None
        if kind is None or self.limits.off:
            return _FREE
        if not identity.delegated or MASTERS_GROUP in identity.groups:
            self.exempted += 1
            return _FREE
        key = (identity.user, address)
        flow = self._flows.get(key)
        held = 0 if flow is None else flow.lists if kind == "list" else flow.watches
        bound = self.limits.lists if kind == "list" else self.limits.watches
        if bound and held >= bound:
            self.rejected[kind] += 1
            return None
        if flow is None:
            flow = self._flows[key] = _Flow()
        if kind == "list":
            flow.lists += 1
        else:
            flow.watches += 1
        return Ticket(self, key, kind)

    def held(self, user: str, address: str) -> tuple[int, int]:
        """A client's LISTs in flight and open watches."""
        flow = self._flows.get((user, address))
        return (0, 0) if flow is None else (flow.lists, flow.watches)

    def _release(self, key: tuple[str, str], kind: Kind) -> None:
        flow = self._flows[key]
        if kind == "list":
            flow.lists -= 1
        else:
            flow.watches -= 1
        if not (flow.lists or flow.watches):
            del self._flows[key]

    # -- metrics ---------------------------------------------------------------

    def describe(self) -> list[Metric]:
        return []  # collected at scrape time; no families to check at register

    def collect(self) -> Iterator[Metric]:
        rejected = CounterMetricFamily(
            "watchcache_fairness_rejected_requests",
            "Cached LISTs and watches answered 429 because their client (user and "
            "address) was at its bound (--max-lists-inflight-per-client, "
            "--max-watches-per-client), by kind.",
            labels=["kind"],
        )
        for kind, count in self.rejected.items():
            rejected.add_metric([kind], float(count))
        yield rejected
        in_flight = GaugeMetricFamily(
            "watchcache_fairness_in_flight",
            "Cached LISTs in flight and open watches of bounded clients (exempt ones "
            "are not counted), by kind.",
            labels=["kind"],
        )
        in_flight.add_metric(["list"], float(sum(f.lists for f in self._flows.values())))
        in_flight.add_metric(["watch"], float(sum(f.watches for f in self._flows.values())))
        yield in_flight
        yield GaugeMetricFamily(
            "watchcache_fairness_clients",
            "Clients holding a cached LIST or watch: the entries of the per-client table.",
            value=float(len(self._flows)),
        )
