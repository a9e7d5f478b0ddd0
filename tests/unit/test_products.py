"""Products: catalogue, restock and adjustment through the ledger, search, low stock, audit."""

from __future__ import annotations

import pytest

from crpm import errors
from crpm.permissions import Actor

CUSTOMER_ROLE = Actor(username="ann@example.com", role="customer", customer_id=1)


@pytest.fixture
def services(services_on_each_engine):
    return services_on_each_engine


def ledger(services, actor, product) -> list[tuple[str, int, int, str]]:
    """The product's movements oldest first: (kind, quantity, stock_after, reason)."""
    page = services.products.movements(actor, product.id, limit=500)
    return [(m.kind, m.quantity, m.stock_after, m.reason) for m in reversed(page.items)]


def skus(page) -> list[str]:
    return [product.sku for product in page.items]


# --- catalogue ---------------------------------------------------------------------


def test_add_with_opening_stock_writes_an_initial_movement(services, actor):
    product = services.products.add(
        actor, "TEA-1", "Green tea", "4.50", stock_quantity=12, category="Tea", reorder_level=3
    )
    assert (product.price_cents, product.stock, product.reorder_level) == (450, 12, 3)
    assert services.products.get(actor, product.id) == product
    assert ledger(services, actor, product) == [("initial", 12, 12, "opening stock")]


def test_add_without_stock_writes_no_movement(services, actor, shop):
    product = shop.product(stock=0)
    assert product.stock == 0
    assert ledger(services, actor, product) == []


@pytest.mark.parametrize("sku", ["tea-1", "TEA-1", " Tea-1 "])
def test_a_duplicate_sku_in_any_case_is_a_conflict(services, actor, shop, refused, sku):
    shop.product(sku="Tea-1")
    with refused(errors.Conflict) as info:
        services.products.add(actor, sku, "Other tea", "1.00", stock_quantity=5)
    assert info.value.field == "sku"


def test_renaming_to_a_taken_sku_is_a_conflict(services, actor, shop, refused):
    shop.product(sku="A-1")
    second = shop.product(sku="B-1")
    with refused(errors.Conflict, match="sku"):
        services.products.update(actor, second.id, sku="a-1")


def test_update_changes_catalogue_fields_only(services, actor, shop):
    product = shop.product(stock=4, price="2.00")
    changed = services.products.update(
        actor, product.id, name="Black tea", price="2.50", category="Tea", reorder_level=2
    )
    assert (changed.name, changed.price_cents, changed.category) == ("Black tea", 250, "Tea")
    assert (changed.stock, changed.sku, changed.reorder_level) == (4, product.sku, 2)


@pytest.mark.parametrize("operation", ["update", "restock", "adjust", "deactivate", "movements"])
def test_an_unknown_product_is_not_found(services, actor, shop, refused, operation):
    shop.product()
    calls = {
        "update": lambda: services.products.update(actor, 404, name="x"),
        "restock": lambda: services.products.restock(actor, 404, 1),
        "adjust": lambda: services.products.adjust_stock(actor, 404, -1, "count"),
        "deactivate": lambda: services.products.deactivate(actor, 404),
        "movements": lambda: services.products.movements(actor, 404),
    }
    with refused(errors.NotFound, match="product #404"):
        calls[operation]()


# --- stock operations ---------------------------------------------------------------


def test_restock_and_adjustments_write_the_ledger(services, actor, shop):
    product = shop.product(stock=5)
    services.products.restock(actor, product.id, 10, "delivery 42")
    services.products.adjust_stock(actor, product.id, -3, "broken in transit")
    final = services.products.adjust_stock(actor, product.id, "+1", "found in the back")
    assert final.stock == 13
    assert ledger(services, actor, product) == [
        ("initial", 5, 5, "opening stock"),
        ("restock", 10, 15, "delivery 42"),
        ("adjustment", -3, 12, "broken in transit"),
        ("adjustment", 1, 13, "found in the back"),
    ]


