"""The service desk: tickets with history, the staff queue, quotes that become purchases."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crpm.errors import (
    Conflict,
    InactiveRecord,
    NotFound,
    OutOfStock,
    PermissionDenied,
    ValidationError,
)
from crpm.permissions import SYSTEM

FAR = "2099-12-31"
# A trigger that refuses to accept a quote, on each engine.
FROZEN_QUOTES = {
    "sqlite": "CREATE TRIGGER frozen_quotes BEFORE UPDATE OF status ON quotes"
    " WHEN NEW.status = 'accepted' BEGIN SELECT RAISE(ABORT, 'quotes are frozen'); END",
    "postgresql": "CREATE FUNCTION frozen() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    " RAISE EXCEPTION 'quotes are frozen' USING ERRCODE = 'integrity_constraint_violation';"
    " END $$; CREATE TRIGGER frozen_quotes BEFORE UPDATE OF status ON quotes FOR EACH ROW"
    " WHEN (NEW.status = 'accepted') EXECUTE FUNCTION frozen()",
}


@pytest.fixture
def services(services_on_each_engine):
    return services_on_each_engine


@pytest.fixture
def desk(services, people):
    return services.desk


def ticket(desk, actor, subject="Broken widget", **fields):
    return desk.raise_ticket(actor, subject, "It stopped working", **fields)


def kinds(ticket):
    return [(event.kind, event.new_value) for event in ticket.events]


def backdate(services, table, row_id, column, value):
    """Let time pass for one row (the store's clock is the only thing we move)."""
    with services.store.write() as conn:
        conn.execute(f"UPDATE {table} SET {column} = ? WHERE id = ?", (value, row_id))


# --- raising and reading tickets ---------------------------------------------------


def test_customer_raises_a_ticket_for_themself(desk, people):
    raised = ticket(desk, people.a, category="product", priority="high")
    assert (raised.customer_id, raised.status, raised.priority, raised.category) == (
        people.a.customer_id,
        "open",
        "high",
        "product",
    )
    assert raised.created_by == "alice@example.com"
    assert kinds(raised) == [("created", "open")]
    assert raised.status_changed_at == raised.created_at


def test_staff_raise_a_ticket_on_a_customers_behalf(desk, people, refused):
    raised = ticket(desk, people.staff, customer_id=people.b.customer_id)
    assert raised.customer_id == people.b.customer_id
    assert desk.get_ticket(people.b, raised.id).created_by == "support"
    assert desk.get_ticket(people.staff, raised.id).created_by == "sam"
    with refused(ValidationError, match="customer"):
        ticket(desk, people.staff)
    with refused(NotFound):
        ticket(desk, people.staff, customer_id=999)


def test_a_customer_cannot_raise_for_someone_else(desk, people, refused):
    # someone else reads as a customer that does not exist
    with refused(NotFound, match=f"customer #{people.b.customer_id} not found"):
        ticket(desk, people.a, customer_id=people.b.customer_id)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"subject": "  "}, "subject"),
        ({"subject": "x" * 201}, "subject"),
        ({"priority": "whenever"}, "priority"),
        ({"category": "gossip"}, "category"),
    ],
)
def test_bad_ticket_input_is_refused_with_the_field_named(desk, people, refused, fields, field):
    with refused(ValidationError, match=field):
        desk.raise_ticket(people.a, **{"subject": "Help", **fields})


def test_customers_list_only_their_own_tickets(desk, people):
    mine = ticket(desk, people.a)
    ticket(desk, people.b)
    page = desk.my_tickets(people.a)
    assert [item.id for item in page.items] == [mine.id] and page.total == 1
    assert page.items[0].status == "open" and page.items[0].status_changed_at
    assert desk.my_tickets(people.a, status="closed").total == 0
    with pytest.raises(PermissionDenied):
        desk.my_tickets(people.staff)


