"""Analytics benchmark: this engine against the usual ways of computing the same figures.

    .venv/bin/python bench/bench_analytics.py --purchases 1000000 [--runs 5] [--mirror memory]
    .venv/bin/python bench/bench_analytics.py --db postgresql://postgres@127.0.0.1:5432/test \
        [--baselines ""]

Builds (or reuses) bench/data/analytics_N.db with crpm.demo.generate: N purchase lines,
N/10 customers, N/100 products. Then prints, per report and for the whole analytics page, the
median time of:
  engine    crpm.analytics.Analytics: sync with the store (nothing new), then the report
  fresh     the page right after a purchase was recorded (so the sync has work to do); the
            engine works on a throwaway copy of the store, so the reused store never drifts
  native    the same report code and SQL over a DuckDB in-memory copy that is never synced
            (the practical limit: what the engine would cost if freshness were free)
  attach    the same SQL over plain views on the store ATTACHed through DuckDB's sqlite scanner
  sqlite    the same SQL (with a few dialect rewrites, listed below) run by SQLite itself
  pandas    pandas.read_sql of every row needed, then pandas group-bys (what most peers do)
and the ratios of the medians against the engine's, plus the peak RSS. The engine keeps its
mirror in a file beside the store, as the app does (--mirror memory: in memory, as before
restarts kept it; bench/bench_restart.py times the restarts themselves). The contenders take
turns run by run (engine, fresh, native, ..., engine, fresh, native, ...) so that the load of a
shared machine hits all of them alike; the header prints the load average. The pandas
figures are checked against the engine's (summary, top customers) so the race is fair.

With --db (a PostgreSQL server) two more contenders take their turns: `postgresql`, the same
engine over a copy of the store in the schema `bench_analytics_N` (made once with
migrate-store's copy, reused; or the schema the URL's search_path names), its mirror loaded
through DuckDB's postgres scanner, and `pg fresh`, its page after one more purchase (recorded
in that schema: it grows by --runs purchases a run). Both engines start cold (no kept mirror).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.pgschema import pg_copy_of  # noqa: E402
from crpm import demo  # noqa: E402
from crpm.analytics import Analytics, DateRange, reports  # noqa: E402
from crpm.analytics.mirror import (  # noqa: E402
    MEMORY_LIMIT,
    MIRRORED,
    MOVEMENT_DETAILS,
    MOVEMENT_DETAILS_SQL,
    Mirror,
    load_sqlite_extension,
    read_sql,
    used_params,
)
from crpm.analytics.mirrorfile import base_path  # noqa: E402
from crpm.analytics.reports import Snapshot  # noqa: E402
from crpm.clock import SystemClock  # noqa: E402
from crpm.db import Store, open_store  # noqa: E402
from crpm.models import TIME_FORMAT  # noqa: E402
from crpm.permissions import SYSTEM  # noqa: E402
from crpm.services import Services  # noqa: E402

DATA_DIR = ROOT / "bench" / "data"
REPORTS = ("summary", "top_customers", "products", "trend", "stock", "rfm")


# --- the store ---------------------------------------------------------------------------------


# The engine's store and the pandas baselines read one clock, so both see the same "now".
CLOCK = SystemClock()


def store_for(lines: int, seed: int) -> Path:
    path = DATA_DIR / f"analytics_{lines}.db"
    if path.exists():
        return path
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    building = path.with_suffix(".building")
    for leftover in (building, Path(f"{building}-wal"), Path(f"{building}-shm")):
        leftover.unlink(missing_ok=True)
    store = Store.open(building)
    started = time.perf_counter()
    counts = demo.generate(
        store, max(lines // 10, 10), max(lines // 100, 10), lines, seed,
        progress=lambda done, total: print(f"\r  building {done:,}/{total:,}", end="", flush=True),
    )  # fmt: skip
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    building.rename(path)
    print(f"\n  built {path.name} in {time.perf_counter() - started:.0f} s: {counts}")
    return path


# --- the contenders: one function per report each ------------------------------------------------


def engine_reports(analytics: Analytics, span: dict) -> dict:
    return {
        "summary": lambda: analytics.summary(SYSTEM, **span),
        "top_customers": lambda: analytics.top_customers(SYSTEM, **span),
        "products": lambda: analytics.product_performance(SYSTEM, **span),
        "trend": lambda: analytics.trend(SYSTEM, **span),
        "stock": lambda: analytics.stock_report(SYSTEM, **span),
        "rfm": lambda: analytics.rfm(SYSTEM, **span, limit=10),  # as the page and the bodies
        "page": lambda: analytics.page(SYSTEM, **span),
    }


def body_reports(source, span: dict) -> dict:
    """The engine's report code run straight on `source` (no lock, no sync); each report on its
    own snapshot, the page's reports on one shared snapshot, as the engine does."""
    rng = DateRange.parse(**span)
    bodies = {
        "summary": reports.summary_of,
        "top_customers": lambda snap: reports.top_customers_of(snap, 10),
        "products": lambda snap: reports.product_performance_of(snap, 10),
        "trend": lambda snap: reports.trend_of(snap, "day", []),
        "stock": lambda snap: reports.stock_of(snap, 200, CLOCK),
        "rfm": lambda snap: reports.rfm_of(snap, 10, CLOCK),
    }

    def snapshot() -> Snapshot:
        if isinstance(source, Mirror):
            source.fit_threads()  # the engine's thread policy, so the race stays fair
        return Snapshot(source, rng)

    def page():
        snap = snapshot()
        return {name: body(snap) for name, body in bodies.items()}

    runs = {name: (lambda body=body: body(snapshot())) for name, body in bodies.items()}
    runs["page"] = page
    return runs


