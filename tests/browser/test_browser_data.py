"""Import & export in a real browser (upload, check, confirm, see the rows in Customers; export
and backup links that download the file), and a screenshot of every tab as staff, admin and
customer under tests/artifacts/."""

from __future__ import annotations

import csv
import re
import sqlite3
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import expect

from crpm.permissions import SYSTEM
from tests.support import log_out

pytestmark = pytest.mark.browser

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "csv"
ADMIN_PASSWORD = "browser-admin-Secret-6m"  # set by the `site` fixture
CUSTOMER = ("tabs.customer@example.com", "browser-Customer-Secret-7p")


def open_tab(page, name: str):
    tab = page.get_by_role("tab", name=name, exact=True)
    tab.click()
    expect(tab).to_have_attribute("aria-selected", "true")


def toast(page, text: str):
    return page.locator(".toast-body").filter(has_text=text).first


def upload(page, path: Path):
    page.locator("#import-file input[type=file]").set_input_files(str(path))
    expect(page.locator("#import-file")).to_contain_text(path.name)
    # A new file clears the last check's results (file.change, a server event): let that land
    # first, or under load it can land after the check and wipe its answer.
    settled(page)


def settled(page):
    """No event of the page is still running (its outputs have landed)."""
    expect(page.locator(".pending, .generating")).to_have_count(0)


def test_upload_check_confirm_and_see_the_rows_in_customers(page, site, shoot, tmp_path):
    tag = uuid.uuid4().hex[:6]
    emails = [f"brw{tag}-{n}@example.com" for n in range(2)]
    path = tmp_path / f"new-customers-{tag}.csv"
    path.write_text(
        "name,email,city\n"
        + "".join(f"Imported {tag} {n},{e},Oslo\n" for n, e in enumerate(emails)),
        encoding="utf-8",
    )
    open_tab(page, "Import & export")
    confirm = page.locator("#import-confirm")
    upload(page, path)
    expect(confirm).to_be_disabled()
    page.locator("#import-check").click()
    expect(page.locator("#import-summary")).to_contain_text("No problems")
    expect(page.locator("#import-summary")).to_contain_text("2 customers added")
    expect(page.locator("#import-preview")).to_contain_text(emails[1])
    expect(confirm).to_be_enabled()
    shoot(page, "import-checked")
    # another kind needs a new check: the answer, the preview and the Import button go
    page.get_by_role("radio", name="products").check()
    expect(confirm).to_be_disabled()
    expect(page.get_by_text("Columns for products:")).to_be_visible()
    expect(page.locator("#import-summary")).not_to_contain_text("No problems")
    expect(page.locator("#import-preview")).not_to_contain_text(emails[1])
    page.get_by_role("radio", name="customers").check()
    page.locator("#import-check").click()
    expect(confirm).to_be_enabled()

    confirm.click()
    question = page.locator("#confirm-import_run")
    expect(question).to_contain_text(f"Import new-customers-{tag}.csv into the store?")
    expect(question).to_contain_text("2 customers added")
    shoot(page, "confirm-import")
    question.get_by_role("button", name="Yes, import it").click()
    expect(toast(page, "Import done: 2 customers added")).to_be_visible()
    expect(page.locator("#import-summary")).to_contain_text("Imported")
    expect(confirm).to_be_disabled()
    shoot(page, "import-done")
    stored = site.services.customers.list(SYSTEM, search=tag).items
    assert sorted(customer.email for customer in stored) == emails

    open_tab(page, "Customers")
    caption = page.locator("#customers-table-info")
    expect(caption).to_contain_text(re.compile(r"Customers 1–\d+ of"))
    search = page.get_by_label("Search customers")
    search.fill(tag)
    search.press("Enter")
    expect(caption).to_contain_text("Customers 1–2 of 2")
    for email in emails:
        expect(page.locator("#customers-table")).to_contain_text(email)


def test_a_bad_file_lists_every_problem_and_cannot_be_confirmed(page, site, shoot):
    bad = FIXTURES / "customers_bad.csv"
    expected = site.services.imports.preview(SYSTEM, "customers", bad).problems
    open_tab(page, "Import & export")
    upload(page, bad)
    page.locator("#import-check").click()
    expect(page.locator("#import-summary")).to_contain_text(f"{len(expected)} problems")
    # the toast first: it goes away by itself, and checking every row takes a while under load
    expect(toast(page, f"{len(expected)} problems")).to_be_visible()
    for problem in expected:  # every one listed, with its column and reason
        row = page.locator("#import-problems").get_by_role("row").filter(has_text=problem.reason)
        expect(row.first).to_contain_text(problem.column)
    expect(page.locator("#import-confirm")).to_be_disabled()
    shoot(page, "import-problems")


def download(page, link_text: str, into: Path) -> Path:
    """Click a download link of the Import & export tab; the file the browser saved."""
    with page.expect_download() as info:
        page.get_by_role("link", name=link_text, exact=True).click()
    path = into / info.value.suggested_filename
    info.value.save_as(path)
    return path


def test_an_export_link_downloads_the_whole_table(page, site, tmp_path):
    open_tab(page, "Import & export")
    path = download(page, "Products", tmp_path)
    assert re.fullmatch(r"crpm-products-\d{8}-\d{6}\.csv", path.name)
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    skus = [row[0] for row in site.services.store.query("SELECT sku FROM products ORDER BY id")]
    assert [row["sku"] for row in rows] == skus
    assert all(re.fullmatch(r"\d+\.\d\d", row["price"]) for row in rows)  # decimal text


def shoot_every_tab(page, shoot, who: str) -> list[str]:
    """Open each tab the logged-in user sees, wait until nothing is loading, screenshot it."""
    keys = page.locator("#crpm-tabs [role=tab][data-tab-id]").evaluate_all(
        "(tabs) => tabs.map((tab) => [tab.dataset.tabId, tab.textContent.trim()])"
    )
    for key, label in keys:
        open_tab(page, label)
        settled(page)
        charts = page.locator(f"#tab-{key} .crpm-chart")
        for number in range(charts.count()):  # drawn by vega-embed, not the empty placeholder
            expect(charts.nth(number).locator(".vega-embed")).to_be_attached()
        shoot(page, f"{who}-{key}")
    return [key for key, _label in keys]


def switch_user(page, username: str, password: str):
    settled(page)
    log_out(page)
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".crpm-who").last).to_contain_text(username)


def test_screenshots_of_every_tab_for_staff_admin_and_customer(page, site, shoot, tmp_path):
    accounts = site.services.accounts
    if accounts.store.query_one("SELECT 1 FROM users WHERE username = ?", (CUSTOMER[0],)) is None:
        accounts.register_customer("Tabitha Customer", *CUSTOMER, "+1 555 0142")
    staff = shoot_every_tab(page, shoot, "staff")
    assert "data" in staff and "users" not in staff
    open_tab(page, "Import & export")
    expect(page.locator("#data-export")).to_be_visible()
    settled(page)
    expect(page.locator("#data-backup")).to_be_hidden()  # backups are for admins
    switch_user(page, "admin", ADMIN_PASSWORD)
    admin = shoot_every_tab(page, shoot, "admin")
    assert {"data", "users", "audit"} <= set(admin)
    open_tab(page, "Import & export")
    backup = download(page, "Download a backup", tmp_path)
    assert re.fullmatch(r"crpm-backup-\d{8}-\d{6}\.db", backup.name)
    with sqlite3.connect(backup) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    switch_user(page, *CUSTOMER)
    customer = shoot_every_tab(page, shoot, "customer")
    assert customer == ["my_purchases", "my_tickets", "my_quotes", "account"]