def test_customer_b_cannot_read_or_change_customer_as_ticket(desk, people, refused):
    theirs = ticket(desk, people.a)
    with pytest.raises(NotFound):
        desk.get_ticket(people.b, theirs.id)
    with refused(NotFound):
        desk.comment(people.b, theirs.id, "hello")
    with refused(NotFound):
        desk.close_ticket(people.b, theirs.id)
    # the refusal reads exactly like a ticket that does not exist
    with pytest.raises(NotFound) as missing:
        desk.get_ticket(people.b, 999)
    with pytest.raises(NotFound) as other:
        desk.get_ticket(people.b, theirs.id)
    assert str(other.value).replace(str(theirs.id), "N") == str(missing.value).replace("999", "N")


def test_customers_never_reach_staff_operations(desk, people, refused):
    own = ticket(desk, people.a)
    with pytest.raises(PermissionDenied):
        desk.queue(people.a)
    with refused(PermissionDenied):
        desk.set_status(people.a, own.id, "resolved")
    with refused(PermissionDenied):
        desk.assign(people.a, own.id, people.staff.user_id)
    with refused(PermissionDenied):
        desk.set_priority(people.a, own.id, "urgent")
    with refused(PermissionDenied):
        desk.comment(people.a, own.id, "secret", internal=True)


# --- history, notes, statuses --------------------------------------------------------


def test_internal_notes_and_assignments_are_hidden_from_the_customer(desk, people):
    raised = ticket(desk, people.a)
    desk.assign(people.staff, raised.id, people.staff.user_id)
    desk.comment(people.staff, raised.id, "Customer sounds annoyed", internal=True)
    desk.comment(people.staff, raised.id, "We are on it")
    staff_view = desk.get_ticket(people.staff, raised.id)
    assert [event.kind for event in staff_view.events] == [
        "created",
        "assignment",
        "note",
        "comment",
    ]
    assert staff_view.assignee == "sam"
    customer_view = desk.get_ticket(people.a, raised.id)
    assert [event.kind for event in customer_view.events] == ["created", "comment"]
    assert [event.body for event in customer_view.events] == ["", "We are on it"]
    assert customer_view.events[1].author == "support"
    assert customer_view.assignee is None and customer_view.assignee_id is None
    assert "annoyed" not in str(desk.my_tickets(people.a).items)


def test_status_moves_along_with_who_and_when(desk, people):
    raised = ticket(desk, people.a)
    desk.set_status(people.staff, raised.id, "in progress")
    desk.set_status(people.staff, raised.id, "resolved", comment="Replaced the part")
    closed = desk.set_status(people.staff2, raised.id, "closed")
    assert closed.status == "closed"
    statuses = [(e.old_value, e.new_value, e.author) for e in closed.events if e.kind == "status"]
    assert statuses == [
        ("open", "in_progress", "sam"),
        ("in_progress", "resolved", "sam"),
        ("resolved", "closed", "tess"),
    ]
    assert all(event.created_at for event in closed.events)
    assert closed.status_changed_at >= raised.status_changed_at


@pytest.mark.parametrize(
    ("path", "refused_status", "message"),
    [
        ([], "open", "already open"),
        (["closed"], "resolved", "can only go to open"),
        (["closed"], "in_progress", "can only go to open"),
        (["resolved"], "resolved", "already resolved"),
        ([], "pending", "must be one of"),
    ],
)
def test_nonsense_transitions_are_refused(desk, people, refused, path, refused_status, message):
    raised = ticket(desk, people.a)
    for status in path:
        desk.set_status(people.staff, raised.id, status)
    with refused((Conflict, ValidationError), match=message):
        desk.set_status(people.staff, raised.id, refused_status)


def test_staff_reopen_a_closed_ticket(desk, people):
    raised = ticket(desk, people.a)
    desk.set_status(people.staff, raised.id, "closed")
    assert desk.set_status(people.staff, raised.id, "open").status == "open"


def test_a_customer_comment_reopens_a_resolved_ticket(desk, people):
    raised = ticket(desk, people.a)
    desk.set_status(people.staff, raised.id, "resolved")
    reopened = desk.comment(people.a, raised.id, "Still broken")
    assert reopened.status == "open"
    assert kinds(reopened)[-2:] == [("comment", None), ("status", "open")]
    # a staff reply does not reopen
    desk.set_status(people.staff, raised.id, "resolved")
    assert desk.comment(people.staff, raised.id, "Try again").status == "resolved"


