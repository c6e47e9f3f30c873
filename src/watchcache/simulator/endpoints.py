"""The resource endpoints: one coroutine per verb, over HTTP.

Glossary:
    target     the request's parsed path (RequestPath) and ResourceInfo.
    stream     a WATCH response: HTTP 200, chunked, one JSON event per line;
               a watch that cannot start (too old RV) is one ERROR event.
    as_table   the meta.k8s.io version of the Table the Accept header asks
               for (tables.py), or None for plain JSON.

Each handler does its sync work first (verbs.py, reads.py, SimWatchHub.open:
checks, the write, the event, registration) and only then awaits I/O.
Errors are raised as ApiError and rendered once, in ``error_response``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec
from aiohttp import web

from watchcache.api import status
from watchcache.api.listoptions import ListOptions
from watchcache.api.resources import (
    GroupVersionResource,
    RequestPath,
    ResourceInfo,
    builtin_resource,
    resource_info,
)
from watchcache.api.strconv import NumError, parse_uint64
from watchcache.simulator import protobuf
from watchcache.simulator.admission import SCALABLE, has_status_subresource
from watchcache.simulator.apply import APPLY_PATCH, ApplyRequest, apply, parse_config
from watchcache.simulator.patch import apply_patch
from watchcache.simulator.protobuf import PROTOBUF
from watchcache.simulator.reads import Page, list_bytes, page, plan, too_large
from watchcache.simulator.store import SimStore, full_object, key_of, object_prefix
from watchcache.simulator.tables import table, table_version
from watchcache.simulator.verbs import DeleteOptions, Verbs
from watchcache.simulator.watch import SimWatcher, SimWatchHub

__all__ = ["Endpoints", "StreamSettings", "error_response", "json_response", "read_body"]

# kube-apiserver waits this long for its cache to reach a requested RV
# before answering 504 "Too large resource version".
RV_WAIT_SECONDS = 3.0
RV_POLL_SECONDS = 0.05
# A watch ends this long after its final bookmark (1.34 sends one ~2 s
# before the deadline).
FINAL_BOOKMARK_LEAD = 2.0


@dataclass(frozen=True, slots=True)
class StreamSettings:
    bookmark_interval: float = 60.0
    min_request_timeout: int = 1800
    watch_capacity: int = 1000


def _headers() -> dict[str, str]:
    return {"Audit-Id": str(uuid.uuid4()), "Cache-Control": "no-cache, private"}


def json_response(body: bytes, code: int = 200) -> web.Response:
    return web.Response(status=code, body=body, content_type="application/json", headers=_headers())


def error_response(error: status.ApiError) -> web.Response:
    response = json_response(error.body(), error.code)
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def _query(request: web.Request) -> dict[str, str]:
    return {key: request.query[key] for key in request.query}


async def read_body(request: web.Request) -> dict[str, Any]:
    if request.content_type == PROTOBUF:
        return protobuf.decode(await request.read())
    if request.content_type not in ("application/json", "application/octet-stream", ""):
        raise status.unsupported_media_type(("application/json", PROTOBUF))
    raw = await request.read()
    try:
        obj = msgspec.json.decode(raw)
    except msgspec.DecodeError as err:
        raise status.bad_request(f"the body of the request could not be decoded: {err}") from None
    if not isinstance(obj, dict):
        raise status.bad_request("the body of the request is not a JSON object")
    return obj


class Endpoints:
    def __init__(
        self,
        store: SimStore,
        verbs: Verbs,
        hub: SimWatchHub,
        settings: StreamSettings,
        monotonic: Callable[[], float],
    ) -> None:
        self.store = store
        self.verbs = verbs
        self.hub = hub
        self.settings = settings
        self.monotonic = monotonic

    # -- resolving -------------------------------------------------------

    def resolve(self, path: RequestPath, method: str, body_kind: str | None) -> ResourceInfo:
        """The resource a request names; 404 for one never seen, except a
        POST to a group's resource, which registers it (CRD-like)."""
        known = builtin_resource(path.gvr)
        if known is not None:
            return known
        coll = self.store.find(path.gvr.group, path.gvr.resource)
        if coll is not None and coll.info.gvr.version == path.gvr.version:
            return coll.info
        if method == "POST" and path.gvr.group and body_kind:
            return self.register(path.gvr, body_kind, namespaced=bool(path.namespace))
        raise status.ApiError(
            404, "NotFound", "the server could not find the requested resource", {}
        )

    def register(self, gvr: GroupVersionResource, kind: str, namespaced: bool) -> ResourceInfo:
        info = resource_info(gvr, kind, namespaced=namespaced)
        return self.store.collection(info).info

    # -- dispatch --------------------------------------------------------

    async def handle(self, request: web.Request, path: RequestPath) -> web.StreamResponse:
        body: dict[str, Any] | None = None
        if request.method in ("POST", "PUT") or (
            request.method == "DELETE" and request.can_read_body
        ):
            body = await read_body(request) if request.can_read_body else {}
        kind = body.get("kind") if body else None
        info = self.resolve(path, request.method, kind if isinstance(kind, str) else None)
        if not _has_subresource(info, path.subresource):
            raise status.ApiError(
                404, "NotFound", "the server could not find the requested resource", {}
            )
        return await self._verb(request, path, info, body)

    async def _verb(
        self,
        request: web.Request,
        path: RequestPath,
        info: ResourceInfo,
        body: dict[str, Any] | None,
    ) -> web.StreamResponse:
        method, query = request.method, _query(request)
        if method == "GET":
            if path.legacy_watch or query.get("watch") in ("true", "1"):
                return await self.watch(request, path, info, query)
            as_table = table_version(request.headers.get("Accept", ""))
            if path.name:
                return await self.get(path, info, query.get("resourceVersion"), as_table)
            return await self.list(path, info, query, as_table)
        dry = _dry_run(method, request.query.getall("dryRun", []), body)
        raw = await request.read() if method == "PATCH" else b""
        # No await from here on: the verbs' dry-run mode is left before
        # any other request runs.
        with self.verbs.dry_run(dry):
            return self._write(request, path, info, body, raw)

    def _write(
        self,
        request: web.Request,
        path: RequestPath,
        info: ResourceInfo,
        body: dict[str, Any] | None,
        raw: bytes,
    ) -> web.Response:
        method, query = request.method, _query(request)
        if method == "POST" and path.subresource == "binding":
            self.verbs.bind(info, path.namespace, path.name, body or {})
            return json_response(msgspec.json.encode(_created_status()), 201)
        if method == "POST" and not path.name:
            return self._object(info, self.verbs.create(info, path.namespace, body or {}), 201)
        if method == "PUT" and path.name:
            return self.put(path, info, body or {})
        if method == "PATCH" and path.name and request.content_type == APPLY_PATCH:
            return self.server_side_apply(path, info, query, raw)
        if method == "PATCH" and path.name:
            return self.patch(path, info, request.content_type, raw)
        if method == "DELETE":
            return self.delete(path, info, body, query)
        raise status.method_not_allowed()

    def _object(self, info: ResourceInfo, entry: Any, code: int = 200) -> web.Response:
        # One collection per group and resource, whatever the version the
        # first write named: answer at the version this request names.
        return json_response(full_object(object_prefix(info), entry.body), code)

    # -- GET, PUT, PATCH, DELETE ---------------------------------------

    async def get(
        self, path: RequestPath, info: ResourceInfo, rv: str | None, as_table: str | None = None
    ) -> web.Response:
        if rv not in (None, "", "0"):
            # Not older than N: the cache waits for N like a LIST does.
            await self._wait_until(_rv_or_zero(rv))
        entry = self.verbs.get(info, path.namespace, path.name)
        if path.subresource == "scale":
            return json_response(msgspec.json.encode(self.verbs.scale(info, entry)))
        if as_table and not path.subresource:
            meta = {"resourceVersion": str(entry.rv)}
            doc = table(info, [entry.decode()], self.verbs.clock(), as_table, meta)
            return json_response(msgspec.json.encode(doc))
        return self._object(info, entry)

    def put(self, path: RequestPath, info: ResourceInfo, body: dict[str, Any]) -> web.Response:
        if path.subresource == "scale":
            entry = self.verbs.update_scale(info, path.namespace, path.name, body)
            return json_response(msgspec.json.encode(self.verbs.scale(info, entry)))
        entry = self.verbs.update(info, path.namespace, path.name, body, path.subresource)
        return self._object(info, entry)

    def patch(
        self, path: RequestPath, info: ResourceInfo, content_type: str, raw: bytes
    ) -> web.Response:
        current = self.verbs.get(info, path.namespace, path.name)
        if path.subresource == "scale":
            patched = apply_patch(info, content_type, self.verbs.scale(info, current), raw)
            entry = self.verbs.update_scale(info, path.namespace, path.name, patched)
            return json_response(msgspec.json.encode(self.verbs.scale(info, entry)))
        patched = apply_patch(info, content_type, self.verbs.full(info, current), raw)
        entry = self.verbs.update(info, path.namespace, path.name, patched, path.subresource)
        return self._object(info, entry)

    def server_side_apply(
        self, path: RequestPath, info: ResourceInfo, query: Mapping[str, str], raw: bytes
    ) -> web.Response:
        """Create or update from an applied config (apply.py's subset)."""
        manager = query.get("fieldManager", "")
        if not manager:
            cause = status.cause(
                "FieldValueRequired", "Required value: is required for apply patch", "fieldManager"
            )
            raise status.invalid("PatchOptions", "", [cause], "meta.k8s.io")
        if path.subresource not in ("", "status"):
            raise status.method_not_allowed()
        config = parse_config(info, path.name, raw)
        force = query.get("force", "").lower() in ("1", "t", "true")
        request = ApplyRequest(info, path.name, manager, force, self.verbs.clock())
        current = self.store.collection(info).get(key_of(path.namespace, path.name))
        if current is None:
            if path.subresource:
                raise status.not_found(info.gvr.resource, path.name, info.gvr.group)
            obj = apply(request, None, config)
            managed = obj["metadata"].pop("managedFields")
            created = self.verbs.create(info, path.namespace, obj, managed)
            return self._object(info, created, 201)
        result = apply(request, self.verbs.full(info, current), config)
        entry = self.verbs.update(info, path.namespace, path.name, result, path.subresource)
        return self._object(info, entry)

    def delete(
        self,
        path: RequestPath,
        info: ResourceInfo,
        body: dict[str, Any] | None,
        query: Mapping[str, str],
    ) -> web.Response:
        options = DeleteOptions.from_body(body, query.get("gracePeriodSeconds"))
        if not path.name:
            return self.delete_collection(path, info, options, query)
        entry, gone = self.verbs.delete(info, path.namespace, path.name, options)
        if self.verbs.returns_object(info) or not gone:
            return self._object(info, entry)
        return json_response(msgspec.json.encode(_success(info, entry.name, entry.uid)))

    def delete_collection(
        self,
        path: RequestPath,
        info: ResourceInfo,
        options: DeleteOptions,
        query: Mapping[str, str],
    ) -> web.Response:
        opts = ListOptions.from_query(_as_1_20(query), watch=False, resource=info)
        coll = self.store.collection(info)
        listed = page(
            coll, self.store, path.namespace, opts, plan(self.store, path.namespace, opts)
        )
        deleted = self.verbs.delete_many(info, listed.items, options)
        result = type(listed)(deleted, self.store.rv, None, None)
        return json_response(list_bytes(coll, result, info))

    # -- LIST ------------------------------------------------------------

    async def list(
        self,
        path: RequestPath,
        info: ResourceInfo,
        query: Mapping[str, str],
        as_table: str | None = None,
    ) -> web.Response:
        opts = ListOptions.from_query(_as_1_20(query), watch=False, resource=info)
        await self._wait_for_rv(opts)
        coll = self.store.collection(info)
        where = plan(self.store, path.namespace, opts)
        result = page(coll, self.store, path.namespace, opts, where)
        if as_table:
            doc = table(
                info,
                (e.decode() for e in result.items),
                self.verbs.clock(),
                as_table,
                _list_meta(result),
            )
            return json_response(msgspec.json.encode(doc))
        return json_response(list_bytes(coll, result, info))

    async def _wait_for_rv(self, opts: ListOptions) -> None:
        """Wait (3 s at most) until the store reaches a requested RV."""
        if opts.continue_token is not None or opts.resource_version in (None, "0"):
            return
        await self._wait_until(opts.rv)

    async def _wait_until(self, wanted: int) -> None:
        deadline = self.monotonic() + RV_WAIT_SECONDS
        while self.store.rv < wanted:
            if self.monotonic() >= deadline:
                raise too_large(wanted, self.store.rv)
            await asyncio.sleep(RV_POLL_SECONDS)

    # -- WATCH -----------------------------------------------------------

    async def watch(
        self, request: web.Request, path: RequestPath, info: ResourceInfo, query: Mapping[str, str]
    ) -> web.StreamResponse:
        query = dict(query)
        if path.name:
            # A watch of one object (legacy /watch/.../NAME) is a watch
            # of the collection selected on metadata.name.
            name_term = f"metadata.name={path.name}"
            query["fieldSelector"] = ",".join(
                t for t in (query.get("fieldSelector"), name_term) if t
            )
        opts = ListOptions.from_query(_as_1_20(query), watch=True, resource=info)
        coll = self.store.collection(info)
        try:
            watcher: SimWatcher | None = self.hub.open(
                coll, path.namespace, opts, self.settings.watch_capacity
            )
            error = None
        except status.ApiError as err:
            watcher, error = None, err
        response = web.StreamResponse(status=200, headers=_headers())
        response.content_type = "application/json"
        response.enable_chunked_encoding()
        await response.prepare(request)
        if watcher is None:
            assert error is not None
            await response.write(b'{"type":"ERROR","object":%s}\n' % error.body())
            return response
        render: Render = _joined
        if object_prefix(info) != coll.prefix:
            render = _reversioned(coll.prefix, object_prefix(info))
        as_table = table_version(request.headers.get("Accept", ""))
        if as_table:
            render = self._table_lines(info, as_table)
        try:
            await self._pump(request, response, watcher, render)
        except ConnectionResetError:
            pass  # the client went away; nothing is left to tell it
        finally:
            self.hub.remove(watcher)
        return response

    def _deadline(self, opts: ListOptions) -> float:
        seconds: float
        if opts.timeout_seconds:
            seconds = opts.timeout_seconds
        else:
            low = self.settings.min_request_timeout
            seconds = random.uniform(low, 2 * low)
        return self.monotonic() + seconds

    def _table_lines(self, info: ResourceInfo, version: str) -> Render:
        """Each event's object as a one-row Table, for kubectl get -w."""

        def render(lines: list[bytes]) -> bytes:
            out = []
            for line in lines:
                event = msgspec.json.decode(line)
                if event.get("type") in ("ADDED", "MODIFIED", "DELETED"):
                    event["object"] = table(info, [event["object"]], self.verbs.clock(), version)
                out.append(msgspec.json.encode(event) + b"\n")
            return b"".join(out)

        return render

    async def _pump(
        self,
        request: web.Request,
        response: web.StreamResponse,
        watcher: SimWatcher,
        render: Render,
    ) -> None:
        deadline = self._deadline(watcher.opts)
        bookmarks = watcher.opts.allow_watch_bookmarks
        next_bookmark = self.monotonic() + self.settings.bookmark_interval
        # Like the cacher, no pre-deadline bookmark when the watch is
        # shorter than the lead.
        final_due = deadline - FINAL_BOOKMARK_LEAD
        final_sent = final_due <= self.monotonic()
        if watcher.start:
            await response.write(render(watcher.start))
        while True:
            if watcher.stalled is not None:
                await watcher.stalled.wait()
            lines = watcher.take()
            if watcher.closed is not None:
                self._end(request, watcher)
                return
            if lines:
                await response.write(render(lines))
                continue
            now = self.monotonic()
            if now >= deadline:
                return
            if bookmarks and (now >= next_bookmark or (not final_sent and now >= final_due)):
                final_sent = final_sent or now >= final_due
                next_bookmark = now + self.settings.bookmark_interval
                await response.write(render([watcher.bookmark(max(self.store.rv, watcher.after))]))
                continue
            wake_at = deadline
            if bookmarks:
                wake_at = min(wake_at, next_bookmark, deadline if final_sent else final_due)
            await self._sleep(watcher, wake_at)

    async def _sleep(self, watcher: SimWatcher, wake_at: float) -> None:
        delay = max(wake_at - self.monotonic(), 0.0)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(watcher.wake.wait(), timeout=delay)

    def _end(self, request: web.Request, watcher: SimWatcher) -> None:
        """A cut stream closes the connection without the final chunk."""
        if watcher.closed == "cut" and request.transport is not None:
            request.transport.close()


