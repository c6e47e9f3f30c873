"""A stand-in for kube-apiserver whose every answer a test scripts, for the
reflector under a misbehaving upstream: any status, any body, any watch
line, a restart that loses its state.

Glossary:
    state     configmaps by name and the RV they were written at; a LIST
              answers it unless a scripted answer is queued
    answer    a scripted reply (status, body, headers) to the next LIST or
              the next WATCH, taken in order, one per request
    watch     an accepted WATCH stream, handed to the test through
              ``watches`` (bounded by the test: it opens one at a time);
              the test writes lines to it, ends it cleanly or cuts it;
              WatchList requests are refused as 1.20 refuses them unless
              ``watch_list`` is set

It also answers ``/api/v1`` discovery (configmaps, listable and
watchable), which ``watchcache serve`` reads at start to check
--resources. Every LIST and WATCH request is recorded in ``requests`` (path and query), so a test can
tell that the reflector asked again.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from dataclasses import dataclass, field

from aiohttp import web

from watchcache.api.listoptions import INITIAL_EVENTS_END

__all__ = ["Answer", "FakeWatch", "ScriptedUpstream", "configmap"]

PATH = "/api/v1/configmaps"
HTML_502 = b"<html><body><h1>502 Bad Gateway</h1></body></html>"


def configmap(name: str, rv: int) -> bytes:
    meta = {"name": name, "namespace": "default", "uid": f"uid-{name}", "resourceVersion": str(rv)}
    obj = {"kind": "ConfigMap", "apiVersion": "v1", "metadata": meta, "data": {"k": "v"}}
    return json.dumps(obj, separators=(",", ":")).encode()


def line(event_type: str, obj: bytes) -> bytes:
    return b'{"type":"%s","object":%s}' % (event_type.encode(), obj)


def bookmark(rv: int, *, initial_events_end: bool = False) -> bytes:
    meta: dict[str, object] = {"resourceVersion": str(rv)}
    if initial_events_end:
        meta["annotations"] = {INITIAL_EVENTS_END: "true"}
    obj = {"kind": "ConfigMap", "apiVersion": "v1", "metadata": meta}
    return line("BOOKMARK", json.dumps(obj, separators=(",", ":")).encode())


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    def response(self) -> web.Response:
        return web.Response(status=self.status, body=self.body, headers=self.headers)


class FakeWatch:
    def __init__(self, request: web.Request, response: web.StreamResponse) -> None:
        self.request = request
        self.query = dict(request.query)
        self._response = response
        self.done = asyncio.Event()

    async def send(self, *lines: bytes, together: bool = False) -> None:
        """Each line in a write (an HTTP chunk) of its own, or ``together``
        in one, as a server that had them all at once sends them."""
        if together:
            await self._response.write(b"".join(one + b"\n" for one in lines))
            return
        for one in lines:
            await self._response.write(one + b"\n")

    async def end(self) -> None:
        """End the watch cleanly, as timeoutSeconds does."""
        await self._response.write_eof()
        self.done.set()

    def cut(self) -> None:
        """Drop the connection mid-stream, as a dying server does."""
        assert self.request.transport is not None
        self.request.transport.abort()
        self.done.set()


class ScriptedUpstream:
    def __init__(self) -> None:
        self.state: dict[str, int] = {}
        self.rv = 0
        self.list_answers: deque[Answer] = deque()
        self.watch_answers: deque[Answer] = deque()
        self.requests: list[tuple[str, dict[str, str]]] = []
        # As kube-apiserver 1.20: a WatchList request is refused with 422.
        self.watch_list = False
        # One watch at a time is open; the queue never holds more than the
        # reflector has opened and the test not yet taken.
        self.watches: asyncio.Queue[FakeWatch] = asyncio.Queue()
        self._runner: web.AppRunner | None = None
        self._open: list[FakeWatch] = []
        self.url = ""

    def write(self, name: str) -> bytes:
        """Create or update ``name`` at the next RV; its watch line."""
        self.rv += 1
        event = "MODIFIED" if name in self.state else "ADDED"
        self.state[name] = self.rv
        return line(event, configmap(name, self.rv))

    def restart_empty(self, rv: int) -> None:
        """Lose every object and go back to ``rv``, as an apiserver whose
        etcd restarted with an empty data directory."""
        self.state.clear()
        self.rv = rv

    def list_body(self) -> bytes:
        items = b",".join(configmap(name, rv) for name, rv in sorted(self.state.items()))
        head = b'{"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":"%d"},'
        return head % self.rv + b'"items":[' + items + b"]}"

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.path, dict(request.query)))
        if request.query.get("watch") in ("true", "1"):
            if "sendInitialEvents" in request.query and not self.watch_list:
                status = b'{"kind":"Status","apiVersion":"v1","status":"Failure","code":422,"reason":"Invalid"}'
                return web.Response(status=422, body=status, content_type="application/json")
            if self.watch_answers:
                return self.watch_answers.popleft().response()
            response = web.StreamResponse(headers={"Content-Type": "application/json"})
            await response.prepare(request)
            watch = FakeWatch(request, response)
            self._open.append(watch)
            self.watches.put_nowait(watch)
            await watch.done.wait()
            return response
        if self.list_answers:
            return self.list_answers.popleft().response()
        return web.Response(body=self.list_body(), content_type="application/json")

    async def _discovery(self, request: web.Request) -> web.Response:
        verbs = ["get", "list", "watch"]
        resource = {"name": "configmaps", "namespaced": True, "kind": "ConfigMap", "verbs": verbs}
        body = {"kind": "APIResourceList", "groupVersion": "v1", "resources": [resource]}
        return web.json_response(body)

    async def next_watch(self, timeout: float = 5.0) -> FakeWatch:
        return await asyncio.wait_for(self.watches.get(), timeout)

    async def __aenter__(self) -> ScriptedUpstream:
        app = web.Application()
        app.router.add_get(PATH, self._handle)
        app.router.add_get("/api/v1", self._discovery)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        for watch in self._open:
            watch.done.set()
        assert self._runner is not None
        await self._runner.cleanup()
