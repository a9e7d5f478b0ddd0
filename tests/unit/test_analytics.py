"""The analytics engine against an independent computation in plain Python over the store's rows.

Data is made through the services: cancellations (one after a return), returns, a price change,
a deactivated product and customer, purchases exactly at the range's edges.
"""

from __future__ import annotations

import contextlib
import random
import threading
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd
import psycopg
import pytest

from crpm.analytics import Analytics
from crpm.analytics.periods import MAX_PERIODS, preset_range
from crpm.analytics.rfm import ranked_rows
from crpm.errors import Conflict, PermissionDenied, ValidationError
from crpm.permissions import SYSTEM, Actor
from crpm.services import open_services
from tests.support import SQLITE_ONLY

FROM, TO = "2024-01-01 00:00:00", "2024-02-01 00:00:00"
FAR = "2100-01-01 00:00:00"
TIME = "%Y-%m-%d %H:%M:%S"
RANGES = [(None, None), (FROM, TO), (FROM, FAR), ("2024-01-10", None), (None, "2024-01-10")]


@pytest.fixture
def services(services_on_each_engine):
    return services_on_each_engine


@pytest.fixture
def shop(services):
    """A small shop with every case the definitions talk about."""
    s, a = services, SYSTEM
    ann = s.customers.add(a, "Ann", "ann@example.com").id
    bob = s.customers.add(a, "Bob", "bob@example.com").id
    cat = s.customers.add(a, "Cat", "cat@example.com").id
    dan = s.customers.add(a, "Dan", "dan@example.com").id
    s.customers.add(a, "Eve", "eve@example.com")  # never buys
    apple = s.products.add(a, "AP", "Apple", "1.50", 100, category="fruit").id
    pear = s.products.add(a, "PE", "Pear", "2.00", 100, category="fruit").id
    saw = s.products.add(a, "SA", "Saw", "10.00", 10, category="tools", reorder_level=9).id
    old = s.products.add(a, "OL", "Old", "5.00", 5, category="tools").id
    s.products.add(a, "ID", "Idle", "3.00", 7)  # active, never sold
    gone = s.products.add(a, "GO", "Gone", "4.00", 0).id
    s.products.deactivate(a, gone)  # inactive, never sold: not among least sellers

    def buy(customer, lines, at):
        return s.purchases.record(a, customer, lines, purchased_at=at)

    p1 = buy(ann, [(apple, 3), (saw, 1)], FROM)  # exactly at `from`: counts
    p2 = buy(bob, [(pear, 2), (old, 1)], "2024-01-05 12:00:00")
    s.products.update(a, apple, price="2.50")  # later sales at the new price only
    s.products.deactivate(a, old)  # its past sale still counts
    buy(ann, [(apple, 2)], "2024-01-10 00:00:00")
    p4 = buy(cat, [(saw, 2)], "2024-01-15 08:30:00")
    buy(bob, [(apple, 1)], TO)  # exactly at `to`: not in [FROM, TO)
    buy(dan, [(pear, 1)], "2023-12-31 23:59:59")  # just before `from`
    s.customers.deactivate(a, dan)  # still in every figure
    s.purchases.return_items(a, p2.lines[0].id, 1)  # 1 pear back, counted now
    s.purchases.return_items(a, p4.lines[0].id, 1)  # then the purchase is cancelled:
    s.purchases.cancel(a, p4.id)  # neither its sale nor its return counts
    s.purchases.return_items(a, p1.lines[0].id, 2)
    return {"ann": ann, "bob": bob, "cat": cat, "dan": dan, "apple": apple, "saw": saw}


@pytest.fixture
def analytics(services):
    engine = Analytics(services.store)
    yield engine
    engine.close()


# --- the independent computation ----------------------------------------------------------------


def facts(store, lo, hi):
    """(sales, returns, orders) in range, each a list of dicts, from the raw tables."""
    lo, hi = lo or "0000", hi or "9999"
    purchases = {row["id"]: dict(row) for row in store.query("SELECT * FROM purchases")}
    lines = {row["id"]: dict(row) for row in store.query("SELECT * FROM purchase_lines")}
    live = {pid for pid, p in purchases.items() if p["cancelled_at"] is None}
    sales = [
        {**line, "customer_id": purchases[line["purchase_id"]]["customer_id"],
         "at": purchases[line["purchase_id"]]["purchased_at"]}
        for line in lines.values()
        if line["purchase_id"] in live and lo <= purchases[line["purchase_id"]]["purchased_at"] < hi
    ]  # fmt: skip
    returns = []
    for row in store.query("SELECT * FROM purchase_returns"):
        line = lines[row["line_id"]]
        if line["purchase_id"] in live and lo <= row["returned_at"] < hi:
            returns.append({
                "product_id": line["product_id"], "quantity": row["quantity"],
                "unit_price_cents": line["unit_price_cents"], "at": row["returned_at"],
                "customer_id": purchases[line["purchase_id"]]["customer_id"],
            })  # fmt: skip
    orders = [p for pid, p in purchases.items() if pid in live and lo <= p["purchased_at"] < hi]
    return sales, returns, orders, purchases


