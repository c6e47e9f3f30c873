from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.cache.fakes import POD_FIELDS, pod

from watchcache.cache.entry import Entry, EntryCodec
from watchcache.cache.shard import fnv1a64
from watchcache.cache.store import Store, namespace_bounds

CODEC = EntryCodec(
    kind="Pod", api_version="v1", namespaced=True, field_defaults=POD_FIELDS, builtin=True
)


def entry(name: str, ns: str = "default", **kw: object) -> Entry:
    return CODEC.decode(pod(name, ns, **kw))  # type: ignore[arg-type]


def test_put_get_delete_return_previous() -> None:
    s = Store()
    a1, a2 = entry("a", rv=1), entry("a", rv=2)
    assert s.put(a1) is None
    assert s.put(a2) is a1
    assert s.get("default/a") is a2
    assert s.delete("default/a") is a2
    assert s.delete("default/a") is None
    assert len(s) == 0 and list(s.keys()) == []


def test_keys_are_merged_in_key_order_across_shards() -> None:
    s = Store(shard_count=8)
    names = [f"p{i:03d}" for i in range(200)]
    for n in reversed(names):
        s.put(entry(n, "ns"))
    assert list(s.keys()) == [f"ns/{n}" for n in names]
    assert s.count() == 200


def test_namespace_is_a_contiguous_key_range() -> None:
    s = Store(shard_count=4)
    for ns in ("a", "a-b", "a.b", "ab", "b"):
        for n in ("x", "y"):
            s.put(entry(n, ns))
    lo, hi = namespace_bounds("a")
    assert list(s.keys(lo=lo, hi=hi)) == ["a/x", "a/y"]
    assert s.count(lo=lo, hi=hi) == 2
    assert list(s.keys(lo=lo, hi=hi, after="a/x")) == ["a/y"]
    assert s.count(lo=lo, hi=hi, after="a/x") == 1
    assert list(s.keys(after="ab/y")) == ["b/x", "b/y"]


def test_field_index_follows_updates_and_deletes() -> None:
    s = Store(indexed_fields=("spec.nodeName",))
    s.put(entry("a", node="n1"))
    s.put(entry("b", node="n1"))
    s.put(entry("c"))
    assert s.index_keys("spec.nodeName", "n1") == ["default/a", "default/b"]
    assert s.index_keys("spec.nodeName", "") == ["default/c"]
    s.put(entry("a", node="n2", rv=2))
    s.delete("default/b")
    assert s.index_keys("spec.nodeName", "n1") == []
    assert s.index_keys("spec.nodeName", "n2") == ["default/a"]
    assert s._index["spec.nodeName"].get("n1") is None  # empty sets are removed


def test_custom_index_function_with_several_values() -> None:
    s = Store(indexers={"label-keys": lambda e: list(e.labels)})
    s.put(entry("a", labels={"x": "1", "y": "2"}))
    s.put(entry("b", labels={"y": "3"}))
    assert s.index_keys("label-keys", "y") == ["default/a", "default/b"]
    assert s.index_keys("label-keys", "x") == ["default/a"]
    assert s.has_index("label-keys") and not s.has_index("spec.nodeName")


def test_recreated_object_with_new_uid_moves_shard() -> None:
    s = Store(shard_count=16)
    uids = [f"u{i}" for i in range(100)]
    first, other = (
        uids[0],
        next(u for u in uids if s.plan.shard_of(fnv1a64(u)) != s.plan.shard_of(fnv1a64(uids[0]))),
    )
    s.put(entry("a", uid=first))
    s.put(entry("a", uid=other, rv=2))
    assert list(s.keys()) == ["default/a"] and s.count() == 1
    assert sum(len(sh) for sh in s._shards) == 1


def test_shard_ranges_select_by_uid_hash() -> None:
    s = Store(shard_count=4)
    for i in range(300):
        s.put(entry(f"p{i}", uid=f"uid-{i}"))
    half = 1 << 63
    low = list(s.keys(shard_ranges=[(0, half)]))
    high = list(s.keys(shard_ranges=[(half, 1 << 64)]))
    assert sorted(low + high) == list(s.keys())
    assert all(fnv1a64(s.get(k).uid) < half for k in low)  # type: ignore[union-attr]
    # An unaligned range cuts a shard: objects are tested one by one.
    cut = (123456789, 0x9000_0000_0000_0000)
    got = list(s.keys(shard_ranges=[cut]))
    every = list(s.keys())
    want = [k for k in every if cut[0] <= fnv1a64(s.get(k).uid) < cut[1]]  # type: ignore[union-attr]
    assert got == want and got


def test_namespace_hash_mode() -> None:
    s = Store(shard_count=4, hash_by="namespace")
    e = entry("a", "ns1")
    s.put(e)
    assert s.hash_of(e) == fnv1a64("ns1")


def test_clear_empties_shards_and_indexes() -> None:
    s = Store(indexed_fields=("spec.nodeName",), shard_count=2)
    s.put(entry("a", node="n"))
    s.clear()
    assert len(s) == 0 and list(s.keys()) == [] and s.index_keys("spec.nodeName", "n") == []


ops = st.lists(
    st.tuples(
        st.sampled_from(["put", "delete"]), st.integers(0, 15), st.integers(0, 3), st.integers(0, 2)
    ),
    max_size=60,
)


@settings(max_examples=60, deadline=None)
@given(ops)
def test_store_invariants_under_random_operations(seq: list[tuple[str, int, int, int]]) -> None:
    s = Store(shard_count=4, indexed_fields=("spec.nodeName",))
    model: dict[str, Entry] = {}
    for rv, (op, name, node, uidv) in enumerate(seq, start=1):
        key = f"ns{name % 3}/p{name}"
        if op == "put":
            e = entry(f"p{name}", f"ns{name % 3}", node=f"n{node}", uid=f"u{name}-{uidv}", rv=rv)
            s.put(e)
            model[key] = e
        else:
            s.delete(key)
            model.pop(key, None)
        assert list(s.keys()) == sorted(model)
        assert s.count() == len(model)
        for n in range(4):
            want = sorted(k for k, e in model.items() if e.fields["spec.nodeName"] == f"n{n}")
            assert s.index_keys("spec.nodeName", f"n{n}") == want
        assert sum(len(sh) for sh in s._shards) == len(model)
        low, high = (list(s.keys(shard_ranges=[r])) for r in ((0, 1 << 63), (1 << 63, 1 << 64)))
        assert sorted(low + high) == sorted(model)
        assert low == sorted(low) and high == sorted(high)
