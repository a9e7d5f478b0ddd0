"""A list's table always shows what its filter boxes say: the tab's own refresh, still running
when a search is typed, must not land over the search's answer."""

from __future__ import annotations

import threading
import uuid

import pytest
from playwright.sync_api import expect

from crpm.permissions import SYSTEM
from tests.browser.test_browser_dashboard import open_tab, search_for
from tests.browser.test_browser_data import settled

pytestmark = pytest.mark.browser

WAIT_S = 60  # a bound against a hung test only; nothing below waits for time to pass


class HeldLists:
    """Stands in for the customer list: the unfiltered one (the tab's own refresh) is held
    until `release`; the searched ones run at once and are counted."""

    def __init__(self, service):
        self.original = service.list
        self.held = threading.Event()
        self.released = threading.Event()
        self.lock = threading.Lock()
        self.searches = {"started": 0, "done": 0}

    def list(self, actor, *, search="", **options):
        if search:
            with self.lock:
                self.searches["started"] += 1
            try:
                return self.original(actor, search=search, **options)
            finally:
                with self.lock:
                    self.searches["done"] += 1
        self.held.set()
        assert self.released.wait(WAIT_S), "the held list was never released"
        return self.original(actor, search=search, **options)

    def searches_done(self) -> bool:
        with self.lock:
            return self.searches["done"] == self.searches["started"]


def test_a_search_typed_while_the_tab_refreshes_is_what_the_table_shows(page, site, monkeypatch):
    tag = uuid.uuid4().hex[:8]
    site.services.customers.add(SYSTEM, f"Rita Race {tag}", f"rita.{tag}@example.com")
    scope = page.locator("#tab-customers")
    info = page.locator("#customers-table-info")
    page_box = scope.locator(".crpm-pager-page input")
    # On page 2 of the list first: going back to page 1 shows the search was taken in.
    open_tab(page, "Customers")
    expect(info).to_contain_text("page 1 of")
    scope.get_by_role("button", name="Next →").click()
    expect(info).to_contain_text("page 2 of")
    open_tab(page, "Home")
    settled(page)

    service = site.services.customers
    lists = HeldLists(service)
    monkeypatch.setattr(service, "list", lists.list)
    open_tab(page, "Customers")  # its refresh (page 2, no search) is held on the server
    assert lists.held.wait(WAIT_S), "the tab did not refresh its list"
    box = scope.get_by_label("Search customers")
    box.fill(tag)
    box.press("Enter")
    expect(page_box).to_have_value("1")  # the search was taken in: back to page 1
    # One more round trip behind the search (the search box at the top finds nothing): a
    # fetch of the search that went out beside the held one has reached the server by then.
    search_for(page, f"no-such-record-{tag}")
    expect(page.locator("#crpm-search-hits")).to_contain_text("Nothing matches")
    if lists.searches["started"]:
        # It went out beside the held refresh: let it land first, the order the race needs.
        expect(info).to_contain_text("Customers 1–1 of 1")
        assert lists.searches_done()
    lists.released.set()  # the tab's own refresh lands now
    settled(page)
    expect(box).to_have_value(tag)
    expect(info).to_contain_text("Customers 1–1 of 1")
    expect(scope.locator("#customers-table")).to_contain_text(f"Rita Race {tag}")
    assert lists.searches_done()
