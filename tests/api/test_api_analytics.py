"""Analytics endpoints over HTTP agree to the cent with the engine, and follow new sales."""

from __future__ import annotations

import csv
import html
import io
import re
from decimal import Decimal

import httpx
import pytest
from gradio_client.exceptions import AppError

from crpm.analytics import Analytics
from crpm.models import cents_to_decimal_text
from crpm.permissions import SYSTEM
from crpm.ui.analytics_tables import TABLES

pytestmark = pytest.mark.api


@pytest.fixture(scope="module")
def engine(app):
    engine = Analytics(app.services.store)
    yield engine
    engine.close()


@pytest.fixture
def sale(call, new_customer, new_product):
    """Record one purchase of 3 units at 7.25 for a new customer; returns (customer, product)."""
    customer_id, product_id = new_customer("Analytics Buyer"), new_product(price="7.25", stock=9)
    call("record_purchase", customer_id, [{"product_id": product_id, "quantity": 3}])
    return customer_id, product_id


def test_sales_summary_follows_a_new_sale_and_matches_the_engine(
    call, engine, new_customer, new_product
):
    before = call("sales_summary", "", "")
    customer_id, product_id = new_customer("Summary Buyer"), new_product(price="7.25", stock=9)
    call("record_purchase", customer_id, [{"product_id": product_id, "quantity": 3}])
    after = call("sales_summary", "", "")
    assert Decimal(after["revenue"]) - Decimal(before["revenue"]) == Decimal("21.75")
    assert after["orders"] - before["orders"] == 1
    assert after["units_sold"] - before["units_sold"] == 3
    expected = engine.summary(SYSTEM)
    assert after["revenue"] == cents_to_decimal_text(expected.revenue_cents)
    assert after["average_order_value"] == cents_to_decimal_text(expected.average_order_value_cents)


def test_reports_match_the_engine(call, engine, sale):
    customer_id, product_id = sale
    top = call("top_customers", "", "", 100)
    expected = engine.top_customers(SYSTEM, limit=100)
    assert [row["customer_id"] for row in top] == expected["customer_id"].tolist()
    assert [row["revenue"] for row in top] == [
        cents_to_decimal_text(c) for c in expected["revenue_cents"]
    ]
    performance = call("product_performance", "", "", 5)
    assert set(performance) == {"best", "least", "by_product", "by_category"}
    by_product = {row["product_id"]: row for row in performance["by_product"]}
    assert by_product[product_id]["units_sold"] == 3
    assert by_product[product_id]["revenue"] == "21.75"
    trend = call("revenue_trend", "", "", "month")
    assert sum(Decimal(row["revenue"]) for row in trend) == Decimal(
        call("sales_summary", "", "")["revenue"]
    )
    stock = call("stock_report", "", "")
    row = next(r for r in stock["products"] if r["product_id"] == product_id)
    assert row["stock"] == 6
    rfm = call("rfm_segments", "", "")
    assert customer_id in {r["customer_id"] for r in rfm["customers"]}
    assert sum(s["customers"] for s in rfm["segments"]) == len(rfm["customers"])


def test_analytics_page_fills_every_figure_table_and_download_link(app, call, sale):
    answer = call("analytics_page", "All time", None, None, "auto")
    heading, figures, *rest = answer
    plots, tables, links = rest[:6], rest[6 : 6 + len(TABLES)], rest[6 + len(TABLES) :]
    assert all(plot is not None for plot in plots)  # every chart drawn
    assert heading.startswith("**All time**")
    assert "Revenue" in figures and "Average order" in figures
    assert all(table["headers"] for table in tables)
    assert any(row[1] == "Analytics Buyer" for row in tables[3]["data"])  # top customers
    assert len(links) == len(TABLES) and all(
        "Download" in link and ".csv?" in link for link in links
    )
    answer = download(app, links[3])  # top customers as CSV, made when the link is followed
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    assert 'filename="top_customers.csv"' in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert list(rows[0])[:2] == ["customer_id", "name"] and "revenue" in rows[0]
    buyer = next(row for row in rows if row["name"] == "Analytics Buyer")
    assert buyer["revenue"] == "21.75"  # 3 x 7.25, as decimal text


def download(app, link: str, cookies=None) -> httpx.Response:
    href = html.unescape(re.search(r'href="([^"]+)"', link).group(1))
    cookies = app.client.cookies if cookies is None else cookies
    return httpx.get(f"{app.url}{href}", cookies=cookies)


