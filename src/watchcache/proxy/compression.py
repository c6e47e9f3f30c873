"""gzip for large answers from the cache, as kube-apiserver compresses them.

Glossary:
    accepts gzip  the request's Accept-Encoding names the token ``gzip``:
                  kube-apiserver splits the header at commas, trims spaces
                  and compares each token whole, so ``gzip;q=0.5`` (and
                  ``*``) do not count. Go clients send ``gzip`` always;
                  kubectl does, client-go does, aiohttp and requests do
    threshold     128 KiB: an answer whose body is larger than this is
                  compressed, a smaller one (or one exactly this size) is
                  not
    codec         what deflates: ISA-L's (the ``isal`` package, Intel's
                  igzip: the same gzip format, made with SIMD) at its level
                  1, or zlib's (``codec="zlib"``, for comparison).
                  kube-apiserver 1.20 used Go's level 4 (its answer to a
                  large LIST is byte for byte Go's gzip at level 4 of the
                  same JSON, and no other level's); later releases use 1
                  (kubernetes issue 112296: the least CPU for nearly the
                  same size)
    level         the codec's level: 1
                  benchmarks/bench_compression.py, a LIST of 10,000 pods
                  (58 MB of JSON, contents varied as real pods' are), the
                  proxy's CPU per LIST against 100 ms plain: zlib level 1,
                  10.0 times smaller for 240 ms (2.4x); zlib level 4, 12.8
                  times for 360 ms; zlib level 6 (its default), 14.4 times
                  for 440 ms. A client's gunzip costs it ~120 ms. ISA-L:
                  see ``GZIP_CODEC``
    body writer   ``BodyWriter``: what the read path writes a streamed LIST
                  through; it decides once whether the answer is gzip

Which answers (kube-apiserver's responsewriters.SerializeObject, APIResponseCompression, on
by default since 1.16): a GET's object and a LIST, in every rendering
(JSON, PartialObjectMetadata, protobuf, Table). Never a watch, whose
events go out as they happen (kube-apiserver's watch server writes past
the compressing writer); never an error Status (a few hundred bytes).
Compressed answers carry ``Content-Encoding: gzip`` and ``Vary:
Accept-Encoding``; the Content-Type is unchanged.

A streamed LIST is compressed while it streams: its first bytes are held
until more than the threshold has been written (then it is gzip) or the
list ended (then it goes out as it was), so the decision is made once, on
the answer's size, as kube-apiserver makes it on its whole body. Held at
most: the threshold plus the one write that crossed it (a piece of
``reads.LIST_WRITE_BYTES``). Once gzip, each piece is compressed on the
event loop (ISA-L takes ~0.1 ms for a 64 KiB piece: less than a thread
hop costs); a write larger than ``_INLINE_BYTES`` on a worker thread
(the codec leaves the GIL while it works), so other requests go on being
answered.

Not here: forwarded answers keep upstream's encoding. The forwarder passes
the client's Accept-Encoding upstream and the still-encoded body back
(forward.py), so kube-apiserver's gzip reaches the client as it was made
and nothing is compressed twice. The exception is a forwarded LIST with a
shardSelector: upstream is asked for it uncompressed, and its share is
written here as a page of the cache, so by these rules (shareforward.py).

``--response-compression=false`` turns this off, for a sidecar on
loopback where the bytes cost nothing and the CPU does.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from aiohttp import web
from isal import isal_zlib

__all__ = [
    "GZIP_CODEC",
    "GZIP_LARGE",
    "GZIP_LEVEL",
    "GZIP_THRESHOLD",
    "BodyWriter",
    "Compression",
    "accepts_gzip",
]

# kube-apiserver's defaultGzipThresholdBytes.
GZIP_THRESHOLD = 128 * 1024
GZIP_LEVEL = 1
# ISA-L, not zlib: bench_write_path.py, a LIST of 10,000 pods (73 MB) at
# RV=0 over TLS, the proxy's CPU per LIST ... (bench_compression.py: ...).
GZIP_CODEC = "isal"
# Window bits for a gzip header and trailer (16 + the 32 KiB window).
_GZIP_WBITS = 16 + zlib.MAX_WBITS
# Writes up to this size are compressed on the event loop: a thread hop
# costs more than they do (a streamed LIST's pieces are 64 KiB).
_INLINE_BYTES = 256 * 1024


class _Compressor(Protocol):
    def compress(self, data: bytes, /) -> bytes: ...
    def flush(self, mode: int = ..., /) -> bytes: ...


def _compressor(codec: str, level: int) -> _Compressor:
    """A gzip stream's compressor (module glossary: codec)."""
    if codec == "isal":
        return isal_zlib.compressobj(level, isal_zlib.DEFLATED, _GZIP_WBITS)
    return zlib.compressobj(level, zlib.DEFLATED, _GZIP_WBITS)


