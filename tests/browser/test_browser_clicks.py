"""A click fires only the events its view needs: each queue event is a round trip from the
browser, so a sale or an added record is one event for the change and everything it redraws,
the list and the emptied pickers included. The list a change
draws is for the filters at its click: when they changed meanwhile, or a fetch of the list was
still on its way, the list is fetched again, so the last list drawn follows the filters."""

from __future__ import annotations

import json
import re
import threading
import uuid

import pytest
from playwright.sync_api import expect

from crpm.permissions import SYSTEM
from crpm.ui import purchases as purchases_ui
from tests.browser.test_browser_dashboard import (
    add_customer_form,
    add_product_form,
    caption,
    cell,
    new_purchase_form,
    open_customer,
    open_tab,
    search_for,
    toast,
)
from tests.browser.test_browser_data import settled
from tests.browser.test_browser_records import open_product

pytestmark = pytest.mark.browser

WAIT_S = 60  # a bound against a hung test only; nothing below waits for time to pass
JOIN = "/gradio_api/queue/join"
SENTINEL = "search_records"  # the search box at the top: a round trip sent after the click's


class Joins:
    """The queue events the page sends, by the name its config gives their handler."""

    def __init__(self, page, url: str):
        config = page.request.get(f"{url}config").json()
        self.events = {dep["id"]: dep for dep in config["dependencies"]}
        self.names = {number: dep.get("api_name") for number, dep in self.events.items()}
        self.ids: list[int] = []
        self.sent: list[str] = []
        page.on("request", self.watch)

    def watch(self, request) -> None:
        if JOIN in request.url and request.post_data:
            fn_index = json.loads(request.post_data).get("fn_index")
            self.ids.append(fn_index)
            self.sent.append(self.names.get(fn_index) or f"#{fn_index}")

    def after_click(self, page, mark: int) -> list[str]:
        """The events sent since `mark` up to a round trip asked for once the click's outcome
        is drawn and the page is quiet: whatever the click chained went out before it."""
        settled(page)
        probe = f"no-such-record-{uuid.uuid4().hex[:8]}"
        search_for(page, probe)
        expect(page.locator("#crpm-search-hits")).to_contain_text(f"Nothing matches '{probe}'")
        sent = self.sent[mark:]
        assert SENTINEL in sent, sent
        return sent[: sent.index(SENTINEL)]


def handler(name: str) -> str:
    return re.sub(r"_\d+$", "", name)


def test_confirm_purchase_is_one_event_and_the_views_own_fetches(page, site):
    services = site.services
    tag = uuid.uuid4().hex[:6]
    services.customers.add(SYSTEM, f"Trip Buyer {tag}", f"trip.{tag}@example.com")
    skus = [f"TRP-{tag}-{n}" for n in range(3)]
    for sku in skus:
        services.products.add(SYSTEM, sku, f"Trip thing {sku}", "3.00", stock_quantity=9)
    joins = Joins(page, site.url)
    new = new_purchase_form(page)
    new.get_by_label("Find customer").fill(f"trip.{tag}")
    expect(new.locator("input[aria-label='Customer']")).to_have_value(re.compile("Trip Buyer"))
    for number, sku in enumerate(skus, start=1):
        new.get_by_label("Find product").fill(sku)
        expect(new.locator("input[aria-label='Product']")).to_have_value(re.compile(sku))
        new.get_by_role("button", name="Add", exact=True).click()
        expect(new).to_contain_text(f"{number} line")
    expect(new).to_contain_text("Total $9.00")
    settled(page)

    mark = len(joins.sent)
    new.get_by_role("button", name="Confirm purchase").click()
    expect(toast(page, f"recorded for Trip Buyer {tag}")).to_be_visible()
    purchase = services.purchases.list(SYSTEM, limit=1).items[0]
    expect(page.locator("#purchase-details")).to_contain_text(f"Purchase #{purchase['id']}")
    expect(new).to_contain_text("Add products to see the total.")
    table = page.locator("#purchases-table")
    expect(table.get_by_role("gridcell").filter(has_text=f"Trip Buyer {tag}").first).to_be_visible()
    sent = joins.after_click(page, mark)

    # The sale, the emptied cart and pickers, the new purchase and the list in one event: the
    # pickers emptied ask for no search.
    assert [handler(name) for name in sent] == ["record_purchase_in_one_trip"], sent


