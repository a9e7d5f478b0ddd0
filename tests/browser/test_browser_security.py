"""The dashboard under its security headers (issue 13), in Chromium: the page works with the
Content-Security-Policy on (a violation is a console error, which the `page` fixture fails on),
and a name carrying HTML shows as text in the toast, the table and the purchase preview, loading
nothing from another host (the fixture fails on any request that leaves the machine)."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from crpm.permissions import SYSTEM
from tests.browser.test_browser_dashboard import (
    CHART_DRAWN_JS,
    add_customer_form,
    cell,
    new_purchase_form,
    open_tab,
    toast,
)

pytestmark = pytest.mark.browser

EVIL = "<img src=http://evil.example/x> Mallory"


def test_the_dashboard_and_its_charts_work_under_the_policy(page, site):
    # the headers of the page as served (reloading the open page would cut its event stream)
    headers = page.context.request.get(site.url).headers
    assert "frame-ancestors 'self'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    open_tab(page, "Analytics")
    page.get_by_role("radio", name="All time").check()
    plot = page.locator("#tab-analytics .crpm-chart").first
    plot.scroll_into_view_if_needed()
    page.wait_for_function(
        f"(el) => ({CHART_DRAWN_JS})(el) > 0", arg=plot.element_handle(), timeout=20_000
    )


def test_a_name_with_html_shows_as_text_and_loads_nothing(page, site):
    email = f"mallory.browser.{uuid.uuid4().hex[:6]}@example.com"  # a rerun adds its own
    form = add_customer_form(page)
    form.get_by_label("Name *").fill(EVIL)
    form.get_by_label("E-mail *").fill(email)
    form.get_by_role("button", name="Add customer").click()
    expect(toast(page, "<img src=http://evil.example/x> Mallory added")).to_be_visible()
    search = page.get_by_label("Search customers")  # wherever other tests left the list
    search.fill(email)
    search.press("Enter")
    expect(cell(page, "#customers-table", "<img src=http://evil.example/x>")).to_be_visible()

    new = new_purchase_form(page)
    new.get_by_label("Find customer").fill(email)
    expect(new.locator("input[aria-label='Customer']")).to_have_value(re.compile("Mallory"))
    listed = site.services.products.list(SYSTEM, status="active", limit=50).items
    product = next(item for item in listed if item.stock >= 5)  # other tests sell and deactivate
    new.get_by_label("Find product").fill(product.sku)
    expect(new.locator("input[aria-label='Product']")).to_have_value(re.compile(product.sku))
    new.get_by_label("Qty").fill("1")
    new.get_by_role("button", name="Add", exact=True).click()
    expect(new).to_contain_text("for <img src=http://evil.example/x> Mallory")
    assert page.locator("img[src*='evil.example']").count() == 0
