"""Authorization matrix through the running app (design: Roles).

Every event handler the app publishes in its own config (public, private and duplicate ones
alike) is called by every role: anonymous, customer A (alice), customer B (bob), staff and admin;
with gradio_client (for what it can reach: the public endpoints) and with a raw HTTP request to
the queue (`/gradio_api/queue/join` + `/queue/data`) carrying that user's session cookie.

`RULES` maps each handler to who may call it and with what arguments; records that belong to a
customer are always bob's, so alice must be refused every one of them. A handler without a
rule fails the test. A refused call must leave the store exactly as it was; an allowed write
that succeeds must change it. No answer to alice may contain bob's data (or the other way
round), no customer answer may contain a staff member's internal note, and no answer at all
may contain a password.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import timedelta
from types import SimpleNamespace

import httpx
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError, AuthenticationError

from crpm.clock import FixedClock
from crpm.config import Settings
from crpm.ui import build_app
from tests.support import (
    ENGINES,
    TODAY,
    Outcome,
    call_queue,
    env_hasher,
    handler_name,
    log_in,
    store_on,
    store_snapshot,
)
from tests.support import upload as upload_file

pytestmark = pytest.mark.api

ROLES = ("anonymous", "alice", "bob", "staff", "admin")
LOGGED_IN = frozenset(ROLES[1:])
STAFF = frozenset({"staff", "admin"})
ADMIN = frozenset({"admin"})
CUSTOMERS = frozenset({"alice", "bob"})
BOBS = frozenset({"bob", "staff", "admin"})  # bob's own records: bob and the staff
ALICES = frozenset({"alice", "staff", "admin"})

PASSWORDS = {
    "admin": "matrix-Admin-Secret-1",
    "sam": "matrix-Staff-Secret-2",
    "victim": "matrix-Victim-Secret-3",
    "alice@example.com": "matrix-Alice-Secret-4",
    "bob@example.com": "matrix-Bob-Secret-5",
}
LOGINS = {
    "alice": "alice@example.com",
    "bob": "bob@example.com",
    "staff": "sam",
    "admin": "admin",
}
INTERNAL_NOTE = "internal-note-only-staff-see-7731"
MARKERS = {
    "alice": ("Alice Able", "alice@example.com", "alice-ticket-subject-1188", "alice-quote-4410"),
    "bob": ("Bob Baker", "bob@example.com", "bob-ticket-subject-2299", "bob-quote-5521"),
}
SELECT = {"index": [0, 0], "value": 1, "row_value": [1], "selected": True}
PAGE = [1, 25]
FETCHES = [0, 0]  # a change's own list also reads the list's fetches asked for and drawn
CUSTOMER_LIST = ["", "all", *PAGE, *FETCHES]  # the list's search, status, page, size
PRODUCT_LIST = ["", "active", "All categories", False, *PAGE, *FETCHES]
PURCHASE_LIST = [None, None, None, None, "all", *PAGE, *FETCHES]
TIMELINE_ROW = ["2026-06-15 10:00:00", "Purchase #1", "3 units, 1 line", "$37.50", "completed"]
TIMELINE_SELECT = {"index": [0, 1], "value": "Purchase #1", "row_value": TIMELINE_ROW,
                   "selected": True}  # fmt: skip


@dataclass(frozen=True)
class Rule:
    allowed: frozenset
    args: Callable = lambda w: []  # noqa: E731  (world -> the inputs)
    write: bool = False
    event_data: dict | None = None


def rule(allowed, args=None, write=False, event_data=None) -> Rule:
    return Rule(allowed, args or (lambda w: []), write, event_data)


def without_page(list_reads: list) -> list:
    """A list's reads after an add, which sets the page itself (to the last)."""
    return [*list_reads[:-4], *list_reads[-3:]]


def prices(w) -> dict:
    headers = ["Product ID", "SKU", "Product", "Qty", "List price", "Unit price"]
    return {"headers": headers, "data": [[w.mug.id, w.mug.sku, w.mug.name, 1, "", "11.00"]]}


def until(days: int = 10) -> str:
    return (FixedClock(TODAY).utc_day() + timedelta(days=days)).isoformat()