def test_closed_tickets_take_no_public_comments(desk, people, refused):
    raised = ticket(desk, people.a)
    desk.close_ticket(people.a, raised.id, comment="Sorted, thanks")
    with refused(Conflict, match="raise a new ticket"):
        desk.comment(people.a, raised.id, "One more thing")
    with refused(Conflict, match="reopen it first"):
        desk.comment(people.staff, raised.id, "Reply")
    assert desk.comment(people.staff, raised.id, "note for later", internal=True).status == "closed"


def test_customer_closes_own_ticket(desk, people, refused):
    raised = ticket(desk, people.a)
    closed = desk.close_ticket(people.a, raised.id, comment="Found it myself")
    assert closed.status == "closed"
    assert kinds(closed)[-2:] == [("comment", None), ("status", "closed")]
    with refused(Conflict, match="already closed"):
        desk.close_ticket(people.a, raised.id)


def test_assign_to_self_another_staff_member_or_nobody(services, desk, people, refused):
    raised = ticket(desk, people.a)
    assert desk.assign(people.staff, raised.id, people.staff.user_id).assignee == "sam"
    moved = desk.assign(people.staff, raised.id, "tess")
    assert (moved.assignee, moved.assignee_id) == ("tess", people.staff2.user_id)
    assignments = [(e.old_value, e.new_value) for e in moved.events if e.kind == "assignment"]
    assert assignments == [(None, "sam"), ("sam", "tess")]
    assert desk.assign(people.staff, raised.id, None).assignee is None
    with refused(ValidationError, match="active staff"):
        desk.assign(people.staff, raised.id, people.a.user_id)
    with refused(NotFound):
        desk.assign(people.staff, raised.id, "nobody")
    # a deactivated colleague cannot take new tickets
    services.accounts.deactivate_user(people.admin, "tess")
    with refused(ValidationError, match="active staff"):
        desk.assign(people.staff, raised.id, "tess")


def test_priority_changes_are_in_the_history(desk, people):
    raised = ticket(desk, people.a)
    changed = desk.set_priority(people.staff, raised.id, "urgent")
    assert changed.priority == "urgent"
    assert kinds(changed)[-1] == ("priority", "urgent")


# --- the staff queue ------------------------------------------------------------------


def test_queue_filters_and_sorts_oldest_first(services, desk, people):
    first = ticket(desk, people.a, subject="first", priority="low")
    second = ticket(desk, people.b, subject="second", priority="urgent")
    third = ticket(desk, people.a, subject="third", priority="urgent")
    backdate(services, "tickets", third.id, "created_at", "2020-01-01 00:00:00")
    desk.assign(people.staff, second.id, "sam")
    desk.set_status(people.staff, first.id, "in_progress")

    def ids(**filters):
        return [item.id for item in desk.queue(people.staff, **filters).items]

    assert ids() == [third.id, first.id, second.id]
    assert ids(status="open") == [third.id, second.id]
    assert ids(status=["open", "in_progress"]) == [third.id, first.id, second.id]
    assert ids(priority="urgent") == [third.id, second.id]
    assert ids(assignee="sam") == [second.id]
    assert ids(assignee=people.staff.user_id) == [second.id]
    assert ids(assignee="unassigned") == [third.id, first.id]
    assert ids(customer_id=people.a.customer_id) == [third.id, first.id]
    assert ids(status="open", priority="urgent", customer_id=people.b.customer_id) == [second.id]
    page = desk.queue(people.staff, limit=1, offset=1)
    assert ([item.id for item in page.items], page.total) == ([first.id], 3)
    with pytest.raises(ValidationError, match="status"):
        desk.queue(people.staff, status="lost")


# --- quotes ---------------------------------------------------------------------------


@pytest.fixture
def goods(shop):
    return shop.product(stock=5, price="10.00"), shop.product(stock=1, price="3.00")


