"""The shop's time zone and locale through the API: an admin sets them, and the purchases list,
its date filter and the daily trend then speak the shop's days; amounts are read the locale's
way. A dashboard of its own, so that the other API tests keep a UTC shop."""

from __future__ import annotations

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from crpm.clock import FixedClock
from crpm.permissions import SYSTEM

pytestmark = pytest.mark.api

ADMIN_PASSWORD = "shop-days-Admin-Secret-3k"
LATE_SALE = "2026-06-14 23:30:00"  # UTC: 09:30 on 15 June in Sydney


@pytest.fixture(scope="module")
def harbour(launch_app, tmp_path_factory):
    """(an admin's client, the services) of a dashboard whose clock stands at LATE_SALE."""
    url, services = launch_app(
        tmp_path_factory.mktemp("shop-days") / "crpm.db", clock=FixedClock(LATE_SALE)
    )
    services.accounts.ensure_admin(ADMIN_PASSWORD)
    client = Client(url, auth=("admin", ADMIN_PASSWORD), verbose=False)
    return client.predict, services


@pytest.fixture(scope="module")
def sydney(harbour):
    return harbour[0]


def test_an_admin_sets_the_shops_zone_and_locale(sydney):
    saved = sydney(
        "Harbour Shop", "", "", "", False, "", "Australia/Sydney", "de-DE",
        api_name="/save_shop_settings",
    )  # fmt: skip
    assert list(saved)[-2:] == ["Australia/Sydney", "de_DE"]
    with pytest.raises(AppError, match="Time zone: 'Mars/Base' is not a time zone"):
        sydney(
            "Harbour Shop", "", "", "", False, "", "Mars/Base", "", api_name="/save_shop_settings"
        )
    assert list(sydney(api_name="/shop_settings"))[-2:] == ["Australia/Sydney", "de_DE"]


def test_a_late_utc_sale_shows_on_the_next_sydney_day(sydney):
    customer_id = sydney("Nadia Late", "nadia.late@example.com", "", "", "", "", "", "",
                         api_name="/add_customer")[0]  # fmt: skip
    # the price typed the German way
    product_id = sydney("LATE-1", "Flat white", "", "", "4,95", 0, 10, api_name="/add_product")[0]
    lines = [{"product_id": product_id, "quantity": 2}]
    purchase_id = sydney(customer_id, lines, "", api_name="/record_purchase")[0]

    frame, _, _ = sydney(None, None, "2026-06-15", "2026-06-15", "all", 1, 25,
                         api_name="/list_purchases")  # fmt: skip
    (row,) = [dict(zip(frame["headers"], values, strict=True)) for values in frame["data"]]
    assert row["ID"] == purchase_id
    assert row["Time"] == "2026-06-15 09:30:00"  # stored 2026-06-14 23:30 UTC
    assert "9,90" in row["Total"]  # 2 × 4,95 in de_DE
    frame, _, _ = sydney(None, None, "2026-06-14", "2026-06-14", "all", 1, 25,
                         api_name="/list_purchases")  # fmt: skip
    assert frame["data"] == []

    trend = sydney("2026-06-14", "2026-06-16", "day", api_name="/revenue_trend")
    sold = {row["period"]: row["revenue"] for row in trend if row["units"]}
    assert sold == {"2026-06-15": "9.90"}  # the API's money stays plain decimal text


def test_discounts_and_quote_prices_are_read_the_locales_way(harbour):
    sydney, services = harbour
    customer_id = sydney("Otto Komma", "otto.komma@example.com", "", "", "", "", "", "",
                         api_name="/add_customer")[0]  # fmt: skip
    product_id = sydney("KOMMA-1", "Cortado", "", "", "10,00", 0, 10, api_name="/add_product")[0]
    lines = [{"product_id": product_id, "quantity": 1}]
    purchase_id = sydney(customer_id, lines, "1,50", api_name="/record_purchase")[0]
    sale = services.purchases.get(SYSTEM, purchase_id)
    assert [line.discount_cents for line in sale.lines] == [150]  # 1,50 off the purchase

    quote = services.desk.request_quote(SYSTEM, [(product_id, 2)], customer_id=customer_id)
    _, prices, _, until, *_page = sydney(quote.id, api_name="/desk_quote")
    column = prices["headers"].index("Unit price")
    prices["data"] = [[*row[:column], "4,95", *row[column + 1 :]] for row in prices["data"]]
    sydney(quote.id, prices, until, "", api_name="/price_quote")
    priced = services.desk.get_quote(SYSTEM, quote.id)
    assert [line.unit_price_cents for line in priced.lines] == [495]