def one_line_cart(page, services, buyer: str, product: tuple[str, str], price: str):
    """The new purchase form with a new customer named `buyer` picked and one unit of a new
    product (SKU, name) at `price` in the cart."""
    email = f"{buyer.lower().replace(' ', '.')}@example.com"
    services.customers.add(SYSTEM, buyer, email)
    services.products.add(SYSTEM, *product, price, stock_quantity=9)
    new = new_purchase_form(page)
    new.get_by_label("Find customer").fill(email)
    expect(new.locator("input[aria-label='Customer']")).to_have_value(re.compile(buyer))
    new.get_by_label("Find product").fill(product[0])
    expect(new.locator("input[aria-label='Product']")).to_have_value(re.compile(product[0]))
    new.get_by_role("button", name="Add", exact=True).click()
    expect(new).to_contain_text(f"Total ${price}")
    return new


class HeldPreview:
    """Stands in for the cart's pricing: held on the server until `release`."""

    def __init__(self, service):
        self.original = service.preview
        self.held = threading.Event()
        self.released = threading.Event()
        self.done = threading.Event()

    def preview(self, actor, lines, discount=None):
        self.held.set()
        try:
            assert self.released.wait(WAIT_S), "the held pricing was never released"
            return self.original(actor, lines, discount)
        finally:
            self.done.set()


def test_a_repricing_still_running_when_the_sale_is_confirmed_never_lands(page, site, monkeypatch):
    """Leaving the discount box for Confirm prices the cart again (blur); the sale cancels
    that pricing, or its answer, landing after the sale, would show the sold cart again."""
    services = site.services
    tag = uuid.uuid4().hex[:6]
    sku = f"BLR-{tag}"
    new = one_line_cart(page, services, f"Blur Buyer {tag}", (sku, f"Blur thing {tag}"), "10.00")
    new.get_by_label("Discount on the whole purchase").fill("10%")
    settled(page)

    held = HeldPreview(services.purchases)
    monkeypatch.setattr(services.purchases, "preview", held.preview)
    new.get_by_role("button", name="Confirm purchase").click()  # the box's blur prices first
    assert held.held.wait(WAIT_S), "leaving the discount box did not price the cart"
    expect(toast(page, f"recorded for Blur Buyer {tag}")).to_be_visible()
    expect(new).to_contain_text("Add products to see the total.")
    held.released.set()
    assert held.done.wait(WAIT_S)
    search_for(page, f"no-such-record-{uuid.uuid4().hex[:8]}")  # a round trip behind it
    expect(page.locator("#crpm-search-hits")).to_contain_text("Nothing matches")
    settled(page)
    expect(page.locator("#purchase-cart")).not_to_contain_text(sku)
    expect(new).to_contain_text("Add products to see the total.")


def test_an_add_still_running_when_the_sale_is_confirmed_never_brings_the_cart_back(
    page, site, monkeypatch
):
    """An Add on the server at Confirm answers with the cart it was given plus its line: the
    sale cancels it, or the sold lines would be back in the cart, ready to be sold again."""
    services = site.services
    tag = uuid.uuid4().hex[:6]
    services.customers.add(SYSTEM, f"Add Buyer {tag}", f"add.{tag}@example.com")
    sold, late = f"ADS-{tag}", f"ADL-{tag}"
    for sku in (sold, late):
        services.products.add(SYSTEM, sku, f"Add thing {sku}", "4.00", stock_quantity=9)
    new = new_purchase_form(page)
    new.get_by_label("Find customer").fill(f"add.{tag}")
    expect(new.locator("input[aria-label='Customer']")).to_have_value(re.compile("Add Buyer"))
    new.get_by_label("Find product").fill(sold)
    expect(new.locator("input[aria-label='Product']")).to_have_value(re.compile(sold))
    new.get_by_role("button", name="Add", exact=True).click()
    expect(new).to_contain_text("Total $4.00")
    new.get_by_label("Find product").fill(late)
    expect(new.locator("input[aria-label='Product']")).to_have_value(re.compile(late))
    settled(page)

    held, released = threading.Event(), threading.Event()
    original = purchases_ui.normalise_lines

    def held_lines(lines):
        held.set()
        assert released.wait(WAIT_S), "the held Add was never released"
        return original(lines)

    monkeypatch.setattr(purchases_ui, "normalise_lines", held_lines)
    new.get_by_role("button", name="Add", exact=True).click()
    assert held.wait(WAIT_S), "Add never reached the server"
    new.get_by_role("button", name="Confirm purchase").click()
    expect(toast(page, f"recorded for Add Buyer {tag}")).to_be_visible()
    expect(new).to_contain_text("Add products to see the total.")
    released.set()
    search_for(page, f"no-such-record-{uuid.uuid4().hex[:8]}")  # a round trip behind it
    expect(page.locator("#crpm-search-hits")).to_contain_text("Nothing matches")
    settled(page)
    expect(page.locator("#purchase-cart")).not_to_contain_text(sold)
    expect(new).to_contain_text("Add products to see the total.")


