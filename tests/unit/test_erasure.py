"""Erasure of a person: the login, sessions, tickets, quotes and identifying fields go;
sales stay with an anonymised customer, so every revenue figure is unchanged to the cent."""

from __future__ import annotations

from dataclasses import asdict

import pytest

from crpm.analytics import Analytics
from crpm.errors import Conflict, PermissionDenied, ValidationError
from crpm.permissions import SYSTEM
from crpm.services.erasure import TOUCHED_TABLES
from tests.support import POSTGRESQL_ONLY, SQLITE_ONLY, TABLES_SQL

FAR = "2099-12-31"
ALICE = ("Alice Able", "alice@example.com", "+1 555 0100", "Able Widgets Ltd", "12 Quince Lane")

FIGURES_SQL = """
SELECT
  (SELECT coalesce(sum(l.quantity * l.unit_price_cents), 0) FROM purchase_lines l
     JOIN purchases p ON p.id = l.purchase_id WHERE p.cancelled_at IS NULL) AS gross,
  (SELECT coalesce(sum(r.quantity * l.unit_price_cents), 0) FROM purchase_returns r
     JOIN purchase_lines l ON l.id = r.line_id JOIN purchases p ON p.id = l.purchase_id
     WHERE p.cancelled_at IS NULL) AS returns,
  (SELECT count(*) FROM purchases WHERE cancelled_at IS NULL) AS orders,
  (SELECT coalesce(sum(l.quantity), 0) FROM purchase_lines l
     JOIN purchases p ON p.id = l.purchase_id WHERE p.cancelled_at IS NULL) AS units
"""
PER_CUSTOMER_SQL = """
SELECT p.customer_id, count(DISTINCT p.id) AS purchases,
       sum(l.quantity * l.unit_price_cents) AS gross
FROM purchases p JOIN purchase_lines l ON l.purchase_id = p.id
GROUP BY p.customer_id ORDER BY p.customer_id
"""


def figures(store) -> dict:
    row = dict(store.query_one(FIGURES_SQL))
    row["revenue"] = row["gross"] - row["returns"]
    row["per_customer"] = [tuple(r) for r in store.query(PER_CUSTOMER_SQL)]
    return row


@pytest.fixture
def services(services_on_each_engine):
    return services_on_each_engine


def all_text(store) -> str:
    """Every text (and blob, as text) value of every table, search-index shadow tables too."""
    tables = [row[0] for row in store.query(TABLES_SQL[store.dialect])]
    values = []
    for table in tables:
        for row in store.query(f'SELECT * FROM "{table}"'):
            for value in tuple(row):
                if isinstance(value, bytes):
                    value = value.decode("latin-1")
                if isinstance(value, str):
                    values.append(value)
    return "\n".join(values).lower()


@pytest.fixture
def history(services, people, shop):
    """Alice (customer A) with purchases, a return, a cancellation, an accepted quote, open
    quotes, tickets with notes, a session and staff edits of her record; Bob alongside."""
    desk, staff = services.desk, people.staff
    widget, gadget = shop.product(stock=50, price="12.34"), shop.product(stock=50, price="0.99")
    alice, bob = people.a.customer_id, people.b.customer_id
    services.customers.update(staff, alice, company=ALICE[3], address=ALICE[4], notes="VIP")
    first = services.purchases.record(staff, alice, [(widget.id, 3), (gadget.id, 7)])
    services.purchases.return_items(staff, first.lines[0].id, 1, "ALICE ABLE says scratched")
    cancelled = services.purchases.record(staff, alice, [(widget.id, 1)])
    services.purchases.cancel(staff, cancelled.id, "alice@example.com changed her mind")
    services.purchases.record(staff, bob, [(widget.id, 2)])
    quote = desk.request_quote(people.a, [(gadget.id, 4)], "Deliver to 12 Quince Lane")
    desk.price_quote(staff, quote.id, {gadget.id: "0.75"}, FAR, "For Alice Able")
    accepted = desk.accept_quote(people.a, quote.id)
    desk.request_quote(people.a, text="Call me on +1 555 0100")
    ticket = desk.raise_ticket(people.a, "Alice Able's order", "Ring +1 555 0100")
    desk.comment(staff, ticket.id, "Alice Able is a VIP", internal=True)
    desk.comment(staff, ticket.id, "Dear Alice, on it")
    services.products.adjust_stock(staff, gadget.id, -1, "dropped at 12 Quince Lane")
    bob_ticket = desk.raise_ticket(people.b, "Bob's question", "Hello, Alice Able sent me")
    desk.assign(staff, bob_ticket.id, "sam")
    services.accounts.authenticate("alice@example.com", "a wrong password")
    token = services.accounts.login("alice@example.com", people.PASSWORDS["alice@example.com"])
    return {"token": token, "accepted": accepted, "bob_ticket": bob_ticket, "widget": widget}


