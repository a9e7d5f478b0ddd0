"""Purchases: record, cancel, return, history, lists, audit and who may see what."""

from __future__ import annotations

import pytest

from crpm import errors
from crpm.permissions import Actor
from crpm.ui.common import returned_state


@pytest.fixture
def tea(shop):
    return shop.product(sku="TEA", name="Green tea", price="4.50", stock=10)


@pytest.fixture
def mug(shop):
    return shop.product(sku="MUG", name="Mug", price="12.00", stock=3)


@pytest.fixture
def ann(shop):
    return shop.customer("Ann Smith", email="ann@example.com")


@pytest.fixture
def bob(shop):
    return shop.customer("Bob Jones", email="bob@example.com")


@pytest.fixture
def services(services_on_each_engine):
    return services_on_each_engine


def as_customer(customer) -> Actor:
    return Actor(username=customer.email, role="customer", customer_id=customer.id)


def stock_of(services, actor, product) -> int:
    return services.products.get(actor, product.id).stock


def movements(services, actor, product) -> list[tuple[str, int, int]]:
    page = services.products.movements(actor, product.id, limit=500)
    return [(m.kind, m.quantity, m.stock_after) for m in reversed(page.items)]


# --- recording -------------------------------------------------------------------


def test_a_purchase_captures_prices_and_takes_stock(services, actor, shop, ann, tea, mug):
    purchase = services.purchases.record(actor, ann.id, [(tea.id, 3), (mug.id, 1)])
    assert [(line.sku, line.quantity, line.unit_price_cents) for line in purchase.lines] == [
        ("TEA", 3, 450),
        ("MUG", 1, 1200),
    ]
    assert purchase.total_cents == 3 * 450 + 1200 == purchase.revenue_cents
    assert (purchase.customer_name, purchase.status, purchase.source) == (
        "Ann Smith",
        "completed",
        "dashboard",
    )
    assert purchase.recorded_by == actor.username
    assert (stock_of(services, actor, tea), stock_of(services, actor, mug)) == (7, 2)
    assert movements(services, actor, tea)[-1] == ("sale", -3, 7)
    assert services.purchases.get(actor, purchase.id) == purchase


def test_lines_for_the_same_product_are_merged(services, actor, ann, tea):
    purchase = services.purchases.record(
        actor, ann.id, [(tea.id, 2), {"product_id": tea.id, "quantity": 3}]
    )
    assert [(line.product_id, line.quantity) for line in purchase.lines] == [(tea.id, 5)]
    assert movements(services, actor, tea)[-1] == ("sale", -5, 5)


def test_the_last_units_can_be_sold_but_no_more(services, actor, shop, refused, ann, mug):
    shop.sale(ann, (mug, 3))
    assert stock_of(services, actor, mug) == 0
    with refused(errors.OutOfStock, match="only 0 of MUG"):
        shop.sale(ann, (mug, 1))


def test_a_purchase_time_source_and_order_reference_can_be_given(services, actor, ann, tea):
    purchase = services.purchases.record(
        actor, ann.id, [(tea.id, 1)], source="import", purchased_at="2024-05-01", order_ref="X-1"
    )
    assert (purchase.purchased_at, purchase.source, purchase.order_ref) == (
        "2024-05-01 00:00:00",
        "import",
        "X-1",
    )


# --- refusals of a purchase --------------------------------------------------------


def test_quantity_above_stock_is_refused_naming_what_is_left(services, actor, refused, ann, mug):
    with refused(errors.OutOfStock) as info:
        services.purchases.record(actor, ann.id, [(mug.id, 4)])
    assert (info.value.sku, info.value.available, info.value.requested) == ("MUG", 3, 4)
    assert "Mug" in str(info.value)


def test_one_line_out_of_stock_refuses_the_whole_purchase(services, actor, refused, ann, tea, mug):
    with refused(errors.OutOfStock, match="MUG"):
        services.purchases.record(actor, ann.id, [(tea.id, 2), (mug.id, 5)])
    assert stock_of(services, actor, tea) == 10


