"""KEP-5866 shard selectors (``shardSelector``, alpha in Kubernetes 1.36),
parsed and matched as kube-apiserver does.

Glossary:
    shard selector  ``shardRange(object.metadata.uid, '0x0000000000000000',
                    '0x8000000000000000')``, several joined by ``||``: a CEL
                    expression that is parsed, never evaluated
    field           what is hashed: ``object.metadata.uid`` or
                    ``object.metadata.namespace``; every range of one
                    selector hashes the same field
    hash            FNV-1a 64 of the field's UTF-8 bytes
    range           ``[start, end)``: start inclusive, end exclusive; bounds
                    are exactly 16 lowercase hex digits after ``0x``, except
                    the end of the space, ``0x10000000000000000`` (2**64)
    share           the objects whose hash falls in one of the ranges

Invariants:
    * ``ShardSelector.parse`` accepts what kube-apiserver's parser accepts
      (the CEL subset: ``shardRange(path, 'lo', 'hi')`` calls, ``||``,
      parentheses, single- or double-quoted literals, whitespace anywhere
      between tokens) and refuses the rest with ``ValueError``; its
      messages for a bad field, bound or range are kube-apiserver's, those
      for a CEL syntax error are ours after the same ``CEL parse error:``.
    * Membership never changes for one object: uid and namespace are
      immutable, so a watcher's share gains and loses objects only by
      creation and deletion.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["FIELDS", "SPACE", "ShardSelector", "even_shards", "fnv1a64"]

FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3
_MASK = (1 << 64) - 1
SPACE = 1 << 64

# The CEL path -> the cache entry attribute it names.
FIELDS = {"object.metadata.uid": "uid", "object.metadata.namespace": "namespace"}
_END_OF_SPACE = "0x10000000000000000"


def fnv1a64(data: str) -> int:
    """FNV-1a 64 of the UTF-8 bytes of ``data`` (the KEP's hash)."""
    h = FNV_OFFSET
    for byte in data.encode():
        h = ((h ^ byte) * _FNV_PRIME) & _MASK
    return h


@dataclass(frozen=True, slots=True)
class ShardSelector:
    """A parsed selector: the field hashed and its ranges ``(lo, hi)``."""

    field: str  # "uid" or "namespace"
    ranges: tuple[tuple[int, int], ...]
    text: str  # as the client sent it, trimmed

    @classmethod
    def parse(cls, text: str) -> ShardSelector:
        expr = text.strip()
        if not expr:
            raise ValueError(
                "empty shard selector is not allowed; omit the parameter for unfiltered lists"
            )
        terms = _Parser(expr).parse()
        path = terms[0][0]
        for other, _, _ in terms[1:]:
            if other != path:
                raise ValueError(
                    f'all shard ranges must use the same field, got "{path}" and "{other}"'
                )
        ranges = tuple((int(lo, 16), int(hi, 16)) for _, lo, hi in terms)
        return cls(FIELDS[path], ranges, expr)

    def __str__(self) -> str:
        return self.text

    def matches_hash(self, h: int) -> bool:
        return any(lo <= h < hi for lo, hi in self.ranges)

    def matches(self, uid: str, namespace: str) -> bool:
        return self.matches_hash(fnv1a64(uid if self.field == "uid" else namespace))


def even_shards(count: int, field: str = "uid") -> list[str]:
    """Selectors splitting the hash space into ``count`` equal shards (the
    last ends at 2**64), one per replica."""
    if count < 1:
        raise ValueError("at least one shard")
    path = next(p for p, f in FIELDS.items() if f == field)
    bounds = [i * SPACE // count for i in range(count + 1)]
    return [
        f"shardRange({path}, '{_hex(bounds[i])}', '{_hex(bounds[i + 1])}')" for i in range(count)
    ]


def _hex(value: int) -> str:
    return _END_OF_SPACE if value == SPACE else f"0x{value:016x}"


# -- the CEL subset ----------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<string>'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")
      | (?P<op>\|\||[().,])
      | (?P<other>\S)
    )""",
    re.VERBOSE,
)
_Term = tuple[str, str, str]


class _Parser:
    """Recursive descent over ``or := primary ('||' primary)*``,
    ``primary := call | '(' or ')'``."""

    def __init__(self, expr: str) -> None:
        self.tokens: list[tuple[str, str, int]] = []
        for match in _TOKEN.finditer(expr):
            kind = match.lastgroup or "other"
            self.tokens.append((kind, match.group(kind), match.start(kind)))
        self.pos = 0

    def parse(self) -> list[_Term]:
        terms = self._or()
        if self.pos < len(self.tokens):
            self._syntax("unexpected " + repr(self.tokens[self.pos][1]))
        return terms

    def _peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _take(self, value: str) -> bool:
        token = self._peek()
        if token is not None and token[0] == "op" and token[1] == value:
            self.pos += 1
            return True
        return False

    def _expect(self, value: str) -> None:
        if not self._take(value):
            token = self._peek()
            found = "end of input" if token is None else repr(token[1])
            self._syntax(f"expected {value!r}, found {found}")

    def _syntax(self, message: str) -> None:
        raise ValueError(f"CEL parse error: Syntax error: {message}")

    def _or(self) -> list[_Term]:
        terms = self._primary()
        while self._take("||"):
            terms += self._primary()
        return terms

    def _primary(self) -> list[_Term]:
        if self._take("("):
            terms = self._or()
            self._expect(")")
            return terms
        token = self._peek()
        if token is None:
            self._syntax("unexpected end of input")
            raise AssertionError  # unreachable: _syntax raises
        kind, value, _ = token
        if kind != "ident":
            if kind == "string":
                raise ValueError(
                    "unexpected expression kind literal; expected shardRange() call or || operator"
                )
            self._syntax(f"unexpected {value!r}")
        self.pos += 1
        if not self._take("("):
            raise ValueError(
                "unexpected expression kind ident; expected shardRange() call or || operator"
            )
        args = self._arguments()
        if value != "shardRange":
            raise ValueError(
                f'unsupported function "{value}"; only shardRange() and || are allowed'
            )
        return [_shard_range(args)]

    def _arguments(self) -> list[tuple[str, str]]:
        """The call's arguments, each as (kind, text): a dotted path
        ("path") or a string literal's value ("string")."""
        args: list[tuple[str, str]] = []
        if self._take(")"):
            return args
        while True:
            args.append(self._argument())
            if self._take(")"):
                return args
            self._expect(",")

    def _argument(self) -> tuple[str, str]:
        token = self._peek()
        if token is None:
            self._syntax("unexpected end of input")
            raise AssertionError  # unreachable
        kind, value, _ = token
        self.pos += 1
        if kind == "string":
            return "string", _unquote(value)
        if kind == "ident":
            parts = [value]
            while self._take("."):
                part = self._peek()
                if part is None or part[0] != "ident":
                    self._syntax("expected a field name after '.'")
                    raise AssertionError  # unreachable
                parts.append(part[1])
                self.pos += 1
            return "path", ".".join(parts)
        self._syntax(f"unexpected {value!r}")
        raise AssertionError  # unreachable


def _unquote(literal: str) -> str:
    body = literal[1:-1]
    if "\\" not in body:
        return body
    return body.encode("latin-1", "backslashreplace").decode("unicode_escape")


def _shard_range(args: Sequence[tuple[str, str]]) -> _Term:
    if len(args) != 3:
        raise ValueError(f"shardRange() requires exactly 3 arguments, got {len(args)}")
    (kind, path), start, end = args
    if kind != "path":
        raise ValueError(
            "shardRange() first argument: expected field path (e.g. object.metadata.uid), "
            "got expression kind literal"
        )
    if path not in FIELDS:
        raise ValueError(
            f'unsupported field path "{path}"; supported: '
            "object.metadata.uid, object.metadata.namespace"
        )
    lo = _hex_bound(start, "hexStart")
    hi = _hex_bound(end, "hexEnd")
    if int(lo, 16) >= int(hi, 16):
        raise ValueError(f"shard range start {lo} must be less than end {hi}")
    return path, lo, hi


def _hex_bound(arg: tuple[str, str], name: str) -> str:
    kind, text = arg
    if kind != "string":
        got = "ident" if "." not in text else "select"
        raise ValueError(
            f"{name} must be a string literal (e.g. '0xff'), got expression kind {got}"
        )
    if not text.startswith("0x"):
        raise ValueError(f"{name} must have '0x' prefix, got \"{text}\"")
    digits = text[2:]
    if not digits:
        raise ValueError(f"{name}: hex value is required after '0x'")
    if len(digits) > 17:
        raise ValueError(f'{name}: hex value too long ({len(digits)} chars, max 17): "{digits}"')
    for char in digits:
        if char not in "0123456789abcdef":
            raise ValueError(f'{name}: invalid hex character "{char}" in "{text}"')
    if len(digits) == 17:
        if text != _END_OF_SPACE:
            raise ValueError(
                f"{name}: 17-digit hex value must be '{_END_OF_SPACE}' (2^64), got \"{text}\""
            )
    elif len(digits) != 16:
        padded = "0x" + digits.rjust(16, "0")
        raise ValueError(
            f'{name} must be a 0x-prefixed 16-digit hex value, got "{text}" '
            f'(did you mean "{padded}"?)'
        )
    return text