def new_customers_csv() -> bytes:
    return f"name,email\nIan Import,ian{uuid.uuid4().hex[:8]}@example.com\n".encode()


# handler name -> rule. Arguments point at bob's records wherever a record is owned.
RULES = {
    # dashboard shell
    "show_role_tabs": rule(LOGGED_IN),
    "home_on_open": rule(LOGGED_IN),  # a customer gets nothing back: their page hides Home
    "pick_user_row": rule(ADMIN, event_data=SELECT),
    # home and analytics
    "home_overview": rule(STAFF),
    "analytics_page": rule(STAFF, lambda w: ["Last 30 days", None, None, "auto"]),
    "sales_summary": rule(STAFF, lambda w: ["", ""]),
    "top_customers": rule(STAFF, lambda w: ["", "", 10]),
    "product_performance": rule(STAFF, lambda w: ["", "", 10]),
    "revenue_trend": rule(STAFF, lambda w: ["", "", "day"]),
    "stock_report": rule(STAFF, lambda w: ["", ""]),
    "rfm_segments": rule(STAFF, lambda w: ["", ""]),
    # customers
    "list_customers": rule(STAFF, lambda w: ["", "all", *PAGE]),
    "get_customer": rule(STAFF, lambda w: [w.bob.customer_id]),
    "customer_page": rule(STAFF, lambda w: [w.bob.customer_id]),
    "open_customer": rule(STAFF, event_data=SELECT),
    "purchase_history": rule(BOBS, lambda w: [w.bob.customer_id]),
    "add_customer": rule(
        STAFF, lambda w: ["Carl New", f"carl{uuid.uuid4().hex[:6]}@example.com"] + [""] * 6, True
    ),
    "update_customer": rule(
        STAFF,
        lambda w: [w.carol.id, f"Carol {uuid.uuid4().hex[:6]}", w.carol.email] + [""] * 6,
        True,
    ),
    # the page's Add customer click: the add, the new customer's page and the list's last page
    # (the add sets the page) in one event
    "add_customer_in_one_trip": rule(
        STAFF,
        lambda w: (
            ["Cleo New", f"cleo{uuid.uuid4().hex[:6]}@example.com"]
            + [""] * 6
            + without_page(CUSTOMER_LIST)
        ),
        True,
    ),
    "update_customer_in_one_trip": rule(
        STAFF,
        lambda w: (
            [w.carol.id, f"Carol {uuid.uuid4().hex[:6]}", w.carol.email] + [""] * 6 + CUSTOMER_LIST
        ),
        True,
    ),
    "deactivate_customer": rule(STAFF, lambda w: [w.carol.id], True),
    "describe_deactivate_customer": rule(STAFF, lambda w: [w.carol.id]),
    "reactivate_customer": rule(STAFF, lambda w: [w.carol.id], True),
    # the page's clicks: the change, the customer's page and the list in one event
    "deactivate_customer_in_one_trip": rule(STAFF, lambda w: [w.carol.id, *CUSTOMER_LIST], True),
    "reactivate_customer_in_one_trip": rule(STAFF, lambda w: [w.carol.id, *CUSTOMER_LIST], True),
    "invite_customer": rule(STAFF, lambda w: [w.invitee.id], True),  # a new link each time
    # the search box
    "search_records": rule(STAFF, lambda w: ["Bob"]),
    "open_record": rule(STAFF, lambda w: [f"customer:{w.bob.customer_id}"]),
    # the button beside a purchase, ticket or quote: its customer's page (bob's records)
    "open_purchase_customer": rule(STAFF, lambda w: [w.bob_purchase.id]),
    "open_ticket_customer": rule(STAFF, lambda w: [w.bob_ticket.id]),
    "open_quote_customer": rule(STAFF, lambda w: [w.bob_quote.id]),
    # a click on a customer's timeline: the entry names purchase #1, bob's
    "open_timeline_entry": rule(BOBS, event_data=TIMELINE_SELECT),
    # products
    "list_products": rule(STAFF, lambda w: ["", "active", "All categories", False, *PAGE]),
    "stock_movements": rule(STAFF, lambda w: [w.mug.id, *PAGE]),
    "get_product": rule(STAFF, lambda w: [w.mug.id]),
    "product_page": rule(STAFF, lambda w: [w.mug.id]),
    "open_product": rule(STAFF, event_data=SELECT),
    "categories": rule(STAFF),
    "add_product": rule(
        STAFF,
        lambda w: [f"SKU-{uuid.uuid4().hex[:6]}", "Teapot", "Kitchen", "", "20.00", 1, 5],
        True,
    ),
    "add_product_in_one_trip": rule(
        STAFF,
        lambda w: (
            [f"SKU-{uuid.uuid4().hex[:6]}", "Kettle", "Kitchen", "", "30.00", 1, 5]
            + without_page(PRODUCT_LIST)
        ),
        True,
    ),
    "update_product": rule(
        STAFF,
        lambda w: [w.spare.id, w.spare.sku, f"Spare {uuid.uuid4().hex[:6]}", "", "", "3.00", 1],
        True,
    ),
    "update_product_in_one_trip": rule(
        STAFF,
        lambda w: (
            [w.spare.id, w.spare.sku, f"Spare {uuid.uuid4().hex[:6]}", "", "", "3.00", 1]
            + PRODUCT_LIST
        ),
        True,
    ),
    "deactivate_product": rule(STAFF, lambda w: [w.spare.id], True),
    "describe_deactivate_product": rule(STAFF, lambda w: [w.spare.id]),
    "reactivate_product": rule(STAFF, lambda w: [w.spare.id], True),
    "deactivate_product_in_one_trip": rule(STAFF, lambda w: [w.spare.id, *PRODUCT_LIST], True),
    "reactivate_product_in_one_trip": rule(STAFF, lambda w: [w.spare.id, *PRODUCT_LIST], True),
    "restock_product": rule(STAFF, lambda w: [w.mug.id, 5, "delivery"], True),
    "restock_product_in_one_trip": rule(
        STAFF, lambda w: [w.mug.id, 5, "delivery", *PRODUCT_LIST], True
    ),
    "adjust_stock": rule(STAFF, lambda w: [w.mug.id, 1, "found one"], True),
    "adjust_stock_in_one_trip": rule(
        STAFF, lambda w: [w.mug.id, 1, "found one", *PRODUCT_LIST], True
    ),
    # purchases
    "list_purchases": rule(BOBS, lambda w: [w.bob.customer_id, None, None, None, "all", *PAGE]),
    "find_customers": rule(STAFF, lambda w: ["Bob"]),
    "find_products": rule(STAFF, lambda w: ["mug"]),
    "preview_purchase": rule(STAFF, lambda w: [w.bob.customer_id, w.one_mug, ""]),
    "get_purchase": rule(BOBS, lambda w: [w.bob_purchase.id]),
    "open_purchase": rule(BOBS, event_data=SELECT),  # purchase #1 is bob's
    "add_line": rule(LOGGED_IN, lambda w: [w.mug.id, 1, "", []]),
    "remove_line": rule(LOGGED_IN, lambda w: [w.one_mug], event_data=SELECT),
    "record_purchase": rule(STAFF, lambda w: [w.bob.customer_id, w.one_mug, ""], True),
    # the page's Confirm purchase click: the sale, the emptied cart, the purchase and the list
    "record_purchase_in_one_trip": rule(
        STAFF, lambda w: [w.bob.customer_id, w.one_mug, "", *PURCHASE_LIST], True
    ),
    "cancel_purchase": rule(STAFF, lambda w: [w.cancel_me.id, "matrix"], True),
    "return_items": rule(STAFF, lambda w: [w.bob_purchase.lines[0].id, 1, "matrix"], True),
    # the confirmations' sentences read what the service lets the caller read
    "describe_cancel_purchase": rule(BOBS, lambda w: [w.cancel_me.id, ""]),
    "describe_return_items": rule(
        BOBS, lambda w: [w.bob_purchase.id, w.bob_purchase.lines[0].id, 1, ""]
    ),
    # tax rates and the shop's settings
    "tax_rates": rule(STAFF),
    "add_tax_rate": rule(STAFF, lambda w: [f"Matrix {uuid.uuid4().hex[:6]}", "7"], True),
    "retire_tax_rate": rule(STAFF, lambda w: [w.fresh_rate()], True),
    "describe_retire_tax_rate": rule(STAFF, lambda w: [w.fresh_rate()]),
    "set_product_tax_rate": rule(STAFF, lambda w: [w.spare.id, ""], True),
    "shop_settings": rule(STAFF),
    "save_shop_settings": rule(
        ADMIN,
        lambda w: ["Matrix shop", "1 Road", "TAX-1", "Thanks", False, "", "UTC", "en_US"],
        True,
    ),
    "tax_report": rule(STAFF, lambda w: ["", ""]),
    # service desk, staff side
    "ticket_queue": rule(STAFF, lambda w: ["all", "All", "all", None, *PAGE]),
    "desk_ticket": rule(STAFF, lambda w: [w.bob_ticket.id]),
    "open_ticket": rule(STAFF, event_data=SELECT),
    "assign_ticket": rule(STAFF, lambda w: [w.bob_ticket.id, "me"], True),
    "set_ticket_status": rule(STAFF, lambda w: [w.staff_ticket.id, "in_progress", ""], True),
    "set_ticket_priority": rule(STAFF, lambda w: [w.bob_ticket.id, next(w.priorities)], True),
    "reply_ticket": rule(STAFF, lambda w: [w.bob_ticket.id, "a public reply"], True),
    "note_ticket": rule(STAFF, lambda w: [w.bob_ticket.id, "another internal note"], True),
    "quote_queue": rule(STAFF, lambda w: ["all", None, *PAGE]),
    "desk_quote": rule(STAFF, lambda w: [w.bob_quote.id]),
    "open_quote": rule(STAFF, event_data=SELECT),
    "price_quote": rule(STAFF, lambda w: [w.open_quote.id, prices(w), until(), "ok"], True),
    # the customer's answer given by staff on the quote's page (bob's quotes)
    "accept_quote_for_customer": rule(STAFF, lambda w: [w.staff_accepts.id], True),
    "describe_reject_quote_for_customer": rule(STAFF, lambda w: [w.staff_rejects.id]),
    "reject_quote_for_customer": rule(STAFF, lambda w: [w.staff_rejects.id], True),
    # service desk, customer side (bob's records: alice must be refused)
    "my_purchases": rule(CUSTOMERS, lambda w: PAGE),
    "my_tickets": rule(CUSTOMERS, lambda w: ["all", *PAGE]),
    "ticket_detail": rule(BOBS, lambda w: [w.bob_ticket.id]),
    "open_my_ticket": rule(BOBS, event_data=SELECT),  # ticket #1 is bob's
    "raise_ticket": rule(LOGGED_IN, lambda w: ["matrix ticket", "", "General", "Normal"], True),
    "comment_ticket": rule(BOBS, lambda w: [w.bob_ticket.id, "a comment"], True),
    "close_ticket": rule(BOBS, lambda w: [w.close_me.id, ""], True),
    "my_quotes": rule(CUSTOMERS, lambda w: ["all", *PAGE]),
    "find_catalogue": rule(LOGGED_IN, lambda w: ["mug"]),
    "add_quote_line": rule(LOGGED_IN, lambda w: [f"#{w.mug.id} {w.mug.sku}", 1, []]),
    "remove_quote_line": rule(LOGGED_IN, lambda w: [[]], event_data=SELECT),
    "request_quote": rule(LOGGED_IN, lambda w: [w.one_mug, "matrix quote"], True),
    "quote_detail": rule(BOBS, lambda w: [w.bob_quote.id]),
    "open_my_quote": rule(ALICES, event_data=SELECT),  # quote #1 is alice's
    "accept_quote": rule(BOBS, lambda w: [w.bob_quote.id], True),
    "describe_accept_quote": rule(BOBS, lambda w: [w.bob_quote.id]),
    "reject_quote": rule(BOBS, lambda w: [w.reject_me.id], True),
    "describe_reject_quote": rule(BOBS, lambda w: [w.reject_me.id]),
    # own account
    "my_profile": rule(LOGGED_IN),
    "update_profile": rule(
        CUSTOMERS,
        lambda w: [f"Renamed {uuid.uuid4().hex[:6]}", "+1 555 0000", "", "", "", ""],
        True,
    ),
    "change_password": rule(LOGGED_IN, lambda w: ["not-the-password", "x" * 12, "x" * 12]),
    # administration
    "list_users": rule(ADMIN, lambda w: ["all", "all", "", *PAGE]),
    "create_user": rule(
        ADMIN, lambda w: [f"new{uuid.uuid4().hex[:6]}", "matrix-New-Secret-6", "staff", None], True
    ),
    "set_role": rule(ADMIN, lambda w: ["victim", "admin"], True),
    "deactivate_user": rule(ADMIN, lambda w: ["victim"], True),
    "describe_set_role": rule(ADMIN, lambda w: ["victim", "admin"]),
    "describe_deactivate_user": rule(ADMIN, lambda w: ["victim"]),
    "reactivate_user": rule(ADMIN, lambda w: ["victim"], True),
    "unlock_user": rule(ADMIN, lambda w: ["victim"], True),
    "reset_password": rule(ADMIN, lambda w: ["victim", "matrix-Reset-Secret-7"], True),
    "preview_erasure": rule(ADMIN, lambda w: [w.erase_me.id, ""]),
    "erase_person": rule(ADMIN, lambda w: [w.someone().id, "", "ERASE"], True),
    "describe_erase_person": rule(ADMIN, lambda w: [w.erase_me.id, "", "ERASE"]),
    "audit_log": rule(ADMIN, lambda w: ["", None, *PAGE]),
    "find_audit_records": rule(ADMIN, lambda w: ["Bob", ""]),
    "find_any_customers": rule(STAFF, lambda w: ["Eve"]),
    "find_users": rule(ADMIN, lambda w: ["victim"]),
    # import (exports and backups are download routes: DOWNLOADS below)
    "import_check": rule(STAFF, lambda w: ["customers", w.upload(new_customers_csv()), False]),
    "import_run": rule(STAFF, lambda w: ["customers", w.upload(new_customers_csv()), False], True),
    "describe_import_run": rule(
        STAFF, lambda w: ["customers", w.upload(new_customers_csv()), False]
    ),
    "backup_section": rule(LOGGED_IN),
}
# The page's own fetch of a paged list: the list's handler, also reading which fetch it is.
RULES.update(
    {
        f"{name}_in_page": replace(RULES[name], args=lambda w, args=RULES[name].args: [*args(w), 1])
        for name in (
            "list_customers",
            "list_products",
            "stock_movements",
            "list_purchases",
            "ticket_queue",
            "quote_queue",
            "my_purchases",
            "my_tickets",
            "my_quotes",
            "list_users",
            "audit_log",
        )  # fmt: skip
    }
)
# download route (crpm/ui/downloads.py) -> who may follow it; the others get 401 or 403
DOWNLOADS = {
    "download/analytics/top_customers.csv": STAFF,
    **{f"download/export/{kind}.csv": STAFF for kind in ("customers", "purchases", "tickets")},
    "download/backup": ADMIN,
}