def net_by(key, sales, returns):
    units, cents = defaultdict(int), defaultdict(int)
    for row in sales:
        units[key(row)] += row["quantity"]
        cents[key(row)] += row["quantity"] * row["unit_price_cents"]
    for row in returns:
        units[key(row)] -= row["quantity"]
        cents[key(row)] -= row["quantity"] * row["unit_price_cents"]
    return units, cents


EXPECTED_KEYS = (
    "revenue_cents", "gross_sales_cents", "returns_cents", "units_sold", "orders",
    "average_order_value_cents", "active_customers", "new_customers", "products_sold",
    "stock_value_cents", "low_stock_count",
)  # fmt: skip


def expected_summary(store, lo, hi):
    sales, returns, orders, purchases = facts(store, lo, hi)
    gross = sum(r["quantity"] * r["unit_price_cents"] for r in sales)
    back = sum(r["quantity"] * r["unit_price_cents"] for r in returns)
    firsts = {}
    for p in purchases.values():
        if p["cancelled_at"] is None:
            firsts[p["customer_id"]] = min(firsts.get(p["customer_id"], "9999"), p["purchased_at"])
    products = [dict(r) for r in store.query("SELECT * FROM products")]
    revenue = gross - back
    return {
        "revenue_cents": revenue,
        "gross_sales_cents": gross,
        "returns_cents": back,
        "units_sold": sum(r["quantity"] for r in sales) - sum(r["quantity"] for r in returns),
        "orders": len(orders),
        "average_order_value_cents": int(
            (Decimal(revenue) / len(orders)).quantize(Decimal(1), ROUND_HALF_UP)
        ) if orders else 0,
        "active_customers": len({p["customer_id"] for p in orders}),
        "new_customers": sum(1 for at in firsts.values() if (lo or "0000") <= at < (hi or "9999")),
        "products_sold": len({r["product_id"] for r in sales}),
        "stock_value_cents": sum(p["stock"] * p["price_cents"] for p in products),
        "low_stock_count": sum(
            1 for p in products if p["status"] == "active" and p["stock"] <= p["reorder_level"]
        ),
    }  # fmt: skip


def expected_top_customers(store, lo, hi):
    sales, returns, orders, _ = facts(store, lo, hi)
    units, cents = net_by(lambda r: r["customer_id"], sales, returns)
    count = defaultdict(int)
    for p in orders:
        count[p["customer_id"]] += 1
    rows = [(cid, count[cid], units[cid], cents[cid]) for cid in cents]
    return sorted(rows, key=lambda r: (-r[3], -r[1], r[0]))


# --- figures -------------------------------------------------------------------------------------


@pytest.mark.parametrize("lo,hi", RANGES)
def test_summary_matches_an_independent_computation(shop, services, analytics, lo, hi):
    summary = analytics.summary(SYSTEM, lo, hi).to_dict()
    expected = expected_summary(services.store, lo, hi)
    assert {key: summary[key] for key in expected} == expected


def test_summary_known_figures_for_january(shop, analytics):
    """Worked by hand: p1 450+1000, p2 400+500, p3 2x250; p4 cancelled; p5 at `to` left out."""
    summary = analytics.summary(SYSTEM, FROM, TO)
    assert summary.gross_sales_cents == 450 + 1000 + 400 + 500 + 500
    assert summary.returns_cents == 0  # every return happened "now", outside January 2024
    assert summary.orders == 3
    assert summary.units_sold == 3 + 1 + 2 + 1 + 2
    assert summary.average_order_value_cents == 950  # 2850 / 3
    assert summary.active_customers == 2
    assert summary.new_customers == 2  # Ann and Bob; Dan first bought in 2023, Cat cancelled
    everything = analytics.summary(SYSTEM)
    assert everything.returns_cents == 200 + 2 * 150  # the pear and two apples, not the saw
    assert everything.low_stock_count == 1  # the saw (9 <= 9); the gone product is inactive


@pytest.mark.parametrize("lo,hi", RANGES)
def test_top_customers_match(shop, services, analytics, lo, hi):
    frame = analytics.top_customers(SYSTEM, lo, hi, limit=None)
    got = list(frame[["customer_id", "orders", "units", "revenue_cents"]].itertuples(index=False))
    assert [tuple(row) for row in got] == expected_top_customers(services.store, lo, hi)
    assert frame["revenue_cents"].sum() == expected_summary(services.store, lo, hi)["revenue_cents"]


def test_top_customers_first_last_purchase_and_limit(shop, analytics):
    frame = analytics.top_customers(SYSTEM, FROM, TO, limit=1)
    assert len(frame) == 1
    row = frame.iloc[0]
    assert (row["name"], row["email"]) == ("Ann", "ann@example.com")
    assert str(row["first_purchase"]) == FROM
    assert str(row["last_purchase"]) == "2024-01-10 00:00:00"


