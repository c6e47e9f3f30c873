"""ListOptions.from_query: decoding, validation order and messages."""

from __future__ import annotations

import pytest

from watchcache.api.continuetoken import ContinueToken, encode_continue
from watchcache.api.listoptions import ListOptions
from watchcache.api.resources import GroupVersionResource, resource_info
from watchcache.api.selectors import FieldSelector, LabelSelector
from watchcache.api.status import ApiError

PODS = resource_info(GroupVersionResource("", "v1", "pods"))
TOKEN = encode_continue(5, "a")


def _parse(query: dict[str, str], watch: bool = False) -> ListOptions:
    return ListOptions.from_query(query, watch=watch, resource=PODS)


def _error(query: dict[str, str], watch: bool = False) -> ApiError:
    with pytest.raises(ApiError) as caught:
        _parse(query, watch)
    return caught.value


def test_defaults_and_unknown_parameters_ignored() -> None:
    opts = _parse({"pretty": "true", "shardSelector": "", "resourceVersion": ""})
    assert opts == ListOptions()
    assert opts.label_selector.empty and opts.field_selector.empty


SHARD = "shardRange(object.metadata.uid, '0x0000000000000000', '0x8000000000000000')"


@pytest.mark.parametrize("watch", [False, True], ids=["list", "watch"])
def test_shard_selector_is_parsed_with_the_other_selectors(watch: bool) -> None:
    opts = _parse({"shardSelector": SHARD}, watch)
    assert opts.shard_selector is not None
    assert (opts.shard_selector.field, opts.shard_selector.ranges) == ("uid", ((0, 1 << 63),))


def test_a_malformed_shard_selector_is_a_400_naming_the_reason() -> None:
    err = _error({"shardSelector": "shardRange(object.metadata.uid, '0x0', '0x1')"})
    assert (err.code, err.reason) == (400, "BadRequest")
    assert err.message == (
        'invalid shard selector: hexStart must be a 0x-prefixed 16-digit hex value, got "0x0" '
        '(did you mean "0x0000000000000000"?)'
    )


def test_full_list_query() -> None:
    opts = _parse(
        {
            "labelSelector": "app=web",
            "fieldSelector": "spec.nodeName=n1",
            "limit": "10",
            "resourceVersion": "7",
            "resourceVersionMatch": "Exact",
            "timeoutSeconds": "30",
        }
    )
    assert opts.label_selector == LabelSelector.parse("app=web")
    assert opts.field_selector == FieldSelector.parse("spec.nodeName=n1")
    assert (opts.limit, opts.resource_version, opts.resource_version_match) == (10, "7", "Exact")
    assert opts.timeout_seconds == 30 and not opts.watch


def test_continue_is_decoded_and_rv_zero_allowed() -> None:
    assert _parse({"continue": TOKEN}).continue_token == ContinueToken(5, "a\x00")
    assert _parse({"continue": TOKEN, "resourceVersion": "0"}).continue_token is not None


def test_go_bools() -> None:
    assert _parse({"watch": "maybe"}).watch
    assert not _parse({"watch": "FALSE"}).watch
    assert not _parse({"watch": "0"}).watch
    assert _parse({"allowWatchBookmarks": ""}).allow_watch_bookmarks
    assert _parse({}, watch=True).watch


def test_negative_limit_means_none() -> None:
    assert _parse({"limit": "-1"}).limit == 0


@pytest.mark.parametrize(
    ("query", "code", "message"),
    [
        ({"limit": "abc"}, 400, 'strconv.ParseInt: parsing "abc": invalid syntax'),
        (
            {"limit": "99999999999999999999"},
            400,
            'strconv.ParseInt: parsing "99999999999999999999": value out of range',
        ),
        # timeoutSeconds is decoded before limit, limit before selectors.
        (
            {"timeoutSeconds": "y", "limit": "x"},
            400,
            'strconv.ParseInt: parsing "y": invalid syntax',
        ),
        (
            {"labelSelector": "a b", "limit": "x"},
            400,
            'strconv.ParseInt: parsing "x": invalid syntax',
        ),
        ({"fieldSelector": "spec.foo=x"}, 400, "field label not supported: spec.foo"),
        ({"fieldSelector": "zz=1,aa=2"}, 400, "field label not supported: aa"),
        ({"fieldSelector": "zz=1", "continue": "abc"}, 400, "field label not supported: zz"),
        (
            {"continue": "abc"},
            400,
            "invalid continue token: continue key is not valid: "
            "invalid character 'i' looking for beginning of value",
        ),
        (
            {"continue": "abc", "resourceVersion": "1"},
            400,
            "invalid continue token: continue key is not valid: "
            "invalid character 'i' looking for beginning of value",
        ),
        (
            {"continue": TOKEN, "resourceVersion": "5"},
            400,
            "specifying resource version is not allowed when using continue",
        ),
        (
            {"resourceVersion": "abc"},
            400,
            'invalid resource version: resourceVersion: Invalid value: "abc": '
            'strconv.ParseUint: parsing "abc": invalid syntax',
        ),
        (
            {"resourceVersion": "+1", "limit": "1"},
            400,
            'invalid resource version: resourceVersion: Invalid value: "+1": '
            'strconv.ParseUint: parsing "+1": invalid syntax',
        ),
    ],
)
def test_bad_requests(query: dict[str, str], code: int, message: str) -> None:
    err = _error(query)
    assert (err.code, err.message) == (code, message)
    assert err.reason == ("BadRequest" if code == 400 else "")