@dataclass
class Findings:
    problems: list = field(default_factory=list)

    def add(self, role, name, outcome, why):
        self.problems.append(f"{role} {name} via {outcome.via}: {why} ({outcome.message[:120]})")


# --- the world: one app, two customers with records, staff, admin -----------------------------


@pytest.fixture(scope="module", params=ENGINES)
def matrix_store(request, tmp_path_factory):
    """The world's store, once per engine: the rules must answer the same on both."""
    with store_on(request.param, tmp_path_factory.mktemp("matrix")) as location:
        yield location


@pytest.fixture(scope="module")
def world(matrix_store, launch_app):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CRPM_SCRYPT_N", "1024")  # cheap_passwords, for a module-wide app
        url, services = launch_app(matrix_store)
        try:
            services.accounts.hasher = env_hasher()
            world = build_world(url, services)
            world.functions = event_functions(services, matrix_store)
            yield world
        finally:
            launch_app.close(services)


def build_world(url, services) -> SimpleNamespace:
    accounts, desk = services.accounts, services.desk
    accounts.ensure_admin(PASSWORDS["admin"])
    admin = accounts.actor_for("admin")
    for name in ("sam", "victim"):
        accounts.create_user(admin, name, PASSWORDS[name], "staff")
    staff = accounts.actor_for("sam")
    people = {}
    for role, (name, email, *_rest) in MARKERS.items():
        people[role] = accounts.register_customer(name, email, PASSWORDS[email], "+1 555 0100")
    bob = people["bob"]
    admin_cookie = {}

    def upload(content: bytes) -> dict:
        """A CSV uploaded to the app (as the page would), as the FileData an event takes."""
        if not admin_cookie:
            admin_cookie.update(login_cookie(SimpleNamespace(url=url), "admin"))
        return upload_file(url, admin_cookie, "people.csv", content)

    products, purchases = services.products, services.purchases
    mug = products.add(staff, "MUG-1", "Blue mug", price="12.50", stock_quantity=50)
    spare = products.add(staff, "SPARE-1", "Spare part", price="2.00", stock_quantity=5)
    carol = services.customers.add(staff, "Carol Client", "carol@example.com")
    erase_me = services.customers.add(staff, "Eve Erased", "eve@example.com")
    invitee = services.customers.add(staff, "Ivy Invitee", "ivy@example.com")

    def ticket(owner, subject):
        return desk.raise_ticket(owner, subject, "please help")

    def quote(owner, text, priced=True):
        made = desk.request_quote(owner, [(mug.id, 2)], text)
        if priced:
            made = desk.price_quote(staff, made.id, {mug.id: "10.00"}, until(30), "for you")
        return made

    def someone():
        return services.customers.add(
            staff, "Eve Someone", f"eve{uuid.uuid4().hex[:8]}@example.com"
        )

    bob_ticket = ticket(bob, MARKERS["bob"][2])
    desk.comment(staff, bob_ticket.id, INTERNAL_NOTE, internal=True)
    ticket(people["alice"], MARKERS["alice"][2])
    quote(people["alice"], MARKERS["alice"][3])
    return SimpleNamespace(
        url=url,
        services=services,
        bob=bob,
        upload=upload,
        mug=mug,
        spare=spare,
        carol=carol,
        erase_me=erase_me,
        invitee=invitee,
        someone=someone,
        fresh_rate=lambda: services.taxes.add_rate(staff, f"Spare {uuid.uuid4().hex[:6]}", "3").id,
        priorities=itertools.cycle(["High", "Urgent", "Low", "Normal"]),
        one_mug=[{"product_id": mug.id, "quantity": 1}],
        bob_ticket=bob_ticket,
        close_me=ticket(bob, "close me"),
        staff_ticket=ticket(bob, "staff moves me"),
        bob_quote=quote(bob, MARKERS["bob"][3]),
        reject_me=quote(bob, "reject me"),
        open_quote=quote(bob, "price me", priced=False),
        staff_accepts=quote(bob, "staff accepts me for bob"),
        staff_rejects=quote(bob, "staff rejects me for bob", priced=False),
        bob_purchase=purchases.record(staff, bob.customer_id, [(mug.id, 3)]),
        cancel_me=purchases.record(staff, bob.customer_id, [(mug.id, 1)]),
    )


