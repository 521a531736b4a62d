"""The fake Discogs marketplace: `GET /marketplace/stats/{id}` bodies, derived from a
release's price suggestions (or the stats the release dict carries), converted to the
`curr_abbr` currency at fixed demo rates (not real ones).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

# Fixed demo exchange rates to USD, for `curr_abbr` (not real rates).
_USD_PER_UNIT: Mapping[str, Decimal] = {
    "USD": Decimal("1"),
    "EUR": Decimal("1.08"),
    "GBP": Decimal("1.27"),
    "CAD": Decimal("0.73"),
    "AUD": Decimal("0.66"),
    "JPY": Decimal("0.0067"),
    "CHF": Decimal("1.13"),
    "MXN": Decimal("0.058"),
    "BRL": Decimal("0.2"),
    "NZD": Decimal("0.61"),
    "SEK": Decimal("0.095"),
    "ZAR": Decimal("0.055"),
}
_CENT = Decimal("0.01")


def marketplace_stats(
    release: Mapping[str, Any],
    release_id: int,
    suggestions: Mapping[str, Any],
    currency: str | None,
) -> dict[str, Any]:
    """`lowest_price` and `num_for_sale` of a release: its own if it carries them, else
    derived deterministically from its VG+ (or best) suggestion; null without any."""
    if "num_for_sale" in release or "lowest_price" in release:
        count = release.get("num_for_sale")
        price = release.get("lowest_price")
        amount = Decimal(str(price)) if isinstance(price, int | float) else None
        return stats_body(amount, "USD", count, currency)
    reference = suggestions.get("Very Good Plus (VG+)") or next(
        (v for v in suggestions.values() if isinstance(v, Mapping)), None
    )
    if not isinstance(reference, Mapping) or reference.get("value") is None:
        return {"lowest_price": None, "num_for_sale": None, "blocked_from_sale": False}
    count = 1 + release_id % 23
    lowest = Decimal(str(reference["value"])) * Decimal("0.85")
    return stats_body(lowest, str(reference.get("currency", "USD")), count, currency)


def stats_body(
    amount: Decimal | None, from_currency: str, count: Any, currency: str | None
) -> dict[str, Any]:
    if amount is None or not count:
        return {"lowest_price": None, "num_for_sale": count or None, "blocked_from_sale": False}
    target = currency if currency is not None and currency in _USD_PER_UNIT else from_currency
    if target != from_currency and from_currency in _USD_PER_UNIT:
        amount = amount * _USD_PER_UNIT[from_currency] / _USD_PER_UNIT[target]
    value = float(amount.quantize(_CENT, rounding=ROUND_HALF_UP))
    return {
        "lowest_price": {"currency": target, "value": value},
        "num_for_sale": count,
        "blocked_from_sale": False,
    }
