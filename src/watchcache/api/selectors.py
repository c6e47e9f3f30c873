"""Label and field selectors: parsed once, matched on every event.

Glossary:
    requirement     one comma-separated term of a selector: a key, an
                    operator and its values (``app in (a,b)``).
    LabelSelector   the AND of label requirements. Operators: ``=``, ``==``,
                    ``!=``, ``in``, ``notin``, exists (``key``), does not
                    exist (``!key``), ``>`` and ``<`` on integers.
    FieldSelector   the AND of field terms ``field=value``, ``field==value``
                    or ``field!=value``; values escape ``\\``, ``,`` and
                    ``=`` with a backslash.
    exact value     the value a selector requires a field to equal (``=``,
                    ``==``, or ``in`` with one value): what index lookups
                    and watch dispatch key on.

Invariants:
    * Parsing follows apimachinery's grammar and error text (pkg/labels
      selector.go, pkg/fields selector.go, pkg/util/validation) of 1.34+.
      kube-apiserver 1.20 words some label errors differently (recorded in
      tests/e2e/test_api_contract.py):
        - unknown operator: 1.20 "expected: '=', '!=', '==', 'in', notin'",
          1.34 "expected: in, notin, =, ==, !=, gt, lt";
        - invalid key: 1.20 "invalid label key \\"k\\": ...", 1.34
          "<nil>: Invalid value: \\"k\\": ...";
        - invalid value: 1.20 "invalid label value: \\"v\\": at key: \\"k\\":
          ...", 1.34 "values[0][k]: Invalid value: \\"v\\": ...";
        - non-integer for > or <: 1.34 names the field path
          ("values[0]: Invalid value: \\"b\\": ...").
    * Requirements are kept sorted by key (a stable sort, as the parser's
      output order), so ``str()`` is canonical and ``parse(str(s)) == s``.
    * ``matches`` does no parsing: each requirement is a closure over its
      key and precomputed values (a dict lookup or two); a selector of
      equalities only is a loop over (key, value) pairs.
    * Field terms are kept sorted by their printed form, which keeps kube's
      order between different fields; a term with neither field nor value
      ("=") is dropped, as kube-apiserver drops it.
    * Field selectors are matched against the full field set of an object
      (``resources.field_values``): a field absent from it reads as "".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Final

from watchcache.api import validation
from watchcache.api.status import bad_request
from watchcache.api.strconv import NumError, parse_int64

__all__ = ["FieldSelector", "FieldTerm", "LabelRequirement", "LabelSelector"]

# Operators as kube's selection package names them; the string is also the
# token printed by str() (with spaces around in/notin).
EQUALS: Final = "="
DOUBLE_EQUALS: Final = "=="
NOT_EQUALS: Final = "!="
IN: Final = "in"
NOT_IN: Final = "notin"
EXISTS: Final = "exists"
DOES_NOT_EXIST: Final = "!"
GREATER: Final = "gt"
LESS: Final = "lt"

_BINARY_OPERATORS = "in, notin, =, ==, !=, gt, lt"


# --- label selector lexer (pkg/labels) --------------------------------------

_END, _CLOSE, _COMMA, _NOT, _DEQ, _EQ, _GT, _IDENT, _IN, _LT, _NEQ, _NOTIN, _OPEN = range(13)
_KEYWORDS: Mapping[str, int] = {
    ")": _CLOSE,
    ",": _COMMA,
    "!": _NOT,
    "==": _DEQ,
    "=": _EQ,
    ">": _GT,
    "in": _IN,
    "<": _LT,
    "!=": _NEQ,
    "notin": _NOTIN,
    "(": _OPEN,
}
_SPECIAL = frozenset("=!(),><")
_SPACE = frozenset(" \t\r\n")
_SPACE_OR_NUL = _SPACE | {"\0"}


def _lex(text: str) -> list[tuple[int, str]]:
    """All tokens up to and including the end token.

    Go's lexer reads a NUL byte as its end-of-input marker: at the start of
    a token it ends the input; right after a token it is swallowed.
    """
    tokens: list[tuple[int, str]] = []
    pos, size = 0, len(text)
    while True:
        while pos < size and text[pos] in _SPACE:
            pos += 1
        if pos == size or text[pos] == "\0":
            tokens.append((_END, ""))
            return tokens
        end = _token_end(text, pos)
        literal = text[pos:end]
        tokens.append((_KEYWORDS.get(literal, _IDENT), literal))
        pos = end + 1 if end < size and text[end] == "\0" else end


def _token_end(text: str, pos: int) -> int:
    end, size = pos + 1, len(text)
    if text[pos] in _SPECIAL:
        # Greedy: the longest run of symbols that is still a token.
        while end < size and text[pos : end + 1] in _KEYWORDS:
            end += 1
        return end
    while end < size and text[end] not in _SPECIAL and text[end] not in _SPACE_OR_NUL:
        end += 1
    return end


class _Parser:
    """A recursive-descent parser over the token list, as apimachinery's.

    In a value position, the keywords ``in`` and ``notin`` are identifiers.
    """

    def __init__(self, text: str) -> None:
        self.tokens = _lex(text)
        self.pos = 0

    def peek(self, values: bool = True) -> tuple[int, str]:
        return self._as(self.tokens[self.pos], values)

    def take(self, values: bool = True) -> tuple[int, str]:
        token = self.tokens[self.pos]
        self.pos += 1
        return self._as(token, values)

    @staticmethod
    def _as(token: tuple[int, str], values: bool) -> tuple[int, str]:
        if values and token[0] in (_IN, _NOTIN):
            return _IDENT, token[1]
        return token

    def parse(self) -> list[LabelRequirement]:
        requirements: list[LabelRequirement] = []
        while True:
            tok, lit = self.peek()
            if tok == _END:
                return requirements
            if tok not in (_IDENT, _NOT):
                raise ValueError(f"found '{lit}', expected: !, identifier, or 'end of string'")
            try:
                requirements.append(self.requirement())
            except ValueError as err:
                raise ValueError(f"unable to parse requirement: {err}") from None
            tok, lit = self.take()
            if tok == _END:
                return requirements
            if tok != _COMMA:
                raise ValueError(f"found '{lit}', expected: ',' or 'end of string'")
            tok, lit = self.peek()
            if tok not in (_IDENT, _NOT):
                raise ValueError(f"found '{lit}', expected: identifier after ','")

    def requirement(self) -> LabelRequirement:
        key, operator = self.key_and_inferred_operator()
        if operator in (EXISTS, DOES_NOT_EXIST):
            return LabelRequirement.new(key, operator, ())
        operator = self.operator()
        values = self.values() if operator in (IN, NOT_IN) else self.exact_value()
        return LabelRequirement.new(key, operator, tuple(sorted(values)))

    def key_and_inferred_operator(self) -> tuple[str, str]:
        operator = ""
        tok, lit = self.take()
        if tok == _NOT:
            operator = DOES_NOT_EXIST
            tok, lit = self.take()
        if tok != _IDENT:
            raise ValueError(f"found '{lit}', expected: identifier")
        errors = validation.qualified_name_errors(lit)
        if errors:
            raise ValueError(validation.invalid_value("<nil>", lit, errors))
        if self.peek()[0] in (_END, _COMMA) and operator != DOES_NOT_EXIST:
            operator = EXISTS
        return lit, operator

    def operator(self) -> str:
        tok, lit = self.take(values=False)
        operator = _OPERATOR_TOKENS.get(tok)
        if operator is None:
            raise ValueError(f"found '{lit}', expected: {_BINARY_OPERATORS}")
        return operator

    def values(self) -> set[str]:
        tok, lit = self.take()
        if tok != _OPEN:
            raise ValueError(f"found '{lit}' expected: '('")
        tok, lit = self.peek()
        if tok == _CLOSE:
            self.take()
            return {""}
        if tok not in (_IDENT, _COMMA):
            raise ValueError(f"found '{lit}', expected: ',', ')' or identifier")
        values = self.identifier_list()
        if self.take()[0] != _CLOSE:
            raise ValueError(f"found '{lit}', expected: ')'")
        return values

    def identifier_list(self) -> set[str]:
        values: set[str] = set()
        while True:
            tok, lit = self.take()
            if tok == _IDENT:
                values.add(lit)
                tok2, lit2 = self.peek()
                if tok2 == _CLOSE:
                    return values
                if tok2 != _COMMA:
                    raise ValueError(f"found '{lit2}', expected: ',' or ')'")
            elif tok == _COMMA:
                # "(,", ",," and ",)" each stand for an empty value.
                if not values:
                    values.add("")
                tok2 = self.peek()[0]
                if tok2 == _CLOSE:
                    values.add("")
                    return values
                if tok2 == _COMMA:
                    self.take()
                    values.add("")
            else:
                raise ValueError(f"found '{lit}', expected: ',', or identifier")

    def exact_value(self) -> set[str]:
        if self.peek()[0] in (_END, _COMMA):
            return {""}
        tok, lit = self.take()
        if tok != _IDENT:
            raise ValueError(f"found '{lit}', expected: identifier")
        return {lit}


_OPERATOR_TOKENS: Mapping[int, str] = {
    _IN: IN,
    _EQ: EQUALS,
    _DEQ: DOUBLE_EQUALS,
    _GT: GREATER,
    _LT: LESS,
    _NOTIN: NOT_IN,
    _NEQ: NOT_EQUALS,
}


def _parse_int64(text: str) -> int | None:
    """strconv.ParseInt(text, 10, 64), or None where Go returns an error."""
    # Fast path for plain ASCII digits, the usual label value; Python's
    # int() alone would also take "1_0", " 7" and non-ASCII digits.
    if text.isascii() and text.isdigit() and len(text) < 19:
        return int(text)
    try:
        return parse_int64(text)
    except NumError:
        return None


@dataclass(frozen=True, slots=True)
class LabelRequirement:
    key: str
    operator: str
    values: tuple[str, ...]  # sorted, distinct

    @classmethod
    def new(cls, key: str, operator: str, values: tuple[str, ...]) -> LabelRequirement:
        """NewRequirement's checks; raises ValueError with its aggregate."""
        errors: list[str] = []
        if operator in (GREATER, LESS):
            for i, value in enumerate(values):
                if _parse_int64(value) is None:
                    errors.append(
                        validation.invalid_value(
                            f"values[{i}]",
                            value,
                            ["for 'Gt', 'Lt' operators, the value must be an integer"],
                        )
                    )
        for i, value in enumerate(values):
            value_errors = validation.label_value_errors(value)
            if value_errors:
                errors.append(validation.invalid_value(f"values[{i}][{key}]", value, value_errors))
        if errors:
            raise ValueError(validation.aggregate(errors))
        return cls(key, operator, values)

    def __str__(self) -> str:
        if self.operator == EXISTS:
            return self.key
        if self.operator == DOES_NOT_EXIST:
            return "!" + self.key
        joined = ",".join(self.values)
        if self.operator in (IN, NOT_IN):
            return f"{self.key} {self.operator} ({joined})"
        symbol = {GREATER: ">", LESS: "<"}.get(self.operator, self.operator)
        return f"{self.key}{symbol}{joined}"


