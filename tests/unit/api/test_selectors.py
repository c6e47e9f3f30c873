"""Label and field selectors: grammar, kube's error text, matching."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from watchcache.api.selectors import FieldSelector, LabelSelector
from watchcache.api.status import ApiError

_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    "'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)
_KEY_MSG = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and "
    "end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex "
    "used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)


def _label_error(text: str) -> str:
    with pytest.raises(ApiError) as caught:
        LabelSelector.parse(text)
    assert (caught.value.code, caught.value.reason) == (400, "BadRequest")
    return caught.value.message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # These agree with what a real v1.20 kube-apiserver answered.
        ("a=b,,", "found ',', expected: identifier after ','"),
        ("a in (b", "unable to parse requirement: found '', expected: ',' or ')'"),
        ("!a=b", "found '=', expected: ',' or 'end of string'"),
        ("a=b=c", "found '=', expected: ',' or 'end of string'"),
        (")", "found ')', expected: !, identifier, or 'end of string'"),
        # 1.34+ wording.
        ("a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"),
        ("-a", f'unable to parse requirement: <nil>: Invalid value: "-a": {_KEY_MSG}'),
        ("a=-b", f'unable to parse requirement: values[0][a]: Invalid value: "-b": {_VALUE_MSG}'),
        (
            "a>b",
            "unable to parse requirement: values[0]: Invalid value: \"b\": for 'Gt', 'Lt' "
            "operators, the value must be an integer",
        ),
    ],
)
def test_label_parse_errors(text: str, message: str) -> None:
    assert _label_error(text) == message


def test_key_with_bad_prefix_and_empty_name() -> None:
    message = _label_error("Foo.com/")
    assert "prefix part a lowercase RFC 1123 subdomain" in message
    assert "name part must be non-empty" in message
    assert message.startswith('unable to parse requirement: <nil>: Invalid value: "Foo.com/": ')


def test_too_long_value() -> None:
    assert "must be no more than 63 characters" in _label_error("a=" + "x" * 64)


@pytest.mark.parametrize(
    ("text", "labels", "expected"),
    [
        ("", {}, True),
        ("a=b", {"a": "b"}, True),
        ("a==b", {"a": "c"}, False),
        ("a!=b", {}, True),
        ("a!=b", {"a": "b"}, False),
        ("a in (x,y)", {"a": "y"}, True),
        ("a in (x,y)", {}, False),
        ("a notin (x,y)", {}, True),
        ("a notin (x,y)", {"a": "x"}, False),
        ("a", {"a": ""}, True),
        ("!a", {"a": ""}, False),
        ("!a", {"b": "1"}, True),
        ("a>5", {"a": "6"}, True),
        ("a>5", {"a": "5"}, False),
        ("a>5", {"a": "x"}, False),
        ("a<5", {"a": "-3"}, True),
        ("a<5", {}, False),
        ("a in ()", {"a": ""}, True),
        ("a=", {"a": ""}, True),
        ("a=b,c", {"a": "b"}, False),
        ("a=b,c", {"a": "b", "c": "1"}, True),
        ("notin in (in)", {"notin": "in"}, True),
    ],
)
def test_label_matching(text: str, labels: dict[str, str], expected: bool) -> None:
    assert LabelSelector.parse(text).matches(labels) is expected


def test_label_string_is_canonical_and_sorted() -> None:
    selector = LabelSelector.parse("z in (b,a), a==1 ,!m")
    assert str(selector) == "!m,a==1,z in (a,b)" or str(selector) == "a==1,!m,z in (a,b)"
    assert str(selector).split(",")[0] == "a==1"
    assert LabelSelector.parse("").empty and not selector.empty


def test_label_exact() -> None:
    selector = LabelSelector.parse("a=1,b in (2),c in (3,4),d!=5")
    assert [selector.exact(k) for k in "abcde"] == ["1", "2", None, None, None]


_KEY = st.from_regex(
    r"([a-z]{1,5}(\.[a-z]{1,5})?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,6}[A-Za-z0-9])?", fullmatch=True
)
_VALUE = st.from_regex(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,6}[A-Za-z0-9])?)?", fullmatch=True)


@st.composite
def _requirement(draw: st.DrawFn) -> str:
    key = draw(_KEY)
    kind = draw(st.sampled_from(["=", "==", "!=", "in", "notin", "exists", "!", ">", "<"]))
    if kind == "exists":
        return key
    if kind == "!":
        return "!" + key
    if kind in ("in", "notin"):
        values = draw(st.lists(_VALUE, min_size=1, max_size=3, unique=True))
        return f"{key} {kind} ({','.join(values)})"
    if kind in (">", "<"):
        return f"{key}{kind}{draw(st.integers(0, 10**6))}"
    return f"{key}{kind}{draw(_VALUE)}"


@given(st.lists(_requirement(), max_size=5))
def test_label_round_trip(requirements: list[str]) -> None:
    selector = LabelSelector.parse(",".join(requirements))
    again = LabelSelector.parse(str(selector))
    assert again == selector
    assert str(again) == str(selector)


@given(st.text(max_size=40))
def test_label_parse_raises_only_api_errors(text: str) -> None:
    try:
        LabelSelector.parse(text)
    except ApiError as err:
        assert err.code == 400


@given(
    st.dictionaries(_KEY, _VALUE, max_size=4),
    st.dictionaries(_KEY, _VALUE, max_size=4),
)
def test_equality_selector_agrees_with_dict_comparison(
    wanted: dict[str, str], labels: dict[str, str]
) -> None:
    selector = LabelSelector.parse(",".join(f"{k}={v}" for k, v in wanted.items()))
    expected = all(labels.get(k) == v for k, v in wanted.items())
    assert selector.matches(labels) is expected


def _field_error(text: str) -> str:
    with pytest.raises(ApiError) as caught:
        FieldSelector.parse(text)
    assert caught.value.code == 400
    return caught.value.message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a", "invalid selector: 'a'; can't understand 'a'"),
        ("x=1,a~b", "invalid selector: 'x=1,a~b'; can't understand 'a~b'"),
        ("metadata.name=a=b", "invalid field selector: unescaped character in value: 61"),
        ("metadata.name=a\\x", "invalid field selector: invalid escape sequence: \\x"),
        ("metadata.name=a\\", "invalid field selector: invalid escape sequence: \\"),
    ],
)
def test_field_parse_errors(text: str, message: str) -> None:
    assert _field_error(text) == message


def test_field_matching_and_exact() -> None:
    selector = FieldSelector.parse("spec.nodeName=n1,status.phase!=Failed,metadata.name==a\\,b")
    assert selector.fields == frozenset({"spec.nodeName", "status.phase", "metadata.name"})
    assert selector.exact("spec.nodeName") == "n1"
    assert selector.exact("metadata.name") == "a,b"
    assert selector.exact("status.phase") is None
    fields = {"spec.nodeName": "n1", "status.phase": "Running", "metadata.name": "a,b"}
    assert selector.matches(fields)
    assert not selector.matches({**fields, "status.phase": "Failed"})
    assert not selector.matches({**fields, "spec.nodeName": "n2"})


def test_field_missing_reads_as_empty() -> None:
    assert FieldSelector.parse("x=").matches({})
    assert not FieldSelector.parse("x!=").matches({})
    assert FieldSelector.parse(",,").empty
    assert FieldSelector.parse("=,!=").empty
    assert FieldSelector.parse("=x").fields == frozenset({""})


_FIELD_VALUE = st.text(alphabet="ab,=\\ .-", max_size=6)


@given(
    st.lists(st.tuples(st.sampled_from(["f", "g.h", "i"]), st.booleans(), _FIELD_VALUE), max_size=4)
)
def test_field_round_trip(terms: list[tuple[str, bool, str]]) -> None:
    text = ",".join(
        f"{f}{'=' if eq else '!='}{v.replace(chr(92), chr(92) * 2).replace(',', chr(92) + ',').replace('=', chr(92) + '=')}"
        for f, eq, v in terms
    )
    selector = FieldSelector.parse(text)
    assert FieldSelector.parse(str(selector)) == selector
    fields = {f: v for f, _, v in terms}
    assert selector.matches(fields) is all((fields[f] == v) == eq for f, eq, v in terms)


@given(st.text(max_size=40))
def test_field_parse_raises_only_api_errors(text: str) -> None:
    try:
        FieldSelector.parse(text)
    except ApiError as err:
        assert err.code == 400


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("6", True),
        ("+6", True),
        ("1_0", False),
        (" 7", False),
        ("\u0667", False),  # ARABIC-INDIC DIGIT SEVEN
        ("9223372036854775807", True),
        ("9223372036854775808", False),
        ("-9223372036854775808", False),
    ],
)
def test_greater_than_reads_labels_as_go_int64(value: str, expected: bool) -> None:
    assert LabelSelector.parse("a>5").matches({"a": value}) is expected


def test_nul_is_gos_end_of_input_marker() -> None:
    # Answers a v1.20 server gave for the same selectors.
    assert str(LabelSelector.parse("a\0 =")) == "a="
    assert _label_error("a=\0=b") == "unable to parse requirement: found '=', expected: identifier"
    assert _label_error("a\0b=c").startswith("unable to parse requirement: found 'b', expected:")
    assert LabelSelector.parse("\0a=b").empty
