"""The deal lifecycle state machine: which moves are allowed, what they record, what is stale."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vinyl_detective.domain.lifecycle import (
    OPEN_STATES,
    STALE_AFTER,
    DealState,
    Figures,
    check_transition,
    compute_profit,
    next_states,
    parse_state,
    plan_transition,
    stale_deals,
)
from vinyl_detective.errors import InvalidTransitionError

S = DealState
ALLOWED = {
    (S.FOUND, S.MESSAGING),
    (S.FOUND, S.PURCHASED),
    (S.FOUND, S.CANCELLED),
    (S.MESSAGING, S.NEGOTIATING),
    (S.MESSAGING, S.PURCHASED),
    (S.MESSAGING, S.CANCELLED),
    (S.NEGOTIATING, S.PURCHASED),
    (S.NEGOTIATING, S.CANCELLED),
    (S.PURCHASED, S.RECEIVED),
    (S.PURCHASED, S.CANCELLED),
    (S.RECEIVED, S.LISTED),
    (S.LISTED, S.SOLD),
}
REFUSED = sorted(set(itertools.product(DealState, DealState)) - ALLOWED)


@pytest.mark.parametrize(("current", "target"), sorted(ALLOWED))
def test_every_step_of_the_flip_is_allowed(current: DealState, target: DealState) -> None:
    check_transition(current, target)
    assert target in next_states(current)


@pytest.mark.parametrize(("current", "target"), REFUSED)
def test_every_other_move_is_refused_naming_the_allowed_next_states(
    current: DealState, target: DealState
) -> None:
    with pytest.raises(InvalidTransitionError) as refused:
        check_transition(current, target)
    message = str(refused.value)
    assert f"cannot go from {current} to {target}" in message
    allowed = [s for s in DealState if (current, s) in ALLOWED]
    expected = ", ".join(allowed) if allowed else "none"
    assert message.endswith(f"allowed next states: {expected}")


def test_refusal_message_reads_like_an_instruction() -> None:
    with pytest.raises(InvalidTransitionError, match=r"^cannot go from FOUND to SOLD; ") as e:
        check_transition(S.FOUND, S.SOLD)
    assert str(e.value) == (
        "cannot go from FOUND to SOLD; allowed next states: MESSAGING, PURCHASED, CANCELLED"
    )


def test_sold_and_cancelled_are_final() -> None:
    assert next_states(S.SOLD) == frozenset()
    assert next_states(S.CANCELLED) == frozenset()
    assert S.SOLD.is_final
    assert S.CANCELLED.is_final
    assert S.SOLD not in OPEN_STATES
    assert S.CANCELLED not in OPEN_STATES
    with pytest.raises(InvalidTransitionError, match="SOLD is final"):
        check_transition(S.SOLD, S.CANCELLED)


def test_only_the_first_four_states_can_be_cancelled() -> None:
    cancellable = {s for s in DealState if S.CANCELLED in next_states(s)}
    assert cancellable == {S.FOUND, S.MESSAGING, S.NEGOTIATING, S.PURCHASED}


def test_every_state_announces_its_own_event_type() -> None:
    assert S.PURCHASED.event_type == "listing.state.purchased"
    assert S.CANCELLED.event_type == "listing.state.cancelled"


@pytest.mark.parametrize("text", ["purchased", " PURCHASED ", "Purchased"])
def test_state_names_from_users_are_case_insensitive(text: str) -> None:
    assert parse_state(text) is S.PURCHASED


def test_unknown_state_name_lists_the_valid_ones() -> None:
    with pytest.raises(InvalidTransitionError, match=r"use one of: FOUND, MESSAGING, .*CANCELLED"):
        parse_state("bought")


def test_buying_records_what_was_paid() -> None:
    figures = plan_transition(S.FOUND, S.PURCHASED, Figures(), purchase_price=Decimal("18.50"))
    assert figures == Figures(purchase_price=Decimal("18.50"))


def test_buying_without_a_price_is_refused_with_what_to_give() -> None:
    with pytest.raises(InvalidTransitionError, match="needs purchase_price"):
        plan_transition(S.NEGOTIATING, S.PURCHASED, Figures())


def test_selling_computes_profit_after_fees() -> None:
    bought = Figures(purchase_price=Decimal("18.50"))
    sold = plan_transition(
        S.LISTED, S.SOLD, bought, sale_price=Decimal("45.00"), fees=Decimal("6.30")
    )
    assert sold == Figures(Decimal("18.50"), Decimal("45.00"), Decimal("6.30"), Decimal("20.20"))


def test_selling_without_fees_counts_no_fees() -> None:
    sold = plan_transition(
        S.LISTED, S.SOLD, Figures(purchase_price=Decimal("10")), sale_price=Decimal("9.50")
    )
    assert sold.profit == Decimal("-0.50")  # a loss is a negative profit, not an error


def test_selling_without_a_sale_price_is_refused() -> None:
    with pytest.raises(InvalidTransitionError, match="needs sale_price"):
        plan_transition(S.LISTED, S.SOLD, Figures(purchase_price=Decimal(10)))


def test_figures_for_the_wrong_step_are_refused_not_dropped() -> None:
    with pytest.raises(InvalidTransitionError, match="purchase_price is recorded when moving"):
        plan_transition(S.FOUND, S.MESSAGING, Figures(), purchase_price=Decimal(5))
    with pytest.raises(InvalidTransitionError, match="sale_price and fees"):
        plan_transition(S.PURCHASED, S.RECEIVED, Figures(Decimal(5)), fees=Decimal(1))


def test_negative_amounts_are_refused() -> None:
    with pytest.raises(InvalidTransitionError, match="zero or more"):
        plan_transition(S.FOUND, S.PURCHASED, Figures(), purchase_price=Decimal("-1"))


def test_figures_carry_over_steps_that_record_nothing() -> None:
    bought = Figures(purchase_price=Decimal("12.00"))
    assert plan_transition(S.PURCHASED, S.RECEIVED, bought) == bought
    assert plan_transition(S.PURCHASED, S.CANCELLED, bought) == bought


def test_an_invalid_move_is_refused_before_its_figures_are_checked() -> None:
    with pytest.raises(InvalidTransitionError, match="cannot go from FOUND to SOLD"):
        plan_transition(S.FOUND, S.SOLD, Figures(), sale_price=Decimal(30))


amounts = st.decimals(min_value=0, max_value=10_000, places=2)


@given(sale=amounts, purchase=amounts, fees=st.one_of(st.none(), amounts))
def test_profit_plus_costs_is_the_sale_price(
    sale: Decimal, purchase: Decimal, fees: Decimal | None
) -> None:
    assert compute_profit(sale, purchase, fees) + purchase + (fees or 0) == sale


@dataclass(frozen=True)
class _Deal:
    item_id: str
    state: DealState
    state_changed_at: datetime


NOW = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)


def test_conversations_that_went_quiet_too_long_are_stale() -> None:
    deals = [
        _Deal("msg-8d", S.MESSAGING, NOW - timedelta(days=8)),
        _Deal("msg-6d", S.MESSAGING, NOW - timedelta(days=6)),
        _Deal("neg-15d", S.NEGOTIATING, NOW - timedelta(days=15)),
        _Deal("neg-10d", S.NEGOTIATING, NOW - timedelta(days=10)),
    ]
    decisions = stale_deals(deals, NOW)
    assert [d.item_id for d in decisions] == ["msg-8d", "neg-15d"]
    assert decisions[0].idle == timedelta(days=8)
    assert decisions[0].limit == STALE_AFTER[S.MESSAGING] == timedelta(days=7)
    assert decisions[1].limit == timedelta(days=14)


def test_exactly_at_the_limit_is_not_yet_stale() -> None:
    deal = _Deal("edge", S.MESSAGING, NOW - timedelta(days=7))
    assert stale_deals([deal], NOW) == []
    assert len(stale_deals([deal], NOW + timedelta(seconds=1))) == 1


@pytest.mark.parametrize("state", [s for s in DealState if s not in (S.MESSAGING, S.NEGOTIATING)])
def test_other_states_never_time_out(state: DealState) -> None:
    assert stale_deals([_Deal("old", state, NOW - timedelta(days=400))], NOW) == []
