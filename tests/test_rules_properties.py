"""Properties of the watch-rule language that must hold for every rule, not just examples."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import example, given, settings
from hypothesis import strategies as st

from vinyl_detective.domain.grading import GRADE_CODES
from vinyl_detective.domain.rules import (
    FIELDS,
    And,
    Comparison,
    Constant,
    FieldKind,
    Not,
    Op,
    Or,
    Rule,
    format_rule,
    parse_rule,
)
from vinyl_detective.errors import RuleSyntaxError

numbers = st.decimals(
    min_value=Decimal("-100000"), max_value=Decimal("100000"), places=2, allow_nan=False
)
texts = st.text(max_size=20)
safe_patterns = st.sampled_from([r"\d+", "first press", r"^blue\s+note", "(lp|ep)$", r"\bvg\+"])
grades = st.sampled_from([*GRADE_CODES, "Very Good Plus", "Near Mint (NM or M-)", "EX"])


def _literals(kind: FieldKind, name: str) -> st.SearchStrategy[str | Decimal]:
    if kind is FieldKind.NUMBER:
        return numbers
    if kind is FieldKind.GRADE:
        return grades
    if kind is FieldKind.PRIORITY:
        return st.sampled_from(["low", "medium", "high", "HIGH"])
    if kind is FieldKind.CHOICE:
        return st.sampled_from(FIELDS[name].choices)
    return texts


@st.composite
def comparisons(draw: st.DrawFn) -> Comparison:
    name = draw(st.sampled_from(sorted(FIELDS)))
    kind = FIELDS[name].kind
    literal = _literals(kind, name)
    ops = {
        FieldKind.TEXT: [Op.EQ, Op.NE, Op.CONTAINS, Op.MATCHES, Op.IN, Op.NOT_IN],
        FieldKind.CHOICE: [Op.EQ, Op.NE, Op.IN, Op.NOT_IN],
    }.get(kind, [Op.EQ, Op.NE, Op.LT, Op.LE, Op.GT, Op.GE, Op.IN, Op.NOT_IN])
    op = draw(st.sampled_from(ops))
    if op in (Op.IN, Op.NOT_IN):
        return Comparison(name, op, tuple(draw(st.lists(literal, max_size=4))))
    if op is Op.MATCHES:
        return Comparison(name, op, draw(safe_patterns))
    if op in (Op.EQ, Op.NE) and draw(st.booleans()) and draw(st.booleans()):
        return Comparison(name, op, None)
    return Comparison(name, op, draw(literal))


def _extend(children: st.SearchStrategy[Rule]) -> st.SearchStrategy[Rule]:
    many = st.lists(children, min_size=2, max_size=4).map(tuple)
    return st.one_of(children.map(Not), many.map(And), many.map(Or))


rules = st.recursive(st.one_of(comparisons(), st.booleans().map(Constant)), _extend, max_leaves=10)


@given(rules)
@example(Comparison("artist", Op.IN, ("\\\n",)))  # backslash + newline (Hypothesis found it)
@settings(max_examples=300, deadline=None)
def test_every_rule_reads_back_as_itself_after_formatting(rule: Rule) -> None:
    text = format_rule(rule)
    assert parse_rule(text) == rule
    assert format_rule(parse_rule(text)) == text


def _outcome(text: str) -> Rule | RuleSyntaxError:
    """The rule `text` parses to, or the error it raises (anything else propagates)."""
    try:
        return parse_rule(text)
    except RuleSyntaxError as error:
        return error


@given(st.text(max_size=80))
@settings(max_examples=500, deadline=None)
def test_arbitrary_text_either_parses_or_says_where_it_is_wrong(text: str) -> None:
    outcome = _outcome(text)
    if isinstance(outcome, RuleSyntaxError):
        assert 0 <= outcome.position <= len(text)
        assert outcome.message


_ALPHABET = st.sampled_from(
    [
        "price",
        "title",
        "condition",
        "country",
        "prise",
        " AND ",
        " OR ",
        "NOT ",
        " and ",
        "(",
        ")",
        "[",
        "]",
        ",",
        " < ",
        " >= ",
        " = ",
        " != ",
        " contains ",
        " matches ",
        " in ",
        " not in ",
        "30",
        "-1.5",
        '"VG+"',
        '"US"',
        "'x'",
        '"(',
        '"',
        "\\",
        "null",
        "true",
        " ",
        "$",
        "&&",
        "<>",
    ]
)


@given(st.lists(_ALPHABET, max_size=14).map("".join))
@settings(max_examples=800, deadline=None)
def test_rule_like_text_either_parses_or_says_where_it_is_wrong(text: str) -> None:
    outcome = _outcome(text)
    if isinstance(outcome, RuleSyntaxError):
        assert 0 <= outcome.position <= len(text)
    else:
        assert parse_rule(format_rule(outcome)) == outcome


@given(
    comparisons(),
    st.dictionaries(
        st.sampled_from(sorted(FIELDS)),
        st.one_of(
            st.none(),
            texts,
            numbers,
            st.integers(),
            st.floats(allow_nan=True),
            st.booleans(),
            st.lists(texts, max_size=3),
        ),
    ),
)
@settings(max_examples=300, deadline=None)
def test_inequality_is_always_the_negation_of_equality(
    rule: Comparison, fields: dict[str, object]
) -> None:
    negated = {Op.EQ: Op.NE, Op.NE: Op.EQ, Op.IN: Op.NOT_IN, Op.NOT_IN: Op.IN}.get(rule.op)
    result = rule.evaluate(fields)  # never raises, whatever the values' types
    assert isinstance(result, bool)
    if negated is not None:
        opposite = Comparison(rule.field, negated, rule.value)
        assert opposite.evaluate(fields) is (not result)