# A compiled requirement is a closure over its key and values: one call
# and a dict lookup per requirement, no dispatch on the operator at match
# time (bench_selectors.py: ~2x faster than branching on an opcode).
_Check = Callable[[Mapping[str, str]], bool]


def _compile(req: LabelRequirement) -> _Check:
    key, op = req.key, req.operator
    if op in (EQUALS, DOUBLE_EQUALS):
        wanted = req.values[0]
        return lambda labels: labels.get(key) == wanted
    if op == NOT_EQUALS:
        unwanted = req.values[0]
        return lambda labels: labels.get(key) != unwanted
    if op in (IN, NOT_IN):
        return _compile_set(key, frozenset(req.values), op == IN)
    if op == EXISTS:
        return lambda labels: key in labels
    if op == DOES_NOT_EXIST:
        return lambda labels: key not in labels
    return _compile_compare(key, _parse_int64(req.values[0]) or 0, op == GREATER)


def _compile_set(key: str, values: frozenset[str], inside: bool) -> _Check:
    if inside:
        return lambda labels: labels.get(key) in values
    return lambda labels: labels.get(key) not in values


def _compile_compare(key: str, bound: int, greater: bool) -> _Check:
    def check(labels: Mapping[str, str]) -> bool:
        value = labels.get(key)
        number = None if value is None else _parse_int64(value)
        if number is None:
            return False
        return number > bound if greater else number < bound

    return check