def test_top_customer_ties_break_by_orders_then_id(services, analytics):
    a = SYSTEM
    x, y, z = (services.customers.add(a, n, f"{n}@example.com").id for n in ("x", "y", "z"))
    item = services.products.add(a, "T", "Thing", "5.00", 100).id
    services.purchases.record(a, z, [(item, 2)])
    services.purchases.record(a, x, [(item, 2)])
    services.purchases.record(a, y, [(item, 1)])
    services.purchases.record(a, y, [(item, 1)])
    frame = analytics.top_customers(SYSTEM)
    assert frame["customer_id"].tolist() == [y, x, z]  # all 10.00; y has 2 orders; x before z


def test_product_performance(shop, services, analytics):
    lists = analytics.product_performance(SYSTEM, None, None, limit=10)
    sales, returns, _, _ = facts(services.store, None, None)
    units, cents = net_by(lambda r: r["product_id"], sales, returns)
    best = [(pid, units[pid], cents[pid]) for pid in units]
    best.sort(key=lambda r: (-r[1], -r[2], r[0]))
    got = lists["by_product"][["product_id", "units_sold", "revenue_cents"]]
    assert [tuple(r) for r in got.itertuples(index=False)] == best
    assert lists["best"]["product_id"].tolist() == [r[0] for r in best][:10]
    least = lists["least"]
    assert "GO" not in least["sku"].tolist() and "OL" not in least["sku"].tolist()  # inactive
    assert least.iloc[0]["sku"] == "ID" and least.iloc[0]["units_sold"] == 0
    assert least["units_sold"].is_monotonic_increasing
    categories = lists["by_category"].set_index("category")
    fruit = [pid for pid in (shop["apple"], 2)]  # apple and pear
    assert categories.loc["fruit", "revenue_cents"] == sum(cents[pid] for pid in fruit)
    assert categories.loc["fruit", "units_sold"] == sum(units[pid] for pid in fruit)
    assert lists["by_category"]["revenue_cents"].sum() == analytics.summary(SYSTEM).revenue_cents


def test_best_seller_ties_break_by_revenue_then_id(services, analytics):
    a = SYSTEM
    buyer = services.customers.add(a, "B", "b@example.com").id
    cheap, dear, also = (
        services.products.add(a, sku, sku, price, 10).id
        for sku, price in (("C", "1.00"), ("D", "2.00"), ("E", "1.00"))
    )
    services.purchases.record(a, buyer, [(cheap, 1), (dear, 1), (also, 1)])
    lists = analytics.product_performance(SYSTEM)
    assert lists["best"]["product_id"].tolist() == [dear, cheap, also]
    assert lists["least"]["product_id"].tolist() == [cheap, also, dear]


@pytest.mark.parametrize("grain", ["day", "week", "month"])
def test_trend_adds_up_and_fills_gaps(shop, services, analytics, grain):
    trend = analytics.trend(SYSTEM, FROM, TO, grain=grain)
    assert trend["revenue_cents"].sum() == analytics.summary(SYSTEM, FROM, TO).revenue_cents
    assert trend["units"].sum() == analytics.summary(SYSTEM, FROM, TO).units_sold
    if grain == "day":
        assert len(trend) == 31  # every day of January, zeros included
        by_day = dict(zip(trend["period"].dt.strftime("%Y-%m-%d"), trend["revenue_cents"],
                          strict=True))  # fmt: skip
        assert by_day["2024-01-01"] == 1450 and by_day["2024-01-02"] == 0
    if grain == "week":
        assert trend["period"].dt.weekday.eq(0).all()  # weeks start on Monday
    if grain == "month":
        assert trend["period"].dt.strftime("%Y-%m-%d").tolist() == ["2024-01-01"]


def test_trend_per_product(shop, analytics):
    trend = analytics.trend(SYSTEM, FROM, TO, grain="month", product_ids=[shop["apple"]])
    assert trend[["sku", "units", "revenue_cents"]].values.tolist() == [["AP", 5, 450 + 500]]


