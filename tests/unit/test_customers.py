"""Customers: add, get, update, deactivate, reactivate, search, paging, audit, roles."""

from __future__ import annotations

import pytest

from crpm.errors import Conflict, NotFound, PermissionDenied, ValidationError
from crpm.permissions import Actor
from crpm.services.search import COUNT_CAP, word_search
from tests.support import POSTGRESQL_ONLY, SQLITE_ONLY

CUSTOMER_ROLE = Actor(username="ann@example.com", role="customer", customer_id=1)
STAFF = Actor(username="clerk", role="staff")


@pytest.fixture
def services(services_on_each_engine):
    return services_on_each_engine


@pytest.fixture
def people(shop):
    """Three customers with overlapping names, e-mails, phones and companies."""
    return [
        shop.customer(
            "Ann Smith", email="ann.smith@example.com", phone="+1 (555) 123-4567", company="Acme"
        ),
        shop.customer("Bob Annan", email="bob@corp.org", phone="020 7946 0958", company="Zeta"),
        shop.customer(
            "Cara Jones", email="cara@jones.io", phone="555 999 0000", company="Acme Ltd"
        ),
    ]


def pick(values: dict, *keys: str) -> dict:
    return {key: values[key] for key in keys}


def names(page) -> list[str]:
    return [customer.name for customer in page.items]


# --- add, get, update -----------------------------------------------------------


def test_add_stores_every_field_and_the_times(services, actor):
    added = services.customers.add(
        actor,
        " Ann Smith ",
        "Ann@Example.com",
        phone="555 1234",
        company="Acme",
        address="1 Main St",
        city="Springfield",
        country="US",
        notes="prefers e-mail",
    )
    fetched = services.customers.get(actor, added.id)
    assert fetched == added
    assert (fetched.name, fetched.email, fetched.city) == (
        "Ann Smith",
        "Ann@example.com",
        "Springfield",
    )
    assert fetched.status == "active"
    assert fetched.created_at == fetched.updated_at and len(fetched.created_at) == 19


@pytest.mark.parametrize("email", ["ANN@EXAMPLE.COM", "ann@example.com", " Ann@Example.Com "])
def test_a_duplicate_email_in_any_case_is_a_conflict(services, actor, shop, refused, email):
    shop.customer(email="Ann@Example.com")
    with refused(Conflict) as info:
        services.customers.add(actor, "Someone Else", email)
    assert info.value.field == "email"


def test_updating_to_another_customers_email_is_a_conflict(services, actor, people, refused):
    with refused(Conflict, match="email"):
        services.customers.update(actor, people[1].id, email="ANN.SMITH@example.com")


def test_update_changes_only_the_given_fields(services, actor, people):
    before = people[0]
    after = services.customers.update(actor, before.id, city="Paris", phone="")
    assert (after.city, after.phone) == ("Paris", "")
    assert (after.name, after.email, after.company) == (before.name, before.email, before.company)
    assert services.customers.get(actor, before.id) == after


def test_an_update_that_changes_nothing_writes_nothing(services, actor, people, shop):
    audit_before = shop.audit("customer", people[0].id)
    same = services.customers.update(actor, people[0].id, name="Ann Smith")
    assert same == people[0]
    assert shop.audit("customer", people[0].id) == audit_before


@pytest.mark.parametrize("unknown_id", [999, 0, -1, "abc"])
def test_an_unknown_id_is_refused(services, actor, people, refused, unknown_id):
    error = NotFound if unknown_id == 999 else (NotFound, ValidationError)
    with refused(error):
        services.customers.update(actor, unknown_id, city="Rome")
    with refused(error):
        services.customers.deactivate(actor, unknown_id)
    with pytest.raises(error):
        services.customers.get(actor, unknown_id)


# --- status ------------------------------------------------------------------------


def test_deactivate_and_reactivate(services, actor, people):
    inactive = services.customers.deactivate(actor, people[0].id)
    assert inactive.status == "inactive"
    assert names(services.customers.list(actor)) == ["Bob Annan", "Cara Jones"]
    assert names(services.customers.list(actor, status="inactive")) == ["Ann Smith"]
    assert len(services.customers.list(actor, status="all").items) == 3
    assert services.customers.reactivate(actor, people[0].id).status == "active"
    assert len(services.customers.list(actor).items) == 3


