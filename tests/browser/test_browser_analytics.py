"""The Analytics tab in Chromium: each sub-tab draws for every preset and for a range with no
sales, with whole-number count axes, no repeated or negative labels, the range under each chart's
title and nothing in the console (no "Vega-Lite v6 spec vs v5" warning); figures fit their
cards on a desk and on a phone; Custom without its days asks for them."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import expect

from crpm.analytics.periods import describe_range, preset_range
from crpm.charts import NO_SALES
from tests.browser.test_browser_dashboard import open_tab
from tests.support import TODAY

pytestmark = pytest.mark.browser

# sub-tab: how many charts it shows
SUB_TABS = {"Sales": 1, "Products": 3, "Customers": 2, "Stock": 0}
NO_SALES_DAYS = ("2001-01-01", "2001-01-31")
COUNT_AXES = {"Units sold", "Customers"}
DAY = date.fromisoformat(TODAY[:10])
# Each axis of an SVG chart as {title, labels}; the chart's marks and texts (a message too).
AXES_JS = """(plot) => [...plot.querySelectorAll('svg .role-axis')].map((axis) => ({
  title: [...axis.querySelectorAll('.role-axis-title text')].map((t) => t.textContent).join(' '),
  labels: [...axis.querySelectorAll('.role-axis-label text')].map((t) => t.textContent),
}))"""
MARKS_JS = "(plot) => plot.querySelectorAll('svg .role-mark > path, svg .role-mark > text').length"


@pytest.fixture
def console(page):
    """Every console warning and error the page logs from now on (the `page` fixture itself
    fails a test on errors only)."""
    said = []
    page.on("console", lambda msg: msg.type in ("warning", "error") and said.append(msg.text))
    return said


def sub_tab(page, name: str):
    views = page.locator("#analytics-views")
    tab = views.get_by_role("tab", name=name, exact=True)
    tab.click()
    expect(tab).to_have_attribute("aria-selected", "true")
    return page.locator(f"#analytics-{name.lower()}")


def choose_days(page, date_from: str, date_to: str):
    for box, day in (("#analytics-from", date_from), ("#analytics-to", date_to)):
        field = page.locator(f"{box} input")
        field.fill(day)
        field.press("Enter")


def show_range(page, preset: str) -> str:
    """Open Analytics on `preset` (or the no-sales custom days); the range's subtitle."""
    open_tab(page, "Analytics")
    if preset == "no sales":
        choose_days(page, *NO_SALES_DAYS)
        start, end = preset_range("Custom", DAY, *NO_SALES_DAYS)
        subtitle = describe_range(start, end).split(" (")[0]
    else:
        page.get_by_role("radio", name=preset).check()
        start, end = preset_range(preset, DAY)
        subtitle = f"{preset}: {describe_range(start, end).split(' (')[0]}"
    expect(page.locator("#analytics-heading")).to_contain_text(describe_range(start, end))
    return subtitle


@pytest.mark.parametrize("preset", ["Last 7 days", "Last 30 days", "This year", "no sales"])
def test_every_sub_tab_draws_the_range_right_with_a_clean_console(page, console, shoot, preset):
    subtitle = show_range(page, preset)
    heading = page.locator("#analytics-heading")
    if preset == "no sales":
        expect(heading).to_contain_text(NO_SALES)
    else:
        expect(heading).not_to_contain_text(NO_SALES)
    for name, count in SUB_TABS.items():
        view = sub_tab(page, name)
        plots = view.locator(".crpm-chart")
        expect(plots).to_have_count(count)
        for number in range(count):
            plot = plots.nth(number)
            expect(plot.locator("svg.marks")).to_contain_text(subtitle)  # this range's chart
            assert plot.evaluate(MARKS_JS) > 0, "a blank chart"
            check_axes(plot, preset)
        shoot(page, f"analytics-{preset.replace(' ', '-').lower()}-{name.lower()}")
    sold = "Sold in range" if preset == "no sales" else f"Sold {preset.lower()}"
    expect(sub_tab(page, "Stock")).to_contain_text(sold)  # the column follows the range
    assert console == []


def check_axes(plot, preset: str):
    axes = plot.evaluate(AXES_JS)
    if preset == "no sales":
        assert axes == [] and NO_SALES in plot.locator("svg.marks").text_content()
        return
    assert NO_SALES not in plot.locator("svg.marks").text_content()
    for axis in axes:
        labels = axis["labels"]
        assert len(labels) == len(set(labels)), f"{axis['title']} repeats a label: {labels}"
        if axis["title"] in COUNT_AXES:
            assert all(label.replace(",", "").isdigit() for label in labels), labels


@pytest.mark.parametrize("width", [1366, 390])
def test_figures_fit_their_cards(page, width):
    open_tab(page, "Analytics")  # a phone shows the tab bar as a menu: open it first
    page.get_by_role("radio", name="All time").check()
    expect(page.locator("#analytics-heading")).to_contain_text("All time")
    page.set_viewport_size({"width": width, "height": 900})
    values = page.locator("#analytics-sales .crpm-figure .value")
    expect(values.first).to_be_visible()
    sizes = values.evaluate_all(
        """(values) => values.map((value) => {
          const card = value.closest('.crpm-figure').getBoundingClientRect();
          const box = value.getBoundingClientRect();
          return {text: value.textContent, overflow: value.scrollWidth - value.clientWidth,
                  right: card.right - box.right};
        })"""
    )
    assert max(len(size["text"]) for size in sizes) >= len("$99,999.99")  # a wide figure
    for size in sizes:
        assert size["overflow"] <= 0 and size["right"] >= 0, size


def test_custom_without_its_days_asks_for_them(page, shoot):
    open_tab(page, "Analytics")
    heading = page.locator("#analytics-heading")
    expect(heading).to_contain_text(describe_range(*preset_range("Last 30 days", DAY)))
    page.get_by_role("radio", name="Custom").check()
    expect(heading).to_have_text(
        "Custom range: choose the days in From (Custom) and To (Custom, included)."
    )
    expect(page.locator("#analytics-sales .crpm-figure")).to_have_count(0)  # no other range
    shoot(page, "analytics-custom-asks-for-days")
    field = page.locator("#analytics-from input")
    field.fill("2026-01-01")
    field.press("Enter")
    expect(heading).to_have_text("Custom range: choose the day in To (Custom, included).")
