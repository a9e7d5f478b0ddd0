"""Customer endpoints over HTTP: the answer, and the store afterwards, refusals included."""

from __future__ import annotations

import pytest
from gradio_client.exceptions import AppError

pytestmark = pytest.mark.api
# The add form's fields in their order: name, e-mail, phone, company, address, city, country,
# notes.
GRACE = (
    "Grace Hopper",
    "grace@navy.example",
    "+1 555 0101",
    "Navy",
    "1 Main St",
    "Arlington",
    "USA",
    "likes COBOL",
)


def customer_row(store, customer_id):
    return dict(store.query_one("SELECT * FROM customers WHERE id = ?", (customer_id,)))


def test_add_customer_answers_the_saved_record_and_stores_it(call, store):
    answer = call("add_customer", *GRACE)
    customer_id, *fields, status = answer
    assert fields == list(GRACE)
    assert status == "active"
    row = customer_row(store, customer_id)
    assert (row["name"], row["email"], row["city"]) == (
        "Grace Hopper",
        "grace@navy.example",
        "Arlington",
    )
    audit = store.query(
        "SELECT actor, action FROM audit_log WHERE entity = 'customer' AND entity_id = ?",
        (customer_id,),
    )
    assert [tuple(a) for a in audit] == [("dashboard", "create")]


def test_duplicate_email_is_a_readable_refusal_and_changes_nothing(call, store, new_customer):
    new_customer("First", email="dup@example.com")
    before = store.query_one("SELECT count(*) FROM customers")[0]
    with pytest.raises(AppError, match="E-mail: a customer with this e-mail already exists"):
        call("add_customer", "Second", "DUP@example.com", "", "", "", "", "", "")
    assert store.query_one("SELECT count(*) FROM customers")[0] == before


@pytest.mark.parametrize(
    ("name", "email", "phone", "message"),
    [
        ("", "x@example.com", "", "Name: is required"),
        ("Bad Mail", "not-an-address", "", "E-mail: 'not-an-address' is not a valid e-mail"),
        ("Bad Phone", "p@example.com", "call me", "Phone: may hold only digits"),
    ],
)
def test_invalid_fields_name_the_field_and_the_reason(call, store, name, email, phone, message):
    before = store.query_one("SELECT count(*) FROM customers")[0]
    with pytest.raises(AppError, match=message):
        call("add_customer", name, email, phone, "", "", "", "", "")
    assert store.query_one("SELECT count(*) FROM customers")[0] == before


def test_get_update_deactivate_reactivate(call, store, new_customer):
    customer_id = new_customer("Alan Turing", city="London")
    assert call("get_customer", customer_id)[1] == "Alan Turing"
    answer = call(
        "update_customer",
        customer_id,
        "Alan M. Turing",
        "alan@bletchley.example",
        "",
        "GC&CS",
        "",
        "Bletchley",
        "UK",
        "",
    )
    assert answer[1:3] == ("Alan M. Turing", "alan@bletchley.example")
    row = customer_row(store, customer_id)
    assert (row["name"], row["city"], row["company"]) == ("Alan M. Turing", "Bletchley", "GC&CS")

    assert call("deactivate_customer", customer_id)[-1] == "inactive"
    assert customer_row(store, customer_id)["status"] == "inactive"
    assert call("reactivate_customer", customer_id)[-1] == "active"
    assert customer_row(store, customer_id)["status"] == "active"


def test_unknown_or_malformed_ids_are_refused_readably(call):
    with pytest.raises(AppError, match=r"customer #999999 not found"):
        call("get_customer", 999999)
    with pytest.raises(AppError, match="Customer: open a customer"):
        call("get_customer", None)
    with pytest.raises(AppError, match="customer #999999 not found"):
        call("update_customer", 999999, "X", "x@example.com", "", "", "", "", "", "")


def test_list_customers_searches_and_pages_on_the_server(call, new_customer):
    ids = [new_customer(f"Pagetest Person{n}") for n in range(30)]
    frame, info, page = call("list_customers", "pagetest", "active", 1, 25)
    assert [row[0] for row in frame["data"]] == ids[:25]
    assert frame["headers"][:3] == ["ID", "Name", "E-mail"]
    assert "1–25 of 30" in info and page == 1
    frame, info, page = call("list_customers", "pagetest", "active", 2, 25)
    assert [row[0] for row in frame["data"]] == ids[25:]
    # a page past the end shows the last page instead of nothing
    frame, info, page = call("list_customers", "pagetest", "active", 99, 25)
    assert page == 2 and len(frame["data"]) == 5
    frame, info, _ = call("list_customers", "no such person zzz", "active", 1, 25)
    assert frame["data"] == [] and "No customers match" in info


def test_list_customers_filters_by_status(call, new_customer):
    customer_id = new_customer("Statusfilter Sleeper")
    call("deactivate_customer", customer_id)
    active, _, _ = call("list_customers", "statusfilter", "active", 1, 25)
    inactive, _, _ = call("list_customers", "statusfilter", "inactive", 1, 25)
    assert active["data"] == []
    assert [row[0] for row in inactive["data"]] == [customer_id]


def test_purchase_history_lists_lines_and_total_spent(call, new_customer, new_product):
    customer_id = new_customer("History Buyer")
    product_id = new_product(price="4.25", stock=10)
    call("record_purchase", customer_id, [{"product_id": product_id, "quantity": 3}])
    frame, summary = call("purchase_history", customer_id)
    assert len(frame["data"]) == 1
    row = dict(zip(frame["headers"], frame["data"][0], strict=True))
    assert (row["Qty"], row["Unit price"], row["Line total"]) == (3, "$4.25", "$12.75")
    assert "1 purchase" in summary and "$12.75" in summary
    empty, summary = call("purchase_history", new_customer("Never Bought"))
    assert empty["data"] == [] and "no purchases yet" in summary


def test_customer_page_shows_figures_and_the_timeline_newest_first(call, new_customer, new_product):
    customer_id = new_customer("Timeline Buyer", city="Leeds")
    product_id = new_product(price="4.00", stock=10)
    first = call("record_purchase", customer_id, [{"product_id": product_id, "quantity": 2}])[0]
    second = call("record_purchase", customer_id, [{"product_id": product_id, "quantity": 1}])[0]
    call("cancel_purchase", second, "changed mind")
    answer = call("customer_page", customer_id)
    number, name, *_, status, header, figures, timeline, note = answer
    assert (number, name, status) == (customer_id, "Timeline Buyer", "active")
    assert f"Timeline Buyer · #{customer_id}" in header and "Leeds" in header
    assert "$8.00" in figures and "Segment" in figures  # the cancelled $4.00 is not spent
    rows = [dict(zip(timeline["headers"], row, strict=True)) for row in timeline["data"]]
    assert [row["What"] for row in rows] == [
        f"Cancelled purchase #{second}",
        f"Purchase #{second}",
        f"Purchase #{first}",
    ]
    assert rows[-1]["Amount"] == "$8.00" and rows[0]["Status"] == "cancelled"
    assert "3 events" in note


def test_customer_page_refuses_a_missing_customer_readably(call):
    with pytest.raises(AppError, match="customer #999999 not found"):
        call("customer_page", 999999)
    with pytest.raises(AppError, match="Customer: open a customer"):
        call("customer_page", None)