def dependencies(world, cookie) -> dict[str, list[dict]]:
    """Every event with a Python handler in the app's served config, by handler name; each
    carries the function it runs (`fn`), read from the same app built in this process."""
    config = httpx.get(f"{world.url}config", cookies=cookie, timeout=60).json()
    served = [dep for dep in config["dependencies"] if dep.get("backend_fn")]
    assert [(dep["id"], dep["api_name"]) for dep in served] == [
        (index, api_name) for index, api_name, _fn in world.functions
    ], "the app built here differs from the one served"
    found: dict[str, list[dict]] = {}
    for dep, (_index, _name, fn) in zip(served, world.functions, strict=True):
        found.setdefault(handler_name(dep["api_name"]), []).append({**dep, "fn": fn})
    return found


def event_functions(services, location) -> list[tuple]:
    """(event id, api name, qualified function name) of every event with a Python handler."""
    demo = build_app(services, Settings(db_path=location))
    return [
        (index, block_fn.api_name, f"{block_fn.fn.__module__}.{block_fn.fn.__qualname__}")
        for index, block_fn in demo.fns.items()
        if block_fn.fn is not None
    ]


def login_cookie(world, role) -> dict:
    if role == "anonymous":
        return {}
    return log_in(world.url, LOGINS[role], PASSWORDS[LOGINS[role]])


