"""The three PATCH kinds: JSON merge patch (RFC 7386), JSON patch
(RFC 6902) and strategic merge patch for built-in kinds.

Glossary:
    merge key   the field that identifies an element of a list a strategic
                merge patch merges rather than replaces (containers by
                ``name``, container ports by ``containerPort``...). Lists
                without one (tolerations, taints, args) are replaced whole,
                as kube-apiserver's Go struct tags say.
    directive   a ``$``-key in a strategic merge patch: ``$patch`` (delete,
                replace, merge), ``$retainKeys``, ``$setElementOrder/F``,
                ``$deleteFromPrimitiveList/F``.

Invariant: ``apply_patch`` returns a new object and never changes its
arguments; errors are ApiErrors with kube-apiserver's codes (400 for an
undecodable patch, 422 for one that does not apply, 415 for a strategic
merge patch on a kind without Go types).
"""

from __future__ import annotations

import copy
from typing import Any

import msgspec

from watchcache.api import status
from watchcache.api.resources import ResourceInfo

__all__ = [
    "JSON_PATCH",
    "MERGE_PATCH",
    "STRATEGIC_PATCH",
    "apply_patch",
    "json_patch",
    "merge_key_of",
    "merge_patch",
    "strategic_merge",
]

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"

# What kube-apiserver lists when a patch's type does not apply to a kind.
_PATCH_TYPES_UNSTRUCTURED = (JSON_PATCH, MERGE_PATCH, "application/apply-patch+yaml")
_PATCH_TYPES = (*_PATCH_TYPES_UNSTRUCTURED, STRATEGIC_PATCH)

# Merge keys of the lists built-in kinds merge (Go `patchMergeKey` tags).
_MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "volumes": "name",
    "env": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "hostAliases": "ip",
    "conditions": "type",
    "addresses": "type",
    "ownerReferences": "uid",
    "topologySpreadConstraints": "topologyKey",
    "resourceClaims": "name",
}
# Primitive lists merged as sets rather than replaced.
_MERGED_PRIMITIVES = frozenset({"finalizers"})


def apply_patch(
    info: ResourceInfo, content_type: str, original: dict[str, Any], raw: bytes
) -> dict[str, Any]:
    kind = content_type.split(";")[0].strip()
    if kind == STRATEGIC_PATCH and not info.builtin:
        raise status.unsupported_media_type(_PATCH_TYPES_UNSTRUCTURED)
    if kind not in (JSON_PATCH, MERGE_PATCH, STRATEGIC_PATCH):
        raise status.unsupported_media_type(
            _PATCH_TYPES if info.builtin else _PATCH_TYPES_UNSTRUCTURED
        )
    try:
        patch = msgspec.json.decode(raw)
    except msgspec.DecodeError as err:
        raise status.bad_request(f"error decoding patch: {err}") from None
    if kind == JSON_PATCH:
        return json_patch(original, patch)
    if not isinstance(patch, dict):
        raise status.bad_request("error decoding patch: the patch is not a JSON object")
    if kind == MERGE_PATCH:
        result = merge_patch(original, patch)
    else:
        result = strategic_merge(original, patch)
    assert isinstance(result, dict)
    return result


# -- JSON merge patch ----------------------------------------------------


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


# -- JSON patch ----------------------------------------------------------


