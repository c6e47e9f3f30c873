"""Forwarded LISTs with a shardSelector: upstream's answer, cut to the share.

A sharded LIST of a cached resource that the cache cannot answer (an exact
or continued LIST its history no longer covers, an rv -1 continue token, a
consistent LIST whose cache does not reach the probed RV in time: the
cases of docs/reads.md "Forwarded, and why") still goes upstream; but a
kube-apiserver before 1.36 ignores ``shardSelector`` and sends the whole.
So the proxy asks upstream itself and answers only the share, whatever
upstream's version, in the same form the cache path writes.

Glossary:
    share      the objects the read's ShardSelector matches
               (watchcache.api.shardselector, the cache's own filter)
    page       one LIST answer from upstream, of at most ``FORWARD_PAGE``
               items
    asking     ``Ask``: upstream's answer to the client's request with
               another query and some headers set (Forwarder.asking: the
               same requester, the same departure handling)

What is asked: the client's path and query (shardSelector included, for a
1.36+ upstream to apply too; applying it twice changes nothing), in JSON
(``Accept: application/json``) and uncompressed (``Accept-Encoding:
identity``) whatever the client accepts: the items are decoded as the
cache decodes upstream's objects (``Cache.decode``) and written by the
read's rendering as a page of the cache is (JSON, metadata-only, Table;
protobuf falls back to JSON for a sharded list, as on the cache path), and
gzip by the proxy's own rules (compression.py) for a client that accepts
it. ``limit`` is set to at most ``FORWARD_PAGE``.

What is answered:
    200        the share of upstream's items, in upstream's order;
               upstream's resourceVersion and continue token (the client
               continues with it and the same shardSelector; that page is
               then read from the cache or forwarded again, filtered
               either way); ``shardInfo.selector`` echoed, as the cache
               path does; no ``remainingItemCount``: upstream counted the
               whole, not the share, and kube-apiserver leaves it out of
               any list with a selector (1.36 treats the shard selector as
               one), so a count of the share is never promised. A page may
               hold fewer than ``limit`` items (even none) and still
               continue: the API allows it
    not 200    upstream's status and body as they are (a Status)
    503        upstream failed while its page was read (nothing was sent
               to the client yet)

Bounds: each page is read whole, at most ``MAX_PAGE_BYTES`` (more: 503,
the connection dropped), so memory follows the page, not the resource.
A LIST with a ``limit`` is one page of ``min(limit, FORWARD_PAGE)``: a
client's page larger than that continues sooner. A LIST without one
(the client wants the whole share at once) is asked page by page, each
continuing at the first page's RV as a client-go pager does, and the
share's entries kept until the last page: at most the share of a resource
the proxy holds whole in its cache anyway. A later page's failure (410
when etcd compacted that RV meanwhile) is answered as it is, as nothing
was sent yet.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager

import msgspec
from aiohttp import web

from watchcache.api.continuetoken import decode_continue, encode_continue
from watchcache.api.shardselector import ShardSelector
from watchcache.api.status import ApiError, service_unavailable
from watchcache.cache.cache import Cache, ListPage
from watchcache.cache.entry import Entry, MalformedObject, parse_resource_version
from watchcache.cache.reflector import ListBody
from watchcache.proxy.context import status_response
from watchcache.upstream import ForwardResponse, UpstreamError

__all__ = ["FORWARD_PAGE", "MAX_PAGE_BYTES", "Ask", "shared_page"]

Ask = Callable[
    [web.Request, Mapping[str, str], Mapping[str, str]],
    AbstractAsyncContextManager[ForwardResponse | web.StreamResponse],
]

# Items per upstream page: client-go's pager asks 500; half that keeps a
# page of large objects (etcd allows 1.5 MiB each) within MAX_PAGE_BYTES.
FORWARD_PAGE = 250
# One page's bytes at most: FORWARD_PAGE objects of about 1.5 MiB.
MAX_PAGE_BYTES = 384 * 1024 * 1024
# An error body is a Status of a few hundred bytes.
MAX_STATUS_BYTES = 1024 * 1024
# Asked in JSON, uncompressed: the items are decoded here.
_ASKED = {"Accept": "application/json", "Accept-Encoding": "identity"}
# kube-apiserver refuses these beside a continue token.
_NOT_WITH_CONTINUE = ("resourceVersion", "resourceVersionMatch")


_decoder = msgspec.json.Decoder(ListBody)


async def shared_page(
    request: web.Request,
    ask: Ask,
    cache: Cache,
    shard: ShardSelector,
    limit: int,
) -> ListPage | web.StreamResponse:
    """The share of what upstream answers this LIST (``limit``: the
    client's, 0 for none), as a page for the read's rendering to write; or
    the response to send instead (module docstring)."""
    query = dict(request.query)
    query["limit"] = str(min(limit, FORWARD_PAGE) if limit else FORWARD_PAGE)
    items: list[Entry] = []
    rv: int | None = None
    while True:
        page = await _page(request, ask, cache, shard, query)
        if isinstance(page, web.StreamResponse):
            return page
        items += page.items
        rv = page.rv if rv is None else rv
        if limit or page.continue_after is None:
            return ListPage(items, rv, page.continue_after, None)
        query = {k: v for k, v in query.items() if k not in _NOT_WITH_CONTINUE}
        query["continue"] = encode_continue(page.rv, page.continue_after)


async def _page(
    request: web.Request,
    ask: Ask,
    cache: Cache,
    shard: ShardSelector,
    query: Mapping[str, str],
) -> ListPage | web.StreamResponse:
    async with ask(request, query, _ASKED) as answer:
        if isinstance(answer, web.StreamResponse):
            return answer
        try:
            if answer.status != 200:
                return await _as_it_is(answer)
            body = await answer.read(MAX_PAGE_BYTES)
        except UpstreamError as err:
            return status_response(service_unavailable(f"the upstream failed: {err}", 1))
    try:
        return _shared(body, cache, shard)
    except (msgspec.DecodeError, MalformedObject, ApiError, ValueError) as err:
        # Not a list as kube-apiserver writes one.
        message = f"the upstream's list cannot be read: {err}"
        return status_response(service_unavailable(message, 1))


async def _as_it_is(answer: ForwardResponse) -> web.Response:
    body = await answer.read(MAX_STATUS_BYTES)
    headers = {
        k: v for k, v in answer.headers.items() if k.lower() not in ("content-length", "date")
    }
    return web.Response(status=answer.status, reason=answer.reason, body=body, headers=headers)


def _shared(body: bytes, cache: Cache, shard: ShardSelector) -> ListPage:
    """One upstream page, cut to the share. Its continue token is kept as
    the key it continues after: kube-apiserver's tokens are written from
    that key and the list's RV byte for byte (continuetoken.py), so the
    rendering writes upstream's token again."""
    listed = _decoder.decode(body)
    rv = parse_resource_version(listed.metadata.resourceVersion, body)
    entries = (cache.decode(bytes(item)) for item in listed.items)
    items = [entry for entry in entries if shard.matches(entry.uid, entry.namespace)]
    after = None
    token = listed.metadata.continue_
    if token:
        start = decode_continue(token).start
        after = start[:-1]
        if encode_continue(rv, after) != token:
            raise ValueError(f"a continue token not written at the list's RV {rv}: {token}")
    return ListPage(items, rv, after, None)