def test_add_customer_is_one_event(page, site):
    tag = uuid.uuid4().hex[:6]
    joins = Joins(page, site.url)
    form = add_customer_form(page)
    expect(caption(page, "#customers-table")).to_contain_text(re.compile(r"Customers 1–\d+ of"))
    # Twice: the second add follows a list the first one drew, not one the list fetched.
    for number in (1, 2):
        page.get_by_role("button", name="Add a customer").click()
        form.get_by_label("Name *").fill(f"Tina Trip {tag} {number}")
        form.get_by_label("E-mail *").fill(f"tina.{tag}.{number}@example.com")
        settled(page)

        mark = len(joins.sent)
        form.get_by_role("button", name="Add customer").click()
        expect(toast(page, f"Tina Trip {tag} {number} added")).to_be_visible()
        email = f"tina.{tag}.{number}@example.com"
        expect(page.locator("#customer-header")).to_contain_text(email)
        expect(form).to_be_hidden()
        table = page.locator("#customers-table")
        expect(table.get_by_role("gridcell").filter(has_text=email)).to_be_visible()
        sent = joins.after_click(page, mark)

        # The add, the emptied form, the new customer's page and the list's last page.
        assert [handler(name) for name in sent] == ["add_customer_in_one_trip"], sent


class HeldOnce:
    """Stands in for a service method: its first call that `holds` is kept on the server
    until `released`, before it runs or, `answer_first`, with its answer ready; every other
    call runs at once."""

    def __init__(self, service, method: str, holds, answer_first: bool = False):
        self.original = getattr(service, method)
        self.holds, self.answer_first = holds, answer_first
        self.held = threading.Event()
        self.released = threading.Event()
        self.lock = threading.Lock()

    def __call__(self, *args, **kwargs):
        with self.lock:
            hold = not self.held.is_set() and self.holds(*args, **kwargs)
            if hold:
                self.held.set()
        answer = self.original(*args, **kwargs) if self.answer_first else None
        if hold:
            assert self.released.wait(WAIT_S), "the held call was never released"
        return answer if self.answer_first else self.original(*args, **kwargs)


def reached(page, held: HeldOnce) -> bool:
    """Whether the held call reached the server, waited for in Playwright's own waits: the
    page's requests go through this test's routing, which runs only while Playwright does."""
    for _ in range(WAIT_S * 10):
        if held.held.is_set():
            return True
        page.wait_for_timeout(100)
    return False


def fill_customer_form(page, name: str, email: str):
    form = add_customer_form(page)
    form.get_by_label("Name *").fill(name)
    form.get_by_label("E-mail *").fill(email)
    settled(page)
    return form


def filter_customers(page, text: str):
    box = page.locator("#tab-customers").get_by_label("Search customers")
    box.fill(text)
    box.press("Enter")