def accepts_gzip(headers: Mapping[str, str]) -> bool:
    """Whether Accept-Encoding names ``gzip`` (module glossary)."""
    encodings = headers.get("Accept-Encoding", "")
    return any(token.strip() == "gzip" for token in encodings.split(","))


@dataclass(frozen=True)
class Compression:
    """The proxy's setting: whether large answers from the cache are gzip."""

    enabled: bool = True
    threshold: int = GZIP_THRESHOLD
    level: int = GZIP_LEVEL
    codec: str = GZIP_CODEC

    def wanted(self, request: web.BaseRequest) -> bool:
        """This request's large answers are to be compressed."""
        return self.enabled and accepts_gzip(request.headers)

    def body(self, request: web.Request, response: web.StreamResponse) -> BodyWriter:
        """A writer for ``response``'s streamed body (not yet prepared)."""
        return BodyWriter(request, response, self if self.wanted(request) else None)

    def whole(
        self, request: web.BaseRequest, body: bytes, headers: dict[str, str]
    ) -> tuple[bytes, dict[str, str]]:
        """A whole body and its headers, gzip if the rules say so."""
        if len(body) <= self.threshold or not self.wanted(request):
            return body, headers
        compressor = _compressor(self.codec, self.level)
        return compressor.compress(body) + compressor.flush(), {**headers, **_GZIP_HEADERS}


_GZIP_HEADERS = {"Content-Encoding": "gzip", "Vary": "Accept-Encoding"}
# The default: kube-apiserver's rules.
GZIP_LARGE = Compression()


class BodyWriter:
    """Writes one streamed answer, gzip once it proves large (module
    docstring). ``write`` as often as needed, then ``finish``: the
    response is prepared on the first write that decides its encoding
    (for an uncompressed request, the first write)."""

    def __init__(
        self, request: web.Request, response: web.StreamResponse, gzip: Compression | None
    ) -> None:
        self._request = request
        self.response = response
        self._gzip = gzip
        # Bytes held while the encoding is undecided; empty once decided.
        self._held: list[bytes] = []
        self._held_bytes = 0
        self._compressor: _Compressor | None = None
        # Bytes of the body before and after compression, for tests and
        # benchmarks.
        self.raw_bytes = 0
        self.sent_bytes = 0

    def __repr__(self) -> str:
        state = "gzip" if self._compressor else "held" if self._held else "plain"
        return f"<BodyWriter {state} raw={self.raw_bytes} sent={self.sent_bytes}>"

    @property
    def compressed(self) -> bool:
        return self._compressor is not None

    async def write(self, data: bytes) -> None:
        self.raw_bytes += len(data)
        if self._compressor is not None:
            await self._send(await self._compress(data))
        elif self._gzip is None or self.response.prepared:
            await self._send(data)
        else:
            self._held.append(data)
            self._held_bytes += len(data)
            if self._held_bytes > self._gzip.threshold:
                await self._start_gzip()

    async def finish(self) -> None:
        """The rest of the body, and the end of the response."""
        if self._compressor is not None:
            await self._send(self._compressor.flush())
        elif self._held:
            # Never larger than the threshold: the answer goes out as it is.
            held, self._held = b"".join(self._held), []
            await self._send(held)
        elif not self.response.prepared:
            await self.response.prepare(self._request)
        await self.response.write_eof()

    async def _start_gzip(self) -> None:
        assert self._gzip is not None
        self._compressor = _compressor(self._gzip.codec, self._gzip.level)
        self.response.headers.update(_GZIP_HEADERS)
        held, self._held, self._held_bytes = b"".join(self._held), [], 0
        await self._send(await self._compress(held))

    async def _compress(self, data: bytes) -> bytes:
        compressor = self._compressor
        assert compressor is not None
        if len(data) <= _INLINE_BYTES:
            return compressor.compress(data)
        return await asyncio.to_thread(compressor.compress, data)

    async def _send(self, data: bytes) -> None:
        if not self.response.prepared:
            await self.response.prepare(self._request)
        if data:
            self.sent_bytes += len(data)
            await self.response.write(data)