# --- calling ---------------------------------------------------------------------------------


def call_client(client, dep, args) -> Outcome:
    try:
        return Outcome(
            "ok", data=client.predict(*args, api_name=f"/{dep['api_name']}"), via="client"
        )
    except AppError as exc:
        return Outcome("error", str(exc.message or ""), via="client")
    except httpx.HTTPStatusError as exc:  # the client's upload of a file argument was refused
        if exc.response.status_code in (401, 403):
            return Outcome("unauthorized", str(exc.response.status_code), via="client upload")
        raise


# --- the checks ------------------------------------------------------------------------------


def snapshot(store) -> dict:
    """The store's rows; sessions change with every login of the matrix itself."""
    return store_snapshot(store, leave_out=("sessions",))


def judge(findings, role, name, spec, outcome):
    """The answer: refused exactly when the rules say so, and showing nothing it must not."""
    allowed = role in spec.allowed
    if outcome.kind == "http":
        findings.add(role, name, outcome, "the queue answered with an HTTP error")
    if allowed and outcome.refused:
        findings.add(role, name, outcome, "refused a role the rules allow")
    if not allowed and not outcome.refused:
        findings.add(role, name, outcome, "reached by a role the rules refuse")
    leaks = [secret for secret in PASSWORDS.values() if secret in outcome.text()]
    if role in CUSTOMERS:
        other = "bob" if role == "alice" else "alice"
        leaks += [m for m in (*MARKERS[other], INTERNAL_NOTE) if m in outcome.text()]
    if leaks:
        findings.add(role, name, outcome, f"the answer shows {leaks}")