def test_stock_report(shop, services, analytics):
    report = analytics.stock_report(SYSTEM)
    products = report["products"].set_index("sku")
    for row in services.store.query("SELECT * FROM products"):
        got = products.loc[row["sku"]]
        assert got["stock"] == row["stock"]
        assert got["stock_value_cents"] == row["stock"] * row["price_cents"]
        assert bool(got["low_stock"]) == (row["stock"] <= row["reorder_level"])
    assert products.loc["SA", "units_30d"] == 0  # January 2024 is long ago; p4 cancelled
    movements = report["movements"]
    assert len(movements) == services.store.query_one("SELECT count(*) FROM stock_movements")[0]
    assert movements["movement_id"].is_monotonic_decreasing
    stored = {row["id"]: dict(row) for row in services.store.query("SELECT * FROM stock_movements")}
    for got in movements.to_dict("records"):  # details come from the store, the rest from DuckDB
        row = stored[got["movement_id"]]
        fields = ("product_id", "kind", "quantity", "stock_after", "reason", "created_by")
        assert [got[name] for name in fields] == [row[name] for name in fields]
        assert (None if pd.isna(got["purchase_id"]) else got["purchase_id"]) == row["purchase_id"]
        assert str(got["created_at"]) == row["created_at"]
    january = analytics.stock_report(SYSTEM, FROM, TO)["movement_totals"].set_index("kind")
    assert january.loc["sale", "quantity"] == -(3 + 1 + 2 + 1 + 2 + 2)  # p4's sale too


@pytest.mark.any_day
def test_days_of_cover_from_the_last_30_days(services, analytics, clock):
    a = SYSTEM
    buyer = services.customers.add(a, "B", "b@example.com").id
    item = services.products.add(a, "W", "Widget", "1.00", 100, reorder_level=5).id
    recent = clock.stamp(after=-timedelta(days=2))
    services.purchases.record(a, buyer, [(item, 10)], purchased_at=recent)
    services.purchases.record(a, buyer, [(item, 50)], purchased_at="2020-01-01")
    row = analytics.stock_report(SYSTEM)["products"].set_index("sku").loc["W"]
    assert (row["stock"], row["units_30d"], row["days_of_cover"]) == (40, 10, 120.0)


@pytest.mark.any_day
def test_presets_are_whole_days_up_to_the_clocks_day(services, analytics, clock):
    buyer = services.customers.add(SYSTEM, "B", "b@example.com")
    item = services.products.add(SYSTEM, "W", "Widget", "1.00", 100)
    today = clock.utc_day()
    new_year = today.replace(month=1, day=1)
    moments = [
        clock.stamp(),
        f"{today - timedelta(days=6)} 00:00:00",  # first second of "Last 7 days"
        f"{today - timedelta(days=7)} 23:59:59",  # just before it
        f"{today - timedelta(days=29)} 00:00:00",  # first second of "Last 30 days"
        f"{today - timedelta(days=30)} 23:59:59",
        f"{new_year} 00:00:00",  # first second of "This year"
        f"{new_year - timedelta(days=1)} 23:59:59",
    ]
    for at in moments:
        services.purchases.record(SYSTEM, buyer.id, [(item.id, 1)], purchased_at=at)
    firsts = {
        "Last 7 days": today - timedelta(days=6),
        "Last 30 days": today - timedelta(days=29),
        "This year": new_year,
    }
    for preset, first in firsts.items():
        start, end = preset_range(preset, today)
        assert (start, end) == (f"{first} 00:00:00", f"{today + timedelta(days=1)} 00:00:00")
        expected = sum(first.isoformat() <= at[:10] <= today.isoformat() for at in moments)
        assert analytics.summary(SYSTEM, start, end).orders == expected, preset
    assert analytics.summary(SYSTEM, *preset_range("All time", today)).orders == len(moments)


def test_rfm_scores_and_segments(shop, services, analytics):
    result = analytics.rfm(SYSTEM, None, FAR)
    customers = result["customers"].set_index("customer_id")
    _, _, orders, _ = facts(services.store, None, FAR)
    assert set(customers.index) == {p["customer_id"] for p in orders}
    as_of = datetime.fromisoformat(FAR)
    for cid, row in customers.iterrows():
        mine = [p["purchased_at"] for p in orders if p["customer_id"] == cid]
        last = datetime.fromisoformat(max(mine))
        assert row["recency_days"] == (as_of - last).days
        assert row["frequency"] == len(mine)
    n = len(customers)
    for measure, score, sign in (("frequency", "f_score", 1), ("monetary_cents", "m_score", 1),
                                 ("recency_days", "r_score", -1)):  # fmt: skip
        values = (customers[measure] * sign).tolist()
        for value, got in zip(values, customers[score], strict=True):
            smaller = sum(1 for other in values if other < value)
            assert got == 1 + 5 * smaller // n
    segments = result["segments"].set_index("segment")
    assert segments["customers"].sum() == n
    assert segments["revenue_cents"].sum() == customers["monetary_cents"].sum()


def test_rfm_rows_rank_by_revenue_then_orders_then_id_with_ties_at_the_cut():
    scored = pd.DataFrame(
        {
            "customer_id": [5, 3, 9, 1, 7, 2],
            "monetary_cents": [500, 900, 500, 100, 900, 500],
            "frequency": [2, 1, 2, 9, 3, 4],
        }
    )
    by_hand = sorted(
        range(len(scored)),
        key=lambda i: (-scored.monetary_cents[i], -scored.frequency[i], scored.customer_id[i]),
    )
    assert ranked_rows(scored, None).tolist() == by_hand
    for limit in range(1, len(scored) + 1):  # 3 and 4 cut through the three ties at 500
        assert ranked_rows(scored, limit).tolist() == by_hand[:limit]


