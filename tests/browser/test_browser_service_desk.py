"""The service desk in a real browser, across three logins: a new customer registers and raises a
ticket, staff answer and resolve it, the customer reads the answer; a quote is requested, priced
by staff, accepted by the customer, and shows up as a purchase that lowered the stock.

Starts from the `page` fixture (staff logged in; console errors and outside requests fail the
test) and moves between people with the Log out button and the login page.
"""

from __future__ import annotations

import itertools
import re
import uuid

import pytest
from playwright.sync_api import expect

from crpm.permissions import SYSTEM
from crpm.ui import products
from tests.browser.test_browser_data import settled
from tests.support import env_hasher, log_out

pytestmark = pytest.mark.browser

STOCK_COLUMN = [column.key for column in products.LIST_COLUMNS].index("stock")

STAFF = ("deskstaff", "desk-Browser-Staff-1")
PASSWORD = "desk-Browser-Customer-2"
CUSTOMER_TABS = ["My purchases", "My tickets", "My quotes", "My account"]
STAFF_ONLY_TABS = ["Home", "Customers", "Products", "Purchases", "Analytics", "Service desk"]
_serial = itertools.count(1)


@pytest.fixture
def desk(site, cheap_passwords, monkeypatch):
    """A staff login of this module's own and cheap password hashing while the test runs."""
    accounts = site.services.accounts
    monkeypatch.setattr(accounts, "hasher", env_hasher())
    if accounts.store.query_one("SELECT 1 FROM users WHERE username = ?", (STAFF[0],)) is None:
        accounts.create_user(accounts.actor_for("admin"), *STAFF, role="staff")
    return site


def toast(page, text: str):
    return page.locator(".toast-body").filter(has_text=text).first


def open_tab(page, name: str):
    page.get_by_role("tab", name=name, exact=True).click()
    expect(page.get_by_role("tab", name=name, exact=True)).to_have_attribute(
        "aria-selected", "true"
    )


def log_in(page, username: str, password: str):
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".crpm-who").last).to_contain_text(username)


def register(page, shoot, name: str) -> str:
    email = f"desk{next(_serial)}.{name.split()[0].lower()}@example.com"
    page.get_by_role("link", name="Create an account").click()
    page.locator("#name").fill(name)
    page.locator("#email").fill(email)
    page.locator("#phone").fill("+44 20 7946 0001")
    page.locator("#password").fill(PASSWORD)
    page.locator("#confirm").fill(PASSWORD)
    shoot(page, "register-page")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_text("If this e-mail address was not registered yet")).to_be_visible()
    log_in(page, email, PASSWORD)
    expect(page.locator(".crpm-who").last).to_contain_text(email)
    return email


def pick(page, scope, label: str, option: str):
    scope.get_by_role("combobox", name=label).click()
    page.get_by_role("option", name=option, exact=True).click()


def row(page, table: str, text: str):
    return page.locator(table).get_by_role("row").filter(has_text=text).first


def test_ticket_raised_answered_resolved_and_read(page, desk, shoot):
    log_out(page)
    shoot(page, "login-page")
    email = register(page, shoot, "Rita Register")
    subject = f"Lamp flickers {uuid.uuid4().hex[:6]}"  # a rerun finds its own in the queue
    for name in CUSTOMER_TABS:
        expect(page.get_by_role("tab", name=name, exact=True)).to_be_visible()
    for name in STAFF_ONLY_TABS:
        expect(page.get_by_role("tab", name=name, exact=True)).to_have_count(0)

    open_tab(page, "My tickets")
    new = page.locator("#ticket-new")
    new.get_by_label("Subject *").fill(subject)
    new.get_by_label("Description").fill("Since Tuesday, every evening.")
    new.get_by_role("button", name="Send ticket").click()
    expect(toast(page, "opened; we will answer here")).to_be_visible()
    expect(row(page, "#my-tickets", subject)).to_contain_text("open")
    shoot(page, "customer-ticket-raised")

    log_out(page)
    log_in(page, *STAFF)
    open_tab(page, "Service desk")
    row(page, "#ticket-queue", subject).get_by_role("gridcell").first.click()
    detail = page.locator("#desk-ticket")
    expect(detail).to_contain_text("Since Tuesday")
    detail.get_by_label("Reply or internal note").fill("Customer sounds patient")
    detail.get_by_role("button", name="Add internal note").click()
    expect(detail).to_contain_text("(internal)")
    detail.get_by_label("Reply or internal note").fill("Please swap the bulb; a new one is on us.")
    detail.get_by_role("button", name="Send reply to customer").click()
    expect(detail).to_contain_text("a new one is on us")
    actions = page.locator("#desk-ticket-actions")
    actions.get_by_role("button", name="Assign to me").click()
    expect(page.locator("#ticket-figures")).to_contain_text(STAFF[0])  # the assignee
    pick(page, actions, "Status", "Resolved")
    actions.get_by_role("button", name="Set status").click()
    expect(toast(page, "is now resolved")).to_be_visible()
    shoot(page, "staff-ticket-resolved")

    log_out(page)
    log_in(page, email, PASSWORD)
    open_tab(page, "My tickets")
    expect(row(page, "#my-tickets", subject)).to_contain_text("resolved")
    row(page, "#my-tickets", subject).get_by_role("gridcell").first.click()
    view = page.locator("#ticket-view")
    expect(view).to_contain_text("a new one is on us")
    expect(view).to_contain_text("resolved since")
    expect(view).not_to_contain_text("Customer sounds patient")
    expect(view).not_to_contain_text(STAFF[0])  # staff appear as "support"
    shoot(page, "customer-ticket-answered")
    assert PASSWORD not in page.content()


