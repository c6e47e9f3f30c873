"""A client-side rate limit for the requests the proxy makes on its own.

What the proxy sends for itself (its caches' lists and watches, the probes
of consistent reads, the start-up discovery check) goes through a
``RateLimitedClient``; requests forwarded for clients do not (their rate
is the clients' to limit, and kube-apiserver's priority and fairness
judges them by the clients' own identities once authentication delegation
lands). The limit is client-go's: ``qps`` requests a second on average,
bursts of up to ``burst`` (``--kube-api-qps``, ``--kube-api-burst``, as
kube-controller-manager and kube-scheduler spell them).

Glossary:
    token    the right to send one request; ``qps`` accrue per second,
             at most ``burst`` are kept
    debt     tokens taken before they accrued: a caller that finds none
             reserves the next and sleeps until it has accrued, so callers
             are served in the order they asked

Bound: the waiters are the proxy's own tasks (a reflector per resource,
one probe at a time per resource, the start-up check), a handful, so the
reservations need no queue of their own.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from watchcache.upstream.client import UpstreamClient

__all__ = ["RateLimitedClient", "TokenBucket"]


class TokenBucket:
    def __init__(
        self,
        qps: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        """``qps`` <= 0: no limit."""
        self.qps = qps
        self.burst = max(1, burst)
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(self.burst)
        self._updated = clock()
        self.waits = 0  # takes that had to wait

    async def take(self) -> None:
        """Wait until one request may be sent."""
        if self.qps <= 0:
            return
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.qps)
        self._updated = now
        self._tokens -= 1
        if self._tokens >= 0:
            return
        self.waits += 1
        await self._sleep(-self._tokens / self.qps)


class RateLimitedClient(UpstreamClient):
    """An UpstreamClient whose every request (a 401's retry included)
    first takes a token from ``limiter``."""

    def __init__(self, *args: Any, limiter: TokenBucket, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limiter = limiter

    async def _send_once(self, *args: Any, **kwargs: Any) -> aiohttp.ClientResponse:
        await self.limiter.take()
        return await super()._send_once(*args, **kwargs)
