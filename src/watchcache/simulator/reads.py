"""LIST: which state a list shows, and how it is cut into pages.

Glossary:
    state at N   the objects as they were right after write N, rebuilt from
                 the live items by rolling back the log's later events.
    prefix       the key range a request covers: ``ns/`` to ``ns0`` for one
                 namespace ('0' sorts right after '/'), everything otherwise.
    relative key what a continue token carries: the key minus the prefix,
                 so ``name`` in a namespaced list.

Which state (SEMANTICS.md, 1.34+):
    RV unset           the latest, limit honoured
    RV=0               the latest, limit ignored
    RV=N, no limit /   not older than N: the latest once it reaches N
    NotOlderThan
    RV=N + limit /     exactly N; 410 once N is compacted
    Exact
    continue           exactly the token's RV after its key (rv -1: latest);
                       410 with a fresh rv -1 token once compacted

Invariant: functions here never write; ``resolve`` raises ApiError before
any item is read, so a failed list returns no partial body.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass

from watchcache.api import status
from watchcache.api.continuetoken import encode_continue, expired_continue
from watchcache.api.listoptions import ListOptions
from watchcache.api.resources import ResourceInfo
from watchcache.simulator.store import SimCollection, SimEntry, SimStore

__all__ = ["ListPlan", "Page", "entries_at", "list_bytes", "page", "plan", "too_large"]


@dataclass(frozen=True, slots=True)
class ListPlan:
    """What a LIST will read: the state's RV, where to start, how many."""

    rv: int
    exact: bool
    start: str  # absolute key to start at (inclusive), "" for the beginning
    limit: int
    wait_for: int  # the RV the store must reach first (0: none)


def _prefix(namespace: str) -> tuple[str, str]:
    return (namespace + "/", namespace + "0") if namespace else ("", "")


def plan(store: SimStore, namespace: str, opts: ListOptions) -> ListPlan:
    lo, _ = _prefix(namespace)
    token = opts.continue_token
    if token is not None:
        if token.rv == -1:
            return ListPlan(store.rv, False, lo + token.start, opts.limit, 0)
        if token.rv < store.compacted:
            raise expired_continue(token)
        return ListPlan(token.rv, True, lo + token.start, opts.limit, 0)
    rv_text = opts.resource_version
    if rv_text is None:
        return ListPlan(store.rv, False, lo, opts.limit, 0)
    if rv_text == "0":
        return ListPlan(store.rv, False, lo, 0, 0)
    wanted = opts.rv
    exact = opts.resource_version_match == "Exact" or (
        opts.resource_version_match is None and opts.limit > 0
    )
    if exact and wanted < store.compacted:
        raise status.list_expired()
    # Not older than N: the latest state, once the store has reached N.
    return ListPlan(wanted if exact else store.rv, exact, lo, opts.limit, wanted)


def too_large(wanted: int, current: int) -> status.ApiError:
    """504 as the watch cache words it when it never reached ``wanted``."""
    return status.too_large_resource_version(wanted, current)


def entries_at(coll: SimCollection, rv: int, current: int, lo: str, hi: str) -> Iterator[SimEntry]:
    """Entries with lo <= key < hi (hi "" = no end) as they were at ``rv``."""
    maximum = hi or None
    live: Iterator[str] = coll.items.irange(lo or None, maximum, inclusive=(True, False))
    if rv >= current:
        for key in live:
            yield coll.items[key]
        return
    overlay = _rollback(coll, rv)
    changed = sorted(k for k in overlay if k >= lo and (not hi or k < hi))
    last = None
    for key in heapq.merge(live, changed):
        if key == last:
            continue
        last = key
        entry = overlay[key] if key in overlay else coll.items[key]
        if entry is not None:
            yield entry


def _rollback(coll: SimCollection, rv: int) -> dict[str, SimEntry | None]:
    """For every key written after ``rv``: its entry at ``rv`` (None: absent)."""
    overlay: dict[str, SimEntry | None] = {}
    for event in reversed(coll.log):
        if event.rv <= rv:
            break
        overlay[event.key] = event.prev
    return overlay


@dataclass(frozen=True, slots=True)
class Page:
    items: list[SimEntry]
    rv: int
    continue_token: str | None
    remaining: int | None


def page(
    coll: SimCollection, store: SimStore, namespace: str, opts: ListOptions, where: ListPlan
) -> Page:
    _lo, hi = _prefix(namespace)
    selected = _selected(coll, store, opts, where, hi)
    items: list[SimEntry] = []
    for entry in selected:
        if where.limit and len(items) == where.limit:
            return _cut(coll, items, where, opts, namespace, hi, selected, where.rv >= store.rv)
        items.append(entry)
    return Page(items, where.rv, None, None)


def _selected(
    coll: SimCollection, store: SimStore, opts: ListOptions, where: ListPlan, hi: str
) -> Iterator[SimEntry]:
    labels, fields = opts.label_selector, opts.field_selector
    for entry in _candidates(coll, store, opts, where, hi):
        if (labels.empty or labels.matches(entry.labels)) and (
            fields.empty or fields.matches(entry.fields)
        ):
            yield entry


def _candidates(
    coll: SimCollection, store: SimStore, opts: ListOptions, where: ListPlan, hi: str
) -> Iterator[SimEntry]:
    """The entries a LIST reads: only the trigger index's keys when the
    selector fixes the trigger field and the state is the live one."""
    trigger = coll.info.trigger_field
    value = opts.field_selector.exact(trigger) if trigger else None
    if value is None or where.rv < store.rv:
        return entries_at(coll, where.rv, store.rv, where.start, hi)
    keys = coll.by_trigger.get(value)
    if keys is None:
        return iter(())
    chosen = keys.irange(where.start or None, hi or None, inclusive=(True, False))
    return (coll.items[key] for key in chosen)


def _cut(
    coll: SimCollection,
    items: list[SimEntry],
    where: ListPlan,
    opts: ListOptions,
    namespace: str,
    hi: str,
    rest: Iterator[SimEntry],
    live: bool,
) -> Page:
    """A full page with at least one more matching item after it."""
    last = items[-1].key
    relative = last[len(namespace) + 1 :] if namespace else last
    token = encode_continue(where.rv, relative)
    remaining = None
    if opts.label_selector.empty and opts.field_selector.empty:
        remaining = _count_after(coll, last, hi) if live else 1 + sum(1 for _ in rest)
    return Page(items, where.rv, token, remaining)


def _count_after(coll: SimCollection, last: str, hi: str) -> int:
    """Live keys after ``last`` and before ``hi``, by bisection."""
    end = coll.items.bisect_left(hi) if hi else len(coll.items)
    count: int = end - coll.items.bisect_right(last)
    return count


def list_bytes(coll: SimCollection, result: Page, served: ResourceInfo | None = None) -> bytes:
    """The List response, assembled from the stored item bytes, at the
    version the request named (``served``; the items carry no version)."""
    gvr = (served or coll.info).gvr
    api_version = gvr.api_version
    meta = b'"resourceVersion":"%d"' % result.rv
    if result.continue_token is not None:
        meta += b',"continue":"%s"' % result.continue_token.encode()
    if result.remaining is not None:
        meta += b',"remainingItemCount":%d' % result.remaining
    return b'{"kind":"%s","apiVersion":"%s","metadata":{%s},"items":[%s]}' % (
        coll.info.list_kind.encode(),
        api_version.encode(),
        meta,
        b",".join(entry.body for entry in result.items),
    )