def test_an_unknown_status_filter_is_refused(services, actor, people):
    with pytest.raises(ValidationError, match="status"):
        services.customers.list(actor, status="deleted")


def test_an_inactive_customer_keeps_their_purchases(services, actor, shop, people):
    product = shop.product(stock=5)
    shop.sale(people[0], (product, 2))
    services.customers.deactivate(actor, people[0].id)
    history = services.purchases.history(actor, people[0].id)
    assert [row["quantity"] for row in history.items] == [2]


# --- search and paging ------------------------------------------------------------


@pytest.mark.parametrize(
    "term, expected",
    [
        ("Ann", ["Ann Smith", "Bob Annan"]),
        ("ann smi", ["Ann Smith"]),
        ("SMITH", ["Ann Smith"]),
        ("jones", ["Cara Jones"]),
        ("bob@corp.org", ["Bob Annan"]),
        ("corp.org", ["Bob Annan"]),
        ("cara@jo", ["Cara Jones"]),
        ("555", ["Ann Smith", "Cara Jones"]),
        ("123-4567", ["Ann Smith"]),
        ("7946 0958", ["Bob Annan"]),
        ("5551234567", ["Ann Smith"]),  # the digits as typed, without the country code
        ("15551234567", ["Ann Smith"]),
        ("+1 555 123 4567", ["Ann Smith"]),
        ("02079460958", ["Bob Annan"]),
        ("79460958", ["Bob Annan"]),
        ("5559990000", ["Cara Jones"]),
        ("acme", ["Ann Smith", "Cara Jones"]),
        ("acme ltd", ["Cara Jones"]),
        ("zeta", ["Bob Annan"]),
        ("nobody", []),
    ],
)
def test_search_by_name_email_phone_or_company(services, actor, people, term, expected):
    page = services.customers.list(actor, search=term)
    assert names(page) == expected
    assert page.total == len(expected)


def test_a_changed_phone_is_found_by_its_new_digits_only(services, actor, people):
    ann = next(customer for customer in people if customer.name == "Ann Smith")
    services.customers.update(actor, ann.id, phone="+44 1632 960001")
    assert names(services.customers.list(actor, search="1632960001")) == ["Ann Smith"]
    assert names(services.customers.list(actor, search="5551234567")) == []


@pytest.mark.parametrize("term", ['"', "*", "AND", "NEAR(", "a OR", "-(", "'; DROP TABLE x"])
def test_search_text_is_never_fts_syntax(services, actor, people, term):
    services.customers.list(actor, search=term)  # must not raise a driver error


def test_search_sees_updates_and_respects_status(services, actor, people):
    services.customers.update(actor, people[1].id, company="Acme Corp", name="Robert Annan")
    assert names(services.customers.list(actor, search="acme")) == [
        "Ann Smith",
        "Robert Annan",
        "Cara Jones",
    ]
    assert names(services.customers.list(actor, search="bob")) == ["Robert Annan"]  # e-mail
    services.customers.deactivate(actor, people[0].id)
    assert names(services.customers.list(actor, search="acme")) == ["Robert Annan", "Cara Jones"]
    assert names(services.customers.list(actor, search="acme", status="inactive")) == ["Ann Smith"]


@pytest.fixture
def crowd(services, actor):
    """25 customers, every third one in Berlin, numbered in id order."""
    for number in range(25):
        city = "Berlin" if number % 3 == 0 else "Rome"
        services.customers.add(
            actor, f"Person {number:02d}", f"p{number}@example.com", company=f"Firm{city}"
        )


def test_paging_walks_the_list_in_id_order(services, actor, crowd):
    pages = [services.customers.list(actor, limit=10, offset=offset) for offset in (0, 10, 20)]
    assert [page.total for page in pages] == [25, 25, 25]
    assert [len(page.items) for page in pages] == [10, 10, 5]
    ids = [customer.id for page in pages for customer in page.items]
    assert ids == sorted(ids) and len(set(ids)) == 25
    assert services.customers.list(actor, limit=10, offset=30).items == []


