"""Product endpoints over HTTP, with the stock ledger checked in the store."""

from __future__ import annotations

import pytest
from gradio_client.exceptions import AppError

pytestmark = pytest.mark.api


def stock_of(store, product_id) -> int:
    return store.query_one("SELECT stock FROM products WHERE id = ?", (product_id,))[0]


def movements_of(store, product_id) -> list[tuple]:
    rows = store.query(
        "SELECT kind, quantity, stock_after, reason FROM stock_movements"
        " WHERE product_id = ? ORDER BY id",
        (product_id,),
    )
    return [tuple(row) for row in rows]


def test_add_product_stores_price_in_cents_and_opening_stock_as_a_movement(call, store):
    answer = call("add_product", "LAMP-7", "Desk lamp", "Lighting", "warm light", "19.99", 3, 12)
    product_id, sku, name, category, description, price, reorder, stock, status = answer
    assert (sku, name, price, reorder, stock, status) == (
        "LAMP-7",
        "Desk lamp",
        "19.99",
        3,
        12,
        "active",
    )
    row = store.query_one("SELECT price_cents, stock FROM products WHERE id = ?", (product_id,))
    assert tuple(row) == (1999, 12)
    assert movements_of(store, product_id) == [("initial", 12, 12, "opening stock")]


@pytest.mark.parametrize(
    ("price", "message"),
    [
        ("12.345", "Unit price: '12.345' is not an amount"),
        ("-1", "Unit price: must not be negative"),
        ("", "Unit price: is required"),
    ],
)
def test_bad_prices_are_refused(call, store, price, message):
    before = store.query_one("SELECT count(*) FROM products")[0]
    with pytest.raises(AppError, match=message):
        call("add_product", "BAD-PRICE", "Thing", "", "", price, 0, 0)
    assert store.query_one("SELECT count(*) FROM products")[0] == before


def test_duplicate_sku_is_refused(call, new_product):
    call("add_product", "SAME-SKU", "One", "", "", "1.00", 0, 0)
    with pytest.raises(AppError, match="SKU: a product with this SKU already exists"):
        call("add_product", "same-sku", "Two", "", "", "1.00", 0, 0)


def test_get_and_update_product(call, store, new_product):
    product_id = new_product(price="3.00")
    assert call("get_product", product_id)[5] == "3.00"
    answer = call("update_product", product_id, "MUG-XL", "Big mug", "Kitchen", "600 ml", "4.50", 5)
    assert answer[1:7] == ("MUG-XL", "Big mug", "Kitchen", "600 ml", "4.50", 5)
    row = store.query_one(
        "SELECT sku, price_cents, reorder_level FROM products WHERE id = ?", (product_id,)
    )
    assert tuple(row) == ("MUG-XL", 450, 5)


def test_restock_and_adjust_write_the_ledger(call, store, new_product):
    product_id = new_product(stock=5)
    assert call("restock_product", product_id, 7, "delivery 12")[7] == 12
    assert call("adjust_stock", product_id, -2, "broken in transit")[7] == 10
    assert stock_of(store, product_id) == 10
    assert movements_of(store, product_id)[1:] == [
        ("restock", 7, 12, "delivery 12"),
        ("adjustment", -2, 10, "broken in transit"),
    ]


def test_stock_refusals_leave_stock_alone(call, store, new_product):
    product_id = new_product(stock=3)
    with pytest.raises(AppError, match="Reason: is required"):
        call("adjust_stock", product_id, -1, "")
    with pytest.raises(AppError, match="only 3 of .* in stock"):
        call("adjust_stock", product_id, -5, "count")
    with pytest.raises(AppError, match="Units received: must be at least 1"):
        call("restock_product", product_id, 0, "")
    assert stock_of(store, product_id) == 3
    assert len(movements_of(store, product_id)) == 1


def test_deactivate_and_reactivate_product(call, store, new_product):
    product_id = new_product()
    assert call("deactivate_product", product_id)[-1] == "inactive"
    with pytest.raises(AppError, match="is inactive"):
        call("restock_product", product_id, 1, "")
    assert call("reactivate_product", product_id)[-1] == "active"
    assert store.query_one("SELECT status FROM products WHERE id = ?", (product_id,))[0] == "active"


