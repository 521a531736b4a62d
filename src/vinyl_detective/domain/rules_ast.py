"""A parsed watch rule: a small tree of AND / OR / NOT over field comparisons.

Nodes are immutable values that compare equal when they mean the same text, evaluate
themselves against a field mapping, and print back in the canonical spelling
(`format_rule`). Missing values (None, an empty list) make every comparison false, except
`!=` and `not in`, which are exactly the negations of `=` and `in` (so `x != v` is always
`NOT x = v`), and `= null`, which asks for the missing value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from decimal import Decimal
from enum import StrEnum
from typing import Any

import regex  # type: ignore[import-untyped]

from vinyl_detective.domain.grading import GRADE_CODES, parse_grade
from vinyl_detective.domain.rules_fields import (
    ALIASES,
    FIELDS,
    FieldKind,
    FieldSpec,
    field_values,
    lookup_field,
    normalize_choice,
    normalize_text,
    priority_rank,
)

REGEX_TIMEOUT_SECONDS = 0.05
"""How long one `matches` may run on one value; a timeout counts as no match."""

RegexTimeoutHook = Callable[[str, str], None]
"""Called with (field, pattern) when a `matches` test timed out, so the caller can log it."""


class Op(StrEnum):
    EQ = "="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    CONTAINS = "contains"
    MATCHES = "matches"
    IN = "in"
    NOT_IN = "not in"


Scalar = str | Decimal | None
Value = Scalar | tuple[Scalar, ...]

_ORDERED = frozenset({Op.LT, Op.LE, Op.GT, Op.GE})
_LISTS = frozenset({Op.IN, Op.NOT_IN})
_ALLOWED: dict[FieldKind, frozenset[Op]] = {
    FieldKind.TEXT: frozenset({Op.EQ, Op.NE, Op.CONTAINS, Op.MATCHES, *_LISTS}),
    FieldKind.NUMBER: frozenset({Op.EQ, Op.NE, *_ORDERED, *_LISTS}),
    FieldKind.GRADE: frozenset({Op.EQ, Op.NE, *_ORDERED, *_LISTS}),
    FieldKind.PRIORITY: frozenset({Op.EQ, Op.NE, *_ORDERED, *_LISTS}),
    FieldKind.CHOICE: frozenset({Op.EQ, Op.NE, *_LISTS}),
}
_KIND_WORDS = {
    FieldKind.TEXT: "text",
    FieldKind.NUMBER: "number",
    FieldKind.GRADE: "grade",
    FieldKind.PRIORITY: "priority",
    FieldKind.CHOICE: "choice",
}


def allowed_ops(kind: FieldKind) -> list[Op]:
    """The operators a field of `kind` accepts, in the order they are documented."""
    return [op for op in Op if op in _ALLOWED[kind]]


class LiteralProblem(ValueError):
    """A comparison whose operator or value does not fit its field.

    `item` is the index of the offending element of an `in [...]` list, when it is one;
    `on_operator` says the operator itself is the mistake.
    """

    def __init__(self, message: str, *, item: int | None = None, on_operator: bool = False):
        super().__init__(message)
        self.message = message
        self.item = item
        self.on_operator = on_operator


# --- literals -------------------------------------------------------------------------


def format_string(text: str) -> str:
    """A string literal that reads back as `text`.

    A backslash stays single where it cannot start an escape (so regexes like `\\d+`
    read naturally) and is doubled where it could.
    """
    out = ['"']
    for index, char in enumerate(text):
        if char == "\\":
            following = text[index + 1] if index + 1 < len(text) else ""
            # Doubled also before a character written as an escape (a newline is `\n`).
            escaped = ("", "\\", '"', "'", "n", "t", "r", "\n", "\t", "\r")
            out.append("\\\\" if following in escaped else "\\")
        elif char == '"':
            out.append('\\"')
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif char == "\r":
            out.append("\\r")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def format_scalar(value: Scalar) -> str:
    if value is None:
        return "null"
    if isinstance(value, Decimal):
        text = format(value, "f")
        return "0" if text == "-0" else text
    return format_string(value)


def _describe(value: Scalar) -> str:
    if value is None:
        return "null"
    if isinstance(value, Decimal):
        return f"the number {format_scalar(value)}"
    return f"the text {format_string(value)}"


def _compile(pattern: str) -> Any:
    try:
        return regex.compile(pattern, regex.IGNORECASE)
    except Exception as exc:  # anything the regex engine refuses is the user's pattern
        detail = getattr(exc, "msg", None) or str(exc) or type(exc).__name__
        raise LiteralProblem(f"regex does not compile: {detail}") from None


def _target(spec: FieldSpec, op: Op, value: Scalar, item: int | None = None) -> object:
    """The literal as the evaluator compares it, or LiteralProblem saying what is wrong."""
    name, kind = spec.name, spec.kind
    if value is None:
        if item is not None:
            raise LiteralProblem(f"null cannot be in a list; write {name} = null", item=item)
        if op not in (Op.EQ, Op.NE):
            raise LiteralProblem(f"null can only be compared with = or !=, as in {name} != null")
        return None
    if kind is FieldKind.NUMBER:
        if isinstance(value, Decimal):
            if not value.is_finite():
                raise LiteralProblem(f"'{name}' needs a finite number", item=item)
            return value
        if _looks_numeric(value):
            message = f"'{name}' is a number: write {value.strip()} without quotes"
        else:
            message = f"'{name}' is a number; expected a number, not {_describe(value)}"
        raise LiteralProblem(message, item=item)
    if isinstance(value, Decimal):
        raise LiteralProblem(
            f"'{name}' is {_KIND_WORDS[kind]}; put the value in quotes: \"{format_scalar(value)}\"",
            item=item,
        )
    if kind is FieldKind.GRADE:
        grade = parse_grade(value)
        if grade is None:
            raise LiteralProblem(
                f"{format_string(value)} is not a grade; use one of {', '.join(GRADE_CODES)}",
                item=item,
            )
        return grade
    if kind is FieldKind.PRIORITY:
        rank = priority_rank(value)
        if rank is None:
            raise LiteralProblem(
                f'{format_string(value)} is not a priority; use "low", "medium" or "high"',
                item=item,
            )
        return rank
    if kind is FieldKind.CHOICE:
        choice = normalize_choice(value)
        if choice not in spec.choices:
            options = " or ".join(f'"{c}"' for c in spec.choices)
            raise LiteralProblem(f"'{name}' is {options}, not {format_string(value)}", item=item)
        return choice
    if op is Op.MATCHES:
        return _compile(value)
    return normalize_text(spec, value)


def _looks_numeric(text: str) -> bool:
    stripped = text.strip()
    try:
        Decimal(stripped)
    except ArithmeticError:
        return False
    return bool(stripped) and stripped.lstrip("-").replace(".", "", 1).isdigit()


# --- evaluation context -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Context:
    fields: Mapping[str, object]
    timeout: float
    on_timeout: RegexTimeoutHook | None


# --- nodes ----------------------------------------------------------------------------------


class Rule:
    """A watch rule. Build one with `parse_rule`; print it with `format_rule`."""

    __slots__ = ()

    def evaluate(
        self,
        fields: Mapping[str, object],
        *,
        regex_timeout: float = REGEX_TIMEOUT_SECONDS,
        on_regex_timeout: RegexTimeoutHook | None = None,
    ) -> bool:
        """True when the listing described by `fields` (see `rule_fields`) passes the rule.

        Never raises: a value of the wrong type counts as missing, a regex that times
        out as no match (reported through `on_regex_timeout`).
        """
        return self._eval(_Context(fields, regex_timeout, on_regex_timeout))

    def _eval(self, ctx: _Context) -> bool:
        raise NotImplementedError

    def text(self) -> str:
        """The canonical spelling of this rule."""
        raise NotImplementedError

    def __str__(self) -> str:
        return self.text()


@dataclass(frozen=True, slots=True)
class Constant(Rule):
    """`true` (every listing passes) or `false` (none does)."""

    value: bool

    def _eval(self, ctx: _Context) -> bool:
        return self.value

    def text(self) -> str:
        return "true" if self.value else "false"


@dataclass(frozen=True, slots=True)
class And(Rule):
    """Every one of `items` (two or more) holds."""

    items: tuple[Rule, ...]

    def __post_init__(self) -> None:
        if len(self.items) < 2:
            raise ValueError("And needs at least two rules")

    def _eval(self, ctx: _Context) -> bool:
        return all(item._eval(ctx) for item in self.items)

    def text(self) -> str:
        return " AND ".join(
            f"({item.text()})" if isinstance(item, And | Or) else item.text() for item in self.items
        )


@dataclass(frozen=True, slots=True)
class Or(Rule):
    """At least one of `items` (two or more) holds."""

    items: tuple[Rule, ...]

    def __post_init__(self) -> None:
        if len(self.items) < 2:
            raise ValueError("Or needs at least two rules")

    def _eval(self, ctx: _Context) -> bool:
        return any(item._eval(ctx) for item in self.items)

    def text(self) -> str:
        return " OR ".join(
            f"({item.text()})" if isinstance(item, Or) else item.text() for item in self.items
        )


@dataclass(frozen=True, slots=True)
class Not(Rule):
    """`item` does not hold."""

    item: Rule

    def _eval(self, ctx: _Context) -> bool:
        return not self.item._eval(ctx)

    def text(self) -> str:
        inner = self.item.text()
        return f"NOT ({inner})" if isinstance(self.item, And | Or) else f"NOT {inner}"


@dataclass(frozen=True, slots=True)
class Comparison(Rule):
    """`field op value`, e.g. `price < 30` or `country in ["US", "CA"]`.

    `value` is a Decimal, a str, None (`null`), or for `in`/`not in` a tuple of those.
    Constructing one checks it like the parser does (ValueError / LiteralProblem).
    """

    field: str
    op: Op
    value: Value
    _spec: FieldSpec = dataclass_field(init=False, compare=False, repr=False)
    _target: object = dataclass_field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        spec = lookup_field(self.field)
        if spec is None:
            raise LiteralProblem(f"unknown field '{self.field}'")
        op = Op(self.op)
        if op not in _ALLOWED[spec.kind]:
            ops = ", ".join(str(o) for o in allowed_ops(spec.kind))
            raise LiteralProblem(
                f"'{op}' does not apply to {_KIND_WORDS[spec.kind]} field '{spec.name}'; use {ops}",
                on_operator=True,
            )
        if op in _LISTS:
            if not isinstance(self.value, tuple):
                raise LiteralProblem(f'\'{op}\' needs a list in brackets, e.g. ["a", "b"]')
            target: object = frozenset(
                _target(spec, op, v, item=i) for i, v in enumerate(self.value)
            )
        else:
            if isinstance(self.value, tuple):
                raise LiteralProblem(f"'{op}' compares with one value, not a list")
            target = _target(spec, op, self.value)
        object.__setattr__(self, "field", spec.name)
        object.__setattr__(self, "op", op)
        object.__setattr__(self, "_spec", spec)
        object.__setattr__(self, "_target", target)

    def text(self) -> str:
        if isinstance(self.value, tuple):
            rendered = "[" + ", ".join(format_scalar(v) for v in self.value) + "]"
        else:
            rendered = format_scalar(self.value)
        return f"{self.field} {self.op} {rendered}"

    def _eval(self, ctx: _Context) -> bool:
        values = field_values(self._spec, ctx.fields.get(self.field))
        op, target = self.op, self._target
        if op is Op.NE:
            return not self._test(Op.EQ, values, target, ctx)
        if op is Op.NOT_IN:
            return not self._test(Op.IN, values, target, ctx)
        return self._test(op, values, target, ctx)

    def _test(self, op: Op, values: tuple[object, ...], target: object, ctx: _Context) -> bool:
        if target is None:  # `= null`
            return not values
        if op is Op.EQ:
            return target in values
        if op is Op.IN:
            assert isinstance(target, frozenset)
            return any(v in target for v in values)
        if op is Op.CONTAINS:
            return any(str(target) in str(v) for v in values)
        if op is Op.MATCHES:
            return any(self._search(target, str(v), ctx) for v in values)
        return any(_ordered(op, v, target) for v in values)

    def _search(self, pattern: Any, text: str, ctx: _Context) -> bool:
        try:
            return pattern.search(text, timeout=ctx.timeout) is not None
        except TimeoutError:
            if ctx.on_timeout is not None:
                ctx.on_timeout(self.field, str(self.value))
            return False


def _ordered(op: Op, value: Any, target: Any) -> bool:
    if op is Op.LT:
        return bool(value < target)
    if op is Op.LE:
        return bool(value <= target)
    if op is Op.GT:
        return bool(value > target)
    return bool(value >= target)


def field_names() -> list[str]:
    """Every field name and alias a rule may use."""
    return [*FIELDS, *ALIASES]
