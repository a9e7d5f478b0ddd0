"""A person's tasks in a real browser: every tab, adding a customer, a refusal, a purchase
that lowers stock, and every analytics chart drawn."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import expect

from crpm.permissions import SYSTEM
from crpm.ui import products

pytestmark = pytest.mark.browser

STOCK_COLUMN = [column.key for column in products.LIST_COLUMNS].index("stock")

TABS = ["Home", "Customers", "Products", "Purchases", "Analytics"]
# An Altair chart is drawn as SVG marks or on a canvas; either must have painted something.
CHART_DRAWN_JS = """(plot) => {
  const marks = plot.querySelectorAll(['rect', 'line', 'arc', 'area', 'symbol']
    .map((kind) => `svg .mark-${kind} path`).join(', '));
  if (marks.length) return marks.length;
  for (const canvas of plot.querySelectorAll('canvas')) {
    if (!canvas.width || !canvas.height) continue;
    const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let painted = 0;
    for (let i = 3; i < pixels.length; i += 4) if (pixels[i]) painted++;
    if (painted > 500) return painted;
  }
  return 0;
}"""


def open_tab(page, name: str):
    """Open a tab of the main bar (Analytics has sub-tabs named Products and Customers too)."""
    tab = page.locator("#crpm-tabs > .tab-wrapper").get_by_role("tab", name=name, exact=True)
    tab.click()
    expect(tab).to_have_attribute("aria-selected", "true")


def cell(page, table: str, text: str):
    return page.locator(table).get_by_role("gridcell").filter(has_text=text).first


def toast(page, text: str):
    return page.locator(".toast-body").filter(has_text=text)


def caption(page, table: str):
    """The pager's caption under a paged table ('Customers 1–25 of 80 · page 1 of 4')."""
    return page.locator(f"{table}-info")


def open_customer(page, email: str):
    """Find a customer by their (unique) e-mail and open their page with a click on the row;
    returns the page's edit form."""
    open_tab(page, "Customers")
    # The tab's own refresh lands first, or it could overwrite the search's result.
    expect(caption(page, "#customers-table")).to_contain_text(re.compile(r"Customers 1–\d+ of"))
    search = page.get_by_label("Search customers")
    search.fill(email)
    search.press("Enter")
    expect(caption(page, "#customers-table")).to_contain_text("Customers 1–1 of 1")
    cell(page, "#customers-table", email).click()
    expect(page.locator("#customer-header")).to_contain_text(email)
    return page.locator("#customer-edit")


def search_for(page, text: str):
    """Type into the search box at the top of the page and press Enter."""
    box = page.locator("#crpm-search").locator("input, textarea").first
    box.fill(text)
    box.press("Enter")


def open_found(page, kind: str, record_id: int):
    """Search for '#number' and open the match of that kind ("Ticket") from the matches."""
    search_for(page, f"#{record_id}")
    hits = page.locator("#crpm-search-hits")
    expect(hits.locator("input")).not_to_have_value("")  # the matches have arrived
    hits.locator("input").click()
    page.get_by_role("option", name=re.compile(rf"^{kind} #{record_id} ")).click()


def open_purchase(page, purchase):
    """Open a purchase through the search box (its invoice number is unique); returns the
    Cancel or return card showing it."""
    search_for(page, purchase.invoice_number)
    manage = page.locator("#purchase-manage")
    expect(manage).to_contain_text(f"Purchase #{purchase.id}")
    return manage


def add_customer_form(page):
    """The Customers tab's add form, opened with its button."""
    open_tab(page, "Customers")
    page.get_by_role("button", name="Add a customer").click()
    form = page.locator("#customer-add")
    expect(form).to_be_visible()
    return form


def add_product_form(page):
    """The Products tab's add form (the tab already open), opened with its button."""
    page.get_by_role("button", name="Add a product").click()
    form = page.locator("#product-add")
    expect(form).to_be_visible()
    return form


def new_purchase_form(page):
    open_tab(page, "Purchases")
    # The tab is mounted and its own refresh has landed before we type into its pickers.
    expect(caption(page, "#purchases-table")).to_contain_text(re.compile(r"Purchases 1–\d+ of"))
    return page.locator("#purchase-new")


