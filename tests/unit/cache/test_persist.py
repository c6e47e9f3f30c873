"""State files: a round trip gives the cache back exactly; a torn file, one
for another upstream, CA, resource or format is refused, never loaded."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest
from tests.unit.cache.fakes import PODS, pod

from watchcache.api.status import ApiError
from watchcache.cache import persist
from watchcache.cache.cache import Cache, CacheConfig
from watchcache.cache.persist import (
    SavedState,
    StateFileError,
    StateKey,
    ca_fingerprint,
    capture,
    read_state,
    restore,
    state_path,
    write_state,
)

KEY = StateKey("https://10.0.0.1:6443", ca_fingerprint(b"ca one"), "", "v1", "pods")


def filled_cache() -> Cache:
    cache = Cache(PODS)  # type: ignore[arg-type]
    cache.replace([pod(f"p{i}", rv=10 + i, node=f"n{i % 3}", pad=i) for i in range(50)], 100)
    cache.apply("MODIFIED", pod("p3", rv=101, node="n9"))
    cache.apply("DELETED", pod("p4", rv=102))
    return cache


def saved(tmp_path: Path, key: StateKey = KEY) -> tuple[Path, Cache]:
    cache = filled_cache()
    path = state_path(tmp_path, key)
    write_state(path, key, capture(cache))
    return path, cache


def test_a_round_trip_gives_back_the_same_objects_at_the_same_rv(tmp_path: Path) -> None:
    path, cache = saved(tmp_path)
    state = read_state(path, KEY)
    loaded = Cache(PODS)  # type: ignore[arg-type]
    restore(loaded, state)
    assert loaded.rv == cache.rv == 102
    assert [e.raw for e in loaded.list().items] == [e.raw for e in cache.list().items]
    assert [(e.key, e.rv, e.fields, e.labels) for e in loaded.list().items] == [
        (e.key, e.rv, e.fields, e.labels) for e in cache.list().items
    ]
    assert loaded.by_index("spec.nodeName", "n9")[0].name == "p3"
    assert state.size == path.stat().st_size
    assert not path.with_name(path.name + ".tmp").exists()


def test_a_loaded_state_answers_watches_from_its_history_and_410_before_it(
    tmp_path: Path,
) -> None:
    path, cache = saved(tmp_path)
    loaded = Cache(PODS)  # type: ignore[arg-type]
    restore(loaded, read_state(path, KEY))
    # The history after the relist at 100: p3 modified, p4 deleted.
    assert [(e.type, e.name, e.rv) for e in loaded.since(100)] == [
        ("MODIFIED", "p3", 101),
        ("DELETED", "p4", 102),
    ]
    assert [e.prev.rv if e.prev else None for e in loaded.since(100)] == [13, 14]
    assert [e.line("MODIFIED") for e in loaded.since(101)] == [
        e.line("MODIFIED") for e in cache.since(101)
    ]
    with pytest.raises(ApiError) as err:
        loaded.since(99)
    assert err.value.code == 410
    assert err.value.message == "too old resource version: 99 (100)"
    # Exact reads inside the window see the state as it was.
    assert {e.name for e in loaded.list(rv=100).items} == {f"p{i}" for i in range(50)}
    assert loaded.get("default", "p3", rv=100).rv == 13  # type: ignore[union-attr]
    event = loaded.apply("ADDED", pod("new", rv=103))
    assert loaded.since(102) == [event]
    # The newest object of each key is the store's, as when applied.
    assert loaded.since(100)[0].entry is loaded.store.get("default/p3")
    assert loaded.history.retained_bytes == cache.history.retained_bytes


def test_an_evicted_history_answers_from_where_it_did(tmp_path: Path) -> None:
    cache = Cache(PODS, CacheConfig(history_min_events=4, history_max_events=4))  # type: ignore[arg-type]
    cache.replace([pod("a", rv=1)], 1)
    for rv in range(2, 12):
        cache.apply("MODIFIED", pod("a", rv=rv))
    path = state_path(tmp_path, KEY)
    write_state(path, KEY, capture(cache))
    loaded = Cache(PODS)  # type: ignore[arg-type]
    restore(loaded, read_state(path, KEY))
    assert loaded.history.oldest() == cache.history.oldest() == 8
    assert [e.rv for e in loaded.since(7)] == [8, 9, 10, 11]
    with pytest.raises(ApiError):
        loaded.since(6)


def test_an_empty_cache_round_trips(tmp_path: Path) -> None:
    path = state_path(tmp_path, KEY)
    write_state(path, KEY, SavedState(7, []))
    state = read_state(path, KEY)
    assert (state.rv, list(state.objects)) == (7, [])


def test_a_missing_file_is_a_cold_start(tmp_path: Path) -> None:
    with pytest.raises(StateFileError) as err:
        read_state(state_path(tmp_path, KEY), KEY)
    assert err.value.reason == "missing"


@pytest.mark.parametrize(
    "other",
    [
        dataclasses.replace(KEY, server="https://10.0.0.2:6443"),
        dataclasses.replace(KEY, ca=ca_fingerprint(b"ca two")),
        dataclasses.replace(KEY, ca=ca_fingerprint(None)),
        dataclasses.replace(KEY, resource="configmaps"),
        dataclasses.replace(KEY, group="apps"),
        dataclasses.replace(KEY, strip_managed_fields=True),
        dataclasses.replace(KEY, format=persist.FORMAT_VERSION + 1),
    ],
    ids=["server", "ca", "system-ca", "resource", "group", "stripped", "format"],
)
def test_a_file_made_for_another_key_is_refused(tmp_path: Path, other: StateKey) -> None:
    path, _ = saved(tmp_path)
    with pytest.raises(StateFileError) as err:
        read_state(path, other)
    assert err.value.reason == "other-key"


def test_a_file_of_another_format_whose_header_does_not_decode_is_refused(
    tmp_path: Path,
) -> None:
    path = state_path(tmp_path, KEY)
    header = b"\x93\x01\x02\x03"  # msgpack, but not this format's header
    path.write_bytes(persist.MAGIC + len(header).to_bytes(4, "little") + header + b"\0" * 16)
    with pytest.raises(StateFileError) as err:
        read_state(path, KEY)
    assert err.value.reason == "other-key"


def test_keys_for_different_upstreams_name_different_files() -> None:
    assert KEY.file_name() != dataclasses.replace(KEY, server="https://other:6443").file_name()
    assert KEY.file_name() != dataclasses.replace(KEY, ca="system").file_name()
    assert KEY.file_name().startswith("core_v1_pods_")


def torn_versions(data: bytes) -> dict[str, bytes]:
    middle = len(data) // 2
    return {
        "cut in the middle": data[:middle],
        "cut before the end marker": data[: -len(persist.END)],
        "cut to the magic": data[: len(persist.MAGIC)],
        "empty": b"",
        "a byte flipped in a record": data[:middle]
        + bytes([data[middle] ^ 1])
        + data[middle + 1 :],
        "extended": data + b"\0" * 8,
        "a record's length changed": _bump_first_record_length(data),
    }


def _bump_first_record_length(data: bytes) -> bytes:
    header_len = int.from_bytes(data[8:12], "little")
    at = 12 + header_len
    length = int.from_bytes(data[at : at + 4], "little")
    return data[:at] + (length + 1).to_bytes(4, "little") + data[at + 4 :]


@pytest.mark.parametrize("how", list(torn_versions(b"x" * 100)))
def test_a_torn_file_is_refused(tmp_path: Path, how: str) -> None:
    path, _ = saved(tmp_path)
    path.write_bytes(torn_versions(path.read_bytes())[how])
    with pytest.raises(StateFileError) as err:
        read_state(path, KEY)
    assert err.value.reason == "torn"


def test_a_write_that_fails_half_way_leaves_the_previous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, cache = saved(tmp_path)
    before = path.read_bytes()

    def crash(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(persist.os, "fsync", crash)
    with pytest.raises(OSError):
        write_state(path, KEY, SavedState(200, [pod("x", rv=200)]))
    assert path.read_bytes() == before
    assert read_state(path, KEY).rv == cache.rv


def test_a_file_is_replaced_whole(tmp_path: Path) -> None:
    path, _ = saved(tmp_path)
    inode = os.stat(path).st_ino
    write_state(path, KEY, SavedState(300, [pod("only", rv=300)]))
    assert os.stat(path).st_ino != inode  # renamed over, not rewritten in place
    state = read_state(path, KEY)
    assert (state.rv, len(state.objects)) == (300, 1)
