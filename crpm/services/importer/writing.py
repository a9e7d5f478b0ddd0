"""Counting what an import does to the store, and pass 2, the write: one unit of work that moves
the staged rows into the store with set-based INSERT ... SELECT / UPDATE ... FROM, writes the
stock movements through the ledger and one audit row.

Past purchases are history: they add purchases, lines, cancellations and returns but no stock
movements, so stock is untouched and products.stock still equals the sum of its movements.
Product stock from a file is an 'import' movement (new product: the stock; update: the
difference), written by `stock.record_movements` like every bulk change of stock.
"""

from __future__ import annotations

from dataclasses import asdict

from crpm.bulkload import indexes_built_after, worth_deferring
from crpm.db import BaseStore
from crpm.permissions import Actor
from crpm.services import audit, stock
from crpm.services.importer.report import ImportReport
from crpm.services.importer.specs import Spec
from crpm.services.sqlparts import assignments, differs

SAMPLE_KEYS = 20

EXISTING_SQL = {
    "customers": "SELECT s.line, s.email, c.id FROM staged s JOIN customers c ON c.email = s.email",
    "products": "SELECT s.line, s.sku, p.id FROM staged s JOIN products p ON p.sku = s.sku",
    "purchases": "SELECT line, order_ref FROM orders WHERE NOT new",
}
UPDATABLE = {
    "customers": ("name", "phone", "company", "address", "city", "country", "notes", "status"),
    "products": (
        "name",
        "price_cents",
        "category",
        "reorder_level",
        "description",
        "status",
        "stock",
    ),
}
# The staged rows of the purchases not yet in the store.
NEW_ROWS = " FROM staged s JOIN orders o ON o.order_ref = s.order_ref WHERE o.new"


def _present_columns(spec: Spec, report: ImportReport) -> list[str]:
    """Store columns the file gives values for (an absent column leaves stored values alone)."""
    renamed = {"price": "price_cents"}
    present = {renamed.get(name, name) for name in report.columns}
    return [column for column in UPDATABLE[spec.kind] if column in present]


def _has_stock(spec: Spec, report: ImportReport) -> bool:
    return spec.kind == "products" and "stock" in report.columns


def _changed_condition(columns: list[str], table: str) -> str:
    """Rows an update changes. Erasure is the erasure service's job: never by import."""
    changed = " OR ".join(differs(f"{table}.{column}", f"s.{column}") for column in columns)
    changed = changed or "FALSE"
    if table == "customers":
        return f"({changed}) AND s.status <> 'erased' AND customers.status <> 'erased'"
    return changed


def count_outcome(conn, spec: Spec, report: ImportReport) -> None:
    """What a write would do now: new rows, existing rows (changed or not), lines."""
    if spec.kind == "purchases":
        conn.execute(
            "UPDATE orders SET new = NOT EXISTS"
            " (SELECT 1 FROM purchases p WHERE p.order_ref = orders.order_ref)"
        )
    existing_sql = f"SELECT count(*) FROM ({EXISTING_SQL[spec.kind]}) AS existing"
    existing = conn.execute(existing_sql).fetchone()[0]
    sample = conn.execute(f"{EXISTING_SQL[spec.kind]} ORDER BY 1 LIMIT {SAMPLE_KEYS}").fetchall()
    if spec.kind == "purchases":
        _count_purchases(conn, report, existing)
    else:
        staged = conn.execute("SELECT count(*) FROM staged").fetchone()[0]
        report.created = staged - existing
        if report.update:
            report.updated = _count_changed(conn, spec, report)
            report.unchanged = existing - report.updated
            return
    report.existing = existing
    report.existing_keys = [row[1] for row in sample]


def _count_changed(conn, spec: Spec, report: ImportReport) -> int:
    table = spec.kind
    changed = _changed_condition(_present_columns(spec, report), table)
    return conn.execute(
        f"SELECT count(*) FROM staged s JOIN {table} USING ({spec.key}) WHERE {changed}"
    ).fetchone()[0]


def _count_purchases(conn, report: ImportReport, existing: int) -> None:
    report.created, report.cancelled = conn.execute(
        "SELECT count(*), count(h.cancelled_at) FROM orders o"
        " JOIN staged h ON h.line = o.line WHERE o.new"
    ).fetchone()
    report.lines, report.returns = conn.execute(
        "SELECT count(*), count(*) FILTER (WHERE s.returned_quantity > 0) FROM staged s"
        " JOIN orders o ON o.order_ref = s.order_ref WHERE o.new"
    ).fetchone()


def write(store: BaseStore, actor: Actor, spec: Spec, report: ImportReport, progress) -> None:
    """Pass 2: one unit of work with the rows, their stock movements and one audit entry."""
    with store.write() as conn:
        if progress:
            progress(0, 1, "write")
        count_outcome(conn, spec, report)  # again, under the write lock: what really happens
        now = conn.clock.stamp()
        deferred = _tables_to_defer(conn, spec, report) if store.dialect == "sqlite" else ()
        with indexes_built_after(conn, deferred):
            if spec.kind == "purchases":
                if report.created:
                    _write_purchases(store, conn, actor, now)
            else:
                _write_records(conn, actor, spec, report, now)
        audit.record(conn, actor, "import", spec.entity, None, after=_audit_counts(report))
    report.written = True
    if progress:
        progress(1, 1, "write")


