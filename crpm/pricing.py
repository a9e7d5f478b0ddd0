"""Pricing a sale to the cent: line and purchase discounts, tax per line, credit for returns.

Pure functions over integer cents and exact decimal rates; the purchase, quote and document
services call them, so the dashboard, CLI, API, PDF and exports show one set of figures.
The rule (design notes, "Sales documents"), once:

- A line's value is unit price x quantity, less its own discount (percent or amount).
- A purchase discount is spread over the lines in proportion to their value after their own
  discounts; the cents left over after rounding down go one each to the largest lines (then the
  earliest), so the lines always add up to the purchase.
- Tax per line, half-up to the cent. Prices without tax: net = value; tax = net x rate;
  gross = net + tax. Prices with tax: gross = value; net = gross / (1 + rate); tax = gross - net.
- Returned units take their share of the line's net, discount and tax by cumulative rounding
  (what k of n units are worth, less what the units returned before were worth), so returning
  every unit, in any number of steps, gives back the line exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from crpm.errors import ValidationError
from crpm.models import cents_to_decimal_text, parse_money

HUNDRED = Decimal(100)
MAX_RATE_PLACES = 4  # 8.875% is a real sales tax; a rate is kept as its exact decimal text


def round_cents(value: Decimal) -> int:
    """Half-up to the whole cent (half a cent rounds away from zero)."""
    return int(value.quantize(Decimal(1), ROUND_HALF_UP))


def parse_rate(value, field_name: str = "tax rate") -> Decimal:
    """A tax rate in percent ("20", "5.5", "8.875") as an exact Decimal, 0 to 100."""
    if isinstance(value, float):
        raise ValidationError(field_name, "give the rate as text or Decimal, not a float")
    text = str(value if value is not None else "").strip().rstrip("%").strip()
    try:
        rate = Decimal(text)
    except InvalidOperation:
        raise ValidationError(field_name, f"{text!r} is not a percentage") from None
    if not rate.is_finite() or not 0 <= rate <= 100:
        raise ValidationError(field_name, "must be a percentage from 0 to 100")
    if -rate.as_tuple().exponent > MAX_RATE_PLACES:
        raise ValidationError(field_name, f"at most {MAX_RATE_PLACES} decimal places")
    return rate


@dataclass(frozen=True)
class Discount:
    """A discount as a percentage of a value, or as an amount in cents."""

    percent: Decimal = Decimal(0)
    cents: int = 0

    def amount(self, value_cents: int, field_name: str) -> int:
        """The discount on `value_cents`; never more than the value."""
        if self.cents < 0 or not 0 <= self.percent <= 100:
            raise ValidationError(field_name, "must not be negative or over 100%")
        amount = self.cents + round_cents(value_cents * self.percent / HUNDRED)
        if amount > value_cents:
            raise ValidationError(field_name, "is more than the value it applies to")
        return amount


NO_DISCOUNT = Discount()


@dataclass(frozen=True)
class LineInput:
    unit_cents: int
    quantity: int
    rate: Decimal = Decimal(0)
    discount: Discount = NO_DISCOUNT


@dataclass(frozen=True)
class PricedLine:
    """A line as sold: what it keeps for ever (history is never rewritten)."""

    unit_cents: int
    quantity: int
    rate: Decimal
    discount_cents: int  # its own discount plus its share of the purchase discount
    net_cents: int
    tax_cents: int
    gross_cents: int


@dataclass(frozen=True)
class Totals:
    discount_cents: int
    net_cents: int
    tax_cents: int
    gross_cents: int
    by_rate: dict[Decimal, tuple[int, int, int]]  # rate -> (net, tax, gross)


def price_lines(
    lines: list[LineInput], prices_include_tax: bool, purchase_discount: Discount = NO_DISCOUNT
) -> list[PricedLine]:
    """Every line of a sale priced by the rule above."""
    values, own = [], []
    for number, line in enumerate(lines, 1):
        gross_value = line.unit_cents * line.quantity
        own.append(line.discount.amount(gross_value, f"line {number} discount"))
        values.append(gross_value - own[-1])
    shares = spread(purchase_discount.amount(sum(values), "purchase discount"), values)
    return [
        _taxed(line, own_cents + share, value - share, prices_include_tax)
        for line, own_cents, value, share in zip(lines, own, values, shares, strict=True)
    ]


def spread(total: int, weights: list[int]) -> list[int]:
    """`total` cents in proportion to `weights`: rounded down, then the leftover cents one each
    to the largest weights (the earliest first among equals)."""
    whole = sum(weights)
    if not total or not whole:
        return [0] * len(weights)
    shares = [total * weight // whole for weight in weights]
    order = sorted(range(len(weights)), key=lambda i: (-weights[i], i))
    for i in order[: total - sum(shares)]:
        shares[i] += 1
    return shares


def _taxed(line: LineInput, discount: int, value: int, inclusive: bool) -> PricedLine:
    if inclusive:
        net = round_cents(value / (1 + line.rate / HUNDRED))
        tax = value - net
    else:
        net = value
        tax = round_cents(net * line.rate / HUNDRED)
    return PricedLine(line.unit_cents, line.quantity, line.rate, discount, net, tax, net + tax)


def totals(lines: list[PricedLine]) -> Totals:
    """The purchase's totals and its breakdown per tax rate (sums of the lines: exact)."""
    by_rate: dict[Decimal, tuple[int, int, int]] = {}
    for line in lines:
        net, tax, gross = by_rate.get(line.rate, (0, 0, 0))
        by_rate[line.rate] = (net + line.net_cents, tax + line.tax_cents, gross + line.gross_cents)
    return Totals(
        discount_cents=sum(line.discount_cents for line in lines),
        net_cents=sum(line.net_cents for line in lines),
        tax_cents=sum(line.tax_cents for line in lines),
        gross_cents=sum(line.gross_cents for line in lines),
        by_rate=dict(sorted(by_rate.items())),
    )