def test_every_tab_opens_with_content(page, shoot):
    checks = {
        "Home": page.locator("#tab-home .crpm-figure").first,
        "Customers": caption(page, "#customers-table"),
        "Products": caption(page, "#products-table"),
        "Purchases": caption(page, "#purchases-table"),
        "Analytics": page.locator("#tab-analytics .crpm-figure").first,
    }
    texts = {
        "Home": "Revenue",
        "Customers": re.compile(r"Customers 1–\d+ of \d+"),
        "Products": re.compile(r"Products 1–\d+ of \d+"),
        "Purchases": re.compile(r"Purchases 1–\d+ of \d+"),
        "Analytics": "Revenue",
    }
    rows = {"Customers": "@", "Products": "$", "Purchases": "$"}  # what the page's rows show
    for name in TABS:
        open_tab(page, name)
        expect(checks[name]).to_contain_text(texts[name])
        if name in rows:
            expect(page.locator(f"#{name.lower()}-table")).to_contain_text(rows[name])
        shoot(page, f"tab-{name.lower()}")


def test_add_customer_then_duplicate_email(page, site, shoot):
    tag = uuid.uuid4().hex[:6]  # a rerun adds its own
    email = f"ada.browser.{tag}@example.com"
    form = add_customer_form(page)
    form.get_by_label("Name *").fill("Ada Browser")
    form.get_by_label("E-mail *").fill(email)
    form.get_by_label("City").fill("London")
    form.get_by_role("button", name="Add customer").click()
    expect(toast(page, "Ada Browser added")).to_be_visible()
    expect(cell(page, "#customers-table", email)).to_be_visible()
    expect(page.locator("#customer-edit").get_by_label("Name *")).to_have_value("Ada Browser")
    expect(page.locator("#customer-header")).to_contain_text(email)
    expect(form).to_be_hidden()  # the add form closes once it has done its job
    form = add_customer_form(page)
    expect(form.get_by_label("Name *")).to_have_value("")  # and is ready for the next

    form.get_by_label("Name *").fill("Ada Again")
    form.get_by_label("E-mail *").fill(f"ADA.BROWSER.{tag.upper()}@example.com")
    form.get_by_role("button", name="Add customer").click()
    expect(toast(page, "a customer with this e-mail already exists")).to_be_visible()
    expect(form.get_by_label("Name *")).to_have_value("Ada Again")  # what was typed stays
    shoot(page, "customers-duplicate-warning")
    rows = site.services.store.query(
        "SELECT name FROM customers WHERE email = ? COLLATE NOCASE", (email,)
    )
    assert [row[0] for row in rows] == ["Ada Browser"]


def test_purchase_lowers_stock_in_products_tab(page, site, shoot):
    services, tag = site.services, uuid.uuid4().hex[:6]  # a rerun adds its own
    paula = services.customers.add(SYSTEM, "Paula Purchaser", f"paula.{tag}@example.com")
    sku = f"BRW-LAMP-{tag}"
    services.products.add(SYSTEM, sku, "Browser lamp", "24.00", stock_quantity=5)

    new = new_purchase_form(page)
    # Typed key by key like a person (a pasted search is in its own test).
    new.get_by_label("Find customer").press_sequentially(f"paula.{tag}")
    expect(new.locator("input[aria-label='Customer']")).to_have_value(
        f"#{paula.id} Paula Purchaser · paula.{tag}@example.com"
    )
    new.get_by_label("Find product").press_sequentially(sku)
    expect(new.locator("input[aria-label='Product']")).to_have_value(
        f"{sku} · Browser lamp · $24.00 · 5 in stock"
    )
    new.get_by_label("Qty").fill("2")
    new.get_by_role("button", name="Add", exact=True).click()
    expect(new).to_contain_text("Total $48.00")
    shoot(page, "purchase-before-confirm")
    new.get_by_role("button", name="Confirm purchase").click()
    expect(toast(page, "recorded for Paula Purchaser: 2 units, $48.00")).to_be_visible()

    open_tab(page, "Products")
    # The tab's own refresh (unfiltered) must land first, or it could overwrite the search result.
    expect(caption(page, "#products-table")).to_contain_text(re.compile(r"Products 1–\d+ of"))
    search = page.get_by_label("Search products")
    search.fill(sku)
    search.press("Enter")
    expect(caption(page, "#products-table")).to_contain_text("Products 1–1 of 1")
    row = page.locator("#products-table").get_by_role("row").filter(has_text=sku)
    expect(row).to_contain_text("Browser lamp")
    expect(row.get_by_role("gridcell").nth(STOCK_COLUMN)).to_have_text("3")
    shoot(page, "products-after-purchase")
    stock = services.store.query_one("SELECT stock FROM products WHERE sku = ?", (sku,))[0]
    assert stock == 3


