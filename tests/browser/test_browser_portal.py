"""The customer's portal in Chromium, on a 1366×900 screen and a 390×844 phone.

A quote's Accept and Reject buttons follow its status (none before a quote is opened, no Accept
on a quote not priced yet), accepting and rejecting ask first and change nothing until
confirmed, accepting places the order and the buttons go; the login e-mail is plain text that
wraps only at sensible points, and the portal speaks to the customer, not in staff words.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from crpm.clock import FixedClock
from crpm.permissions import SYSTEM
from tests.browser.test_browser_dashboard import open_found
from tests.browser.test_browser_data import settled
from tests.browser.test_browser_tables import VIEWS, show_tab
from tests.support import TODAY

pytestmark = pytest.mark.browser

PASSWORD = "portal-Browser-Secret-7w"

# Where the text of `element` wraps onto a new line: the characters on either side of every
# break, over all its text nodes in order (an address split by <wbr> is several nodes).
WRAPS_JS = r"""(element) => {
  const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
  const chars = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (let i = 0; i < node.length; i++) chars.push([node, i]);
  }
  const range = document.createRange();
  const wraps = [];
  let top = null;
  chars.forEach(([node, i], n) => {
    range.setStart(node, i);
    range.setEnd(node, i + 1);
    const box = range.getClientRects()[0];
    if (!box) return;
    if (top !== null && box.top > top + 2) {
      const [before, at] = chars[n - 1];
      wraps.push(before.data[at] + node.data[i]);
    }
    top = box.top;
  });
  return wraps;
}"""


def sensible(wrap: str) -> bool:
    """A line may end after a space, "@" or "-", or break before a "."."""
    before, after = wrap
    return before.isspace() or before in "@-" or after in ". "


@pytest.fixture
def customer(site):
    """A customer with a long e-mail login, one quote not priced yet and one priced."""
    services, tag = site.services, uuid.uuid4().hex[:6]
    email = f"alexandra.longname-smithson.{tag}@example-company.co.uk"
    actor = services.accounts.register_customer("Alexandra Portal", email, PASSWORD, "")
    lamp = services.products.add(SYSTEM, f"PTL-{tag}", "Portal lamp", "15.00", stock_quantity=9)
    unpriced = services.desk.request_quote(actor, [(lamp.id, 1)], f"waiting {tag}")
    priced = services.desk.request_quote(actor, [(lamp.id, 2)], f"offered {tag}")
    staff = services.accounts.actor_for("clerk")
    until = (FixedClock(TODAY).utc_day() + timedelta(days=14)).isoformat()
    services.desk.price_quote(staff, priced.id, {lamp.id: "12.00"}, until, "Ready for you")
    return email, unpriced, priced


def quote_row(page, quote):
    return page.locator("#my-quotes").get_by_role("row").filter(has_text=quote.request_text)


def open_quote(page, quote):
    quote_row(page, quote).get_by_role("gridcell").first.click()
    expect(page.locator(f"#quote-{quote.id}")).to_be_visible()
    settled(page)


@pytest.mark.parametrize("view", ["desktop", "phone"])
def test_quote_answers_follow_the_status_and_ask_first(open_page, site, customer, view, shoot):
    email, unpriced, priced = customer
    desk = site.services.desk
    page = open_page((email, PASSWORD), VIEWS[view])
    show_tab(page, "my_quotes", "My quotes")
    card = page.locator("#quote-view")
    accept = card.get_by_role("button", name="Accept and buy")
    reject = card.get_by_role("button", name="Reject", exact=True)
    expect(accept).to_be_hidden()  # nothing to answer before a quote is opened
    expect(reject).to_be_hidden()

    open_quote(page, unpriced)
    expect(card).to_contain_text("requested")
    expect(accept).to_be_hidden()  # not priced yet: nothing to accept
    expect(reject).to_be_visible()
    expect(card).not_to_contain_text(f"#{unpriced.customer_id} ")  # no "customer #id"

    open_quote(page, priced)
    expect(card).to_contain_text("$24.00")
    expect(accept).to_be_visible()
    accept.click()
    question = page.locator("#confirm-accept_quote")
    expect(question).to_contain_text(f"Accept quote #{priced.id}")
    expect(question).to_contain_text("quoted total of $24.00")
    shoot(page, f"portal-accept-question-{view}")
    question.get_by_role("button", name="No, keep it").click()
    expect(question).to_be_hidden()
    settled(page)
    kept = desk.get_quote(SYSTEM, priced.id)
    assert (kept.status, kept.purchase_id) == ("priced", None)  # declining changed nothing
    expect(accept).to_be_visible()

    accept.click()
    question.get_by_role("button", name="Yes, accept and buy").click()
    expect(page.locator(".toast-body").filter(has_text="your order #").first).to_be_visible()
    expect(accept).to_be_hidden()  # accepted: nothing left to answer
    expect(reject).to_be_hidden()
    bought = desk.get_quote(SYSTEM, priced.id)
    assert bought.status == "accepted" and bought.purchase_id is not None
    assert site.services.purchases.get(SYSTEM, bought.purchase_id).total_cents == 2400
    expect(card).to_contain_text(f"Your order: #{bought.purchase_id}")
    expect(quote_row(page, priced)).to_contain_text("accepted")
    expect(page.locator("#tab-my_quotes")).to_contain_text("Your quotes")
    shoot(page, f"portal-quote-accepted-{view}")

    open_quote(page, unpriced)
    reject.click()
    question = page.locator("#confirm-reject_quote")
    expect(question).to_contain_text(f"Reject quote #{unpriced.id}?")
    expect(question).to_contain_text("The shop is told")
    expect(question).to_contain_text("cannot be undone")
    question.get_by_role("button", name="Yes, reject the quote").click()
    expect(reject).to_be_hidden()
    assert desk.get_quote(SYSTEM, unpriced.id).status == "rejected"


@pytest.mark.parametrize("view", ["desktop", "phone"])
def test_the_login_email_is_plain_text_that_wraps_at_sensible_points(
    open_page, customer, view, shoot
):
    email = customer[0]
    page = open_page((email, PASSWORD), VIEWS[view])
    who = page.locator(".crpm-who p").last
    expect(who).to_contain_text(email)
    shoot(page, f"portal-header-{view}")
    assert page.locator("a[href^='mailto:']").count() == 0
    wraps = who.evaluate(WRAPS_JS)
    assert len(wraps) <= 3 and all(map(sensible, wraps)), wraps  # never letter by letter
    box = who.bounding_box()
    assert box["width"] >= 200, box  # a line of its own on the phone, not a sliver
    show_tab(page, "account", "My account")
    summary = page.locator("#account-summary")
    expect(summary).to_contain_text(email)
    expect(summary).to_contain_text("your customer number is")
    expect(summary).not_to_contain_text("customer #")
    assert page.locator("a[href^='mailto:']").count() == 0
    wraps = summary.locator("p").first.evaluate(WRAPS_JS)
    assert len(wraps) <= 3 and all(map(sensible, wraps)), wraps


def test_accept_and_reject_never_ask_at_the_same_time(open_page, site, customer):
    """Opening the Accept question closes the Reject one and back; on the desk, accepting for
    the customer closes the question about rejecting."""
    email, _, priced = customer
    page = open_page((email, PASSWORD))
    show_tab(page, "my_quotes", "My quotes")
    open_quote(page, priced)
    card = page.locator("#quote-view")
    accepting, rejecting = (
        page.locator("#confirm-accept_quote"),
        page.locator("#confirm-reject_quote"),
    )
    card.get_by_role("button", name="Accept and buy").click()
    expect(accepting).to_be_visible()
    card.get_by_role("button", name="Reject", exact=True).click()
    expect(rejecting).to_be_visible()
    expect(accepting).to_be_hidden()
    card.get_by_role("button", name="Accept and buy").click()
    expect(accepting).to_be_visible()
    expect(rejecting).to_be_hidden()
    assert site.services.desk.get_quote(SYSTEM, priced.id).status == "priced"

    staff = open_page()
    open_found(staff, "Quote", priced.id)
    quote = staff.locator("#desk-quote")
    expect(quote).to_contain_text(f"#{priced.id}")
    quote.get_by_role("button", name="Reject for the customer").click()
    question = staff.locator("#confirm-reject_quote_for_customer")
    expect(question).to_be_visible()
    quote.get_by_role("button", name="Accept for the customer").click()
    expect(question).to_be_hidden()
    settled(staff)
    assert site.services.desk.get_quote(SYSTEM, priced.id).status == "accepted"