def test_request_with_products_text_or_both(desk, people, goods, refused):
    widget, gadget = goods
    both = desk.request_quote(people.a, [(widget.id, 3), (gadget.id, 1)], "Gift wrapped, please")
    assert (both.status, both.request_text, both.customer_id) == (
        "requested",
        "Gift wrapped, please",
        people.a.customer_id,
    )
    assert [(line.product_id, line.quantity, line.unit_price_cents) for line in both.lines] == [
        (widget.id, 3, None),
        (gadget.id, 1, None),
    ]
    assert both.total_cents is None
    assert desk.request_quote(people.a, text="50 blue widgets").lines == ()
    # a price sent by the customer is ignored
    cheeky = desk.request_quote(
        people.a, [{"product_id": widget.id, "quantity": 1, "unit_price_cents": 1}]
    )
    assert cheeky.lines[0].unit_price_cents is None
    with refused(ValidationError, match="request"):
        desk.request_quote(people.a)
    with refused(NotFound):
        desk.request_quote(people.a, [(999, 1)])
    with refused(ValidationError, match="quantity"):
        desk.request_quote(people.a, [(widget.id, 0)])


def test_inactive_products_cannot_be_requested(services, desk, people, goods, refused):
    widget, _ = goods
    services.products.deactivate(SYSTEM, widget.id)
    with refused(InactiveRecord):
        desk.request_quote(people.a, [(widget.id, 1)])
    assert widget.id not in [item["id"] for item in desk.catalogue(people.a).items]


def test_catalogue_shows_customers_prices_but_not_stock_counts(desk, people, goods):
    page = desk.catalogue(people.a, search=goods[0].name)
    assert [item["id"] for item in page.items] == [goods[0].id]
    assert set(page.items[0]) == {"id", "sku", "name", "category", "price_cents", "in_stock"}
    assert page.items[0]["in_stock"] is True


def test_staff_price_every_line_with_a_validity_date(desk, people, goods, refused):
    widget, gadget = goods
    quote = desk.request_quote(people.a, [(widget.id, 3)], "and a gadget")
    with refused(PermissionDenied):
        desk.price_quote(people.a, quote.id, {widget.id: "1.00"}, FAR)
    with refused(ValidationError, match="needs a price"):
        desk.price_quote(people.staff, quote.id, {}, FAR)
    with refused(ValidationError, match="not in this quote"):
        desk.price_quote(people.staff, quote.id, {widget.id: "9", gadget.id: "2"}, FAR)
    with refused(ValidationError, match="two decimals"):
        desk.price_quote(people.staff, quote.id, {widget.id: "9.999"}, FAR)
    with refused(ValidationError, match="today or later"):
        desk.price_quote(people.staff, quote.id, {widget.id: "9.00"}, "2001-01-01")
    priced = desk.price_quote(
        people.staff,
        quote.id,
        {widget.id: "9.00"},
        FAR,
        "Bulk discount",
        extra_lines=[(gadget.id, 1, "2.50")],
    )
    assert (priced.status, priced.valid_until, priced.message) == (
        "priced",
        f"{FAR} 23:59:59",
        "Bulk discount",
    )
    assert [(line.quantity, line.unit_price_cents) for line in priced.lines] == [(3, 900), (1, 250)]
    assert priced.total_cents == 2950
    assert desk.get_quote(people.a, quote.id).priced_by == "support"
    assert desk.get_quote(people.staff, quote.id).priced_by == "sam"


def test_accepting_makes_a_purchase_at_the_quoted_prices(services, desk, people, goods):
    widget, _ = goods
    quote = desk.request_quote(people.a, [(widget.id, 2)])
    desk.price_quote(people.staff, quote.id, {widget.id: "7.25"}, FAR)
    accepted = desk.accept_quote(people.a, quote.id)
    assert accepted.status == "accepted" and accepted.decided_at
    purchase = services.purchases.get(people.a, accepted.purchase_id)
    assert (purchase.source, purchase.customer_id) == ("quote", people.a.customer_id)
    assert [(line.quantity, line.unit_price_cents) for line in purchase.lines] == [(2, 725)]
    assert services.products.get(SYSTEM, widget.id).stock == 3
    moves = services.products.movements(SYSTEM, widget.id).items
    assert (moves[0].kind, moves[0].quantity, moves[0].purchase_id) == ("sale", -2, purchase.id)
    with pytest.raises(Conflict, match="already accepted"):
        desk.accept_quote(people.a, quote.id)
    with pytest.raises(Conflict, match="already accepted"):
        desk.reject_quote(people.a, quote.id)


