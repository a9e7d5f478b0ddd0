"""The reports: `Analytics`, one method per report, each refusing customers, each over an optional
[date_from, date_to) range, each on the mirror synced just before it (one lock serialises sync and
queries: DuckDB already uses every core for one query). The figures are defined in the report
files, sql/analytics/*.sql; the functions here run them and shape their answers."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd

from crpm.analytics.mirror import open_mirror
from crpm.analytics.periods import (
    DateRange,
    check_grain,
    fill_periods,
    fill_product_periods,
    moment,
)
from crpm.analytics.rfm import customer_scores, rfm_tables
from crpm.clock import Clock
from crpm.models import AsDict, parse_id, parse_int
from crpm.permissions import Actor, ensure
from crpm.services.taxes import read_settings
from crpm.shoplocale import UTC, utc_offsets

log = logging.getLogger(__name__)
RECENT_DAYS = 30
# The range totals each report reads: built once per call, so the page's reports share them.
TOTALS_NEEDED = {
    "summary": ("product_totals", "customer_totals"),
    "top_customers": ("customer_totals",),
    "rfm": ("customer_totals",),
    "product_performance": ("product_totals",),
    "category_performance": ("product_totals",),
}

# The lists sql/analytics/shop_days.sql lays out, one item per UTC day (shoplocale.utc_offsets).
SHOP_DAY_COLUMNS = ("utc_days", "before_s", "change_at", "after_s")


@dataclass(frozen=True)
class SalesSummary(AsDict):
    """The headline figures of a date range; money in integer cents."""

    date_from: str | None
    date_to: str | None
    revenue_cents: int
    gross_sales_cents: int
    returns_cents: int
    units_sold: int
    orders: int
    average_order_value_cents: int
    active_customers: int
    new_customers: int
    products_sold: int
    stock_value_cents: int
    low_stock_count: int


def average_cents(total_cents: int, count: int) -> int:
    """total / count rounded half-up (away from zero) to the cent; 0 when there is nothing."""
    if not count:
        return 0
    return int((Decimal(total_cents) / Decimal(count)).quantize(Decimal(1), ROUND_HALF_UP))


class Snapshot:
    """One call's reports over one range on a synced source (the mirror, or a benchmark's
    baseline): the range totals a report needs, and the shop's days a trend needs, are built on
    first use and then shared."""

    def __init__(self, source, span: DateRange):
        self.source = source
        self.span = span
        self._built: set[str] = set()

    def query(self, name: str, params: dict | None = None) -> pd.DataFrame:
        for totals in TOTALS_NEEDED.get(name, ()):
            if totals not in self._built:
                self.source.build(totals, self.span.params)
                self._built.add(totals)
        return self.source.query(name, self.span.params if params is None else params)

    def shop_days(self) -> dict:
        """The shop's days laid out for the trends (sql/analytics/shop_days.sql); the trends'
        parameter saying whether the shop is on UTC (then there is nothing to lay out)."""
        utc = self.span.zone == UTC
        if "shop_days" not in self._built:
            rows = [] if utc else self._offsets()
            columns = {name: [row[i] for row in rows] for i, name in enumerate(SHOP_DAY_COLUMNS)}
            self.source.build("shop_days", columns)
            self._built.add("shop_days")
        return {"utc": utc}

    def _offsets(self) -> list:
        span = self.source.query("activity_span", self.span.params).iloc[0]
        if pd.isna(span["first_at"]):
            return []
        return utc_offsets(span["first_at"].date(), span["last_at"].date(), self.span.zone)


class Analytics:
    """Every report, each refusing customers, each on an optional [date_from, date_to) range."""

    def __init__(self, store, threads: int | None = None, keep: bool = True):
        """`keep`: the mirror in a file that the next start catches up from, where one is free
        (crpm/analytics/mirrorfile.py); else in memory."""
        self.store = store
        self._mirror = open_mirror(store, threads, keep)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._mirror.close()

    def warm_up(self) -> bool:
        """Load the copy of the store now (the first report otherwise pays for it). Meant for a
        background thread started with the app; a report asked meanwhile waits for the load
        instead of starting its own. False (and logged) if it failed: the next report retries."""
        try:
            with self._lock:
                self._mirror.sync()
        except Exception:  # noqa: BLE001 - a background thread has no caller to tell
            log.exception("analytics warm-up failed; the next report loads the store instead")
            return False
        return True

    def warm_up_in_background(self) -> threading.Thread:
        """`warm_up` in a daemon thread, so that it never delays or outlives the app."""
        thread = threading.Thread(target=self.warm_up, name="analytics-warm-up", daemon=True)
        thread.start()
        return thread

    def _snapshot(self, span: DateRange) -> Snapshot:
        """The mirror, synced, seen over `span`; call with the lock held."""
        self._mirror.fit_threads()
        self._mirror.sync()
        return Snapshot(self._mirror, span)

    def _span(self, actor: Actor, date_from, date_to) -> DateRange:
        """The range asked for (bare dates are the shop's days), once the actor is known to be
        allowed analytics."""
        ensure(actor, "analytics")
        return DateRange.parse(date_from, date_to, read_settings(self.store.conn).time_zone)

    def _run(self, span: DateRange, report: Callable, *args):
        """`report(snapshot, *args)` on the mirror freshly synced, seen over `span`."""
        with self._lock:
            return report(self._snapshot(span), *args)

    # --- the reports ------------------------------------------------------------------------

    def summary(self, actor: Actor, date_from=None, date_to=None) -> SalesSummary:
        return self._run(self._span(actor, date_from, date_to), summary_of)

    def top_customers(self, actor: Actor, date_from=None, date_to=None, limit=10) -> pd.DataFrame:
        span, limit = self._span(actor, date_from, date_to), _limit(limit)
        return self._run(span, top_customers_of, limit)

    def product_performance(
        self, actor: Actor, date_from=None, date_to=None, limit=10
    ) -> dict[str, pd.DataFrame]:
        span, limit = self._span(actor, date_from, date_to), _limit(limit)
        return self._run(span, product_performance_of, limit)

    def trend(
        self, actor: Actor, date_from=None, date_to=None, grain: str = "day", product_ids=None
    ) -> pd.DataFrame:
        span, grain = self._span(actor, date_from, date_to), check_grain(grain)
        ids = [parse_id(value, "product") for value in product_ids or ()]
        return self._run(span, trend_of, grain, ids)

    def stock_report(
        self, actor: Actor, date_from=None, date_to=None, limit=200
    ) -> dict[str, pd.DataFrame]:
        span, limit = self._span(actor, date_from, date_to), _limit(limit)
        return self._run(span, stock_of, limit, self.store.clock)

    def rfm(
        self, actor: Actor, date_from=None, date_to=None, limit=None
    ) -> dict[str, pd.DataFrame]:
        """Every buying customer scored (the first `limit` by revenue) and the segments' totals."""
        span, limit = self._span(actor, date_from, date_to), _limit(limit)
        return self._run(span, rfm_of, limit, self.store.clock)

    def customer_rfm(self, actor: Actor, customer_id) -> dict | None:
        """One customer's RFM measures, scores and segment over all time (None: no purchase)."""
        span, customer_id = self._span(actor, None, None), parse_id(customer_id, "customer")
        return self._run(span, customer_rfm_of, customer_id, self.store.clock)

    def tax(self, actor: Actor, date_from=None, date_to=None) -> pd.DataFrame:
        """Net, tax, gross and discounts per tax rate, returns deducted (sql/analytics/tax.sql)."""
        return self._run(self._span(actor, date_from, date_to), tax_of)

    def page(
        self, actor: Actor, date_from=None, date_to=None, grain: str = "day", limit=10
    ) -> dict:
        """Everything the analytics page shows, from one sync of one snapshot."""
        span, grain = self._span(actor, date_from, date_to), check_grain(grain)
        return self._run(span, page_of, grain, _limit(limit), self.store.clock)


# --- the report bodies: on a synced snapshot; "now" is the store's clock's --------------------


def summary_of(snap: Snapshot) -> SalesSummary:
    span = snap.span
    row = snap.query("summary").iloc[0]
    figures = {column: int(row[column]) for column in row.index}
    average = average_cents(figures["revenue_cents"], figures["orders"])
    return SalesSummary(span.date_from, span.date_to, average_order_value_cents=average, **figures)


def top_customers_of(snap: Snapshot, limit: int | None) -> pd.DataFrame:
    return snap.query("top_customers", {**snap.span.params, "limit": limit})


def product_performance_of(snap: Snapshot, limit: int | None) -> dict:
    every = snap.query("product_performance")
    columns = ["product_id", "sku", "name", "category", "units_sold", "revenue_cents"]
    by_product = every[every["had_activity"]][columns].reset_index(drop=True)
    active = every[every["status"] == "active"]
    least = active.sort_values(["units_sold", "revenue_cents", "product_id"], kind="stable")[
        columns
    ]
    return {
        "best": by_product.head(limit).reset_index(drop=True) if limit else by_product,
        "least": (least.head(limit) if limit else least).reset_index(drop=True),
        "by_product": by_product,
        "by_category": snap.query("category_performance"),
    }


def trend_of(snap: Snapshot, grain: str, product_ids: list[int]) -> pd.DataFrame:
    span = snap.span
    params = {**span.params, "grain": grain, "product_ids": product_ids, **snap.shop_days()}
    if not product_ids:
        return fill_periods(snap.query("trend", params), span, grain)
    frame = snap.query("product_trend", params)
    products = snap.source.products_named(product_ids)
    return fill_product_periods(frame, products, span, grain)


def stock_of(snap: Snapshot, limit: int | None, clock: Clock) -> dict:
    now = clock.current()
    recent = {
        "recent_from": now - timedelta(days=RECENT_DAYS),
        "recent_to": now + timedelta(seconds=1),
    }
    return {
        "products": snap.query("stock_report", recent),
        "movements": with_movement_details(
            snap.query("stock_movements", {**snap.span.params, "limit": limit}), snap.source
        ),
        "movement_totals": snap.query("stock_movement_totals"),
    }


def rfm_measures(snap: Snapshot, clock: Clock) -> pd.DataFrame:
    """Recency is counted to the range's end, or to now for an open range."""
    as_of = moment(snap.span.date_to, clock.current())
    return snap.query("rfm", {**snap.span.params, "as_of": as_of})


def rfm_of(snap: Snapshot, limit: int | None, clock: Clock) -> dict:
    return rfm_tables(rfm_measures(snap, clock), limit, snap.source.customer_names)


def customer_rfm_of(snap: Snapshot, customer_id: int, clock: Clock) -> dict | None:
    return customer_scores(rfm_measures(snap, clock), customer_id)


def tax_of(snap: Snapshot) -> pd.DataFrame:
    return snap.query("tax")  # one row per rate: a page's few rows


def page_of(snap: Snapshot, grain: str, limit: int | None, clock: Clock) -> dict:
    return {
        "summary": summary_of(snap),
        "top_customers": top_customers_of(snap, limit),
        "products": product_performance_of(snap, limit),
        "trend": trend_of(snap, grain, []),
        "stock": stock_of(snap, 200, clock),
        "rfm": rfm_of(snap, limit, clock),
        "tax": tax_of(snap),
    }


def with_movement_details(newest: pd.DataFrame, source) -> pd.DataFrame:
    details = source.movement_details(newest["movement_id"].tolist()).astype(
        {"movement_id": "int64", "stock_after": "int64", "purchase_id": "Int64"}
    )
    details = details.astype({"reason": "str", "created_by": "str"})
    return newest.merge(details, on="movement_id", how="left")


def _limit(limit) -> int | None:
    if limit in (None, "", 0):
        return None
    return parse_int(limit, "limit", minimum=1, maximum=10**9)
