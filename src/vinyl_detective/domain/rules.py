"""Watch rules: the filter expression a saved search (or the global config) carries.

    price < 30 AND condition >= "VG+"
    title contains "first press" OR title contains "1st press"
    format = "Vinyl" AND NOT title contains "repress" AND seller_feedback >= 98.5
    deal_score >= 0.35 AND (country in ["US", "CA"] OR shipping = 0)

Precedence: OR < AND < NOT < comparison; parentheses group. Keywords and field names
are case-insensitive. Text compares case-insensitively (`=`, `contains`, `in`) and
`matches` is a case-insensitive regular expression with a time limit. `condition`
compares on the grading scale; a listing whose grade is unknown satisfies no grade
comparison (but does satisfy `condition = null`). See `rules_fields.FIELDS` for every
field and `rules_parser` for the grammar.

    rule = parse_rule(search.rule)                 # RuleSyntaxError on a mistake
    rule.evaluate(rule_fields(listing, release, deal, match))
"""

from __future__ import annotations

from collections.abc import Sequence

from vinyl_detective.domain.rules_ast import (
    REGEX_TIMEOUT_SECONDS,
    And,
    Comparison,
    Constant,
    Not,
    Op,
    Or,
    RegexTimeoutHook,
    Rule,
)
from vinyl_detective.domain.rules_fields import FIELDS, FieldKind, describe_fields, rule_fields
from vinyl_detective.domain.rules_parser import parse

__all__ = [
    "FIELDS",
    "REGEX_TIMEOUT_SECONDS",
    "And",
    "Comparison",
    "Constant",
    "FieldKind",
    "Not",
    "Op",
    "Or",
    "RegexTimeoutHook",
    "Rule",
    "combine",
    "comparisons",
    "describe_fields",
    "format_rule",
    "parse_rule",
    "rule_fields",
    "validate_rule",
]


def parse_rule(text: str) -> Rule:
    """The rule `text` describes; RuleSyntaxError (with the position) when it has a mistake."""
    return parse(text)


def validate_rule(text: str) -> None:
    """Raise RuleSyntaxError if `text` is not a valid rule; for checking user input early."""
    parse(text)


def format_rule(rule: Rule) -> str:
    """The canonical spelling of `rule`: `parse_rule(format_rule(r)) == r`."""
    return rule.text()


def combine(rules: Sequence[Rule]) -> Rule:
    """All of `rules` at once (the global rule AND a search's own); `true` when empty."""
    parts: list[Rule] = []
    for rule in rules:
        if isinstance(rule, Constant) and rule.value:
            continue
        parts.append(rule)
    if not parts:
        return Constant(True)
    if len(parts) == 1:
        return parts[0]
    return And(tuple(parts))


def comparisons(rule: Rule) -> list[Comparison]:
    """Every field comparison in `rule`, left to right: what "why not?" shows one by one,
    each with the field's value and its own result."""
    if isinstance(rule, Comparison):
        return [rule]
    if isinstance(rule, And | Or):
        return [c for item in rule.items for c in comparisons(item)]
    if isinstance(rule, Not):
        return comparisons(rule.item)
    return []
