"""Purchase endpoints over HTTP: pickers, preview, record, refusals, cancel, return, list."""

from __future__ import annotations

import pytest
from gradio_client.exceptions import AppError

from tests.support import TODAY

pytestmark = pytest.mark.api


def stock_of(store, product_id) -> int:
    return store.query_one("SELECT stock FROM products WHERE id = ?", (product_id,))[0]


def count_purchases(store) -> int:
    return store.query_one("SELECT count(*) FROM purchases")[0]


def test_pickers_search_on_the_server(call, new_customer, new_product):
    customer_id = new_customer("Pickme Zebedee")
    by_name = call("find_customers", "pickme")
    assert by_name["choices"] == [
        [
            f"#{customer_id} Pickme Zebedee · " + by_name["choices"][0][0].split(" · ")[1],
            customer_id,
        ]
    ]
    assert by_name["value"] == customer_id
    assert call("find_customers", f"#{customer_id}")["value"] == customer_id
    nobody = call("find_customers", "nobody-like-this-qq")
    assert nobody["choices"] == [] and nobody["value"] is None
    assert nobody["info"] == "No active customer matches 'nobody-like-this-qq'"
    assert by_name["info"] == ""
    # An empty search picks nobody: the form after a sale must not offer the first customer.
    assert (
        call("find_customers", "")["choices"] == [] and call("find_products", " ")["value"] is None
    )
    product_id = new_product(price="2.00", stock=4)
    found = call("find_products", f"#{product_id}")
    assert found["value"] == product_id and "$2.00 · 4 in stock" in found["choices"][0][0]


def test_preview_shows_the_total_before_confirming(call, new_customer, new_product, store):
    customer_id = new_customer("Preview Person")
    mug, lamp = new_product(price="2.50"), new_product(price="10.00")
    lines = [
        {"product_id": mug, "quantity": 2},
        {"product_id": lamp, "quantity": 1},
        {"product_id": mug, "quantity": 1},
    ]
    frame, total = call("preview_purchase", customer_id, lines)
    qty = frame["headers"].index("Qty")
    assert [row[qty] for row in frame["data"]] == [3, 1]
    assert "Total $17.50" in total and "for Preview Person" in total
    assert stock_of(store, mug) == 10  # nothing sold yet


def test_record_purchase_lowers_stock_and_writes_everything(call, store, new_customer, new_product):
    customer_id = new_customer("Buyer One")
    product_id = new_product(price="3.10", stock=5)
    purchase_id, receipt, lines = call(
        "record_purchase", customer_id, [{"product_id": product_id, "quantity": 2}]
    )
    assert f"Purchase #{purchase_id} recorded for Buyer One: 2 units, $6.20" in receipt
    assert lines == []
    assert stock_of(store, product_id) == 3
    row = store.query_one(
        "SELECT customer_id, source, recorded_by FROM purchases WHERE id = ?", (purchase_id,)
    )
    assert tuple(row) == (customer_id, "dashboard", "dashboard")


def test_out_of_stock_is_refused_and_nothing_is_written(call, store, new_customer, new_product):
    customer_id = new_customer("Too Keen")
    scarce, plenty = new_product(stock=1), new_product(stock=50)
    before = count_purchases(store)
    lines = [{"product_id": plenty, "quantity": 2}, {"product_id": scarce, "quantity": 2}]
    with pytest.raises(AppError, match=r"Qty: only 1 of .* in stock, 2 requested"):
        call("record_purchase", customer_id, lines)
    assert count_purchases(store) == before
    assert (stock_of(store, scarce), stock_of(store, plenty)) == (1, 50)


def test_purchase_refusals_for_missing_or_inactive_customer(call, store, new_customer, new_product):
    product_id = new_product()
    lines = [{"product_id": product_id, "quantity": 1}]
    with pytest.raises(AppError, match="find a customer and pick them first"):
        call("record_purchase", None, lines)
    sleeper = new_customer("Inactive Ian")
    call("deactivate_customer", sleeper)
    with pytest.raises(AppError, match="is inactive"):
        call("record_purchase", sleeper, lines)
    with pytest.raises(AppError, match="A purchase needs at least one product"):
        call("record_purchase", new_customer("Empty Cart"), [])
    assert stock_of(store, product_id) == 10


def test_return_then_cancel(call, store, new_customer, new_product):
    customer_id = new_customer("Returner")
    product_id = new_product(price="5.00", stock=10)
    purchase_id, _, _ = call(
        "record_purchase", customer_id, [{"product_id": product_id, "quantity": 4}]
    )
    shown_id, details, lines, returnable, returns = call("get_purchase", purchase_id)
    assert shown_id == purchase_id and "completed" in details and returns["data"] == []
    line_id = lines["data"][0][0]
    assert returnable["value"] == line_id

    _, details, lines, returnable, returns = call("return_items", line_id, 1, "too many")
    returned = lines["headers"].index("Returned")
    assert lines["data"][0][returned] == 1 and "partly returned" in details
    (given_back,) = [dict(zip(returns["headers"], row, strict=True)) for row in returns["data"]]
    assert (given_back["Units"], given_back["Credit"], given_back["Reason"]) == (
        1, "$5.00", "too many"
    )  # fmt: skip
    assert stock_of(store, product_id) == 7
    with pytest.raises(AppError, match="only 3 of .* can still be returned"):
        call("return_items", line_id, 4, "")

    _, details, _, returnable, *_ = call("cancel_purchase", purchase_id, "changed mind")
    assert "cancelled" in details and returnable["choices"] == []
    assert stock_of(store, product_id) == 10
    with pytest.raises(AppError, match="already cancelled"):
        call("cancel_purchase", purchase_id, "")
    kinds = store.query(
        "SELECT kind, quantity FROM stock_movements WHERE purchase_id = ? ORDER BY id",
        (purchase_id,),
    )
    assert [tuple(k) for k in kinds] == [("sale", -4), ("return", 1), ("cancel", 3)]


def test_list_purchases_filters_by_customer_product_and_dates(call, new_customer, new_product):
    first, second = new_customer("Lister A"), new_customer("Lister B")
    product_id = new_product(stock=20)
    for customer_id in (first, first, second):
        call("record_purchase", customer_id, [{"product_id": product_id, "quantity": 1}])
    frame, info, _ = call("list_purchases", first, None, "", "", "all", 1, 25)
    assert len(frame["data"]) == 2 and {row[2] for row in frame["data"]} == {f"#{first} Lister A"}
    frame, _, _ = call("list_purchases", None, product_id, "", "", "all", 1, 25)
    assert len(frame["data"]) == 3
    frame, _, _ = call("list_purchases", None, product_id, "2000-01-01", "2000-12-31", "all", 1, 25)
    assert frame["data"] == []
    frame, _, _ = call("list_purchases", None, product_id, "2000-01-01", "2100-01-01", "all", 1, 25)
    assert len(frame["data"]) == 3
    today = TODAY[:10]  # the app's clock: the sales were recorded on its day
    frame, _, _ = call("list_purchases", None, product_id, today, today, "all", 1, 25)
    assert len(frame["data"]) == 3
    with pytest.raises(AppError, match="To: must not be before from"):
        call("list_purchases", None, None, "2024-02-01", "2024-01-01", "all", 1, 25)
    with pytest.raises(AppError, match="From: 'soon' is not a date"):
        call("list_purchases", None, None, "soon", "", "all", 1, 25)
