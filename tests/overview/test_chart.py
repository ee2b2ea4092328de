"""The chart's layout (pure): bars scaled to a round axis top, in order, inside the drawing."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backoffice.overview.chart import HEIGHT, LEFT, WIDTH, nice_ceiling, sales_chart


@pytest.mark.parametrize(
    ("value", "top"),
    [
        (Decimal("0"), Decimal(1)),
        (Decimal("-5"), Decimal(1)),
        (Decimal("1"), Decimal(1)),
        (Decimal("1.01"), Decimal(2)),
        (Decimal("2.2"), Decimal("2.5")),
        (Decimal("12345.50"), Decimal(20000)),
        (Decimal("25000"), Decimal(25000)),
        (Decimal("30000"), Decimal(50000)),
        (Decimal("50001"), Decimal(100000)),
    ],
    ids=lambda v: str(v),
)
def test_the_axis_top_is_the_next_round_amount(value, top):
    assert nice_ceiling(value) == top


def test_the_largest_day_reaches_its_share_of_the_axis_and_a_day_without_sales_draws_nothing():
    first = date(2026, 11, 1)
    chart = sales_chart([(first, Decimal("10000.00")), (first + timedelta(days=1), Decimal("0.00"))])

    full, empty = chart.bars
    assert full.height == Decimal("188.0") and full.y + full.height == chart.baseline
    assert empty.height == 0 and empty.y == chart.baseline
    assert [tick.value for tick in chart.ticks] == [0, 2500, 5000, 7500, 10000]
    assert chart.total == Decimal("10000.00")


def test_returns_exceeding_sales_draw_no_bar_below_the_axis():
    [bar] = sales_chart([(date(2026, 11, 1), Decimal("-120.00"))]).bars

    assert bar.height == 0


@given(st.lists(st.decimals(min_value=0, max_value=10_000_000, places=2), min_size=1, max_size=60))
def test_every_bar_lies_inside_the_drawing_in_day_order(amounts):
    days = [(date(2026, 1, 1) + timedelta(days=i), amount) for i, amount in enumerate(amounts)]

    chart = sales_chart(days)

    xs = [bar.x for bar in chart.bars]
    assert xs == sorted(xs) and xs[0] >= LEFT
    for bar in chart.bars:
        assert bar.x + bar.width <= WIDTH + Decimal("0.1")
        assert 0 <= bar.y <= HEIGHT and bar.y + bar.height <= chart.baseline + Decimal("0.05")
    tallest = max(chart.bars, key=lambda bar: bar.sales)
    assert all(bar.height <= tallest.height for bar in chart.bars)