def test_an_inactive_customer_cannot_buy(services, actor, refused, ann, tea):
    services.customers.deactivate(actor, ann.id)
    with refused(errors.InactiveRecord, match="Ann Smith"):
        services.purchases.record(actor, ann.id, [(tea.id, 1)])


def test_an_inactive_product_cannot_be_bought(services, actor, refused, ann, tea, mug):
    services.products.deactivate(actor, mug.id)
    with refused(errors.InactiveRecord, match="MUG"):
        services.purchases.record(actor, ann.id, [(tea.id, 1), (mug.id, 1)])


@pytest.mark.parametrize("who", ["customer", "product"])
def test_unknown_customer_or_product_is_not_found(services, actor, refused, ann, tea, who):
    customer_id, product_id = (999, tea.id) if who == "customer" else (ann.id, 999)
    with refused(errors.NotFound, match=f"{who} #999"):
        services.purchases.record(actor, customer_id, [(product_id, 1)])


def test_a_duplicate_order_reference_is_a_conflict(services, actor, refused, ann, tea):
    services.purchases.record(actor, ann.id, [(tea.id, 1)], order_ref="WEB-7")
    with refused(errors.Conflict, match="order_ref"):
        services.purchases.record(actor, ann.id, [(tea.id, 1)], order_ref="WEB-7")


# --- cancel ------------------------------------------------------------------------------


def test_cancel_puts_all_stock_back_and_keeps_the_lines(services, actor, shop, ann, tea, mug):
    purchase = shop.sale(ann, (tea, 4), (mug, 2))
    cancelled = services.purchases.cancel(actor, purchase.id, "customer called")
    assert cancelled.status == "cancelled" and cancelled.cancelled_at
    assert cancelled.lines == purchase.lines
    assert (cancelled.total_cents, cancelled.revenue_cents) == (purchase.total_cents, 0)
    assert (stock_of(services, actor, tea), stock_of(services, actor, mug)) == (10, 3)
    assert movements(services, actor, mug)[-1] == ("cancel", 2, 3)


def test_cancelling_twice_is_refused(services, actor, shop, refused, ann, tea):
    purchase = shop.sale(ann, (tea, 1))
    services.purchases.cancel(actor, purchase.id)
    with refused(errors.Conflict, match="already cancelled"):
        services.purchases.cancel(actor, purchase.id)


def test_cancel_after_a_partial_return_gives_back_only_the_rest(services, actor, shop, ann, tea):
    purchase = shop.sale(ann, (tea, 5))
    services.purchases.return_items(actor, purchase.lines[0].id, 2)
    services.purchases.cancel(actor, purchase.id)
    assert stock_of(services, actor, tea) == 10
    assert movements(services, actor, tea)[-3:] == [
        ("sale", -5, 5),
        ("return", 2, 7),
        ("cancel", 3, 10),
    ]


def test_cancelling_an_unknown_purchase_is_not_found(services, actor, refused, ann):
    with refused(errors.NotFound, match="purchase #77"):
        services.purchases.cancel(actor, 77)


# --- return --------------------------------------------------------------------------------


def test_a_return_adds_a_row_and_reduces_revenue(services, actor, shop, ann, tea):
    purchase = shop.sale(ann, (tea, 3))
    after = services.purchases.return_items(actor, purchase.lines[0].id, 1, "damaged")
    line = after.lines[0]
    assert (line.quantity, line.returned, line.revenue_cents) == (3, 1, 2 * 450)
    assert after.status == "partly returned" and after.revenue_cents == 900
    assert stock_of(services, actor, tea) == 8
    returns = services.store.query("SELECT line_id, quantity, reason FROM purchase_returns")
    assert [tuple(row) for row in returns] == [(line.id, 1, "damaged")]