# What the engine keeps as tables (purchases' line totals, first purchases), here as views.
FIRST_PURCHASES_VIEW = """
CREATE VIEW first_purchases AS SELECT customer_id, min(purchased_at) AS first_at
    FROM purchases WHERE cancelled_at IS NULL GROUP BY customer_id;
"""

# Purchases carry their lines' totals, which the engine keeps as it syncs; here they are summed.
PURCHASES_VIEW = """
CREATE {temp}VIEW purchases AS SELECT p.id, p.customer_id,
    {purchased_at} AS purchased_at, {cancelled_at} AS cancelled_at, t.units, t.cents
    FROM {src}purchases p
    JOIN (SELECT purchase_id, sum(quantity) AS units, sum(net_cents) AS cents
          FROM {src}purchase_lines GROUP BY purchase_id) t ON t.purchase_id = p.id;
"""


def attach_views() -> str:
    """The mirror's tables as views over the store attached as `src`, from the columns the
    engine declares (crpm.analytics.mirror.MIRRORED), so the two never drift apart."""
    views = []
    for name, table in MIRRORED.items():
        if name == "purchases":
            views.append(
                PURCHASES_VIEW.format(
                    temp="", src="src.",
                    purchased_at="CAST(p.purchased_at AS TIMESTAMP)",
                    cancelled_at="CAST(p.cancelled_at AS TIMESTAMP)",
                )
            )  # fmt: skip
            continue
        select = ", ".join(f"CAST({c.load} AS {c.type}) AS {c.name}" for c in table.columns)
        views.append(f"CREATE VIEW {name} AS SELECT {select} FROM {table.load_from};")
    return "\n".join(views) + FIRST_PURCHASES_VIEW


class Attached:
    """DuckDB over the store through plain ATTACH: the report SQL on views, nothing copied."""

    def __init__(self, path: Path):
        import duckdb

        self.con = duckdb.connect(":memory:")
        load_sqlite_extension(self.con)
        quoted = str(path).replace("'", "''")
        self.con.execute(f"ATTACH '{quoted}' AS src (TYPE sqlite, READ_ONLY)")
        self.con.execute(attach_views())

    query = Mirror.query
    build = Mirror.build

    def movement_details(self, ids: list[int]) -> pd.DataFrame:
        return self.con.execute(
            "SELECT id AS movement_id, stock_after, purchase_id, reason, created_by"
            " FROM src.stock_movements WHERE list_contains($ids, id)", {"ids": ids},
        ).fetchdf()  # fmt: skip

    customer_names = Mirror.customer_names
    products_named = Mirror.products_named

    def close(self) -> None:
        self.con.close()


