#!/usr/bin/env python3
"""Write src/watchcache/api/protobuf/schema_data.py from Kubernetes' sources.

Run by a developer when the schema should follow another Kubernetes
release; the output is committed, the sources are not. It needs two
checkouts, at the release the proxy's encoding should match byte for byte
(v0.20.2 for kube-apiserver 1.20):

    git clone --branch v0.20.2 https://github.com/kubernetes/api /tmp/k8s/api
    git clone --branch v0.20.2 https://github.com/kubernetes/apimachinery /tmp/k8s/apimachinery
    scripts/gen-protoschema.py --api /tmp/k8s/api --apimachinery /tmp/k8s/apimachinery

Two sources per package, joined on (message, field number):
    generated.proto   messages, field numbers and protobuf types
                      (repeated, map<K, V>, scalar or message).
    *.go structs      what the proto file cannot say: the JSON name, whether
                      the Go field is a pointer (gogo writes a non-pointer
                      field even when zero, a pointer only when set) and
                      whether JSON inlines it (``json:",inline"``).

Output grammar, one message a line, ``Name field field ...``; a field is
``json=N:T`` plus flags. T is ``s`` string, ``i32``, ``i64``, ``b`` bool,
``y`` bytes, or a message name (unqualified within its package); ``[T`` is
repeated T, ``{T`` a map from string to T. Flags: ``*`` written only when
present (a Go pointer, or []byte), ``^`` inlined into the parent's JSON.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

# (package key, directory under its repo, apiVersion or "" when it has no
# top-level kinds). Dependencies first is not required: refs are resolved
# after all packages are read.
API_PACKAGES = [
    ("core/v1", "core/v1", "v1"),
    ("apps/v1", "apps/v1", "apps/v1"),
    ("batch/v1", "batch/v1", "batch/v1"),
    ("batch/v1beta1", "batch/v1beta1", "batch/v1beta1"),
    ("coordination/v1", "coordination/v1", "coordination.k8s.io/v1"),
    ("discovery/v1beta1", "discovery/v1beta1", "discovery.k8s.io/v1beta1"),
    ("events/v1", "events/v1", "events.k8s.io/v1"),
    ("networking/v1", "networking/v1", "networking.k8s.io/v1"),
    ("policy/v1beta1", "policy/v1beta1", "policy/v1beta1"),
    ("rbac/v1", "rbac/v1", "rbac.authorization.k8s.io/v1"),
    ("scheduling/v1", "scheduling/v1", "scheduling.k8s.io/v1"),
    ("storage/v1", "storage/v1", "storage.k8s.io/v1"),
]
MACHINERY_PACKAGES = [
    ("meta/v1", "pkg/apis/meta/v1", "meta.k8s.io/v1"),
    ("runtime", "pkg/runtime", ""),
    ("intstr", "pkg/util/intstr", ""),
    ("resource", "pkg/api/resource", ""),
]
# proto package prefix -> package key, for qualified references.
_PROTO_PACKAGES = {
    **{f"k8s.io.api.{key.replace('/', '.')}": key for key, _, _ in API_PACKAGES},
    "k8s.io.apimachinery.pkg.apis.meta.v1": "meta/v1",
    "k8s.io.apimachinery.pkg.runtime": "runtime",
    "k8s.io.apimachinery.pkg.util.intstr": "intstr",
    "k8s.io.apimachinery.pkg.api.resource": "resource",
}
_SCALARS = {"string": "s", "int32": "i32", "int64": "i64", "bool": "b", "bytes": "y"}

_MESSAGE = re.compile(r"^message (\w+) \{")
_FIELD = re.compile(r"^  (optional|repeated) ([\w.]+) (\w+) = (\d+);")
_MAP = re.compile(r"^  map<string, ([\w.]+)> (\w+) = (\d+);")
_STRUCT = re.compile(r"^type (\w+) struct \{")
_GOFIELD = re.compile(r"^\s+(?:(\w+)\s+)?(\S+)\s+`([^`]*)`")


@dataclass
class GoField:
    json: str
    pointer: bool
    inline: bool


def read_proto(path: Path, package: str) -> dict[str, list[tuple[str, str, str, int]]]:
    """message -> [(shape, type, proto name, number)], shape '' | '[' | '{'."""
    messages: dict[str, list[tuple[str, str, str, int]]] = {}
    current: list[tuple[str, str, str, int]] | None = None
    for line in path.read_text().splitlines():
        if m := _MESSAGE.match(line):
            current = messages.setdefault(m[1], [])
        elif line == "}":
            current = None
        elif current is not None and (m := _FIELD.match(line)):
            shape = "[" if m[1] == "repeated" else ""
            current.append((shape, _type(m[2], package), m[3], int(m[4])))
        elif current is not None and (m := _MAP.match(line)):
            current.append(("{", _type(m[1], package), m[2], int(m[3])))
    return messages


def _type(name: str, package: str) -> str:
    if name in _SCALARS:
        return _SCALARS[name]
    prefix, _, short = name.rpartition(".")
    if not prefix:
        return f"{package}.{short}"
    return f"{_PROTO_PACKAGES[prefix]}.{short}"


def read_go(directory: Path) -> tuple[dict[tuple[str, int], GoField], set[str]]:
    """(struct, protobuf number) -> GoField; and the names of slice types."""
    fields: dict[tuple[str, int], GoField] = {}
    slices: set[str] = set()
    for path in sorted(directory.glob("*.go")):
        if path.name.endswith("_test.go") or path.name.startswith("generated"):
            continue
        struct = None
        for line in path.read_text().splitlines():
            if m := re.match(r"^type (\w+) \[\]", line):
                slices.add(m[1])
            if m := _STRUCT.match(line):
                struct = m[1]
            elif line.startswith("}"):
                struct = None
            elif struct and (m := _GOFIELD.match(line)):
                tag = m[3]
                pb = re.search(r'protobuf:"[a-z0-9]+,(\d+),', tag)
                js = re.search(r'json:"([^"]*)"', tag)
                if not pb or not js:
                    continue
                json_name = js[1].split(",")[0]
                gotype = m[2]
                fields[(struct, int(pb[1]))] = GoField(
                    json=json_name,
                    pointer=gotype.startswith("*") or gotype == "[]byte",
                    inline=",inline" in js[1] and not json_name,
                )
    return fields, slices


def render(package: str, messages: dict, gofields: dict, slices: set[str]) -> list[str]:
    lines = []
    for name, fields in messages.items():
        words = [name + ("@list" if name in slices else "")]
        for shape, ftype, proto_name, number in sorted(fields, key=lambda f: f[3]):
            go = gofields.get((name, number))
            json_name = go.json if go and go.json else proto_name
            flags = ""
            if go and go.pointer and not shape:
                flags += "*"
            if go and go.inline:
                flags += "^"
            short = ftype.removeprefix(package + ".")
            words.append(f"{json_name}={number}:{shape}{short}{flags}")
        lines.append(" ".join(words))
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", type=Path, required=True, help="a k8s.io/api checkout")
    parser.add_argument("--apimachinery", type=Path, required=True)
    parser.add_argument("--release", default="v0.20.2", help="written into the output")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).parent.parent / "src/watchcache/api/protobuf/schema_data.py",
    )
    args = parser.parse_args()
    out = [
        f'"""Kubernetes protobuf schemas, {args.release}: written by scripts/gen-protoschema.py.',
        "",
        "Do not edit: rerun the script. Grammar: see the script's docstring.",
        '"""',
        "",
        f'RELEASE = "{args.release}"',
        "",
        "# package key -> (apiVersion of its kinds, or '' when none; its messages)",
        "PACKAGES: dict[str, tuple[str, str]] = {",
    ]
    sources = [(args.api, p) for p in API_PACKAGES] + [
        (args.apimachinery, p) for p in MACHINERY_PACKAGES
    ]
    for root, (key, directory, api_version) in sources:
        messages = read_proto(root / directory / "generated.proto", key)
        gofields, slices = read_go(root / directory)
        lines = render(key, messages, gofields, slices)
        out.append(f'    "{key}": (')
        out.append(f'        "{api_version}",')
        out.append('        """')
        out.extend(lines)
        out.append('""",')
        out.append("    ),")
        print(f"{key}: {len(messages)} messages", file=sys.stderr)
    out.append("}")
    args.out.write_text("\n".join(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
