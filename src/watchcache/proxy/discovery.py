"""API discovery answered by the proxy: ``/api``, ``/apis`` and each group
and group-version document, and ``/version``.

Why: clients fetch discovery far more often than anything changes it.
kube-controller-manager pointed at the proxy fetched every group-version
11 times in its first minute, most of its requests; kubectl fetches it on
every command whose disk cache has expired. The documents change only
when an API is added or removed: a CustomResourceDefinition or an
APIService created, changed or deleted (or upstream upgraded).

Glossary:
    document   upstream's answer to one discovery path for one Accept
               header: its bytes and Content-Type, as upstream sent them
    watched    the proxy holds a watch of CRDs and of APIServices
               upstream, from the first discovery request on (a client
               that never asks costs no watch); any event of either drops
               every document
    settling   for ``SETTLE_SECONDS`` after such an event nothing is
               kept: kube-apiserver updates its discovery handlers a
               moment after the object changes, and a document fetched in
               that moment may predate the change

Invariants:
    * A document is served from here only while it is younger than the
      TTL (``--discovery-ttl``), or ``UNWATCHED_TTL`` while the watches are
      not both established (an upstream that serves neither, such as the
      embedded simulator, or one whose watch broke).
    * Only 200 answers are kept and served; for anything else (a 404 for
      an unknown group, upstream unreachable) ``answer`` returns None and
      the request is forwarded like any other, so it is answered exactly
      as upstream answers it.
    * At most ``MAX_DOCUMENTS`` documents (paths times Accept headers):
      past it the least recently used is dropped.
    * Concurrent misses for one document make one upstream request.
    * Documents are the same for everyone who may read discovery, so they
      are shared; who may read it at all is the identity stage's to decide,
      before a request reaches here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from aiohttp import web

from watchcache.proxy.context import REQUEST_CONTEXT
from watchcache.upstream import UpstreamClient
from watchcache.upstream.errors import StatusError, UpstreamError

__all__ = ["DISCOVERY_PATH", "Discovery", "discovery_running"]

log = logging.getLogger(__name__)

# /api, /api/v1, /apis, /apis/<group>, /apis/<group>/<version>, /version.
DISCOVERY_PATH = re.compile(r"^/(?:api(?:/[^/]+)?|apis(?:/[^/]+(?:/[^/]+)?)?|version)/?$")
# What an upstream change could have made stale, and so is dropped.
API_DEFINITIONS = (
    "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
    "/apis/apiregistration.k8s.io/v1/apiservices",
)
MAX_DOCUMENTS = 512
# kube-apiserver's largest, /apis/<group>/<version> of a big group, is tens
# of KB; a larger answer is upstream misbehaving (UpstreamError: forwarded).
MAX_DOCUMENT_BYTES = 4 * 1024 * 1024
SETTLE_SECONDS = 5.0
UNWATCHED_TTL = 5.0
# Between attempts to re-establish a broken watch.
REWATCH_SECONDS = 10.0
_HEADERS = ("Content-Type", "Cache-Control")


@dataclass(frozen=True)
class _Document:
    body: bytes
    headers: dict[str, str]
    fetched: float


class Discovery:
    """Discovery documents kept for ``ttl`` seconds and dropped when an
    API definition changes upstream. ``run()`` holds the watches."""

    def __init__(
        self,
        upstream: UpstreamClient,
        *,
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
        watch: bool = True,
    ) -> None:
        self._upstream = upstream
        # False: no watches of API definitions (a worker process, whose
        # upstream is the feed: the primary's watches are the host's one
        # pair), so documents are kept ``UNWATCHED_TTL`` at most.
        self._watch_definitions = watch
        self._ttl = ttl
        self._clock = clock
        self._documents: OrderedDict[tuple[str, str], _Document] = OrderedDict()
        self._fetching: dict[tuple[str, str], asyncio.Future[_Document | None]] = {}
        self._watching = dict.fromkeys(API_DEFINITIONS, False)
        self._settled_at = float("-inf")
        self._watches: asyncio.Future[None] | None = None
        self.hits = 0
        self.misses = 0

    def __repr__(self) -> str:
        return (
            f"<Discovery documents={len(self._documents)} hits={self.hits} "
            f"misses={self.misses} watched={self.watched}>"
        )

    @property
    def watched(self) -> bool:
        return all(self._watching.values())

    def serves(self, request: web.Request) -> bool:
        """A GET of a discovery path."""
        return request.method == "GET" and DISCOVERY_PATH.match(request.path) is not None

    def invalidate(self) -> None:
        """Drop every document, and keep none for the settling time."""
        self._documents.clear()
        self._settled_at = self._clock() + SETTLE_SECONDS

    async def answer(self, request: web.Request) -> web.StreamResponse | None:
        """The document, or None when upstream did not answer 200."""
        if self._watches is None and self._watch_definitions:
            self._watches = asyncio.ensure_future(self.run())
        key = (request.path.rstrip("/") or "/", request.headers.get("Accept", ""))
        try:
            document = await self._document(key)
        except UpstreamError:
            return None
        if document is None:
            return None
        context = request.get(REQUEST_CONTEXT)
        if context is not None:
            context.served_by = "cache"
        return web.Response(body=document.body, headers=document.headers)

    async def _document(self, key: tuple[str, str]) -> _Document | None:
        now = self._clock()
        kept = self._documents.get(key)
        ttl = self._ttl if self.watched else min(self._ttl, UNWATCHED_TTL)
        if kept is not None and now - kept.fetched < ttl:
            self._documents.move_to_end(key)
            self.hits += 1
            return kept
        self.misses += 1
        pending = self._fetching.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._fetch(key))
            self._fetching[key] = pending
            pending.add_done_callback(lambda _: self._fetching.pop(key, None))
        return await asyncio.shield(pending)

    async def _fetch(self, key: tuple[str, str]) -> _Document | None:
        path, accept = key
        fetched_at = self._clock()
        # Uncompressed: kept bytes are served to clients whatever they accept.
        headers = {"Accept-Encoding": "identity", **({"Accept": accept} if accept else {})}
        async with await self._upstream.forward("GET", path, headers=headers) as response:
            if response.status != 200:
                return None
            body = await response.read(MAX_DOCUMENT_BYTES)
            kept = {name: response.headers[name] for name in _HEADERS if name in response.headers}
        document = _Document(body, kept, fetched_at)
        if fetched_at >= self._settled_at:
            self._documents[key] = document
            while len(self._documents) > MAX_DOCUMENTS:
                self._documents.popitem(last=False)
        return document

    async def close(self) -> None:
        if self._watches is not None:
            self._watches.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watches

    async def run(self) -> None:
        """Watch CRDs and APIServices until cancelled, dropping every
        document on each event."""
        await asyncio.gather(*(self._watch(path) for path in API_DEFINITIONS))

    async def _watch(self, path: str) -> None:
        while True:
            pause = 1.0  # a watch upstream ended normally: at most one a second
            try:
                async with self._upstream.watch(path) as lines:
                    self._watching[path] = True
                    async for _line in lines:
                        self.invalidate()
            except StatusError as err:
                log.debug("discovery: no watch of %s (%s); documents kept briefly", path, err)
                pause = REWATCH_SECONDS
            except (UpstreamError, OSError, TimeoutError) as err:
                log.info("discovery: watch of %s ended (%s); retrying", path, err)
                pause = REWATCH_SECONDS
            finally:
                self._watching[path] = False
            # An event may have been missed while not watching.
            self.invalidate()
            await asyncio.sleep(pause)


@contextlib.asynccontextmanager
async def discovery_running(discovery: Discovery) -> AsyncIterator[Discovery]:
    """``discovery``; its watches, once started, end on exit."""
    try:
        yield discovery
    finally:
        await discovery.close()
