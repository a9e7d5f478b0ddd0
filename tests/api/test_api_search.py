"""The search box over HTTP: records of any kind as choices, nothing for nothing."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.api


def test_search_records_finds_customers_products_and_purchases(call, new_customer, new_product):
    customer_id = new_customer("Searchy Findme", email="searchy.findme@example.com")
    product_id = new_product(price="3.00", stock=5)
    purchase_id = call("record_purchase", customer_id, [{"product_id": product_id, "quantity": 1}])[
        0
    ]
    found = call("search_records", "searchy.findme")
    assert found["value"] == f"customer:{customer_id}"
    assert found["choices"] == [
        [f"Customer #{customer_id} · Searchy Findme · searchy.findme@example.com",
         f"customer:{customer_id}"]
    ]  # fmt: skip
    by_number = call("search_records", f"#{purchase_id}")
    assert f"purchase:{purchase_id}" in [value for _, value in by_number["choices"]]
    assert all(value.endswith(f":{purchase_id}") for _, value in by_number["choices"])
    assert found["info"] == ""


def test_search_records_without_a_match_says_so(call):
    nothing = call("search_records", "no-such-thing-zq")
    assert nothing["choices"] == [] and nothing["value"] is None
    assert nothing["info"] == "Nothing matches 'no-such-thing-zq'"
    assert call("search_records", "  ")["choices"] == []
