"""Record pages in a real browser: a row click opens the customer's whole relationship."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from crpm.permissions import SYSTEM
from tests.browser.test_browser_dashboard import (
    new_purchase_form,
    open_customer,
    open_found,
    open_tab,
    search_for,
)
from tests.browser.test_browser_data import settled
from tests.browser.test_browser_service_desk import pick
from tests.support import TODAY

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
NOTE_TOASTS_JS = """() => {
  window.crpmToasts = [];
  new MutationObserver(() => document.querySelectorAll('.toast-body').forEach((toast) => {
    if (toast.dataset.noted) return;
    toast.dataset.noted = '1';
    window.crpmToasts.push(toast.innerText);
  })).observe(document.body, {childList: true, subtree: true});
}"""


# (customer, product, units bought, why one came back) for bought_and_returned()
TESS = (("Tess Timeline", "tess.timeline@example.com"), ("BRW-VASE", "Timeline vase", "12.00", 9),
        3, "chipped")  # fmt: skip
PIA = (("Pia <b>Product</b>", "pia.product@example.com"),
       ("BRW-PAGE", "Page <i>lamp</i>", "30.00", 5), 2, "dented")  # fmt: skip


def open_product(page, sku: str) -> None:
    """Find a product by its (unique) SKU on the Products tab, once settled, and click its row."""
    open_tab(page, "Products")
    settled(page)
    search = page.get_by_label("Search products")
    search.fill(sku)
    search.press("Enter")
    expect(page.locator("#products-table-info")).to_contain_text("Products 1–1 of 1")
    page.locator("#products-table").get_by_role("gridcell", name=sku).click()


def bought_and_returned(services, person: tuple, product: tuple, bought: int, reason: str):
    """A customer (name, e-mail) who bought `bought` of a new product (SKU, name, price,
    stock) and returned one of them; returns the customer, the product and the purchase.
    The e-mail and the SKU get a fresh tag, so that a rerun of the test adds its own."""
    tag = uuid.uuid4().hex[:6]
    name, email = person
    local, domain = email.split("@")
    customer = services.customers.add(SYSTEM, name, f"{local}.{tag}@{domain}")
    sku, name, price, stock = product
    item = services.products.add(SYSTEM, f"{sku}-{tag}", name, price, stock_quantity=stock)
    purchase = services.purchases.record(SYSTEM, customer.id, [(item.id, bought)])
    services.purchases.return_items(SYSTEM, purchase.lines[0].id, 1, reason)
    return customer, item, purchase


def test_the_customer_page_shows_the_timeline(page, site, shoot):
    services = site.services
    tess, vase, kept = bought_and_returned(services, *TESS)
    dropped = services.purchases.record(SYSTEM, tess.id, [(vase.id, 1)])
    services.purchases.cancel(SYSTEM, dropped.id)
    ticket = services.desk.raise_ticket(SYSTEM, "Where is my vase", customer_id=tess.id)
    quote = services.desk.request_quote(SYSTEM, [(vase.id, 40)], customer_id=tess.id)

    edit = open_customer(page, tess.email)
    expect(edit.get_by_label("Name *")).to_have_value("Tess Timeline")
    figures = page.locator("#customer-figures")
    expect(figures).to_contain_text("$24.00")  # 3 vases, 1 back; the cancelled one never counts
    expect(figures).to_contain_text("Segment")
    timeline = page.locator("#customer-timeline")
    for what in (
        f"Quote #{quote.id}",
        f"Ticket #{ticket.id}",
        f"Cancelled purchase #{dropped.id}",
        f"Return on purchase #{kept.id}",
        f"Purchase #{kept.id}",
    ):
        expect(timeline.get_by_role("gridcell", name=what, exact=True)).to_be_visible()
    expect(timeline).to_contain_text("Where is my vase")
    rows = timeline.get_by_role("row")  # the first is the headings
    expect(rows.nth(1)).to_contain_text(f"Quote #{quote.id}")  # newest first
    expect(rows.last).to_contain_text(f"Purchase #{kept.id}")
    expect(page.locator("#customer-timeline-info")).to_contain_text("6 events")
    shoot(page, "customer-page-timeline")

    page.locator("#customer-lines").get_by_text("Purchase lines").first.click()
    expect(page.locator("#customer-history")).to_contain_text("Timeline vase")

    # an entry opens the record it names, in its own tab
    timeline.get_by_role("gridcell", name=f"Return on purchase #{kept.id}", exact=True).click()
    expect(page.locator("#purchase-manage")).to_contain_text(f"Purchase #{kept.id}")
    tabs = page.locator("#crpm-tabs > .tab-wrapper")
    expect(tabs.get_by_role("tab", name="Purchases", exact=True)).to_have_attribute(
        "aria-selected", "true"
    )


def test_the_search_box_jumps_to_the_record(page, site, shoot):
    services, tag = site.services, uuid.uuid4().hex[:6]  # a rerun adds its own
    sam = services.customers.add(SYSTEM, "Sam Searchbox", f"sam.searchbox.{tag}@example.com")
    cup = services.products.add(SYSTEM, f"BRW-FIND-{tag}", "Findable cup", "6.00", 9)
    sale = services.purchases.record(SYSTEM, sam.id, [(cup.id, 2)])

    search_for(page, sam.email)
    tabs = page.locator("#crpm-tabs > .tab-wrapper")
    expect(tabs.get_by_role("tab", name="Customers", exact=True)).to_have_attribute(
        "aria-selected", "true"
    )
    expect(page.locator("#customer-header")).to_contain_text("Sam Searchbox")
    expect(page.locator("#customer-timeline")).to_contain_text(f"Purchase #{sale.id}")
    shoot(page, "search-customer")

    search_for(page, sale.invoice_number)
    expect(tabs.get_by_role("tab", name="Purchases", exact=True)).to_have_attribute(
        "aria-selected", "true"
    )
    expect(page.locator("#purchase-manage")).to_contain_text(f"Purchase #{sale.id}")

    # every toast shown from now on is noted (an error toast may be gone by the time we look)
    page.evaluate(NOTE_TOASTS_JS)
    search_for(page, "no-such-record-zq")
    expect(page.locator("#crpm-search-hits")).to_contain_text("Nothing matches 'no-such-record-zq'")
    # an error about no match opened would come before the answer of the next search
    search_for(page, sam.email)
    expect(tabs.get_by_role("tab", name="Customers", exact=True)).to_have_attribute(
        "aria-selected", "true"
    )
    assert page.evaluate("() => window.crpmToasts") == []


def pick_match(page, kind: str, record_id: int):
    """Tap the search box's matches and pick the one of that kind and number; its option must
    be on screen to be tapped (a phone has no room for a list drawn off-screen)."""
    page.locator("#crpm-search-hits").locator("input").click()
    option = page.get_by_role("option", name=re.compile(rf"^{kind} #{record_id} "))
    expect(option).to_be_in_viewport()
    option.click()


def test_on_a_phone_a_found_record_is_in_view_and_the_next_match_can_be_picked(page, site):
    services = site.services
    tag = uuid.uuid4().hex[:8]
    vic = services.customers.add(SYSTEM, f"Vic Viewport {tag}", f"vic.{tag}@example.com")
    lamp = services.products.add(SYSTEM, f"VP-{tag}", f"Viewport {tag} lamp", "8.00")
    ticket = services.desk.raise_ticket(SYSTEM, f"Scroll me {tag}", customer_id=vic.id)
    page.set_viewport_size(PHONE)
    customer, product = page.locator("#customer-header"), page.locator("#product-header")

    search_for(page, tag)  # the customer, then the product: the first opens at once
    expect(customer).to_contain_text(f"Vic Viewport {tag}")
    expect(customer).to_be_in_viewport()
    pick_match(page, "Product", lamp.id)  # the next match, from the same box
    expect(product).to_contain_text(f"Viewport {tag} lamp")
    expect(product).to_be_in_viewport()
    pick_match(page, "Customer", vic.id)  # and back
    expect(customer).to_be_in_viewport()

    open_found(page, "Ticket", ticket.id)  # "#number": every kind's, the first opened at once
    expect(page.locator("#ticket-header")).to_contain_text(f"Scroll me {tag}")
    expect(page.locator("#ticket-header")).to_be_in_viewport()
    page.locator("#desk-ticket").get_by_role("button", name="Open the customer's page").click()
    expect(page.locator("#customer-timeline")).to_contain_text(f"Ticket #{ticket.id}")
    expect(customer).to_contain_text(f"Vic Viewport {tag}")
    expect(customer).to_be_in_viewport()


def test_customers_get_no_search_box(open_page, site):
    services, tag = site.services, uuid.uuid4().hex[:6]  # a rerun adds its own
    email = f"cora.search.{tag}@example.com"
    services.accounts.register_customer("Cora Customer", email, "cora-Secret-44x", "+1 555 0101")
    page = open_page((email, "cora-Secret-44x"))
    expect(page.get_by_role("tab", name="My purchases", exact=True)).to_be_visible()
    expect(page.locator("#crpm-search")).to_be_hidden()


def test_purchases_filter_by_a_picked_customer_and_open_by_a_click(page, site):
    services, tag = site.services, uuid.uuid4().hex[:6]  # a rerun adds its own
    fay = services.customers.add(SYSTEM, "Fay Filter", f"fay.filter.{tag}@example.com")
    bowl = services.products.add(SYSTEM, f"BRW-FILTER-{tag}", "Filter bowl", "5.00", 9)
    sales = [services.purchases.record(SYSTEM, fay.id, [(bowl.id, n)]) for n in (1, 2)]
    new_purchase_form(page)
    page.get_by_label("Of customer").fill(fay.email)
    expect(page.locator("#purchases-table-info")).to_contain_text("Purchases 1–2 of 2")
    table = page.locator("#purchases-table")
    expect(table).to_contain_text("Fay Filter")
    table.get_by_role("gridcell", name=str(sales[0].id), exact=True).click()
    expect(page.locator("#purchase-manage")).to_contain_text(f"Purchase #{sales[0].id}")
    expect(page.locator("#purchase-lines")).to_contain_text("Filter bowl")
    page.get_by_label("Of customer").fill("")  # an emptied picker lists every purchase again
    expect(page.locator("#purchases-table-info")).not_to_contain_text("of 2")


def desk_list(page, sub_tab: str, email: str, queue: str):
    """The desk's list of tickets or quotes, filtered to one customer by their e-mail."""
    open_tab(page, "Service desk")
    settled(page)
    desk = page.locator("#tab-desk")
    desk.get_by_role("tab", name=sub_tab, exact=True).click()
    desk.get_by_label("Of customer").locator("visible=true").fill(email)
    expect(page.locator(f"{queue}-info")).to_contain_text(" of ")
    return page.locator(queue)


