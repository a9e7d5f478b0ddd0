"""The analytics engine: sales reports over the store, computed by DuckDB.

DuckDB keeps a columnar copy (the "mirror") of what the reports read, in memory:
`sales` (purchase lines with their purchase's customer, time and cancelled flag), `returns`
(likewise), `purchases`, `customers`, `products` and `movements`. Every report call first brings
the mirror up to date, then runs one of the files in sql/analytics/ on it:

- Rows are only ever added to purchase_lines, purchase_returns and stock_movements, and ids only
  grow, so the engine reads the rows past its id high-water marks. Purchases, customers and
  products are edited in place now and then (a cancellation, an edit, an erasure); migration 003
  makes triggers list those rows in `analytics_changes`, and the engine re-reads exactly them.
  Product stock moves only through the ledger, so the mirror adds the new movements to it.
- All of that is read in ONE short SQLite read transaction (one snapshot, results fetched whole,
  never held open), so a report sees a consistent state that includes every purchase committed
  before the call, and a writer is never blocked (WAL).
- The first call (or a very large backlog) loads everything with DuckDB's sqlite scanner, which is
  much faster than Python for millions of rows, bounded by ids read from one snapshot; the
  incremental step that follows makes it exact.

One lock serialises sync and queries: DuckDB already uses every core for one query.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import logging
import os
import re
import sqlite3
import tempfile
import threading
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from crpm.errors import ValidationError
from crpm.models import TIME_FORMAT, cents_to_decimal_text, parse_id, parse_int, parse_time
from crpm.permissions import Actor, require

log = logging.getLogger(__name__)
SQL_DIR = Path(__file__).resolve().parent.parent / "sql" / "analytics"
GRAINS = ("day", "week", "month")
SEGMENTS = ("champions", "loyal", "new", "promising", "at risk", "lost")
EARLIEST = datetime(1, 1, 1)
LATEST = datetime(9999, 12, 31, 23, 59, 59)
RECENT_DAYS = 30
# A trend is filled with every period of its range, zeros included: this bounds what one call
# builds (bench/NOTES.md, "Trend periods"). ~2.7 years by day, 19 by week, 83 by month. One home
# for the dashboard, the API and the CLI.
MAX_PERIODS = 1_000
# Past this many new rows a full reload through the sqlite scanner beats row-by-row Python.
BULK_THRESHOLD = 200_000
# DuckDB's own memory (the copy and the queries' working sets), spilling beyond it to a private
# temp folder; DuckDB's default is 80% of RAM. Why 800 MB: bench/NOTES.md, "Memory limit".
MEMORY_LIMIT = "800MB"

MIRROR_DDL = """
CREATE OR REPLACE TABLE customers (
    id BIGINT, name VARCHAR, email VARCHAR, status VARCHAR, created_at TIMESTAMP);
CREATE OR REPLACE TABLE products (
    id BIGINT, sku VARCHAR, name VARCHAR, category VARCHAR, price_cents BIGINT, stock BIGINT,
    reorder_level BIGINT, status VARCHAR);
CREATE OR REPLACE TABLE purchases (
    id BIGINT, customer_id BIGINT, purchased_at TIMESTAMP, cancelled_at TIMESTAMP,
    units BIGINT, cents BIGINT);
CREATE OR REPLACE TABLE sales (
    line_id BIGINT, purchase_id BIGINT, customer_id BIGINT, product_id BIGINT,
    purchased_at TIMESTAMP, quantity BIGINT, net_cents BIGINT, tax_cents BIGINT,
    discount_cents BIGINT, tax_rate VARCHAR, cancelled BOOLEAN);
CREATE OR REPLACE TABLE returns (
    id BIGINT, line_id BIGINT, purchase_id BIGINT, customer_id BIGINT, product_id BIGINT,
    returned_at TIMESTAMP, quantity BIGINT, net_cents BIGINT, tax_cents BIGINT,
    discount_cents BIGINT, tax_rate VARCHAR, cancelled BOOLEAN);
CREATE OR REPLACE TABLE first_purchases (customer_id BIGINT, first_at TIMESTAMP);
CREATE OR REPLACE TABLE movements (
    id BIGINT, product_id BIGINT, kind VARCHAR, quantity BIGINT, created_at TIMESTAMP);
