"""Record what clients saw, then check it against what was written.

The proxy promises that no watcher can tell it from kube-apiserver. This
module turns that promise into a check over recorded histories, the way
etcd's robustness tests check watch guarantees: every write's answer is
recorded (its RV is the truth about the order of changes), every watcher's
received events are recorded, and afterwards each watcher and each LIST is
compared with the state the writes imply. Usable for one's own controllers:
record the writes the test makes and what the controller's watches saw.

Glossary:
    write      one create/update/delete as its answer reported it: the
               object with the RV the change got (a DELETE's answer carries
               the deletion's RV, as kube-apiserver's does).
    version    one key's object from one write's RV until the next write
               to that key (None after a delete).
    scope      what a watch or LIST covers: namespace (None for all) and a
               label selector.
    session    one watch request: its start RV (the RV asked for, or the
               RV of the LIST that preceded it), its initial ADDED events
               (RV 0/unset), then events, bookmarks, and how it ended.
    expected   the events kube-apiserver sends for a scope after an RV:
               one per write that changes what the scope sees, ADDED when
               an object enters it (created, or labels changed into the
               selector), DELETED when it leaves (deleted, or labels
               changed out), MODIFIED when it stays.
    divergence the first place a session or LIST differs from what the
               writes imply; ``check`` returns them, one per session.

Checks, per session: events strictly ordered by RV; no duplicate; no gap
(each received event is the next expected one); a bookmark never claims
an RV whose expected events were not delivered; initial events equal the
scope's state at some RV; a 410 ends the session and is followed by a
relist (a later session of the same watcher starts from a LIST at an RV
not older than the last one the watcher saw). Per LIST: items equal the
scope's state at the LIST's RV, and a consistent LIST's RV is not older
than the last write answered before it was sent (read-your-writes).

Invariant: the writes recorded must be all the writes to the scopes
checked (use a namespace of the test's own); an event for an RV no write
reported is a divergence.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from watchcache.api.selectors import LabelSelector

__all__ = ["Divergence", "History", "ListRecord", "Scope", "WatchRecord", "WatchSession"]

Key = tuple[str, str]  # (namespace, name)


@dataclass(frozen=True, slots=True)
class Scope:
    namespace: str | None = None
    label_selector: str = ""

    def selector(self) -> LabelSelector:
        return LabelSelector.parse(self.label_selector)

    def __str__(self) -> str:
        where = self.namespace or "*"
        return f"{where}?{self.label_selector}" if self.label_selector else where


@dataclass(frozen=True, slots=True)
class Seen:
    """One object as a client saw it: key, RV, labels."""

    key: Key
    rv: int
    labels: Mapping[str, str]

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> Seen:
        meta = obj.get("metadata") or {}
        key = (meta.get("namespace") or "", meta.get("name") or "")
        return cls(key, int(meta.get("resourceVersion") or 0), dict(meta.get("labels") or {}))

    def __str__(self) -> str:
        return f"{self.key[0]}/{self.key[1]}@{self.rv}"


@dataclass(frozen=True, slots=True)
class Event:
    type: str
    obj: Seen

    def __str__(self) -> str:
        return f"{self.type} {self.obj}"


@dataclass(slots=True)
class WatchSession:
    """One watch request and what came back on it."""

    start_rv: int  # 0: unset or "0" (initial events first)
    after_list: bool = False  # start_rv is the RV of a LIST made just before
    initial: list[Seen] = field(default_factory=list)
    initial_done: bool = False
    items: list[Event | int] = field(default_factory=list)  # events, bookmark RVs
    ended_by: str = "open"  # open, closed, 410, error

    def initial_event(self, obj: Mapping[str, Any]) -> None:
        self.initial.append(Seen.of(obj))

    def event(self, type_: str, obj: Mapping[str, Any]) -> None:
        if type_ == "BOOKMARK":
            self.bookmark(int(obj["metadata"]["resourceVersion"]))
            return
        self.initial_done = True
        self.items.append(Event(type_, Seen.of(obj)))

    def bookmark(self, rv: int) -> None:
        self.initial_done = True
        self.items.append(rv)

    def end(self, reason: str) -> None:
        self.ended_by = reason


@dataclass(slots=True)
class WatchRecord:
    """One watcher (an informer, say): its scope and its sessions in order."""

    name: str
    scope: Scope
    sessions: list[WatchSession] = field(default_factory=list)

    def start(self, rv: int, after_list: bool = False) -> WatchSession:
        session = WatchSession(rv, after_list)
        self.sessions.append(session)
        return session


@dataclass(frozen=True, slots=True)
class ListRecord:
    scope: Scope
    rv: int  # the LIST's answered RV
    items: tuple[Seen, ...]
    consistent: bool  # RV unset: must reflect every write answered before
    written_before: int  # the newest write RV answered before the LIST was sent


@dataclass(frozen=True, slots=True)
class Divergence:
    where: str  # "watch NAME session N" or "list N"
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


class History:
    """Writes, watches and LISTs recorded by a test; ``check`` compares them."""

    def __init__(self) -> None:
        self._writes: list[tuple[int, Key, Seen | None]] = []  # unsorted until check
        self._versions: dict[Key, list[tuple[int, Seen | None]]] = {}
        self.newest_write = 0
        self.watches: list[WatchRecord] = []
        self.lists: list[ListRecord] = []
        self._sorted = True
        self._indexed = 0  # how many writes _versions holds
        self._last_rv: dict[Key, int] = {}  # per key, the newest RV a write answered
        self._answered: list[int] = []  # every write's answered RV, in recording order
        # Deletes whose answer is the deleted version (kube-apiserver's):
        # (key, that version's RV, index in _answered of the next write).
        self._pending: list[tuple[Key, int, int]] = []
        self._resolve_problems: list[Divergence] = []

    # -- recording -------------------------------------------------------

    def write(self, type_: str, obj: Mapping[str, Any]) -> None:
        """A write's answer: ``type_`` is ADDED, MODIFIED or DELETED.

        kube-apiserver answers a DELETE with the object as it was before
        (its RV is not the deletion's), and a pod's DELETE is two changes
        (deletionTimestamp set: the answer, then removed). Such a delete is placed by
        what the watchers received for that key between the deleted
        version and the next write recorded (which must have been sent
        after the delete was answered, as a sequential writer's is): they
        must agree on one DELETED and at most one MODIFIED before it."""
        seen = Seen.of(obj)
        after = None if type_ == "DELETED" else seen
        if after is None and (obj.get("metadata") or {}).get("deletionTimestamp"):
            # A graceful delete's answer: the update that set the
            # deletionTimestamp; the removal comes after, its RV unknown.
            self._record(seen.rv, seen.key, seen)
            self._pending.append((seen.key, seen.rv, len(self._answered)))
            return
        if after is None and seen.rv <= self._last_rv.get(seen.key, 0):
            # The deletion's own RV is not in the answer: resolved by check.
            self._pending.append((seen.key, seen.rv, len(self._answered)))
            return
        self._record(seen.rv, seen.key, after)

    def _record(self, rv: int, key: Key, after: Seen | None) -> None:
        self._last_rv[key] = rv
        self._answered.append(rv)
        if self._writes and rv < self._writes[-1][0]:
            self._sorted = False
        self._writes.append((rv, key, after))
        self.newest_write = max(self.newest_write, rv)

    def watch(self, name: str, scope: Scope) -> WatchRecord:
        record = WatchRecord(name, scope)
        self.watches.append(record)
        return record

    def list_answer(
        self,
        scope: Scope,
        rv: int,
        items: Iterable[Mapping[str, Any]],
        consistent: bool,
        written_before: int = 0,
    ) -> ListRecord:
        record = ListRecord(scope, rv, tuple(Seen.of(o) for o in items), consistent, written_before)
        self.lists.append(record)
        return record

    # -- the truth -------------------------------------------------------

    def _index(self) -> None:
        if not self._sorted:
            self._writes.sort(key=lambda w: w[0])
            self._sorted = True
            self._indexed = 0
        if self._indexed == len(self._writes):
            return
        self._indexed = len(self._writes)
        self._versions = {}
        for rv, key, after in self._writes:
            self._versions.setdefault(key, []).append((rv, after))

    def state_at(self, rv: int, scope: Scope) -> dict[Key, Seen]:
        """The objects ``scope`` sees at ``rv``."""
        self._index()
        selector = scope.selector()
        state = {}
        for key, versions in self._versions.items():
            if scope.namespace is not None and key[0] != scope.namespace:
                continue
            at = bisect.bisect_right(versions, rv, key=lambda v: v[0])
            current = versions[at - 1][1] if at else None
            if current is not None and selector.matches(current.labels):
                state[key] = current
        return state

    def expected_after(self, rv: int, scope: Scope) -> list[Event]:
        """The events a watch of ``scope`` from ``rv`` receives, in order."""
        self._index()
        selector = scope.selector()
        before = self.state_at(rv, Scope(scope.namespace))  # unfiltered, to see leavers
        events = []
        start = bisect.bisect_right(self._writes, rv, key=lambda w: w[0])
        for w_rv, key, after in self._writes[start:]:
            if scope.namespace is not None and key[0] != scope.namespace:
                continue
            old = before.get(key)
            was = old is not None and selector.matches(old.labels)
            now = after is not None and selector.matches(after.labels)
            if after is None:
                before.pop(key, None)
            else:
                before[key] = after
            if was and now:
                events.append(Event("MODIFIED", after))  # type: ignore[arg-type]
            elif now:
                events.append(Event("ADDED", after))  # type: ignore[arg-type]
            elif was:
                # kube-apiserver's watch cache: a leaver's DELETED carries
                # its previous content at the write's RV.
                assert old is not None
                events.append(Event("DELETED", Seen(key, w_rv, old.labels)))
        return events

    # -- checking --------------------------------------------------------

    def _resolve_deletes(self) -> None:
        pending, self._pending = self._pending, []
        for key, version, next_index in pending:
            bound = self._answered[next_index] if next_index < len(self._answered) else None
            deleted: set[int] = set()
            modified: set[int] = set()
            for record in self.watches:
                for session in record.sessions:
                    for item in session.items:
                        if not isinstance(item, Event) or item.obj.key != key:
                            continue
                        if item.obj.rv <= version or (bound is not None and item.obj.rv >= bound):
                            continue
                        (deleted if item.type == "DELETED" else modified).add(item.obj.rv)
            where = f"delete of {key[0]}/{key[1]} after RV {version}"
            if (
                len(deleted) > 1
                or len(modified) > 1
                or (modified and deleted and min(deleted) < max(modified))
            ):
                self._resolve_problems.append(
                    Divergence(
                        where,
                        f"watchers disagree: DELETED at {sorted(deleted)}, MODIFIED at {sorted(modified)}",
                    )
                )
            labels = self.state_at(version, Scope(key[0])).get(key)
            for rv in modified:
                self._writes.append((rv, key, Seen(key, rv, labels.labels if labels else {})))
            # Seen by no watcher: placed just before the next write, or
            # earlier where the watchers show it was gone (upstream's RVs
            # between two writes of ours may be other objects').
            at = (
                min(deleted)
                if deleted
                else self._unseen_delete_at(
                    key,
                    version,
                    bound,
                    bound - 1 if bound is not None else max(modified, default=version) + 1,
                )
            )
            self._writes.append((at, key, None))
            self.newest_write = max(self.newest_write, at)
            self._sorted = False

    def _unseen_delete_at(self, key: Key, version: int, bound: int | None, latest: int) -> int:
        """Where a delete no watcher heard happened: no later than a LIST
        of its scope after ``version`` that lacks the key, nor than the
        start of a watch session of its scope that began after ``version``
        and was still delivering at ``bound`` (it would have heard a later
        delete)."""
        before = self.state_at(version, Scope(key[0])).get(key)
        if before is None:
            return latest

        def sees(scope: Scope) -> bool:
            in_namespace = scope.namespace in (None, key[0])
            return in_namespace and scope.selector().matches(before.labels)

        at = latest
        for listed in self.lists:
            gone = all(item.key != key for item in listed.items)
            if version < listed.rv < at and gone and sees(listed.scope):
                at = listed.rv
        for record in self.watches:
            if bound is None or not sees(record.scope):
                continue
            for session in record.sessions:
                if version < session.start_rv < at and _delivered_from(session, bound):
                    at = session.start_rv
        return at

    def check(self) -> list[Divergence]:
        """Every divergence found, at most one per session and per LIST."""
        self._resolve_deletes()
        found: list[Divergence] = list(self._resolve_problems)
        for record in self.watches:
            found.extend(self._check_watcher(record))
        for n, listed in enumerate(self.lists):
            problem = self._check_list(listed)
            if problem:
                found.append(Divergence(f"list {n} ({listed.scope} at RV {listed.rv})", problem))
        return found

    def _check_list(self, listed: ListRecord) -> str | None:
        if listed.consistent and listed.rv < listed.written_before:
            return (
                f"consistent LIST answered RV {listed.rv}, older than the write at RV "
                f"{listed.written_before} answered before it was sent"
            )
        return _compare_state(
            {o.key: o for o in listed.items}, self.state_at(listed.rv, listed.scope)
        )

    def _check_watcher(self, record: WatchRecord) -> list[Divergence]:
        found = []
        last_seen = 0
        for n, session in enumerate(record.sessions):
            where = f"watch {record.name} ({record.scope}) session {n} from RV {session.start_rv}"
            relisted = session.after_list or session.start_rv == 0
            if n and record.sessions[n - 1].ended_by == "410" and not relisted:
                found.append(Divergence(where, "a 410 was not followed by a relist"))
                continue
            if session.after_list and session.start_rv < last_seen:
                found.append(
                    Divergence(
                        where,
                        f"relisted at RV {session.start_rv}, older than RV {last_seen} already seen",
                    )
                )
                continue
            problem, last = self._check_session(session, record.scope)
            if problem:
                found.append(Divergence(where, problem))
            last_seen = max(last_seen, last)
        return found

    def _check_session(self, session: WatchSession, scope: Scope) -> tuple[str | None, int]:
        start = session.start_rv
        if start == 0:
            start, problem = self._initial_rv(session, scope)
            if problem:
                return problem, 0
        expected = self.expected_after(start, scope)
        return _compare_stream(session.items, expected, start)

    def _initial_rv(self, session: WatchSession, scope: Scope) -> tuple[int, str | None]:
        """The RV whose state the initial events are: the newest RV at or
        after the newest initial object, and before the first event (at or
        before the first bookmark: WatchList's initial-events-end bookmark
        is the initial state's RV), whose state they equal. The newest:
        an object that entered and left the scope in between is in
        neither state, and the stream owes no events for it."""
        got = {o.key: o for o in session.initial}
        if len(got) != len(session.initial):
            dup = _first_duplicate(session.initial)
            return 0, f"initial events: {dup} sent twice"
        low = max((o.rv for o in session.initial), default=0)
        high = self.newest_write
        for item in session.items:
            high = min(high, item if isinstance(item, int) else item.obj.rv - 1)
            break
        self._index()
        candidates = [low] + [rv for rv, _, _ in self._writes if low < rv <= high]
        for rv in reversed(candidates):
            if _compare_state(got, self.state_at(rv, scope)) is None:
                return rv, None
        problem = _compare_state(got, self.state_at(low, scope))
        return 0, f"initial events are not the state at any RV in [{low}, {high}]: {problem}"


def _delivered_from(session: WatchSession, rv: int) -> bool:
    """Whether ``session`` delivered an event or bookmark at ``rv`` or later."""
    return any((item if isinstance(item, int) else item.obj.rv) >= rv for item in session.items)


def _first_duplicate(objs: list[Seen]) -> Seen:
    seen = set()
    for o in objs:
        if o.key in seen:
            return o
        seen.add(o.key)
    raise AssertionError("no duplicate")


def _compare_state(got: Mapping[Key, Seen], want: Mapping[Key, Seen]) -> str | None:
    """The first difference between two states, by key."""
    for key in sorted(set(got) | set(want)):
        g, w = got.get(key), want.get(key)
        if g is None:
            return f"{w} missing"
        if w is None:
            return f"{g} present but not in the state"
        if g.rv != w.rv:
            return f"{key[0]}/{key[1]} at RV {g.rv}, the state has RV {w.rv}"
        if dict(g.labels) != dict(w.labels):
            return f"{g} has labels {dict(g.labels)}, the write gave {dict(w.labels)}"
    return None


def _compare_stream(
    items: list[Event | int], expected: list[Event], start: int
) -> tuple[str | None, int]:
    """The first received item that is not the next expected one; and the
    newest RV the stream reached."""
    at = 0  # index of the next expected event
    last = start  # newest RV received (event or bookmark)
    prev: Event | None = None
    for n, item in enumerate(items):
        if isinstance(item, int):
            if item < last:
                return f"item {n}: bookmark at RV {item} after RV {last}", last
            if at < len(expected) and expected[at].obj.rv <= item:
                return (
                    f"item {n}: bookmark at RV {item} but {expected[at]} was not delivered",
                    last,
                )
            last = item
            continue
        want = expected[at] if at < len(expected) else None
        if prev is not None and item.obj.rv == prev.obj.rv:
            return f"item {n}: {item} duplicates the event before it", last
        if item.obj.rv < last:
            return f"item {n}: {item} out of order, after RV {last}", last
        if want is None:
            return f"item {n}: {item} matches no write", last
        if item.obj.rv > want.obj.rv:
            return f"item {n}: {item} but {want} was dropped before it", last
        if item.obj.rv < want.obj.rv or item.obj.key != want.obj.key:
            return f"item {n}: {item} matches no write (expected {want})", last
        if item.type != want.type:
            return f"item {n}: {item} should be {want.type}", last
        if dict(item.obj.labels) != dict(want.obj.labels):
            return (
                f"item {n}: {item} has labels {dict(item.obj.labels)}, expected {dict(want.obj.labels)}",
                last,
            )
        at += 1
        prev = item
        last = item.obj.rv
    return None, last
