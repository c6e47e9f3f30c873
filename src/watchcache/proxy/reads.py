"""The read path: LIST, GET and WATCH of cached resources, from the cache.

Glossary:
    request info  the request parsed once (requestinfo.py), before this
                  module sees it: verb, resource path, requester
    read          a ``ReadRequest``: a request the cache answers, with its
                  cached resource, parsed options and negotiated rendering;
                  every stage after ``decide`` takes it and nothing else
    rendering     the form the client gets (rendering.py); no stage here
                  names a form

Stages: ``decide`` (sync) turns the request info into a read, an error to
answer at once, or None (forward); then ``_get``, ``_list``, ``_watch`` or
``_watch_list`` pick the cache's state by the resourceVersion rules, and
the rendering writes it.

A request is answered here only when the answer can be exactly what
kube-apiserver would give; everything else goes to the forwarder. The
cases, in the order they are decided (docs/reads.md lists them with
their reasons):

    forwarded   not a GET; an uncached resource (with --auto-cache, one
                whose auto cache is not ready yet) or any subresource; an
                Accept the cache cannot serve (neither JSON nor, for a
                built-in kind, protobuf accepted; a conversion, ``as=...``,
                no rendering writes for the resource: a Table of a resource
                without a printer here); a GET or LIST of a Table with a
                bad ``includeObject`` (upstream answers its 400 in its
                order); a
                curl, Wget or browser user agent (kube-apiserver pretty-
                prints for them); a GET
                with no resourceVersion (kube-apiserver reads etcd); an
                exact or continued LIST at an RV the cache's history no
                longer covers, or with an rv -1 continue token; a
                consistent LIST on a resource too quiet to prove the cache
                fresh within ``freshness_wait``. Of these, a LIST with a
                shardSelector is answered with only the share of upstream's
                answer (shareforward.py), whatever upstream's version. A
                consistent WatchList the cache cannot make fresh in time is
                not forwarded: it is served from a consistent LIST upstream
                and the cache's events after it (``_watch_list_listed``),
                its share only when sharded
    429         a LIST or WATCH of a client already at its bound
                (--max-lists-inflight-per-client, --max-watches-per-client;
                fairness.py), before it is authorized
    500         with --serve-stale-on-outage, a consistent read (LIST, GET or
                WatchList with no resourceVersion) while upstream is silent
                past --max-staleness, or whose probe fails: kube-apiserver's
                ServerTimeout for unreachable storage, at once
    429         LIST or WATCH before the cache's first sync (1.34+; GETs
                with an RV and unselected LISTs with a limit are forwarded)
    400         a watch of one object by its legacy path (``/watch/.../NAME``)
                whose fieldSelector does not require exactly that name; a
                Table watch with a bad ``includeObject``
    from cache  everything else, with kube-apiserver's resourceVersion
                rules (SEMANTICS.md); the watch of one object by its legacy
                ``/watch/`` path as a watch of its collection with
                ``metadata.name=NAME`` (``.../NAME?watch=1`` is a GET in
                1.20: forwarded)

Consistent reads (LIST with resourceVersion unset): the prober asks
upstream for its current RV (coalesced, see prober.Prober); once the cache
has reached it, the cache's state is at least as new as any write
acknowledged before the read arrived. A probe below the cache's RV as the
read arrived means upstream lost its state: the read is forwarded and the
reflector relists (``_fresh``).
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace

from aiohttp import web

from watchcache.api.listoptions import EXACT, NOT_OLDER_THAN, ListOptions
from watchcache.api.resources import GroupVersionResource
from watchcache.api.selectors import FieldSelector, FieldTerm
from watchcache.api.status import (
    ApiError,
    bad_request,
    not_found,
    server_timeout,
    too_large_resource_version,
    too_many_requests,
)
from watchcache.auth.authorizer import AllowAll, Authorizer, read_attributes, refusal
from watchcache.cache.allocator import LARGE_BUFFER
from watchcache.cache.cache import ListPage, TooNewResourceVersion
from watchcache.cache.entry import Entry
from watchcache.cache.event import ADDED, Event
from watchcache.cache.history import TooOldResourceVersion
from watchcache.fanout.filter import WatchFilter
from watchcache.fanout.stream import serve_watch
from watchcache.proxy.autocache import AutoCaches
from watchcache.proxy.cachedresource import CachedResource
from watchcache.proxy.compression import GZIP_LARGE, Compression
from watchcache.proxy.context import REQUEST_CONTEXT, Identity
from watchcache.proxy.fairness import Fairness, Limits, Ticket, too_many
from watchcache.proxy.forward import status_response
from watchcache.proxy.rendering import RENDERINGS, Rendering, bookmarks_for, negotiate
from watchcache.proxy.requestinfo import RequestInfo, request_info
from watchcache.proxy.shareforward import Ask, shared_page
from watchcache.upstream import UpstreamError
from watchcache.upstream.client import WATCHCACHE_AGENT

__all__ = ["ReadPath", "ReadRequest"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# kube-apiserver waits this long for its cache to reach a requested RV
# before answering 504 "Too large resource version".
RV_WAIT = 3.0
# How long a consistent read waits for the cache to reach the probed RV
# before going upstream instead. benchmarks/bench_freshness_wait.py, with
# kube-apiserver 1.20 taking 50 writes/s: the probe itself takes 3 ms p50
# / 11 ms p99, and by the time it answers the cache had already reached
# the probed RV in 200 of 200 reads (catch-up p99 5 ms, all of it event
# loop scheduling on a loaded machine). 100 ms is 20 times that; a quiet
# resource, which may not move until its next bookmark a minute away, is
# forwarded after it.
FRESHNESS_WAIT = 0.1
# A resource whose last change is older than this is quiet: when the probe
# finds its cache behind, the next event of that resource is unlikely
# within FRESHNESS_WAIT (other resources' writes move the probed RV, and
# kube-apiserver 1.20 sends no progress bookmarks), so the read goes
# upstream at once instead of waiting in vain. Measured before this rule:
# consistent LISTs of idle configmaps took 106 ms p50 through the proxy
# against 4.4 ms directly, every one forwarded after the full wait.
QUIET_AFTER = 1.0
# Streaming a list: items are rendered LIST_BATCH at a time and written in
# pieces of at most LIST_WRITE_BYTES (more only when one batch is larger),
# never joined whole. Below malloc's mmap threshold, which serve fixes at
# LARGE_BUFFER (cache/allocator.py), so the piece, the TLS buffers and the
# encrypted bytes come from the heap: a buffer above it is mapped and
# faulted in page by page at each write. benchmarks/bench_write_path.py,
# 10,000 pods (79 MB) at RV=0 over TLS: the proxy's CPU per list 205-210 ms
# with 500 items (~4 MB) per write, 70-73 ms with these pieces. A bare
# aiohttp + uvloop TLS server with the same malloc policy: 4 MB pieces
# 203-221 ms, 256 KiB 236-242 ms, 64 KiB 75-83 ms, 32 KiB 79-116 ms.
LIST_BATCH = 8
LIST_WRITE_BYTES = LARGE_BUFFER // 2
# Without timeoutSeconds kube-apiserver picks a deadline in [30 min, 60 min).
MIN_REQUEST_TIMEOUT = 1800.0

# What a probe can fail with: upstream trouble, or an answer without a
# list's resourceVersion.
_PROBE_FAILURES = (UpstreamError, KeyError, ValueError, TypeError)
# The read's fairness ticket (fairness.py), for the watch that outlives
# its handler.
_TICKET = web.RequestKey("watchcache_fairness_ticket", Ticket)
_PRETTY_AGENTS = ("curl/", "Wget/", "Mozilla/")
_SELECTORS = ("labelSelector", "fieldSelector", "shardSelector")


@dataclass(frozen=True, slots=True)
class ReadRequest:
    """One read the cache answers, parsed once (``ReadPath.decide``); every
    stage of the read path takes it."""

    verb: str  # get, list or watch
    resource: CachedResource
    # None: every namespace, or a cluster-scoped resource.
    namespace: str | None
    name: str
    options: ListOptions
    rendering: Rendering
    requester: Identity

    @property
    def gvr(self) -> GroupVersionResource:
        return self.resource.info.gvr


class ReadPath:
    def __init__(
        self,
        caches: dict[GroupVersionResource, CachedResource],
        forward: Handler,
        *,
        freshness_wait: float = FRESHNESS_WAIT,
        rv_wait: float = RV_WAIT,
        rng: random.Random | None = None,
        authorizer: Authorizer | AllowAll | None = None,
        renderings: Sequence[Rendering] = RENDERINGS,
        clock: Callable[[], float] = time.time,
        compression: Compression = GZIP_LARGE,
        auto: AutoCaches | None = None,
        fairness: Fairness | None = None,
        ask: Ask | None = None,
    ) -> None:
        self.caches = caches
        # Large GET and LIST answers gzip for clients that accept it
        # (compression.py; serve's --response-compression).
        self.compression = compression
        # --auto-cache: resources cached on their first read (autocache.py).
        self.auto = auto
        # Each client's bound on LISTs in flight and open watches.
        self.fairness = fairness if fairness is not None else Fairness(Limits())
        # The forms answered from the cache (serve's --protobuf drops
        # protobuf's); a read asking for another goes upstream.
        self.renderings = renderings
        self.forward = forward
        # Upstream's answer read here (Forwarder.asking): a forwarded LIST
        # with a shardSelector is answered with only its share
        # (shareforward.py). None: forwarded as it is.
        self.ask = ask
        # Decides every read answered here, for its requester (--auth).
        self.authorizer = authorizer or AllowAll()
        self.freshness_wait = freshness_wait
        self.rv_wait = rv_wait
        self._rng = rng or random.Random()
        # Wall clock (seconds since the epoch): a Table's AGE column.
        self.clock = clock

    def __repr__(self) -> str:
        return f"<ReadPath cached={sorted(g.resource for g in self.caches)}>"

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        info = request_info(request)
        read = self.decide(info, request.headers, request.query)
        if read is None:
            return await self.forward(request)
        # Per-client bounds first, as kube-apiserver's flow control runs
        # before its authorizer (fairness.py).
        context = request[REQUEST_CONTEXT]
        ticket = self.fairness.admit(context.identity, request.remote or "", info.verb)
        if ticket is None:
            context.served_by = "cache"
            shed = too_many()
            return _status(read, shed) if isinstance(read, ReadRequest) else status_response(shed)
        request[_TICKET] = ticket
        with ticket:  # a watch keeps it until it ends (_stream)
            if ticket.counted and info.verb == "list":
                # One loop turn before the work: every request already
                # readable is admitted (or refused) first, so a client's
                # LISTs count against its bound together, not one by one.
                await asyncio.sleep(0)
            return await self._answer(request, info, read)

    async def _answer(
        self, request: web.Request, info: RequestInfo, read: ReadRequest | ApiError
    ) -> web.StreamResponse:
        # Before anything else the cache would answer, as kube-apiserver; a
        # read that goes upstream is decided there again, the same way.
        refused = await self._authorize(request, info)
        if refused is not None:
            request[REQUEST_CONTEXT].served_by = "cache"  # the cache's read, refused here
            return status_response(refused)
        if isinstance(read, ApiError):
            return status_response(read)
        request[REQUEST_CONTEXT].served_by = "cache"
        if read.verb == "get":
            return await self._get(request, read)
        if read.verb == "list":
            return await self._list(request, read)
        if read.options.send_initial_events:
            return await self._watch_list(request, read)
        return await self._watch(request, read)

    async def _authorize(self, request: web.Request, info: RequestInfo) -> ApiError | None:
        """Whether the requester may make this read (watchcache.auth):
        None when allowed, else the error to answer with."""
        identity = request[REQUEST_CONTEXT].identity
        assert info.path is not None  # a cached read's path
        attributes = read_attributes(info.path, info.verb, request.query)
        decision = await self.authorizer.authorize(identity, attributes)
        return None if decision.allowed else refusal(identity, attributes, decision)

    def decide(
        self, info: RequestInfo, headers: Mapping[str, str], query: Mapping[str, str]
    ) -> ReadRequest | ApiError | None:
        """The read the cache answers, the error to answer at once, or None
        to forward (the module docstring's cases, in its order)."""
        resource = self._cached(info, headers)
        if resource is None:
            return None
        where = info.path
        assert where is not None  # _cached checked
        if info.verb == "watch" and where.name and not where.legacy_watch:
            return None  # 1.20 answers ``.../NAME?watch=1`` as a GET (from etcd)
        accept = headers.get("Accept", "")
        rendering = negotiate(
            accept,
            listing=info.verb == "list",
            resource=resource.info,
            renderings=self.renderings,
        )
        if rendering is None:
            return None
        if not resource.reflector.synced.is_set():
            return _before_sync(info, query)
        try:
            options = ListOptions.from_query(
                dict(query), watch=info.verb == "watch", resource=resource.info
            )
        except ApiError as err:
            return err
        if info.verb == "watch" and where.name:
            named = _named_watch(options, where.name)
            if isinstance(named, ApiError):
                return named
            options = named
        bound = rendering.bind(resource.info, query, self.clock, watch=info.verb == "watch")
        if not isinstance(bound, Rendering):
            return bound
        rendering = bound
        return ReadRequest(
            info.verb,
            resource,
            where.namespace or None,
            where.name,
            options,
            rendering,
            info.requester,
        )

    def _cached(self, info: RequestInfo, headers: Mapping[str, str]) -> CachedResource | None:
        """The cached resource a GET of a resource path reads, if any."""
        where = info.path
        if info.method != "GET" or where is None or where.subresource:
            return None
        resource = self.caches.get(where.gvr)
        if resource is None and self.auto is not None:
            resource = self.auto.reading(where.gvr)  # None until its auto cache is ready
        if resource is None or headers.get("User-Agent", "").startswith(_PRETTY_AGENTS):
            return None
        return resource

    # -- GET -------------------------------------------------------------------

    async def _get(self, request: web.Request, read: ReadRequest) -> web.StreamResponse:
        resource, options = read.resource, read.options
        rv = options.resource_version or ""
        if rv == "" and resource.outage():
            return _status(read, _unreachable(resource, "get"))
        if rv == "":
            return await self._forwarded(request)  # a GET with no RV reads etcd
        if rv != "0":
            reached = await self._wait_for(resource, options.rv)
            if not reached:
                return _status(read, too_large_resource_version(options.rv, resource.cache.rv))
        entry = resource.cache.get(read.namespace or "", read.name)
        if entry is None:
            return _status(read, not_found(read.gvr.resource, read.name, read.gvr.group))
        rendering = await read.rendering.settle((entry,))
        body, headers = self.compression.whole(
            request, rendering.entry_body(entry), _headers(rendering)
        )
        return web.Response(body=body, headers=headers)

    # -- LIST ------------------------------------------------------------------

    async def _list(self, request: web.Request, read: ReadRequest) -> web.StreamResponse:
        resource, options = read.resource, read.options
        cache = resource.cache
        select = functools.partial(
            cache.list,
            namespace=read.namespace,
            labels=options.label_selector,
            fields=options.field_selector,
            shard=options.shard_selector,
        )
        rv = options.resource_version or ""
        token = options.continue_token
        try:
            if token is not None:
                if token.rv < 0 or not token.start.endswith("\x00"):
                    return await self._forwarded_list(request, read)
                page = select(limit=options.limit, continue_after=token.start[:-1], rv=token.rv)
            elif rv == "0":
                page = select()  # any state; the limit is ignored
            elif rv == "":
                fresh = await self._fresh(resource, self.freshness_wait, quiet_after=QUIET_AFTER)
                if not fresh:
                    return await self._forwarded_list(request, read)
                page = select(limit=options.limit)
            elif options.resource_version_match == EXACT or (
                options.limit and options.resource_version_match != NOT_OLDER_THAN
            ):
                if options.rv > cache.rv:
                    return await self._forwarded_list(request, read)
                page = select(limit=options.limit, rv=options.rv)
            else:
                if not await self._wait_for(resource, options.rv):
                    return _status(read, too_large_resource_version(options.rv, cache.rv))
                limit = options.limit if options.resource_version_match == NOT_OLDER_THAN else 0
                page = select(limit=limit)
        except (TooOldResourceVersion, TooNewResourceVersion):
            return await self._forwarded_list(request, read)
        except _Outage:
            return _status(read, _unreachable(resource, "list"))
        return await _write_list(request, read, page, self.compression)

    async def _fresh(
        self, resource: CachedResource, within: float, *, quiet_after: float | None = None
    ) -> bool:
        """The cache reached upstream's current RV (probed) within ``within``;
        with ``quiet_after``, a cache behind the probe whose resource has not
        changed for that long is not waited for.

        A probe below the RV the cache had when the read arrived (so before
        the probe was sent) means upstream went back, having lost its
        state: the read goes upstream and the reflector relists. (A probe
        below the cache's RV now proves nothing: events written after the
        probe was answered may have arrived meanwhile.)"""
        cache = resource.cache
        seen = cache.rv
        if resource.outage():
            raise _Outage
        try:
            target = await resource.prober.current_rv()
        except _PROBE_FAILURES:  # let upstream answer the read
            if resource.serve_stale:
                raise _Outage from None  # it would fail the same way
            return False
        if target < seen:
            resource.reflector.upstream_went_back(target, seen)
            return False
        if cache.rv < target and quiet_after is not None and cache.idle_seconds() > quiet_after:
            return False
        return await self._wait_for(resource, target, within)

    async def _wait_for(
        self, resource: CachedResource, rv: int, within: float | None = None
    ) -> bool:
        if resource.cache.rv >= rv:
            return True
        try:
            async with asyncio.timeout(self.rv_wait if within is None else within):
                await resource.cache.wait_until(rv)
        except TimeoutError:
            return False
        return True

    async def _forwarded(self, request: web.Request) -> web.StreamResponse:
        request[REQUEST_CONTEXT].served_by = "upstream"
        return await self.forward(request)

    async def _forwarded_list(self, request: web.Request, read: ReadRequest) -> web.StreamResponse:
        """A LIST the cache cannot answer: upstream's answer; with a
        shardSelector only its share, whatever upstream's version
        (shareforward.py), written as the cache's pages are."""
        shard = read.options.shard_selector
        if shard is None or self.ask is None:
            return await self._forwarded(request)
        request[REQUEST_CONTEXT].served_by = "upstream"
        page = await shared_page(request, self.ask, read.resource.cache, shard, read.options.limit)
        if isinstance(page, web.StreamResponse):
            return page
        return await _write_list(request, read, page, self.compression)

    # -- WATCH -----------------------------------------------------------------

    async def _watch(self, request: web.Request, read: ReadRequest) -> web.StreamResponse:
        resource, options, rendering = read.resource, read.options, read.rendering
        cache = resource.cache
        watch_filter = rendering.watch_filter(read.namespace, options)
        rv = options.resource_version or ""

        def start() -> tuple[Iterable[bytes], int]:
            if rv in ("", "0"):
                events, at = cache.initial_events(
                    namespace=read.namespace,
                    labels=options.label_selector,
                    fields=options.field_selector,
                    shard=options.shard_selector,
                )
                return (rendering.added_line(e) for e in events), at
            requested = options.rv
            if requested >= cache.rv:
                return (), requested  # events up to a future RV are skipped
            return _replayed(cache.since(requested), watch_filter), cache.rv

        try:
            if rv not in ("", "0"):
                cache.since(options.rv)  # 410 now, before the stream starts, if too old
        except TooOldResourceVersion as err:
            return await _error_stream(request, read, err)
        return await self._stream(request, read, watch_filter, start)

    async def _watch_list(self, request: web.Request, read: ReadRequest) -> web.StreamResponse:
        """WatchList (KEP-3157): the state as ADDED events, a bookmark marked
        ``k8s.io/initial-events-end``, then changes. Served whatever the
        upstream's version (1.20 has no WatchList), consistently: with RV
        unset from the cache once it reached upstream's current RV, else
        from a consistent LIST upstream (``_watch_list_listed``); with RV=N
        once the cache reached N (3 s, else 504 as for a LIST)."""
        resource, options, rendering = read.resource, read.options, read.rendering
        cache = resource.cache
        rv = options.resource_version or ""
        if rv == "":
            # As a consistent LIST: a busy cache is waited for a little, a
            # quiet one not at all; if it is behind, the state comes from a
            # consistent LIST upstream (_watch_list_listed).
            try:
                fresh = await self._fresh(resource, self.freshness_wait, quiet_after=QUIET_AFTER)
            except _Outage:
                return _status(read, _unreachable(resource, "watch"))
            if not fresh:
                return await self._watch_list_listed(request, read)
        elif rv != "0" and not await self._wait_for(resource, options.rv):
            return _status(read, too_large_resource_version(options.rv, cache.rv))
        watch_filter = rendering.watch_filter(read.namespace, options)
        marker = bookmarks_for(resource.info, initial_events_end=True)

        def start() -> tuple[Iterable[bytes], int]:
            events, at = cache.initial_events(
                namespace=read.namespace,
                labels=options.label_selector,
                fields=options.field_selector,
                shard=options.shard_selector,
            )
            end = watch_filter.bookmark_for(marker(at))
            return itertools.chain((rendering.added_line(e) for e in events), (end,)), at

        return await self._stream(request, read, watch_filter, start)

    async def _watch_list_listed(
        self, request: web.Request, read: ReadRequest
    ) -> web.StreamResponse:
        """A consistent WatchList the cache did not catch up with in time
        (upstream's RV moved with other resources' writes, or the cache is
        resyncing): its initial events from a consistent LIST upstream,
        then the cache's events after that LIST's RV, those the cache
        already holds replayed from its history first. Not forwarded: an
        upstream before 1.27 (1.20) has no WatchList and refuses the
        request, and a tier above would find itself in the same place.
        Events at or below the LIST's RV that reach the cache later are
        skipped, since the LIST holds them."""
        resource, options, rendering = read.resource, read.options, read.rendering
        labels = request.query.get("labelSelector", "")
        query = {"labelSelector": labels} if labels else {}
        try:
            entries, listed = await resource.reflector.list_upstream(query)
        except UpstreamError:
            return _status(read, _unreachable(resource, "watch"))
        cache = resource.cache
        watch_filter = rendering.watch_filter(read.namespace, options)
        chosen = [
            e for e in entries if watch_filter.matches(e.namespace, e.labels, e.fields, e.uid)
        ]
        try:
            cache.since(listed)  # 410 now, before the stream starts, if history is past it
        except TooOldResourceVersion as err:
            return await _error_stream(request, read, err)
        marker = bookmarks_for(resource.info, initial_events_end=True)

        def start() -> tuple[Iterable[bytes], int]:
            after = cache.since(listed) if cache.rv > listed else []
            lines = itertools.chain(
                (rendering.added_line(Event(ADDED, e, None, e.rv)) for e in chosen),
                (watch_filter.bookmark_for(marker(listed)),),
                _replayed(after, watch_filter),
            )
            return lines, max(listed, cache.rv)

        return await self._stream(request, read, watch_filter, start)

    async def _stream(
        self,
        request: web.Request,
        read: ReadRequest,
        watch_filter: WatchFilter,
        start: Callable[[], tuple[Iterable[bytes], int]],
    ) -> web.StreamResponse:
        seconds = float(read.options.timeout_seconds or 0) or self._rng.uniform(
            MIN_REQUEST_TIMEOUT, 2 * MIN_REQUEST_TIMEOUT
        )
        return await serve_watch(
            request,
            read.resource.registry,
            watch_filter,
            start,
            bookmarks=read.options.allow_watch_bookmarks,
            duration=seconds,
            headers=_headers(read.rendering, watch=True),
            started=request[_TICKET].keep_until_closed,
            windowed=not _from_watchcache(request),
        )


def _from_watchcache(request: web.BaseRequest) -> bool:
    """The request is another watchcache's (a tier below, a worker, an
    informer: the upstream client's User-Agent). Its watches are written
    without the write window: the tier below holds its own clients'
    writes, and one window on a path is enough."""
    return request.headers.get("User-Agent", "").startswith(WATCHCACHE_AGENT)


def _named_watch(options: ListOptions, name: str) -> ListOptions | ApiError:
    """The watch of one object by its legacy path (``/api/v1/watch/
    namespaces/NS/pods/NAME``), as kube-apiserver 1.20 turns it into a
    watch of its collection: with ``fieldSelector=metadata.name=NAME`` when
    the client gave none; a fieldSelector of its own must require exactly
    that name (and is then kept whole), else 400 (both seen on v1.20.2).

    ``.../pods/NAME?watch=1`` is not this: 1.20 routes it to GET and
    answers the object, so it is forwarded. kubectl's ``get NAME -w`` sends
    neither: it GETs the object, then watches the collection with
    ``fieldSelector=metadata.name=NAME&resourceVersion=0`` (seen with
    kubectl 1.20 and a newer one, ``-v=6``)."""
    fields = options.field_selector
    if fields.empty:
        return replace(
            options, field_selector=FieldSelector((FieldTerm("metadata.name", True, name),))
        )
    if fields.exact("metadata.name") != name:
        return bad_request("fieldSelector metadata.name doesn't match requested name")
    return options


def _before_sync(info: RequestInfo, query: Mapping[str, str]) -> ApiError | None:
    """Before the cache's first sync: 429 for a LIST or WATCH (1.34+), as
    kube-apiserver's cache answers; None (forward) for a GET, and for an
    unselected LIST with a limit, which kube-apiserver reads from etcd."""
    if info.verb == "get":
        return None
    selected = any(name in query for name in _SELECTORS)
    if info.verb == "list" and "limit" in query and not selected:
        return None
    return too_many_requests("the watch cache is not initialized yet", 1)


class _Outage(Exception):
    """A consistent read while serving stale through an upstream outage."""


def _unreachable(resource: CachedResource, operation: str) -> ApiError:
    """kube-apiserver's answer to a read its storage cannot serve now."""
    gvr = resource.info.gvr
    return server_timeout(gvr.resource, gvr.group, operation)


def _status(read: ReadRequest, error: ApiError) -> web.Response:
    """An error to a read, as kube-apiserver writes it in the read's
    rendering (a protobuf client gets a protobuf Status)."""
    body = read.rendering.status_body(error)
    if body is None:
        return status_response(error)
    headers = _headers(read.rendering)
    if error.retry_after is not None:
        headers["Retry-After"] = str(error.retry_after)
    return web.Response(status=error.code, body=body, headers=headers)


def _headers(rendering: Rendering, *, watch: bool = False) -> dict[str, str]:
    content_type = rendering.watch_content_type if watch else rendering.content_type
    return {"Content-Type": content_type, "Cache-Control": "no-cache, private"}


def _replayed(events: list[Event], watch_filter: WatchFilter) -> Iterator[bytes]:
    for event in events:
        line = watch_filter.line_for(event)
        if line is not None:
            yield line


async def _error_stream(
    request: web.Request, read: ReadRequest, error: ApiError
) -> web.StreamResponse:
    """A watch that fails after it was accepted: one ERROR event, then the end."""
    response = web.StreamResponse(headers=_headers(read.rendering, watch=True))
    await response.prepare(request)
    await response.write(read.rendering.error_line(error))
    await response.write_eof()
    return response


async def _write_list(
    request: web.Request, read: ReadRequest, page: ListPage, compression: Compression
) -> web.StreamResponse:
    rendering = await read.rendering.settle(page.items, read.options.shard_selector)
    head = rendering.list_head(read.resource.info, page, read.options.shard_selector)
    response = web.StreamResponse(headers=_headers(rendering))
    body = compression.body(request, response)
    await _write_list_pieces(body.write, rendering, head, page.items)
    await body.finish()
    return response


async def _write_list_pieces(
    write: Callable[[bytes], Awaitable[None]],
    rendering: Rendering,
    head: bytes,
    items: Sequence[Entry],
) -> None:
    """The list from ``head`` to its tail, handed to ``write`` (the
    response's body, compressed or not) in pieces of at most
    ``LIST_WRITE_BYTES`` (see there)."""
    parts: list[bytes | memoryview] = [head]
    size = len(head)
    for start in range(0, len(items), LIST_BATCH):
        batch = rendering.list_items(items[start : start + LIST_BATCH], first=start == 0)
        batch_size = sum(map(len, batch))
        if parts and size + batch_size > LIST_WRITE_BYTES:
            await write(b"".join(parts))
            parts, size = [], 0
        parts += batch
        size += batch_size
    parts.append(rendering.list_tail)
    await write(b"".join(parts))
