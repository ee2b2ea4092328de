"""The Översikt page's chart of sales per day, laid out for an SVG drawn by the server (no script, no CDN).

Pure: amounts stay ``Decimal``; the geometry is in SVG user units, rounded to one decimal, so the
same days always give the same markup. A day without sales (or with returns exceeding sales) draws
no bar; the axis starts at zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

WIDTH = Decimal(720)
HEIGHT = Decimal(220)
#: room for the axis labels: left of the bars, and below them
LEFT = Decimal(64)
BOTTOM = Decimal(24)
TOP = Decimal(8)
_UNIT = Decimal("0.1")


@dataclass(frozen=True, slots=True)
class Bar:
    """One day's bar: its day, its sales, and where it is drawn (x, y of the top-left corner, size)."""

    day: date
    sales: Decimal
    x: Decimal
    y: Decimal
    width: Decimal
    height: Decimal


@dataclass(frozen=True, slots=True)
class Tick:
    """A horizontal grid line at ``y`` for the amount ``value``."""

    value: Decimal
    y: Decimal


@dataclass(frozen=True, slots=True)
class Chart:
    """A bar per day, oldest first, with the grid lines of the amount axis and its total."""

    bars: tuple[Bar, ...]
    ticks: tuple[Tick, ...]
    total: Decimal
    width: Decimal = WIDTH
    height: Decimal = HEIGHT
    left: Decimal = LEFT
    baseline: Decimal = HEIGHT - BOTTOM


def _round(value: Decimal) -> Decimal:
    return value.quantize(_UNIT, rounding=ROUND_HALF_UP)


def nice_ceiling(value: Decimal) -> Decimal:
    """The smallest of 1, 2, 2.5, 5 × 10ⁿ that is at least ``value`` (the top of the axis); 1 for nothing."""
    if value <= 0:
        return Decimal(1)
    magnitude = Decimal(10) ** (value.adjusted())
    for step in (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10)):
        if value <= step * magnitude:
            return step * magnitude
    raise AssertionError("unreachable: 10 × 10ⁿ exceeds every value of magnitude n")


def sales_chart(days: list[tuple[date, Decimal]]) -> Chart:
    """Lay out one bar per ``(day, sales)``, in the order given, scaled to the largest day's sales."""
    top = nice_ceiling(max((sales for _, sales in days), default=Decimal(0)))
    plot_height = HEIGHT - BOTTOM - TOP
    slot = (WIDTH - LEFT) / max(len(days), 1)
    gap = min(slot / 5, Decimal(4))
    bars = []
    for index, (day, sales) in enumerate(days):
        height = _round(plot_height * max(sales, Decimal(0)) / top)
        bars.append(
            Bar(
                day=day,
                sales=sales,
                x=_round(LEFT + slot * index + gap / 2),
                y=_round(HEIGHT - BOTTOM - height),
                width=_round(slot - gap),
                height=height,
            )
        )
    ticks = tuple(
        Tick(value=top * part / 4, y=_round(HEIGHT - BOTTOM - plot_height * part / 4)) for part in range(0, 5)
    )
    return Chart(bars=tuple(bars), ticks=ticks, total=sum((sales for _, sales in days), Decimal(0)))
