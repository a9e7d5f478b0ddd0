"""A customer's timeline: every kind of event, newest first, its totals, and who may read it."""

from __future__ import annotations

import pytest

from crpm.analytics import Analytics
from crpm.errors import NotFound, PermissionDenied
from crpm.permissions import Actor
from crpm.services import open_services
from tests.support import STAFF


@pytest.fixture
def services(services_on_each_engine):
    """The timeline reads only core tables: it runs on both engines."""
    return services_on_each_engine


@pytest.fixture
def story(shop, services, actor, clock):
    """Ann: a purchase, a return on it, a cancelled purchase, a ticket and a quote, one a day."""
    ann, bob = shop.customer("Ann"), shop.customer("Bob")
    mug, pot = shop.product(price="5.00"), shop.product(price="20.00")
    first = services.purchases.record(actor, ann.id, [(mug.id, 3), (pot.id, 1)])
    clock.advance(days=1)
    services.purchases.return_items(actor, first.lines[0].id, 1)
    clock.advance(days=1)
    second = services.purchases.record(actor, ann.id, [(pot.id, 2)])
    clock.advance(days=1)
    services.purchases.cancel(actor, second.id)
    clock.advance(days=1)
    ticket = services.desk.raise_ticket(STAFF, "Lid is cracked", customer_id=ann.id)
    clock.advance(days=1)
    quote = services.desk.request_quote(STAFF, [(mug.id, 50)], customer_id=ann.id)
    shop.sale(bob, (mug, 1))  # Bob's: never on Ann's timeline
    return {"ann": ann, "bob": bob, "first": first, "second": second, "ticket": ticket,
            "quote": quote}  # fmt: skip


def test_every_event_newest_first_with_its_record(services, story):
    page = services.timeline.customer(STAFF, story["ann"].id)
    kinds = [(entry.kind, entry.record_id) for entry in page.items]
    assert kinds == [
        ("quote", story["quote"].id),
        ("ticket", story["ticket"].id),
        ("cancellation", story["second"].id),
        ("purchase", story["second"].id),
        ("return", story["first"].id),
        ("purchase", story["first"].id),
    ]
    times = [entry.at for entry in page.items]
    assert times == sorted(times, reverse=True)
    assert page.total == 6
    by_kind = {entry.kind: entry for entry in page.items}
    assert by_kind["ticket"].title == "Lid is cracked" and by_kind["ticket"].status == "open"
    assert by_kind["return"].amount_cents == 500 and "1 × " in by_kind["return"].title
    assert by_kind["quote"].status == "requested" and by_kind["quote"].title == "1 product"
    assert page.items[-1].amount_cents == 3500 and page.items[-1].title == "4 units, 2 lines"
    assert page.items[-1].status == "partly returned"  # as the purchase's record says


def test_totals_count_what_was_kept(services, story):
    extra = services.timeline.customer(STAFF, story["ann"].id).extra
    # the cancelled purchase counts for nothing; the returned mug comes off
    assert extra == {
        "purchases": 1,
        "spent_cents": 3000,
        "last_purchase": story["first"].purchased_at,
    }


def test_a_limit_keeps_the_newest(services, story):
    page = services.timeline.customer(STAFF, story["ann"].id, limit=2)
    assert [entry.kind for entry in page.items] == ["quote", "ticket"]
    assert page.total == 6


def test_a_same_moment_cancellation_comes_before_its_purchase(services, shop, actor):
    cara = shop.customer("Cara")
    sold = shop.sale(cara, (shop.product(), 1))
    services.purchases.cancel(actor, sold.id)
    entries = services.timeline.customer(STAFF, cara.id).items
    assert [entry.kind for entry in entries] == ["cancellation", "purchase"]
    assert entries[1].title == "1 unit, 1 line"


def test_a_customer_reads_their_own_and_no_one_elses(services, story):
    ann = Actor("ann@example.com", "customer", customer_id=story["ann"].id)
    assert services.timeline.customer(ann, story["ann"].id).total == 6
    with pytest.raises(NotFound, match=f"customer #{story['bob'].id}"):
        services.timeline.customer(ann, story["bob"].id)


def test_a_missing_customer_is_not_found_and_no_login_is_refused(services, story):
    with pytest.raises(NotFound):
        services.timeline.customer(STAFF, 999_999)
    with pytest.raises((PermissionDenied, NotFound)):
        services.timeline.customer(None, story["ann"].id)


def test_a_customer_with_nothing_has_an_empty_timeline(services, shop):
    quiet = shop.customer("Quiet")
    page = services.timeline.customer(STAFF, quiet.id)
    assert (page.items, page.total) == ([], 0)
    assert page.extra == {"purchases": 0, "spent_cents": 0, "last_purchase": None}


