"""Opening the role's first tab on page load never throws back a user who already picked a tab."""

from __future__ import annotations

import json

import httpx
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

STAFF_LOGIN = ("clerk", "browser-staff-Secret-5k")  # made by the `site` fixture


def show_role_tabs_index(site) -> int:
    username, password = STAFF_LOGIN
    cookie = httpx.post(f"{site.url}login", data={"username": username, "password": password})
    config = httpx.get(f"{site.url}config", cookies=cookie.cookies, timeout=60).json()
    return next(dep["id"] for dep in config["dependencies"] if dep["api_name"] == "show_role_tabs")


def test_a_tab_picked_while_the_page_loads_stays_picked(browser, site):
    load_event = show_role_tabs_index(site)
    held = []

    def hold_the_load_event(route):
        body = json.loads(route.request.post_data or "{}")
        if body.get("fn_index") == load_event and not held:
            held.append(route)  # answered below, after the user has clicked a tab
            return
        route.continue_()

    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.route("**/gradio_api/queue/join*", hold_the_load_event)
        page.goto(site.url)
        page.locator("#username").fill(STAFF_LOGIN[0])
        page.locator("#password").fill(STAFF_LOGIN[1])
        page.get_by_role("button", name="Log in").click()
        products = page.get_by_role("tab", name="Products", exact=True)
        products.click()
        expect(products).to_have_attribute("aria-selected", "true")
        for _ in range(600):  # the load event's request reaches the route soon after mounting
            if held:
                break
            page.wait_for_timeout(50)
        assert held, "the page never asked for its role's tabs"
        held[0].continue_()
        expect(page.locator(".crpm-who").last).to_contain_text(STAFF_LOGIN[0])  # load answered
        expect(page.locator("#products-table-info")).to_contain_text("Products 1–")
        expect(products).to_have_attribute("aria-selected", "true")  # no snap-back to Home
    finally:
        context.close()


def test_the_first_tab_of_the_role_opens_by_itself(page):
    home = page.get_by_role("tab", name="Home", exact=True)
    expect(home).to_have_attribute("aria-selected", "true")
    expect(page.locator("#tab-home .crpm-figure").first).to_contain_text("Revenue")