def test_list_products_with_search_category_and_low_stock(call, new_product):
    plenty = new_product(stock=50, reorder=5, category="Lowtest")
    low = new_product(stock=1, reorder=5, category="Lowtest")
    frame, info, _ = call("list_products", "", "active", "Lowtest", False, 1, 25)
    assert {row[0] for row in frame["data"]} == {plenty, low}
    frame, info, _ = call("list_products", "", "active", "Lowtest", True, 1, 25)
    assert [row[0] for row in frame["data"]] == [low]
    row = dict(zip(frame["headers"], frame["data"][0], strict=True))
    assert row["Low stock"] == "⚠ low" and row["Price"] == "$12.50"


def test_stock_movements_are_paged_newest_first(call, new_product):
    product_id = new_product(stock=1)
    for _ in range(3):
        call("restock_product", product_id, 1, "")
    frame, info, page = call("stock_movements", product_id, 1, 25)
    assert [row[1] for row in frame["data"]] == ["restock", "restock", "restock", "initial"]
    assert "1–4 of 4" in info


def test_fractions_of_a_unit_are_refused_not_rounded(call, store, new_product):
    product_id = new_product(stock=5)
    with pytest.raises(AppError, match="Opening stock: must be a whole number"):
        call("add_product", "HALF-1", "Half", "", "", "1.00", 0, 1.5)
    with pytest.raises(AppError, match="Units received: must be a whole number"):
        call("restock_product", product_id, 2.5, "delivery")
    with pytest.raises(AppError, match=r"Product: 1.5 is not an ID \(a whole number from 1\)"):
        call("get_product", 1.5)
    assert store.query_one("SELECT count(*) FROM products WHERE sku = 'HALF-1'")[0] == 0
    assert stock_of(store, product_id) == 5


def test_product_page_shows_its_sales_open_quotes_and_ledger_in_one_call(
    app, call, new_customer, new_product
):
    customer_id = new_customer("Page Buyer <b>")
    product_id = new_product(price="4.00", stock=10, reorder=8)
    first = call("record_purchase", customer_id, [{"product_id": product_id, "quantity": 2}])[0]
    second = call("record_purchase", customer_id, [{"product_id": product_id, "quantity": 1}])[0]
    call("cancel_purchase", second, "changed mind")
    staff = app.services.accounts.actor_for("admin")
    quote = app.services.desk.request_quote(staff, [(product_id, 5)], customer_id=customer_id)
    answer = call("product_page", product_id)
    record, (moves, moves_info, _), rest = answer[:9], answer[9:12], answer[12:]
    header, figures, sales, sales_info, quotes, quotes_info = rest
    assert record[0] == product_id and record[7] == 8 and record[8] == "active"
    assert f"Blue mug · {record[1]} · #{product_id}" in header and "$4.00" in header
    assert "In stock" in figures and "reorder at 8" in figures and "warn" in figures
    rows = [dict(zip(sales["headers"], row, strict=True)) for row in sales["data"]]
    assert [(row["What"], row["Status"]) for row in rows] == [
        (f"Purchase #{second}", "cancelled"),
        (f"Purchase #{first}", "completed"),
    ]
    assert rows[1]["Customer"] == "Page Buyer <b>" and rows[1]["Amount"] == "$8.00"
    assert "2 sales lines" in sales_info
    (asked,) = [dict(zip(quotes["headers"], row, strict=True)) for row in quotes["data"]]
    assert (asked["What"], asked["Units"], asked["Status"]) == (
        f"Quote #{quote.id}",
        5,
        "requested",
    )
    assert "1 open quote" in quotes_info
    kinds = [row[1] for row in moves["data"]]  # the ledger, newest first: the cancel put one back
    assert kinds[:2] == ["cancel", "sale"] and "Movements 1–4 of 4" in moves_info


def test_product_page_refuses_a_missing_product_readably(call):
    with pytest.raises(AppError, match="product #999999 not found"):
        call("product_page", 999999)
    with pytest.raises(AppError, match="Product: open a product"):
        call("product_page", None)