def test_a_filter_changed_while_an_add_runs_is_followed_by_the_list(page, site, monkeypatch):
    """The add draws the list as the filters were at its click; the search typed while it
    ran fetches the list on its own, and the add's older list, landing last, is not the end:
    the list is fetched again for the search."""
    services, tag = site.services, uuid.uuid4().hex[:6]
    email = f"held.{tag}@example.com"
    form = fill_customer_form(page, f"Held Add {tag}", email)
    held = HeldOnce(services.customers, "add", lambda *args, **kwargs: True)
    monkeypatch.setattr(services.customers, "add", held)
    form.get_by_role("button", name="Add customer").click()
    assert reached(page, held), "the add never reached the server"
    filter_customers(page, f"Held Add {tag}")
    info = caption(page, "#customers-table")
    expect(info).to_contain_text("No customers match these filters.")  # not added yet
    held.released.set()
    expect(toast(page, f"Held Add {tag} added")).to_be_visible()
    expect(info).to_contain_text("Customers 1–1 of 1")
    settled(page)
    expect(info).to_contain_text("Customers 1–1 of 1")
    rows = page.locator("#customers-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(email)


def test_a_fetch_on_its_way_when_an_add_is_clicked_does_not_have_the_last_word(
    page, site, monkeypatch
):
    """A fetch of the list asked for before the add, held on the server until after the add's
    own list has landed, answers without the new customer; the list is fetched once more."""
    services, tag = site.services, uuid.uuid4().hex[:6]
    email = f"late.{tag}@example.com"
    form = fill_customer_form(page, f"Late Fetch {tag}", email)
    held = HeldOnce(
        services.customers,
        "list",
        lambda *args, search="", **kwargs: tag in (search or ""),
        answer_first=True,  # the answer from before the add
    )
    monkeypatch.setattr(services.customers, "list", held)
    filter_customers(page, f"Late Fetch {tag}")
    assert reached(page, held), "the search's fetch never reached the server"
    form.get_by_role("button", name="Add customer").click()
    expect(toast(page, f"Late Fetch {tag} added")).to_be_visible()
    info = caption(page, "#customers-table")
    expect(info).to_contain_text("Customers 1–1 of 1")  # the add's own list
    held.released.set()
    search_for(page, f"no-such-record-{uuid.uuid4().hex[:8]}")  # a round trip behind it
    expect(page.locator("#crpm-search-hits")).to_contain_text("Nothing matches")
    settled(page)
    expect(info).to_contain_text("Customers 1–1 of 1")
    expect(page.locator("#customers-table tbody tr").first).to_contain_text(email)


def test_add_product_is_one_event(page, site):
    tag = uuid.uuid4().hex[:6].upper()
    joins = Joins(page, site.url)
    open_tab(page, "Products")
    expect(caption(page, "#products-table")).to_contain_text(re.compile(r"Products 1–\d+ of"))
    form = add_product_form(page)
    form.get_by_label("SKU *").fill(f"TRIP-{tag}")
    form.get_by_label("Name *").fill(f"Trip kettle {tag}")
    form.get_by_label("Category").fill(f"Trips {tag}")
    form.get_by_label("Unit price *").fill("30.00")
    settled(page)

    mark = len(joins.sent)
    form.get_by_role("button", name="Add product").click()
    expect(toast(page, f"TRIP-{tag}")).to_be_visible()
    expect(page.locator("#product-header")).to_contain_text(f"Trip kettle {tag}")
    expect(form).to_be_hidden()
    table = page.locator("#products-table")
    expect(table.get_by_role("gridcell").filter(has_text=f"TRIP-{tag}")).to_be_visible()
    sent = joins.after_click(page, mark)

    # The add, the emptied form, the new product's page, the categories (a new one came) and
    # the list's last page in one event.
    assert [handler(name) for name in sent] == ["add_product_in_one_trip"], sent


def test_enter_in_the_page_box_asks_for_the_one_fetch(page, site):
    """The page number typed and Enter pressed goes through the list's one-at-a-time fetch
    (the event run again when asked while pending), like a page step."""
    joins = Joins(page, site.url)
    open_tab(page, "Customers")
    info = caption(page, "#customers-table")
    expect(info).to_contain_text("page 1 of")
    settled(page)
    mark = len(joins.ids)
    box = page.locator("#tab-customers .crpm-pager-page input")
    box.fill("2")
    box.press("Enter")
    expect(info).to_contain_text("page 2 of")
    settled(page)
    fetches = [joins.events[number] for number in joins.ids[mark:]]
    assert [handler(event["api_name"]) for event in fetches] == ["list_customers_in_page"]
    assert fetches[0]["trigger_mode"] == "always_last", fetches[0]


def test_saving_a_customer_and_restocking_a_product_are_one_event_each(page, site):
    """The change, the record's page and the list (the saved name, the new stock) in one."""
    services, tag = site.services, uuid.uuid4().hex[:6]
    email = f"save.{tag}@example.com"
    services.customers.add(SYSTEM, f"Save Me {tag}", email)
    sku = f"RST-{tag}".upper()
    services.products.add(SYSTEM, sku, f"Restock thing {tag}", "2.00", stock_quantity=3)
    joins = Joins(page, site.url)
    edit = open_customer(page, email)
    edit.get_by_label("Name *").fill(f"Saved Me {tag}")
    settled(page)
    mark = len(joins.sent)
    edit.get_by_role("button", name="Save changes").click()
    expect(page.locator("#customer-header")).to_contain_text(f"Saved Me {tag}")
    expect(cell(page, "#customers-table", f"Saved Me {tag}")).to_be_visible()
    assert [handler(name) for name in joins.after_click(page, mark)] == [
        "update_customer_in_one_trip"
    ]

    open_product(page, sku)
    product = page.locator("#product-edit")
    expect(product.get_by_label("In stock")).to_have_value("3")
    product.get_by_label("Units received").fill("4")
    settled(page)
    mark = len(joins.sent)
    product.get_by_role("button", name="Restock").click()
    expect(product.get_by_label("In stock")).to_have_value("7")
    expect(product.get_by_label("Units received")).to_have_value("")
    row = page.locator("#products-table tbody tr").filter(has_text=sku)
    expect(row).to_contain_text("7")
    assert [handler(name) for name in joins.after_click(page, mark)] == [
        "restock_product_in_one_trip"
    ]


def test_a_list_redraw_that_fails_after_one_that_did_not_is_fetched_again(page, site, monkeypatch):
    """The first add's list is the last word; the second add's list fails to draw (it keeps
    the first's), so the list is fetched again and shows the second customer too."""
    services, tag = site.services, uuid.uuid4().hex[:6]

    def add(number: int):
        form = fill_customer_form(page, f"Redraw {tag} {number}", f"redraw.{tag}.{number}@x.com")
        form.get_by_role("button", name="Add customer").click()
        expect(toast(page, f"Redraw {tag} {number} added")).to_be_visible()
        settled(page)

    add(1)
    broken = {"left": 1}
    original = services.customers.list

    def fails_once(*args, **kwargs):
        if broken["left"]:
            broken["left"] -= 1
            raise RuntimeError("the list's redraw broke")
        return original(*args, **kwargs)

    monkeypatch.setattr(services.customers, "list", fails_once)
    add(2)
    assert broken["left"] == 0, "the second add drew no list"
    expect(cell(page, "#customers-table", f"redraw.{tag}.2@x.com")).to_be_visible()
    expect(page.locator("#tab-customers .crpm-pager-page input")).not_to_have_value("1000000000")


def test_a_pickers_search_still_running_at_the_sale_never_fills_the_emptied_picker(
    page, site, monkeypatch
):
    services, tag = site.services, uuid.uuid4().hex[:6]
    product = (f"LPK-{tag}".upper(), f"Late pick thing {tag}")
    new = one_line_cart(page, services, f"Late Pick {tag}", product, "5.00")
    settled(page)

    held = HeldOnce(
        services.products,
        "list",
        lambda *args, search="", **kwargs: f"late pick thing {tag}" in (search or "").lower(),
        answer_first=True,
    )
    monkeypatch.setattr(services.products, "list", held)
    new.get_by_label("Find product").fill(f"Late pick thing {tag}")  # the next item, searched
    assert reached(page, held), "the product search never reached the server"
    new.get_by_role("button", name="Confirm purchase").click()
    expect(toast(page, f"recorded for Late Pick {tag}")).to_be_visible()
    held.released.set()
    search_for(page, f"no-such-record-{uuid.uuid4().hex[:8]}")  # a round trip behind it
    expect(page.locator("#crpm-search-hits")).to_contain_text("Nothing matches")
    settled(page)
    expect(new.locator("input[aria-label='Product']")).to_have_value("")
    expect(new.get_by_label("Find product")).to_have_value("")