def open_from_timeline(page, email: str, what: str) -> None:
    """Open a customer's page, then the timeline entry naming a record ("Ticket #12")."""
    open_customer(page, email)
    timeline = page.locator("#customer-timeline")
    timeline.get_by_role("gridcell", name=what, exact=True).click()


def alignment(cell) -> str:
    """Where a table cell's text sits (the style sheet aligns the text inside the cell)."""
    return cell.evaluate("cell => getComputedStyle(cell.querySelector('span') || cell).textAlign")


def test_a_ticket_has_its_own_page_opened_by_the_queue_the_search_and_the_timeline(
    page, site, shoot
):
    services, tag = site.services, uuid.uuid4().hex[:6]  # a rerun adds its own
    tom = services.customers.add(SYSTEM, "Tom <b>Ticket</b>", f"tom.ticket.{tag}@example.com")
    rattles = f"Lid rattles {tag}"  # the queue's row is found by it
    first = services.desk.raise_ticket(SYSTEM, rattles, "Since the move", customer_id=tom.id)
    services.desk.comment(SYSTEM, first.id, "Ask the supplier", internal=True)
    second = services.desk.raise_ticket(SYSTEM, "Search finds me", customer_id=tom.id)

    queue = desk_list(page, "Tickets", tom.email, "#ticket-queue")
    queue.get_by_role("gridcell", name=rattles, exact=True).click()
    header, figures = page.locator("#ticket-header"), page.locator("#ticket-figures")
    expect(header).to_contain_text(f"Ticket #{first.id} · {rattles}")
    expect(header).to_contain_text("Tom <b>Ticket</b>")  # the name as typed, not as markup
    for shown in ("Open", "Normal", "unassigned", TODAY[:10], TODAY[11:16]):  # a UTC shop
        expect(figures).to_contain_text(shown)
    conversation = page.locator("#ticket-conversation")
    expect(conversation).to_contain_text("Since the move")
    expect(conversation).to_contain_text("Ask the supplier")
    actions = page.locator("#desk-ticket-actions")
    pick(page, actions, "Priority", "Urgent")
    actions.get_by_role("button", name="Set priority").click()
    expect(figures).to_contain_text("Urgent")  # its actions redraw the page
    shoot(page, "ticket-page")

    open_found(page, "Ticket", second.id)  # the search box: '#number'
    expect(header).to_contain_text(f"Ticket #{second.id} · Search finds me")
    tickets_tab = page.locator("#tab-desk").get_by_role("tab", name="Tickets", exact=True)
    expect(tickets_tab).to_have_attribute("aria-selected", "true")

    # the customer is a click away, and their timeline opens the ticket again
    page.locator("#desk-ticket").get_by_role("button", name="Open the customer's page").click()
    expect(page.locator("#customer-header")).to_contain_text("Tom <b>Ticket</b>")
    open_from_timeline(page, tom.email, f"Ticket #{first.id}")
    expect(header).to_contain_text(f"Ticket #{first.id} · {rattles}")
    expect(figures).to_contain_text("Urgent")


