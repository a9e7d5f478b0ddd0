"""CSV export, streamed from one read snapshot: customers, products, purchases, movements,
tickets, and any report DataFrame.

The customers, products and purchases files use the importer's column names, so exporting a
store and importing the files into an empty one gives the same figures:
- purchases: one row per line, with `order_ref` (`P<id>` when the purchase has none),
  `cancelled_at`, and the line's returns as `returned_quantity` / `returned_at`;
  `customer_name`, `product_name`, `category` and `line_total` are for reading only.
What does not survive a CSV round trip (use a backup for that): the stock ledger's history
(import writes one 'import' movement per product for its current stock), record ids, created
times, who recorded a row, several returns of one line (they become one at the latest time),
and audit rows.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from crpm.csvcells import protect
from crpm.db import BaseStore
from crpm.errors import ValidationError
from crpm.models import cents_to_decimal_text
from crpm.permissions import Actor, ensure

FETCH_ROWS = 10_000

EXPORTS = {
    "customers": (
        "SELECT name, email, phone, company, address, city, country, notes, status"
        " FROM customers ORDER BY id"
    ),
    "products": (
        "SELECT sku, name, price_cents AS price, stock, category, reorder_level, description,"
        " status FROM products ORDER BY id"
    ),
    "purchases": """
SELECT coalesce(pu.order_ref, 'P' || pu.id) AS order_ref, c.email AS customer_email, p.sku,
       l.quantity, l.unit_price_cents AS unit_price, pu.purchased_at, pu.cancelled_at,
       coalesce(CAST(r.quantity AS TEXT), '') AS returned_quantity, r.returned_at,
       l.discount_cents AS discount, l.tax_rate,
       CASE WHEN pu.prices_include_tax = 1 THEN 'yes' ELSE 'no' END AS prices_include_tax,
       c.name AS customer_name, p.name AS product_name, p.category,
       l.net_cents AS net, l.tax_cents AS tax, l.net_cents + l.tax_cents AS line_total
FROM purchase_lines l
JOIN purchases pu ON pu.id = l.purchase_id
JOIN customers c ON c.id = pu.customer_id
JOIN products p ON p.id = l.product_id
LEFT JOIN (SELECT line_id, sum(quantity) AS quantity, max(returned_at) AS returned_at
           FROM purchase_returns GROUP BY line_id) r ON r.line_id = l.id
ORDER BY l.id
""",
    "movements": """
SELECT m.id, p.sku, m.kind, m.quantity, m.stock_after,
       CASE WHEN m.purchase_id IS NULL THEN NULL
            ELSE coalesce(pu.order_ref, 'P' || pu.id) END AS order_ref,
       m.reason, m.created_at, m.created_by
FROM stock_movements m
JOIN products p ON p.id = m.product_id
LEFT JOIN purchases pu ON pu.id = m.purchase_id
ORDER BY m.id
""",
    "tickets": """
SELECT t.id, c.email AS customer_email, t.subject, t.category, t.priority, t.status,
       t.created_at, t.updated_at, t.status_changed_at
FROM tickets t JOIN customers c ON c.id = t.customer_id
ORDER BY t.id
""",
}
COUNTS = {
    "customers": "SELECT count(*) FROM customers",
    "products": "SELECT count(*) FROM products",
    "purchases": "SELECT count(*) FROM purchase_lines",
    "movements": "SELECT count(*) FROM stock_movements",
    "tickets": "SELECT count(*) FROM tickets",
}
MONEY_COLUMNS = {"price", "unit_price", "discount", "net", "tax", "line_total"}
KINDS = tuple(EXPORTS)


class ExportService:
    """CSV files of the store's records for an actor who may read them.

    Each export reads one snapshot on a connection of its own, not the thread's: a download
    is streamed chunk by chunk, and the web server may take each chunk on another thread.
    """

    def __init__(self, store: BaseStore):
        self.store = store

    def export(self, actor: Actor, kind: str, dest, progress: Callable | None = None) -> int:
        """Write `kind` as CSV to `dest` (a path, written atomically, or a text stream).

        Returns the number of data rows. `progress(done, total)` every FETCH_ROWS rows.
        """
        _check(actor, kind)
        conn = self.store.connect()
        try:
            cursor, total = _snapshot(self.store, conn, kind)
            header = [column[0] for column in cursor.description]
            with _output(dest) as out:
                return _write_rows(out, header, cursor, total, progress)
        finally:
            conn.close()

    def stream(self, actor: Actor, kind: str) -> Iterator[str]:
        """`kind` as CSV text: the header, then one chunk per FETCH_ROWS rows, from one snapshot.

        The permission, the kind and the store are checked before the header is yielded, so a
        caller that takes the first chunk before answering can still refuse with a clean error.
        """
        _check(actor, kind)
        conn = self.store.connect()
        try:
            cursor, _total = _snapshot(self.store, conn, kind)
            header = [column[0] for column in cursor.description]
            text = io.StringIO()
            writer = csv.writer(text, lineterminator="\n")
            writer.writerow(header)
            yield _taken(text)
            for rows in _safe_batches(header, cursor):
                writer.writerows(rows)
                yield _taken(text)
        finally:
            conn.close()


def _check(actor: Actor, kind: str) -> None:
    ensure(actor, "read_records")
    if kind not in EXPORTS:
        raise ValidationError("kind", f"must be one of {', '.join(KINDS)}")


def _snapshot(store: BaseStore, conn, kind: str) -> tuple:
    """The rows of `kind` and their count, read in one transaction: the two agree."""
    conn.execute(store.read_begin)
    if kind == "tickets" and "tickets" not in store.table_names(conn):
        raise ValidationError("kind", "this store has no tickets yet")
    total = conn.execute(COUNTS[kind]).fetchone()[0]
    return conn.stream(EXPORTS[kind]), total


def _taken(text: io.StringIO) -> str:
    """What was written into `text` since the last call (the buffer is emptied)."""
    chunk = text.getvalue()
    text.seek(0)
    text.truncate()
    return chunk


def export_frame(frame, dest) -> int:
    """Any report (a pandas DataFrame) as CSV; returns the number of rows."""
    text_columns = frame.select_dtypes(include=["object", "string"]).columns
    safe = frame.assign(**{column: frame[column].map(protect) for column in text_columns})
    with _output(dest) as out:
        safe.to_csv(out, index=False, lineterminator="\n")
    return len(frame)


def _write_rows(out, header: list[str], cursor, total: int, progress) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    done = 0
    for rows in _safe_batches(header, cursor):
        writer.writerows(rows)
        done += len(rows)
        if progress:
            progress(done, total)
    return done


def _safe_batches(header: list[str], cursor) -> Iterator[list[list]]:
    """The cursor's rows, FETCH_ROWS at a time, with money as decimal text and every cell a
    spreadsheet would run as a formula made inert."""
    money = [index for index, name in enumerate(header) if name in MONEY_COLUMNS]
    while rows := cursor.fetchmany(FETCH_ROWS):
        if money:
            rows = [_with_money(row, money) for row in rows]
        yield [[protect(value) for value in row] for row in rows]


def _with_money(row, money: list[int]) -> list:
    values = list(row)
    for index in money:
        values[index] = cents_to_decimal_text(values[index])
    return values


@contextmanager
def _output(dest):
    """A text stream to write into: a given stream, or a temp file renamed onto `dest` at the
    end, so a failed export never leaves half a file under the real name."""
    if isinstance(dest, io.TextIOBase) or hasattr(dest, "write"):
        yield dest
        return
    path = Path(dest)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            yield out
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
