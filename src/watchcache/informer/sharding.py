"""Sharded informers (KEP-5866): N replicas of a controller, each holding
and hearing only its share of a resource's objects.

Glossary:
    shard selector  ``shardRange(object.metadata.uid, '0x0000000000000000', '0x8000000000000000')``,
                    several joined by ``||``: half-open ranges of the 64-bit
                    FNV-1a hash of the field's value (``[lo, hi)``, ``hi`` up
                    to ``0x10000000000000000``), over ``object.metadata.uid``
                    or ``object.metadata.namespace``. The query parameter
                    ``shardSelector`` of LIST and WATCH (an alpha feature,
                    ShardedListAndWatch)
    share           the objects whose hash falls in one of the ranges

An informer with ``shard=`` sends the selector upstream, so a server that
supports it sends only the share, and also keeps only the share itself: a
server that ignores the parameter (any before the feature, kube-apiserver
1.20 included) still yields a sharded informer, at the cost of the traffic.
Membership never changes for one object (uid and namespace are immutable),
so dropping everything outside the share drops no transition.

Parsing and hashing are ``watchcache.api.shardselector``'s, the same the
proxy serves ``shardSelector`` with: strict, as kube-apiserver's parser.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import msgspec

from watchcache.api.listoptions import INITIAL_EVENTS_END
from watchcache.api.shardselector import ShardSelector, even_shards
from watchcache.upstream import WatchStream

__all__ = ["ShardSelector", "ShardedWatch", "even_shards", "filter_page"]

# -- filtering what a server that ignores the selector sends -------------------


class _Meta(msgspec.Struct):
    uid: str = ""
    namespace: str = ""
    resourceVersion: str = ""
    annotations: dict[str, str] | None = None


class _Object(msgspec.Struct):
    metadata: _Meta = msgspec.field(default_factory=_Meta)


class _Line(msgspec.Struct):
    type: str
    object: _Object


class _Page(msgspec.Struct, omit_defaults=True):
    kind: str = ""
    apiVersion: str = ""
    metadata: msgspec.Raw = msgspec.Raw(b"{}")
    items: list[msgspec.Raw] = []


_object_decoder = msgspec.json.Decoder(_Object)
_line_decoder = msgspec.json.Decoder(_Line)
_page_decoder = msgspec.json.Decoder(_Page)
_CHANGES = frozenset(("ADDED", "MODIFIED", "DELETED"))


class ShardedWatch:
    """A watch stream passing on only the share's changes. Outside the
    initial events, a change outside the share becomes a BOOKMARK at its RV,
    so the informer's RV still advances and a reconnect resumes from where
    the stream was, not from the share's last change (which might be
    compacted away on a busy resource). During a WatchList's initial events
    it is dropped: a bookmark there would end them early."""

    def __init__(self, stream: WatchStream, selector: ShardSelector, *, initial: bool) -> None:
        self._stream = stream
        self._selector = selector
        self._initial = initial
        # One iteration however often asked for, as WatchStream's.
        self._iteration: AsyncIterator[bytes] | None = None

    async def __aenter__(self) -> ShardedWatch:
        await self._stream.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._stream.close()

    def close(self) -> None:
        self._stream.close()

    @property
    def lines(self) -> int:
        """Lines upstream sent, kept or not: the reflector judges a watch's
        end by them (an empty watch that ended at once is a failure)."""
        return self._stream.lines

    def __aiter__(self) -> AsyncIterator[bytes]:
        if self._iteration is None:
            self._iteration = self._lines()
        return self._iteration

    async def _lines(self) -> AsyncIterator[bytes]:
        async for line in self._stream:
            decoded = _line_decoder.decode(line)
            meta = decoded.object.metadata
            if decoded.type not in _CHANGES:
                if self._initial and (meta.annotations or {}).get(INITIAL_EVENTS_END) == "true":
                    self._initial = False
                yield line
            elif self._selector.matches(meta.uid, meta.namespace):
                yield line
            elif not self._initial and meta.resourceVersion:
                yield _BOOKMARK % meta.resourceVersion.encode()


_BOOKMARK = b'{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"%s"}}}'


def filter_page(selector: ShardSelector, body: bytes) -> bytes:
    """A LIST body with only the share's items (the items' bytes untouched)."""
    page = _page_decoder.decode(body)
    kept = []
    for item in page.items:
        meta = _object_decoder.decode(item).metadata
        if selector.matches(meta.uid, meta.namespace):
            kept.append(item)
    page.items = kept
    return msgspec.json.encode(page)
