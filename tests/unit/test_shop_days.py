"""The shop's own days: a shop in Sydney counts, filters and groups by Sydney's days, across the
change to summer time, while every time stays stored in UTC."""

from __future__ import annotations

from contextlib import closing
from datetime import date

import pytest

from crpm.analytics import Analytics
from crpm.analytics.periods import DateRange, day_range, describe_range, preset_range
from crpm.errors import Conflict, ValidationError
from crpm.permissions import SYSTEM
from crpm.shoplocale import day_start, shop_day, show_time, utc_offsets

SYDNEY = "Australia/Sydney"
LATE_SALE = "2026-06-14 23:30:00"  # UTC: 09:30 on 15 June in Sydney (AEST, +10)


@pytest.fixture
def analytics(services):
    with closing(Analytics(services.store)) as engine:
        yield engine


@pytest.fixture
def sydney(services):
    services.taxes.update_settings(SYSTEM, time_zone=SYDNEY)
    return services


def sell(services, shop, at: str, price: str = "10.00"):
    buyer = shop.customer()
    product = shop.product(price=price)
    return services.purchases.record(SYSTEM, buyer.id, [(product.id, 1)], purchased_at=at)


def days_of(trend) -> dict[str, int]:
    return {
        str(row.period.date()): int(row.revenue_cents)
        for row in trend.itertuples()
        if row.revenue_cents
    }


def test_a_late_utc_sale_lands_on_the_next_sydney_day_in_the_daily_report(sydney, shop, analytics):
    sale = sell(sydney, shop, LATE_SALE)
    assert sale.purchased_at == LATE_SALE  # stored in UTC
    trend = analytics.trend(SYSTEM, "2026-06-13", "2026-06-16", grain="day")
    assert days_of(trend) == {"2026-06-15": 1000}
    assert [str(p.date()) for p in trend["period"]] == ["2026-06-13", "2026-06-14", "2026-06-15"]


def test_the_same_sale_stays_on_its_utc_day_for_a_utc_shop(services, shop, analytics):
    sell(services, shop, LATE_SALE)
    trend = analytics.trend(SYSTEM, "2026-06-13", "2026-06-16", grain="day")
    assert days_of(trend) == {"2026-06-14": 1000}


def test_a_days_figures_are_the_shops_day(sydney, shop, analytics):
    sell(sydney, shop, LATE_SALE)
    assert analytics.summary(SYSTEM, "2026-06-15", "2026-06-16").orders == 1
    assert analytics.summary(SYSTEM, "2026-06-14", "2026-06-15").orders == 0
    # a time without an offset is still a UTC instant
    assert analytics.summary(SYSTEM, "2026-06-14 23:00:00", "2026-06-15 00:00:00").orders == 1


def test_presets_and_filters_take_the_shops_days(sydney, clock):
    assert shop_day(clock, SYDNEY) == date(2026, 6, 15)  # 10:00 UTC is 20:00 in Sydney
    clock.set("2026-06-15 15:00:00")  # 01:00 on 16 June in Sydney, still 15 June in UTC
    local_today = shop_day(clock, SYDNEY)
    assert local_today == date(2026, 6, 16)
    start, end = preset_range("Last 7 days", local_today, zone=SYDNEY)
    assert (start, end) == ("2026-06-09 14:00:00", "2026-06-16 14:00:00")
    assert day_range("2026-06-15", "2026-06-15", SYDNEY) == (
        "2026-06-14 14:00:00",
        "2026-06-15 14:00:00",
    )
    assert describe_range(start, end, SYDNEY) == (
        "2026-06-10 to 2026-06-16 (Australia/Sydney days, both included)"
    )


def test_the_purchases_filter_of_a_sydney_day_finds_its_late_utc_sale(sydney, shop):
    sale = sell(sydney, shop, LATE_SALE)
    start, end = day_range("2026-06-15", "2026-06-15", SYDNEY)
    found = sydney.purchases.list(SYSTEM, date_from=start, date_to=end)
    assert [row["id"] for row in found.items] == [sale.id]
    start, end = day_range("2026-06-14", "2026-06-14", SYDNEY)
    assert sydney.purchases.list(SYSTEM, date_from=start, date_to=end).total == 0


def test_times_are_shown_on_the_shops_clock():
    assert show_time(LATE_SALE, SYDNEY) == "2026-06-15 09:30:00"
    assert show_time(LATE_SALE, "America/Los_Angeles", seconds=False) == "2026-06-14 16:30"
    assert show_time(LATE_SALE, "UTC") == LATE_SALE
    assert show_time(None, SYDNEY) == ""