def test_out_of_stock_refuses_the_acceptance_and_changes_nothing(desk, people, goods, refused):
    widget, gadget = goods
    quote = desk.request_quote(people.a, [(widget.id, 2), (gadget.id, 2)])
    desk.price_quote(people.staff, quote.id, {widget.id: "1.00", gadget.id: "1.00"}, FAR)
    with refused(OutOfStock, match="only 1 of"):
        desk.accept_quote(people.a, quote.id)
    assert desk.get_quote(people.a, quote.id).status == "priced"


def priced_quote(desk, people, product, quantity=1, price="5.00"):
    quote = desk.request_quote(people.a, [(product.id, quantity)])
    return desk.price_quote(people.staff, quote.id, {product.id: price}, FAR)


def test_an_acceptance_whose_purchase_fails_leaves_the_quote_priced_and_no_purchase(
    services, desk, people, goods, refused
):
    widget, _ = goods
    quote = priced_quote(desk, people, widget, quantity=2)
    services.customers.deactivate(people.staff, people.a.customer_id)  # record() refuses now
    with refused(InactiveRecord, match=f"customer #{people.a.customer_id}"):
        desk.accept_quote(people.a, quote.id)
    assert desk.get_quote(people.a, quote.id).status == "priced"
    assert services.purchases.list(people.staff, customer_id=people.a.customer_id).total == 0


def test_an_acceptance_failing_after_its_purchase_takes_the_purchase_back(
    services, desk, people, goods, refused
):
    """One transaction: the purchase record() wrote goes when the quote's own update fails."""
    widget, _ = goods
    quote = priced_quote(desk, people, widget, quantity=2)
    with services.store.write() as conn:
        conn.execute(FROZEN_QUOTES[services.store.dialect])
    with refused(ValidationError, match="quotes are frozen"):
        desk.accept_quote(people.a, quote.id)
    assert desk.get_quote(people.a, quote.id).status == "priced"
    assert services.store.query_one("SELECT count(*) FROM purchases")[0] == 0
    assert services.products.get(SYSTEM, widget.id).stock == 5


def test_a_customer_records_a_purchase_only_by_accepting_their_own_open_quote(
    services, desk, people, goods, refused
):
    widget, gadget = goods
    record = services.purchases.record
    mine = priced_quote(desk, people, widget)
    unpriced = desk.request_quote(people.a, [(gadget.id, 1)])
    theirs = desk.request_quote(people.b, [(widget.id, 1)])
    desk.price_quote(people.staff, theirs.id, {widget.id: "0.01"}, FAR)
    a, b = people.a.customer_id, people.b.customer_id
    with refused(PermissionDenied):  # no quote: a sale is staff's to record
        record(people.a, a, [(widget.id, 1)], source="quote")
    with refused(NotFound, match=f"customer #{b} not found"):
        record(people.a, b, quote_id=theirs.id)
    with refused(NotFound, match=f"quote #{theirs.id} not found"):
        record(people.a, a, quote_id=theirs.id)  # not this customer's quote
    with refused(ValidationError, match="lines: comes from the quote"):
        record(people.a, a, [{"product_id": widget.id, "quantity": 9}], quote_id=mine.id)
    with refused(ValidationError, match="discount: comes from the quote"):
        record(people.a, a, quote_id=mine.id, discount="100%")
    with refused(Conflict, match="not been priced"):
        record(people.a, a, quote_id=unpriced.id)
    assert desk.accept_quote(people.a, mine.id).status == "accepted"
    with refused(Conflict, match="already accepted"):  # the quote buys once
        record(people.a, a, quote_id=mine.id)
    with refused(Conflict, match="already accepted"):
        record(people.staff, a, quote_id=mine.id)


def test_an_inactive_customer_may_raise_tickets_but_not_ask_for_quotes(
    services, desk, people, goods, refused
):
    services.customers.deactivate(people.staff, people.a.customer_id)
    assert ticket(desk, people.a).status == "open"
    with refused(InactiveRecord):
        desk.request_quote(people.a, [(goods[0].id, 1)])
    with refused(InactiveRecord):
        desk.request_quote(people.staff, text="a sofa", customer_id=people.a.customer_id)