def open_analytics_view(page, name: str):
    """Open one of the Analytics tab's sub-tabs (Sales, Products, Customers, Stock)."""
    tab = page.locator("#analytics-views").get_by_role("tab", name=name, exact=True)
    tab.click()
    expect(tab).to_have_attribute("aria-selected", "true")


def test_every_analytics_chart_is_drawn(page, shoot):
    open_tab(page, "Analytics")
    page.get_by_role("radio", name="All time").check()
    expect(page.locator("#analytics-heading")).to_contain_text("All time")
    for view, count in {"Sales": 1, "Products": 3, "Customers": 2}.items():
        open_analytics_view(page, view)
        plots = page.locator(f"#analytics-{view.lower()} .crpm-chart")
        expect(plots).to_have_count(count)
        for number in range(count):
            plot = plots.nth(number)
            plot.scroll_into_view_if_needed()
            page.wait_for_function(
                f"(el) => ({CHART_DRAWN_JS})(el) > 0", arg=plot.element_handle(), timeout=20_000
            )
        shoot(page, f"analytics-all-time-{view.lower()}")


def test_an_analytics_table_downloads_as_csv(page):
    open_tab(page, "Analytics")
    page.get_by_role("radio", name="All time").check()
    open_analytics_view(page, "Customers")
    link = page.get_by_role("link", name="Download top customers (CSV)")
    expect(link).to_be_visible(timeout=20_000)
    with page.expect_download() as arrived:
        link.click()
    download = arrived.value
    assert download.suggested_filename == "top_customers.csv"
    with open(download.path(), encoding="utf-8") as handle:
        header = handle.readline().strip().split(",")
    assert header[:2] == ["customer_id", "name"] and "revenue" in header


def test_home_chart_is_drawn(page):
    plot = page.locator("#tab-home .crpm-chart")
    page.wait_for_function(
        f"(el) => ({CHART_DRAWN_JS})(el) > 0", arg=plot.element_handle(), timeout=20_000
    )


def test_a_refusal_leaves_the_form_in_view_with_what_was_typed(page, site, shoot):
    form = add_customer_form(page)
    form.get_by_label("Name *").fill("Bad Mail")
    form.get_by_label("E-mail *").fill("bad@@example.com")
    form.get_by_role("button", name="Add customer").click()
    expect(toast(page, "is not a valid e-mail address")).to_be_visible()
    # Gradio marks every output of a refused event "Error", covering the fields; not here.
    badge = page.locator('[data-testid="status-tracker"]').filter(has_text="Error")
    expect(badge.first).to_be_hidden()
    expect(form.get_by_label("E-mail *")).to_be_visible()
    expect(form.get_by_label("E-mail *")).to_have_value("bad@@example.com")
    expect(page.locator("#customer-edit").get_by_label("Name *")).to_be_visible()
    shoot(page, "customers-refused-form-in-view")
    added = site.services.store.query_one("SELECT count(*) FROM customers WHERE name = 'Bad Mail'")
    assert added[0] == 0