def calls_for(deps, client, every: bool = False) -> list[tuple]:
    """(channel, event) pairs to try: one event of every distinct function behind a handler
    name (a public one if there is), through the queue and, when public, gradio_client. The
    other events of a function only repeat it on other triggers (`every` tries them too)."""
    calls, seen = [], set()
    for dep in sorted(deps, key=lambda dep: dep["api_visibility"] != "public"):
        if dep["fn"] in seen and not every:
            continue
        seen.add(dep["fn"])
        calls.append(("queue", dep))
        if client is not None and dep["api_visibility"] == "public":
            calls.append(("client", dep))
    return calls


@dataclass
class Attempt:
    name: str
    spec: Rule
    channel: str
    dep: dict
    args: list

    def run(self, http, client) -> Outcome:
        if self.channel == "queue":
            return call_queue(http, self.dep["id"], self.args, self.spec.event_data)
        return call_client(client, self.dep, self.args)


def run_refused(refused, http, client) -> list[Outcome]:
    """Raw queue calls run together; gradio_client calls one at a time, because one Client
    shared by threads races inside gradio_client (a call ends in CancelledError)."""
    outcomes = {}
    queued = [attempt for attempt in refused if attempt.channel == "queue"]
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = pool.map(lambda attempt: attempt.run(http, client), queued)
        outcomes.update(zip(map(id, queued), answers, strict=True))
    for attempt in refused:
        if attempt.channel != "queue":
            outcomes[id(attempt)] = attempt.run(http, client)
    return [outcomes[id(attempt)] for attempt in refused]


