"""KEP-5866 shard selectors: kube-apiserver's grammar, bounds and messages."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from watchcache.api.shardselector import ShardSelector, even_shards, fnv1a64

LO, MID, END = "0x0000000000000000", "0x8000000000000000", "0x10000000000000000"


def test_even_shards_are_the_kep_examples_and_parse() -> None:
    assert even_shards(2) == [
        f"shardRange(object.metadata.uid, '{LO}', '{MID}')",
        f"shardRange(object.metadata.uid, '{MID}', '{END}')",
    ]
    joined = ShardSelector.parse(" || ".join(even_shards(4, "namespace")[:2]))
    assert joined.field == "namespace"
    assert joined.ranges == ((0, 1 << 62), (1 << 62, 1 << 63))


def test_the_cel_subset_parses() -> None:
    text = (
        f"( shardRange(object.metadata.uid,\"{LO}\",'0x4000000000000000') ||"
        f"shardRange( object . metadata . uid , '{MID}', '{END}' ) )"
    )
    assert ShardSelector.parse(text).ranges == ((0, 1 << 62), (1 << 63, 1 << 64))


def test_bounds_are_start_inclusive_end_exclusive() -> None:
    h = fnv1a64("some-uid")
    at = f"0x{h:016x}"
    after = f"0x{h + 1:016x}"
    assert ShardSelector.parse(f"shardRange(object.metadata.uid, '{at}', '{after}')").matches(
        "some-uid", ""
    )
    assert not ShardSelector.parse(f"shardRange(object.metadata.uid, '{LO}', '{at}')").matches(
        "some-uid", ""
    )


def test_the_hash_is_fnv1a_64() -> None:
    # Go's hash/fnv New64a of "" and "a".
    assert fnv1a64("") == 0xCBF29CE484222325
    assert fnv1a64("a") == 0xAF63DC4C8601EC8C


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "  ",
            "empty shard selector is not allowed; omit the parameter for unfiltered lists",
        ),
        (
            f"shardRange(object.metadata.name, '{LO}', '{MID}')",
            'unsupported field path "object.metadata.name"; supported: '
            "object.metadata.uid, object.metadata.namespace",
        ),
        (
            f"shardRange(object.metadata.uid, '0x0', '{MID}')",
            'hexStart must be a 0x-prefixed 16-digit hex value, got "0x0" '
            '(did you mean "0x0000000000000000"?)',
        ),
        (
            f"shardRange(object.metadata.uid, '{LO}', '0x80000000000000000')",
            "hexEnd: 17-digit hex value must be '0x10000000000000000' (2^64), "
            'got "0x80000000000000000"',
        ),
        (
            f"shardRange(object.metadata.uid, '{LO}', '0x800000000000000A')",
            'hexEnd: invalid hex character "A" in "0x800000000000000A"',
        ),
        (
            f"shardRange(object.metadata.uid, '{MID}', '{MID}')",
            f"shard range start {MID} must be less than end {MID}",
        ),
        (
            f"shardRange(object.metadata.uid, '{LO}', 'ff')",
            "hexEnd must have '0x' prefix, got \"ff\"",
        ),
        (
            f"shardRange(object.metadata.uid, '{LO}')",
            "shardRange() requires exactly 3 arguments, got 2",
        ),
        (
            f"shardRange(object.metadata.uid, '{LO}', '{MID}') || "
            f"shardRange(object.metadata.namespace, '{MID}', '{END}')",
            'all shard ranges must use the same field, got "object.metadata.uid" '
            'and "object.metadata.namespace"',
        ),
        (
            f"hash(object.metadata.uid, '{LO}', '{MID}')",
            'unsupported function "hash"; only shardRange() and || are allowed',
        ),
    ],
)
def test_malformed_selectors_are_refused_with_kube_apiservers_reason(
    text: str, message: str
) -> None:
    with pytest.raises(ValueError) as raised:
        ShardSelector.parse(text)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    "text",
    [
        f"shardRange(object.metadata.uid, '{LO}', '{MID}') &&",
        f"shardRange(object.metadata.uid, '{LO}', '{MID}'",
        f"shardRange(object.metadata.uid, {LO}, '{MID}')",
    ],
)
def test_cel_syntax_errors_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"^CEL parse error: "):
        ShardSelector.parse(text)


@given(uids=st.lists(st.uuids().map(str), min_size=1, max_size=50), count=st.integers(1, 7))
def test_every_uid_is_in_exactly_one_even_shard(uids: list[str], count: int) -> None:
    shards = [ShardSelector.parse(text) for text in even_shards(count)]
    for uid in uids:
        assert sum(s.matches(uid, "ns") for s in shards) == 1