def test_a_pasted_search_finds_and_clear_empties_the_order(page, site):
    services, tag = site.services, uuid.uuid4().hex[:6]  # a rerun adds its own
    services.customers.add(SYSTEM, "Pia Paste", f"pia.paste.{tag}@example.com")
    sku = f"BRW-CLEAR-{tag}"
    services.products.add(SYSTEM, sku, "Clearable cup", "3.00", stock_quantity=9)
    new = new_purchase_form(page)
    new.get_by_label("Find customer").fill(f"pia.paste.{tag}")  # all at once, as a paste arrives
    expect(new.locator("input[aria-label='Customer']")).to_have_value(re.compile("Pia Paste"))
    new.get_by_label("Find product").fill(sku)
    expect(new.locator("input[aria-label='Product']")).to_have_value(re.compile(sku))
    new.get_by_role("button", name="Add", exact=True).click()
    expect(new).to_contain_text("Total $3.00")
    new.get_by_role("button", name="Clear").click()
    expect(new).to_contain_text("Add products to see the total.")
    expect(new.get_by_role("gridcell").filter(has_text="Clearable cup")).to_have_count(0)


def test_an_ended_session_sends_the_page_to_the_login(new_context, site):
    accounts = site.services.accounts
    admin = accounts.actor_for("admin")
    leaver = f"leaver.{uuid.uuid4().hex[:6]}"  # a rerun adds its own
    accounts.create_user(admin, leaver, "leaver-Secret-12x", role="staff")
    page = new_context().new_page()
    page.goto(site.url)
    page.locator("#username").fill(leaver)
    page.locator("#password").fill("leaver-Secret-12x")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".crpm-who").last).to_contain_text(leaver)
    # The first tab opens and loads its figures; only then end the session, so that the
    # page's next call is the click below, not that load.
    expect(page.locator("#tab-home .crpm-figure").first).to_contain_text("Revenue")
    accounts.deactivate_user(admin, leaver)
    page.get_by_role("tab", name="Customers", exact=True).click()
    expect(page).to_have_url(re.compile(r"/login\?notice=expired$"))
    expect(page.get_by_text("Your session has ended; please log in again.")).to_be_visible()


def test_a_taxed_discounted_sale_shows_its_figures_live_and_gives_an_invoice(page, site, shoot):
    services, tag = site.services, uuid.uuid4().hex[:6]  # a rerun adds its own
    standard = services.taxes.add_rate(SYSTEM, f"Browser standard {tag}", "20")
    services.customers.add(SYSTEM, "Tara Taxpayer", f"tara.{tag}@example.com")
    sku = f"BRW-TAX-{tag}"
    lamp = services.products.add(SYSTEM, sku, "Taxed lamp", "10.00", stock_quantity=9)
    services.taxes.set_product_rate(SYSTEM, lamp.id, standard.id)

    new = new_purchase_form(page)
    new.get_by_label("Find customer").fill(f"tara.{tag}@example.com")  # the demo has a Tara too
    expect(new.locator("input[aria-label='Customer']")).to_have_value(re.compile("Tara Taxpayer"))
    new.get_by_label("Find product").fill(sku)
    expect(new.locator("input[aria-label='Product']")).to_have_value(
        f"{sku} · Taxed lamp · $10.00 · 9 in stock"
    )
    new.get_by_label("Qty").fill("3")
    new.get_by_label("Discount", exact=True).fill("10%")
    new.get_by_role("button", name="Add", exact=True).click()
    # 30.00 - 3.00 = 27.00 net, 20% = 5.40 tax
    expect(new).to_contain_text("Net $27.00 · tax $5.40 · discounts $3.00")
    expect(new).to_contain_text("Total $32.40")
    new.get_by_label("Discount on the whole purchase").fill("2.00")
    new.get_by_label("Discount on the whole purchase").press("Enter")
    expect(new).to_contain_text("Net $25.00 · tax $5.00 · discounts $5.00")
    shoot(page, "purchase-taxed-before-confirm")
    new.get_by_role("button", name="Confirm purchase").click()
    expect(toast(page, "recorded for Tara Taxpayer: 3 units, $30.00")).to_be_visible()

    manage = page.locator("#purchase-manage")
    invoice = manage.get_by_role("link", name=re.compile(r"Invoice INV-\d{4}-\d{6}"))
    expect(invoice).to_be_visible()
    with page.expect_download() as download:
        invoice.click()
    pdf = Path(download.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF") and download.value.suggested_filename.startswith("INV-")
    shoot(page, "purchase-taxed-with-invoice")