def sqlite_views() -> str:
    """The mirror's tables as SQLite views over the store itself: those named as their store
    table (customers, products) are read as they are; the lines read the store's purchases."""
    views = [
        PURCHASES_VIEW.format(
            temp="TEMP ", src="main.", purchased_at="p.purchased_at", cancelled_at="p.cancelled_at"
        )
    ]
    for name, table in MIRRORED.items():
        if name == table.source or name == "purchases":
            continue
        select = ", ".join(f"{c.read} AS {c.name}" for c in table.columns)
        source = table.read_from.replace("JOIN purchases", "JOIN main.purchases")
        views.append(f"CREATE TEMP VIEW {name} AS SELECT {select} FROM {source};")
    return "\n".join(views) + FIRST_PURCHASES_VIEW.replace("VIEW", "TEMP VIEW")


# DuckDB -> SQLite: the only places where the report SQL is not already both. The benchmark's
# shop is on UTC: its trends read no offsets (sql/analytics/shop_days.sql).
SQLITE_REWRITES = (
    ("to_seconds(", "("),
    (
        "CAST(date_trunc($grain, moment) AS DATE)",
        "CASE $grain WHEN 'day' THEN substr(moment, 1, 10)"
        " WHEN 'month' THEN substr(moment, 1, 7) || '-01'"
        " ELSE date(moment, 'weekday 0', '-6 days') END",
    ),
    ("GROUP BY ALL", "GROUP BY 1, 2"),
    (
        "date_diff('second', last_purchase, $as_of) // 86400",
        "(unixepoch($as_of) - unixepoch(last_purchase)) / 86400",
    ),
    (" // ", " / "),
    ("list_contains($product_ids, product_id)",
     "product_id IN (SELECT value FROM json_each($product_ids))"),
)  # fmt: skip


class SQLiteSource:
    """The report SQL run by SQLite on the store itself."""

    def __init__(self, path: Path):
        self.conn = sqlite3.connect(path)
        self.conn.executescript(sqlite_views())

    @staticmethod
    def sql(name: str) -> str:
        sql = read_sql(name)
        for duck, lite in SQLITE_REWRITES:
            sql = sql.replace(duck, lite)
        return sql

    def build(self, name: str, params: dict) -> None:
        if name == "shop_days":  # a UTC shop: no offsets, the trends' other branch reads none
            self.conn.execute("CREATE TEMP TABLE IF NOT EXISTS shop_days (utc_day, before_s,"
                              " change_at, after_s)")  # fmt: skip
            return
        self.conn.execute(f"DROP TABLE IF EXISTS temp.{name}")
        sql = self.sql(name).replace("CREATE OR REPLACE TEMP TABLE", "CREATE TEMP TABLE")
        self.conn.execute(sql, lite_params(sql, params))

    def query(self, name: str, params: dict) -> pd.DataFrame:
        frame = pd.read_sql(
            self.sql(name), self.conn, params={k: _lite(v) for k, v in params.items()}
        )
        for column in ("had_activity", "low_stock"):
            if column in frame:
                frame[column] = frame[column].astype(bool)
        return frame

    def customer_names(self, ids: list[int]) -> pd.DataFrame:
        return pd.read_sql(
            "SELECT id AS customer_id, name, email FROM customers"
            " WHERE id IN (SELECT value FROM json_each(?))", self.conn, params=[json.dumps(ids)],
        )  # fmt: skip

    def movement_details(self, ids: list[int]) -> pd.DataFrame:
        rows = self.conn.execute(MOVEMENT_DETAILS_SQL, (json.dumps(ids),)).fetchall()
        return pd.DataFrame.from_records(rows, columns=MOVEMENT_DETAILS)

    def products_named(self, ids: list[int]) -> pd.DataFrame:
        return pd.read_sql(
            "SELECT id AS product_id, sku, name FROM products"
            " WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id", self.conn,
            params=[json.dumps(ids)],
        )  # fmt: skip

    def close(self) -> None:
        self.conn.close()


def lite_params(sql: str, params: dict) -> dict:
    return {key: _lite(value) for key, value in used_params(sql, params).items()}


def _lite(value):
    if isinstance(value, datetime):
        return value.strftime(TIME_FORMAT)
    if isinstance(value, list):
        return json.dumps(value)
    if isinstance(value, bool):
        return int(value)
    return -1 if value is None else value


# --- pandas: read every row, then group-bys ------------------------------------------------------