def test_returning_more_than_bought_is_refused(services, actor, shop, refused, ann, tea):
    line_id = shop.sale(ann, (tea, 3)).lines[0].id
    with refused(errors.ValidationError, match="only 3 of TEA"):
        services.purchases.return_items(actor, line_id, 4)


def test_returns_across_several_calls_never_exceed_what_was_bought(
    services, actor, shop, refused, ann, tea
):
    line_id = shop.sale(ann, (tea, 3)).lines[0].id
    services.purchases.return_items(actor, line_id, 2)
    with refused(errors.ValidationError, match="only 1 of TEA"):
        services.purchases.return_items(actor, line_id, 2)
    assert services.purchases.return_items(actor, line_id, 1).lines[0].returned == 3
    with refused(errors.ValidationError, match="only 0 of TEA"):
        services.purchases.return_items(actor, line_id, 1)
    assert stock_of(services, actor, tea) == 10


def test_a_cancelled_purchase_cannot_be_returned(services, actor, shop, refused, ann, tea):
    purchase = shop.sale(ann, (tea, 2))
    services.purchases.cancel(actor, purchase.id)
    with refused(errors.Conflict, match="cancelled"):
        services.purchases.return_items(actor, purchase.lines[0].id, 1)


@pytest.mark.parametrize(
    "line_id, quantity, error", [(999, 1, errors.NotFound), ("L", 1, errors.ValidationError)]
)
def test_a_bad_return_is_refused(
    services, actor, shop, refused, ann, tea, line_id, quantity, error
):
    shop.sale(ann, (tea, 2))
    with refused(error):
        services.purchases.return_items(actor, line_id, quantity)


@pytest.mark.parametrize("quantity", [0, -1, "one"])
def test_a_return_quantity_must_be_positive(services, actor, shop, refused, ann, tea, quantity):
    line_id = shop.sale(ann, (tea, 2)).lines[0].id
    with refused(errors.ValidationError, match="quantity"):
        services.purchases.return_items(actor, line_id, quantity)


# --- history ------------------------------------------------------------------------------


def test_history_lists_lines_with_product_details_and_totals(services, actor, ann, bob, tea, mug):
    old = services.purchases.record(
        actor, ann.id, [(tea.id, 2), (mug.id, 1)], purchased_at="2024-01-01 10:00:00"
    )
    new = services.purchases.record(actor, ann.id, [(tea.id, 1)], purchased_at="2024-02-01")
    services.purchases.record(actor, bob.id, [(tea.id, 1)])
    history = services.purchases.history(actor, ann.id)
    assert history.total == 3
    assert [(row["purchase_id"], row["sku"], row["quantity"]) for row in history.items] == [
        (new.id, "TEA", 1),
        (old.id, "TEA", 2),
        (old.id, "MUG", 1),
    ]
    first = history.items[1]
    assert first["product_name"] == "Green tea" and first["purchased_at"] == "2024-01-01 10:00:00"
    assert (first["unit_price_cents"], first["line_total_cents"]) == (450, 900)
    assert [row["purchase_total_cents"] for row in history.items] == [450, 2100, 2100]
    assert history.extra == {"purchases": 2, "total_spent_cents": 2550}


def test_history_nets_out_returns_and_cancellations(services, actor, shop, ann, tea, mug):
    kept = shop.sale(ann, (tea, 2))
    dropped = shop.sale(ann, (mug, 1))
    services.purchases.return_items(actor, kept.lines[0].id, 1)
    services.purchases.cancel(actor, dropped.id)
    history = services.purchases.history(actor, ann.id)
    assert history.total == 2  # cancelled lines stay in the history, marked
    assert history.extra == {"purchases": 1, "total_spent_cents": 450}
    cancelled = [row for row in history.items if row["purchase_id"] == dropped.id]
    assert cancelled[0]["cancelled_at"] is not None