def test_an_adjustment_below_zero_is_out_of_stock(services, actor, shop, refused):
    product = shop.product(stock=2, sku="LAST-1")
    with refused(errors.OutOfStock, match="only 2 of LAST-1") as info:
        services.products.adjust_stock(actor, product.id, -3, "count")
    assert (info.value.available, info.value.requested) == (2, 3)


@pytest.mark.parametrize(
    "delta, reason, field",
    [(0, "count", "quantity"), (-1, "", "reason"), (-1, "   ", "reason"), ("x", "c", "quantity")],
)
def test_a_bad_adjustment_is_refused(services, actor, shop, refused, delta, reason, field):
    product = shop.product(stock=5)
    with refused(errors.ValidationError) as info:
        services.products.adjust_stock(actor, product.id, delta, reason)
    assert info.value.field == field


@pytest.mark.parametrize("quantity", [0, -4, "lots", 1.5])
def test_a_restock_needs_a_positive_quantity(services, actor, shop, refused, quantity):
    product = shop.product(stock=5)
    with refused(errors.ValidationError, match="quantity"):
        services.products.restock(actor, product.id, quantity)


def test_an_inactive_product_cannot_be_restocked_or_adjusted(services, actor, shop, refused):
    product = shop.product(stock=5)
    services.products.deactivate(actor, product.id)
    with refused(errors.InactiveRecord):
        services.products.restock(actor, product.id, 3)
    with refused(errors.InactiveRecord):
        services.products.adjust_stock(actor, product.id, -1, "count")


def test_sales_returns_and_cancellations_appear_in_the_ledger(services, actor, shop):
    product = shop.product(stock=10)
    customer = shop.customer()
    first = shop.sale(customer, (product, 3))
    second = shop.sale(customer, (product, 2))
    services.purchases.return_items(actor, first.lines[0].id, 1, "too many")
    services.purchases.cancel(actor, second.id, "changed mind")
    assert ledger(services, actor, product) == [
        ("initial", 10, 10, "opening stock"),
        ("sale", -3, 7, ""),
        ("sale", -2, 5, ""),
        ("return", 1, 6, "too many"),
        ("cancel", 2, 8, "changed mind"),
    ]
    movements = services.products.movements(actor, product.id, limit=2)
    assert movements.total == 5 and [m.kind for m in movements.items] == ["cancel", "return"]
    assert movements.items[0].purchase_id == second.id


# --- status, lists, search ----------------------------------------------------------


@pytest.fixture
def catalogue(shop):
    """Five products over two categories with different stock and reorder levels."""
    return [
        shop.product(sku="TEA-GRN", name="Green tea", category="Tea", stock=2, reorder_level=5),
        shop.product(sku="TEA-BLK", name="Black tea", category="Tea", stock=50, reorder_level=5),
        shop.product(
            sku="COF-ARA", name="Arabica beans", category="Coffee", stock=5, reorder_level=5
        ),
        shop.product(
            sku="COF-ROB", name="Robusta beans", category="Coffee", stock=0, reorder_level=1
        ),
        shop.product(sku="MUG-1", name="Tea mug", category="Kitchen", stock=9, reorder_level=0),
    ]


def test_deactivation_hides_a_product_from_the_active_list(services, actor, catalogue):
    services.products.deactivate(actor, catalogue[0].id)
    assert "TEA-GRN" not in skus(services.products.list(actor))
    assert skus(services.products.list(actor, status="inactive")) == ["TEA-GRN"]
    assert len(services.products.list(actor, status="all").items) == 5
    services.products.reactivate(actor, catalogue[0].id)
    assert "TEA-GRN" in skus(services.products.list(actor))


@pytest.mark.parametrize(
    "term, expected",
    [
        ("tea", ["TEA-GRN", "TEA-BLK", "MUG-1"]),
        ("beans", ["COF-ARA", "COF-ROB"]),
        ("cof-rob", ["COF-ROB"]),
        ("coffee", ["COF-ARA", "COF-ROB"]),
        ("blac", ["TEA-BLK"]),
        ("kitchen mug", ["MUG-1"]),
        ("chocolate", []),
    ],
)
def test_search_by_sku_name_or_category(services, actor, catalogue, term, expected):
    page = services.products.list(actor, search=term)
    assert skus(page) == expected and page.total == len(expected)