Render = Callable[[list[bytes]], bytes]


def _joined(lines: list[bytes]) -> bytes:
    return b"".join(lines)


def _reversioned(stored: bytes, served: bytes) -> Render:
    """Lines whose objects name the request's version: each line's object
    starts with the collection's prefix, which differs only there."""

    def render(lines: list[bytes]) -> bytes:
        return b"".join(line.replace(stored, served, 1) for line in lines)

    return render


def _list_meta(result: Page) -> dict[str, Any]:
    meta: dict[str, Any] = {"resourceVersion": str(result.rv)}
    if result.continue_token is not None:
        meta["continue"] = result.continue_token
    if result.remaining is not None:
        meta["remainingItemCount"] = result.remaining
    return meta


# The options kind each writing verb's query decodes into, for errors.
_OPTIONS_KIND = {
    "POST": "CreateOptions",
    "PUT": "UpdateOptions",
    "PATCH": "PatchOptions",
    "DELETE": "DeleteOptions",
}


def _dry_run(method: str, values: list[str], body: dict[str, Any] | None) -> bool:
    """Whether a write is a dry run: ``dryRun=All`` in the query (or, for
    DELETE, in the DeleteOptions body). Any other value is kube's 422 for
    the options, naming what it saw as Go's %#v prints a []string."""
    if method == "DELETE" and body and isinstance(body.get("dryRun"), list):
        values = [*values, *(str(v) for v in body["dryRun"])]
    if not values or method not in _OPTIONS_KIND:
        return False
    if any(value != "All" for value in values):
        seen = ", ".join(json.dumps(value) for value in values)
        cause = status.cause(
            "FieldValueNotSupported",
            f'Unsupported value: []string{{{seen}}}: supported values: "All"',
            "dryRun",
        )
        raise status.invalid(_OPTIONS_KIND[method], "", [cause], "meta.k8s.io")
    return True


def _has_subresource(info: ResourceInfo, subresource: str) -> bool:
    if not subresource:
        return True
    if not info.builtin:
        return False
    if subresource == "binding":
        return info.kind == "Pod"
    if subresource == "scale":
        return info.kind in SCALABLE
    return subresource == "status" and has_status_subresource(info)


def _created_status() -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}


def _success(info: ResourceInfo, name: str, uid: str) -> dict[str, Any]:
    details: dict[str, Any] = {"name": name, "kind": info.gvr.resource, "uid": uid}
    if info.gvr.group:
        details = {"name": name, "group": info.gvr.group, "kind": info.gvr.resource, "uid": uid}
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": details,
    }


def _rv_or_zero(rv: str) -> int:
    """A GET's RV as a number; one that is not a uint64 is not waited for."""
    try:
        return parse_uint64(rv)
    except NumError:
        return 0


def _as_1_20(query: Mapping[str, str]) -> dict[str, str]:
    """The query as kube-apiserver 1.20 reads it: ``shardSelector``
    (KEP-5866, 1.36) is a parameter it does not know, so it is ignored, a
    malformed one too (the proxy, serving 1.36's semantics, parses it)."""
    return {name: value for name, value in query.items() if name != "shardSelector"}
