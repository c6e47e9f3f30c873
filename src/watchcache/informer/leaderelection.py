"""Leader election through a coordination.k8s.io/v1 Lease, with client-go's
semantics, so Python and Go replicas could even share one lease.

Glossary:
    record          the Lease's spec: holderIdentity, leaseDurationSeconds,
                    acquireTime, renewTime, leaseTransitions
    observed        the record as this candidate last read or wrote it, and
                    when (``observed_at``, on this process's monotonic clock)
    lease duration  how long a candidate waits, after it last saw the record
                    change, before taking over from a holder that stopped
                    renewing (15 s by default)
    renew deadline  how long the leader keeps trying to renew before it gives
                    up leading (10 s)
    retry period    the pause between attempts to acquire or renew (2 s,
                    jittered up to +120 % while acquiring)

Decisions (client-go's, each for the reason given):
    - Expiry is judged by when this process saw the record change, never by
      the renewTime written in it: clocks of different nodes may disagree,
      their rates barely do. Tolerating a clock rate skew r needs
      lease duration / renew deadline >= r.
    - Every write carries the record's resourceVersion: of two candidates
      taking over at once, one gets 409 Conflict and stays a follower.
    - Leadership ends when a renewal has not succeeded for the renew
      deadline; the leader's work is cancelled before ``on_stopped_leading``.
      Since lease duration > renew deadline, it stops before anyone else
      may take over.
    - On a clean exit (cancellation) with ``release_on_cancel``, the leader
      empties holderIdentity so a successor need not wait out the lease.

This is not fencing: a leader paused longer than the lease (a stopped
process) may briefly overlap its successor, as with client-go.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec

from watchcache.upstream import StatusError, UpstreamClient, UpstreamError

__all__ = ["LeaderElectionConfig", "LeaderElector", "LeaseRecord"]

log = logging.getLogger(__name__)

_JITTER = 1.2  # client-go's JitterFactor while acquiring


@dataclass(frozen=True)
class LeaderElectionConfig:
    """client-go's usual values (kube-controller-manager's defaults)."""

    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    release_on_cancel: bool = True

    def __post_init__(self) -> None:
        if not self.lease_duration > self.renew_deadline:
            raise ValueError("lease_duration must be greater than renew_deadline")
        if not self.renew_deadline > _JITTER * self.retry_period:
            raise ValueError("renew_deadline must be greater than 1.2 x retry_period")
        if self.retry_period <= 0:
            raise ValueError("retry_period must be positive")


@dataclass(frozen=True)
class LeaseRecord:
    holder: str
    lease_duration_seconds: int
    acquire_time: str
    renew_time: str
    transitions: int

    @classmethod
    def of(cls, lease: dict[str, Any]) -> LeaseRecord:
        spec = lease.get("spec") or {}
        return cls(
            spec.get("holderIdentity") or "",
            int(spec.get("leaseDurationSeconds") or 0),
            spec.get("acquireTime") or "",
            spec.get("renewTime") or "",
            int(spec.get("leaseTransitions") or 0),
        )

    def spec(self) -> dict[str, Any]:
        return {
            "holderIdentity": self.holder,
            "leaseDurationSeconds": self.lease_duration_seconds,
            "acquireTime": self.acquire_time,
            "renewTime": self.renew_time,
            "leaseTransitions": self.transitions,
        }


def micro_time(at: datetime) -> str:
    """metav1.MicroTime as kube-apiserver writes it."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElector:
    """Campaigns for the Lease ``namespace/name`` as ``identity`` (unique per
    replica: a pod name, or host plus a random suffix)."""

    def __init__(
        self,
        client: UpstreamClient,
        *,
        name: str,
        namespace: str,
        identity: str,
        config: LeaderElectionConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if not identity:
            raise ValueError("a leader election identity must not be empty")
        self.client = client
        self.name = name
        self.namespace = namespace
        self.identity = identity
        self.config = config or LeaderElectionConfig()
        self._clock = clock
        self._wall = wall
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._path = f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases"
        self._observed: LeaseRecord | None = None
        self._observed_rv = ""
        self._observed_at = float("-inf")
        self._reported_leader: str | None = None
        self._on_new_leader: Callable[[str], None] | None = None
        self._leading = False

    def __repr__(self) -> str:
        return f"<LeaderElector {self.namespace}/{self.name} as {self.identity} leader={self.leader!r}>"

    @property
    def leader(self) -> str:
        """The holder last observed ("" for none)."""
        return self._observed.holder if self._observed is not None else ""

    def is_leader(self) -> bool:
        return self._leading

    # -- the campaign -----------------------------------------------------------

    async def run(
        self,
        on_started_leading: Callable[[], Awaitable[None]],
        *,
        on_stopped_leading: Callable[[], None] | None = None,
        on_new_leader: Callable[[str], None] | None = None,
    ) -> None:
        """Acquire the lease (waiting as long as it takes), run
        ``on_started_leading()`` while renewing it, and return when
        leadership is lost or that coroutine returns. Cancelling ``run``
        cancels the work and releases the lease."""
        self._on_new_leader = on_new_leader
        await self._acquire()
        self._leading = True
        work = asyncio.ensure_future(on_started_leading())
        renewing = asyncio.ensure_future(self._renew())
        try:
            await asyncio.wait({work, renewing}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._leading = False
            for task in (work, renewing):
                task.cancel()
            await asyncio.gather(work, renewing, return_exceptions=True)
            if self.config.release_on_cancel:
                await self._release()
            if on_stopped_leading is not None:
                on_stopped_leading()
        if work.done() and not work.cancelled() and work.exception() is not None:
            raise work.exception()  # type: ignore[misc]

    async def _acquire(self) -> None:
        log.info("%r: trying to acquire the lease", self)
        while not await self.try_acquire_or_renew():
            delay = self.config.retry_period * (1 + self._rng.random() * _JITTER)
            await self._sleep(delay)
        log.info("%r: acquired the lease", self)

    async def _renew(self) -> None:
        """Renew every retry period; return (losing the lease) once renewals
        kept failing for the renew deadline."""
        last_renewed = self._clock()
        while True:
            await self._sleep(self.config.retry_period)
            if await self.try_acquire_or_renew():
                last_renewed = self._clock()
            elif self._clock() - last_renewed >= self.config.renew_deadline:
                log.warning(
                    "%r: could not renew for %.0fs; leading ends", self, self.config.renew_deadline
                )
                return

    # -- one attempt ---------------------------------------------------------------

    async def try_acquire_or_renew(self) -> bool:
        """One attempt: True when this candidate holds the lease after it."""
        now = self._wall()
        try:
            lease = await self._get()
        except UpstreamError as err:
            log.warning("%r: reading the lease failed: %s", self, err)
            return False
        mine = LeaseRecord(
            self.identity,
            round(self.config.lease_duration),
            micro_time(now),
            micro_time(now),
            0,
        )
        if lease is None:
            return await self._write("POST", mine, "")
        record = LeaseRecord.of(lease)
        rv = str((lease.get("metadata") or {}).get("resourceVersion", ""))
        self._observe(record, rv)
        held_by_other = record.holder and record.holder != self.identity
        if held_by_other and self._observed_at + self.config.lease_duration > self._clock():
            return False
        if record.holder == self.identity:
            mine = LeaseRecord(
                self.identity,
                mine.lease_duration_seconds,
                record.acquire_time or mine.acquire_time,
                mine.renew_time,
                record.transitions,
            )
        else:
            mine = LeaseRecord(
                self.identity,
                mine.lease_duration_seconds,
                mine.acquire_time,
                mine.renew_time,
                record.transitions + 1,
            )
        return await self._write("PUT", mine, rv)

    def _observe(self, record: LeaseRecord, rv: str) -> None:
        if record != self._observed:
            self._observed = record
            self._observed_at = self._clock()
        self._observed_rv = rv
        if record.holder != self._reported_leader:
            self._reported_leader = record.holder
            if record.holder and self._on_new_leader is not None:
                self._on_new_leader(record.holder)

    async def _release(self) -> None:
        if self._observed is None or self._observed.holder != self.identity:
            return
        now = micro_time(self._wall())
        empty = LeaseRecord("", 1, now, now, self._observed.transitions)
        with contextlib.suppress(UpstreamError):
            await self._write("PUT", empty, self._observed_rv)

    # -- requests --------------------------------------------------------------------

    async def _get(self) -> dict[str, Any] | None:
        try:
            resp = await self.client.request("GET", f"{self._path}/{self.name}")
        except StatusError as err:
            if err.code == 404:
                return None
            raise
        lease: dict[str, Any] = msgspec.json.decode(resp.body)
        return lease

    async def _write(self, method: str, record: LeaseRecord, rv: str) -> bool:
        metadata: dict[str, Any] = {"name": self.name, "namespace": self.namespace}
        if rv:
            metadata["resourceVersion"] = rv
        body = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": metadata,
            "spec": record.spec(),
        }
        path = self._path if method == "POST" else f"{self._path}/{self.name}"
        try:
            resp = await self.client.request(method, path, body=msgspec.json.encode(body))
        except StatusError as err:
            if err.code not in (409, 404):
                log.warning("%r: writing the lease failed: %s", self, err)
            return False
        except UpstreamError as err:
            log.warning("%r: writing the lease failed: %s", self, err)
            return False
        written = msgspec.json.decode(resp.body)
        self._observe(LeaseRecord.of(written), str(written["metadata"].get("resourceVersion", "")))
        self._observed_at = self._clock()
        return record.holder == self.identity