def test_one_customers_rfm_matches_the_report(db_path, clock):
    """The analytics engine reads SQLite (its mirror), so this one runs there only."""
    services = open_services(db_path, clock)
    engine = Analytics(services.store)
    try:
        ann, bob = (services.customers.add(STAFF, name, f"{name}@x.io") for name in ("ann", "bob"))
        mug = services.products.add(STAFF, "MUG", "Mug", "5.00", stock_quantity=50)
        for customer, times in ((ann, 3), (bob, 1)):
            for _ in range(times):
                services.purchases.record(STAFF, customer.id, [(mug.id, 2)])
        every = engine.rfm(STAFF)["customers"].set_index("customer_id")
        for customer in (ann, bob):
            one = engine.customer_rfm(STAFF, customer.id)
            expected = every.loc[customer.id]
            assert one["segment"] == expected["segment"]
            assert (one["r_score"], one["f_score"], one["m_score"]) == tuple(
                expected[["r_score", "f_score", "m_score"]]
            )
        assert engine.customer_rfm(STAFF, services.customers.add(STAFF, "N", "n@x.io").id) is None
        with pytest.raises(PermissionDenied):
            engine.customer_rfm(Actor("ann@x.io", "customer", ann.id), ann.id)
    finally:
        engine.close()
        services.store.close()


# --- a product's page: its sales lines and open quotes -------------------------------------


def test_a_products_sales_lines_newest_first_with_customer_and_returns(services, story):
    mug = story["first"].lines[0].product_id
    activity = services.timeline.product(STAFF, mug)
    lines = [(line.purchase_id, line.customer, line.quantity, line.returned, line.status)
             for line in activity.sales.items]  # fmt: skip
    # Bob's sale is the newest (after the quote); Ann's first purchase had one mug returned
    assert lines[1:] == [(story["first"].id, "Ann", 3, 1, "completed")]
    assert lines[0][1:] == ("Bob", 1, 0, "completed") and activity.sales.total == 2
    assert activity.sales.items[1].amount_cents == 1500
    assert [line.at for line in activity.sales.items] == sorted(
        (line.at for line in activity.sales.items), reverse=True
    )


def test_a_cancelled_sale_stays_on_the_product_marked_cancelled(services, story):
    pot = story["second"].lines[0].product_id
    sales = services.timeline.product(STAFF, pot).sales
    assert [(line.purchase_id, line.status) for line in sales.items] == [
        (story["second"].id, "cancelled"),
        (story["first"].id, "completed"),
    ]


def test_only_open_quotes_that_include_the_product(services, story, shop, clock):
    mug = story["first"].lines[0].product_id
    lapsing = services.desk.request_quote(STAFF, [(mug, 4)], customer_id=story["bob"].id)
    services.desk.price_quote(STAFF, lapsing.id, {mug: "4.50"}, clock.utc_day(), "today only")
    other = shop.product()
    services.desk.request_quote(STAFF, [(other.id, 1)], customer_id=story["bob"].id)
    quotes = services.timeline.product(STAFF, mug).open_quotes
    assert [(q.quote_id, q.status, q.unit_price_cents) for q in quotes] == [
        (lapsing.id, "priced", 450),
        (story["quote"].id, "requested", None),
    ]
    clock.advance(days=2)  # the priced one lapses: no longer open
    quotes = services.timeline.product(STAFF, mug).open_quotes
    assert [(q.quote_id, q.customer, q.quantity) for q in quotes] == [
        (story["quote"].id, "Ann", 50)
    ]


def test_a_products_page_is_for_staff_and_a_missing_product_is_not_found(services, story):
    mug = story["first"].lines[0].product_id
    with pytest.raises(NotFound, match="product #999999"):
        services.timeline.product(STAFF, 999_999)
    ann = Actor("ann@example.com", "customer", customer_id=story["ann"].id)
    with pytest.raises((PermissionDenied, NotFound)):
        services.timeline.product(ann, mug)
    fresh = services.timeline.product(STAFF, services.products.add(STAFF, "NEW", "New", "1").id)
    assert (fresh.sales.items, fresh.sales.total, fresh.open_quotes) == ([], 0, [])


# --- a purchase's page: its returns --------------------------------------------------------


def test_a_purchases_returns_newest_first_with_credit_reason_and_who(services, story, clock, actor):
    first = story["first"]
    clock.advance(days=1)
    services.purchases.return_items(STAFF, first.lines[1].id, 1, "wrong colour")
    returns = services.timeline.purchase_returns(STAFF, first.id)
    assert [(r.line_id, r.quantity, r.reason, r.recorded_by) for r in returns] == [
        (first.lines[1].id, 1, "wrong colour", STAFF.username),
        (first.lines[0].id, 1, "", actor.username),
    ]
    assert returns[0].credit_cents == 2000 and returns[1].credit_cents == 500
    assert returns[0].at > returns[1].at
    assert services.timeline.purchase_returns(STAFF, story["second"].id) == []


def test_a_purchases_returns_read_as_the_purchase_does(services, story):
    ann = Actor("ann@example.com", "customer", customer_id=story["ann"].id)
    bob = Actor("bob@example.com", "customer", customer_id=story["bob"].id)
    assert len(services.timeline.purchase_returns(ann, story["first"].id)) == 1
    with pytest.raises(NotFound, match=f"purchase #{story['first'].id}"):
        services.timeline.purchase_returns(bob, story["first"].id)
    with pytest.raises(NotFound, match="purchase #999999"):
        services.timeline.purchase_returns(STAFF, 999_999)