def run_matrix(world, role) -> list[str]:
    """Refused calls run first (the store must be the same after all of them); allowed
    calls one by one, in RULES order, each write checked against the store."""
    store = world.services.store
    findings = Findings()
    http = httpx.Client(base_url=world.url, cookies=login_cookie(world, role), timeout=60)
    deps = dependencies(world, login_cookie(world, "admin"))
    client = None
    if role == "anonymous":
        with pytest.raises(AuthenticationError):
            Client(world.url, verbose=False)
    else:
        client = Client(world.url, auth=(LOGINS[role], PASSWORDS[LOGINS[role]]), verbose=False)
    attempts = [
        Attempt(name, spec, channel, dep, spec.args(world))
        for name, spec in RULES.items()
        for channel, dep in calls_for(deps.get(name, []), client, every=role == "anonymous")
    ]
    refused = [attempt for attempt in attempts if role not in attempt.spec.allowed]
    before = snapshot(store)
    outcomes = run_refused(refused, http, client)
    if before != snapshot(store):
        findings.problems.append(f"{role}: calls the rules refuse changed the store")
    for attempt, outcome in zip(refused, outcomes, strict=True):
        judge(findings, role, attempt.dep["api_name"], attempt.spec, outcome)
    written = set()
    for attempt in (attempt for attempt in attempts if role in attempt.spec.allowed):
        before = snapshot(store)
        outcome = attempt.run(http, client)
        judge(findings, role, attempt.dep["api_name"], attempt.spec, outcome)
        first_write = attempt.spec.write and attempt.name not in written
        if first_write and outcome.kind == "ok":
            written.add(attempt.name)
            if before == snapshot(store):
                findings.add(role, attempt.name, outcome, "an accepted write changed nothing")
    http.close()
    return findings.problems