def _unprocessable(message: str) -> status.ApiError:
    return status.ApiError(422, "Invalid", message)


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise _unprocessable(f"invalid JSON pointer: {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _parent(doc: Any, parts: list[str], path: str) -> tuple[Any, str]:
    node = doc
    for part in parts[:-1]:
        node = _child(node, part, path)
    return node, parts[-1]


def _child(node: Any, part: str, path: str) -> Any:
    if isinstance(node, dict) and part in node:
        return node[part]
    if isinstance(node, list) and part.isdigit() and int(part) < len(node):
        return node[int(part)]
    raise _unprocessable(f"doc is missing path: {path!r}")


def _add(doc: Any, path: str, value: Any) -> Any:
    parts = _pointer(path)
    if not parts:
        return value
    node, last = _parent(doc, parts, path)
    if isinstance(node, dict):
        node[last] = value
    elif isinstance(node, list):
        index = len(node) if last == "-" else int(last) if last.isdigit() else -1
        if not 0 <= index <= len(node):
            raise _unprocessable(f"add operation does not apply: doc is missing path: {path!r}")
        node.insert(index, value)
    else:
        raise _unprocessable(f"add operation does not apply: doc is missing path: {path!r}")
    return doc


def _remove(doc: Any, path: str) -> tuple[Any, Any]:
    parts = _pointer(path)
    if not parts:
        raise _unprocessable("remove operation does not apply: the root cannot be removed")
    node, last = _parent(doc, parts, path)
    removed = _child(node, last, path)
    if isinstance(node, dict):
        del node[last]
    else:
        del node[int(last)]
    return doc, removed


def _get(doc: Any, path: str) -> Any:
    node = doc
    for part in _pointer(path):
        node = _child(node, part, path)
    return node


def _operation(doc: Any, op: dict[str, Any]) -> Any:
    name, path = op.get("op"), op.get("path", "")
    if name == "add":
        return _add(doc, path, copy.deepcopy(op.get("value")))
    if name == "remove":
        return _remove(doc, path)[0]
    if name == "replace":
        _get(doc, path)
        return (
            _add(_remove(doc, path)[0], path, copy.deepcopy(op.get("value")))
            if path
            else op.get("value")
        )
    if name == "move":
        doc, value = _remove(doc, op.get("from", ""))
        return _add(doc, path, value)
    if name == "copy":
        return _add(doc, path, copy.deepcopy(_get(doc, op.get("from", ""))))
    if name == "test":
        if _get(doc, path) != op.get("value"):
            raise _unprocessable(f"testing value {path} failed: test failed")
        return doc
    raise status.bad_request(f"Unexpected kind: {name}")


def json_patch(original: dict[str, Any], patch: Any) -> dict[str, Any]:
    if not isinstance(patch, list) or not all(isinstance(op, dict) for op in patch):
        raise status.bad_request("error decoding patch: a JSON patch is a list of operations")
    doc: Any = copy.deepcopy(original)
    for op in patch:
        doc = _operation(doc, op)
    if not isinstance(doc, dict):
        raise _unprocessable("the patched document is not an object")
    return doc


# -- strategic merge patch -----------------------------------------------


def strategic_merge(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    directive = patch.get("$patch")
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if directive == "delete":
        return None
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if value is None:
            out.pop(key, None)
        elif isinstance(value, list):
            out[key] = _merge_list(key, out.get(key), value)
        else:
            merged = strategic_merge(out.get(key), value)
            if merged is None:
                out.pop(key, None)
            else:
                out[key] = merged
    _apply_map_directives(out, patch)
    return out


def _apply_map_directives(out: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            out[field] = [v for v in out.get(field) or [] if v not in value]
        elif key.startswith("$setElementOrder/"):
            field = key.split("/", 1)[1]
            if isinstance(out.get(field), list):
                out[field] = _reorder(field, out[field], value)
    retain = patch.get("$retainKeys")
    if isinstance(retain, list):
        for key in [k for k in out if k not in retain]:
            del out[key]


def merge_key_of(field: str, items: list[Any]) -> str | None:
    """The key that identifies ``items``' elements, or None: atomic list."""
    if field == "ports":
        sample = next((i for i in items if isinstance(i, dict)), {})
        return "containerPort" if "containerPort" in sample else "port"
    return _MERGE_KEYS.get(field)


def _merge_list(field: str, current: Any, patch: list[Any]) -> list[Any]:
    if any(isinstance(i, dict) and i.get("$patch") == "replace" for i in patch):
        return [copy.deepcopy(i) for i in patch if not (isinstance(i, dict) and "$patch" in i)]
    if field in _MERGED_PRIMITIVES:
        base = list(current or [])
        return base + [v for v in patch if v not in base]
    key = merge_key_of(field, patch + list(current or []))
    if key is None or not isinstance(current, list):
        return [copy.deepcopy(i) for i in patch if not (isinstance(i, dict) and "$patch" in i)]
    out = list(current)
    for item in patch:
        _merge_element(out, key, item)
    return out


def _merge_element(out: list[Any], key: str, item: Any) -> None:
    if not isinstance(item, dict) or key not in item:
        out.append(copy.deepcopy(item))
        return
    index = next(
        (i for i, e in enumerate(out) if isinstance(e, dict) and e.get(key) == item[key]), None
    )
    if item.get("$patch") == "delete":
        if index is not None:
            del out[index]
        return
    if index is None:
        out.append(strategic_merge({}, item))
    else:
        out[index] = strategic_merge(out[index], item)


def _reorder(field: str, items: list[Any], order: list[Any]) -> list[Any]:
    key = merge_key_of(field, items)
    if key is None:
        return items

    def rank(item: Any) -> int:
        ident = item.get(key) if isinstance(item, dict) else item
        for index, wanted in enumerate(order):
            if (wanted.get(key) if isinstance(wanted, dict) else wanted) == ident:
                return index
        return len(order)

    return sorted(items, key=rank)