PANDAS_TABLES = {
    "purchases": "SELECT id, customer_id, purchased_at, cancelled_at FROM purchases",
    "lines": "SELECT id, purchase_id, product_id, quantity, net_cents FROM purchase_lines",
    "returns": "SELECT id, line_id, quantity, net_cents, returned_at FROM purchase_returns",
    "customers": "SELECT id, name, email FROM customers",
    "products": "SELECT id, sku, name, category, status, price_cents, stock, reorder_level"
    " FROM products",
    "movements": "SELECT * FROM stock_movements",
}
PANDAS_NEEDS = {
    "summary": ("purchases", "lines", "returns", "products"),
    "top_customers": ("purchases", "lines", "returns", "customers"),
    "products": ("purchases", "lines", "returns", "products"),
    "trend": ("purchases", "lines", "returns"),
    "stock": ("purchases", "lines", "returns", "products", "movements"),
    "rfm": ("purchases", "lines", "returns", "customers"),
}


def pandas_load(path: Path, tables) -> dict:
    with sqlite3.connect(path) as conn:
        return {name: pd.read_sql(PANDAS_TABLES[name], conn) for name in tables}


def pandas_facts(t: dict, lo: str, hi: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(orders, sold lines, returns) in [lo, hi), cancelled purchases left out."""
    purchases = t["purchases"][t["purchases"]["cancelled_at"].isna()]
    lines = t["lines"].merge(purchases, left_on="purchase_id", right_on="id", suffixes=("", "_p"))
    lines["cents"] = lines["net_cents"]
    sold = lines[(lines["purchased_at"] >= lo) & (lines["purchased_at"] < hi)]
    returns = t["returns"].merge(lines, left_on="line_id", right_on="id", suffixes=("", "_l"))
    returns = returns[(returns["returned_at"] >= lo) & (returns["returned_at"] < hi)]
    returns = returns.assign(cents=returns["net_cents"])  # the return's own net amount
    orders = purchases[(purchases["purchased_at"] >= lo) & (purchases["purchased_at"] < hi)]
    return orders, sold, returns


def pandas_net(sold: pd.DataFrame, returns: pd.DataFrame, key: str) -> pd.DataFrame:
    plus = sold.groupby(key)[["quantity", "cents"]].sum()
    minus = returns.groupby(key)[["quantity", "cents"]].sum()
    return plus.sub(minus, fill_value=0).astype("int64")


def pandas_summary(t, lo, hi) -> dict:
    orders, sold, returns = pandas_facts(t, lo, hi)
    firsts = (
        t["purchases"][t["purchases"]["cancelled_at"].isna()]
        .groupby("customer_id")["purchased_at"]
        .min()
    )
    products = t["products"]
    gross, back = int(sold["cents"].sum()), int(returns["cents"].sum())
    return {
        "revenue_cents": gross - back,
        "gross_sales_cents": gross,
        "returns_cents": back,
        "units_sold": int(sold["quantity"].sum() - returns["quantity"].sum()),
        "orders": len(orders),
        "active_customers": orders["customer_id"].nunique(),
        "new_customers": int(((firsts >= lo) & (firsts < hi)).sum()),
        "products_sold": sold["product_id"].nunique(),
        "stock_value_cents": int((products["stock"] * products["price_cents"]).sum()),
        "low_stock_count": int(
            (
                (products["status"] == "active") & (products["stock"] <= products["reorder_level"])
            ).sum()
        ),
    }


def pandas_top_customers(t, lo, hi) -> pd.DataFrame:
    orders, sold, returns = pandas_facts(t, lo, hi)
    net = pandas_net(sold, returns, "customer_id")
    per = orders.groupby("customer_id").agg(
        orders=("id", "size"), first_purchase=("purchased_at", "min"),
        last_purchase=("purchased_at", "max"),
    )  # fmt: skip
    ranked = net.join(per, how="left").fillna({"orders": 0}).reset_index()
    ranked = ranked.merge(t["customers"], left_on="customer_id", right_on="id")
    ranked = ranked.rename(columns={"quantity": "units", "cents": "revenue_cents"})
    ranked = ranked.sort_values(
        ["revenue_cents", "orders", "customer_id"], ascending=[False, False, True]
    ).head(10)
    return ranked[["customer_id", "name", "email", "orders", "units", "revenue_cents",
                   "first_purchase", "last_purchase"]].reset_index(drop=True)  # fmt: skip


def pandas_products(t, lo, hi) -> dict:
    _, sold, returns = pandas_facts(t, lo, hi)
    net = pandas_net(sold, returns, "product_id").reset_index()
    every = t["products"].merge(net, left_on="id", right_on="product_id", how="left")
    every[["quantity", "cents"]] = every[["quantity", "cents"]].fillna(0).astype("int64")
    best = every[every["product_id"].notna()].sort_values(
        ["quantity", "cents", "id"], ascending=[False, False, True]
    )
    least = every[every["status"] == "active"].sort_values(["quantity", "cents", "id"])
    category = best.groupby("category")[["quantity", "cents"]].sum()
    return {"best": best.head(10), "least": least.head(10), "by_category": category}


def pandas_trend(t, lo, hi) -> pd.DataFrame:
    _, sold, returns = pandas_facts(t, lo, hi)
    both = pd.concat([
        pd.DataFrame({"day": sold["purchased_at"].str[:10], "cents": sold["cents"],
                      "units": sold["quantity"]}),
        pd.DataFrame({"day": returns["returned_at"].str[:10], "cents": -returns["cents"],
                      "units": -returns["quantity"]}),
    ])  # fmt: skip
    return both.groupby("day")[["cents", "units"]].sum()


def pandas_stock(t, lo, hi) -> dict:
    now = CLOCK.current()
    since = (now - pd.Timedelta(days=30)).strftime(TIME_FORMAT)
    _, sold, returns = pandas_facts(t, since, "9999")
    recent = pandas_net(sold, returns, "product_id")["quantity"]
    products = (
        t["products"].set_index("id").join(recent.rename("units_30d")).fillna({"units_30d": 0})
    )
    products["days_of_cover"] = (products["stock"] * 30 / products["units_30d"]).where(
        products["units_30d"] > 0
    )
    products["low_stock"] = products["stock"] <= products["reorder_level"]
    products["stock_value_cents"] = products["stock"] * products["price_cents"]
    moves = t["movements"]
    moves = moves[(moves["created_at"] >= lo) & (moves["created_at"] < hi)]
    return {
        "products": products.sort_values(["low_stock", "days_of_cover"], ascending=[False, True]),
        "movements": moves.sort_values("id", ascending=False).head(200),
        "totals": moves.groupby("kind")["quantity"].agg(["size", "sum"]),
    }


def pandas_rfm(t, lo, hi) -> pd.DataFrame:
    orders, sold, returns = pandas_facts(t, lo, hi)
    as_of = pd.Timestamp(hi if hi < "9999" else CLOCK.stamp())
    per = orders.groupby("customer_id").agg(frequency=("id", "size"), last=("purchased_at", "max"))
    per["monetary"] = pandas_net(sold, returns, "customer_id")["cents"].reindex(per.index).fillna(0)
    per["recency"] = (as_of - pd.to_datetime(per["last"])).dt.total_seconds() // 86400
    n = len(per)
    per["r"] = 1 + (5 * (per["recency"].rank(method="min", ascending=False) - 1)) // n
    per["f"] = 1 + (5 * (per["frequency"].rank(method="min") - 1)) // n
    per["m"] = 1 + (5 * (per["monetary"].rank(method="min") - 1)) // n
    return per.join(t["customers"].set_index("id"))


PANDAS_REPORTS = {
    "summary": pandas_summary,
    "top_customers": pandas_top_customers,
    "products": pandas_products,
    "trend": pandas_trend,
    "stock": pandas_stock,
    "rfm": pandas_rfm,
}


class PandasSource:
    """Nothing held open between runs: every pandas run reads the store again."""

    def close(self) -> None:
        pass


def pandas_reports(path: Path, span: dict) -> dict:
    lo = span["date_from"] or "0000"
    hi = span["date_to"] or "9999"
    runs = {
        name: (lambda f=f, name=name: f(pandas_load(path, PANDAS_NEEDS[name]), lo, hi))
        for name, f in PANDAS_REPORTS.items()
    }

    def page():
        tables = pandas_load(path, PANDAS_TABLES)
        return {name: f(tables, lo, hi) for name, f in PANDAS_REPORTS.items()}

    runs["page"] = page
    return runs


# --- timing and the table ------------------------------------------------------------------------


def interleaved(contenders: dict[str, dict], runs: dict[str, int], reports) -> dict:
    """Median seconds per contender and report, the contenders taking turns run by run (ABAB...)
    so that a change of machine load hits all of them alike. `runs` caps each one's runs. A call
    may be a (prepare, run) pair: only `run` is timed."""
    times = {name: {report: [] for report in reports} for name in contenders}
    for report in reports:
        for turn in range(max(runs.values())):
            for name, calls in contenders.items():
                if report in calls and turn < runs[name]:
                    prepare, run = (
                        calls[report] if isinstance(calls[report], tuple) else (None, calls[report])
                    )
                    if prepare:
                        prepare()
                    started = time.perf_counter()
                    run()
                    times[name][report].append(time.perf_counter() - started)
        print(f"  {report}: done (load {load_text()})", flush=True)
    return {
        name: {report: statistics.median(ts) for report, ts in per.items() if ts}
        for name, per in times.items()
    }


def load_text() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def record_one_purchase(services: Services, customer_id: int, product_id: int) -> None:
    services.products.restock(SYSTEM, product_id, 1)
    services.purchases.record(SYSTEM, customer_id, [(product_id, 1)], source="api")


def fresh_page(store: Store, analytics: Analytics, span: dict) -> tuple:
    """(record one more purchase, the page): on the engine's throwaway copy of the store; only
    the page is timed (it syncs the purchase first)."""
    services = Services(store)
    customer_id = store.query_one("SELECT id FROM customers WHERE status='active' LIMIT 1")[0]
    product_id = store.query_one("SELECT id FROM products WHERE status='active' LIMIT 1")[0]
    return (
        lambda: record_one_purchase(services, customer_id, product_id),
        lambda: analytics.page(SYSTEM, **span),
    )


def throwaway_copy(path: Path) -> Path:
    """A copy of the benchmark store that the engine may write to (the fresh runs record
    purchases), so that the reused store never drifts."""
    copy = path.with_name(f"{path.stem}.throwaway.db")
    remove_copy(copy)
    with sqlite3.connect(path) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    return copy


def remove_copy(copy: Path) -> None:
    kept = Path(f"{copy}.mirror.duckdb")  # the engine's kept mirror (crpm/analytics/mirrorfile)
    for leftover in (copy, Path(f"{copy}-wal"), Path(f"{copy}-shm"), kept, Path(f"{kept}.wal")):
        leftover.unlink(missing_ok=True)


def forget_kept(store) -> None:
    """Delete the store's kept mirror, if any: the engine's next start is a cold one."""
    kept = base_path(store)
    for path in (kept, Path(f"{kept}.wal")):
        path.unlink(missing_ok=True)


def start_engine(store, span: dict, keep: bool) -> tuple[Analytics, float]:
    """A cold engine over `store` and the seconds it took to answer its first page."""
    forget_kept(store)
    started = time.perf_counter()
    analytics = Analytics(store, keep=keep)
    analytics.page(SYSTEM, **span)
    return analytics, time.perf_counter() - started


def postgres_contenders(url: str, path: Path, span: dict, keep: bool) -> tuple[dict, list, float]:
    """(contenders, what to close, cold start seconds) for the engine on a PostgreSQL copy of
    the store at `path`."""
    store = open_store(pg_copy_of(url, f"bench_{path.stem}", path), CLOCK)
    analytics, cold = start_engine(store, span, keep)
    contenders = {
        "postgresql": engine_reports(analytics, span),
        "pg fresh": {"page": fresh_page(store, analytics, span)},
    }
    return contenders, [analytics, store], cold


def check_agreement(analytics: Analytics, path: Path, span: dict) -> str:
    engine = analytics.summary(SYSTEM, **span).to_dict()
    lo, hi = span["date_from"] or "0000", span["date_to"] or "9999"
    tables = pandas_load(path, PANDAS_TABLES)
    expected = pandas_summary(tables, lo, hi)
    mismatched = [key for key, value in expected.items() if engine[key] != value]
    top = analytics.top_customers(SYSTEM, **span)
    other = pandas_top_customers(tables, lo, hi)
    same_top = (
        top["customer_id"].tolist() == other["customer_id"].tolist()
        and top["revenue_cents"].tolist() == other["revenue_cents"].tolist()
    )
    if mismatched or not same_top:
        return f"DISAGREE: summary {mismatched}, top customers same: {same_top}"
    return "pandas and engine agree on the summary and the top customers, to the cent"


def baseline_reports(name: str, path: Path, span: dict) -> tuple[dict, object]:
    """(report calls, the source to close) for one baseline."""
    if name == "native":
        native = Mirror(path)
        native.reload(Mirror._max_ids(native.sqlite))
        return body_reports(native, span), native
    if name in ("attach", "sqlite"):
        source = Attached(path) if name == "attach" else SQLiteSource(path)
        return body_reports(source, span), source
    return pandas_reports(path, span), PandasSource()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--purchases", type=int, default=1_000_000, help="purchase lines")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--slow-runs", type=int, default=3,
        help="runs of the slow baselines (attach, sqlite, pandas), at most --runs",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--db", help="a PostgreSQL server's URL: the engine there too")
    parser.add_argument("--from", dest="date_from")
    parser.add_argument("--to", dest="date_to")
    parser.add_argument(
        "--baselines", default="native,attach,sqlite,pandas",
        help="comma list of native, attach, sqlite, pandas",
    )  # fmt: skip
    parser.add_argument(
        "--mirror", choices=("file", "memory"), default="file",
        help="where the engine keeps its mirror",
    )  # fmt: skip
    args = parser.parse_args()
    span = {"date_from": args.date_from, "date_to": args.date_to}
    path = store_for(args.purchases, args.seed)
    baselines = [name for name in args.baselines.split(",") if name]
    slow = min(args.slow_runs, args.runs)
    print(f"store {path.name}: {args.purchases:,} purchase lines; range {span}; "
          f"median of {args.runs} runs ({slow} for attach, sqlite, pandas), interleaved; "
          f"load average {load_text()} (1, 5, 15 min) on {os.cpu_count()} cores; "
          f"engine and native: DuckDB memory_limit {MEMORY_LIMIT}; "
          f"the engine's mirror in {args.mirror}")  # fmt: skip

    copy = throwaway_copy(path)
    store = Store(copy, CLOCK)
    analytics, cold = start_engine(store, span, keep=args.mirror == "file")
    engine_rss = peak_rss_mb()
    agreement = check_agreement(analytics, path, span) if "pandas" in baselines else ""

    contenders = {"engine": engine_reports(analytics, span)}
    contenders["fresh"] = {"page": fresh_page(store, analytics, span)}
    runs = {"engine": args.runs, "fresh": args.runs}
    closers, colds = [], {"sqlite": cold}
    if args.db:
        more, closers, colds["postgresql"] = postgres_contenders(
            args.db, path, span, keep=args.mirror == "file"
        )
        contenders |= more
        runs |= {name: args.runs for name in more}
    for name in baselines:
        contenders[name], source = baseline_reports(name, path, span)
        runs[name] = args.runs if name == "native" else slow
        closers.append(source)
    results = interleaved(contenders, runs, (*REPORTS, "page"))
    analytics.close()
    store.close()
    remove_copy(copy)
    for source in closers:
        source.close()

    print(f"load average at the end {load_text()}")
    print_table(results)
    for engine, seconds in colds.items():
        print(
            f"engine cold start on {engine} (load the whole store, then the page): {seconds:.2f} s"
        )
    print(f"peak RSS after the engine's cold start: {engine_rss:.0f} MB; "
          f"after every baseline: {peak_rss_mb():.0f} MB")  # fmt: skip
    if agreement:
        print(agreement)


def print_table(results: dict) -> None:
    engine = results["engine"]
    others = [name for name in results if name not in ("engine", "fresh")]
    head = f"{'report':<14}{'engine ms':>10}{'fresh ms':>10}"
    head += "".join(f"{name + ' ms':>15}{'x':>7}" for name in others)
    print(head)
    for report in (*REPORTS, "page"):
        line = f"{report:<14}{engine[report] * 1000:>10.1f}"
        fresh = results["fresh"].get(report)
        line += f"{fresh * 1000:>10.1f}" if fresh else f"{'':>10}"
        for name in others:
            value = results[name].get(report)
            line += f"{value * 1000:>15.1f}{value / engine[report]:>7.2f}" if value else " " * 22
        print(line)
    print("x = median of that column / median of the engine, runs interleaved (above 1: the")
    print("engine is faster); fresh = the page right after recording one purchase (on a copy)")
    if "pg fresh" in results:
        fresh = results["pg fresh"]["page"] / results["fresh"]["page"]
        print(f"postgresql / sqlite: page {results['postgresql']['page'] / engine['page']:.2f},"
              f" fresh page {fresh:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
