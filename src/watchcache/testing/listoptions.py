"""Interim LIST/WATCH query options for the simulator.

TODO(watchcache/api/listoptions.py): replace by the shared module once it is
committed; ``ListOptions.from_query`` mirrors its interface. This version
checks the common mistakes (RV with continue, unsupported field selector
fields, resourceVersionMatch misuse); the shared one owns the exact
messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from watchcache.testing import status
from watchcache.testing.continuetoken import ContinueToken, decode_continue
from watchcache.testing.resources import ResourceInfo
from watchcache.testing.selectors import FieldSelector, LabelSelector

__all__ = ["ListOptions"]


def _int(query: Mapping[str, str], name: str) -> int | None:
    text = query.get(name)
    if text is None or text == "":
        return None
    try:
        return int(text)
    except ValueError:
        raise status.bad_request(f'strconv.ParseInt: parsing "{text}": invalid syntax') from None


def _bool(query: Mapping[str, str], name: str) -> bool | None:
    text = query.get(name)
    if text is None or text == "":
        return None
    return text.lower() in ("true", "1", "t")


def _match_cause(message: str, reason: str = "FieldValueForbidden") -> status.ApiError:
    prefix = "Forbidden: " if reason == "FieldValueForbidden" else ""
    cause = {"reason": reason, "message": prefix + message, "field": "resourceVersionMatch"}
    return status.invalid("ListOptions", "", [cause], "meta.k8s.io")


@dataclass(frozen=True, slots=True)
class ListOptions:
    resource_version: str | None
    resource_version_match: str | None
    limit: int
    continue_token: ContinueToken | None
    label_selector: LabelSelector
    field_selector: FieldSelector
    timeout_seconds: int | None
    allow_watch_bookmarks: bool
    send_initial_events: bool | None
    watch: bool

    @classmethod
    def from_query(
        cls, query: Mapping[str, str], *, watch: bool, resource: ResourceInfo
    ) -> ListOptions:
        watch = watch or bool(_bool(query, "watch"))
        rv = query.get("resourceVersion") or None
        match = query.get("resourceVersionMatch") or None
        token_text = query.get("continue") or None
        if token_text and rv and rv != "0":
            raise status.bad_request(
                "specifying resource version is not allowed when using continue"
            )
        fields = FieldSelector.parse(query.get("fieldSelector", ""))
        for name in fields.fields:
            if name not in resource.field_defaults:
                raise status.bad_request(f"field label not supported: {name}")
        if rv is not None and not rv.isdigit():
            raise status.bad_request(f'Invalid value: "{rv}": resourceVersion must be an integer')
        send_initial = _bool(query, "sendInitialEvents")
        _check_match(match, rv, watch, send_initial)
        return cls(
            resource_version=rv,
            resource_version_match=match,
            limit=max(_int(query, "limit") or 0, 0),
            continue_token=decode_continue(token_text) if token_text else None,
            label_selector=LabelSelector.parse(query.get("labelSelector", "")),
            field_selector=fields,
            timeout_seconds=_int(query, "timeoutSeconds"),
            allow_watch_bookmarks=bool(_bool(query, "allowWatchBookmarks")),
            send_initial_events=send_initial,
            watch=watch,
        )


def _check_match(match: str | None, rv: str | None, watch: bool, send_initial: bool | None) -> None:
    if match is None:
        if send_initial is not None and watch:
            raise _match_cause(
                "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"
            )
        return
    if match not in ("Exact", "NotOlderThan"):
        supported = f'Unsupported value: "{match}": supported values: "Exact", "NotOlderThan"'
        raise _match_cause(supported, "FieldValueNotSupported")
    if watch and (send_initial is None or match != "NotOlderThan"):
        raise _match_cause(
            "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"
        )
    if not watch and rv is None:
        raise _match_cause("resourceVersionMatch is forbidden unless resourceVersion is provided")
    if match == "Exact" and rv == "0":
        raise _match_cause('resourceVersionMatch "exact" is forbidden for resourceVersion "0"')