def test_rfm_with_a_limit_is_the_head_of_the_whole_ranking(shop, services, analytics):
    everyone = analytics.rfm(SYSTEM, None, FAR)["customers"]
    for limit in (1, 2, 3):
        top = analytics.rfm(SYSTEM, None, FAR, limit=limit)["customers"]
        assert top.reset_index(drop=True).equals(everyone.head(limit).reset_index(drop=True))


# --- freshness, concurrency, empty store, roles ----------------------------------------------


def test_a_purchase_recorded_a_moment_ago_is_in_the_next_report(shop, services, analytics):
    before = analytics.summary(SYSTEM)
    services.purchases.record(SYSTEM, shop["bob"], [(shop["apple"], 4)])
    after = analytics.summary(SYSTEM)
    assert after.orders == before.orders + 1
    assert after.revenue_cents == before.revenue_cents + 4 * 250
    services.purchases.cancel(SYSTEM, 2)
    services.products.update(SYSTEM, shop["saw"], price="20.00")
    services.customers.update(SYSTEM, shop["ann"], name="Ann B")
    assert analytics.summary(SYSTEM) == analytics_from_scratch(services).summary(SYSTEM)
    assert "Ann B" in analytics.top_customers(SYSTEM)["name"].tolist()


def analytics_from_scratch(services):
    return Analytics(services.store, keep=False)


def test_reports_while_a_writer_records_purchases(shop, services, analytics):
    errors, recorded = [], []

    def writer():
        try:
            for _ in range(60):
                recorded.append(
                    services.purchases.record(SYSTEM, shop["bob"], [(shop["apple"], 1)])
                )
        except Exception as exc:  # noqa: BLE001 - the test reports whatever went wrong
            errors.append(exc)

    base = analytics.summary(SYSTEM).orders
    thread = threading.Thread(target=writer)
    thread.start()
    while thread.is_alive():
        analytics.page(SYSTEM)
    thread.join()
    assert errors == []
    assert analytics.summary(SYSTEM).orders == base + len(recorded) == base + 60


def test_empty_store_gives_empty_well_formed_reports(services, analytics):
    page = analytics.page(SYSTEM)
    assert page["summary"].revenue_cents == 0 and page["summary"].average_order_value_cents == 0
    assert page["top_customers"].empty and "revenue_cents" in page["top_customers"].columns
    assert all(frame.empty for frame in page["products"].values())
    assert page["trend"].empty and list(page["trend"].columns) == [
        "period",
        "revenue_cents",
        "units",
    ]
    assert page["stock"]["products"].empty and page["rfm"]["customers"].empty
    assert page["rfm"]["segments"]["customers"].sum() == 0
    assert len(analytics.trend(SYSTEM, FROM, TO)) == 31


def test_customers_are_refused_and_bad_input_named(services, analytics):
    customer = Actor(username="c@example.com", role="customer", customer_id=1)
    calls = (analytics.summary, analytics.top_customers, analytics.product_performance,
             analytics.trend, analytics.stock_report, analytics.rfm, analytics.page)  # fmt: skip
    for call in calls:
        with pytest.raises(PermissionDenied):
            call(customer)
    with pytest.raises(ValidationError, match="from"):
        analytics.summary(SYSTEM, "yesterday")
    with pytest.raises(ValidationError, match="to"):
        analytics.summary(SYSTEM, TO, FROM)
    with pytest.raises(ValidationError, match="grain"):
        analytics.trend(SYSTEM, grain="year")


# --- incremental sync: exactly what a fresh load gives ---------------------------------------


def assert_same_page(got: dict, want: dict) -> None:
    assert got["summary"] == want["summary"]
    for key in ("top_customers", "trend"):
        pd.testing.assert_frame_equal(got[key], want[key])
    for key in ("products", "stock", "rfm"):
        for name, frame in want[key].items():
            pd.testing.assert_frame_equal(got[key][name], frame, obj=f"{key}.{name}")


