"""The shop's own days and locale in the browser: a shop in Australia/Sydney sees a 23:30 UTC
sale on the next local day in the Purchases table, and a German shop's price field takes
"4,95". A dashboard of its own, so that the other browser tests keep a UTC shop in en_US."""

from __future__ import annotations

import re
import uuid
from types import SimpleNamespace

import pytest
from playwright.sync_api import expect

from crpm.clock import FixedClock
from crpm.permissions import SYSTEM
from tests.browser.conftest import STAFF_LOGIN
from tests.browser.test_browser_dashboard import add_product_form, open_found
from tests.browser.test_browser_data import toast
from tests.browser.test_browser_tables import show_tab
from tests.support import BROWSER_ADMIN

pytestmark = pytest.mark.browser

LATE_SALE = "2026-06-14 23:30:00"  # UTC: 09:30 on 15 June in Sydney
EMAIL = "sydney.late@example.com"


@pytest.fixture(scope="module")
def site(launch_app, tmp_path_factory):
    """This module's dashboard: a Sydney shop writing German numbers, one late sale."""
    url, services = launch_app(
        tmp_path_factory.mktemp("shop-days") / "crpm.db", clock=FixedClock("2026-06-15 01:00:00")
    )
    accounts = services.accounts
    accounts.ensure_admin(BROWSER_ADMIN[1])
    accounts.create_user(accounts.actor_for("admin"), *STAFF_LOGIN, role="staff")
    services.taxes.update_settings(SYSTEM, time_zone="Australia/Sydney", locale="de_DE")
    buyer = services.customers.add(SYSTEM, "Sydney Late", EMAIL)
    product = services.products.add(SYSTEM, "SYD-1", "Long black", "3.50", 10)
    sale = services.purchases.record(SYSTEM, buyer.id, [(product.id, 2)], purchased_at=LATE_SALE)
    return SimpleNamespace(url=url, services=services, sale=sale)


def test_a_sydney_shop_sees_a_late_utc_sale_on_the_next_day(page, site, shoot):
    show_tab(page, "purchases", "Purchases")
    table = page.locator("#purchases-table")
    row = table.get_by_role("row").filter(has_text="Sydney Late")
    expect(row).to_contain_text("2026-06-15 09:30:00")
    expect(row).to_contain_text("7,00")  # 2 × 3,50 written the German way
    expect(table).not_to_contain_text("2026-06-14 23:30")
    shoot(page, "shop-days-sydney-purchases")
    assert site.services.purchases.get(SYSTEM, site.sale.id).purchased_at == LATE_SALE


def test_a_sydney_shop_sees_a_tickets_times_on_its_own_clock(page, site):
    buyer = site.sale.customer_id
    ticket = site.services.desk.raise_ticket(SYSTEM, "Opened early", customer_id=buyer)
    open_found(page, "Ticket", ticket.id)
    figures = page.locator("#ticket-figures")
    expect(page.locator("#ticket-header")).to_contain_text(f"Ticket #{ticket.id}")
    expect(figures).to_contain_text("2026-06-15 11:00")  # "since": the status's time in Sydney
    expect(figures.locator(".crpm-figure").filter(has_text="Opened")).to_contain_text("11:00")
    expect(figures).not_to_contain_text("01:00")


def test_a_german_shop_takes_a_decimal_comma_in_a_price(page, site):
    sku = f"SYD-COMMA-{uuid.uuid4().hex[:6].upper()}"  # a rerun adds its own
    show_tab(page, "products", "Products")
    form = add_product_form(page)
    for label, typed in {
        "SKU *": sku,
        "Name *": "Flat white",
        "Unit price *": "4,95",
    }.items():
        form.get_by_label(label).fill(typed)
    form.get_by_role("button", name="Add product").click()
    expect(toast(page, f"{sku} Flat white added")).to_be_visible()
    expect(form.locator(".crpm-invalid")).to_have_count(0)
    row = site.services.store.query_one("SELECT price_cents FROM products WHERE sku = ?", (sku,))
    assert row["price_cents"] == 495


def test_a_german_shops_chart_writes_money_the_german_way(page, site):
    """Home's revenue chart: the 7,00 $ sale on an axis of German amounts, the currency after."""
    show_tab(page, "home", "Home")
    labels = page.locator("#tab-home .crpm-chart svg .role-axis-label text")
    expect(labels.first).to_be_visible()
    money = [text for text in labels.all_text_contents() if "$" in text]
    assert money and all(re.fullmatch(r"[\d.]+,\d\d\s\$", text) for text in money), money