def _causes(err: ApiError) -> list[str]:
    assert (err.code, err.reason) == (422, "Invalid")
    details = err.status()["details"]
    assert details["group"] == "meta.k8s.io" and details["kind"] == "ListOptions"
    return [c["message"] for c in details["causes"]]


def test_match_without_rv() -> None:
    err = _error({"resourceVersionMatch": "Exact"})
    assert err.message == (
        'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: '
        "resourceVersionMatch is forbidden unless resourceVersion is provided"
    )


def test_match_with_continue_reports_every_cause() -> None:
    err = _error({"resourceVersionMatch": "NotOlderThan", "continue": TOKEN})
    assert _causes(err) == [
        "Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided",
        "Forbidden: resourceVersionMatch is forbidden when continue is provided",
    ]
    assert err.message.startswith('ListOptions.meta.k8s.io "" is invalid: [resourceVersionMatch')


def test_unsupported_match_and_exact_zero() -> None:
    assert _causes(_error({"resourceVersionMatch": "Foo", "resourceVersion": "1"})) == [
        'Unsupported value: "Foo": supported values: "Exact", "NotOlderThan", ""'
    ]
    assert _causes(_error({"resourceVersionMatch": "Exact", "resourceVersion": "0"})) == [
        'Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"'
    ]


def test_validation_precedes_field_labels_but_follows_selectors() -> None:
    assert _error({"fieldSelector": "zz=1", "resourceVersionMatch": "Exact"}).code == 422
    assert _error({"labelSelector": "a b", "resourceVersionMatch": "Exact"}).code == 400


def test_send_initial_events_forbidden_for_list() -> None:
    err = _error({"sendInitialEvents": "true"})
    assert err.status()["details"]["causes"] == [
        {
            "reason": "FieldValueForbidden",
            "message": "Forbidden: sendInitialEvents is forbidden for list",
            "field": "sendInitialEvents",
        }
    ]


def test_watch_list_options() -> None:
    opts = _parse(
        {
            "sendInitialEvents": "true",
            "resourceVersionMatch": "NotOlderThan",
            "allowWatchBookmarks": "true",
        },
        watch=True,
    )
    assert opts.send_initial_events is True and opts.allow_watch_bookmarks


def test_watch_validation_1_34() -> None:
    assert _causes(_error({"resourceVersionMatch": "NotOlderThan"}, watch=True)) == [
        "Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"
    ]
    assert _causes(_error({"sendInitialEvents": "true"}, watch=True)) == [
        "Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"
    ]
    assert _causes(
        _error({"sendInitialEvents": "1", "resourceVersionMatch": "Exact"}, watch=True)
    ) == [
        "Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
        'Unsupported value: "Exact": supported values: "NotOlderThan"',
    ]


def test_watch_ignores_continue_and_rv_errors_are_400() -> None:
    assert _parse({"continue": "abc"}, watch=True).continue_token is None
    assert _error({"resourceVersion": "x", "limit": "1"}, watch=True).code == 400


@pytest.mark.parametrize(
    "query",
    [
        # etcd reads (continue, limit with RV not "0", Exact) parse the RV
        # first and call it a bad request...
        {"resourceVersion": "-1", "limit": "1", "continue": "abc"},
        {"resourceVersion": "abc", "continue": TOKEN},
        {"resourceVersion": "abc", "resourceVersionMatch": "Exact"},
        # ...and so do we where 1.20's watch cache answers a bare 500.
        {"resourceVersion": "abc", "resourceVersionMatch": "NotOlderThan"},
        {"resourceVersion": "18446744073709551616"},
    ],
)
def test_a_bad_rv_is_a_bad_request_whoever_would_serve_it(query: dict[str, str]) -> None:
    err = _error(query)
    assert (err.code, err.reason) == (400, "BadRequest")
    assert err.message.endswith("invalid syntax") or err.message.endswith("value out of range")
    assert err.message.startswith("invalid resource version: ")


LONG = "9" * 5000  # over Python's 4,300-digit int() limit


@pytest.mark.parametrize("name", ["limit", "timeoutSeconds"])
@pytest.mark.parametrize("watch", [False, True])
def test_integers_of_any_length_are_out_of_range_not_a_crash(name: str, watch: bool) -> None:
    """Before: ValueError from int(), a plain-text 500 with a traceback."""
    error = _error({name: LONG}, watch)
    assert (error.code, error.reason) == (400, "BadRequest")
    assert error.message == f'strconv.ParseInt: parsing "{LONG}": value out of range'
    assert _parse({name: "0" * 5000 + "3"}, watch) is not None


@pytest.mark.parametrize("watch", [False, True])
def test_a_resource_version_of_any_length(watch: bool) -> None:
    error = _error({"resourceVersion": LONG}, watch)
    assert (error.code, error.reason) == (400, "BadRequest")
    assert error.message == (
        f'invalid resource version: resourceVersion: Invalid value: "{LONG}": '
        f'strconv.ParseUint: parsing "{LONG}": value out of range'
    )
    padded = _parse({"resourceVersion": "0" * 5000 + "42"}, watch)
    assert padded.rv == 42


def test_a_label_selector_operand_of_any_length() -> None:
    error = _error({"labelSelector": "a>" + LONG})
    assert (error.code, error.reason) == (400, "BadRequest")


def test_quoting_in_integer_errors_is_gos() -> None:
    assert _error({"limit": 'a"b'}).message == 'strconv.ParseInt: parsing "a\\"b": invalid syntax'
