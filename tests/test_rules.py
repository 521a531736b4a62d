"""Watch rules: what users write, which listings pass, and what a mistake tells them."""

from __future__ import annotations

import time
from dataclasses import replace
from decimal import Decimal

import pytest

from vinyl_detective.domain.grading import Grade
from vinyl_detective.domain.models import (
    BuyingOption,
    Deal,
    Listing,
    Match,
    MatchMethod,
    Money,
    Priority,
    Release,
)
from vinyl_detective.domain.rules import (
    And,
    Comparison,
    Constant,
    Not,
    Op,
    Or,
    combine,
    format_rule,
    parse_rule,
    rule_fields,
    validate_rule,
)
from vinyl_detective.errors import RuleSyntaxError

RELEASE = Release(
    id=2825456,
    artist="Art Blakey & The Jazz Messengers",
    title="Moanin'",
    labels=("Blue Note",),
    catalog_nos=("BLP 4003",),
    format="Vinyl",
    format_descriptions=("LP", "Album", "Mono"),
    year=1959,
    genres=("Jazz",),
    styles=("Hard Bop",),
)
MATCH = Match(release_id=RELEASE.id, method=MatchMethod.CATALOG_NO, confidence=1.0)


def listing(**changes: object) -> Listing:
    base = Listing(
        item_id="v1|286012345678|0",
        title="Art Blakey Moanin' LP Blue Note BLP 4003 Mono VG+",
        price=Decimal("25.00"),
        currency="USD",
        shipping=Decimal("5.99"),
        condition="Used",
        condition_id="3000",
        seller_username="crate_digger_88",
        seller_feedback_pct=99.6,
        seller_feedback_score=2412,
        country="US",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def deal_for(lst: Listing, score: float = 0.4, priority: Priority = Priority.HIGH) -> Deal:
    return Deal(
        listing=lst,
        release=RELEASE,
        match=MATCH,
        reference=Money(Decimal("60.00"), "USD"),
        total=Money(lst.total, "USD"),
        score=score,
        priority=priority,
        reference_condition="VG+",
    )


def passes(rule_text: str, lst: Listing, *, score: float = 0.4) -> bool:
    return parse_rule(rule_text).evaluate(rule_fields(lst, RELEASE, deal_for(lst, score), MATCH))


def error_for(text: str) -> RuleSyntaxError:
    with pytest.raises(RuleSyntaxError) as caught:
        parse_rule(text)
    return caught.value


# --- the four examples from the product brief ---------------------------------------------


def test_cheap_and_at_least_vg_plus() -> None:
    rule = 'price < 30 AND condition >= "VG+"'
    assert passes(rule, listing())
    assert passes(rule, listing(title="Moanin' LP NM/NM"))
    assert not passes(rule, listing(price=Decimal("30.00")))
    assert not passes(rule, listing(title="Moanin' LP VG/VG+"))
    assert not passes(rule, listing(title="Moanin' LP"))  # ungraded: no grade comparison holds


def test_first_pressings_by_either_spelling() -> None:
    rule = 'title contains "first press" OR title contains "1st press"'
    assert passes(rule, listing(title="Moanin' LP FIRST PRESSING Blue Note"))
    assert passes(rule, listing(title="Moanin' 1st Press mono"))
    assert not passes(rule, listing(title="Moanin' LP 2nd press"))


def test_vinyl_no_repress_from_a_trusted_seller() -> None:
    rule = 'format = "Vinyl" AND NOT title contains "repress" AND seller_feedback >= 98.5'
    assert passes(rule, listing())
    assert not passes(rule, listing(title="Moanin' LP Blue Note REPRESS VG+"))
    assert not passes(rule, listing(seller_feedback_pct=98.4))
    cd = replace(RELEASE, format="CD", format_descriptions=("Album",))
    lst = listing()
    assert not parse_rule(rule).evaluate(rule_fields(lst, cd, deal_for(lst), MATCH))


def test_good_deals_near_home_or_with_free_shipping() -> None:
    rule = 'deal_score >= 0.35 AND (country in ["US", "CA"] OR shipping = 0)'
    assert passes(rule, listing(country="CA"))
    assert passes(rule, listing(country="DE", shipping=Decimal(0)))
    assert not passes(rule, listing(country="DE"))
    assert not passes(rule, listing(country="US"), score=0.30)


# --- semantics -------------------------------------------------------------------------


def test_and_binds_tighter_than_or() -> None:
    rule = parse_rule('price < 10 OR price < 30 AND country = "US"')
    assert isinstance(rule, Or)
    assert passes('price < 10 OR price < 30 AND country = "US"', listing(country="US"))
    assert not passes('price < 10 OR price < 30 AND country = "US"', listing(country="DE"))
    assert passes('(price < 10 OR price < 30) AND country = "US"', listing(country="US"))


def test_not_binds_tighter_than_and() -> None:
    rule = parse_rule('NOT country = "US" AND price < 30')
    assert rule == And(
        (Not(Comparison("country", Op.EQ, "US")), Comparison("price", Op.LT, Decimal(30)))
    )


def test_keywords_and_field_names_are_case_insensitive() -> None:
    assert parse_rule('Price < 30 and NOT Title CONTAINS "x" or TRUE') == parse_rule(
        'price < 30 AND NOT title contains "x" OR true'
    )


def test_contains_and_equality_ignore_case() -> None:
    assert passes('title contains "blue note"', listing())
    assert passes('label = "BLUE NOTE"', listing())
    assert passes('genre in ["jazz", "soul"]', listing())


def test_matches_is_a_case_insensitive_regex() -> None:
    assert passes(r'title matches "blp\s*\d{4}"', listing())
    assert not passes(r'title matches "^blp"', listing())


def test_catalog_numbers_compare_without_spacing() -> None:
    assert passes('catalog_no = "blp-4003"', listing())


def test_grades_compare_on_the_scale_whatever_the_spelling() -> None:
    assert passes('condition >= "Very Good Plus"', listing())
    assert passes('condition < "NM"', listing())
    assert passes('condition in ["VG+", "NM"]', listing())


def test_priority_compares_low_medium_high() -> None:
    lst = listing()
    fields = rule_fields(lst, RELEASE, deal_for(lst, 0.3, Priority.MEDIUM), MATCH)
    assert parse_rule('priority >= "medium"').evaluate(fields)
    assert not parse_rule('priority = "high"').evaluate(fields)


def test_buying_option_accepts_either_spelling() -> None:
    assert passes('buying_option = "Fixed Price"', listing())
    assert passes('buying_option = "auction"', listing(buying_option=BuyingOption.AUCTION))
    assert not passes('buying_option = "auction"', listing())


def test_a_missing_value_fails_comparisons_but_not_inequality() -> None:
    unknown_shipping = listing(shipping=None)
    assert not passes("shipping = 0", unknown_shipping)
    assert not passes("shipping < 10", unknown_shipping)
    assert passes("shipping != 0", unknown_shipping)
    assert passes("shipping = null", unknown_shipping)
    assert not passes("total < 1000", unknown_shipping)
    assert passes("shipping != null", listing())


def test_release_fields_are_missing_before_a_match() -> None:
    fields = rule_fields(listing())
    assert not parse_rule('artist contains "blakey"').evaluate(fields)
    assert parse_rule("deal_score = null").evaluate(fields)
    assert parse_rule('catalog_no = "BLP 4003"').evaluate(
        rule_fields(listing(catalog_no="BLP-4003"))
    )


def test_rule_fields_describes_the_listing_release_and_deal() -> None:
    lst = listing()
    fields = rule_fields(lst, RELEASE, deal_for(lst), MATCH)
    assert fields["condition"] is Grade.VG_PLUS
    assert fields["total"] == Decimal("30.99")
    assert fields["buying_option"] == "fixed_price"
    assert fields["format"] == ("Vinyl", "LP", "Album", "Mono")
    assert fields["match_method"] == "catalog_no"
    assert fields["saving"] == Decimal("29.01")


def test_location_is_another_name_for_country() -> None:
    assert parse_rule('location = "US"') == parse_rule('country = "US"')


def test_not_in_is_the_opposite_of_in() -> None:
    assert passes('country not in ["DE", "FR"]', listing())
    assert not passes('country not in ["US"]', listing())


def test_negative_and_fractional_numbers() -> None:
    assert passes("price > -1 AND deal_score >= .35", listing())


# --- combining and formatting ------------------------------------------------------------


def test_global_and_search_rules_must_both_hold() -> None:
    both = combine([parse_rule("price < 30"), parse_rule('country = "US" OR shipping = 0')])
    assert format_rule(both) == 'price < 30 AND (country = "US" OR shipping = 0)'
    assert both.evaluate(rule_fields(listing()))
    assert not both.evaluate(rule_fields(listing(country="DE")))


def test_combining_nothing_lets_everything_through() -> None:
    assert combine([]) == Constant(True)
    assert combine([]).evaluate({})
    single = parse_rule("price < 30")
    assert combine([single]) is single


def test_format_rule_writes_the_canonical_spelling() -> None:
    rule = parse_rule("price<30 and not(title contains 'it\\'s' or year==1959)")
    assert format_rule(rule) == ('price < 30 AND NOT (title contains "it\'s" OR year = 1959)')
    assert parse_rule(format_rule(rule)) == rule


def test_regex_backslashes_survive_formatting() -> None:
    rule = parse_rule(r'title matches "\d+\s*rpm"')
    assert format_rule(rule) == r'title matches "\d+\s*rpm"'


def test_validate_rule_accepts_good_rules_and_refuses_bad_ones() -> None:
    validate_rule('price < 30 AND condition >= "VG+"')
    with pytest.raises(RuleSyntaxError):
        validate_rule("price <")


# --- regex time limit -----------------------------------------------------------------


def test_a_catastrophic_regex_times_out_promptly_and_counts_as_no_match() -> None:
    rule = parse_rule('title matches "(x+x+)+y"')
    timeouts: list[tuple[str, str]] = []
    fields = {"title": "x" * 5000}
    started = time.perf_counter()
    result = rule.evaluate(
        fields, regex_timeout=0.01, on_regex_timeout=lambda f, p: timeouts.append((f, p))
    )
    elapsed = time.perf_counter() - started
    assert result is False
    assert elapsed < 1.0
    assert timeouts == [("title", "(x+x+)+y")]


# --- mistakes and what they say -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ("price <", "expected a value after '<'", 7),
        ("prise < 30", "unknown field 'prise' — did you mean 'price'?", 0),
        ("(price < 30 AND year > 1970", "unclosed parenthesis opened here", 0),
        ('title contains "first press', "unterminated string", 15),
        ('title matches "(unclosed"', "regex does not compile", 14),
        ('price < "abc"', "'price' is a number", 8),
        ('year = "1970"', "write 1970 without quotes", 7),
        ('condition >= "great"', '"great" is not a grade; use one of M, NM, VG+', 13),
        ('condition contains "VG"', "'contains' does not apply to grade field 'condition'", 10),
        ("price < 30 AND", "expected a condition after 'AND'", 14),
        ("price 30", "expected an operator after 'price'", 6),
        ("price < 30)", "unexpected ')' with no matching '('", 10),
        ("price < 30 year > 1970", "expected AND or OR before 'year'", 11),
        ("price < 30 ANDD year > 1", "did you mean 'AND'?", 11),
        ("title contains 30", "put the value in quotes", 15),
        ("title contains first", 'text values need quotes: "first"', 15),
        ("price > 10 && price < 30", "write AND", 11),
        ("price <> 30", "write != for 'not equal'", 6),
        ("price < $30", "plain numbers", 8),
        ('country in "US"', "expected '[' after 'in'", 11),
        ('country in ["US" "CA"]', "expected ',' or ']'", 17),
        ('country in ["US",', "unclosed '[' opened here", 11),
        ('buying_option = "bid"', '"auction" or "fixed_price"', 16),
        ("price < null", "null can only be compared with = or !=", 8),
        ('title not contains "x"', "write NOT title contains", 6),
        ("", "the rule is empty", 0),
        ("30 < price", "expected a field name", 0),
    ],
)
def test_mistakes_say_what_was_expected_and_where(text: str, message: str, position: int) -> None:
    error = error_for(text)
    assert message in error.message
    assert error.position == position
    assert error.expression == text


def test_the_error_text_points_at_the_mistake() -> None:
    error = error_for("prise < 30")
    assert str(error).endswith("prise < 30\n  ^")