def _tables_to_defer(conn, spec: Spec, report: ImportReport) -> tuple[str, ...]:
    """A big first load builds its indexes once at the end; a small import into a big store
    updates them row by row (rebuilding would cost the whole store). SQLite only: PostgreSQL
    keeps its indexes up as the rows come."""
    if spec.kind == "purchases":
        if worth_deferring(conn, "purchase_lines", report.lines):
            return ("purchases", "purchase_lines", "purchase_returns")
        return ()
    return (spec.kind,) if worth_deferring(conn, spec.kind, report.created) else ()


def _audit_counts(report: ImportReport) -> dict:
    keys = (
        "file",
        "rows",
        "created",
        "updated",
        "unchanged",
        "existing",
        "lines",
        "cancelled",
        "returns",
        "stock_movements",
    )
    data = asdict(report)
    return {key: data[key] for key in keys if data[key] or key in ("file", "rows", "created")}


def _write_records(conn, actor: Actor, spec: Spec, report: ImportReport, now: str) -> None:
    table, key = spec.kind, spec.key
    before_max = conn.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0]
    if report.update:
        columns = _present_columns(spec, report)
        values = [column for column in columns if column != "stock"]  # stock: by the ledger
        conn.execute(
            f"UPDATE {table} SET {assignments(values, 's.')}, updated_at = ?"
            f" FROM staged s WHERE {table}.{key} = s.{key}"
            f" AND ({_changed_condition(columns, table)})",
            (now,),
        )
        if _has_stock(spec, report):
            report.stock_movements += _stock_movements(
                conn, actor, now, differs("p.stock", "s.stock"), "s.stock - p.stock"
            )
    conn.execute(INSERT_NEW[spec.kind], {"now": now})
    if _has_stock(spec, report):
        report.stock_movements += _stock_movements(
            conn, actor, now, f"p.id > {int(before_max)} AND s.stock > 0", "s.stock"
        )


INSERT_NEW = {
    "customers": (
        "INSERT INTO customers (name, email, phone, company, address, city, country, notes,"
        " status, created_at, updated_at)"
        " SELECT s.name, s.email, coalesce(s.phone, ''), coalesce(s.company, ''),"
        " coalesce(s.address, ''), coalesce(s.city, ''), coalesce(s.country, ''),"
        " coalesce(s.notes, ''), s.status, :now, :now FROM staged s"
        " WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.email = s.email) ORDER BY s.line"
    ),
    "products": (
        "INSERT INTO products (sku, name, category, description, price_cents, stock,"
        " reorder_level, status, created_at, updated_at)"
        " SELECT s.sku, s.name, coalesce(s.category, ''), coalesce(s.description, ''),"
        " s.price_cents, 0, coalesce(s.reorder_level, 0), s.status, :now, :now"
        " FROM staged s"
        " WHERE NOT EXISTS (SELECT 1 FROM products p WHERE p.sku = s.sku) ORDER BY s.line"
    ),
}


def _stock_movements(conn, actor: Actor, now: str, condition: str, quantity: str) -> int:
    """'import' movements for the staged products matching `condition`, written by the ledger:
    each takes its product to the file's stock (stock_after)."""
    rows = conn.tuples(
        f"SELECT p.id, 'import', {quantity}, s.stock, NULL, 'CSV import', ?, ?"
        " FROM staged s JOIN products p ON p.sku = s.sku"
        f" WHERE s.stock IS NOT NULL AND {condition} ORDER BY p.id",
        (now, actor.username),
    ).fetchall()
    return stock.record_movements(conn, rows)


def _write_purchases(store: BaseStore, conn, actor: Actor, now: str) -> None:
    """Purchases in file order, their lines, and returns; no stock movements (history only).

    Ids are a base the store reserves (`reserve_ids`: on PostgreSQL drawn from the sequence,
    as the analytics sync needs) plus the file line (of the purchase's first row, of the line's
    row): set-based, and a return finds its line without a lookup. Ids may skip; they only grow.
    """
    spans = conn.execute(f"SELECT max(o.line), max(s.line){NEW_ROWS}").fetchone()
    params = {
        "user": actor.username,
        "purchase": store.reserve_ids(conn, "purchases", spans[0]),
        "line": store.reserve_ids(conn, "purchase_lines", spans[1]),
    }
    conn.execute(
        "INSERT INTO purchases (id, customer_id, purchased_at, recorded_by, source, order_ref,"
        " cancelled_at, cancelled_by, cancel_reason, prices_include_tax)"
        " SELECT :purchase + o.line, h.customer_id, h.purchased_at, :user, 'import', o.order_ref,"
        " h.cancelled_at, CASE WHEN h.cancelled_at IS NULL THEN NULL ELSE :user END, '',"
        " h.inclusive"
        " FROM orders o JOIN staged h ON h.line = o.line WHERE o.new"
        " ORDER BY o.line",
        params,
    )
    conn.execute(
        "INSERT INTO purchase_lines (id, purchase_id, product_id, quantity, unit_price_cents,"
        " discount_cents, tax_rate, net_cents, tax_cents) SELECT :line + s.line,"
        " :purchase + o.line, s.product_id, s.quantity, s.unit_price_cents, s.discount_cents,"
        f" s.tax_rate, s.net_cents, s.tax_cents{NEW_ROWS} ORDER BY s.line",
        params,
    )
    conn.execute(
        "INSERT INTO purchase_returns (line_id, quantity, returned_at, recorded_by, reason,"
        " discount_cents, net_cents, tax_cents) SELECT :line + s.line, s.returned_quantity,"
        " s.returned_at, :user, 'imported', s.returned_discount_cents, s.returned_net_cents,"
        " s.returned_tax_cents"
        f"{NEW_ROWS} AND s.returned_quantity > 0 ORDER BY s.returned_at, s.line",
        params,
    )