class LabelSelector:
    """A parsed labelSelector. Immutable; equal when requirements are."""

    __slots__ = ("_compiled", "_equals", "requirements")

    def __init__(self, requirements: tuple[LabelRequirement, ...] = ()) -> None:
        self.requirements = tuple(sorted(requirements, key=lambda r: r.key))
        self._compiled = tuple(_compile(r) for r in self.requirements)
        # Pure-equality selectors (the common informer case) match with a
        # tight loop over (key, value) pairs, cheaper than a call each.
        self._equals: tuple[tuple[str, str], ...] | None = (
            tuple((r.key, r.values[0]) for r in self.requirements)
            if all(r.operator in (EQUALS, DOUBLE_EQUALS) for r in self.requirements)
            else None
        )

    @classmethod
    def parse(cls, text: str) -> LabelSelector:
        """Parse like labels.Parse; raise ApiError 400 with its message."""
        try:
            return cls(tuple(_Parser(text).parse()))
        except ValueError as err:
            raise bad_request(str(err)) from None

    @property
    def empty(self) -> bool:
        return not self.requirements

    def matches(self, labels: Mapping[str, str]) -> bool:
        # Plain loops, not all(genexpr): this is the per-event hot path and
        # a generator costs more than the lookups (bench_selectors.py).
        equals = self._equals
        if equals is not None:
            for key, value in equals:  # noqa: SIM110
                if labels.get(key) != value:
                    return False
            return True
        for check in self._compiled:  # noqa: SIM110
            if not check(labels):
                return False
        return True

    def exact(self, key: str) -> str | None:
        """RequiresExactMatch: the value ``key`` must have, if exactly one."""
        for req in self.requirements:
            if req.key == key:
                exact = req.operator in (EQUALS, DOUBLE_EQUALS, IN) and len(req.values) == 1
                return req.values[0] if exact else None
        return None

    def __iter__(self) -> Iterator[LabelRequirement]:
        return iter(self.requirements)

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)

    def __repr__(self) -> str:
        return f"LabelSelector({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LabelSelector):
            return NotImplemented
        return self.requirements == other.requirements

    def __hash__(self) -> int:
        return hash(self.requirements)