"""

# The ids that drive the sync: the store table behind each high-water mark.
SOURCES = {
    "customers": "customers",
    "products": "products",
    "purchases": "purchases",
    "sales": "purchase_lines",
    "returns": "purchase_returns",
    "movements": "stock_movements",
    "changes": "analytics_changes",
}

MAX_IDS_SQL = "SELECT " + ", ".join(
    f"(SELECT coalesce(max(id), 0) FROM {table})" for table in SOURCES.values()
)

# SQLite: the new rows of each mirror table, in mirror column order, ids in (?, ?].
DELTA_SQL = {
    "customers": "SELECT id, name, email, status, created_at FROM customers",
    "products": "SELECT id, sku, name, category, price_cents, stock, reorder_level, status"
    " FROM products",
    # units and cents (the totals of the purchase's lines) are filled in by the engine.
    "purchases": "SELECT id, customer_id, purchased_at, cancelled_at, 0, 0 FROM purchases",
    "sales": "SELECT l.id, l.purchase_id, pu.customer_id, l.product_id, pu.purchased_at,"
    " l.quantity, l.net_cents, l.tax_cents, l.discount_cents, l.tax_rate,"
    " pu.cancelled_at IS NOT NULL FROM purchase_lines l JOIN purchases pu ON pu.id = l.purchase_id",
    "returns": "SELECT r.id, r.line_id, l.purchase_id, pu.customer_id, l.product_id,"
    " r.returned_at, r.quantity, r.net_cents, r.tax_cents, r.discount_cents, l.tax_rate,"
    " pu.cancelled_at IS NOT NULL"
    " FROM purchase_returns r JOIN purchase_lines l ON l.id = r.line_id"
    " JOIN purchases pu ON pu.id = l.purchase_id",
    "movements": "SELECT id, product_id, kind, quantity, created_at FROM stock_movements",
}
ID_COLUMN = {"sales": "l.id", "returns": "r.id"}
CHANGED_ENTITY = {"customer": "customers", "product": "products", "purchase": "purchases"}

# DuckDB, over the store attached as `src`: everything up to the ids of one snapshot.
BULK_SQL = {
    "customers": "SELECT id, name, email, status, CAST(created_at AS TIMESTAMP)"
    " FROM src.customers WHERE id <= $bound",
    # Purchases by customer: the per-customer totals of every page then group runs of equal
    # keys (faster: bench/NOTES.md, "Purchases by customer"). A date range no longer skips row
    # groups of purchases, but they are one row per purchase, a scan of them is cheap.
    "purchases": "SELECT id, customer_id, CAST(purchased_at AS TIMESTAMP),"
    " CAST(cancelled_at AS TIMESTAMP), 0, 0 FROM src.purchases WHERE id <= $bound"
    " ORDER BY customer_id, id",
    # Facts in time order: a date range then skips whole row groups by their min/max.
    "sales": "SELECT l.id, l.purchase_id, pu.customer_id, l.product_id, pu.purchased_at,"
    " l.quantity, l.net_cents, l.tax_cents, l.discount_cents, l.tax_rate,"
    " pu.cancelled_at IS NOT NULL"
    " FROM src.purchase_lines l JOIN purchases pu ON pu.id = l.purchase_id WHERE l.id <= $bound"
    " ORDER BY pu.purchased_at",
    "returns": "SELECT r.id, r.line_id, s.purchase_id, s.customer_id, s.product_id,"
    " CAST(r.returned_at AS TIMESTAMP), r.quantity, r.net_cents, r.tax_cents, r.discount_cents,"
    " s.tax_rate, s.cancelled"
    " FROM src.purchase_returns r JOIN sales s ON s.line_id = r.line_id WHERE r.id <= $bound"
    " ORDER BY 6",
    "movements": "SELECT id, product_id, kind, quantity, CAST(created_at AS TIMESTAMP)"
    " FROM src.stock_movements WHERE id <= $bound",
    # Stock as of the snapshot is the sum of the movements loaded (the ledger invariant); the
    # products row itself may already be newer than the snapshot.
    "products": "SELECT p.id, p.sku, p.name, p.category, p.price_cents, coalesce(m.stock, 0),"
    " p.reorder_level, p.status FROM src.products p LEFT JOIN"
    " (SELECT product_id, sum(quantity) AS stock FROM movements GROUP BY product_id) m"
    " ON m.product_id = p.id WHERE p.id <= $bound",
}
# Each purchase carries the totals of its lines (units, cents), so per-customer figures read one
# row per purchase instead of one per line: new lines add to their purchase's totals (each line is
# applied exactly once, by the high-water marks), a re-read purchase gets them recounted.
ADD_LINE_TOTALS_SQL = (
    "UPDATE purchases SET units = purchases.units + d.units, cents = purchases.cents + d.cents"
    " FROM (SELECT purchase_id, sum(quantity) AS units, sum(net_cents) AS cents"
    "  FROM sales WHERE line_id > $after AND line_id <= $upto GROUP BY purchase_id) d"
    " WHERE purchases.id = d.purchase_id"
)
RECOUNT_LINE_TOTALS_SQL = (
    "UPDATE purchases SET units = d.units, cents = d.cents"
    " FROM (SELECT purchase_id, sum(quantity) AS units, sum(net_cents) AS cents"
    "  FROM sales WHERE list_contains($ids, purchase_id) GROUP BY purchase_id) d"
    " WHERE purchases.id = d.purchase_id"
)
# Each customer's first purchase ever (not cancelled), for "new customers": recounted for the
# customers whose purchases were added, cancelled or re-assigned ($ids), or for all (NULL).
RECOUNT_FIRST_PURCHASES_SQL = (
    "DELETE FROM first_purchases WHERE $ids IS NULL OR list_contains($ids, customer_id)",
    "INSERT INTO first_purchases SELECT customer_id, min(purchased_at) FROM purchases"
    " WHERE cancelled_at IS NULL AND ($ids IS NULL OR list_contains($ids, customer_id))"
    " GROUP BY customer_id",
)
# A cancelled (or re-assigned) purchase: its lines and returns follow it.
REFRESH_FACTS_SQL = (
    "UPDATE sales SET customer_id = pu.customer_id, purchased_at = pu.purchased_at,"
    " cancelled = pu.cancelled_at IS NOT NULL FROM purchases pu"
    " WHERE list_contains($ids, pu.id) AND sales.purchase_id = pu.id",
    "UPDATE returns SET customer_id = pu.customer_id, cancelled = pu.cancelled_at IS NOT NULL"
    " FROM purchases pu WHERE list_contains($ids, pu.id) AND returns.purchase_id = pu.id",
)
BULK_ORDER = ("customers", "purchases", "sales", "returns", "movements", "products")


def snapshot(conn: sqlite3.Connection, dest: Path) -> Path:
    """A consistent copy of the store (sqlite3's online backup), in rollback mode so that a
    reader needs no WAL files beside it."""
    target = sqlite3.connect(dest)
    try:
        conn.backup(target)
        target.execute("PRAGMA journal_mode=DELETE")
    finally:
        target.close()
    return dest


@dataclass(frozen=True)
class SalesSummary:
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

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class DateRange:
    """A validated [from, to) range; None means open on that side."""

    date_from: str | None
    date_to: str | None

    @classmethod
    def parse(cls, date_from=None, date_to=None) -> DateRange:
        start = parse_time(date_from, "from") if date_from not in (None, "") else None
        end = parse_time(date_to, "to") if date_to not in (None, "") else None
        if start and end and end <= start:
            raise ValidationError("to", "must be later than from")
        return cls(start, end)

    @property
    def params(self) -> dict:
        return {
            "date_from": _moment(self.date_from, EARLIEST),
            "date_to": _moment(self.date_to, LATEST),
        }


def _moment(text: str | None, default: datetime) -> datetime:
    return datetime.strptime(text, TIME_FORMAT) if text else default


def average_cents(total_cents: int, count: int) -> int:
    """total / count rounded half-up (away from zero) to the cent; 0 when there is nothing."""
    if not count:
        return 0
    return int((Decimal(total_cents) / Decimal(count)).quantize(Decimal(1), ROUND_HALF_UP))


def load_sqlite_extension(con: duckdb.DuckDBPyConnection) -> None:
    """DuckDB's sqlite extension, offline: the signed file shipped on PyPI, else DuckDB's own."""
    path = bundled_sqlite_extension()
    if path is not None:
        con.load_extension(str(path))
    else:
        con.install_extension("sqlite")
        con.load_extension("sqlite")


def bundled_sqlite_extension() -> Path | None:
    spec = importlib.util.find_spec("duckdb_extension_sqlite_scanner")
    if spec is None or not spec.submodule_search_locations:
        return None
    package = Path(next(iter(spec.submodule_search_locations)))
    path = package / "extensions" / f"v{duckdb.__version__}" / "sqlite_scanner.duckdb_extension"
    return path if path.is_file() else None


def load_average() -> float:
    """The 1-minute load average; 0 where the system has none (Windows)."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return 0.0


@functools.cache
def read_sql(name: str) -> str:
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def used_params(sql: str, params: dict) -> dict:
    """The parameters `sql` names outside its comments (DuckDB refuses extra ones)."""
    named = named_params(sql)
    return {key: value for key, value in params.items() if key in named}


@functools.cache
def named_params(sql: str) -> frozenset[str]:
    return frozenset(re.findall(r"\$(\w+)", re.sub(r"--[^\n]*", "", sql)))


class Mirror:
    """The DuckDB copy of the store, kept exactly current by `sync()`. Not thread-safe alone."""

    def __init__(self, store_path: Path, threads: int | None = None):
        self.store_path = Path(store_path)
        # DuckDB makes this folder only if it spills, and removes it when closed: an app that is
        # killed leaves nothing behind unless it was spilling.
        spill = Path(tempfile.gettempdir()) / f"crpm-analytics-spill-{uuid.uuid4().hex}"
        config = {
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "memory_limit": MEMORY_LIMIT,
            "temp_directory": str(spill),
        }
        if threads:
            config["threads"] = threads
        self.con = duckdb.connect(":memory:", config=config)
        # The copy lives in a compressed in-memory database (bench/NOTES.md, "Compression").
        self.con.execute("ATTACH ':memory:' AS mirror (COMPRESS)")
        self.con.execute("USE mirror")
        self.con.execute("SET enable_progress_bar = false")  # none on the terminal at a long load
        self.fixed_threads = bool(threads)
        self.threads = threads or int(
            self.con.execute("SELECT current_setting('threads')").fetchone()[0]
        )
        load_sqlite_extension(self.con)
        self.marks: dict[str, int] | None = None
        self._sqlite: sqlite3.Connection | None = None

    def fit_threads(self) -> None:
        """Unless fixed: one DuckDB thread while the machine is busy (a load average above the
        cores plus one), every core otherwise: on a busy machine a second thread is mostly
        descheduled and the first waits for it at every step (bench/NOTES.md, "Threads")."""
        if self.fixed_threads:
            return
        cores = os.cpu_count() or 1
        wanted = 1 if load_average() > cores + 1 else cores
        if wanted != self.threads:
            self.con.execute(f"SET threads = {int(wanted)}")
            self.threads = wanted

    def close(self) -> None:
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None
        self.con.close()

    @property
    def sqlite(self) -> sqlite3.Connection:
        if self._sqlite is None:
            conn = sqlite3.connect(
                self.store_path, timeout=30, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA busy_timeout=30000")
            self._sqlite = conn
        return self._sqlite

    def sync(self) -> None:
        """Bring the copy up to the store's latest committed state."""
        conn = self.sqlite
        latest = self._max_ids(conn)
        if self.marks == latest:
            return
        if self._needs_reload(latest):
            self.reload(latest)
        conn.execute("BEGIN")
        try:
            latest = self._max_ids(conn)
            delta = self._read_delta(conn, latest)
        finally:
            conn.execute("COMMIT")
        self._apply(delta, latest)

    @staticmethod
    def _max_ids(conn: sqlite3.Connection) -> dict[str, int]:
        return dict(zip(SOURCES, conn.execute(MAX_IDS_SQL).fetchone(), strict=True))

    def _needs_reload(self, latest: dict[str, int]) -> bool:
        if self.marks is None:
            return True
        if any(latest[name] < self.marks[name] for name in SOURCES):
            return True  # the store was replaced (a restore): start again
        backlog = sum(latest[name] - self.marks[name] for name in SOURCES)
        return backlog > BULK_THRESHOLD

    def reload(self, bounds: dict[str, int]) -> None:
        """Load everything up to `bounds` (ids from one snapshot) through the sqlite scanner.

        The scanner reads a private copy, never the live store: it carries its own SQLite, and
        POSIX locks are per process, so on the live file it would take itself for the only
        connection and reset the WAL index this process's sqlite3 connections have mapped
        (a SIGBUS, seen in CI while the warm-up ran beside a write).
        """
        con = self.con
        con.execute(MIRROR_DDL)
        with tempfile.TemporaryDirectory(prefix="crpm-analytics-") as folder:
            copy = snapshot(self.sqlite, Path(folder) / "store.db")
            # ATTACH takes no parameters: the path goes in as a quoted literal.
            quoted = str(copy).replace("'", "''")
            con.execute(f"ATTACH '{quoted}' AS src (TYPE sqlite, READ_ONLY)")
            try:
                for table in BULK_ORDER:
                    con.execute(f"INSERT INTO {table} {BULK_SQL[table]}", {"bound": bounds[table]})
            finally:
                con.execute("DETACH src")
        con.execute(ADD_LINE_TOTALS_SQL, {"after": 0, "upto": bounds["sales"]})
        self._recount_first_purchases(None)
        self.marks = dict(bounds)

    def _read_delta(self, conn: sqlite3.Connection, latest: dict[str, int]) -> dict:
        """Inside the caller's read transaction: new rows, and the current rows of edited ones."""
        marks = self.marks
        delta = {}
        for table, sql in DELTA_SQL.items():
            column = ID_COLUMN.get(table, "id")
            delta[table] = conn.execute(
                f"{sql} WHERE {column} > ? AND {column} <= ?", (marks[table], latest[table])
            ).fetchall()
        changed = conn.execute(
            "SELECT entity, entity_id FROM analytics_changes WHERE id > ? AND id <= ?",
            (marks["changes"], latest["changes"]),
        ).fetchall()
        delta["changed"] = {}
        for entity, table in CHANGED_ENTITY.items():
            ids = sorted({key for kind, key in changed if kind == entity and key <= marks[table]})
            rows = (
                conn.execute(
                    f"{DELTA_SQL[table]} WHERE id IN (SELECT value FROM json_each(?))", (str(ids),)
                ).fetchall()
                if ids
                else []
            )
            delta["changed"][table] = (ids, rows)
        return delta

    def _apply(self, delta: dict, latest: dict[str, int]) -> None:
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            for table in ("customers", "purchases", "sales", "returns", "movements"):
                self._append(table, delta[table])
            after, upto = self.marks["sales"], latest["sales"]
            con.execute(ADD_LINE_TOTALS_SQL, {"after": after, "upto": upto})
            self._add_moved_stock(self.marks["movements"], latest["movements"])
            self._append("products", delta["products"])
            buyers = self._buyers(delta)
            for table, (ids, rows) in delta["changed"].items():
                self._replace(table, ids, rows)
            self._recount_first_purchases(sorted(buyers | self._buyers(delta)))
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            self.marks = None  # unknown state: reload next time
            raise
        self.marks = dict(latest)

    def _buyers(self, delta: dict) -> set[int]:
        """The customers of the new and the re-read purchases, as the copy has them now (before
        and after the re-read, so a purchase moved to another customer counts for both)."""
        ids, rows = delta["changed"]["purchases"]
        found = {row[1] for row in (*delta["purchases"], *rows)}
        if ids:
            found.update(
                customer_id
                for (customer_id,) in self.con.execute(
                    "SELECT customer_id FROM purchases WHERE list_contains($ids, id)", {"ids": ids}
                ).fetchall()
            )
        return found

    def _recount_first_purchases(self, customer_ids: list[int] | None) -> None:
        if customer_ids == []:
            return
        for sql in RECOUNT_FIRST_PURCHASES_SQL:
            self.con.execute(sql, {"ids": customer_ids})

    def _append(self, table: str, rows: list) -> None:
        if not rows:
            return
        columns = [name for name, *_ in self.con.execute(f"DESCRIBE {table}").fetchall()]
        frame = pd.DataFrame.from_records(rows, columns=columns)
        select = ", ".join(_cast_to_mirror(column) for column in columns)
        self.con.register("delta_rows", frame)
        try:
            self.con.execute(f"INSERT INTO {table} SELECT {select} FROM delta_rows")
        finally:
            self.con.unregister("delta_rows")

    def _add_moved_stock(self, after_id: int, upto_id: int) -> None:
        """Products already in the copy follow the ledger: stock += the new movements."""
        if upto_id > after_id:
            self.con.execute(
                "UPDATE products SET stock = products.stock + moved.quantity FROM"
                " (SELECT product_id, sum(quantity) AS quantity FROM movements"
                "  WHERE id > $after AND id <= $upto GROUP BY product_id) moved"
                " WHERE products.id = moved.product_id",
                {"after": after_id, "upto": upto_id},
            )

    def _replace(self, table: str, ids: list[int], rows: list) -> None:
        """Edited rows: take the store's current version (gone if it was deleted)."""
        if not ids:
            return
        self.con.execute(f"DELETE FROM {table} WHERE list_contains($ids, id)", {"ids": ids})
        self._append(table, rows)
        if table == "purchases":
            for sql in (*REFRESH_FACTS_SQL, RECOUNT_LINE_TOTALS_SQL):
                self.con.execute(sql, {"ids": ids})

    def query(self, name: str, params: dict) -> pd.DataFrame:
        sql = read_sql(name)
        return self.con.execute(sql, used_params(sql, params)).fetchdf()

    def build(self, name: str, params: dict) -> None:
        """Run a file that creates a temp table (the range totals)."""
        sql = read_sql(name)
        self.con.execute(sql, used_params(sql, params))

    def products_named(self, ids: list[int]) -> pd.DataFrame:
        return self.con.execute(
            "SELECT id AS product_id, sku, name FROM products WHERE list_contains($ids, id)"
            " ORDER BY id",
            {"ids": ids},
        ).fetchdf()

    def movement_details(self, ids: list[int]) -> pd.DataFrame:
        """The columns of these movements that the copy leaves out (most of its memory and load
        time at millions of rows), read from the store: ledger rows are never edited."""
        rows = self.sqlite.execute(MOVEMENT_DETAILS_SQL, (json.dumps(ids),)).fetchall()
        return pd.DataFrame.from_records(rows, columns=MOVEMENT_DETAILS)

    def customer_names(self, ids: list[int]) -> pd.DataFrame:
        return self.con.execute(
            "SELECT id AS customer_id, name, email FROM customers"
            " WHERE id IN (SELECT unnest($ids))",
            {"ids": ids},
        ).fetchdf()


MOVEMENT_DETAILS = ["movement_id", "stock_after", "purchase_id", "reason", "created_by"]
MOVEMENT_DETAILS_SQL = (
    "SELECT id, stock_after, purchase_id, reason, created_by FROM stock_movements"
    " WHERE id IN (SELECT value FROM json_each(?))"
)

# The range totals each report reads: built once per call, so the page's reports share them.
TOTALS_NEEDED = {
    "summary": ("product_totals", "customer_totals"),
    "top_customers": ("customer_totals",),
    "rfm": ("customer_totals",),
    "product_performance": ("product_totals",),
    "category_performance": ("product_totals",),
}


class Snapshot:
    """One call's reports over one range on a synced source (the mirror, or a benchmark's
    baseline): the range totals a report needs are built on first use and then shared."""

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


def _cast_to_mirror(column: str) -> str:
    if column.endswith("_at"):
        return f"CAST({column} AS TIMESTAMP)"
    if column == "cancelled":
        return "CAST(cancelled AS BOOLEAN)"
    return column


class Analytics:
    """Every report, each refusing customers, each on an optional [date_from, date_to) range."""

    def __init__(self, store, threads: int | None = None):
        self.store = store
        self._mirror = Mirror(store.path, threads)
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

    # --- the reports ------------------------------------------------------------------------

    def summary(self, actor: Actor, date_from=None, date_to=None) -> SalesSummary:
        require(actor, "analytics")
        span = DateRange.parse(date_from, date_to)
        with self._lock:
            return self._summary(self._snapshot(span))

    def top_customers(self, actor: Actor, date_from=None, date_to=None, limit=10) -> pd.DataFrame:
        require(actor, "analytics")
        span, limit = DateRange.parse(date_from, date_to), _limit(limit)
        with self._lock:
            return self._top_customers(self._snapshot(span), limit)

    def product_performance(
        self, actor: Actor, date_from=None, date_to=None, limit=10
    ) -> dict[str, pd.DataFrame]:
        require(actor, "analytics")
        span, limit = DateRange.parse(date_from, date_to), _limit(limit)
        with self._lock:
            return self._product_performance(self._snapshot(span), limit)

    def trend(
        self, actor: Actor, date_from=None, date_to=None, grain: str = "day", product_ids=None
    ) -> pd.DataFrame:
        require(actor, "analytics")
        span, grain = DateRange.parse(date_from, date_to), _grain(grain)
        ids = [parse_id(value, "product") for value in product_ids or ()]
        with self._lock:
            return self._trend(self._snapshot(span), grain, ids)

    def stock_report(
        self, actor: Actor, date_from=None, date_to=None, limit=200
    ) -> dict[str, pd.DataFrame]:
        require(actor, "analytics")
        span, limit = DateRange.parse(date_from, date_to), _limit(limit)
        with self._lock:
            return self._stock_report(self._snapshot(span), limit)

    def rfm(
        self, actor: Actor, date_from=None, date_to=None, limit=None
    ) -> dict[str, pd.DataFrame]:
        """Every buying customer scored (the first `limit` by revenue) and the segments' totals."""
        require(actor, "analytics")
        span, limit = DateRange.parse(date_from, date_to), _limit(limit)
        with self._lock:
            return self._rfm(self._snapshot(span), limit)

    def tax(self, actor: Actor, date_from=None, date_to=None) -> pd.DataFrame:
        """Net, tax, gross and discounts per tax rate, returns deducted (sql/analytics/tax.sql)."""
        require(actor, "analytics")
        span = DateRange.parse(date_from, date_to)
        with self._lock:
            return self._snapshot(span).query("tax")  # one row per rate: a page's few rows

    def page(
        self, actor: Actor, date_from=None, date_to=None, grain: str = "day", limit=10
    ) -> dict:
        """Everything the analytics page shows, from one sync of one snapshot."""
        require(actor, "analytics")
        span, grain, limit = DateRange.parse(date_from, date_to), _grain(grain), _limit(limit)
        with self._lock:
            snap = self._snapshot(span)
            return {
                "summary": self._summary(snap),
                "top_customers": self._top_customers(snap, limit),
                "products": self._product_performance(snap, limit),
                "trend": self._trend(snap, grain, []),
                "stock": self._stock_report(snap, 200),
                "rfm": self._rfm(snap, limit),
                "tax": snap.query("tax"),
            }

    # --- report bodies (lock held, mirror fresh) ----------------------------------------------

    @staticmethod
    def _summary(snap: Snapshot) -> SalesSummary:
        span = snap.span
        row = snap.query("summary").iloc[0]
        figures = {column: int(row[column]) for column in row.index}
        average = average_cents(figures["revenue_cents"], figures["orders"])
        return SalesSummary(
            span.date_from, span.date_to, average_order_value_cents=average, **figures
        )

    @staticmethod
    def _top_customers(snap: Snapshot, limit: int | None) -> pd.DataFrame:
        return snap.query("top_customers", {**snap.span.params, "limit": limit})

    @staticmethod
    def _product_performance(snap: Snapshot, limit: int | None) -> dict:
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

    @staticmethod
    def _trend(snap: Snapshot, grain: str, product_ids: list[int]) -> pd.DataFrame:
        span = snap.span
        params = {**span.params, "grain": grain, "product_ids": product_ids}
        if not product_ids:
            return _fill_periods(snap.query("trend", params), span, grain)
        frame = snap.query("product_trend", params)
        products = snap.source.products_named(product_ids)
        return _fill_product_periods(frame, products, span, grain)

    def _stock_report(self, snap: Snapshot, limit: int | None) -> dict:
        now = self.store.clock.current()
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

    def _rfm(self, snap: Snapshot, limit: int | None = None) -> dict:
        as_of = _moment(snap.span.date_to, self.store.clock.current())
        scored, codes = rfm_scores(snap.query("rfm", {**snap.span.params, "as_of": as_of}))
        rows = ranked_rows(scored, limit)
        shown = scored.iloc[rows].assign(segment=np.asarray(SEGMENTS)[codes[rows]])
        names = snap.source.customer_names(shown["customer_id"].tolist())
        customers = shown.merge(names, on="customer_id", how="left")[RFM_COLUMNS]
        return {"customers": customers, "segments": segment_totals(scored, codes)}


RFM_COLUMNS = [
    "customer_id", "name", "email", "last_purchase", "recency_days", "frequency",
    "monetary_cents", "r_score", "f_score", "m_score", "segment",
]  # fmt: skip


def quintile_scores(values: np.ndarray) -> np.ndarray:
    """1 + floor(5 x (rank - 1) / n), rank 1 for the smallest value, ties sharing the lowest
    rank: rank - 1 is the number of strictly smaller values."""
    if not len(values):
        return np.zeros(0, dtype="int64")
    return 1 + (5 * count_smaller(values)) // len(values)


def count_smaller(values: np.ndarray) -> np.ndarray:
    """For each value, how many values are strictly smaller. Days and order counts span a few
    thousand values: counted per value in one pass. Money amounts: a binary search of each
    value, in sorted order (timings: bench/NOTES.md, "RFM scores")."""
    lowest = values.min()
    if values.max() - lowest > len(values):
        order = np.argsort(values)
        ordered = values[order]
        smaller = np.empty(len(values), dtype="int64")
        smaller[order] = np.searchsorted(ordered, ordered, side="left")
        return smaller
    offsets = values - lowest
    per_value = np.bincount(offsets)
    return (np.cumsum(per_value) - per_value)[offsets]


def rfm_scores(measures: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Scores per customer and each one's segment as an index into SEGMENTS (rules in
    sql/analytics/rfm.sql); the segment names are written out only for the rows shown."""
    r = quintile_scores(-measures["recency_days"].to_numpy(dtype="int64"))
    f = quintile_scores(measures["frequency"].to_numpy(dtype="int64"))
    m = quintile_scores(measures["monetary_cents"].to_numpy(dtype="int64"))
    codes = np.select(
        [(r >= 4) & (f >= 4) & (m >= 4), (r >= 3) & (f >= 3), r >= 4, r == 3, f >= 3],
        [0, 1, 2, 3, 4],  # the first five of SEGMENTS, in order
        default=5,
    )
    return measures.assign(r_score=r, f_score=f, m_score=m), codes


def ranked_rows(scored: pd.DataFrame, limit: int | None) -> np.ndarray:
    """Positions of the first `limit` rows (all when None) by revenue (highest first), orders
    (most first), then customer id. Sorting only the rows that can make the cut (faster than
    DuckDB's ORDER BY of them all: bench/NOTES.md, "Top customers")."""
    money, orders, ids = (
        scored[column].to_numpy(dtype="int64")
        for column in ("monetary_cents", "frequency", "customer_id")
    )
    rows = np.arange(len(money))
    if limit and limit < len(money):
        cut = np.partition(money, len(money) - limit)[len(money) - limit]  # the limit-th highest
        rows = np.flatnonzero(money >= cut)
    order = rows[np.lexsort((ids[rows], -orders[rows], -money[rows]))]
    return order[:limit] if limit else order


def with_movement_details(newest: pd.DataFrame, source) -> pd.DataFrame:
    details = source.movement_details(newest["movement_id"].tolist()).astype(
        {"movement_id": "int64", "stock_after": "int64", "purchase_id": "Int64"}
    )
    details = details.astype({"reason": "str", "created_by": "str"})
    return newest.merge(details, on="movement_id", how="left")


def segment_totals(scored: pd.DataFrame, codes: np.ndarray) -> pd.DataFrame:
    """Customers and revenue per segment, every segment listed (numpy, not a pandas group-by:
    this runs on every page over every buying customer)."""
    counts = np.bincount(codes, minlength=len(SEGMENTS))
    revenue = np.zeros(len(SEGMENTS), dtype="int64")
    np.add.at(revenue, codes, scored["monetary_cents"].to_numpy(dtype="int64"))
    return pd.DataFrame(
        {"segment": list(SEGMENTS), "customers": counts.astype("int64"), "revenue_cents": revenue}
    )


def _limit(limit) -> int | None:
    if limit in (None, "", 0):
        return None
    return parse_int(limit, "limit", minimum=1, maximum=10**9)


def _grain(grain) -> str:
    if grain not in GRAINS:
        raise ValidationError("grain", f"must be one of {', '.join(GRAINS)}")
    return grain


PERIOD_FREQ = {"day": "D", "week": "W-MON", "month": "MS"}


def _period_index(frame: pd.DataFrame, span: DateRange, grain: str) -> pd.DatetimeIndex:
    """Every period from the range's start (or the first activity) to its end (or the last)."""
    first = _truncate(span.date_from, grain) if span.date_from else None
    last = _truncate_before(span.date_to, grain) if span.date_to else None
    if first is None:
        first = frame["period"].min() if len(frame) else None
    if last is None:
        last = frame["period"].max() if len(frame) else None
    if first is None or last is None or pd.isna(first) or pd.isna(last):
        return pd.DatetimeIndex([], name="period")
    periods = _period_count(pd.Timestamp(first), pd.Timestamp(last), grain)
    if periods > MAX_PERIODS:
        raise ValidationError(
            "grain",
            f"a trend by {grain} over this range has {periods:,} periods, more than"
            f" {MAX_PERIODS:,}; choose a longer grain or a shorter range",
        )
    return pd.date_range(
        pd.Timestamp(first), pd.Timestamp(last), freq=PERIOD_FREQ[grain], name="period"
    )


def _period_count(first: pd.Timestamp, last: pd.Timestamp, grain: str) -> int:
    """How many periods from `first` to `last` (both period starts), counted, not built."""
    if grain == "month":
        return (last.year - first.year) * 12 + last.month - first.month + 1
    days = (last - first).days
    return (days // 7 if grain == "week" else days) + 1


def _truncate(text: str, grain: str) -> pd.Timestamp:
    moment = pd.Timestamp(text).normalize()
    if grain == "week":
        return moment - pd.Timedelta(days=moment.weekday())
    if grain == "month":
        return moment.replace(day=1)
    return moment


def _truncate_before(text: str, grain: str) -> pd.Timestamp:
    """The period holding the last moment before `text` (the range's end is exclusive)."""
    return _truncate(str(pd.Timestamp(text) - pd.Timedelta(seconds=1)), grain)


def _fill_periods(frame: pd.DataFrame, span: DateRange, grain: str) -> pd.DataFrame:
    frame = frame.assign(period=pd.to_datetime(frame["period"]))
    index = _period_index(frame, span, grain)
    filled = frame.set_index("period").reindex(index, fill_value=0).reset_index()
    return filled.astype({"revenue_cents": "int64", "units": "int64"})[
        ["period", "revenue_cents", "units"]
    ]


def _fill_product_periods(
    frame: pd.DataFrame, products: pd.DataFrame, span: DateRange, grain: str
) -> pd.DataFrame:
    frame = frame.assign(period=pd.to_datetime(frame["period"]))
    index = _period_index(frame, span, grain)
    grid = pd.MultiIndex.from_product(
        [index, products["product_id"]], names=["period", "product_id"]
    )
    filled = (
        frame.set_index(["period", "product_id"])[["revenue_cents", "units"]]
        .reindex(grid, fill_value=0)
        .reset_index()
        .merge(products, on="product_id")
    )
    filled = filled.astype({"revenue_cents": "int64", "units": "int64"})
    return (
        filled[["period", "product_id", "sku", "name", "revenue_cents", "units"]]
        .sort_values(["period", "product_id"], kind="stable")
        .reset_index(drop=True)
    )


# --- output: what the CLI and the API print -------------------------------------------------


def public_value(value):
    """A cell as plain JSON-ready data: times as stored text, NaN/NaT as None."""
    if value is None or (not isinstance(value, str | bytes | list) and pd.isna(value)):
        return None
    if isinstance(value, datetime):
        return value.strftime(TIME_FORMAT)
    if hasattr(value, "item"):
        return value.item()
    return value


def public_record(record: dict, money=cents_to_decimal_text) -> dict:
    """A row as the CLI and the API give it: every `*_cents` field renamed without the suffix
    and written by `money` (default a two-place decimal string, "2328.60"); periods as dates."""
    out = {}
    for key, value in record.items():
        value = public_value(value)
        if key.endswith("_cents"):
            out[key.removesuffix("_cents")] = None if value is None else money(int(value))
        elif key == "period" and value is not None:
            out[key] = value[:10]
        else:
            out[key] = value
    return out


def public_records(frame: pd.DataFrame, money=cents_to_decimal_text) -> list[dict]:
    return [public_record(row, money) for row in frame.to_dict(orient="records")]
