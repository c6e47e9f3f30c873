"""The one HTTP client that talks to upstream, and the one place its errors
are mapped.

Glossary:
    request     a call this client makes: ``get`` (whole body, e.g. a LIST
                page), ``watch`` (a stream of lines) or ``forward`` (any
                method, body streamed both ways, for the proxy).
    line        one watch event as upstream sent it: the bytes between two
                newlines, never decoded here.
    mapped      every aiohttp, ssl, OS and timeout exception raised while a
                request or its body is in progress leaves this module as
                one of ``watchcache.upstream.errors``; nothing else does.

Invariants:
    A non-2xx answer to ``get`` or ``watch`` raises StatusError carrying
    upstream's Status (or one synthesised from the code when the body is
    not a Status), with ``retry_after`` from the Retry-After header.
    ``forward`` never raises for a status: the proxy passes it on.
    After a 401, the credential source is told; a request whose body can
    be sent again (none, or bytes) is retried once with the new credential
    (an exec plugin re-run, a token file re-read).
    Every body read is bounded: ``max_body_bytes`` for ``get``,
    ``max_error_bytes`` for an error Status, ``max_line_bytes`` per watch
    line. Past a bound the request fails with ProtocolError and its
    connection is closed, never kept half-read.
    Connections are pooled in two pools that never lend to each other:
    ``pool_limit`` for short requests (a GET, a write, a forwarded LIST)
    and ``stream_limit`` for streams (``watch``, and ``forward`` with
    ``stream=True``: a forwarded watch or followed log), each held for as
    long as the stream lasts. So no number of open streams can keep a
    short request from a connection. A request waits for a free
    connection of its pool when all are busy, within ``pool_timeout``
    (then UpstreamTimeoutError). Idle connections are kept alive
    ``keepalive_seconds``. aiohttp sets TCP_NODELAY on every connection
    (base_protocol.connection_made), so small writes are not delayed.

Why two HTTP/1.1 pools and not one HTTP/2 connection multiplexing every
stream (as client-go does over TLS), measured against kube-apiserver 1.20
(which offers h2 over TLS) with httpx 0.29 + httpcore 1.0.9 + h2 4.4, N
watches of one namespace's configmaps, 20 events each:
    - httpcore caps one HTTP/2 connection at 100 streams (its own
      SETTINGS_MAX_CONCURRENT_STREAMS) and queues further requests on it
      rather than opening a second connection: 150 watches never all
      opened (nothing in 60 s), the 101st waiting for one of the first 100
      to end: the very starvation the separate stream pool removes.
    - below that, one connection instead of N sockets, but about twice
      the client CPU per delivered event (100 watches: 89 us with h2
      against 48 us with aiohttp; 50: 95 against 63), pure-Python framing
      on the relay path of every forwarded event.
    - aiohttp's client speaks HTTP/1.1 only, and not every upstream is
      kube-apiserver over TLS: the embedded simulator and a read tier of
      watchcaches (aiohttp servers) speak cleartext HTTP/1.1 only, so this
      path and its pools are needed in any case; an HTTP/2 client would be
      a second client stack, with a second set of exceptions to map here
      and the per-credential TLS contexts (exec plugins, rotating client
      certificates) to carry over.
An upstream stream is one socket here, and one connection on
kube-apiserver's side (Go serves it as it serves any client's): that is
what ``stream_limit`` bounds.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterable, AsyncIterator, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import aiohttp
import msgspec
from multidict import CIMultiDict, CIMultiDictProxy

from watchcache.api.status import ApiError
from watchcache.upstream.config import UpstreamConfig
from watchcache.upstream.credentials import Credential
from watchcache.upstream.errors import (
    DisconnectedError,
    ProtocolError,
    StatusError,
    TLSError,
    UnreachableError,
    UpstreamError,
    UpstreamTimeoutError,
)
from watchcache.upstream.tls import TLSContexts

__all__ = [
    "WATCHCACHE_AGENT",
    "ClientOptions",
    "ForwardResponse",
    "LineSplitter",
    "Response",
    "UpstreamClient",
    "WatchStream",
]

Query = Mapping[str, str]
Body = bytes | AsyncIterable[bytes] | None

# The User-Agent of watchcache's own requests upstream (its caches' lists
# and watches): a proxy above recognises a tier below by it (reads.py).
WATCHCACHE_AGENT = "watchcache"

# Headers that describe one hop, not the message (RFC 9110 7.6.1), plus the
# ones aiohttp sets itself for the upstream hop.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)


@dataclass(frozen=True)
class ClientOptions:
    # Opening a TCP connection (and its TLS handshake).
    connect_timeout: float = 10.0
    # Waiting for a pooled connection when all ``pool_limit`` are busy,
    # connecting included; past it the request fails with
    # UpstreamTimeoutError rather than queueing without end.
    pool_timeout: float = 30.0
    # A whole get (headers and body). A 5,000-item LIST page from a busy
    # apiserver takes seconds; a minute is kube-apiserver's own default
    # request timeout.
    request_timeout: float = 60.0
    # Silence allowed on a watch. None: watches are quiet for minutes when
    # nothing changes and bookmarks were not asked for; the watch's own
    # timeoutSeconds ends it.
    watch_read_timeout: float | None = None
    # Short requests in flight at once (HTTP/1.1: one connection each).
    # Streams have their own pool (``stream_limit``), so this bounds only
    # requests that end by themselves.
    pool_limit: int = 100
    # Streams open at once (a watch holds its connection for as long as it
    # lasts): one socket each here and one on the upstream's side, so this
    # also bounds the descriptors streams take. Past it a new stream waits
    # for one to end, within ``pool_timeout``, then fails with
    # UpstreamTimeoutError (a forwarded watch: 504, and its client retries).
    stream_limit: int = 10_000
    keepalive_seconds: float = 30.0
    # A LIST page is limit x object size; 512 MiB holds 50,000 10 KiB pods
    # unpaginated. Paginate above that.
    max_body_bytes: int = 512 << 20
    max_error_bytes: int = 64 << 10
    # One watch event is one object; etcd refuses values over 1.5 MiB by
    # default and JSON of a protobuf-stored object can be a few times that.
    max_line_bytes: int = 16 << 20
    user_agent: str = WATCHCACHE_AGENT


NO_TIMEOUT = aiohttp.ClientTimeout()
_FORWARD_SKIPS = ("Accept", "Accept-Encoding", "Content-Type")


@dataclass(frozen=True)
class _Request:
    method: str
    path: str
    params: Query | None = None
    headers: CIMultiDict[str] | None = None
    body: Body = None
    client_timeout: aiohttp.ClientTimeout = NO_TIMEOUT
    # False for forwarding: the body goes on still encoded, as upstream sent it.
    decompress: bool = True
    use_credentials: bool = True
    # A stream (a watch, a followed log): taken from the stream pool.
    stream: bool = False


@dataclass(frozen=True)
class Response:
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes

    def __repr__(self) -> str:
        return f"<Response {self.status} {len(self.body)} bytes>"

    def json(self) -> Any:
        try:
            return msgspec.json.decode(self.body)
        except msgspec.DecodeError as err:
            raise ProtocolError(f"upstream sent invalid JSON: {err}") from err


class UpstreamClient:
    """Requests to one upstream kube-apiserver. Use as an async context
    manager, or call ``close()``. A session passed in is the caller's to
    close; one made here is closed by ``close()``."""

    def __init__(
        self,
        config: UpstreamConfig,
        *,
        session: aiohttp.ClientSession | None = None,
        options: ClientOptions | None = None,
    ) -> None:
        self.config = config
        self.options = options or ClientOptions()
        self._tls = TLSContexts(config.tls)
        self._https = config.server.startswith("https:")
        self._own_session = session is None
        self._session = session or self._new_session(self.options.pool_limit)
        # A session passed in serves streams too: its owner sized its pool.
        self._streams = self._new_session(self.options.stream_limit) if session is None else session
        self.requests = 0
        self.retried_401 = 0

    def __repr__(self) -> str:
        return (
            f"<UpstreamClient {self.config.server} from {self.config.origin} "
            f"requests={self.requests} retried_401={self.retried_401} "
            f"pool={self.options.pool_limit} streams={self.options.stream_limit} "
            f"closed={self._session.closed}>"
        )

    def _new_session(self, limit: int) -> aiohttp.ClientSession:
        connector: aiohttp.BaseConnector
        if self.config.unix_socket is not None:
            connector = aiohttp.UnixConnector(
                self.config.unix_socket,
                limit=limit,
                keepalive_timeout=self.options.keepalive_seconds,
            )
        else:
            connector = aiohttp.TCPConnector(
                limit=limit,
                keepalive_timeout=self.options.keepalive_seconds,
            )
        return aiohttp.ClientSession(
            connector=connector,
            headers={"User-Agent": self.options.user_agent},
            # Kube answers redirects only for misconfigured servers; a
            # forwarded request must come back as it was answered.
            requote_redirect_url=False,
        )

    async def __aenter__(self) -> UpstreamClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._own_session:
            await self._session.close()
            await self._streams.close()

    async def get(
        self, path: str, params: Query | None = None, *, headers: Mapping[str, str] | None = None
    ) -> Response:
        """GET ``path``; the whole body, or StatusError for a non-2xx.
        ``headers`` are added (e.g. an Accept asking for metadata only)."""
        timeout = self._timeout(total=self.options.request_timeout)
        extra = CIMultiDict(headers) if headers else None
        with _mapped(f"GET {path}"):
            resp = await self._send(_Request("GET", path, params, extra, client_timeout=timeout))
            async with resp:
                await _raise_for_status(resp, self.options.max_error_bytes)
                body = await _read_bounded(resp, self.options.max_body_bytes)
                return Response(resp.status, resp.headers, body)

    async def request(
        self,
        method: str,
        path: str,
        params: Query | None = None,
        *,
        body: bytes | None = None,
        content_type: str = "application/json",
    ) -> Response:
        """One request with a JSON (or patch) body: a controller's writes.
        The whole answer, or StatusError for a non-2xx."""
        timeout = self._timeout(total=self.options.request_timeout)
        headers = CIMultiDict({"Accept": "application/json"})
        if body is not None:
            headers["Content-Type"] = content_type
        with _mapped(f"{method} {path}"):
            resp = await self._send(
                _Request(method, path, params, headers, body, client_timeout=timeout)
            )
            async with resp:
                await _raise_for_status(resp, self.options.max_error_bytes)
                data = await _read_bounded(resp, self.options.max_body_bytes)
                return Response(resp.status, resp.headers, data)

    async def list(self, path: str, params: Query | None = None) -> Any:
        """GET a LIST and decode it: the list object as Python data."""
        return (await self.get(path, params)).json()

    def watch(
        self, path: str, params: Query | None = None, *, headers: Mapping[str, str] | None = None
    ) -> WatchStream:
        """A watch of ``path`` (``watch=true`` is added). Open it with
        ``async with``; iterate the lines inside."""
        query = {**(params or {}), "watch": "true"}
        return WatchStream(self, path, query, headers)

    async def forward(
        self,
        method: str,
        path: str,
        query: Query | None = None,
        headers: Mapping[str, str] | None = None,
        body: Body = None,
        *,
        use_credentials: bool = True,
        stream: bool = False,
    ) -> ForwardResponse:
        """Send any request as it came, for the proxy, and hand back the
        answer unread: status, headers, and the raw (still encoded) body.
        Hop-by-hop headers are dropped both ways. There is no total timeout
        (the request may be a watch): the caller bounds it. With
        ``use_credentials=False`` our own token and client certificate are
        not sent, so the caller's Authorization header decides who it is.
        ``stream=True`` (a watch, a followed log) takes a connection from
        the stream pool. The answer must be released (``async with``,
        ``release()``, or ``close()`` to drop a stream midway)."""
        timeout = self._timeout(sock_read=self.options.watch_read_timeout)
        sent = CIMultiDict(
            (k, v) for k, v in (headers or {}).items() if k.lower() not in HOP_BY_HOP
        )
        with _mapped(f"{method} {path}"):
            resp = await self._send(
                _Request(
                    method,
                    path,
                    query,
                    sent,
                    body,
                    client_timeout=timeout,
                    decompress=False,
                    use_credentials=use_credentials,
                    stream=stream,
                )
            )
        return ForwardResponse(resp)

    async def _send(self, request: _Request) -> aiohttp.ClientResponse:
        """One request, retried once after a 401 when the credential may
        have changed and the body can be sent again."""
        credential = await self._credential(request.use_credentials)
        resp = await self._send_once(request, credential)
        if resp.status != 401 or not request.use_credentials or not _replayable(request.body):
            return resp
        if not self.config.credentials.rejected(credential):
            return resp
        resp.release()
        self.retried_401 += 1
        return await self._send_once(request, await self._credential(True))

    async def _credential(self, use_credentials: bool) -> Credential:
        if not use_credentials:
            return Credential()
        return await self.config.credentials.get()

    async def _send_once(self, request: _Request, credential: Credential) -> aiohttp.ClientResponse:
        self.requests += 1
        headers = CIMultiDict(request.headers or {})
        headers.update(credential.headers())
        session = self._streams if request.stream else self._session
        return await session.request(
            request.method,
            self.config.server + request.path,
            params=request.params,
            headers=headers,
            data=request.body,
            timeout=request.client_timeout,
            allow_redirects=False,
            auto_decompress=request.decompress,
            # A forwarded request carries only the caller's headers: aiohttp
            # would otherwise add Content-Type: application/octet-stream to
            # a streamed body (kube-apiserver then answers 415 where it
            # would have assumed JSON) and Accept-Encoding: gzip that the
            # caller never asked for.
            skip_auto_headers=() if request.decompress else _FORWARD_SKIPS,
            **self._tls_options(credential),
        )

    def _tls_options(self, credential: Credential) -> dict[str, Any]:
        if not self._https:
            return {}
        return {
            "ssl": self._tls.for_cert(credential.client_cert),
            "server_hostname": self.config.tls.server_name,
        }

    def _timeout(
        self, *, total: float | None = None, sock_read: float | None = None
    ) -> aiohttp.ClientTimeout:
        return aiohttp.ClientTimeout(
            total=total,
            connect=self.options.pool_timeout,
            sock_connect=self.options.connect_timeout,
            sock_read=sock_read,
        )


class WatchStream:
    """One watch: ``async with client.watch(...) as lines`` opens it (raising
    StatusError if upstream refuses), ``async for line in lines`` yields each
    event's bytes without the newline, and leaving the block closes it. The
    iteration ends when upstream ends the watch cleanly.

    There is one iteration per stream, however often it is asked for: a
    reader that stops after some lines (a WatchList's initial events) and
    another that goes on (the watch after them) share it. With one each,
    the second started from the next piece read from the socket, and the
    lines after the first reader's last one in the piece it had were lost
    (an event right after the initial-events-end bookmark)."""

    def __init__(
        self,
        client: UpstreamClient,
        path: str,
        query: Query,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self._client = client
        self.path = path
        self._query = query
        self._headers = CIMultiDict(headers) if headers else None
        self._resp: aiohttp.ClientResponse | None = None
        self._iteration: AsyncIterator[bytes] | None = None
        self.lines = 0

    def __repr__(self) -> str:
        state = "open" if self._resp is not None else "closed"
        return f"<WatchStream {self.path} {state} lines={self.lines}>"

    async def __aenter__(self) -> WatchStream:
        if self._resp is not None:
            raise RuntimeError("this watch is already open")
        client = self._client
        with _mapped(f"WATCH {self.path}"):
            request = _Request(
                "GET",
                self.path,
                self._query,
                self._headers,
                client_timeout=client._timeout(sock_read=client.options.watch_read_timeout),
                stream=True,
            )
            resp = await client._send(request)
            try:
                await _raise_for_status(resp, client.options.max_error_bytes)
            except BaseException:
                resp.close()
                raise
        self._resp = resp
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Drop the connection: a watch is never read to its end to reuse it."""
        if self._resp is not None:
            self._resp.close()
            self._resp = None

    def __aiter__(self) -> AsyncIterator[bytes]:
        if self._resp is None:
            raise RuntimeError("open the watch with `async with` before iterating it")
        if self._iteration is None:
            self._iteration = self._lines(self._resp)
        return self._iteration

    async def _lines(self, resp: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
        splitter = LineSplitter(self._client.options.max_line_bytes)
        with _mapped(f"WATCH {self.path}"):
            async for chunk in resp.content.iter_any():
                for line in splitter.feed(chunk):
                    self.lines += 1
                    yield line
        if last := splitter.rest():
            self.lines += 1
            yield last


class LineSplitter:
    """Cuts a byte stream into newline-terminated lines (newline dropped,
    empty lines skipped). The unterminated tail is kept as a list of pieces
    and joined once its newline arrives, so a large event arriving in many
    small chunks is copied once, not once per chunk. The tail is bounded by
    ``max_line_bytes``: past it ``feed`` raises ProtocolError."""

    def __init__(self, max_line_bytes: int) -> None:
        self._limit = max_line_bytes
        self._pieces: list[bytes] = []
        self._size = 0  # == sum(map(len, self._pieces))

    def feed(self, chunk: bytes) -> list[bytes]:
        lines = []
        start = 0
        while (end := chunk.find(b"\n", start)) != -1:
            line = self._complete(chunk[start:end])
            if line:
                lines.append(line)
            start = end + 1
        self._keep(chunk[start:])
        return lines

    def rest(self) -> bytes:
        """What followed the last newline (a final line without one)."""
        return self._complete(b"")

    def _complete(self, end: bytes) -> bytes:
        if self._pieces:
            self._pieces.append(end)
            end = b"".join(self._pieces)
            self._pieces.clear()
            self._size = 0
        if len(end) > self._limit:
            raise ProtocolError(f"watch line longer than {self._limit} bytes")
        return end

    def _keep(self, tail: bytes) -> None:
        if not tail:
            return
        self._pieces.append(tail)
        self._size += len(tail)
        if self._size > self._limit:
            raise ProtocolError(f"watch line longer than {self._limit} bytes")


class ForwardResponse:
    """A forwarded request's answer, its body unread. ``chunks()`` streams
    the raw body; errors while streaming are mapped like any other."""

    def __init__(self, resp: aiohttp.ClientResponse) -> None:
        self._resp = resp
        self.status = resp.status
        self.reason = resp.reason or ""
        self.headers = CIMultiDictProxy(
            CIMultiDict((k, v) for k, v in resp.headers.items() if k.lower() not in HOP_BY_HOP)
        )

    def __repr__(self) -> str:
        return f"<ForwardResponse {self.status} {self.headers.get('Content-Type', '')}>"

    async def __aenter__(self) -> ForwardResponse:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def release(self) -> None:
        """Give the connection back (closed if the body was not all read)."""
        self._resp.release()

    def close(self) -> None:
        """Drop the connection now, whatever is left unread: a stream whose
        reader left. A read in progress ends (DisconnectedError)."""
        self._resp.close()

    async def chunks(self) -> AsyncIterator[bytes]:
        with _mapped("forwarded body"):
            async for chunk in self._resp.content.iter_any():
                yield chunk

    async def read(self, max_bytes: int) -> bytes:
        with _mapped("forwarded body"):
            return await _read_bounded(self._resp, max_bytes)


def _replayable(body: Body) -> bool:
    return body is None or isinstance(body, bytes)


async def _read_bounded(resp: aiohttp.ClientResponse, limit: int) -> bytes:
    if resp.content_length is not None and resp.content_length > limit:
        resp.close()
        raise ProtocolError(f"upstream body of {resp.content_length} bytes exceeds {limit}")
    body = bytearray()
    async for chunk in resp.content.iter_any():
        body += chunk
        if len(body) > limit:
            resp.close()
            raise ProtocolError(f"upstream body exceeds {limit} bytes")
    return bytes(body)


async def _raise_for_status(resp: aiohttp.ClientResponse, max_error_bytes: int) -> None:
    if 200 <= resp.status < 300:
        return
    try:
        body = await _read_bounded(resp, max_error_bytes)
    except ProtocolError:
        body = b""
    raise status_error(resp.status, body, resp.headers.get("Retry-After"))


def status_error(code: int, body: bytes, retry_after_header: str | None) -> StatusError:
    """Upstream's Status as a StatusError; one is built from the HTTP code
    when the body is not a Status (a proxy in between, an HTML error page),
    shaped as kube-apiserver would have sent it."""
    status = _decode_status(body)
    if status is None or not isinstance(status.get("code"), int):
        reason = _REASONS.get(code, "Unknown")
        status = ApiError(code, reason, _fallback_message(code, body)).status()
    return StatusError(status, _retry_after(retry_after_header))


def _decode_status(body: bytes) -> dict[str, Any] | None:
    try:
        obj = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return None
    return obj if isinstance(obj, dict) and obj.get("kind") == "Status" else None


def _fallback_message(code: int, body: bytes) -> str:
    text = body[:200].decode("utf-8", "replace").strip()
    return f"the server responded with status {code}" + (f": {text}" if text else "")


def _retry_after(value: str | None) -> int | None:
    """Whole seconds from Retry-After; kube-apiserver sends integers only,
    an HTTP date is ignored (None)."""
    if value is None or not value.strip().isdigit():
        return None
    return int(value.strip())


# The reasons kube-apiserver gives each code (metav1.StatusReason), for a
# non-Status error body.
_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    410: "Expired",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


@contextmanager
def _mapped(what: str) -> Iterator[None]:
    """Turn whatever aiohttp, ssl and the OS raise into an UpstreamError.
    Order matters: the aiohttp classes nest (a certificate error is a
    connector error, a server timeout is a connection error)."""
    try:
        yield
    except UpstreamError:
        raise
    except (aiohttp.ClientSSLError, ssl.SSLError) as err:
        raise TLSError(f"{what}: TLS handshake failed: {err}") from err
    except aiohttp.ClientConnectorError as err:
        raise UnreachableError(f"{what}: cannot connect: {err}") from err
    except (TimeoutError, aiohttp.ServerTimeoutError) as err:
        raise UpstreamTimeoutError(f"{what}: timed out: {err or 'no answer in time'}") from err
    except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError, OSError) as err:
        raise DisconnectedError(f"{what}: connection lost: {err}") from err
    except aiohttp.ClientError as err:
        raise ProtocolError(f"{what}: {err}") from err