def test_paging_a_search_counts_only_the_matches(services, actor, crowd):
    page = services.customers.list(actor, search="firmberlin", limit=4, offset=4)
    assert page.total == 9
    assert names(page) == ["Person 12", "Person 15", "Person 18", "Person 21"]


def test_page_limits_are_clamped(services, actor, crowd):
    page = services.customers.list(actor, limit=10_000, offset=-5)
    assert (page.limit, page.offset, len(page.items)) == (500, 0, 25)


# --- audit ----------------------------------------------------------------------------


def test_every_change_is_audited_with_before_and_after(services, actor, shop):
    customer = shop.customer("Ann Smith", city="Oslo")
    services.customers.update(STAFF, customer.id, city="Bergen", notes="moved")
    services.customers.deactivate(STAFF, customer.id)
    services.customers.reactivate(actor, customer.id)
    rows = shop.audit("customer", customer.id)
    assert [row["action"] for row in rows] == ["create", "update", "deactivate", "reactivate"]
    assert [row["actor"] for row in rows] == [actor.username, "clerk", "clerk", actor.username]
    create, update, deactivate, _ = rows
    assert create["before"] is None and create["after"]["city"] == "Oslo"
    assert pick(update["before"], "city", "notes") == {"city": "Oslo", "notes": ""}
    assert pick(update["after"], "city", "notes") == {"city": "Bergen", "notes": "moved"}
    assert set(update["after"]) <= {"city", "notes", "updated_at"}  # only what changed
    assert (deactivate["before"]["status"], deactivate["after"]["status"]) == ("active", "inactive")


# --- roles ------------------------------------------------------------------------------


MANAGE_CALLS = {
    "add": lambda s, who, cid: s.customers.add(who, "Eve", "eve@example.com"),
    "deactivate": lambda s, who, cid: s.customers.deactivate(who, cid),
    "reactivate": lambda s, who, cid: s.customers.reactivate(who, cid),
    "list": lambda s, who, cid: s.customers.list(who),
    "get another": lambda s, who, cid: s.customers.get(who, cid),
}


@pytest.mark.parametrize("call", MANAGE_CALLS.values(), ids=MANAGE_CALLS.keys())
def test_a_customer_role_may_not_manage_customers(services, people, refused, call):
    other = people[1].id
    with refused(PermissionDenied):
        call(services, CUSTOMER_ROLE, other)


def test_a_customer_may_change_only_their_own_contact_fields(services, people, refused):
    me = Actor(username="ann.smith@example.com", role="customer", customer_id=people[0].id)
    other = people[1].id
    with refused(NotFound, match=f"customer #{other} not found"):
        services.customers.update(me, other, name="Eve")  # someone else's: as if it were missing
    with refused(ValidationError, match="email: is your login name"):
        services.customers.update(me, people[0].id, email="eve@example.com")
    with refused(ValidationError, match="notes"):
        services.customers.update(me, people[0].id, notes="pays on time")
    assert services.customers.update(me, people[0].id, city="Lima").city == "Lima"


def test_no_actor_is_refused(services, people, refused):
    with refused(PermissionDenied):
        services.customers.add(None, "Eve", "eve@example.com")


def test_staff_may_manage_customers(services, people):
    assert services.customers.update(STAFF, people[0].id, city="Lima").city == "Lima"


@pytest.mark.parametrize("paging", [{"limit": "ten"}, {"offset": "deep"}, {"limit": 2.5}])
def test_paging_that_is_not_a_number_is_refused(services, actor, people, paging):
    with pytest.raises(ValidationError):
        services.customers.list(actor, **paging)


def statements_run_by(store, call) -> list[str]:
    seen: list[str] = []
    store.conn.set_trace_callback(seen.append)
    try:
        call()
    finally:
        store.conn.set_trace_callback(None)
    return [sql for sql in seen if sql.lstrip().upper().startswith("SELECT")]