# Sydney's clocks go from 02:00 AEST (+10) to 03:00 AEDT (+11) on 4 October 2026, at 16:00 UTC
# on 3 October: that Sunday has 23 hours.
DST_SALES = {
    "2026-10-03 13:30:00": "2026-10-03",  # 23:30 AEST
    "2026-10-03 14:30:00": "2026-10-04",  # 00:30 AEST
    "2026-10-04 12:30:00": "2026-10-04",  # 23:30 AEDT
    "2026-10-04 13:30:00": "2026-10-05",  # 00:30 AEDT
}


def test_days_across_the_change_to_summer_time(sydney, shop, analytics, clock):
    clock.set("2026-10-10 00:00:00")
    for number, at in enumerate(DST_SALES, start=1):
        sell(sydney, shop, at, price=f"{number}.00")
    assert day_range("2026-10-04", "2026-10-04", SYDNEY) == (
        "2026-10-03 14:00:00",
        "2026-10-04 13:00:00",
    )
    trend = analytics.trend(SYSTEM, "2026-10-03", "2026-10-06", grain="day")
    assert days_of(trend) == {"2026-10-03": 100, "2026-10-04": 200 + 300, "2026-10-05": 400}
    assert analytics.summary(SYSTEM, "2026-10-04", "2026-10-05").orders == 2


def test_the_offsets_change_once_on_the_utc_day_of_the_change():
    rows = {row[0]: row[1:] for row in utc_offsets(date(2026, 10, 2), date(2026, 10, 4), SYDNEY)}
    assert rows[date(2026, 10, 2)] == (36000, None, 36000)
    assert rows[date(2026, 10, 3)] == (36000, "2026-10-03 16:00:00", 39600)
    assert rows[date(2026, 10, 4)] == (39600, None, 39600)
    assert day_start(date(2026, 10, 5), SYDNEY) == "2026-10-04 13:00:00"


def test_weeks_and_months_are_the_shops(sydney, shop, analytics, clock):
    clock.set("2026-08-01 00:00:00")
    sell(sydney, shop, "2026-06-30 23:30:00")  # 1 July in Sydney
    by_month = analytics.trend(SYSTEM, "2026-06-01", "2026-08-01", grain="month")
    assert days_of(by_month) == {"2026-07-01": 1000}
    sell(sydney, shop, "2026-07-05 14:30:00", price="5.00")  # Monday 6 July, 00:30 in Sydney
    by_week = analytics.trend(SYSTEM, "2026-06-29", "2026-07-13", grain="week")
    assert days_of(by_week) == {"2026-06-29": 1000, "2026-07-06": 500}


def test_an_open_range_lays_out_the_days_of_its_activity(sydney, shop, analytics):
    sell(sydney, shop, LATE_SALE)
    trend = analytics.trend(SYSTEM, None, None, grain="day")
    assert days_of(trend) == {"2026-06-15": 1000}
    assert DateRange.parse("2026-06-15", None, SYDNEY).date_from == "2026-06-14 14:00:00"


def test_a_quote_holds_to_the_end_of_the_shops_day(sydney, shop, clock, refused):
    buyer, product = shop.customer(), shop.product(price="5.00")
    quote = sydney.desk.request_quote(SYSTEM, [(product.id, 1)], customer_id=buyer.id)
    clock.set("2026-06-15 15:00:00")  # 01:00 on 16 June in Sydney, still 15 June in UTC
    with refused(ValidationError, match="today or later"):
        sydney.desk.price_quote(SYSTEM, quote.id, {product.id: "5.00"}, "2026-06-15")
    priced = sydney.desk.price_quote(SYSTEM, quote.id, {product.id: "5.00"}, "2026-06-16")
    assert priced.valid_until == "2026-06-16 13:59:59"  # 23:59:59 in Sydney, stored in UTC
    clock.set("2026-06-16 13:59:59")
    assert sydney.desk.get_quote(SYSTEM, quote.id).status == "priced"
    clock.advance(seconds=1)  # midnight in Sydney
    assert sydney.desk.get_quote(SYSTEM, quote.id).status == "expired"
    with refused(Conflict, match="expired on 2026-06-16;"):  # the shop's day, not UTC's
        sydney.desk.accept_quote(SYSTEM, quote.id)