class RandomShop:
    """Purchases at random times (several lines, repeated products), returns, cancellations
    (some after a return), price changes and restocks, in random order."""

    def __init__(self, services, rng: random.Random):
        a = SYSTEM
        self.services, self.rng, self.purchases = services, rng, []
        self.customers = [services.customers.add(a, f"C{i}", f"c{i}@example.com").id
                          for i in range(8)]  # fmt: skip
        self.products = [
            services.products.add(a, f"P{i}", f"P{i}", self.price(), 500).id for i in range(6)
        ]

    def price(self) -> str:
        return f"{self.rng.randint(1, 900) / 100:.2f}"

    def steps(self, count: int) -> None:
        for _ in range(count):
            roll = self.rng.random()
            if roll < 0.55 or not self.purchases:
                self.buy()
            elif roll < 0.95:
                with contextlib.suppress(ValidationError, Conflict):
                    self.change(roll)
            else:
                self.services.products.restock(SYSTEM, self.rng.choice(self.products), 3)

    def buy(self) -> None:
        rng = self.rng
        lines = [(rng.choice(self.products), rng.randint(1, 3)) for _ in range(rng.randint(1, 3))]
        at = datetime(2024, 1, 1) + timedelta(seconds=rng.randint(0, 60 * 86400))
        self.purchases.append(
            self.services.purchases.record(
                SYSTEM, rng.choice(self.customers), lines, purchased_at=at.strftime(TIME)
            )
        )

    def change(self, roll: float) -> None:
        purchase, s = self.rng.choice(self.purchases), self.services
        if roll < 0.75:
            s.purchases.return_items(SYSTEM, self.rng.choice(purchase.lines).id, 1)
        elif roll < 0.85:
            s.purchases.cancel(SYSTEM, purchase.id)
        else:
            s.products.update(SYSTEM, self.rng.choice(self.products), price=self.price())


def random_ranges(rng: random.Random, count: int):
    """[from, to) pairs in the shop's two months: whole days (as the presets) or any second,
    closed or open on one side."""
    for _ in range(count):
        start = datetime(2024, 1, 1) + timedelta(seconds=rng.randint(0, 50 * 86400))
        end = start + timedelta(seconds=rng.randint(1, 30 * 86400))
        if rng.random() < 0.5:
            start = start.replace(hour=0, minute=0, second=0)
            end = end.replace(hour=0, minute=0, second=0) + timedelta(days=1)
        lo, hi = start.strftime(TIME), end.strftime(TIME)
        yield from ((lo, hi), (None, hi), (lo, FAR))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_incremental_sync_equals_a_fresh_load_on_random_ranges(services, analytics, seed):
    """The engine syncs after every few changes (new lines add to their purchase's kept totals,
    cancelled purchases are re-read); then every report equals that of an engine loaded from
    scratch and the independent computation, on whole-day and on arbitrary ranges, and each
    purchase's kept line totals equal the sums of its lines."""
    rng = random.Random(seed)
    shop = RandomShop(services, rng)
    for _ in range(8):
        shop.steps(8)
        analytics.page(SYSTEM, None, FAR, grain="month")
    scratch = Analytics(services.store, keep=False)
    try:
        for lo, hi in random_ranges(rng, 5):
            grain = "month" if hi == FAR else "day"  # by day up to 2100 is past MAX_PERIODS
            assert_same_page(
                analytics.page(SYSTEM, lo, hi, grain), scratch.page(SYSTEM, lo, hi, grain)
            )
            summary = analytics.summary(SYSTEM, lo, hi).to_dict()
            assert {key: summary[key] for key in EXPECTED_KEYS} == expected_summary(
                services.store, lo, hi
            )
    finally:
        scratch.close()
    kept = analytics._mirror.con.execute("SELECT id, units, cents FROM purchases ORDER BY id")
    lines = services.store.query(
        "SELECT purchase_id, sum(quantity), sum(quantity * unit_price_cents) FROM purchase_lines"
        " GROUP BY purchase_id ORDER BY purchase_id"
    )
    assert kept.fetchall() == [tuple(row) for row in lines]


def test_warm_up_loads_the_copy_in_the_background_and_reports_stay_fresh(shop, services):
    engine = Analytics(services.store)
    try:
        engine.warm_up_in_background().join(timeout=60)
        assert engine._mirror.marks is not None  # loaded before any report asked
        services.purchases.record(SYSTEM, shop["bob"], [(shop["apple"], 1)])
        assert engine.summary(SYSTEM) == analytics_from_scratch(services).summary(SYSTEM)
    finally:
        engine.close()


@SQLITE_ONLY  # the store's file goes missing
def test_a_failed_warm_up_is_logged_and_the_next_report_retries(services, tmp_path, caplog):
    engine = Analytics(services.store)
    try:
        engine._mirror.store_path = tmp_path / "missing" / "crpm.db"
        assert engine.warm_up() is False
        assert "analytics warm-up failed" in caplog.text
        engine._mirror.store_path = services.store.path
        assert engine.summary(SYSTEM).orders == 0
    finally:
        engine.close()


def test_categories_add_up_and_name_the_uncategorised(services, analytics):
    a = SYSTEM
    buyer = services.customers.add(a, "B", "b@example.com").id
    plain = services.products.add(a, "N", "No category", "3.00", 10).id
    tool = services.products.add(a, "T", "Tool", "3.00", 10, category="tools").id
    toy = services.products.add(a, "Y", "Toy", "1.00", 10, category="toys").id
    services.purchases.record(a, buyer, [(plain, 1), (tool, 1), (toy, 2)])
    frame = analytics.product_performance(SYSTEM)["by_category"]
    expected = [["(none)", 1, 1, 300], ["tools", 1, 1, 300], ["toys", 1, 2, 200]]
    assert frame.values.tolist() == expected  # revenue desc, then category name