def test_a_quote_has_its_own_page_opened_by_the_list_the_search_and_the_timeline(page, site, shoot):
    services, desk = site.services, site.services.desk
    tag = uuid.uuid4().hex[:6]  # a rerun adds its own
    quinn = services.customers.add(SYSTEM, "Quinn Page", f"quinn.page.{tag}@example.com")
    urn = services.products.add(SYSTEM, f"BRW-URN-{tag}", "Quoted urn", "15.00", stock_quantity=9)
    asked = desk.request_quote(SYSTEM, [(urn.id, 2)], "Gift wrap?", customer_id=quinn.id)
    priced = desk.request_quote(SYSTEM, [(urn.id, 3)], customer_id=quinn.id)
    desk.price_quote(SYSTEM, priced.id, {urn.id: "12.00"}, "2026-06-30", "Thursday delivery")

    quotes = desk_list(page, "Quotes", quinn.email, "#quote-queue")  # requested ones first
    quotes.get_by_role("gridcell", name=str(asked.id), exact=True).click()
    header, figures = page.locator("#quote-header"), page.locator("#quote-figures")
    expect(header).to_contain_text(f"Quote #{asked.id} · Quinn Page")
    expect(figures).to_contain_text("Requested")
    expect(figures).to_contain_text("not priced yet")
    expect(page.locator("#desk-quote")).to_contain_text("Gift wrap?")
    accept = page.get_by_role("button", name="Accept for the customer")
    expect(accept).to_be_hidden()  # nothing to accept before it is priced
    expect(page.get_by_role("button", name="Reject for the customer")).to_be_visible()
    expect(page.locator("#quote-prices")).to_be_visible()

    open_found(page, "Quote", priced.id)
    expect(header).to_contain_text(f"Quote #{priced.id} · Quinn Page")
    for shown in ("Priced", "$36.00", "2026-06-30", "to the end of that day"):
        expect(figures).to_contain_text(shown)
    lines = page.locator("#quote-lines")
    expect(lines.get_by_role("row").filter(has_text="Quoted urn")).to_contain_text("$36.00")
    expect(page.locator("#quote-total")).to_contain_text("Total $36.00")
    for money in ("$12.00", "$36.00"):  # unit price, line total: right-aligned as elsewhere
        assert alignment(lines.get_by_role("gridcell", name=money, exact=True)) == "right"
    assert alignment(lines.get_by_role("gridcell", name="Quoted urn", exact=True)) != "right"
    expect(page.locator("#desk-quote")).to_contain_text("Thursday delivery")
    shoot(page, "quote-page-priced")
    accept.click()
    expect(figures).to_contain_text("Accepted")
    expect(accept).to_be_hidden()
    expect(page.locator("#quote-prices")).to_be_hidden()  # an accepted quote is not priced again
    bought = services.desk.get_quote(SYSTEM, priced.id).purchase_id
    purchase = page.locator("#quote-purchase").get_by_role(
        "gridcell", name=f"Purchase #{bought}", exact=True
    )
    expect(purchase).to_be_visible()
    shoot(page, "quote-page-accepted")
    purchase.click()  # the purchase it became, on its page
    expect(page.locator("#purchase-manage")).to_contain_text(f"Purchase #{bought}")

    open_from_timeline(page, quinn.email, f"Quote #{asked.id}")
    expect(header).to_contain_text(f"Quote #{asked.id} · Quinn Page")
    quotes_tab = page.locator("#tab-desk").get_by_role("tab", name="Quotes", exact=True)
    expect(quotes_tab).to_have_attribute("aria-selected", "true")
    page.get_by_role("button", name="Reject for the customer").click()  # it asks first
    question = page.locator("#confirm-reject_quote_for_customer")
    expect(question).to_contain_text(f"Reject quote #{asked.id} of Quinn Page")
    question.get_by_role("button", name="Yes, reject the quote").click()
    expect(figures).to_contain_text("Rejected")
    expect(page.get_by_role("button", name="Reject for the customer")).to_be_hidden()
    assert desk.get_quote(SYSTEM, asked.id).status == "rejected"


