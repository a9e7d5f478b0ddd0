"""Tables that fit: every table on every tab, for an admin and a customer, on a 1366×900 screen
and a 390×844 phone, measured in the page as it is drawn.

At 1366 px every heading lies inside its table's scroll box (or the table does not scroll
sideways), no cell clips what it holds, and no heading breaks inside a word ("Tot al"). On the
phone a wide table may scroll sideways, but its key columns (the first ones) are in view.
The known offenders are filled in first: a cart line short of stock, a loaded purchase's lines,
a quote and a ticket with long text. Screenshots of each tab go to tests/artifacts/.
"""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from crpm.permissions import SYSTEM
from crpm.ui import TABS, tabs_for
from tests.browser.test_browser_data import settled
from tests.support import BROWSER_ADMIN

pytestmark = pytest.mark.browser

VIEWS = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
KEY_COLUMNS = 2  # what a phone must show of a table before scrolling sideways
LONG_TEXT = (
    "Twelve matching table cloths in dark blue, delivered before the end of the month to our"
    " second shop in the old town, and an offer for engraving every mug with our logo"
)

# Each drawn table: its name, whether it scrolls sideways, and per heading whether it lies
# inside the scroll box and whether its text wraps inside a word (a line starts after a
# letter); plus how many of its cells clip their text (the clicked cell's selection handle,
# which sticks out on purpose, aside).
MEASURE_JS = r"""(scope) => {
  const breaksInsideAWord = (element) => {
    const text = [...element.childNodes].find((node) => node.nodeType === Node.TEXT_NODE);
    if (!text) return false;
    const range = document.createRange();
    let top = null;
    for (let i = 0; i < text.length; i++) {
      range.setStart(text, i);
      range.setEnd(text, i + 1);
      const box = range.getClientRects()[0];
      if (!box) continue;
      const wrapped = top !== null && box.top > top + 2;
      if (wrapped && !/[\s\-\/]/.test(text.data[i - 1]) && !/\s/.test(text.data[i])) return true;
      top = box.top;
    }
    return false;
  };
  const drawn = [...scope.querySelectorAll('.virtual-table-viewport')]
    .filter((box) => box.offsetParent !== null);
  return drawn.map((box) => {
    const frame = box.getBoundingClientRect();
    const block = box.closest('.block');
    return {
      name: block.id || block.querySelector('.label p')?.textContent || '(unnamed)',
      scrolls: box.scrollWidth > box.clientWidth + 1,
      clipped: [...box.querySelectorAll('.virtual-row .body-cell:not(.cell-selected)')]
        .filter((cell) => cell.scrollWidth > cell.clientWidth + 1).length,
      headings: [...box.querySelectorAll('thead th')].map((th) => {
        const edge = th.getBoundingClientRect();
        return {
          text: th.innerText.trim(),
          inside: edge.left >= frame.left - 1 && edge.right <= frame.left + box.clientWidth + 1,
          midWord: breaksInsideAWord(th.querySelector('span.header') || th),
        };
      }),
    };
  });
}"""


@pytest.fixture(scope="module")
def offenders(site):
    """What made tables overflow before: a long product name short of stock, a quote and a
    ticket with long text; and a customer login with a purchase, a quote and a ticket."""
    services, tag = site.services, uuid.uuid4().hex[:6]
    product = services.products.add(
        SYSTEM, f"FIT-{tag}", "Fitting floor lamp with a rather long name", "1234.50", 2
    )
    login = (f"fit.{tag}@example.com", "browser-Fitting-Secret-4q")
    customer = services.accounts.register_customer("Fiona Fitting", *login, "+1 555 0199")
    services.purchases.record(SYSTEM, customer.customer_id, [(product.id, 1)])
    services.desk.request_quote(customer, [(product.id, 3)], LONG_TEXT)
    services.desk.raise_ticket(customer, LONG_TEXT[:120], LONG_TEXT, "product", "high")
    return product, login


