"""A worker's cache replica starts where the primary's history starts.

Glossary:
    feed      the primary's Unix socket speaking the Kubernetes API from
              its caches; a worker's reflectors list and watch it as they
              would kube-apiserver
    M         the RV from which the primary's history answers every watch
              (control.py's ``/history``: its oldest kept event's RV less
              one, or its last list's RV)

Why: a worker that starts with a plain list from the feed has a history
that begins at the list's RV, so a client that comes back from a dead
worker with an older RV would get 410 and relist everything. Instead the
worker lists the feed at exactly M (``resourceVersionMatch=Exact``,
rebuilt by the primary from its history) and its reflector then watches
from M, replaying every event since: its history covers what the
primary's covers, and clients resume by RV on any worker, a restarted one
included.

Seeding is best effort: if the primary has not synced yet, or its history
moved past M before the list was answered (a 410), the cache is left
empty and the reflector lists the feed as usual.
"""

from __future__ import annotations

import logging
import urllib.parse
from pathlib import Path

import aiohttp
import msgspec

from watchcache.api.resources import GroupVersionResource
from watchcache.cache.cache import Cache
from watchcache.proxy.autocache import Verdict
from watchcache.upstream import UpstreamClient, UpstreamError
from watchcache.workers.control import HistoryStart
from watchcache.workers.metrics import scrape

__all__ = ["PrimaryAutoCaches", "Seeder"]

log = logging.getLogger(__name__)


class _List(msgspec.Struct):
    items: list[msgspec.Raw] = []


_history_decoder = msgspec.json.Decoder(HistoryStart)
_verdict_decoder = msgspec.json.Decoder(Verdict)
_list_decoder = msgspec.json.Decoder(_List)


class Seeder:
    """``seed(path, cache)`` for ``open_caches``: the state at M from the feed."""

    def __init__(self, feed: UpstreamClient, primary_control: Path) -> None:
        self.feed = feed
        self.primary_control = primary_control

    async def __call__(self, path: str, cache: Cache) -> None:
        try:
            body = await scrape(self.primary_control, f"/history?path={path}")
            start = _history_decoder.decode(body)
            params = {"resourceVersion": str(start.from_), "resourceVersionMatch": "Exact"}
            page = _list_decoder.decode((await self.feed.get(path, params)).body)
        except (
            aiohttp.ClientError,
            OSError,
            TimeoutError,
            UpstreamError,
            msgspec.DecodeError,
        ) as err:
            log.info("%s: not seeded from the primary's history (%s); listing", path, err)
            return
        cache.replace((bytes(item) for item in page.items), start.from_)
        log.info(
            "%s: seeded %d objects at rv %d (the primary is at %d)",
            path,
            len(page.items),
            start.from_,
            start.rv,
        )


class PrimaryAutoCaches:
    """``upper`` for a worker's auto caches (proxy/autocache.py): the
    primary's verdict on a resource, from its control socket. One that
    cannot be had is a refusal (``discovery_failed``): the worker forwards
    that resource's reads and asks again on a read ``REFUSED_FOR`` later."""

    def __init__(self, primary_control: Path) -> None:
        self.primary_control = primary_control

    async def __call__(self, gvr: GroupVersionResource) -> Verdict:
        query = urllib.parse.urlencode({"resource": str(gvr)})
        try:
            return _verdict_decoder.decode(
                await scrape(self.primary_control, f"/auto-cache?{query}")
            )
        except (aiohttp.ClientError, OSError, TimeoutError, msgspec.DecodeError) as err:
            log.info("auto-cache: cannot ask the primary about %s (%s)", gvr, err)
            return Verdict("refused", "discovery_failed")