def test_a_product_opens_with_its_movements_by_a_click_or_its_sku(page, site):
    services, tag = site.services, uuid.uuid4().hex[:6]  # a rerun adds its own
    jug = services.products.add(SYSTEM, f"BRW-JUG-{tag}", "Open jug", "8.00", stock_quantity=4)
    services.products.restock(SYSTEM, jug.id, 6, "delivery 42")
    open_product(page, jug.sku)
    edit = page.locator("#product-edit")
    expect(edit.get_by_label("Name *")).to_have_value("Open jug")
    expect(edit.get_by_label("In stock")).to_have_value("10")
    expect(page.locator("#movements-table")).to_contain_text("delivery 42")

    open_tab(page, "Customers")
    search_for(page, f"brw-jug-{tag}")  # the SKU, as typed
    expect(edit.get_by_label("Name *")).to_have_value("Open jug")
    expect(page.locator("#movements-table-info")).to_contain_text("Movements 1–2 of 2")


def test_the_ticket_queue_filters_by_a_customer_picked_by_name(page, site):
    services, tag = site.services, uuid.uuid4().hex[:6]  # a rerun adds its own
    una = services.customers.add(SYSTEM, "Una Queue", f"una.queue.{tag}@example.com")
    services.desk.raise_ticket(SYSTEM, "Only Una's ticket", customer_id=una.id)
    open_tab(page, "Service desk")
    tickets = page.locator("#tab-desk")
    expect(page.locator("#ticket-queue-info")).to_contain_text("Tickets 1–")
    tickets.get_by_label("Of customer").first.fill(una.email)
    expect(page.locator("#ticket-queue-info")).to_contain_text("Tickets 1–1 of 1")
    expect(page.locator("#ticket-queue")).to_contain_text("Only Una's ticket")


