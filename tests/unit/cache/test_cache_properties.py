"""Random event sequences against a dict model: the cache must agree at
every step, at every past RV in the window, and across continue pages."""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.cache.fakes import PODS, Clock, Fields, Labels, pod

from watchcache.cache.cache import Cache, CacheConfig
from watchcache.cache.history import TooOldResourceVersion
from watchcache.cache.shard import fnv1a64

NAMESPACES = ("a", "a-b", "b")

write = st.tuples(
    st.sampled_from(["put", "put", "delete"]),
    st.integers(0, 7),  # name
    st.integers(0, 2),  # namespace
    st.integers(0, 2),  # label value
    st.integers(0, 2),  # node
    st.integers(1, 3),  # rv gap
)


@dataclass
class Model:
    """Key -> raw bytes, with every past state and event."""

    state: dict[str, bytes] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    nodes: dict[str, str] = field(default_factory=dict)
    states: dict[int, dict[str, tuple[bytes, str, str]]] = field(default_factory=dict)
    events: list[tuple[str, str, int]] = field(default_factory=list)
    rv: int = 100


def step(cache: Cache, model: Model, op: tuple[str, int, int, int, int, int]) -> None:
    kind, name_i, ns_i, label_i, node_i, gap = op
    name, ns = f"p{name_i}", NAMESPACES[ns_i]
    key = f"{ns}/{name}"
    model.rv += gap
    if key in model.state and kind == "delete":
        raw = pod(name, ns, rv=model.rv, labels={"l": model.labels[key]}, node=model.nodes[key])
        cache.apply("DELETED", raw)
        del model.state[key], model.labels[key], model.nodes[key]
        model.events.append(("DELETED", key, model.rv))
    elif kind == "put":
        etype = "MODIFIED" if key in model.state else "ADDED"
        label, node = f"v{label_i}", f"n{node_i}"
        raw = pod(name, ns, rv=model.rv, labels={"l": label}, node=node)
        cache.apply(etype, raw)
        model.state[key], model.labels[key], model.nodes[key] = raw, label, node
        model.events.append((etype, key, model.rv))
    else:
        model.rv -= gap  # deleting nothing: upstream sends no event
        return
    model.states[model.rv] = {
        k: (v, model.labels[k], model.nodes[k]) for k, v in model.state.items()
    }


def new_cache(**config: int) -> Cache:
    cache = Cache(PODS, CacheConfig(shard_count=4, **config), clock=Clock())  # type: ignore[arg-type]
    cache.replace([], 100)
    return cache


def listed(cache: Cache, **kw: object) -> list[tuple[str, bytes]]:
    page = cache.list(**kw)  # type: ignore[arg-type]
    assert page.continue_after is None
    return [(e.key, e.raw) for e in page.items]


def state_at(model: Model, rv: int) -> dict[str, tuple[bytes, str, str]]:
    known = [r for r in model.states if r <= rv]
    return model.states[max(known)] if known else {}


@settings(max_examples=80, deadline=None)
@given(st.lists(write, max_size=50))
def test_list_now_and_at_every_past_rv_match_the_model(
    ops: list[tuple[str, int, int, int, int, int]],
) -> None:
    cache, model = new_cache(), Model()
    model.states[100] = {}
    for op in ops:
        step(cache, model, op)
        assert listed(cache) == sorted(model.state.items())
        assert cache.rv == model.rv
    for rv in range(100, model.rv + 1):
        want = state_at(model, rv)
        assert listed(cache, rv=rv) == sorted((k, v[0]) for k, v in want.items())
        assert listed(cache, rv=rv, namespace="a") == sorted(
            (k, v[0]) for k, v in want.items() if k.startswith("a/")
        )
        assert listed(cache, rv=rv, labels=Labels({"l": "v1"})) == sorted(
            (k, v[0]) for k, v in want.items() if v[1] == "v1"
        )
        by_node = listed(cache, rv=rv, fields=Fields({"spec.nodeName": "n2"}))  # index lookup
        assert by_node == sorted((k, v[0]) for k, v in want.items() if v[2] == "n2")
        assert [(e.type, e.key, e.rv) for e in cache.since(rv)] == [
            e for e in model.events if e[2] > rv
        ]


@settings(max_examples=60, deadline=None)
@given(st.lists(write, min_size=1, max_size=60), st.integers(1, 200), st.integers(0, 2))
def test_small_history_serves_or_expires_never_lies(
    ops: list[tuple[str, int, int, int, int, int]], max_bytes: int, probe: int
) -> None:
    """With a byte bound that evicts, an exact read is right or refused."""
    cache, model = new_cache(history_max_bytes=max_bytes * 20), Model()
    model.states[100] = {}
    for op in ops:
        step(cache, model, op)
    oldest = cache.history.oldest()
    for rv in range(100, model.rv + 1):
        want = sorted((k, v[0]) for k, v in state_at(model, rv).items())
        try:
            got = listed(cache, rv=rv)
        except TooOldResourceVersion as err:
            assert rv < oldest - 1, err.message
            continue
        assert rv >= oldest - 1
        assert got == want


@settings(max_examples=80, deadline=None)
@given(
    st.lists(write, min_size=1, max_size=40),
    st.lists(write, max_size=40),
    st.integers(1, 5),
    st.sampled_from([None, "a"]),
    st.booleans(),
    st.booleans(),
)
def test_continue_pages_concatenate_to_the_list_at_the_token_rv(
    before: list[tuple[str, int, int, int, int, int]],
    between: list[tuple[str, int, int, int, int, int]],
    limit: int,
    namespace: str | None,
    selected: bool,
    ranged: bool,
) -> None:
    cache, model = new_cache(), Model()
    ranges = [(0, 1 << 63)] if ranged else None
    model.states[100] = {}
    for op in before:
        step(cache, model, op)
    at = model.rv
    want = [
        (k, v[0])
        for k, v in sorted(state_at(model, at).items())
        if (namespace is None or k.startswith(namespace + "/"))
        and (not selected or v[1] == "v1")
        and (not ranged or fnv1a64("uid-" + k.replace("/", "-")) < 1 << 63)
    ]
    labels = Labels({"l": "v1"}) if selected else None
    page = cache.list(namespace=namespace, labels=labels, limit=limit, shard_ranges=ranges)
    got = [(e.key, e.raw) for e in page.items]
    pending = list(between)
    while page.continue_after is not None:
        assert page.rv == at
        assert len(page.items) == limit
        if not selected:
            # Without selectors, remaining counts what the range still holds.
            assert page.remaining == len(want) - len(got)
        else:
            assert page.remaining is None
        if pending:
            step(cache, model, pending.pop(0))  # a write between pages
        page = cache.list(
            namespace=namespace,
            labels=labels,
            limit=limit,
            rv=page.rv,
            continue_after=page.continue_after,
            shard_ranges=ranges,
        )
        got += [(e.key, e.raw) for e in page.items]
    assert got == want