@SQLITE_ONLY  # the analytics mirror reads SQLite only
def test_erasure_keeps_every_revenue_figure_to_the_cent(services, people, history):
    analytics = Analytics(services.store)
    try:
        before_sql = figures(services.store)
        before_summary = asdict(analytics.summary(SYSTEM))
        before_top = analytics.top_customers(SYSTEM).to_dict("records")
        services.accounts.erase_person(people.admin, customer_id=people.a.customer_id)
        assert figures(services.store) == before_sql
        assert asdict(analytics.summary(SYSTEM)) == before_summary
        after_top = analytics.top_customers(SYSTEM).to_dict("records")
    finally:
        analytics.close()
    assert before_sql["revenue"] > 0 and before_sql["returns"] > 0

    def money(rows):
        return [
            {k: v for k, v in row.items() if k not in ("name", "customer_name", "email")}
            for row in rows
        ]

    assert money(after_top) == money(before_top)
    names = [row.get("customer_name", row.get("name")) for row in after_top]
    assert f"Erased customer #{people.a.customer_id}" in names


def test_the_customer_is_anonymised_and_keeps_the_sales(services, people, history):
    alice = people.a.customer_id
    purchases_before = services.purchases.list(SYSTEM, customer_id=alice).total
    result = services.accounts.erase_person(people.admin, customer_id=alice)
    assert result == {
        "customer_id": alice,
        "user_id": people.a.user_id,
        "tickets": 1,
        "quotes": 2,
    }
    customer = services.customers.get(SYSTEM, alice)
    assert (customer.name, customer.email, customer.status) == (
        f"Erased customer #{alice}",
        f"erased-{alice}@invalid",
        "erased",
    )
    blanks = (
        customer.phone,
        customer.company,
        customer.address,
        customer.city,
        customer.country,
        customer.notes,
    )
    assert blanks == ("",) * 6
    assert services.purchases.list(SYSTEM, customer_id=alice).total == purchases_before
    accepted = services.purchases.get(SYSTEM, history["accepted"].purchase_id)
    assert (
        accepted.customer_id == alice and accepted.recorded_by == f"erased-user-{people.a.user_id}"
    )
    assert services.customers.list(SYSTEM, search="Alice", status="all").total == 0
    assert alice not in [c.id for c in services.customers.list(SYSTEM, status="all").items]


def test_login_sessions_tickets_and_quotes_are_gone(services, people, history):
    services.accounts.erase_person(people.admin, user=people.a.user_id)
    store, alice = services.store, people.a.customer_id
    count = lambda sql, *args: store.query_one(sql, args)[0]  # noqa: E731
    assert count("SELECT count(*) FROM users WHERE id = ?", people.a.user_id) == 0
    assert count("SELECT count(*) FROM sessions") == 0
    assert count("SELECT count(*) FROM tickets WHERE customer_id = ?", alice) == 0
    assert count("SELECT count(*) FROM quotes WHERE customer_id = ?", alice) == 0
    assert count("SELECT count(*) FROM quote_lines") == 0
    assert (
        count("SELECT count(*) FROM ticket_events WHERE ticket_id <> ?", history["bob_ticket"].id)
        == 0
    )
    bob_ticket = services.desk.get_ticket(people.b, history["bob_ticket"].id)
    assert bob_ticket.subject == "Bob's question"


