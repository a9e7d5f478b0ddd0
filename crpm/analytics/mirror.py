"""The mirror: DuckDB's columnar copy of what the reports read, in memory, and its sync.

Its tables are `sales` (purchase lines with their purchase's customer, time and cancelled flag),
`returns` (likewise), `purchases`, `customers`, `products` and `movements`, each declared once in
`MIRRORED`: its columns, where the incremental step reads them in the store (SQLite) and where
the full load reads them (DuckDB over the store). The tables, the incremental reads and the full
load are all written from that declaration. Every report first brings the copy up to date:

- Rows are only ever added to purchase_lines, purchase_returns and stock_movements, and ids only
  grow, so the mirror reads the rows past its id high-water marks. Purchases, customers and
  products are edited in place now and then (a cancellation, an edit, an erasure); migration 003
  makes triggers list those rows in `analytics_changes`, and the mirror re-reads exactly them.
  Product stock moves only through the ledger, so the mirror adds the new movements to it.
- All of that is read in ONE short SQLite read transaction (one snapshot, results fetched whole,
  never held open), so a report sees a consistent state that includes every purchase committed
  before the call, and a writer is never blocked (WAL).
- The first call (or a very large backlog) loads everything with DuckDB's sqlite scanner,
  bounded by ids read from one snapshot; the incremental step that follows makes it exact.

That is the SQLite store. On PostgreSQL ids do not become visible in id order: `pgmirror.PgMirror`
fills the same tables from the same declarations with its own reads (`open_mirror` picks one).
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
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from crpm.analytics import mirrorfile
from crpm.analytics.mirrorfile import Kept

log = logging.getLogger(__name__)
SQL_DIR = Path(__file__).resolve().parents[2] / "sql" / "analytics"
# Past this many new rows a full reload through the sqlite scanner beats row-by-row Python.
BULK_THRESHOLD = 200_000
# DuckDB's own memory (the copy and the queries' working sets), spilling beyond it to a private
# temp folder; DuckDB's default is 80% of RAM. Why 800 MB: bench/NOTES.md, "Memory limit".
MEMORY_LIMIT = "800MB"


@dataclass(frozen=True)
class Column:
    """One column of the mirror: its DuckDB type, the SQLite expression the incremental step
    reads it with and the DuckDB expression the full load reads it with."""

    name: str
    type: str
    read: str
    load: str


def columns(table: str) -> tuple[Column, ...]:
    """Columns written as a table, one a line: name, DuckDB type, then the SQLite expression
    (default: the store's column of that name) and, after `|`, the full load's expression
    (default: the same)."""
    found = []
    for line in table.strip().splitlines():
        name, kind, *rest = line.split(maxsplit=2)
        read, _, load = (rest[0] if rest else name).partition(" | ")
        found.append(Column(name, kind, read.strip(), load.strip() or read.strip()))
    return tuple(found)


@dataclass(frozen=True)
class Mirrored:
    """One table of the mirror and where its rows come from."""

    source: str  # the store table whose ids are its high-water mark
    columns: tuple[Column, ...]
    reads: str = ""  # FROM of the incremental step, in the store (default: `source`)
    # FROM of the full load: the store attached as `src` and the mirror tables loaded before
    # (default: `reads` from `src`)
    loads: str = ""
    key: str = "id"  # the id column (the high-water mark's) in both
    order: str = ""  # the full load's ORDER BY, where it matters

    @property
    def read_from(self) -> str:
        return self.reads or self.source

    @property
    def load_from(self) -> str:
        return self.loads or f"src.{self.read_from}"


# In load order: a full load may read the mirror tables loaded before it.
MIRRORED = {
    "customers": Mirrored(
        "customers",
        columns("""
            id              BIGINT
            name            VARCHAR
            email           VARCHAR
            status          VARCHAR
            created_at      TIMESTAMP
        """),
    ),
    "purchases": Mirrored(
        "purchases",
        # units and cents, the totals of the purchase's lines, are kept by the mirror
        # (ADD_LINE_TOTALS_SQL).
        columns("""
            id              BIGINT
            customer_id     BIGINT
            purchased_at    TIMESTAMP
            cancelled_at    TIMESTAMP
            units           BIGINT      0
            cents           BIGINT      0
        """),
        # By customer: the per-customer totals of every page then group runs of equal keys
        # (bench/NOTES.md, "Purchases by customer"). A date range no longer skips row groups of
        # purchases, but they are one row per purchase, a scan of them is cheap.
        order="customer_id, id",
    ),
    "sales": Mirrored(
        "purchase_lines",
        columns("""
            line_id         BIGINT      l.id
            purchase_id     BIGINT      l.purchase_id
            customer_id     BIGINT      pu.customer_id
            product_id      BIGINT      l.product_id
            purchased_at    TIMESTAMP   pu.purchased_at
            quantity        BIGINT      l.quantity
            net_cents       BIGINT      l.net_cents
            tax_cents       BIGINT      l.tax_cents
            discount_cents  BIGINT      l.discount_cents
            tax_rate        VARCHAR     l.tax_rate
            cancelled       BOOLEAN     pu.cancelled_at IS NOT NULL
        """),
        # The full load joins the mirror's purchases, loaded just before.
        reads="purchase_lines l JOIN purchases pu ON pu.id = l.purchase_id",
        key="l.id",
        order="purchased_at",  # facts in time order: a date range skips whole row groups
    ),
    "returns": Mirrored(
        "purchase_returns",
        columns("""
            id              BIGINT      r.id
            line_id         BIGINT      r.line_id
            purchase_id     BIGINT      l.purchase_id | s.purchase_id
            customer_id     BIGINT      pu.customer_id | s.customer_id
            product_id      BIGINT      l.product_id | s.product_id
            returned_at     TIMESTAMP   r.returned_at
            quantity        BIGINT      r.quantity
            net_cents       BIGINT      r.net_cents
            tax_cents       BIGINT      r.tax_cents
            discount_cents  BIGINT      r.discount_cents
            tax_rate        VARCHAR     l.tax_rate | s.tax_rate
            cancelled       BOOLEAN     pu.cancelled_at IS NOT NULL | s.cancelled
        """),
        reads="purchase_returns r JOIN purchase_lines l ON l.id = r.line_id"
        " JOIN purchases pu ON pu.id = l.purchase_id",
        loads="src.purchase_returns r JOIN sales s ON s.line_id = r.line_id",
        key="r.id",
        order="returned_at",
    ),
    "movements": Mirrored(
        "stock_movements",
        columns("""
            id              BIGINT
            product_id      BIGINT
            kind            VARCHAR
            quantity        BIGINT
            created_at      TIMESTAMP
        """),
    ),
    "products": Mirrored(
        "products",
        # The full load counts the stock as of the snapshot: the sum of the movements loaded (the
        # ledger invariant); the products row itself may already be newer than the snapshot.
        columns("""
            id              BIGINT      p.id
            sku             VARCHAR     p.sku
            name            VARCHAR     p.name
            category        VARCHAR     p.category
            price_cents     BIGINT      p.price_cents
            stock           BIGINT      p.stock | coalesce(m.stock, 0)
            reorder_level   BIGINT      p.reorder_level
            status          VARCHAR     p.status
        """),
        reads="products p",
        loads="src.products p LEFT JOIN"
        " (SELECT product_id, sum(quantity) AS stock FROM movements GROUP BY product_id) m"
        " ON m.product_id = p.id",
        key="p.id",
    ),
}


def _ddl(name: str, columns) -> str:
    return f"CREATE OR REPLACE TABLE {name} ({', '.join(f'{c.name} {c.type}' for c in columns)});"


def _delta_sql(table: Mirrored) -> str:
    return f"SELECT {', '.join(c.read for c in table.columns)} FROM {table.read_from}"


def bulk_sql(table: Mirrored, bounded: bool = True) -> str:
    select = ", ".join(f"CAST({c.load} AS {c.type}) AS {c.name}" for c in table.columns)
    where = f" WHERE {table.key} <= $bound" if bounded else ""
    order = f" ORDER BY {table.order}" if table.order else ""
    return f"SELECT {select} FROM {table.load_from}{where}{order}"


def position(table: str, column: str) -> int:
    """Where `column` stands in the rows the incremental step reads for `table`."""
    return [c.name for c in MIRRORED[table].columns].index(column)


# Each customer's first purchase ever (not cancelled), for "new customers": kept by the mirror.
FIRST_PURCHASES = columns("""
    customer_id     BIGINT
    first_at        TIMESTAMP
""")
MIRROR_DDL = "\n".join(
    [_ddl(name, table.columns) for name, table in MIRRORED.items()]
    + [_ddl("first_purchases", FIRST_PURCHASES)]
)
# SQLite: the rows of each mirror table, in its column order (the caller adds the ids wanted).
DELTA_SQL = {name: _delta_sql(table) for name, table in MIRRORED.items()}
# DuckDB, over the store attached as `src`: everything up to the ids of one snapshot.
BULK_SQL = {name: bulk_sql(table) for name, table in MIRRORED.items()}
# The ids that drive the sync: the store table behind each high-water mark.
SOURCES = {name: table.source for name, table in MIRRORED.items()} | {
    "changes": "analytics_changes"
}
MAX_IDS_SQL = "SELECT " + ", ".join(
    f"(SELECT coalesce(max(id), 0) FROM {table})" for table in SOURCES.values()
)
CHANGED_ENTITY = {"customer": "customers", "product": "products", "purchase": "purchases"}
PURCHASE_CUSTOMER = position("purchases", "customer_id")


# Each purchase carries the totals of its lines (units, cents), so per-customer figures read one
# row per purchase instead of one per line: new lines add to their purchase's totals (each line is
# applied exactly once, by the high-water marks), a re-read purchase gets them recounted.
def add_line_totals_sql(lines: str) -> str:
    """Add the `lines` (a FROM of sales rows) to their purchases' kept totals."""
    return (
        "UPDATE purchases SET units = purchases.units + d.units, cents = purchases.cents + d.cents"
        " FROM (SELECT purchase_id, sum(quantity) AS units, sum(net_cents) AS cents"
        f"  FROM {lines} GROUP BY purchase_id) d"
        " WHERE purchases.id = d.purchase_id"
    )


def add_moved_stock_sql(movements: str) -> str:
    """Add the `movements` (a FROM of movement rows) to their products' stock in the copy."""
    return (
        "UPDATE products SET stock = products.stock + moved.quantity FROM"
        " (SELECT product_id, sum(quantity) AS quantity"
        f"  FROM {movements} GROUP BY product_id) moved"
        " WHERE products.id = moved.product_id"
    )


ADD_LINE_TOTALS_SQL = add_line_totals_sql("sales WHERE line_id > $after AND line_id <= $upto")
ADD_MOVED_STOCK_SQL = add_moved_stock_sql("movements WHERE id > $after AND id <= $upto")
RECOUNT_LINE_TOTALS_SQL = (
    "UPDATE purchases SET units = d.units, cents = d.cents"
    " FROM (SELECT purchase_id, sum(quantity) AS units, sum(net_cents) AS cents"
    "  FROM sales WHERE list_contains($ids, purchase_id) GROUP BY purchase_id) d"
    " WHERE purchases.id = d.purchase_id"
)
# First purchases recounted for the customers whose purchases were added, cancelled or
# re-assigned ($ids), or for all (NULL).
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
PRODUCTS_NAMED_SQL = (
    "SELECT id AS product_id, sku, name FROM products WHERE list_contains($ids, id) ORDER BY id"
)
CUSTOMER_NAMES_SQL = (
    "SELECT id AS customer_id, name, email FROM customers WHERE id IN (SELECT unnest($ids))"
)
MOVEMENT_DETAILS = ["movement_id", "stock_after", "purchase_id", "reason", "created_by"]
MOVEMENT_DETAILS_SQL = (
    "SELECT id, stock_after, purchase_id, reason, created_by FROM stock_movements"
    " WHERE id IN (SELECT value FROM json_each(?))"
)


@functools.cache
def read_sql(name: str) -> str:
    """The report file sql/analytics/NAME.sql."""
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def used_params(sql: str, params: dict) -> dict:
    """The parameters `sql` names outside its comments (DuckDB refuses extra ones)."""
    named = named_params(sql)
    return {key: value for key, value in params.items() if key in named}


@functools.cache
def named_params(sql: str) -> frozenset[str]:
    return frozenset(re.findall(r"\$(\w+)", re.sub(r"--[^\n]*", "", sql)))


def store_copy(conn: sqlite3.Connection, dest: Path) -> Path:
    """A consistent copy of the store (sqlite3's online backup), in rollback mode so that a
    reader needs no WAL files beside it."""
    target = sqlite3.connect(dest)
    try:
        conn.backup(target)
        target.execute("PRAGMA journal_mode=DELETE")
    finally:
        target.close()
    return dest


def load_sqlite_extension(con: duckdb.DuckDBPyConnection) -> None:
    """DuckDB's sqlite extension (the store's scanner on SQLite)."""
    load_scanner(con, "sqlite")


def load_scanner(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """DuckDB's `name` extension (sqlite, postgres), offline: the signed file shipped on PyPI
    (duckdb-extension-NAME-scanner), else DuckDB's own install."""
    path = bundled_extension(name)
    if path is not None:
        con.load_extension(str(path))
    else:
        con.install_extension(name)
        con.load_extension(name)


def bundled_extension(name: str) -> Path | None:
    spec = importlib.util.find_spec(f"duckdb_extension_{name}_scanner")
    if spec is None or not spec.submodule_search_locations:
        return None
    package = Path(next(iter(spec.submodule_search_locations)))
    path = package / "extensions" / f"v{duckdb.__version__}" / f"{name}_scanner.duckdb_extension"
    return path if path.is_file() else None


def load_average() -> float:
    """The 1-minute load average; 0 where the system has none (Windows)."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return 0.0


def open_mirror(store, threads: int | None = None, keep: bool = True) -> Mirror:
    """The mirror of a store of either engine; with `keep`, in a file that a restart catches up
    from (crpm/analytics/mirrorfile.py), else in memory."""
    kept = mirrorfile.claim(store) if keep else None
    if store.dialect == "postgresql":
        from crpm.analytics.pgmirror import PgMirror  # the driver is needed only for PostgreSQL

        return PgMirror(store.url, threads, kept)
    return Mirror(store.path, threads, kept)


class Mirror:
    """The DuckDB copy of a SQLite store, kept exactly current by `sync()`. Not thread-safe
    alone. `PgMirror` is its PostgreSQL counterpart: the same copy, read another way."""

    scanner = "sqlite"

    def __init__(self, store_path: Path, threads: int | None = None, kept: Kept | None = None):
        self.store_path = Path(store_path)
        self._sqlite: sqlite3.Connection | None = None
        self._start(threads, kept)

    def _start(self, threads: int | None, kept: Kept | None) -> None:
        """The DuckDB side: the copy's database (the kept file, else in memory) with the store's
        scanner loaded, and where the copy stands if the file is to be trusted."""
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
        # In memory, the copy lives in a compressed database (bench/NOTES.md, "Compression").
        self.kept, state = mirrorfile.attach(self.con, kept)
        self.con.execute("USE mirror")
        self.con.execute("SET enable_progress_bar = false")  # none on the terminal at a long load
        self.fixed_threads = bool(threads)
        self.threads = threads or int(
            self.con.execute("SELECT current_setting('threads')").fetchone()[0]
        )
        self.scanning = False  # the store's scanner loaded (a full load needs it, a restart not)
        self.marks = None  # where the copy stands in the store; None: not loaded
        self.loads = 0  # full loads so far (a restart that catches up makes none)
        self.unchecked = state is not None  # a kept copy, not yet checked against the store
        # The store's epoch when the copy was read (mirrorfile.EPOCH_KEY); None: not read yet.
        self.epoch = None if state is None else state.get("epoch")
        if state is not None:
            self._restore(state)

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
        self._close_copy()

    def _close_copy(self) -> None:
        self.con.close()
        if self.kept is not None:
            self.kept.file.release()

    # --- the kept copy's state ----------------------------------------------------------------

    def _state(self, marks) -> dict:
        """What a restart needs to catch up from the copy standing at `marks`."""
        return {"marks": marks}

    def _restore(self, state: dict) -> None:
        self.marks = state["marks"]

    def _save_state(self, marks) -> None:
        """Inside the transaction that brought the copy to `marks` (or after a full load)."""
        if self.kept is not None:
            state = {**self._state(marks), "epoch": self.epoch}
            mirrorfile.write_state(self.con, self.kept.identity, state)

    def _loaded(self, marks) -> None:
        """A full load is done: its state saved, and the file checkpointed (the load's updates
        folded into its blocks: reports on a file not checkpointed were 15% slower)."""
        self._save_state(marks)
        if self.kept is not None:
            self.con.execute("CHECKPOINT")

    def _create_tables(self) -> None:
        """Empty tables for a full load, the kept state gone first: a load cut short is never
        taken for a copy."""
        if not self.scanning:
            load_scanner(self.con, self.scanner)
            self.scanning = True
        if self.kept is not None:
            self.con.execute("DELETE FROM mirror_state")
        self.con.execute(MIRROR_DDL)

    def _check_kept(self) -> None:
        """At a kept copy's first sync: the store still holds the newest ledger row the copy
        holds (ledger rows are never edited). Not so: a store restored from an older backup and
        written to since, whose ids went past the copy's again; the copy is loaded again. Done
        until it once completes: a check that failed half-way is asked again at the next sync."""
        top = self.con.execute("SELECT max(id) FROM movements").fetchone()[0]
        if top is not None:
            rows = self._rows_by_id("movements", [top])
            if not rows or not self._holds("movements", rows):
                log.warning("the kept analytics mirror is not this store's: loading it again")
                self.marks = None
        self.unchecked = False

    def _check_epoch(self, conn) -> None:
        """Before anything is read from the store (`conn`, the mirror's own connection): if its
        epoch moved since the copy was read (an erasure, a restore), the copy may hold what must
        be gone, so it is thrown away, its file deleted, and loaded again into a new one."""
        epoch = mirrorfile.store_epoch(conn)
        if epoch == self.epoch:
            return
        if self.marks is not None:
            log.info("the store was erased from or restored: the analytics mirror is loaded again")
            self.kept = mirrorfile.reattach(self.con, self.kept)
            self.marks = None
            self.unchecked = False
        self.epoch = epoch

    def _holds(self, table: str, rows: list) -> bool:
        """Whether the copy's `table` holds these rows (read from the store) as they are."""
        self.con.register("delta_rows", frame_of(table, rows))
        try:
            held = self.con.execute(
                f"SELECT count(*) FROM (SELECT {_cast_select(table)} FROM delta_rows"
                f" EXCEPT SELECT * FROM {table})"
            ).fetchone()[0]
        finally:
            self.con.unregister("delta_rows")
        return held == 0

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
        self._check_epoch(conn)
        if self.unchecked:
            self._check_kept()
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
        self.loads += 1
        self._create_tables()
        with tempfile.TemporaryDirectory(prefix="crpm-analytics-") as folder:
            copy = store_copy(self.sqlite, Path(folder) / "store.db")
            # ATTACH takes no parameters: the path goes in as a quoted literal.
            quoted = str(copy).replace("'", "''")
            con.execute(f"ATTACH '{quoted}' AS src (TYPE sqlite, READ_ONLY)")
            try:
                for table, sql in BULK_SQL.items():
                    con.execute(f"INSERT INTO {table} {sql}", {"bound": bounds[table]})
            finally:
                con.execute("DETACH src")
        con.execute(ADD_LINE_TOTALS_SQL, {"after": 0, "upto": bounds["sales"]})
        self._recount_first_purchases(None)
        self._loaded(bounds)
        self.marks = dict(bounds)

    def _read_delta(self, conn: sqlite3.Connection, latest: dict[str, int]) -> dict:
        """Inside the caller's read transaction: new rows, and the current rows of edited ones."""
        marks = self.marks
        delta = {}
        for table, sql in DELTA_SQL.items():
            key = MIRRORED[table].key
            delta[table] = conn.execute(
                f"{sql} WHERE {key} > ? AND {key} <= ?", (marks[table], latest[table])
            ).fetchall()
        changed = conn.execute(
            "SELECT entity, entity_id FROM analytics_changes WHERE id > ? AND id <= ?",
            (marks["changes"], latest["changes"]),
        ).fetchall()
        delta["changed"] = {}
        for entity, table in CHANGED_ENTITY.items():
            ids = sorted({key for kind, key in changed if kind == entity and key <= marks[table]})
            delta["changed"][table] = (ids, self._rows_by_id(table, ids, conn))
        return delta

    def _rows_by_id(self, table: str, ids: list[int], conn=None) -> list:
        """The store's current rows of `table` with these ids (in `conn`'s transaction)."""
        if not ids:
            return []
        where = f"{MIRRORED[table].key} IN (SELECT value FROM json_each(?))"
        conn = conn or self.sqlite
        return conn.execute(f"{DELTA_SQL[table]} WHERE {where}", (json.dumps(ids),)).fetchall()

    def _apply(self, delta: dict, latest: dict[str, int]) -> None:
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            for table in ("customers", "purchases", "sales", "returns", "movements"):
                self._append(table, delta[table])
            self._add_new_totals(delta, latest)
            self._append("products", delta["products"])
            buyers = self._buyers(delta)
            for table, (ids, rows) in delta["changed"].items():
                self._replace(table, ids, rows)
            self._recount_first_purchases(sorted(buyers | self._buyers(delta)))
            self._save_state(latest)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            self.marks = None  # unknown state: reload next time
            raise
        self.marks = latest

    def _add_new_totals(self, delta: dict, latest: dict[str, int]) -> None:
        """The new lines added to their purchases' totals, the new movements to the stock."""
        after, upto = self.marks["sales"], latest["sales"]
        self.con.execute(ADD_LINE_TOTALS_SQL, {"after": after, "upto": upto})
        self._add_moved_stock(self.marks["movements"], latest["movements"])

    def _buyers(self, delta: dict) -> set[int]:
        """The customers of the new and the re-read purchases, as the copy has them now (before
        and after the re-read, so a purchase moved to another customer counts for both)."""
        ids, rows = delta["changed"]["purchases"]
        found = {row[PURCHASE_CUSTOMER] for row in (*delta["purchases"], *rows)}
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
        self.con.register("delta_rows", frame_of(table, rows))
        try:
            self.con.execute(f"INSERT INTO {table} SELECT {_cast_select(table)} FROM delta_rows")
        finally:
            self.con.unregister("delta_rows")

    def _add_moved_stock(self, after_id: int, upto_id: int) -> None:
        """Products already in the copy follow the ledger: stock += the new movements."""
        if upto_id > after_id:
            self.con.execute(ADD_MOVED_STOCK_SQL, {"after": after_id, "upto": upto_id})

    def _replace(self, table: str, ids: list[int], rows: list) -> None:
        """Edited rows: take the store's current version (gone if it was deleted)."""
        if not ids:
            return
        self.con.execute(f"DELETE FROM {table} WHERE list_contains($ids, id)", {"ids": ids})
        self._append(table, rows)
        if table == "purchases":
            for sql in (*REFRESH_FACTS_SQL, RECOUNT_LINE_TOTALS_SQL):
                self.con.execute(sql, {"ids": ids})

    # --- what the reports read ----------------------------------------------------------------

    def query(self, name: str, params: dict) -> pd.DataFrame:
        """Run the report file `name` on the copy."""
        return run_file(self.con, name, params).fetchdf()

    def build(self, name: str, params: dict) -> None:
        """Run a file that creates a temp table (the range totals)."""
        run_file(self.con, name, params)

    def products_named(self, ids: list[int]) -> pd.DataFrame:
        return self.con.execute(PRODUCTS_NAMED_SQL, {"ids": ids}).fetchdf()

    def movement_details(self, ids: list[int]) -> pd.DataFrame:
        """The columns of these movements that the copy leaves out (most of its memory and load
        time at millions of rows), read from the store: ledger rows are never edited."""
        rows = self.sqlite.execute(MOVEMENT_DETAILS_SQL, (json.dumps(ids),)).fetchall()
        return pd.DataFrame.from_records(rows, columns=MOVEMENT_DETAILS)

    def customer_names(self, ids: list[int]) -> pd.DataFrame:
        return self.con.execute(CUSTOMER_NAMES_SQL, {"ids": ids}).fetchdf()


def frame_of(table: str, rows: list) -> pd.DataFrame:
    """Rows the incremental step read for `table`, as a frame with the mirror's column names."""
    return pd.DataFrame.from_records(rows, columns=[c.name for c in MIRRORED[table].columns])


def _cast_select(table: str) -> str:
    """The columns of rows read from the store, as the copy's `table` types them."""
    return ", ".join(f"CAST({c.name} AS {c.type})" for c in MIRRORED[table].columns)


def run_file(con: duckdb.DuckDBPyConnection, name: str, params: dict):
    """Run the file sql/analytics/NAME.sql with the parameters it names."""
    sql = read_sql(name)
    return con.execute(sql, used_params(sql, params))
