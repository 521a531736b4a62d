"""The deal lifecycle: a strict state machine for flipping a record, and its money maths.

    FOUND ─► MESSAGING ─► NEGOTIATING ─► PURCHASED ─► RECEIVED ─► LISTED ─► SOLD
      │  └──────────────┴──────────────► PURCHASED        ("Bought" skips the talking)
      └─► CANCELLED ◄── MESSAGING, NEGOTIATING, PURCHASED

SOLD and CANCELLED are final. Moving to PURCHASED records what was paid; moving to SOLD
records what it sold for and the fees, and the profit follows from the three.
Stale conversations are cancelled after `STALE_AFTER` (decided here, done by
jobs/tracking.py). Pure: no clock, no storage; time is passed in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from vinyl_detective.errors import InvalidTransitionError


class DealState(StrEnum):
    """Where a tracked deal stands. Values are the names the API, CLI and events use."""

    FOUND = "FOUND"
    MESSAGING = "MESSAGING"
    NEGOTIATING = "NEGOTIATING"
    PURCHASED = "PURCHASED"
    RECEIVED = "RECEIVED"
    LISTED = "LISTED"
    SOLD = "SOLD"
    CANCELLED = "CANCELLED"

    @property
    def is_final(self) -> bool:
        return not TRANSITIONS[self]

    @property
    def event_type(self) -> str:
        """The domain event emitted on entering this state, e.g. `listing.state.purchased`."""
        return f"listing.state.{self.value.lower()}"


class Actor(StrEnum):
    """Who asked for a transition; stored with every step of a deal's history."""

    PIPELINE = "pipeline"  # the daemon found the deal by itself
    BOT = "bot"  # a Telegram button or command
    CLI = "cli"
    API = "api"  # the admin API or the dashboard
    TIMEOUT = "timeout"  # the tracking job cancelled a stale conversation


TRANSITIONS: dict[DealState, frozenset[DealState]] = {
    DealState.FOUND: frozenset({DealState.MESSAGING, DealState.PURCHASED, DealState.CANCELLED}),
    DealState.MESSAGING: frozenset(
        {DealState.NEGOTIATING, DealState.PURCHASED, DealState.CANCELLED}
    ),
    DealState.NEGOTIATING: frozenset({DealState.PURCHASED, DealState.CANCELLED}),
    DealState.PURCHASED: frozenset({DealState.RECEIVED, DealState.CANCELLED}),
    DealState.RECEIVED: frozenset({DealState.LISTED}),
    DealState.LISTED: frozenset({DealState.SOLD}),
    DealState.SOLD: frozenset(),
    DealState.CANCELLED: frozenset(),
}

OPEN_STATES: frozenset[DealState] = frozenset(s for s in DealState if TRANSITIONS[s])

# How long a conversation may sit without progress before it is cancelled.
STALE_AFTER: dict[DealState, timedelta] = {
    DealState.MESSAGING: timedelta(days=7),
    DealState.NEGOTIATING: timedelta(days=14),
}

TIMEOUT_REASON = "timeout"


def _names(states: Iterable[DealState]) -> str:
    ordered = [s for s in DealState if s in set(states)]
    return ", ".join(s.value for s in ordered)


def next_states(state: DealState) -> frozenset[DealState]:
    """The states a deal in `state` may move to (empty for SOLD and CANCELLED)."""
    return TRANSITIONS[DealState(state)]


def check_transition(current: DealState, target: DealState) -> None:
    """Raise InvalidTransitionError unless `current` → `target` is an allowed move."""
    current, target = DealState(current), DealState(target)
    allowed = TRANSITIONS[current]
    if target in allowed:
        return
    if not allowed:
        raise InvalidTransitionError(
            f"cannot go from {current} to {target}; {current} is final, allowed next states: none"
        )
    raise InvalidTransitionError(
        f"cannot go from {current} to {target}; allowed next states: {_names(allowed)}"
    )


