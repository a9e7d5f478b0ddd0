"""Markup typed into every text field stays text in every tab and record view (Chromium).

Records are made through the services with markup in each text field that accepts it (a
customer, a product, a purchase with a return and a cancellation, a restock, a ticket with a
reply and an internal note, a priced quote, a customer login). Then staff, admin and the
customer open every tab they have and each record view. On every view: no element whose
src or href points at evil.example, no <b> the user typed, no dialog (alert) opened; the
`page` fixture fails the test if any request left loopback.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from crpm.clock import FixedClock
from crpm.errors import CRPMError
from tests.browser.test_browser_dashboard import open_found
from tests.browser.test_browser_data import ADMIN_PASSWORD, open_tab, settled, switch_user
from tests.support import TODAY

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MARKUP = (
    "Mk7 <img src=http://evil.example/x onerror=alert(1)>"
    "<a href=http://evil.example>x</a><b>bold</b>"
)
SHORT_MARKUP = "Mk7<b>bold</b>"
CUSTOMER = ("markup.customer@example.com", "markup-Customer-Secret-9z")
INJECTED = '[src*="evil.example"], [href*="evil.example"], b:text-is("bold")'


@pytest.fixture(scope="module")
def marked(site):
    """Records whose every text field holds MARKUP; the fields the services refused."""
    services, refused = site.services, []
    accounts = services.accounts
    staff = accounts.actor_for("clerk")

    def attempt(label, make):
        """MARKUP in the field, or (refused, e.g. too long) the short SHORT_MARKUP."""
        for text in (MARKUP, SHORT_MARKUP):
            try:
                return make(text)
            except CRPMError as refusal:
                refused.append(f"{label}: {refusal}")
        return None

    fields = ("phone", "company", "address", "city", "country", "notes")
    customer = services.customers.add(staff, MARKUP, "markup.record@example.com")
    for name in fields:
        attempt(
            f"customer {name}",
            lambda text, name=name: services.customers.update(staff, customer.id, **{name: text}),
        )
    product = services.products.add(
        staff,
        "MK-1",
        MARKUP,
        price="900.00",
        stock_quantity=100,
        category=MARKUP,
        description=MARKUP,
    )
    services.products.restock(staff, product.id, 5, MARKUP)
    kept = services.purchases.record(staff, customer.id, [(product.id, 20)])
    services.purchases.return_items(staff, kept.lines[0].id, 1, MARKUP)
    cancelled = services.purchases.record(staff, customer.id, [(product.id, 1)])
    services.purchases.cancel(staff, cancelled.id, MARKUP)
    login = attempt(
        "registration name",
        lambda text: accounts.register_customer(text, *CUSTOMER, "+1 555 0177"),
    )
    desk = services.desk
    ticket = desk.raise_ticket(login, MARKUP, MARKUP)
    desk.comment(staff, ticket.id, MARKUP)
    desk.comment(staff, ticket.id, MARKUP, internal=True)
    desk.comment(login, ticket.id, MARKUP)
    quote = desk.request_quote(login, [(product.id, 1)], MARKUP)
    until = (FixedClock(TODAY).utc_day() + timedelta(days=10)).isoformat()
    desk.price_quote(staff, quote.id, {product.id: "800.00"}, until, MARKUP)
    return {
        "customer": customer.id,
        "product": product.id,
        "purchase": kept.id,
        "cancelled": cancelled.id,
        "ticket": ticket.id,
        "quote": quote.id,
        "refused": refused,
    }


class Watch:
    """Dialogs the page opens, and the injected elements found on each view."""

    def __init__(self, page):
        self.page, self.dialogs, self.found, self.requests = page, [], {}, []
        self.view = "login"
        page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))
        page.on("request", self.request)

    def request(self, request):
        if "evil.example" in request.url:
            self.requests.append((self.view, request.url))

    def look(self, view: str, key: str):
        """Count what was injected in tab `key` (other tabs keep what they showed) and the
        toasts."""
        self.view = view
        settled(self.page)
        shown = (self.page.locator(f"#tab-{key}"), self.page.locator(".toast-body"))
        count = sum(part.locator(INJECTED).count() for part in shown)
        if count:
            self.found[view] = count


def every_tab(watch: Watch, who: str) -> None:
    page = watch.page
    keys = page.locator("#crpm-tabs [role=tab][data-tab-id]").evaluate_all(
        "(tabs) => tabs.map((tab) => [tab.dataset.tabId, tab.textContent.trim()])"
    )
    for key, label in keys:
        open_tab(page, label)
        watch.look(f"{who} tab {key}", key)


def open_record(watch, tab: str, key: str, table: str, record_id: int):
    """Open a record of one's own with a click on its row in the tab's list."""
    page = watch.page
    open_tab(page, tab)
    scope = page.locator(f"#tab-{key}")
    watch.view = f"{tab}: row {record_id}"
    rows = page.locator(f"#{table}")
    rows.get_by_role("gridcell", name=str(record_id), exact=True).first.click()
    settled(page)
    expect(scope).to_contain_text("Mk7")  # the record is shown
    watch.look(f"{tab}: row {record_id}", key)


def open_found_record(watch, kind: str, key: str, record_id: int):
    """Open a staff record through the search box's matches."""
    watch.view = f"search: {kind} {record_id}"
    open_found(watch.page, kind, record_id)
    scope = watch.page.locator(f"#tab-{key}")
    settled(watch.page)
    expect(scope).to_contain_text("Mk7")  # the record is shown
    watch.look(f"search: {kind} {record_id}", key)


def test_markup_in_every_field_stays_text_everywhere(page, marked):
    watch = Watch(page)
    every_tab(watch, "staff")
    open_found_record(watch, "Customer", "customers", marked["customer"])
    open_found_record(watch, "Product", "products", marked["product"])
    for purchase in (marked["purchase"], marked["cancelled"]):
        open_found_record(watch, "Purchase", "purchases", purchase)
    open_found_record(watch, "Ticket", "desk", marked["ticket"])
    open_found_record(watch, "Quote", "desk", marked["quote"])
    switch_user(page, "admin", ADMIN_PASSWORD)
    every_tab(watch, "admin")
    switch_user(page, *CUSTOMER)
    every_tab(watch, "customer")
    open_record(watch, "My tickets", "my_tickets", "my-tickets", marked["ticket"])
    open_record(watch, "My quotes", "my_quotes", "my-quotes", marked["quote"])
    assert watch.dialogs == [], "a dialog opened"
    print(f"fields the services refused markup in: {marked['refused']}")
    print(f"requests to evil.example by view: {watch.requests}")
    print(f"injected elements by view: {watch.found}")
    assert watch.requests == [], "views that asked evil.example for something"
    assert watch.found == {}, "elements the user did not write, by view"
