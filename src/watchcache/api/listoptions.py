"""LIST and WATCH query parameters, decoded and validated as kube-apiserver does.

Glossary:
    query       the request's URL parameters, one value per name (the first,
                as Go's decoder takes). Unknown names are ignored.
    RV          ``resourceVersion``; unset and "" are the same.
    RVM         ``resourceVersionMatch``: "", "Exact" or "NotOlderThan".
    WatchList   a watch with ``sendInitialEvents`` (KEP-3157); 1.34+ knows
                it, so validation runs with the WatchList feature enabled.

Invariants:
    * ``ListOptions.from_query`` reports the first error kube-apiserver
      reports, in its order: integer parameters (``timeoutSeconds`` then
      ``limit``), the label selector, the field selector's syntax, the
      shard selector (``shardSelector``, KEP-5866; a 400; its place in
      kube-apiserver's order is our guess), option
      validation (422 Invalid, every cause at once), field labels the kind
      does not support, then for a LIST the continue token and
      RV-with-continue, and last an unparsable RV.
    * A ListOptions only exists if it passed all of that.

Versions: 1.34+ rules (k8s.io/apimachinery internalversion validation). A
v1.20 server differs for watches: it forbids resourceVersionMatch on any
watch ("resourceVersionMatch is forbidden for watch") and ignores
sendInitialEvents. An unparsable RV is a 400 "invalid resource version: ..."
(checked before the continue token). That is v1.20's answer when it reads the
LIST from etcd (a continue token, a limit with RV not "0", or RVM Exact);
when its watch cache serves the request it answers a bare 500 instead. We
answer 400 on every path, deliberately: a client's bad input is not a server
error, and a 500 would count against the proxy in every error budget.

Not applied here: kube-apiserver's SetListOptionsDefaults, which with the
WatchList feature on turns a watch at RV "" or "0" without
sendInitialEvents into sendInitialEvents=true, resourceVersionMatch=
NotOlderThan. ``ListOptions`` keeps what the client sent; the layer serving
the watch decides whether to treat it so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from watchcache.api.continuetoken import ContinueToken, decode_continue
from watchcache.api.resources import ResourceInfo
from watchcache.api.selectors import FieldSelector, LabelSelector
from watchcache.api.shardselector import ShardSelector
from watchcache.api.status import bad_request, cause, invalid
from watchcache.api.strconv import NumError, parse_int64, parse_uint64, quote

__all__ = ["EXACT", "INITIAL_EVENTS_END", "NOT_OLDER_THAN", "ListOptions"]

EXACT = "Exact"
NOT_OLDER_THAN = "NotOlderThan"
# The annotation on the BOOKMARK that ends a WatchList's initial events.
INITIAL_EVENTS_END = "k8s.io/initial-events-end"

_MATCH_FIELD = "resourceVersionMatch"


@dataclass(frozen=True, slots=True)
class ListOptions:
    resource_version: str | None = None
    resource_version_match: str | None = None
    limit: int = 0  # 0: no limit
    continue_token: ContinueToken | None = None
    label_selector: LabelSelector = field(default_factory=LabelSelector)
    field_selector: FieldSelector = field(default_factory=FieldSelector)
    timeout_seconds: int | None = None
    allow_watch_bookmarks: bool = False
    send_initial_events: bool | None = None
    watch: bool = False
    shard_selector: ShardSelector | None = None  # KEP-5866; None: unsharded

    @property
    def rv(self) -> int:
        """``resource_version`` as a number (0 when unset); from_query has
        checked that it is a uint64, leading zeros and all."""
        return parse_uint64(self.resource_version) if self.resource_version else 0

    @classmethod
    def from_query(
        cls, query: Mapping[str, str], *, watch: bool, resource: ResourceInfo
    ) -> ListOptions:
        """Decode and validate; raise the ApiError kube-apiserver answers.

        ``watch`` is true for a watch request however it was asked (the
        legacy /watch/ path or ``watch=true``).
        """
        timeout_seconds = _optional_int(query.get("timeoutSeconds"))
        limit = _optional_int(query.get("limit")) or 0
        labels = LabelSelector.parse(query.get("labelSelector", ""))
        fields = FieldSelector.parse(query.get("fieldSelector", ""))
        shard = _shard_selector(query.get("shardSelector") or "")
        opts = cls(
            resource_version=query.get("resourceVersion") or None,
            resource_version_match=query.get("resourceVersionMatch") or None,
            limit=max(limit, 0),
            label_selector=labels,
            field_selector=fields,
            timeout_seconds=timeout_seconds,
            allow_watch_bookmarks=_go_bool(query.get("allowWatchBookmarks")),
            send_initial_events=_optional_bool(query.get("sendInitialEvents")),
            watch=watch or _go_bool(query.get("watch")),
            shard_selector=shard,
        )
        raw_continue = query.get("continue") or ""
        opts._validate(raw_continue)
        _check_field_labels(fields, resource)
        # The storage (etcd) path parses the RV before the continue token.
        _check_resource_version(opts.resource_version)
        if not _read_from_storage(opts, raw_continue):
            return opts
        token = _continue_token(raw_continue, opts.resource_version)
        return opts if token is None else replace(opts, continue_token=token)

    def _validate(self, raw_continue: str) -> None:
        causes = (
            _watch_causes(self, raw_continue) if self.watch else _list_causes(self, raw_continue)
        )
        if causes:
            raise invalid("ListOptions", "", causes, group="meta.k8s.io")


def _optional_int(text: str | None) -> int | None:
    """strconv.ParseInt(text, 10, 64) with Go's error text, as a 400."""
    if text is None:
        return None
    try:
        return parse_int64(text)
    except NumError as err:
        raise bad_request(str(err)) from None