def returned_share(line: PricedLine, returned_before: int, returning: int) -> PricedLine:
    """What `returning` more units of `line` give back, after `returned_before` went back."""
    if returning <= 0 or returned_before < 0 or returned_before + returning > line.quantity:
        raise ValidationError("quantity", f"at most {line.quantity - returned_before} to return")

    def part(cents: int) -> int:
        after = round_cents(Decimal(cents) * (returned_before + returning) / line.quantity)
        return after - round_cents(Decimal(cents) * returned_before / line.quantity)

    net, tax = part(line.net_cents), part(line.tax_cents)
    return PricedLine(
        line.unit_cents, returning, line.rate, part(line.discount_cents), net, tax, net + tax
    )


def parse_discount(value, field_name: str = "discount") -> Discount:
    """ "10%" (a percentage, up to two decimals) or "1.50" (an amount); empty is none."""
    if isinstance(value, Discount):
        return value
    text = str(value if value is not None else "").strip()
    if not text or text in ("0", "0%"):
        return NO_DISCOUNT
    if not text.endswith("%"):
        return Discount(cents=parse_money(text, field_name))
    try:
        percent = Decimal(text[:-1].strip())
    except InvalidOperation:
        raise ValidationError(field_name, f"{text!r} is not a percentage or an amount") from None
    if not percent.is_finite() or not 0 <= percent <= 100 or -percent.as_tuple().exponent > 2:
        raise ValidationError(field_name, "must be 0% to 100%, two decimals at most")
    return Discount(percent=percent)


def discount_text(discount: Discount) -> str:
    """A discount as typed and stored: "10%", "5.00", or "" for none."""
    if discount.percent:
        return f"{discount.percent.normalize():f}%"
    return cents_to_decimal_text(discount.cents) if discount.cents else ""
