"""What users type: every bad value is refused with the field named, and changes nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crpm.errors import ValidationError
from crpm.models import (
    TEXT_LIMITS,
    cents_to_decimal_text,
    format_money,
    parse_money,
    parse_quantity,
    parse_time,
)

# --- money ------------------------------------------------------------------

GOOD_MONEY = {
    "12": 1200,
    "12.5": 1250,
    "12.50": 1250,
    " 4.20 ": 420,
    "0": 0,
    "0.01": 1,
    Decimal("3.10"): 310,
    Decimal("19.99"): 1999,
    7: 700,
}
BAD_MONEY = {
    "-1": "negative",
    "-0.01": "negative",
    Decimal("-2"): "negative",
    "1.234": "two decimals",
    Decimal("1.005"): "two decimals",
    "abc": "not an amount",
    "1,000.00": "not an amount",
    "1e3": "not an amount",
    "": "required",
    None: "required",
    9.99: "not a float",
    0.5: "not a float",
    "100000000000.00": "too large",
    "\u0661\u0662": "not an amount",  # Arabic-Indic digits: only 0-9 are money
}


@pytest.mark.parametrize("value, cents", GOOD_MONEY.items(), ids=[repr(v) for v in GOOD_MONEY])
def test_money_becomes_integer_cents(value, cents):
    parsed = parse_money(value)
    assert parsed == cents and type(parsed) is int


@pytest.mark.parametrize("value, reason", BAD_MONEY.items(), ids=[repr(v) for v in BAD_MONEY])
def test_bad_money_is_refused_naming_the_field(value, reason):
    with pytest.raises(ValidationError, match=reason) as info:
        parse_money(value, "unit price")
    assert info.value.field == "unit price"


def test_money_is_shown_with_two_decimals():
    assert format_money(123456, "€") == "€1,234.56"
    assert format_money(-5) == "-0.05"
    assert cents_to_decimal_text(100005) == "1000.05"


# --- quantities and times -----------------------------------------------------


@pytest.mark.parametrize("value", [0, -1, 2.5, "two", "1e3", True, None, "", 10**7, "\u0661\u0662"])
def test_quantity_must_be_a_positive_whole_number(value):
    with pytest.raises(ValidationError) as info:
        parse_quantity(value)
    assert info.value.field == "quantity"


@pytest.mark.parametrize("value, expected", [("3", 3), (" 4 ", 4), (1, 1), (10**6, 10**6)])
def test_good_quantities(value, expected):
    assert parse_quantity(value) == expected


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2024-03-01", "2024-03-01 00:00:00"),
        ("2024-03-01 12:30:00", "2024-03-01 12:30:00"),
        ("2024-03-01T12:30:00+02:00", "2024-03-01 10:30:00"),
        ("2024-03-01T12:30:00Z", "2024-03-01 12:30:00"),
    ],
)
def test_times_are_stored_as_utc_text(value, expected):
    assert parse_time(value) == expected


@pytest.mark.parametrize("value", ["yesterday", "2024-13-01", "", None])
def test_bad_times_are_refused(value):
    with pytest.raises(ValidationError, match="from"):
        parse_time(value, "from")


# --- customers ----------------------------------------------------------------

BAD_CUSTOMERS = {
    "no at-sign": ({"email": "ann.example.com"}, "email"),
    "two at-signs": ({"email": "ann@@example.com"}, "email"),
    "no domain dot": ({"email": "ann@localhost"}, "email"),
    "space in e-mail": ({"email": "ann smith@example.com"}, "email"),
    "empty e-mail": ({"email": "  "}, "email"),
    "empty name": ({"name": ""}, "name"),
    "blank name": ({"name": "   "}, "name"),
    "overlong name": ({"name": "x" * (TEXT_LIMITS["name"] + 1)}, "name"),
    "overlong notes": ({"notes": "x" * (TEXT_LIMITS["notes"] + 1)}, "notes"),
    "overlong company": ({"company": "x" * (TEXT_LIMITS["company"] + 1)}, "company"),
    "NUL in city": ({"city": "Ber\x00lin"}, "city"),
    "letters in phone": ({"phone": "555-CALL-NOW"}, "phone"),
    "slash in phone": ({"phone": "555/123456"}, "phone"),
    "too few phone digits": ({"phone": "12-34"}, "phone"),
    "too many phone digits": ({"phone": "+1 234 567 890 123 456"}, "phone"),
    "unknown field": ({"favourite_colour": "blue"}, "favourite_colour"),
}


def customer_fields(**changes) -> dict:
    return {"name": "Ann Smith", "email": "ann@example.com", **changes}


@pytest.mark.parametrize("changes, field", BAD_CUSTOMERS.values(), ids=BAD_CUSTOMERS.keys())
def test_a_bad_new_customer_is_refused(services, actor, refused, changes, field):
    with refused(ValidationError) as info:
        services.customers.add(actor, **customer_fields(**changes))
    assert info.value.field == field
    assert field in str(info.value)


@pytest.mark.parametrize("changes, field", BAD_CUSTOMERS.values(), ids=BAD_CUSTOMERS.keys())
def test_a_bad_customer_update_is_refused(services, actor, shop, refused, changes, field):
    customer = shop.customer()
    with refused(ValidationError) as info:
        services.customers.update(actor, customer.id, **changes)
    assert info.value.field == field


@pytest.mark.parametrize(
    "phone", ["+1 (555) 123-4567", "0049 30 1234567", "12345", "123 456 789 012 345", ""]
)
def test_acceptable_phones(services, actor, phone):
    customer = services.customers.add(actor, **customer_fields(phone=phone))
    assert customer.phone == phone


def test_text_at_the_limit_is_accepted_and_trimmed(services, actor):
    name = "n" * TEXT_LIMITS["name"]
    customer = services.customers.add(actor, **customer_fields(name=f"  {name}  "))
    assert customer.name == name


# --- products -----------------------------------------------------------------

BAD_PRODUCTS = {
    "negative price": ({"price": "-1.00"}, "price"),
    "three decimals": ({"price": "1.234"}, "price"),
    "float price": ({"price": 9.99}, "price"),
    "text price": ({"price": "cheap"}, "price"),
    "no price": ({"price": ""}, "price"),
    "empty SKU": ({"sku": " "}, "sku"),
    "overlong SKU": ({"sku": "S" * (TEXT_LIMITS["sku"] + 1)}, "sku"),
    "empty name": ({"name": ""}, "name"),
    "overlong description": (
        {"description": "d" * (TEXT_LIMITS["description"] + 1)},
        "description",
    ),
    "negative reorder level": ({"reorder_level": -1}, "reorder_level"),
    "fractional reorder level": ({"reorder_level": "2.5"}, "reorder_level"),
    "unknown field": ({"colour": "red"}, "colour"),
}


def product_fields(**changes) -> dict:
    return {"sku": "TEA-1", "name": "Green tea", "price": "4.50", **changes}


@pytest.mark.parametrize("changes, field", BAD_PRODUCTS.values(), ids=BAD_PRODUCTS.keys())
def test_a_bad_new_product_is_refused(services, actor, refused, changes, field):
    with refused(ValidationError) as info:
        services.products.add(actor, **product_fields(**changes))
    assert info.value.field == field


@pytest.mark.parametrize("changes, field", BAD_PRODUCTS.values(), ids=BAD_PRODUCTS.keys())
def test_a_bad_product_update_is_refused(services, actor, shop, refused, changes, field):
    product = shop.product()
    with refused(ValidationError) as info:
        services.products.update(actor, product.id, **changes)
    assert info.value.field == field


@pytest.mark.parametrize("stock", [-1, "lots", 2.5])
def test_a_bad_opening_stock_is_refused(services, actor, refused, stock):
    with refused(ValidationError, match="stock"):
        services.products.add(actor, **product_fields(), stock_quantity=stock)


def test_stock_cannot_be_set_by_an_update(services, actor, shop, refused):
    product = shop.product(stock=3)
    with refused(ValidationError, match="restock or an adjustment"):
        services.products.update(actor, product.id, stock=100)


@pytest.mark.parametrize("price, cents", [("4.5", 450), (Decimal("0.99"), 99), ("0", 0)])
def test_a_product_price_is_stored_in_cents(services, actor, price, cents):
    assert services.products.add(actor, **product_fields(price=price)).price_cents == cents


# --- purchase input ------------------------------------------------------------

BAD_LINES = {
    "no lines": ([], "lines"),
    "zero quantity": ([("P", 0)], "line 1 quantity"),
    "negative quantity": ([("P", -2)], "line 1 quantity"),
    "fractional quantity": ([("P", 1.5)], "line 1 quantity"),
    "text quantity": ([("P", "many")], "line 1 quantity"),
    "bad product id": ([("abc", 1)], "line 1 product"),
    "second line bad": ([("P", 1), ("P", 0)], "line 2 quantity"),
}


@pytest.mark.parametrize("lines, field", BAD_LINES.values(), ids=BAD_LINES.keys())
def test_bad_purchase_lines_are_refused(services, actor, shop, refused, lines, field):
    customer, product = shop.customer(), shop.product()
    lines = [(product.id if pid == "P" else pid, quantity) for pid, quantity in lines]
    with refused(ValidationError) as info:
        services.purchases.record(actor, customer.id, lines)
    assert info.value.field == field


@pytest.mark.parametrize("price", [9.99, -1, "cheap"])
def test_a_bad_given_unit_price_is_refused(services, actor, shop, refused, price):
    customer, product = shop.customer(), shop.product()
    line = {"product_id": product.id, "quantity": 1, "unit_price_cents": price}
    with refused(ValidationError, match="price"):
        services.purchases.record(actor, customer.id, [line])


@pytest.mark.parametrize(
    "option, value, field",
    [("source", "fax", "source"), ("purchased_at", "someday", "purchased_at")],
)
def test_bad_purchase_options_are_refused(services, actor, shop, refused, option, value, field):
    customer, product = shop.customer(), shop.product()
    with refused(ValidationError) as info:
        services.purchases.record(actor, customer.id, [(product.id, 1)], **{option: value})
    assert info.value.field == field
