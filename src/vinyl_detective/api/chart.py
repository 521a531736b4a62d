"""The price chart of a release page, laid out on the server as plain coordinates.

`price_chart` places the listing prices seen over time (dots) against the Discogs
reference prices (horizontal lines, labelled on the right); the template draws it as
inline SVG, so the page needs no JavaScript. Amounts of one currency only: the caller
leaves out what it cannot compare.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

WIDTH = 760
HEIGHT = 300
LEFT, RIGHT, TOP, BOTTOM = 56, 124, 16, 34
LABEL_GAP = 13  # minimum vertical distance between two reference labels, in px


@dataclass(frozen=True, slots=True)
class PricePoint:
    at: datetime
    amount: Decimal
    label: str  # the tooltip: title and price
    kind: str  # css class: the listing's priority, or "none"


@dataclass(frozen=True, slots=True)
class Reference:
    label: str  # "VG+ 80.00"
    amount: Decimal
    kind: str  # css class: "suggestion" or "lowest"


@dataclass(frozen=True, slots=True)
class Tick:
    pos: float
    label: str


@dataclass(frozen=True, slots=True)
class Dot:
    x: float
    y: float
    label: str
    kind: str


@dataclass(frozen=True, slots=True)
class Line:
    y: float
    label_y: float
    label: str
    kind: str


@dataclass(frozen=True, slots=True)
class Chart:
    width: int
    height: int
    left: int
    top: int
    right: int  # x of the plot's right edge
    bottom: int  # y of the plot's bottom edge
    currency: str
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    dots: list[Dot]
    lines: list[Line]

    @property
    def empty(self) -> bool:
        return not self.dots and not self.lines


def nice_step(span: float, ticks: int = 5) -> float:
    """A round tick step (1, 2, 2.5 or 5 × 10^k) giving about `ticks` intervals."""
    if span <= 0:
        return 1.0
    raw = span / ticks
    magnitude = 10.0 ** math.floor(math.log10(raw))
    for factor in (1.0, 2.0, 2.5, 5.0, 10.0):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10.0 * magnitude  # pragma: no cover - the loop always returns


def time_ticks(start: datetime, end: datetime, most: int = 7) -> list[tuple[datetime, str]]:
    """Round instants between `start` and `end`: midnights over days, whole hours within one."""
    span = end - start
    if span > timedelta(days=2):
        step = timedelta(days=max(1, math.ceil(span.days / most)))
        first = start.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
        fmt = "%d %b"
    else:
        hours = max(1, math.ceil(span.total_seconds() / 3600 / most))
        step = timedelta(hours=next(h for h in (1, 2, 3, 4, 6, 12, 24) if h >= hours))
        first = start.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        fmt = "%d %b %H:%M"
    ticks = []
    at = first
    while at <= end:
        ticks.append((at, at.strftime(fmt)))
        at += step
    return ticks


def _spread(wanted: list[float], low: float, high: float) -> list[float]:
    """Label positions near `wanted` (sorted ascending) but at least LABEL_GAP apart."""
    placed: list[float] = []
    for y in wanted:
        y = max(y, placed[-1] + LABEL_GAP) if placed else y
        placed.append(y)
    overflow = placed[-1] - high if placed else 0.0
    if overflow > 0:
        placed = [max(low, y - overflow) for y in placed]
    return placed


def price_chart(
    points: Sequence[PricePoint], references: Sequence[Reference], currency: str
) -> Chart:
    right = WIDTH - RIGHT
    bottom = HEIGHT - BOTTOM
    values = [float(p.amount) for p in points] + [float(r.amount) for r in references]
    top_value = max(values, default=0.0)
    step = nice_step(top_value * 1.08 if top_value > 0 else 10.0)
    y_max = step * math.ceil((top_value * 1.08 if top_value > 0 else 10.0) / step)

    def y_of(amount: float) -> float:
        return round(bottom - (amount / y_max) * (bottom - TOP), 1)

    y_ticks = []
    count = round(y_max / step)
    for i in range(count + 1):
        value = step * i
        text = f"{value:.0f}" if step >= 1 else f"{value:.2f}"
        y_ticks.append(Tick(y_of(value), text))

    times = sorted(p.at for p in points)
    first = times[0] if times else datetime(2000, 1, 1)
    last = times[-1] if times else first
    if last - first < timedelta(days=1):
        first, last = first - timedelta(hours=12), last + timedelta(hours=12)
    pad = (last - first) * 0.04  # keep the first and last dots off the chart's edges
    start, end = first - pad, last + pad
    span = (end - start).total_seconds()

    def x_of(at: datetime) -> float:
        return round(LEFT + (at - start).total_seconds() / span * (right - LEFT), 1)

    x_ticks = [Tick(x_of(at), label) for at, label in time_ticks(start, end)] if times else []

    dots = [Dot(x_of(p.at), y_of(float(p.amount)), p.label, p.kind) for p in points]
    ordered = sorted(references, key=lambda r: -float(r.amount))  # top of the chart first
    wanted = [y_of(float(r.amount)) for r in ordered]
    label_ys = _spread([y + 4 for y in wanted], TOP + 4, bottom)
    lines = [
        Line(y, label_y, r.label, r.kind)
        for r, y, label_y in zip(ordered, wanted, label_ys, strict=True)
    ]
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        top=TOP,
        right=right,
        bottom=bottom,
        currency=currency,
        y_ticks=y_ticks,
        x_ticks=x_ticks,
        dots=dots,
        lines=lines,
    )