def test_an_erased_person_cannot_log_in_even_with_an_old_session(services, people, history):
    services.accounts.erase_person(people.admin, customer_id=people.a.customer_id)
    accounts = services.accounts
    assert (
        accounts.authenticate("alice@example.com", people.PASSWORDS["alice@example.com"]) is False
    )
    with pytest.raises(PermissionDenied):
        accounts.actor_for("alice@example.com")
    with pytest.raises(PermissionDenied):
        accounts.actor_for_session(history["token"])
    # an Actor object kept from before is refused where it would reach the record
    with pytest.raises(PermissionDenied):
        accounts.profile(people.a)
    with pytest.raises(PermissionDenied):
        accounts.update_profile(people.a, phone="555 12345")
    # the address is free again; the new account is a new person and the old session stays dead
    fresh = accounts.register_customer("Alice Again", "alice@example.com", "brand-New-pass-1")
    assert fresh.customer_id != people.a.customer_id
    with pytest.raises(PermissionDenied):
        accounts.actor_for_session(history["token"])


def test_no_identifying_value_is_left_anywhere(services, people, history):
    services.accounts.erase_person(people.admin, customer_id=people.a.customer_id)
    text = all_text(services.store)
    left = [value for value in ALICE if value.lower() in text]
    assert left == []
    # the search index merges its segments, so even its old tokens are gone
    assert [word for word in ("quince", "alice", "idgets", "0100") if word in text] == []
    erase_row = services.store.query_one(
        "SELECT * FROM audit_log WHERE action = 'erase' ORDER BY id DESC"
    )
    assert (erase_row["actor"], erase_row["entity"], erase_row["entity_id"]) == (
        "admin",
        "customer",
        people.a.customer_id,
    )
    # the history of who did what stays, without the person in it
    own_rows = services.store.query(
        "SELECT action FROM audit_log WHERE entity = 'customer' AND entity_id = ? ORDER BY id",
        (people.a.customer_id,),
    )
    assert [row[0] for row in own_rows] == ["create", "update", "erase"]
    assert "bob baker" in text and "bob@example.com" in text  # others untouched


@POSTGRESQL_ONLY
def test_on_postgresql_every_table_an_erasure_touched_is_vacuumed(services, people, history):
    """The rows' old versions (dead tuples, with the person's values in them) are freed."""
    services.accounts.erase_person(people.admin, customer_id=people.a.customer_id)
    vacuumed = services.store.query(
        "SELECT relname FROM pg_stat_user_tables"
        " WHERE schemaname = current_schema() AND vacuum_count > 0"
    )
    assert set(TOUCHED_TABLES) <= {row[0] for row in vacuumed}


def test_only_an_admin_erases_and_not_themself(services, people, history, refused):
    with refused(PermissionDenied):
        services.accounts.erase_person(people.staff, customer_id=people.a.customer_id)
    with refused(PermissionDenied):
        services.accounts.erase_person(people.b, customer_id=people.a.customer_id)
    with refused(Conflict, match="own account"):
        services.accounts.erase_person(people.admin, user="admin")
    with refused(ValidationError):
        services.accounts.erase_person(people.admin)
    with refused(Conflict, match="is not customer"):
        services.accounts.erase_person(
            people.admin, customer_id=people.b.customer_id, user=people.a.user_id
        )
    services.accounts.erase_person(people.admin, customer_id=people.a.customer_id)
    with refused(Conflict, match="already erased"):
        services.accounts.erase_person(people.admin, customer_id=people.a.customer_id)


def test_erasing_a_staff_member_keeps_their_work(services, people, history, shop):
    sale = services.purchases.record(
        people.staff, people.b.customer_id, [(history["widget"].id, 1)]
    )
    services.accounts.erase_person(people.admin, user="sam")
    assert services.accounts.authenticate("sam", people.PASSWORDS["sam"]) is False
    ticket = services.desk.get_ticket(people.staff2, history["bob_ticket"].id)
    assert ticket.assignee is None
    assignment = [event for event in ticket.events if event.kind == "assignment"][0]
    assert assignment.author == "removed account"
    recorded_by = services.purchases.get(SYSTEM, sale.id).recorded_by
    assert recorded_by == f"erased-user-{people.staff.user_id}"
    assert services.store.query_one("SELECT count(*) FROM audit_log WHERE actor = 'sam'")[0] == 0


def test_a_customer_without_a_login_can_be_erased(services, people, shop):
    walk_in = shop.customer("Wanda Walkin", email="wanda@example.com", phone="+44 20 7946 0000")
    shop.sale(walk_in, (shop.product(stock=3), 2))
    result = services.accounts.erase_person(people.admin, customer_id=walk_in.id)
    assert result["user_id"] is None
    assert "wanda" not in all_text(services.store)