def test_quote_priced_accepted_becomes_purchase_and_lowers_stock(page, desk, shoot):
    sku = f"QTE-LAMP-{uuid.uuid4().hex[:6]}"  # a rerun adds its own
    lamp = desk.services.products.add(SYSTEM, sku, "Quote lamp", "15.00", stock_quantity=10)
    log_out(page)
    email = register(page, shoot, "Quinn Quote")

    open_tab(page, "My quotes")
    new = page.locator("#quote-new")
    new.get_by_label("Search the catalogue").press_sequentially(sku)
    expect(new.locator("input[aria-label='Product']")).to_have_value(
        f"#{lamp.id} {sku} · Quote lamp · list $15.00"
    )
    new.get_by_label("Qty").fill("3")
    new.get_by_role("button", name="Add", exact=True).click()
    expect(new.get_by_role("gridcell").filter(has_text=f"{sku} · Quote lamp")).to_be_visible()
    new.get_by_label("Anything else (free text)").fill("Delivery before Friday?")
    new.get_by_role("button", name="Request quote").click()
    expect(toast(page, "requested; we will price it soon")).to_be_visible()
    expect(row(page, "#my-quotes", f"3 × {sku}")).to_contain_text("requested")
    shoot(page, "customer-quote-requested")

    log_out(page)
    log_in(page, *STAFF)
    open_tab(page, "Service desk")
    page.get_by_role("tab", name="Quotes", exact=True).click()
    row(page, "#quote-queue", f"3 × {sku}").get_by_role("gridcell").first.click()
    pricing = page.locator("#desk-quote")
    expect(pricing).to_contain_text("Delivery before Friday?")
    price_cell = pricing.locator("#quote-prices").get_by_role("gridcell").filter(has_text="15.00")
    price_cell.last.dblclick()
    page.keyboard.press("Control+A")
    page.keyboard.type("12.00")
    page.keyboard.press("Enter")
    pricing.get_by_label("Message to the customer").fill("Yes, Thursday delivery.")
    pricing.get_by_role("button", name="Send priced quote").click()
    expect(toast(page, "priced; the customer can accept it")).to_be_visible()
    expect(pricing).to_contain_text("$36.00")
    shoot(page, "staff-quote-priced")

    log_out(page)
    log_in(page, email, PASSWORD)
    open_tab(page, "My quotes")
    row(page, "#my-quotes", f"3 × {sku}").get_by_role("gridcell").first.click()
    view = page.locator("#quote-view")
    expect(view).to_contain_text("Yes, Thursday delivery.")
    expect(view).to_contain_text("$36.00")
    view.get_by_role("button", name="Accept and buy").click()
    page.locator("#confirm-accept_quote").get_by_role("button", name="Yes, accept and buy").click()
    expect(toast(page, "accepted: your order #")).to_be_visible()
    open_tab(page, "My purchases")
    expect(row(page, "#my-purchases", sku)).to_contain_text("$12.00")
    expect(page.locator("#tab-my_purchases")).to_contain_text("total spent $36.00")
    shoot(page, "customer-purchase-from-quote")

    log_out(page)
    log_in(page, *STAFF)
    open_tab(page, "Products")
    settled(page)  # the tab's own refresh lands first, not over the search's answer
    search = page.get_by_label("Search products")
    search.fill(sku)
    search.press("Enter")
    stock_row = page.locator("#products-table").get_by_role("row").filter(has_text=sku)
    expect(stock_row.get_by_role("gridcell").nth(STOCK_COLUMN)).to_have_text("7")
    shoot(page, "staff-stock-after-quote")
    assert desk.services.products.get(SYSTEM, lamp.id).stock == 7


