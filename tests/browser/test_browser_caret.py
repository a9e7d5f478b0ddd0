"""On a phone, a dropdown's caret sits beside its value, not over it."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from crpm.permissions import SYSTEM
from tests.browser.conftest import ARTIFACTS
from tests.browser.test_browser_dashboard import search_for
from tests.browser.test_browser_tables import VIEWS, show_tab

pytestmark = pytest.mark.browser

# (value text box, caret box) of a dropdown: the text runs from the input's content edge for
# its measured width, and stops where the input's content box stops.
BOXES_JS = """(block) => {
  const input = block.querySelector('input');
  const caret = block.querySelector('.icon-wrap');
  const style = getComputedStyle(input);
  const box = input.getBoundingClientRect();
  const context = document.createElement('canvas').getContext('2d');
  context.font = style.font;
  const left = box.left + parseFloat(style.borderLeftWidth) + parseFloat(style.paddingLeft);
  const end = box.right - parseFloat(style.borderRightWidth) - parseFloat(style.paddingRight);
  const right = Math.min(end, left + context.measureText(input.value).width);
  const mark = caret.getBoundingClientRect();
  return {text: [left, right, box.top, box.bottom],
          caret: [mark.left, mark.right, mark.top, mark.bottom]};
}"""


def apart(boxes: dict) -> bool:
    text, caret = boxes["text"], boxes["caret"]
    return text[1] <= caret[0] or caret[1] <= text[0]


def test_on_a_phone_a_dropdown_caret_does_not_cover_its_value(open_page, site):
    tag = uuid.uuid4().hex[:6]
    name = f"Caret {tag} extraordinarily long hand painted ceramic serving platter"
    site.services.products.add(SYSTEM, f"CRT-{tag}", name, "9.00", stock_quantity=2)
    page = open_page(viewport=VIEWS["phone"])

    search_for(page, f"CRT-{tag}")  # the search's matches
    hits = page.locator("#crpm-search-hits")
    expect(hits.locator("input")).to_have_value(re.compile(tag))
    boxes = hits.evaluate(BOXES_JS)
    assert apart(boxes), boxes

    show_tab(page, "purchases", "Purchases")  # a picker
    new = page.locator("#purchase-new")
    new.get_by_label("Find product").fill(f"CRT-{tag}")
    product = new.locator("input[aria-label='Product']")
    expect(product).to_have_value(re.compile(tag))
    block = new.locator(".block:has(input[aria-label='Product'])").last
    block.screenshot(path=str(ARTIFACTS / "phone-caret-picker.png"))
    boxes = block.evaluate(BOXES_JS)
    assert apart(boxes), boxes