@SQLITE_ONLY
@pytest.mark.parametrize("status", ["active", "all"])
def test_a_search_is_driven_by_the_fts_index(services, actor, people, status):
    """Every statement of a search starts from the FTS index; a plan that walks the customers
    and runs the MATCH per row took 27 s for one page on 100k customers."""
    store = services.store
    statements = statements_run_by(
        store, lambda: services.customers.list(actor, search="acme", status=status)
    )
    assert statements
    for sql in statements:
        plan = [row[3] for row in store.query(f"EXPLAIN QUERY PLAN {sql}")]
        scans = [step for step in plan if step.startswith(("SCAN", "SEARCH"))]
        assert scans[0].startswith("SCAN f VIRTUAL TABLE"), (sql, plan)


@POSTGRESQL_ONLY
@pytest.mark.parametrize(("table", "text"), [("customers", "acme 555"), ("products", "lamp")])
def test_a_search_on_postgresql_can_read_the_trigram_index(services, actor, people, table, text):
    """The search's condition is the one its GIN index serves (were the expression and the
    index apart, every search would read the whole table)."""
    found = word_search("postgresql", table, text)
    with services.store.read() as conn:
        conn.execute("SET LOCAL enable_seqscan = off")  # a tiny table is otherwise read whole
        sql = f"EXPLAIN SELECT r.id FROM {found.source} WHERE {found.condition}"
        plan = "\n".join(row[0] for row in conn.execute(sql, found.params))
    assert f"Bitmap Index Scan on {table}_search" in plan, plan


def walk_by_key(services, actor, **filters) -> list[int]:
    """Every id of a list, fetched page by page with after_id."""
    ids, after = [], None
    while True:
        page = services.customers.list(actor, limit=4, after_id=after, **filters)
        ids += [customer.id for customer in page.items]
        after = page.extra["next_after_id"]
        if after is None:
            return ids


KEYSET_CASES = [
    *[
        (engine, filters)
        for engine in ("sqlite", "postgresql")
        for filters in ({}, {"status": "all"})
    ],
    ("sqlite", {"search": "firmberlin"}),  # search: SQLite's FTS5 only, for now
]


@pytest.mark.parametrize(("store_location", "filters"), KEYSET_CASES, indirect=["store_location"])
def test_keyset_paging_gives_the_same_rows_as_offsets(services, actor, crowd, filters):
    by_offset = [c.id for c in services.customers.list(actor, limit=500, **filters).items]
    assert walk_by_key(services, actor, **filters) == by_offset
    page = services.customers.list(actor, limit=4, after_id=by_offset[3], **filters)
    assert page.total == len(by_offset)  # the total still counts every match


def test_a_bad_key_is_refused(services, actor, crowd):
    with pytest.raises(ValidationError, match="after_id"):
        services.customers.list(actor, after_id="x")


@pytest.mark.parametrize("status", ["active", "inactive", "all", None])
def test_list_totals_match_the_rows_listed(services, actor, crowd, status):
    for customer_id in (2, 5, 9):
        services.customers.deactivate(actor, customer_id)
    with services.store.write() as conn:  # erasure belongs to the accounts service
        conn.execute("UPDATE customers SET status = 'erased' WHERE id IN (3, 4)")
    page = services.customers.list(actor, status=status, limit=500)
    assert page.total == len(page.items)
    assert {c.status for c in page.items} == (
        {status} if status in ("active", "inactive") else {"active", "inactive"}
    )
    assert page.total == {"active": 20, "inactive": 3}.get(status, 23)


def test_a_search_with_very_many_hits_says_so_instead_of_counting_them_all(services, actor):
    many = COUNT_CAP + 5
    with services.store.write() as conn:  # bulk rows; the FTS triggers index them as usual
        conn.executemany(
            "INSERT INTO customers (name, email, created_at, updated_at) VALUES (?, ?, 'x', 'x')",
            [(f"Zed {n}", f"zed{n}@example.com") for n in range(many)],
        )
    page = services.customers.list(actor, search="zed", limit=10)
    assert (page.total, page.total_is_capped, len(page.items)) == (COUNT_CAP, True, 10)
    exact = services.customers.list(actor, search=f"zed {many - 1}")
    assert (exact.total, exact.total_is_capped) == (1, False)
    assert services.customers.list(actor, limit=10).total == many  # plain lists count exactly