def test_category_filter_and_categories(services, actor, catalogue):
    assert skus(services.products.list(actor, category="Coffee")) == ["COF-ARA", "COF-ROB"]
    assert services.products.categories(actor) == ["Coffee", "Kitchen", "Tea"]


def test_low_stock_lists_active_products_at_or_below_reorder_level(services, actor, catalogue):
    page = services.products.list(actor, low_stock=True)
    assert skus(page) == ["TEA-GRN", "COF-ROB", "COF-ARA"]  # most below their level first
    assert page.total == 3
    assert all(product.low_stock for product in page.items)
    assert skus(services.products.list(actor, low_stock=True, category="Coffee")) == [
        "COF-ROB",
        "COF-ARA",
    ]
    services.products.deactivate(actor, catalogue[0].id)
    services.products.restock(actor, catalogue[3].id, 10)
    assert skus(services.products.list(actor, low_stock=True)) == ["COF-ARA"]


def test_paging_products(services, actor, catalogue):
    page = services.products.list(actor, status="all", limit=2, offset=2)
    assert skus(page) == ["COF-ARA", "COF-ROB"] and page.total == 5
    after = services.products.list(
        actor, status="all", limit=2, after_id=page.extra["next_after_id"]
    )
    assert skus(after) == ["MUG-1"] and after.extra["next_after_id"] is None


# --- price history --------------------------------------------------------------------


def test_a_price_change_keeps_old_sales_at_their_price(services, actor, shop):
    product = shop.product(stock=10, price="5.00")
    customer = shop.customer()
    old = shop.sale(customer, (product, 2))
    services.products.update(actor, product.id, price="7.25")
    new = shop.sale(customer, (product, 1))
    reread = services.purchases.get(actor, old.id)
    assert reread.lines[0].unit_price_cents == 500 and reread.total_cents == 1000
    assert new.lines[0].unit_price_cents == 725 and new.total_cents == 725
    assert services.purchases.history(actor, customer.id).extra["total_spent_cents"] == 1725


# --- audit and roles ----------------------------------------------------------------


def test_product_changes_are_audited(services, actor, shop):
    product = shop.product(stock=5, price="1.00")
    services.products.update(actor, product.id, price="1.50")
    services.products.restock(actor, product.id, 5, "delivery")
    services.products.adjust_stock(actor, product.id, -2, "breakage")
    services.products.deactivate(actor, product.id)
    rows = shop.audit("product", product.id)
    assert [row["action"] for row in rows] == [
        "create",
        "update",
        "restock",
        "adjustment",
        "deactivate",
    ]
    assert rows[0]["after"]["price_cents"] == 100
    assert (rows[1]["before"]["price_cents"], rows[1]["after"]["price_cents"]) == (100, 150)
    assert (rows[2]["before"]["stock"], rows[2]["after"]) == (
        5,
        {"stock": 10, "reason": "delivery"},
    )
    assert (rows[3]["before"]["stock"], rows[3]["after"]["stock"]) == (10, 8)
    assert rows[4]["after"]["status"] == "inactive"


PRODUCT_CALLS = {
    "add": lambda s, who, pid: s.products.add(who, "X-1", "X", "1.00"),
    "update": lambda s, who, pid: s.products.update(who, pid, price="0.01"),
    "restock": lambda s, who, pid: s.products.restock(who, pid, 5),
    "adjust": lambda s, who, pid: s.products.adjust_stock(who, pid, -1, "theft"),
    "deactivate": lambda s, who, pid: s.products.deactivate(who, pid),
    "list": lambda s, who, pid: s.products.list(who),
    "low stock": lambda s, who, pid: s.products.list(who, low_stock=True),
    "movements": lambda s, who, pid: s.products.movements(who, pid),
}


@pytest.mark.parametrize("call", PRODUCT_CALLS.values(), ids=PRODUCT_CALLS.keys())
def test_a_customer_role_may_not_manage_products(services, shop, refused, call):
    product = shop.product(stock=5)
    with refused(errors.PermissionDenied):
        call(services, CUSTOMER_ROLE, product.id)