def test_unpriced_quotes_cannot_be_accepted(desk, people, goods, refused):
    quote = desk.request_quote(people.a, [(goods[0].id, 1)])
    with refused(Conflict, match="not been priced"):
        desk.accept_quote(people.a, quote.id)


@pytest.mark.any_day
def test_a_quote_past_its_date_is_expired_everywhere(desk, people, goods, refused, clock):
    widget, _ = goods
    quote = desk.request_quote(people.a, [(widget.id, 1)])
    today = clock.utc_day()
    with refused(ValidationError, match="today or later"):
        desk.price_quote(people.staff, quote.id, {widget.id: "5.00"}, today - timedelta(days=1))
    priced = desk.price_quote(people.staff, quote.id, {widget.id: "5.00"}, today.isoformat())
    clock.set(f"{today} 23:59:59")
    assert desk.get_quote(people.a, quote.id).status == priced.status == "priced"  # all day
    clock.advance(seconds=1)  # the next day
    assert desk.get_quote(people.a, quote.id).status == "expired"
    assert [q.id for q in desk.quotes(people.staff, status="expired").items] == [quote.id]
    assert desk.quotes(people.staff, status="priced").total == 0
    assert [q.status for q in desk.my_quotes(people.a).items] == ["expired"]
    with refused(Conflict, match=f"expired on {today}"):
        desk.accept_quote(people.a, quote.id)
    with refused(Conflict, match="expired"):
        desk.reject_quote(people.a, quote.id)
    # staff may answer again with a new date
    assert desk.price_quote(people.staff, quote.id, {widget.id: "5.50"}, FAR).status == "priced"
    assert desk.accept_quote(people.a, quote.id).status == "accepted"


def test_rejecting_ends_the_quote(desk, people, goods, refused):
    quote = desk.request_quote(people.a, [(goods[0].id, 1)])
    desk.price_quote(people.staff, quote.id, {goods[0].id: "5.00"}, FAR)
    assert desk.reject_quote(people.a, quote.id).status == "rejected"
    with refused(Conflict, match="was rejected"):
        desk.accept_quote(people.a, quote.id)
    with refused(Conflict, match="was rejected"):
        desk.price_quote(people.staff, quote.id, {goods[0].id: "4.00"}, FAR)


def test_quotes_belong_to_their_customer(desk, people, goods, refused):
    widget, _ = goods
    quote = desk.request_quote(people.a, [(widget.id, 1)])
    desk.price_quote(people.staff, quote.id, {widget.id: "5.00"}, FAR)
    with pytest.raises(NotFound):
        desk.get_quote(people.b, quote.id)
    with refused(NotFound):
        desk.accept_quote(people.b, quote.id)
    with refused(NotFound):
        desk.reject_quote(people.b, quote.id)
    with refused(NotFound, match=f"customer #{people.a.customer_id} not found"):
        desk.request_quote(people.b, [(widget.id, 1)], customer_id=people.a.customer_id)
    assert desk.my_quotes(people.b).total == 0
    with pytest.raises(PermissionDenied):
        desk.quotes(people.a)


def test_staff_list_quotes_by_status_and_customer(desk, people, goods):
    widget, _ = goods
    first = desk.request_quote(people.a, [(widget.id, 1)])
    second = desk.request_quote(people.staff, text="catalogue", customer_id=people.b.customer_id)
    desk.price_quote(people.staff, first.id, {widget.id: "5.00"}, FAR)
    assert [q.id for q in desk.quotes(people.staff).items] == [second.id, first.id]
    assert [q.id for q in desk.quotes(people.staff, status="priced").items] == [first.id]
    assert [q.id for q in desk.quotes(people.staff, status="requested").items] == [second.id]
    by_customer = desk.quotes(people.staff, customer_id=people.b.customer_id)
    assert [q.id for q in by_customer.items] == [second.id]
    as_dict = desk.get_quote(people.staff, first.id).to_dict()
    assert as_dict["total_cents"] == 500 and as_dict["lines"][0]["total_cents"] == 500