def test_duckdb_threads_follow_the_machine_load(services, monkeypatch):
    engine = Analytics(services.store)
    try:
        monkeypatch.setattr("os.cpu_count", lambda: 2)
        monkeypatch.setattr("os.getloadavg", lambda: (7.0, 7.0, 7.0))
        engine.summary(SYSTEM)
        assert engine._mirror.con.execute("SELECT current_setting('threads')").fetchone()[0] == 1
        monkeypatch.setattr("os.getloadavg", lambda: (0.5, 0.5, 0.5))
        engine.summary(SYSTEM)
        assert engine._mirror.con.execute("SELECT current_setting('threads')").fetchone()[0] == 2
        monkeypatch.delattr("os.getloadavg")  # as on Windows: every core
        engine.summary(SYSTEM)
        assert engine._mirror.threads == 2
    finally:
        engine.close()


# --- a bound on the periods of a trend (issue 13) ------------------------------------------------


@pytest.mark.parametrize(
    ("grain", "date_from", "periods"),
    [
        ("day", "1900-01-01", 2_958_463),
        ("week", "1900-01-01", 422_638),
        ("month", "1900-01-01", 97_200),
    ],
)
def test_a_trend_of_too_many_periods_is_refused_naming_grain_and_limit(
    shop, analytics, grain, date_from, periods
):
    expected = (
        f"grain: a trend by {grain} over this range has {periods:,} periods, more than"
        f" {MAX_PERIODS:,}; choose a longer grain or a shorter range"
    )
    for call in (
        lambda: analytics.trend(SYSTEM, date_from, "9999-12-31", grain=grain),
        lambda: analytics.trend(SYSTEM, date_from, "9999-12-31", grain, [shop["apple"]]),
        lambda: analytics.page(SYSTEM, date_from, "9999-12-31", grain=grain),
    ):
        with pytest.raises(ValidationError) as info:
            call()
        assert str(info.value) == expected


def test_a_trend_at_the_period_limit_is_answered(shop, analytics):
    start = datetime(2022, 1, 1)
    end = start + timedelta(days=MAX_PERIODS)
    trend = analytics.trend(SYSTEM, str(start), str(end), grain="day")
    assert len(trend) == MAX_PERIODS
    with pytest.raises(ValidationError, match="grain: a trend by day"):
        analytics.trend(SYSTEM, str(start), str(end + timedelta(seconds=1)), grain="day")
    assert len(analytics.page(SYSTEM, "1995-01-01", "2025-01-01", grain="month")["trend"]) == 360


# --- PostgreSQL: ids visible out of order, and the same figures as SQLite ---------------------


def copy_row(conn, table: str, row_id: int, **values) -> int:
    """A raw INSERT of a copy of a row (new id, `values` replaced), as a writer outside the
    services would make it; its new id."""
    columns = [
        name
        for (name,) in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema ="
            " current_schema() AND table_name = %s AND is_generated = 'NEVER' AND column_name"
            " <> 'id' ORDER BY ordinal_position",
            (table,),
        )
    ]
    kept = [name for name in columns if name not in values]
    sql = (
        f"INSERT INTO {table} ({', '.join([*values, *kept])})"
        f" SELECT {', '.join(['%s'] * len(values) + kept)} FROM {table} WHERE id = %s RETURNING id"
    )
    return conn.execute(sql, (*values.values(), row_id)).fetchone()[0]


def open_sale(url: str, template) -> tuple:
    """A connection in a transaction that has copied the purchase `template` (its one line),
    uncommitted; with the new purchase's and line's ids."""
    conn = psycopg.connect(url)
    purchase = copy_row(conn, "purchases", template.id, order_ref=None)
    line = copy_row(conn, "purchase_lines", template.lines[0].id, purchase_id=purchase)
    return conn, purchase, line


def fresh_summary(services):
    """The summary of an engine loaded from scratch (and closed: on PostgreSQL it holds a
    connection)."""
    engine = Analytics(services.store, keep=False)
    try:
        return engine.summary(SYSTEM)
    finally:
        engine.close()


@contextlib.contextmanager
def shop_of_one_sale(pg_url, clock):
    """A PostgreSQL shop with one sale of 3 widgets at 2.50 and its analytics engine, synced;
    yields (services, engine, stack, the sale), all closed when the block ends."""
    services = open_services(pg_url, clock)
    engine = Analytics(services.store)
    with contextlib.ExitStack() as stack:
        stack.callback(services.store.close)
        stack.callback(engine.close)
        ann = services.customers.add(SYSTEM, "Ann", "ann@example.com").id
        widget = services.products.add(SYSTEM, "W", "Widget", "2.50", 100).id
        template = services.purchases.record(SYSTEM, ann, [(widget, 3)], purchased_at=FROM)
        assert engine.summary(SYSTEM).orders == 1
        yield services, engine, stack, template


