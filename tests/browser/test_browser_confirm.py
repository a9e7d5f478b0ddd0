"""Destructive actions ask first (crpm/ui/confirm.py), and a sale leaves clean pickers behind:
in a real browser, backing out changes nothing in the store, confirming does the action."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from crpm.models import format_money
from crpm.permissions import SYSTEM
from tests.browser.test_browser_dashboard import (
    new_purchase_form,
    open_customer,
    open_purchase,
    open_tab,
    toast,
)
from tests.browser.test_browser_data import upload
from tests.support import BROWSER_ADMIN

pytestmark = pytest.mark.browser

STOP = re.compile(r"\bstop\b")  # the class Gradio gives a variant="stop" button
DANGER_TEXT = "rgb(185, 28, 28)"  # a destructive action's button (crpm/ui/style.py)


def stock_of(services, product_id: int) -> int:
    return services.products.get(SYSTEM, product_id).stock


def asked(page, shoot, action: str, yes_label: str, *sentences: str):
    """(the question, its yes button): the confirmation of `action` is shown, says each
    sentence, and its yes button is styled as dangerous; photographed."""
    question = page.locator(f"#confirm-{action}")
    expect(question).to_be_visible()
    for sentence in sentences:
        expect(question).to_contain_text(sentence)
    yes = question.get_by_role("button", name=yes_label)
    expect(yes).to_have_class(STOP)
    shoot(page, f"confirm-{action.replace('_', '-')}")
    return question, yes


def keep_it(question):
    question.get_by_role("button", name="No, keep it").click()
    expect(question).to_be_hidden()


def test_cancelling_a_purchase_asks_first_and_keep_changes_nothing(page, site, shoot):
    services, tag = site.services, uuid.uuid4().hex[:6]  # a rerun adds its own
    buyer = services.customers.add(SYSTEM, "Connie Cancel", f"connie.cancel.{tag}@example.com")
    kettle = services.products.add(SYSTEM, f"BRW-KETTLE-{tag}", "Cancel kettle", "19.50", 6)
    sale = services.purchases.record(SYSTEM, buyer.id, [(kettle.id, 2)])
    total = format_money(sale.total_cents, "$")

    manage = open_purchase(page, sale)
    manage.get_by_role("button", name="Cancel whole purchase").click()

    question, yes = asked(
        page, shoot, "cancel_purchase", "Yes, cancel the purchase",
        f"Cancel purchase #{sale.id} of Connie Cancel ({total})?",
        "Every unit not yet returned (2 units) goes back to stock",
        "a credit note is issued",
    )  # fmt: skip
    keep_it(question)
    assert services.purchases.get(SYSTEM, sale.id).cancelled_at is None
    assert stock_of(services, kettle.id) == 4

    manage.get_by_role("button", name="Cancel whole purchase").click()
    expect(yes).to_be_visible()
    yes.click()
    expect(toast(page, f"Purchase #{sale.id} of Connie Cancel cancelled")).to_be_visible()
    expect(question).to_be_hidden()
    expect(manage).to_contain_text("cancelled")
    assert services.purchases.get(SYSTEM, sale.id).cancelled_at is not None
    assert stock_of(services, kettle.id) == 6


def test_deactivating_a_customer_asks_first_and_keep_changes_nothing(page, site, shoot):
    services, tag = site.services, uuid.uuid4().hex[:6]  # a rerun adds its own
    dora = services.customers.add(SYSTEM, "Dora Deactivate", f"dora.deactivate.{tag}@example.com")
    edit = open_customer(page, dora.email)
    expect(edit.get_by_label("Name *")).to_have_value("Dora Deactivate")
    edit.get_by_role("button", name="Deactivate", exact=True).click()

    question, yes = asked(
        page, shoot, "deactivate_customer", "Yes, deactivate",
        f"Deactivate customer #{dora.id} Dora Deactivate ({dora.email})?",
        "can no longer be picked for a purchase",
        "0 purchases and every report figure stay",
    )  # fmt: skip
    keep_it(question)
    assert services.customers.get(SYSTEM, dora.id).status == "active"

    edit.get_by_role("button", name="Deactivate", exact=True).click()
    yes.click()
    expect(toast(page, "Dora Deactivate deactivated")).to_be_visible()
    expect(edit.get_by_label("Status")).to_have_value("inactive")
    assert services.customers.get(SYSTEM, dora.id).status == "inactive"


def test_deactivating_a_login_asks_first_in_red_and_keep_changes_nothing(open_page, site, shoot):
    accounts = site.services.accounts
    admin = accounts.actor_for("admin")
    name = f"leo.leaver.{uuid.uuid4().hex[:6]}"
    leaver = accounts.create_user(admin, name, "browser-Leaver-Secret-8", "staff")
    page = open_page(BROWSER_ADMIN)
    open_tab(page, "Users")
    manage = page.locator("#user-manage")
    deactivate = manage.get_by_role("button", name="Deactivate", exact=True)
    expect(deactivate).to_have_class(STOP)
    expect(deactivate).to_have_css("color", DANGER_TEXT)  # not the plain look of the others
    expect(manage.get_by_role("button", name="Reactivate")).not_to_have_css("color", DANGER_TEXT)
    manage.get_by_label("Find the login").fill(name)
    expect(manage.get_by_label("User", exact=True)).to_have_value(f"#{leaver.id} {name} (staff)")
    deactivate.click()

    question, yes = asked(
        page, shoot, "deactivate_user", "Yes, deactivate the login",
        f"Deactivate the login #{leaver.id} {name} (staff)?",
        "They can no longer log in, and if they are logged in now, they are logged out at their"
        " next click.",
        "What they recorded and the audit log stay.",
        "Reactivate lets them in again.",
    )  # fmt: skip
    keep_it(question)
    assert accounts.get_user(admin, leaver.id).active
    expect(manage).not_to_contain_text("inactive")

    deactivate.click()
    yes.click()
    expect(question).to_be_hidden()
    expect(manage).to_contain_text(f"#{leaver.id} {name} · staff · inactive")
    assert not accounts.get_user(admin, leaver.id).active

    # a customer's login: their customer record is not what stops
    email = f"cleo.{name.rsplit('.', 1)[1]}@example.com"
    cleo = accounts.register_customer("Cleo Customer", email, "browser-Cleo-Secret-9", "")
    manage.get_by_label("Find the login").fill(email)
    expect(manage.get_by_label("User", exact=True)).to_have_value(
        f"#{cleo.user_id} {email} (customer)"
    )
    deactivate.click()
    asked(
        page, shoot, "deactivate_user", "Yes, deactivate the login",
        f"Deactivate the login #{cleo.user_id} {email} (customer)?",
        f"Customer #{cleo.customer_id} Cleo Customer stays as it is, with every purchase,"
        " ticket and quote; only the portal login stops.",
    )  # fmt: skip


def test_changing_what_was_described_closes_the_question(page, site):
    services, tag = site.services, uuid.uuid4().hex[:6]  # a rerun adds its own
    first = services.customers.add(SYSTEM, "Stale First", f"stale.first.{tag}@example.com")
    second = services.customers.add(SYSTEM, "Stale Second", f"stale.second.{tag}@example.com")
    edit = open_customer(page, first.email)
    edit.get_by_role("button", name="Deactivate", exact=True).click()
    question = page.locator("#confirm-deactivate_customer")
    expect(question).to_contain_text("Stale First")
    open_customer(page, second.email)  # the sentence no longer fits
    expect(question).to_be_hidden()
    assert services.customers.get(SYSTEM, first.id).status == "active"
    assert services.customers.get(SYSTEM, second.id).status == "active"


def test_after_a_sale_the_pickers_are_empty_and_a_search_without_match_says_so(page, site, shoot):
    services, tag = site.services, uuid.uuid4().hex[:6]  # a rerun adds its own
    services.customers.add(SYSTEM, "Nora Next", f"nora.next.{tag}@example.com")
    services.products.add(SYSTEM, f"BRW-NEXT-{tag}", "Next bowl", "4.00", stock_quantity=9)
    new = new_purchase_form(page)
    new.get_by_label("Find customer").fill(f"nora.next.{tag}")
    expect(new.locator("input[aria-label='Customer']")).to_have_value(re.compile("Nora Next"))
    offered = page.get_by_role("option", name=re.compile(f"nora.next.{tag}"))
    new.locator("input[aria-label='Customer']").click()
    expect(offered).to_be_visible()
    new.locator("input[aria-label='Customer']").press("Escape")
    new.get_by_label("Find product").fill(f"BRW-NEXT-{tag}")
    expect(new.locator("input[aria-label='Product']")).to_have_value(re.compile("BRW-NEXT"))
    new.get_by_label("Qty").fill("2")
    new.get_by_label("Discount", exact=True).fill("1.00")
    new.get_by_role("button", name="Add", exact=True).click()
    new.get_by_label("Discount on the whole purchase").fill("5%")
    new.get_by_label("Discount on the whole purchase").press("Enter")
    expect(new).to_contain_text("Total $6.65")
    new.get_by_role("button", name="Confirm purchase").click()
    expect(toast(page, "recorded for Nora Next")).to_be_visible()

    for box in ("Find customer", "Find product", "Discount", "Discount on the whole purchase"):
        expect(new.get_by_label(box, exact=True)).to_have_value("")
    expect(new.locator("input[aria-label='Customer']")).to_have_value("")
    expect(new.locator("input[aria-label='Product']")).to_have_value("")
    expect(new.get_by_label("Qty")).to_have_value("1")
    expect(new).to_contain_text("Add products to see the total.")
    new.locator("input[aria-label='Customer']").click()  # nor offered again
    expect(offered).to_have_count(0)
    new.locator("input[aria-label='Customer']").press("Escape")

    new.get_by_label("Find customer").fill("zz-nobody-qq")
    expect(new).to_contain_text("No active customer matches 'zz-nobody-qq'")
    expect(new.locator("input[aria-label='Customer']")).to_have_value("")
    new.get_by_label("Find product").fill("no-such-sku-qq")
    expect(new).to_contain_text("No active product matches 'no-such-sku-qq'")
    shoot(page, "purchase-pickers-after-sale-and-no-match")
    new.get_by_label("Find customer").fill(f"nora.next.{tag}")  # a match takes the note away
    expect(new.locator("input[aria-label='Customer']")).to_have_value(re.compile("Nora Next"))
    expect(new).not_to_contain_text("No active customer matches")


def test_every_action_that_asks_first_reads_dangerous(open_page, site, tmp_path):
    """Returning units, changing a role and importing a file ask first: the buttons that start
    them read red like Cancel whole purchase and Deactivate, and so do their yes buttons."""
    services = site.services
    buyer = services.customers.add(SYSTEM, "Rita Red", f"rita.red.{uuid.uuid4().hex[:6]}@x.com")
    mug = services.products.add(SYSTEM, f"BRW-RED-{uuid.uuid4().hex[:6]}", "Red mug", "3.00", 5)
    sale = services.purchases.record(SYSTEM, buyer.id, [(mug.id, 2)])
    page = open_page(BROWSER_ADMIN)

    def dangerous(button, yes_label: str, action: str):
        expect(button).to_have_class(STOP)
        expect(button).to_have_css("color", DANGER_TEXT)
        button.click()
        question, _ = asked(page, lambda *_: None, action, yes_label)
        keep_it(question)

    manage = open_purchase(page, sale)
    expect(manage.get_by_label("Line to return")).not_to_have_value("")
    dangerous(
        manage.get_by_role("button", name="Return units"), "Yes, return the units", "return_items"
    )
    assert services.purchases.get(SYSTEM, sale.id).lines[0].returned == 0

    open_tab(page, "Users")
    users = page.locator("#user-manage")
    users.get_by_label("Find the login").fill(BROWSER_ADMIN[0])
    expect(users.get_by_label("User", exact=True)).to_have_value(re.compile(BROWSER_ADMIN[0]))
    dangerous(users.get_by_role("button", name="Set role"), "Yes, change the role", "set_role")

    path = tmp_path / "red.csv"
    path.write_text(f"name,email\nRed Import,red.{uuid.uuid4().hex[:6]}@x.com\n", "utf-8")
    open_tab(page, "Import & export")
    upload(page, path)
    page.locator("#import-check").click()
    expect(page.locator("#import-summary")).to_contain_text("No problems")
    dangerous(page.locator("#import-confirm"), "Yes, import it", "import_run")