# --- field selector (pkg/fields) --------------------------------------------


def _split_terms(text: str) -> list[str]:
    """Split on commas not escaped by a backslash (escapes kept)."""
    if not text:
        return []
    terms, start, escaped = [], 0, False
    for i, ch in enumerate(text):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ",":
            terms.append(text[start:i])
            start = i + 1
    terms.append(text[start:])
    return terms


_TERM_OPERATORS = ("!=", "==", "=")


def _split_term(term: str) -> tuple[str, str, str] | None:
    # The first operator occurrence splits; "==" is tried before "=" so
    # "a==b" does not leave "=b" as the value.
    for i in range(len(term)):
        for op in _TERM_OPERATORS:
            if term.startswith(op, i):
                return term[:i], op, term[i + len(op) :]
    return None


def _unescape(value: str) -> str:
    if not any(ch in value for ch in "\\,="):
        return value
    out: list[str] = []
    escaped = False
    for ch in value:
        if escaped:
            if ch not in "\\,=":
                raise bad_request(f"invalid field selector: invalid escape sequence: \\{ch}")
            out.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch in ",=":
            # Go prints the rune with %v: its code point.
            raise bad_request(f"invalid field selector: unescaped character in value: {ord(ch)}")
        else:
            out.append(ch)
    if escaped:
        raise bad_request("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


@dataclass(frozen=True, slots=True)
class FieldTerm:
    field: str
    equal: bool  # True for = and ==, False for !=
    value: str

    def __str__(self) -> str:
        return f"{self.field}{'=' if self.equal else '!='}{_escape(self.value)}"


class FieldSelector:
    """A parsed fieldSelector. Immutable; equal when terms are."""

    __slots__ = ("_exact", "fields", "terms")

    def __init__(self, terms: tuple[FieldTerm, ...] = ()) -> None:
        self.terms = terms
        self.fields: frozenset[str] = frozenset(t.field for t in terms)
        exact: dict[str, str] = {}
        for term in terms:
            if term.equal:
                exact.setdefault(term.field, term.value)
        self._exact = exact

    @classmethod
    def parse(cls, text: str) -> FieldSelector:
        """Parse like fields.ParseSelector; raise ApiError 400."""
        terms: list[FieldTerm] = []
        # kube sorts the raw terms before reading them, so str() and the
        # first reported error follow that order.
        for part in sorted(_split_terms(text)):
            if not part:
                continue
            split = _split_term(part)
            if split is None:
                raise bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
            lhs, op, rhs = split
            value = _unescape(rhs)
            # kube-apiserver drops a term with neither field nor value
            # ("=", "!="): it selects everything (seen on v1.20).
            if lhs or value:
                terms.append(FieldTerm(lhs, op != "!=", value))
        # Canonical order: by printed form. Distinct fields keep kube's
        # relative order (operators print with their first character).
        return cls(tuple(sorted(terms, key=str)))

    @property
    def empty(self) -> bool:
        return not self.terms

    def matches(self, fields: Mapping[str, str]) -> bool:
        for term in self.terms:  # noqa: SIM110 (hot path, as LabelSelector.matches)
            if (fields.get(term.field, "") == term.value) != term.equal:
                return False
        return True

    def exact(self, field: str) -> str | None:
        """RequiresExactMatch: the value ``field`` must equal, if any."""
        return self._exact.get(field)

    def __str__(self) -> str:
        return ",".join(str(t) for t in self.terms)

    def __repr__(self) -> str:
        return f"FieldSelector({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FieldSelector):
            return NotImplemented
        return self.terms == other.terms

    def __hash__(self) -> int:
        return hash(self.terms)