def test_postgresql_a_lower_id_committed_last_is_in_the_next_report(pg_url, clock):
    """Transaction A draws the lower ids, B the higher ones and commits; a report syncs (B in
    it, A not yet); A commits; the next report has both, to the cent, as a fresh load has."""
    with shop_of_one_sale(pg_url, clock) as (services, engine, stack, template):
        first, first_purchase, first_line = open_sale(pg_url, template)
        stack.callback(first.close)
        second, second_purchase, second_line = open_sale(pg_url, template)
        stack.callback(second.close)
        assert (first_purchase, first_line) < (second_purchase, second_line)
        second.commit()
        middle = engine.summary(SYSTEM)
        assert (middle.orders, middle.revenue_cents) == (2, 2 * 750)
        first.commit()
        after = engine.summary(SYSTEM)
        assert (after.orders, after.units_sold, after.revenue_cents) == (3, 9, 3 * 750)
        assert after == fresh_summary(services)


@pytest.mark.parametrize("seed", [1, 2])
def test_postgresql_sales_ending_in_any_order_are_all_counted_once(pg_url, clock, seed):
    """Eight open sales end in a random order, some rolled back (holes that never fill), a
    report between each two ends, each equal to a fresh load's."""
    rng = random.Random(seed)
    with shop_of_one_sale(pg_url, clock) as (services, engine, stack, template):
        sales = [open_sale(pg_url, template)[0] for _ in range(8)]
        for conn in sales:
            stack.callback(conn.close)
        rng.shuffle(sales)
        committed = 1
        for conn in sales:
            if rng.random() < 0.25:
                conn.rollback()
            else:
                conn.commit()
                committed += 1
            got = engine.summary(SYSTEM)
            assert (got.orders, got.revenue_cents) == (committed, committed * 750)
            assert got == fresh_summary(services)


def test_postgresql_imported_purchases_after_rolled_back_sales_are_in_the_next_report(
    pg_url, clock, tmp_path
):
    """Rolled-back sales move the sequences past the highest id and a report settles their
    ids; an import then writes purchases: they draw ids above the settled ones (not max(id)
    plus the file line, which fell among them and was never read), so the report has them."""
    with shop_of_one_sale(pg_url, clock) as (services, engine, stack, template):
        for _ in range(3):
            conn = open_sale(pg_url, template)[0]
            stack.callback(conn.close)
            conn.rollback()
        assert engine.summary(SYSTEM).orders == 1
        assert engine._mirror.bounds["purchases"] >= 4  # the rolled-back ids are settled now
        path = tmp_path / "purchases.csv"
        path.write_text(
            "order_ref,customer_email,sku,quantity,unit_price,purchased_at\n"
            "I-1,ann@example.com,W,2,4.00,2024-01-02 10:00:00\n"
            "I-2,ann@example.com,W,1,4.00,2024-01-03 10:00:00\n"
        )
        assert services.imports.run(SYSTEM, "purchases", path).created == 2
        after = engine.summary(SYSTEM)
        assert (after.orders, after.units_sold, after.revenue_cents) == (3, 6, 750 + 3 * 400)
        assert after == fresh_summary(services)


def test_postgresql_writers_take_their_transaction_id_before_any_row_id(pg_url):
    """Migration 010, which the sync's proof rests on: an INSERT into any table the mirror reads
    assigns the transaction id before computing a row (so even one that inserts nothing has it)."""
    from crpm.analytics.mirror import SOURCES

    open_services(pg_url).store.close()
    with psycopg.connect(pg_url) as conn:
        for table in SOURCES.values():
            conn.execute(f"INSERT INTO {table} (id) SELECT id FROM {table} WHERE false")
            assigned = conn.execute("SELECT pg_current_xact_id_if_assigned()").fetchone()[0]
            assert assigned is not None, table
            conn.rollback()


@pytest.mark.parametrize("seed", [4, 5])
def test_postgresql_and_sqlite_give_the_same_figures_for_the_same_shop(
    db_path, pg_url, clock, seed
):
    engines = {}
    try:
        for location in (db_path, pg_url):
            services = open_services(location, clock)
            shop = RandomShop(services, random.Random(seed))
            engine = Analytics(services.store)
            for _ in range(4):
                shop.steps(10)
                engine.page(SYSTEM, None, FAR, grain="month")  # synced step by step
            engines[services.store.dialect] = (services, engine)
        pages = {
            dialect: [engine.page(SYSTEM, lo, hi, "month") for lo, hi in RANGES]
            for dialect, (_, engine) in engines.items()
        }
        for got, want in zip(pages["postgresql"], pages["sqlite"], strict=True):
            assert_same_page(got, want)
            pd.testing.assert_frame_equal(got["tax"], want["tax"])
    finally:
        for services, engine in engines.values():
            engine.close()
            services.store.close()
