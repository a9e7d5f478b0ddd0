"""Moving a shop from one store to another (SQLite <-> PostgreSQL, or file to file): every table
with its history, ids kept, in one write on the target; then proof that nothing changed on the
way: the same rows in every table, the stock ledger sound, and every report equal to the cent.

Left behind on purpose: logins in progress (`sessions`: people log in again on the new store),
short-lived lockouts (`address_attempts`), the analytics change list (`analytics_changes`: the
new store's mirror is built from scratch) and the search indexes (each engine keeps its own,
filled as the rows arrive).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from crpm.db import latest_version
from crpm.errors import ValidationError
from crpm.permissions import SYSTEM, Actor, ensure
from crpm.services.stock import ledger_mismatches

# Parents before children, so that every foreign key finds its row.
TABLES = (
    "customers", "tax_rates", "products", "purchases", "purchase_lines", "purchase_returns",
    "stock_movements", "audit_log", "users", "tickets", "ticket_events", "quotes",
    "quote_lines", "shop_settings", "document_sequences", "invoices", "credit_notes",
    "credit_note_lines", "invitations",
)  # fmt: skip
LEFT_BEHIND = ("schema_migrations", "sessions", "address_attempts", "analytics_changes")
BATCH = 10_000


@dataclass
class CopyReport:
    rows: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def copy_store(actor: Actor, source, target) -> CopyReport:
    """Copy every table of `source` into the empty `target`, then check the two agree."""
    ensure(actor, "admin")
    # Each engine's latest, not one number: PostgreSQL has versions of its own (its search index).
    if any(store.schema_version() != latest_version(store.dialect) for store in (source, target)):
        raise ValidationError(
            "store", "the two stores are at different schema versions: open both with this version"
        )
    refuse_unless_empty(target)
    report = CopyReport()
    with target.write() as conn:
        for table in TABLES:
            report.rows[table] = copy_table(source, target, conn, table)
    report.problems = differences(source, target)
    return report


def refuse_unless_empty(target) -> None:
    for table in TABLES:
        if target.query_one(f"SELECT count(*) FROM {table}")[0]:
            raise ValidationError(
                "target",
                f"the store is not empty ({table} has rows): moving a shop needs an empty one",
            )


def copy_table(source, target, conn, table: str) -> int:
    columns = target.stored_columns(table)
    count = 0
    with source.read() as reading:
        cursor = reading.execute(f"SELECT {', '.join(columns)} FROM {table}")
        while rows := cursor.fetchmany(BATCH):
            target.insert_rows(conn, table, columns, [tuple(row) for row in rows])
            count += len(rows)
    if "id" in columns:
        target.continue_ids(conn, table)
    return count


def differences(source, target) -> list[str]:
    """What differs between the two stores after a copy; empty when they agree."""
    problems = [
        f"{table}: {theirs} rows copied from {ours}"
        for table in TABLES
        if (ours := count(source, table)) != (theirs := count(target, table))
    ]
    problems += [
        f"product #{product_id}: stock {stock} but movements sum to {moved}"
        for product_id, stock, moved in ledger_mismatches(target.conn)
    ]
    source_reports, target_reports = every_report(source), every_report(target)
    problems += [
        f"report {name} differs" for name in source_reports
        if source_reports[name] != target_reports[name]
    ]  # fmt: skip
    return problems


def count(store, table: str) -> int:
    return store.query_one(f"SELECT count(*) FROM {table}")[0]


def every_report(store) -> dict[str, list]:
    """Every report over all time, as sorted rows, computed by the store's own analytics."""
    from crpm.analytics import Analytics

    analytics = Analytics(store, keep=False)  # a one-off check: nothing to restart
    try:
        reports = {"summary": [sorted(analytics.summary(SYSTEM).to_dict().items())]}
        reports["top customers"] = analytics.top_customers(SYSTEM, limit=0)
        reports |= prefixed("products", analytics.product_performance(SYSTEM, limit=0))
        for grain in ("day", "week", "month"):
            reports[f"trend by {grain}"] = analytics.trend(SYSTEM, grain=grain)
        reports |= prefixed("stock", analytics.stock_report(SYSTEM, limit=0))
        reports |= prefixed("rfm", analytics.rfm(SYSTEM, limit=0))
        reports["tax"] = analytics.tax(SYSTEM)
    finally:
        analytics.close()
    return {name: rows_of(value) for name, value in reports.items()}


def prefixed(prefix: str, frames: dict) -> dict:
    return {f"{prefix} {name}": frame for name, frame in frames.items()}


def rows_of(value) -> list:
    if isinstance(value, list):
        return value
    return sorted(map(str, value.to_dict("records")))
