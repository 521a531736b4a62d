"""Exchange rates: converting money between currencies, or refusing to when a rate is unknown.

Nothing in the product compares amounts in two currencies without converting them
first; `ExchangeRates.convert` returns None for a currency it has no rate for, and the
caller then declines to score rather than guess.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

CENT = Decimal("0.01")

DEFAULT_RATES_DATE = "2025-09-01"
"""When the default rates were taken (approximate mid-market values, rounded)."""

APPROXIMATE_USD_RATES: Mapping[str, Decimal] = {
    # Value of one unit of each currency in US dollars, approximate as of DEFAULT_RATES_DATE.
    # Good enough to decide "is this a deal"; FX_RATES in the configuration overrides them.
    "USD": Decimal("1"),
    "EUR": Decimal("1.17"),
    "GBP": Decimal("1.35"),
    "CAD": Decimal("0.72"),
    "AUD": Decimal("0.65"),
    "JPY": Decimal("0.0068"),
    "CHF": Decimal("1.25"),
    "SEK": Decimal("0.106"),
    "NZD": Decimal("0.59"),
    "MXN": Decimal("0.054"),
    "BRL": Decimal("0.18"),
    "ZAR": Decimal("0.057"),
    "PLN": Decimal("0.27"),  # EBAY_PL prices in it
}


def _code(currency: str) -> str:
    return currency.strip().upper()


@dataclass(frozen=True, slots=True)
class ExchangeRates:
    """Rates to one base currency: `rates["EUR"]` is the value of 1 EUR in `base`.

    >>> rates = ExchangeRates()
    >>> rates.convert(Decimal("10"), "USD", "USD")
    Decimal('10')
    >>> rates.convert(Decimal("10"), "USD", "XYZ") is None
    True
    """

    rates: Mapping[str, Decimal] = field(default_factory=lambda: dict(APPROXIMATE_USD_RATES))
    base: str = "USD"

    def __post_init__(self) -> None:
        cleaned: dict[str, Decimal] = {}
        for currency, rate in self.rates.items():
            value = Decimal(rate)
            if not value.is_finite() or value <= 0:
                msg = f"exchange rate for {currency} must be a positive number, got {rate}"
                raise ValueError(msg)
            cleaned[_code(currency)] = value
        cleaned.setdefault(_code(self.base), Decimal(1))
        object.__setattr__(self, "rates", cleaned)
        object.__setattr__(self, "base", _code(self.base))

    def knows(self, currency: str) -> bool:
        """True when amounts in `currency` can be converted."""
        return _code(currency) in self.rates

    def with_rates(self, overrides: Mapping[str, Decimal | str | float]) -> ExchangeRates:
        """These rates with some replaced or added (values in the same base currency)."""
        merged = dict(self.rates)
        for currency, rate in overrides.items():
            try:
                merged[_code(currency)] = Decimal(str(rate))
            except InvalidOperation as exc:
                msg = f"exchange rate for {currency} must be a number, got {rate!r}"
                raise ValueError(msg) from exc
        return ExchangeRates(merged, self.base)

    def convert(self, amount: Decimal, from_cur: str, to_cur: str) -> Decimal | None:
        """`amount` in `from_cur` expressed in `to_cur`, rounded to cents; None if unknown.

        The same currency converts to itself unchanged, even one without a rate.
        """
        source, target = _code(from_cur), _code(to_cur)
        if source == target:
            return amount
        from_rate = self.rates.get(source)
        to_rate = self.rates.get(target)
        if from_rate is None or to_rate is None:
            return None
        return (amount * from_rate / to_rate).quantize(CENT, rounding=ROUND_HALF_EVEN)


DEFAULT_RATES = ExchangeRates(APPROXIMATE_USD_RATES)
"""The built-in rates (USD base, approximate as of DEFAULT_RATES_DATE); the daemon may
replace them with `DEFAULT_RATES.with_rates(configured)`."""