def show_tab(page, key: str, label: str):
    """Open a tab of the dashboard; a phone keeps the tabs that do not fit in a menu.

    The bar decides what overflows only once it is drawn, so look again until the tab is in
    the bar or in the menu rather than deciding on a page still settling.
    """
    tab = page.locator(f"#crpm-tabs [role=tab][data-tab-id={key}]")
    more = page.get_by_role("button", name="More tabs").first  # the main bar's menu comes first
    exactly = re.compile(f"^{re.escape(label)}$")
    entry = page.locator("#crpm-tabs .overflow-dropdown button").filter(has_text=exactly).first
    expect(page.locator("#crpm-tabs [role=tab]").first).to_be_visible()
    for _ in range(10):
        if tab.is_visible():
            tab.click()
            break
        if entry.is_visible():
            entry.click()
            break
        if more.is_visible():
            more.click()
        page.wait_for_timeout(500)
    expect(page.locator(f"#tab-{key}")).to_be_visible()
    settled(page)


def fill_the_cart(page, product):
    """A cart line asking for more than the stock: the Stock column says so."""
    new = page.locator("#purchase-new")
    new.get_by_label("Find product").press_sequentially(product.sku)
    expect(new.locator("input[aria-label='Product']")).to_have_value(re.compile(product.sku))
    new.get_by_label("Qty").fill("5")
    new.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator("#purchase-cart")).to_contain_text("⚠ only 1 in stock")


def load_a_purchase(page):
    page.locator("#purchases-table").get_by_role("gridcell").first.click()
    expect(page.locator("#purchase-lines").get_by_role("gridcell").first).to_be_visible()


def misfits(page, scope: str, view: str) -> tuple[list[str], list[str]]:
    """(the tables measured, what does not fit) in the scope, by the view's rule."""
    tables = page.locator(scope).evaluate(MEASURE_JS)
    found = []
    for table in tables:
        name, headings = table["name"], table["headings"]
        found += [
            f"{name}: heading {heading['text']!r} breaks inside a word"
            for heading in headings
            if heading["midWord"]
        ]
        if view == "desktop":
            if table["scrolls"]:
                found += [
                    f"{name}: column {heading['text']!r} is outside the table's box"
                    for heading in headings
                    if not heading["inside"]
                ]
            if table["clipped"]:
                found.append(f"{name}: {table['clipped']} cells clip their text")
        else:
            found += [
                f"{name}: key column {heading['text']!r} is not in view"
                for heading in headings[:KEY_COLUMNS]
                if not heading["inside"]
            ]
    return [table["name"] for table in tables], found


def tour(page, shoot, actor, view: str, who: str, prepare: dict) -> tuple[set, list]:
    """Every tab of the actor's role: prepared, measured, photographed."""
    labels = {tab.key: tab.label for tab in TABS}
    measured, found = set(), []
    for key in tabs_for(actor):
        show_tab(page, key, labels[key])
        for step in prepare.get(key, []):
            step(page)
        settled(page)
        names, problems = misfits(page, f"#tab-{key}", view)
        measured.update(names)
        found += [f"{view} {who} {labels[key]}: {problem}" for problem in problems]
        shoot(page, f"tables-{view}-{who}-{key}")
    return measured, found


@pytest.mark.parametrize("view", VIEWS)
def test_every_table_fits_on_every_tab(open_page, site, shoot, offenders, view):
    product, customer_login = offenders
    services = site.services
    admin = open_page(BROWSER_ADMIN, VIEWS[view])
    prepare = {
        "purchases": [lambda page: fill_the_cart(page, product), load_a_purchase],
        "desk": [lambda page: expect(page.locator("#ticket-queue")).to_contain_text("Twelve")],
    }
    measured, found = tour(
        admin, shoot, services.accounts.actor_for("admin"), view, "admin", prepare
    )
    show_tab(admin, "desk", "Service desk")
    admin.locator("#tab-desk").get_by_role("tab", name="Quotes", exact=True).click()
    expect(admin.locator("#quote-queue")).to_contain_text("Twelve matching")
    names, problems = misfits(admin, "#tab-desk", view)
    measured.update(names)
    found += [f"{view} admin Quotes: {problem}" for problem in problems]
    shoot(admin, f"tables-{view}-admin-desk-quotes")

    customer = open_page(customer_login, VIEWS[view])
    names, problems = tour(
        customer, shoot, services.accounts.actor_for(customer_login[0]), view, "customer", {}
    )
    measured.update(names)
    found += problems

    known = {
        "customers-table", "products-table", "purchases-table", "purchase-cart",
        "purchase-lines", "ticket-queue", "quote-queue", "users-table", "audit-table",
        "my-purchases", "my-tickets", "my-quotes",
    }  # fmt: skip
    assert known <= measured, f"not measured: {sorted(known - measured)}"
    assert found == [], "\n".join(found)