def test_a_download_link_covers_the_range_the_page_shows(app, call, sale):
    links = call("analytics_page", "Custom", "2001-01-01", "2001-12-31", "auto")[-len(TABLES) :]
    assert "from=2001-01-01" in links[-1] and "to=2002-01-01" in links[-1]
    rows = list(csv.DictReader(io.StringIO(download(app, links[3]).text)))
    assert rows == []  # no sale in 2001


def test_downloads_refuse_what_the_page_would_refuse(app, call, sale):
    links = call("analytics_page", "All time", None, None, "auto")[-len(TABLES) :]
    anonymous = download(app, links[3], cookies={})
    assert anonymous.status_code == 401 and "customer_id" not in anonymous.text
    base = f"{app.url}download/analytics"
    unknown = httpx.get(f"{base}/passwords.csv", cookies=app.client.cookies)
    assert unknown.status_code == 404
    bad = httpx.get(f"{base}/trend.csv?from=yesterday", cookies=app.client.cookies)
    assert bad.status_code == 400 and "from" in bad.json()["error"]
    customer = customer_cookies(app)
    refused = download(app, links[3], cookies=customer)
    assert refused.status_code == 403 and "customer_id" not in refused.text


def customer_cookies(app) -> dict:
    app.services.accounts.register_customer(
        "Download Denied", "denied@example.com", "denied-Secret-99"
    )
    login = httpx.post(
        f"{app.url}login", data={"username": "denied@example.com", "password": "denied-Secret-99"}
    )
    assert login.cookies, login.text
    return dict(login.cookies)


@pytest.mark.parametrize("preset", ["Last 7 days", "Last 30 days", "This year"])
def test_presets_cover_todays_sale(call, sale, preset):
    heading, figures, *_ = call("analytics_page", preset, None, None, "auto")
    assert "to " in heading and "Analytics Buyer" in str(_[6 + 3]["data"])


def test_bad_ranges_are_readable_refusals(call):
    with pytest.raises(AppError, match="To: must be later than from"):
        call("sales_summary", "2025-02-01", "2025-01-01")
    with pytest.raises(AppError, match="From: 'yesterday' is not a date"):
        call("analytics_page", "Custom", "yesterday", None, "auto")
    with pytest.raises(AppError, match="Grain: must be one of day, week, month"):
        call("revenue_trend", "", "", "hour")


def test_home_overview(call, sale):
    figures, plot, low_stock, note = call("home_overview")
    assert "Revenue" in figures and "Low stock" in figures and "Open tickets" in figures
    assert low_stock["headers"] == ["ID", "SKU", "Product", "Stock", "Reorder at"]


@pytest.mark.parametrize(
    "date_from, date_to, asked",
    [
        (None, None, "**From (Custom)** and **To (Custom, included)**"),
        ("2026-01-01", None, "the day in **To (Custom, included)**"),
        (None, "2026-01-31", "the day in **From (Custom)**"),
    ],
)
def test_custom_without_its_days_asks_for_them_and_shows_no_other_range(
    call, sale, date_from, date_to, asked
):
    heading, figures, *rest = call("analytics_page", "Custom", date_from, date_to, "auto")
    assert heading.startswith("Custom range: choose the") and asked in heading
    plots, tables, links = rest[:6], rest[6 : 6 + len(TABLES)], rest[6 + len(TABLES) :]
    assert figures == "" and all(plot is None for plot in plots)
    assert all(table["headers"] and not table["data"] for table in tables)  # no all-time rows
    assert all(link == "" for link in links)


def test_a_range_without_sales_says_so_and_stock_sold_follows_the_range(app, call, sale):
    _, product_id = sale
    for preset, days, heading_ends, label, units in [
        ("Custom", ("2001-01-01", "2001-12-31"), "· No sales in this range", "Sold in range", "0"),
        ("Last 7 days", (None, None), "· trend by day", "Sold last 7 days", "3"),
    ]:
        heading, *rest = call("analytics_page", preset, *days, "auto")
        assert heading.endswith(heading_ends)
        key = list(TABLES).index("stock")
        assert label in rest[1 + 6 + key]["headers"]
        rows = csv.DictReader(io.StringIO(download(app, rest[1 + 6 + len(TABLES) + key]).text))
        row = next(row for row in rows if row["product_id"] == str(product_id))
        assert row["units_in_range"] == units  # the sale's 3 units, or none in 2001