def test_every_handler_in_the_config_has_a_rule(world):
    deps = dependencies(world, login_cookie(world, "admin"))
    assert sorted(set(deps) - set(RULES)) == [], "add these handlers to RULES"
    assert sorted(set(RULES) - set(deps)) == [], "these RULES name no handler any more"


def test_anonymous_reaches_only_login_and_registration(world):
    for path in ("", "config", "gradio_api/info", "gradio_api/queue/data?session_hash=x"):
        answer = httpx.get(f"{world.url}{path}")
        assert answer.status_code in (303, 401), path
    assert httpx.get(f"{world.url}").headers["location"] == "login"
    assert httpx.get(f"{world.url}login").status_code == 200
    assert httpx.get(f"{world.url}register").status_code == 200
    assert httpx.get(f"{world.url}invite?token=guess").status_code == 410
    assert run_matrix(world, "anonymous") == []


@pytest.mark.parametrize("role", ROLES[1:])
def test_each_role_reaches_exactly_what_the_rules_allow(world, role):
    assert run_matrix(world, role) == []


@pytest.mark.parametrize("role", ROLES)
def test_download_routes_answer_exactly_the_roles_the_rules_allow(world, role):
    cookies = login_cookie(world, role)
    for route, allowed in DOWNLOADS.items():
        answer = httpx.get(f"{world.url}{route}", cookies=cookies, timeout=60)
        expected = 200 if role in allowed else 401 if role == "anonymous" else 403
        pg_dump = route.endswith("backup") and world.services.store.dialect != "sqlite"
        if expected == 200 and pg_dump:
            expected = 400  # allowed through; a PostgreSQL store's backup is pg_dump's
        assert answer.status_code == expected, (route, answer.text[:200])
        if role in CUSTOMERS:
            assert "Bob Baker" not in answer.text and "Alice Able" not in answer.text, route


def test_what_the_allowed_writes_did_to_the_store(world):
    """After the roles ran: bob's ticket has the public reply and stays his; his quote became a
    purchase at the quoted price; the erased person is gone; alice's records are untouched."""
    desk, staff = world.services.desk, world.services.accounts.actor_for("sam")
    ticket = desk.get_ticket(staff, world.bob_ticket.id)
    bodies = [event.body for event in ticket.events]
    assert "a public reply" in bodies and "a comment" in bodies
    assert ticket.customer_id == world.bob.customer_id
    quote = desk.get_quote(staff, world.bob_quote.id)
    assert quote.status == "accepted" and quote.purchase_id is not None
    purchase = world.services.purchases.get(staff, quote.purchase_id)
    assert purchase.customer_id == world.bob.customer_id
    assert [(line.quantity, line.unit_price_cents) for line in purchase.lines] == [(2, 1000)]
    for made, status in ((world.staff_accepts, "accepted"), (world.staff_rejects, "rejected")):
        assert desk.get_quote(staff, made.id).status == status  # by staff, for bob
    store = world.services.store
    erased = store.query("SELECT email FROM customers WHERE status = 'erased'")
    assert len(erased) == 2  # the admin's two calls (queue and client); nobody else's
    assert not [row for row in erased if "eve" in row["email"]]
    raised = store.query(
        "SELECT c.email, count(*) FROM tickets t JOIN customers c ON c.id = t.customer_id"
        " WHERE t.subject = 'matrix ticket' GROUP BY c.email ORDER BY c.email"
    )
    assert [tuple(row) for row in raised] == [("alice@example.com", 2), ("bob@example.com", 2)]
