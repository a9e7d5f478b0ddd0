"""Pricing to the cent: the properties that one-cent tax drift bugs break, over random carts."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crpm.errors import ValidationError
from crpm.pricing import (
    Discount,
    LineInput,
    parse_rate,
    price_lines,
    returned_share,
    spread,
    totals,
)

RATES = [Decimal(r) for r in ("0", "5.5", "20", "8.875", "7.7", "19")]

discounts = st.one_of(
    st.just(Discount()),
    st.builds(Discount, percent=st.decimals(0, 100, places=2)),
    st.builds(Discount, cents=st.integers(0, 500)),
)


@st.composite
def carts(draw):
    lines = []
    for _ in range(draw(st.integers(1, 8))):
        unit = draw(st.integers(0, 100_000))
        quantity = draw(st.integers(1, 50))
        discount = draw(discounts)
        if discount.cents > unit * quantity:
            discount = Discount()
        lines.append(LineInput(unit, quantity, draw(st.sampled_from(RATES)), discount))
    return lines


@st.composite
def sales(draw):
    lines = draw(carts())
    inclusive = draw(st.booleans())
    value = sum(
        line.unit_cents * line.quantity - line.discount.amount(line.unit_cents * line.quantity, "")
        for line in lines
    )
    purchase = draw(discounts)
    if purchase.cents > value:  # never more than the lines are worth after their own
        purchase = Discount()
    return lines, inclusive, purchase


@settings(max_examples=300, deadline=None)
@given(sales())
def test_lines_add_up_to_the_totals_and_the_rate_breakdown(sale):
    lines, inclusive, purchase = sale
    priced = price_lines(lines, inclusive, purchase)
    total = totals(priced)
    for line in priced:
        assert line.gross_cents == line.net_cents + line.tax_cents
        assert line.net_cents >= 0 and line.tax_cents >= 0
    assert total.gross_cents == total.net_cents + total.tax_cents
    assert sum(tax for _, tax, _ in total.by_rate.values()) == total.tax_cents
    assert sum(net for net, _, _ in total.by_rate.values()) == total.net_cents
    value = sum(line.unit_cents * line.quantity for line in lines)
    before_tax = total.gross_cents if inclusive else total.net_cents
    assert before_tax == value - total.discount_cents


@settings(max_examples=300, deadline=None)
@given(sales(), st.data())
def test_returning_every_unit_in_any_steps_gives_back_the_line_exactly(sale, data):
    for line in price_lines(*sale):
        returned, parts = 0, []
        while returned < line.quantity:
            step = data.draw(st.integers(1, line.quantity - returned))
            parts.append(returned_share(line, returned, step))
            returned += step
        for field in ("net_cents", "tax_cents", "gross_cents", "discount_cents"):
            assert sum(getattr(p, field) for p in parts) == getattr(line, field), field


@given(st.integers(0, 10**9), st.lists(st.integers(0, 10**7), min_size=1, max_size=20))
def test_spread_places_every_cent(total, weights):
    shares = spread(total, weights)
    assert sum(shares) == (total if sum(weights) else 0)
    assert all(share >= 0 for share in shares)


def test_worked_examples_half_up_per_line():
    # 3 x 3.33 at 20% without tax in the price: 9.99 net, 1.998 -> 2.00 tax
    (line,) = price_lines([LineInput(333, 3, Decimal(20))], prices_include_tax=False)
    assert (line.net_cents, line.tax_cents, line.gross_cents) == (999, 200, 1199)
    # 10.00 with 5.5% inside: net 9.4786.. -> 9.48, tax 0.52
    (line,) = price_lines([LineInput(1000, 1, Decimal("5.5"))], prices_include_tax=True)
    assert (line.net_cents, line.tax_cents, line.gross_cents) == (948, 52, 1000)
    # 1.00 off a purchase of 3.00 + 1.00 + 1.00 + 1.00: rounded down 0.50, 0.16, 0.16, 0.16;
    # the two cents left go to the largest line, then the earliest among the equal ones
    lines = [LineInput(300, 1), LineInput(100, 1), LineInput(100, 1), LineInput(100, 1)]
    priced = price_lines(lines, False, Discount(cents=100))
    assert [p.discount_cents for p in priced] == [51, 17, 16, 16]


def test_a_discount_never_makes_a_line_negative():
    with pytest.raises(ValidationError, match="line 1 discount: is more than the value"):
        price_lines([LineInput(100, 2, discount=Discount(cents=201))], False)
    with pytest.raises(ValidationError, match="purchase discount: is more than the value"):
        price_lines([LineInput(100, 2)], False, Discount(cents=201))
    with pytest.raises(ValidationError, match="line 1 discount: must not be negative"):
        price_lines([LineInput(100, 2, discount=Discount(percent=Decimal(101)))], False)


@pytest.mark.parametrize(
    "text, rate", [("20", Decimal(20)), ("5.5%", Decimal("5.5")), (" 8.875 ", Decimal("8.875"))]
)
def test_rates_are_exact(text, rate):
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["", "abc", "-1", "100.5", "1.23456", "NaN", "Infinity"])
def test_bad_rates_are_refused_with_the_field(text):
    with pytest.raises(ValidationError, match="tax rate: "):
        parse_rate(text)
