"""Errors in the form's words: a refusal names the field by the label the form shows, marks
that field (in the form the person used, not a twin elsewhere) with the reason under it, brings
it into view, and the toast stays clear of it. A refusal about a record's state reads "This
purchase is already cancelled" and marks no field. Nothing changes in the store."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from crpm.permissions import SYSTEM
from tests.browser.test_browser_dashboard import add_product_form, open_purchase
from tests.browser.test_browser_data import settled, toast
from tests.browser.test_browser_tables import VIEWS, show_tab

pytestmark = pytest.mark.browser

BOXES_APART_JS = """([first, second]) => {
  const a = first.getBoundingClientRect(), b = second.getBoundingClientRect();
  return a.right <= b.left || b.right <= a.left || a.bottom <= b.top || b.bottom <= a.top;
}"""
IN_VIEW_JS = """(element) => {
  const box = element.getBoundingClientRect();
  return box.top >= 0 && box.bottom <= window.innerHeight;
}"""


@pytest.mark.parametrize("view", VIEWS)
def test_a_bad_price_is_named_by_its_label_and_marked_in_its_form(open_page, site, shoot, view):
    page = open_page(viewport=VIEWS[view])
    show_tab(page, "products", "Products")
    form = add_product_form(page)
    form.get_by_label("SKU *").fill("ERR-PRICE")
    form.get_by_label("Name *").fill("Priced wrong")
    form.get_by_label("Unit price *").fill("abc")
    form.get_by_role("button", name="Add product").click()

    said = toast(page, "Unit price: 'abc' is not an amount")
    expect(said).to_be_visible()
    price = form.locator(".crpm-invalid")
    expect(price).to_have_count(1)
    expect(price).to_contain_text("Unit price *")
    expect(price.locator(".crpm-field-error")).to_have_text(re.compile(r"^'abc' is not an amount"))
    expect(price.locator("textarea, input").first).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#product-edit .crpm-invalid")).to_have_count(0)  # its twin is not
    assert price.evaluate(IN_VIEW_JS), "the marked field is out of view"
    assert page.evaluate(BOXES_APART_JS, [said.element_handle(), price.element_handle()])
    shoot(page, f"field-error-{view}")
    assert site.services.store.query_one("SELECT 1 FROM products WHERE sku = 'ERR-PRICE'") is None

    form.get_by_label("Unit price *").fill("4.95")  # typing clears the mark
    expect(form.locator(".crpm-invalid")).to_have_count(0)
    expect(form.locator(".crpm-field-error")).to_have_count(0)


def test_a_form_that_names_a_field_its_own_way_is_followed(page):
    """The return form calls the quantity "Units"; the message and the mark say so."""
    show_tab(page, "purchases", "Purchases")
    manage = page.locator("#purchase-manage")
    page.locator("#purchases-table").get_by_role("gridcell").first.click()
    expect(manage.get_by_label("Line to return")).not_to_have_value("")
    manage.get_by_label("Units").fill("0")
    manage.get_by_role("button", name="Return units").click()
    expect(toast(page, "Units: must be at least 1")).to_be_visible()
    expect(manage.locator(".crpm-invalid")).to_contain_text("Units")
    expect(page.locator("#purchase-new .crpm-invalid")).to_have_count(0)


def test_a_refusal_about_a_record_says_this_and_marks_no_field(page, site):
    services, tag = site.services, uuid.uuid4().hex[:6]  # a rerun adds its own
    customer = services.customers.add(SYSTEM, "Carl Cancelled", f"carl.{tag}@example.com")
    product = services.products.add(SYSTEM, f"ERR-CANCEL-{tag}", "Twice cancelled", "3.00", 5)
    purchase = services.purchases.record(SYSTEM, customer.id, [(product.id, 1)])
    manage = open_purchase(page, purchase)
    services.purchases.cancel(SYSTEM, purchase.id, "by someone else meanwhile")
    manage.get_by_role("button", name="Cancel whole purchase").click()
    manage.get_by_role("button", name="Yes, cancel the purchase").click()
    expect(toast(page, "This purchase is already cancelled")).to_be_visible()
    settled(page)
    expect(page.locator(".crpm-invalid")).to_have_count(0)
