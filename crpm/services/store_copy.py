"""Moving a shop from one store to another (SQLite <-> PostgreSQL, or file to file): every table
with its history, ids kept, in one write on the target; then proof that nothing changed on the
way: the same rows in every table, the stock ledger sound, and every report equal to the cent.

Left behind on purpose: logins in progress (`sessions`: people log in again on the new store),
short-lived lockouts (`address_attempts`), the analytics change list (`analytics_changes`: the
new store's mirror is built from scratch) and the search indexes (each engine keeps its own,
filled as the rows arrive).
"""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from itertools import zip_longest

from crpm.clock import TIME_FORMAT
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
    """Copy every table of `source` into the empty `target`, then check the two agree.

    The source stays frozen throughout (`frozen()`: its write lock, which every writer of every
    app process takes, around one snapshot): the copy and the check read one moment of it, and
    a write attempted meanwhile waits for the end, or gives up as busy."""
    ensure(actor, "admin")
    # Each engine's latest, not one number: PostgreSQL has versions of its own (its search index).
    if any(store.schema_version() != latest_version(store.dialect) for store in (source, target)):
        raise ValidationError(
            "store", "the two stores are at different schema versions: open both with this version"
        )
    if first_table_with_rows(source) is None:
        # also what keeps a store from being copied onto itself: it would wait for its own lock
        raise ValidationError("source", "the store is empty: there is nothing to move")
    refuse_unless_empty(target)
    report = CopyReport()
    with source.frozen() as reading:
        with target.write() as conn:
            refuse_unless_empty(target)  # again under its lock: another copy may have begun
            for table in TABLES:
                report.rows[table] = copy_table(reading, target, conn, table)
        target.gather_statistics(TABLES)
        report.problems = differences(source, target)
    return report


def first_table_with_rows(store) -> str | None:
    for table in TABLES:
        if store.query_one(f"SELECT count(*) FROM {table}")[0]:
            return table
    return None


def refuse_unless_empty(target) -> None:
    table = first_table_with_rows(target)
    if table is not None:
        raise ValidationError(
            "target", f"the store is not empty ({table} has rows): moving a shop needs an empty one"
        )


def copy_table(reading, target, conn, table: str) -> int:
    columns = target.stored_columns(table)
    count = 0
    for rows in batches(reading, f"SELECT {', '.join(columns)} FROM {table}"):
        target.insert_rows(conn, table, columns, rows)
        count += len(rows)
    if "id" in columns:
        target.continue_ids(conn, table)
    return count


def batches(conn, sql: str):
    """A query's rows as tuples, BATCH at a time, streamed from the store (on PostgreSQL a
    server-side cursor): a store of any size in bounded memory."""
    with closing(conn.stream(sql)) as cursor:
        while rows := cursor.fetchmany(BATCH):
            yield [tuple(row) for row in rows]


def differences(source, target) -> list[str]:
    """What differs between the two stores after a copy; empty when they agree. Each store is
    read in one snapshot (the source's own frozen one when called inside `frozen()`)."""
    with source.read() as ours, target.read() as theirs:
        problems = [
            problem
            for table in TABLES
            for problem in table_differences((source, ours), (target, theirs), table)
        ]
        problems += [
            f"product #{product_id}: stock {stock} but movements sum to {moved}"
            for product_id, stock, moved in ledger_mismatches(theirs)
        ]
    source_reports, target_reports = every_report(source), every_report(target)
    problems += [
        f"report {name} differs" for name in source_reports
        if source_reports[name] != target_reports[name]
    ]  # fmt: skip
    return problems


def table_differences(first, second, table: str) -> list[str]:
    """The first row where `table` differs between two (store, connection) pairs, both read
    whole in key order, side by side; empty when every row and every value agree."""
    columns = first[0].stored_columns(table)
    key = list(first[0].key_order(table))
    ours, theirs = (
        rows_in_key_order(store, conn, table, columns) for store, conn in (first, second)
    )
    with closing(ours), closing(theirs):
        for mine, copied in zip_longest(ours, theirs):
            if mine != copied:
                return [row_difference(table, columns, key, mine, copied)]
    return []


def rows_in_key_order(store, conn, table: str, columns: list[str]):
    order = ", ".join(store.key_order(table).values())
    for rows in batches(conn, f"SELECT {', '.join(columns)} FROM {table} ORDER BY {order}"):
        yield from (tuple(map(canonical, row)) for row in rows)


def row_difference(table: str, columns: list[str], key: list[str], mine, copied) -> str:
    """What two rows met at the same place in key order say: a row missing or added (their
    keys differ, or one side has run out), else the columns whose values differ."""
    places = [columns.index(name) for name in key]
    keys = [
        None if row is None else tuple(row[place] for place in places) for row in (mine, copied)
    ]
    if keys[0] != keys[1]:
        return (
            f"{table}: the source's row {shown(keys[0])} against the copy's {shown(keys[1])}:"
            " rows missing or added"
        )
    changed = [
        name for name, ours, theirs in zip(columns, mine, copied, strict=True) if ours != theirs
    ]
    return f"{table}: row {shown(keys[0])} differs in {', '.join(changed)}"


def shown(key: tuple | None) -> str:
    return "none" if key is None else ", ".join(map(str, key))


def canonical(value):
    """A stored value written one way whichever engine gave it: a whole number as an int
    (from a bool, a float or a Decimal), a time as the stored UTC text, bytes as bytes."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime(TIME_FORMAT)
    if isinstance(value, bool | float | Decimal) and whole(value):
        return int(value)
    return bytes(value) if isinstance(value, memoryview) else value


def whole(number) -> bool:
    exact = Decimal(number)
    return exact.is_finite() and exact == exact.to_integral_value()


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