def test_a_deactivated_products_sales_stay_in_the_history(services, actor, shop, ann, mug):
    shop.sale(ann, (mug, 2))
    services.products.deactivate(actor, mug.id)
    row = services.purchases.history(actor, ann.id).items[0]
    assert (row["sku"], row["product_name"], row["product_status"]) == ("MUG", "Mug", "inactive")
    assert (row["quantity"], row["line_total_cents"]) == (2, 2400)
    assert services.purchases.history(actor, ann.id).extra["total_spent_cents"] == 2400


def test_history_pages(services, actor, shop, ann, tea):
    for _ in range(5):
        shop.sale(ann, (tea, 1))
    page = services.purchases.history(actor, ann.id, limit=2, offset=4)
    assert (page.total, len(page.items)) == (5, 1)


def test_history_of_an_unknown_customer_is_not_found(services, actor):
    with pytest.raises(errors.NotFound):
        services.purchases.history(actor, 404)


# --- listing --------------------------------------------------------------------------------


@pytest.fixture
def sales(services, actor, ann, bob, tea, mug):
    """Four purchases over three months: ann tea (Jan), ann mug (Feb), bob tea (Mar, cancelled),
    bob tea+mug (Mar)."""
    record = services.purchases.record
    made = [
        record(actor, ann.id, [(tea.id, 1)], purchased_at="2024-01-15"),
        record(actor, ann.id, [(mug.id, 1)], purchased_at="2024-02-15"),
        record(actor, bob.id, [(tea.id, 2)], purchased_at="2024-03-01"),
        record(actor, bob.id, [(tea.id, 1), (mug.id, 2)], purchased_at="2024-03-20"),
    ]
    services.purchases.cancel(actor, made[2].id)
    return made


def listed(services, actor, **filters) -> list[int]:
    return [row["id"] for row in services.purchases.list(actor, **filters).items]


def test_list_filters(services, actor, sales, ann, bob, tea, mug):
    ids = [purchase.id for purchase in sales]
    assert listed(services, actor) == ids[::-1]  # newest first
    assert listed(services, actor, customer_id=ann.id) == [ids[1], ids[0]]
    assert listed(services, actor, product_id=mug.id) == [ids[3], ids[1]]
    assert listed(services, actor, date_from="2024-02-01", date_to="2024-03-20") == [ids[2], ids[1]]
    assert listed(services, actor, status="cancelled") == [ids[2]]
    assert listed(services, actor, status="completed", customer_id=bob.id) == [ids[3]]


def test_list_rows_carry_totals_and_status(services, actor, sales):
    services.purchases.return_items(actor, sales[3].lines[1].id, 1)
    page = services.purchases.list(actor, limit=2)
    assert page.total == 4 and len(page.items) == 2
    newest = page.items[0]
    assert (newest["lines"], newest["units"], newest["total_cents"]) == (2, 3, 450 + 2400)
    assert (newest["returned_cents"], newest["status"]) == (1200, "partly returned")
    assert page.items[1]["status"] == "cancelled"


def test_the_list_says_what_the_record_says_and_filters_returns(services, actor, sales):
    """A purchase with units back reads as its record does, and "returned" finds it."""
    newest = sales[3]
    services.purchases.return_items(actor, newest.lines[1].id, 1)
    assert listed(services, actor, status="returned") == [newest.id]
    assert newest.id in listed(services, actor, status="completed")
    tea_line, mug_line = newest.lines  # tea 1, mug 2 (1 back already)
    services.purchases.return_items(actor, tea_line.id, 1)
    services.purchases.return_items(actor, mug_line.id, 1)
    row = services.purchases.list(actor, limit=1).items[0]
    record = services.purchases.get(actor, newest.id)
    assert row["status"] == record.status == "returned"
    services.purchases.return_items(actor, sales[0].lines[0].id, 1)
    assert listed(services, actor, status="returned") == [newest.id, sales[0].id]


