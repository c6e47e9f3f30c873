"""Server-side apply (``PATCH`` with ``application/apply-patch+yaml``), a
subset that behaves like kube-apiserver's for the cases tests meet.

Glossary:
    config     the applied object: what its manager wants, whole. A field
               the manager applied before and leaves out now is removed
               (unless another manager owns it too).
    manager    the ``fieldManager`` query parameter; required.
    path       one owned leaf, as a tuple of fieldsV1 keys: ``("f:data",
               "f:k")``; an element of a keyed list (patch.py's merge keys)
               is ``k:{"name":"c"}``; any other list is one atomic leaf.
    managed    ``metadata.managedFields``: one entry per apply manager,
               ``operation: Apply``, its paths as a FieldsV1 tree.

The subset: only apply managers own fields. Creates, updates and patches
made without apply record no ownership (kube-apiserver records them as
``operation: Update``), so an apply never conflicts with them; two apply
managers that set one field to different values do conflict (409 with
kube-apiserver's message) unless ``force=true``, which moves the field.

Invariant: ``apply`` returns the object to store, computed from the
current object (or None: create) without changing either argument.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import yaml

from watchcache.api import status
from watchcache.api.resources import ResourceInfo
from watchcache.simulator.admission import timestamp
from watchcache.simulator.patch import merge_key_of

__all__ = ["APPLY_PATCH", "ApplyRequest", "apply", "parse_config"]

APPLY_PATCH = "application/apply-patch+yaml"

Path = tuple[str, ...]

# Identity and server-owned fields: never owned, never removed by apply.
_UNOWNED_META = frozenset(
    {
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "managedFields",
        "selfLink",
    }
)


@dataclass(frozen=True, slots=True)
class ApplyRequest:
    info: ResourceInfo
    name: str
    manager: str
    force: bool
    now: datetime


class _ConfigLoader(yaml.SafeLoader):
    """YAML as kube-apiserver reads it into JSON: a date stays a string
    (PyYAML would make it a datetime); YAML 1.1 booleans (y, on) stay, as
    they do there."""


_ConfigLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse_config(info: ResourceInfo, name: str, raw: bytes) -> dict[str, Any]:
    """The applied object, checked the way kube-apiserver checks it."""
    try:
        config = yaml.load(raw, Loader=_ConfigLoader)  # a SafeLoader
    except yaml.YAMLError as err:
        raise status.bad_request(f"error decoding YAML: {err}") from None
    if not isinstance(config, dict):
        raise status.bad_request("the body of an apply patch must be an object")
    api_version = info.api_version
    if config.get("kind") != info.kind or config.get("apiVersion") != api_version:
        raise status.bad_request(
            f"apply patch must name kind {info.kind!r} and apiVersion {api_version!r}"
        )
    meta = config.get("metadata")
    if not isinstance(meta, dict):
        raise status.bad_request("metadata must be an object")
    if meta.get("name", name) != name:
        raise status.bad_request(
            f"the name of the object ({meta['name']}) does not match the name on the URL ({name})"
        )
    meta["name"] = name
    return config


def apply(
    request: ApplyRequest, current: dict[str, Any] | None, config: dict[str, Any]
) -> dict[str, Any]:
    owned = _owned_by_manager(current)
    applied = set(_leaves(config))
    others = {m: paths for m, paths in owned.items() if m != request.manager}
    if current is not None:
        _check_conflicts(request, current, config, applied, others)
    result = copy.deepcopy(current) if current is not None else {}
    if current is not None:
        still_owned = set().union(*others.values()) if others else set()
        for path in sorted(owned.get(request.manager, set()) - applied - still_owned):
            _remove(result, path)
    _merge(result, config)
    owned = {m: paths - applied for m, paths in others.items()} if request.force else others
    owned[request.manager] = applied
    result.setdefault("metadata", {})["managedFields"] = _managed_fields(request, current, owned)
    return result


# -- owned paths ---------------------------------------------------------


def _leaves(obj: Any, path: Path = (), field: str = "") -> Iterator[Path]:
    if isinstance(obj, dict):
        for key, value in obj.items():
            if _unowned(path, key):
                continue
            yield from _leaves(value, (*path, f"f:{key}"), key)
        return
    if isinstance(obj, list) and merge_key_of(field, obj):
        key_name = merge_key_of(field, obj)
        for item in obj:
            element = (*path, _element_key(key_name, item))
            yield from _leaves(item, element, "")
        return
    yield path


def _unowned(path: Path, key: str) -> bool:
    if not path:
        return key in ("apiVersion", "kind")
    return path == ("f:metadata",) and key in _UNOWNED_META


def _element_key(key_name: str | None, item: Any) -> str:
    value = item.get(key_name) if isinstance(item, dict) and key_name else item
    return "k:" + json.dumps({key_name: value}, separators=(",", ":"))


def _owned_by_manager(current: dict[str, Any] | None) -> dict[str, set[Path]]:
    if current is None:
        return {}
    owned: dict[str, set[Path]] = {}
    for entry in current.get("metadata", {}).get("managedFields") or ():
        if entry.get("operation") == "Apply" and entry.get("manager"):
            owned[entry["manager"]] = set(_paths_of(entry.get("fieldsV1") or {}))
    return owned


def _paths_of(tree: dict[str, Any], path: Path = ()) -> Iterator[Path]:
    if not tree:
        yield path
        return
    for key, child in tree.items():
        yield from _paths_of(child, (*path, key))


def _tree_of(paths: set[Path]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for path in sorted(paths):
        node = tree
        for key in path:
            node = node.setdefault(key, {})
    return tree


def _managed_fields(
    request: ApplyRequest, current: dict[str, Any] | None, owned: dict[str, set[Path]]
) -> list[dict[str, Any]]:
    api_version = request.info.api_version
    previous = {
        entry.get("manager"): entry
        for entry in (current or {}).get("metadata", {}).get("managedFields") or ()
    }
    entries = []
    for manager in sorted(owned):
        if not owned[manager]:
            continue
        unchanged = previous.get(manager)
        when = timestamp(request.now)
        if manager != request.manager and unchanged is not None:
            when = unchanged.get("time", when)
        entries.append(
            {
                "manager": manager,
                "operation": "Apply",
                "apiVersion": api_version,
                "time": when,
                "fieldsType": "FieldsV1",
                "fieldsV1": _tree_of(owned[manager]),
            }
        )
    return entries


# -- conflicts -----------------------------------------------------------


def _check_conflicts(
    request: ApplyRequest,
    current: dict[str, Any],
    config: dict[str, Any],
    applied: set[Path],
    others: dict[str, set[Path]],
) -> None:
    if request.force:
        return
    found = []
    for manager, paths in sorted(others.items()):
        for path in sorted(paths & applied):
            if _value_at(current, path) != _value_at(config, path):
                found.append((manager, path))
    if found:
        raise _conflict(request, current, found)


def _conflict(
    request: ApplyRequest, current: dict[str, Any], found: list[tuple[str, Path]]
) -> status.ApiError:
    """kube-apiserver's conflict Status (seen from 1.20): details carry only
    the causes; ``using V`` only when that manager applied another version."""
    versions = {
        entry.get("manager"): entry.get("apiVersion")
        for entry in current.get("metadata", {}).get("managedFields") or ()
    }
    causes = []
    for manager, path in found:
        text = f'conflict with "{manager}"'
        if versions.get(manager) not in (None, request.info.api_version):
            text += f" using {versions[manager]}"
        causes.append(status.cause("FieldManagerConflict", text, _dotted(path)))
    if len(found) == 1:
        message = f"Apply failed with 1 conflict: {causes[0]['message']}: {causes[0]['field']}"
    else:
        lines = "\n".join(f"- {c['message']}: {c['field']}" for c in causes)
        message = f"Apply failed with {len(found)} conflicts:\n{lines}"
    return status.ApiError(409, "Conflict", message, {"causes": causes})


def _dotted(path: Path) -> str:
    parts = []
    for key in path:
        parts.append(f".{key[2:]}" if key.startswith("f:") else f"[{key[2:]}]")
    return "".join(parts)


# -- reading and writing along a path -------------------------------------


def _step(node: Any, key: str) -> Any:
    if key.startswith("f:"):
        return node.get(key[2:]) if isinstance(node, dict) else None
    wanted = json.loads(key[2:])
    (name, value), *_ = wanted.items()
    for item in node if isinstance(node, list) else ():
        if (item.get(name) if isinstance(item, dict) else item) == value:
            return item
    return None


def _value_at(obj: Any, path: Path) -> Any:
    node = obj
    for key in path:
        node = _step(node, key)
        if node is None:
            return None
    return node


def _remove(obj: dict[str, Any], path: Path) -> None:
    """Delete the leaf at ``path``; a keyed element loses its whole self
    when its key field goes (the manager no longer lists it)."""
    parent = _value_at(obj, path[:-1])
    last = path[-1]
    if isinstance(parent, dict) and last.startswith("f:"):
        element_key = len(path) >= 2 and path[-2].startswith("k:")
        if element_key and last[2:] in json.loads(path[-2][2:]):
            _remove_element(obj, path[:-1])
        else:
            parent.pop(last[2:], None)
    elif isinstance(parent, list):
        _remove_element(obj, path)


def _remove_element(obj: dict[str, Any], path: Path) -> None:
    items = _value_at(obj, path[:-1])
    element = _value_at(obj, path)
    if isinstance(items, list) and element is not None:
        items.remove(element)


def _merge(target: dict[str, Any], config: dict[str, Any], field: str = "") -> None:
    for key, value in config.items():
        old = target.get(key)
        if isinstance(value, dict) and isinstance(old, dict):
            _merge(old, value, key)
        elif isinstance(value, list) and isinstance(old, list) and merge_key_of(key, value):
            target[key] = _merge_keyed(key, old, value)
        else:
            target[key] = copy.deepcopy(value)


def _merge_keyed(field: str, old: list[Any], new: list[Any]) -> list[Any]:
    key_name = merge_key_of(field, new)
    merged = [copy.deepcopy(item) for item in old]
    for item in new:
        match = _step(merged, _element_key(key_name, item))
        if isinstance(match, dict) and isinstance(item, dict):
            _merge(match, item)
        else:
            merged.append(copy.deepcopy(item))
    return merged