def _shard_selector(text: str) -> ShardSelector | None:
    """``shardSelector`` (KEP-5866), decoded with the other selectors; an
    empty value is no selector. A malformed one is a 400, as kube-apiserver
    answers it (its reason after ``invalid shard selector: ``)."""
    if not text:
        return None
    try:
        return ShardSelector.parse(text)
    except ValueError as err:
        raise bad_request(f"invalid shard selector: {err}") from None


def _go_bool(text: str | None) -> bool:
    # apimachinery's query conversion: only "0" and "false" (any case) are
    # false; any other value, even "", is true.
    if text is None:
        return False
    return not (text == "0" or text.lower() == "false")


def _optional_bool(text: str | None) -> bool | None:
    return None if text is None else _go_bool(text)


def _forbidden(message: str) -> dict[str, str]:
    return cause("FieldValueForbidden", f"Forbidden: {message}", _MATCH_FIELD)


def _not_supported(value: str, supported: tuple[str, ...]) -> dict[str, str]:
    listed = ", ".join(f'"{s}"' for s in supported)
    message = f'Unsupported value: "{value}": supported values: {listed}'
    return cause("FieldValueNotSupported", message, _MATCH_FIELD)


def _list_causes(opts: ListOptions, raw_continue: str) -> list[dict[str, str]]:
    causes: list[dict[str, str]] = []
    match = opts.resource_version_match
    if match:
        if not opts.resource_version:
            causes.append(
                _forbidden("resourceVersionMatch is forbidden unless resourceVersion is provided")
            )
        if raw_continue:
            causes.append(_forbidden("resourceVersionMatch is forbidden when continue is provided"))
        if match not in (EXACT, NOT_OLDER_THAN):
            causes.append(_not_supported(match, (EXACT, NOT_OLDER_THAN, "")))
        if match == EXACT and opts.resource_version == "0":
            causes.append(
                _forbidden('resourceVersionMatch "exact" is forbidden for resourceVersion "0"')
            )
    if opts.send_initial_events is not None:
        causes.append(
            cause(
                "FieldValueForbidden",
                "Forbidden: sendInitialEvents is forbidden for list",
                "sendInitialEvents",
            )
        )
    return causes


def _watch_causes(opts: ListOptions, raw_continue: str) -> list[dict[str, str]]:
    causes: list[dict[str, str]] = []
    match = opts.resource_version_match
    if opts.send_initial_events is not None and match != NOT_OLDER_THAN:
        causes.append(
            _forbidden("sendInitialEvents requires setting resourceVersionMatch to NotOlderThan")
        )
    if match:
        if opts.send_initial_events is None:
            causes.append(
                _forbidden(
                    "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"
                )
            )
        if match != NOT_OLDER_THAN:
            causes.append(_not_supported(match, (NOT_OLDER_THAN,)))
        if raw_continue:
            causes.append(_forbidden("resourceVersionMatch is forbidden when continue is provided"))
    return causes


def _check_field_labels(fields: FieldSelector, resource: ResourceInfo) -> None:
    # Terms are in kube's order, so the first unsupported label reported is
    # the one kube-apiserver reports.
    for term in fields.terms:
        if term.field not in resource.field_defaults:
            raise resource.unsupported_field(term.field)


def _continue_token(raw: str, resource_version: str | None) -> ContinueToken | None:
    if not raw:
        return None
    token = decode_continue(raw)
    if resource_version not in (None, "0"):
        raise bad_request("specifying resource version is not allowed when using continue")
    return token


def _read_from_storage(opts: ListOptions, raw_continue: str) -> bool:
    """Whether kube-apiserver (v1.20's cacher.shouldDelegateList) sends this
    LIST to etcd rather than its watch cache; only etcd decodes the continue
    token. Watches are always the cache's."""
    if opts.watch:
        return False
    rv = opts.resource_version
    paged = opts.limit > 0 and rv != "0"
    return rv is None or bool(raw_continue) or paged or opts.resource_version_match == EXACT


def _rv_error(rv: str | None) -> str | None:
    """The Go error for an RV that is not a uint64, or None if it is one."""
    if rv is None:
        return None
    try:
        parse_uint64(rv)
    except NumError as err:
        return f"resourceVersion: Invalid value: {quote(rv)}: {err}"
    return None


def _check_resource_version(rv: str | None) -> None:
    error = _rv_error(rv)
    if error is not None:
        raise bad_request(f"invalid resource version: {error}")
