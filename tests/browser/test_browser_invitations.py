"""A portal invitation in a real browser: staff invite a customer they entered, the customer
opens the link, sets a password, logs in and sees their own portal; the same link a second time
is refused and changes nothing."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from crpm.permissions import SYSTEM
from tests.support import env_hasher, log_out

pytestmark = pytest.mark.browser

PASSWORD = "ingrid-Portal-Secret-9"
CUSTOMER_TABS = ["My purchases", "My tickets", "My quotes", "My account"]


@pytest.fixture
def invitee(site, cheap_passwords, monkeypatch):
    """A customer staff entered, with no login yet (cheap password hashing while it runs); a
    fresh e-mail each run, so that a rerun of the test adds its own."""
    services = site.services
    monkeypatch.setattr(services.accounts, "hasher", env_hasher())
    email = f"ingrid.invitee.{uuid.uuid4().hex[:6]}@example.com"
    return services.customers.add(SYSTEM, "Ingrid Invitee", email)


def invite(page, customer) -> str:
    """As staff: find the customer, open them, press Invite; the link the page shows."""
    page.get_by_role("tab", name="Customers", exact=True).click()
    page.get_by_label("Search customers").fill(customer.email)
    page.get_by_label("Search customers").press("Enter")
    table = page.locator("#customers-table")
    table.get_by_role("gridcell").filter(has_text=customer.email).first.click()
    edit = page.locator("#customer-edit")
    expect(edit.get_by_label("Name *")).to_have_value(customer.name)
    edit.get_by_role("button", name="Invite to the portal").click()
    link = page.locator("#invitation-link").locator("input, textarea")
    expect(link).to_have_value(re.compile(r"^http://127\.0\.0\.1:\d+/invite\?token=[\w-]{40,}$"))
    expect(page.locator("#invitation-note")).to_contain_text(customer.email)
    return link.input_value()


def open_refused_link(page, link: str) -> None:
    """Open a link that cannot be used: the page answers 410 Gone, which Chromium reports on
    the console; that one expected line is taken off the console errors."""
    before = len(page.crpm_problems.console)
    page.goto(link)
    expect(page.get_by_role("heading", name="This invitation link cannot be used")).to_be_visible()
    gone = "Failed to load resource: the server responded with a status of 410 (Gone)"
    assert page.crpm_problems.console[before:] == [gone]
    del page.crpm_problems.console[before:]


def test_an_invitation_link_works_once_and_then_never(page, site, invitee, shoot):
    link = invite(page, invitee)
    shoot(page, "customers-invitation-link")
    log_out(page)

    page.goto(link)
    expect(page.get_by_role("heading", name=f"Welcome, {invitee.name}")).to_be_visible()
    expect(page.locator("#username")).to_have_value(invitee.email)
    page.locator("#password").fill(PASSWORD)
    page.locator("#confirm").fill(PASSWORD)
    shoot(page, "invitation-set-password")
    page.get_by_role("button", name="Set password").click()
    expect(page.get_by_text("Your password is set.")).to_be_visible()

    page.locator("#username").fill(invitee.email)
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".crpm-who").last).to_contain_text(invitee.email)
    for name in CUSTOMER_TABS:
        expect(page.get_by_role("tab", name=name, exact=True)).to_be_visible()
    expect(page.get_by_role("tab", name="Customers", exact=True)).to_have_count(0)
    page.get_by_role("tab", name="My account", exact=True).click()
    expect(page.get_by_label("Name", exact=True)).to_have_value(invitee.name)
    shoot(page, "invitation-customer-portal")
    log_out(page)

    logins = site.services.store.query("SELECT * FROM users WHERE customer_id = ?", (invitee.id,))
    open_refused_link(page, link)
    expect(page.get_by_text("was used already")).to_be_visible()
    expect(page.locator("#password")).to_have_count(0)
    shoot(page, "invitation-used-link")
    after = site.services.store.query("SELECT * FROM users WHERE customer_id = ?", (invitee.id,))
    assert [tuple(row) for row in after] == [tuple(row) for row in logins]
    assert len(after) == 1 and after[0]["username"] == invitee.email