def test_admin_manages_a_login_erases_a_person_and_reads_the_audit(page, desk, shoot):
    accounts = desk.services.accounts
    admin_password = "desk-Browser-Admin-3"
    admin = accounts.actor_for("admin")
    if accounts.store.query_one("SELECT 1 FROM users WHERE username = 'deskadmin'") is None:
        accounts.create_user(admin, "deskadmin", admin_password, "admin")
    tag = uuid.uuid4().hex[:6]  # a rerun adds its own customer and login
    gone = accounts.register_customer("Gina Gone", f"gina.gone.{tag}@example.com", PASSWORD, "")
    helper = f"temp.helper.{tag}"
    log_out(page)
    log_in(page, "deskadmin", admin_password)
    for name in ("Users", "Erase a person", "Audit log", "Service desk"):
        expect(page.get_by_role("tab", name=name, exact=True)).to_be_visible()

    open_tab(page, "Users")
    add = page.locator("#user-add")
    add.get_by_label("Login name").fill(helper)
    add.get_by_label("Password (at least 10 characters)").fill("desk-Browser-Temp-4")
    add.get_by_role("button", name="Add login").click()
    expect(add).to_contain_text(helper)
    expect(add.get_by_label("Password (at least 10 characters)")).to_have_value("")
    manage = page.locator("#user-manage")
    manage.get_by_label("Find the login").fill(helper)
    expect(manage.get_by_label("User", exact=True)).to_have_value(
        re.compile(rf"#\d+ {re.escape(helper)} \(staff\)")
    )
    manage.get_by_role("button", name="Deactivate", exact=True).click()
    question = page.locator("#confirm-deactivate_user")
    expect(question).to_contain_text("Deactivate the login")
    expect(question).to_contain_text(f"{helper} (staff)?")
    question.get_by_role("button", name="Yes, deactivate the login").click()
    expect(manage).to_contain_text("inactive")
    shoot(page, "admin-users")

    open_tab(page, "Erase a person")
    erase = page.locator("#erase-person")
    erase.get_by_label("Find the customer").fill(f"gina.gone.{tag}@example")
    expect(erase.get_by_label("Customer", exact=True)).to_have_value(
        f"#{gone.customer_id} Gina Gone · gina.gone.{tag}@example.com"
    )
    erase.get_by_role("button", name="Check who this is").click()
    expect(erase).to_contain_text("Gina Gone")
    erase.get_by_role("button", name="Erase this person").click()
    expect(toast(page, "type ERASE to confirm")).to_be_visible()
    erase.get_by_label("Type ERASE to confirm").fill("ERASE")
    erase.get_by_role("button", name="Erase this person").click()
    question = page.locator("#confirm-erase_person")
    expect(question).to_contain_text("Erase this person for good?")
    expect(question).to_contain_text("Gina Gone")
    expect(question).to_contain_text("This cannot be undone.")
    shoot(page, "confirm-erase-person")
    question.get_by_role("button", name="Yes, erase this person").click()
    expect(erase).to_contain_text("Erased.")
    shoot(page, "admin-erase")
    assert (
        accounts.store.query_one("SELECT status FROM customers WHERE id = ?", (gone.customer_id,))[
            0
        ]
        == "erased"
    )

    open_tab(page, "Audit log")
    expect(row(page, "#audit-table", "erase")).to_contain_text("deskadmin")
    shoot(page, "admin-audit")
    # The rows of one record: its login picked by name, not typed by number.
    settled(page)
    page.get_by_label("Find the record").fill(helper)
    expect(page.get_by_label("Record (empty: all)")).to_have_value(
        re.compile(rf"User #\d+ {re.escape(helper)} \(staff, inactive\)")
    )
    expect(page.locator("#audit-table-info")).to_contain_text("of 2 ")
    expect(row(page, "#audit-table", "deactivate")).to_contain_text("deskadmin")
    expect(row(page, "#audit-table", "deactivate")).to_contain_text("active: 1 → 0")
    expect(row(page, "#audit-table", "create")).to_contain_text(helper)
    expect(page.locator("#audit-table")).not_to_contain_text("{")
    expect(page.locator("#audit-table")).not_to_contain_text("erase")
    shoot(page, "admin-audit-one-record")
    assert admin_password not in page.content()