@pytest.mark.parametrize(
    "filters", [{"status": "lost"}, {"date_from": "soon"}, {"customer_id": "x"}, {"product_id": 0}]
)
def test_bad_list_filters_are_refused(services, actor, sales, filters):
    with pytest.raises(errors.ValidationError):
        services.purchases.list(actor, **filters)


# --- audit -----------------------------------------------------------------------------------


def test_purchase_cancel_and_return_are_audited(services, actor, shop, ann, tea):
    purchase = shop.sale(ann, (tea, 3))
    services.purchases.return_items(actor, purchase.lines[0].id, 1, "scratched")
    services.purchases.cancel(actor, purchase.id, "fraud")
    rows = shop.audit("purchase", purchase.id)
    assert [row["action"] for row in rows] == ["create", "return", "cancel"]
    assert rows[0]["after"]["total_cents"] == 1350
    assert rows[0]["after"]["lines"] == [
        {"product_id": tea.id, "quantity": 3, "unit_price_cents": 450}
    ]
    assert rows[1]["after"] == {
        "line_id": purchase.lines[0].id,
        "quantity": 1,
        "reason": "scratched",
    }
    assert rows[2]["before"]["cancelled_at"] is None and rows[2]["after"]["reason"] == "fraud"


# --- roles ------------------------------------------------------------------------------------


def test_a_customer_may_read_only_their_own_purchases(services, actor, shop, ann, bob, tea):
    own = shop.sale(ann, (tea, 1))
    other = shop.sale(bob, (tea, 2))
    me = as_customer(ann)
    assert services.purchases.get(me, own.id) == own
    assert [row["purchase_id"] for row in services.purchases.history(me, ann.id).items] == [own.id]
    assert [row["id"] for row in services.purchases.list(me, customer_id=ann.id).items] == [own.id]
    with pytest.raises(errors.NotFound, match=f"purchase #{other.id} not found"):
        services.purchases.get(me, other.id)  # reads like a missing id: ids tell nothing
    for read in (
        lambda: services.purchases.history(me, bob.id),
        lambda: services.purchases.list(me, customer_id=bob.id),
    ):
        with pytest.raises(errors.NotFound, match=f"customer #{bob.id} not found"):
            read()  # another customer's history reads like a customer that does not exist
    with pytest.raises(errors.PermissionDenied):
        services.purchases.list(me)  # every customer's purchases are for staff


def test_a_customer_may_not_record_cancel_or_return(services, shop, refused, ann, tea):
    purchase = shop.sale(ann, (tea, 2))
    me = as_customer(ann)
    with refused(errors.PermissionDenied):
        services.purchases.record(me, ann.id, [(tea.id, 1)])
    with refused(errors.PermissionDenied):
        services.purchases.cancel(me, purchase.id)
    with refused(errors.PermissionDenied):
        services.purchases.return_items(me, purchase.lines[0].id, 1)


def test_a_line_reads_partly_returned_until_every_unit_came_back(services, actor, shop, ann):
    tea = shop.product(sku="TEA", name="Green tea", price="4.50", stock=10)
    mug = shop.product(sku="MUG", name="Mug", price="12.00", stock=3)
    purchase = shop.sale(ann, (tea, 3), (mug, 1))
    tea_line, mug_line = (line.id for line in purchase.lines)

    def states() -> dict:
        rows = services.purchases.history(actor, ann.id).items
        return {row["sku"]: returned_state(row) for row in rows}

    assert services.purchases.return_items(actor, tea_line, 1).status == "partly returned"
    assert states() == {"TEA": "partly returned", "MUG": ""}
    assert services.purchases.return_items(actor, mug_line, 1).status == "partly returned"
    assert states() == {"TEA": "partly returned", "MUG": "returned"}
    assert services.purchases.return_items(actor, tea_line, 2).status == "returned"
    assert states() == {"TEA": "returned", "MUG": "returned"}