def test_the_product_page_shows_its_sales_open_quotes_and_ledger(page, site, shoot):
    services = site.services
    pia, lamp, sold = bought_and_returned(services, *PIA)
    quote = services.desk.request_quote(SYSTEM, [(lamp.id, 12)], customer_id=pia.id)

    open_product(page, lamp.sku)
    header = page.locator("#product-header")
    expect(header).to_contain_text(f"Page <i>lamp</i> · {lamp.sku} · #{lamp.id}")  # as typed
    expect(page.locator("#product-figures")).to_contain_text("$30.00")
    sales = page.locator("#product-sales")
    purchase = sales.get_by_role("gridcell", name=f"Purchase #{sold.id}", exact=True)
    expect(purchase).to_be_visible()
    expect(sales).to_contain_text("Pia <b>Product</b>")  # the name as typed, not as markup
    expect(page.locator("#product-sales-info")).to_contain_text("1 sales line")
    quotes = page.locator("#product-quotes")
    expect(quotes.get_by_role("gridcell", name=f"Quote #{quote.id}", exact=True)).to_be_visible()
    expect(page.locator("#movements-table")).to_contain_text("dented")
    expect(page.locator("#product-edit").get_by_label("In stock")).to_have_value("4")
    shoot(page, "product-page")

    purchase.click()  # a sales line opens its purchase, in its own tab
    manage = page.locator("#purchase-manage")
    expect(manage).to_contain_text(f"Purchase #{sold.id}")
    expect(page.locator("#purchase-returns")).to_contain_text("dented")
    shoot(page, "purchase-page-returns")
    manage.get_by_role("button", name="Open the customer's page").click()
    expect(page.locator("#customer-header")).to_contain_text("Pia <b>Product</b>")
    expect(page.locator("#customer-timeline")).to_contain_text(f"Purchase #{sold.id}")