def parse_state(text: str) -> DealState:
    """A state from user input ("purchased", " SOLD "); the error lists the valid names."""
    try:
        return DealState(text.strip().upper())
    except ValueError:
        raise InvalidTransitionError(
            f"unknown deal state {text!r}; use one of: {_names(DealState)}"
        ) from None


@dataclass(frozen=True, slots=True)
class Figures:
    """The money recorded on a deal: what was paid, what it sold for, fees, profit."""

    purchase_price: Decimal | None = None
    sale_price: Decimal | None = None
    fees: Decimal | None = None
    profit: Decimal | None = None


def compute_profit(sale_price: Decimal, purchase_price: Decimal, fees: Decimal | None) -> Decimal:
    """Profit of a flip: sale − purchase − fees (fees default to nothing)."""
    return sale_price - purchase_price - (fees or Decimal(0))


def _check_amount(name: str, value: Decimal | None) -> None:
    if value is not None and (not value.is_finite() or value < 0):
        raise InvalidTransitionError(f"{name} must be zero or more, got {value}")


def plan_transition(
    current: DealState,
    target: DealState,
    recorded: Figures,
    *,
    purchase_price: Decimal | None = None,
    sale_price: Decimal | None = None,
    fees: Decimal | None = None,
) -> Figures:
    """Validate a move and return the deal's figures after it.

    PURCHASED needs `purchase_price`; SOLD needs `sale_price` (fees optional) and
    computes the profit from the recorded purchase price. Figures given for a state
    that does not record them are refused rather than silently dropped.
    """
    current, target = DealState(current), DealState(target)
    check_transition(current, target)
    for name, value in (
        ("purchase_price", purchase_price),
        ("sale_price", sale_price),
        ("fees", fees),
    ):
        _check_amount(name, value)
    if purchase_price is not None and target is not DealState.PURCHASED:
        raise InvalidTransitionError(
            f"purchase_price is recorded when moving to PURCHASED, not {target}"
        )
    if (sale_price is not None or fees is not None) and target is not DealState.SOLD:
        raise InvalidTransitionError(
            f"sale_price and fees are recorded when moving to SOLD, not {target}"
        )
    if target is DealState.PURCHASED:
        if purchase_price is None:
            raise InvalidTransitionError(
                "moving to PURCHASED needs purchase_price: what you paid, shipping included"
            )
        return Figures(purchase_price=purchase_price)
    if target is DealState.SOLD:
        if sale_price is None:
            raise InvalidTransitionError(
                "moving to SOLD needs sale_price: what the buyer paid (fees are optional)"
            )
        if recorded.purchase_price is None:  # cannot happen through the machine; be explicit
            raise InvalidTransitionError("this deal has no purchase price; record PURCHASED first")
        return Figures(
            purchase_price=recorded.purchase_price,
            sale_price=sale_price,
            fees=fees,
            profit=compute_profit(sale_price, recorded.purchase_price, fees),
        )
    return recorded


class TrackedDeal(Protocol):
    """What `stale_deals` needs to know about a deal."""

    @property
    def item_id(self) -> str: ...

    @property
    def state(self) -> DealState: ...

    @property
    def state_changed_at(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class Expiry:
    """A decision to cancel a deal that sat in `state` for `idle` (longer than `limit`)."""

    item_id: str
    state: DealState
    idle: timedelta
    limit: timedelta


def stale_deals(deals: Iterable[TrackedDeal], now: datetime) -> list[Expiry]:
    """The deals that have waited in MESSAGING or NEGOTIATING longer than `STALE_AFTER`."""
    expiries: list[Expiry] = []
    for deal in deals:
        limit = STALE_AFTER.get(DealState(deal.state))
        if limit is None:
            continue
        idle = now - deal.state_changed_at
        if idle > limit:
            expiries.append(Expiry(deal.item_id, DealState(deal.state), idle, limit))
    return expiries
