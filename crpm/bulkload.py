"""Bulk loading inside one transaction: build secondary indexes and full-text indexes once,
after the rows are in, instead of updating them row by row.

Used by demo data (an empty store) and by large imports. The definitions are read back from
sqlite_master and re-run as they were, so whatever the migrations say stays in force; all of it
happens inside the caller's transaction, so a failure leaves the store as it was.
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager

# table -> its external-content FTS5 index, kept by an AFTER INSERT trigger "<fts>_insert"
FTS_OF = {"customers": "customers_fts", "products": "products_fts"}


def worth_deferring(conn: sqlite3.Connection, table: str, new_rows: int) -> bool:
    """Rebuilding costs the whole table; row by row costs the new rows: defer when the new
    rows are many and at least as many as those already there."""
    if new_rows < 5_000:
        return False
    existing = conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
    return new_rows >= existing


@contextmanager
def indexes_built_after(conn: sqlite3.Connection, tables: tuple[str, ...]):
    """Drop the tables' secondary indexes (and FTS insert triggers) for the block; afterwards
    recreate the indexes from their own SQL and rebuild the FTS indexes from their content.
    Unique indexes stay: they answer the "is it already there?" lookups during the load."""
    if not tables:
        yield
        return
    marks = ", ".join("?" for _ in tables)
    indexes = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        f" AND sql NOT LIKE 'CREATE UNIQUE%' AND tbl_name IN ({marks})",
        tables,
    ).fetchall()
    fts_triggers = [
        (FTS_OF[table], *row)
        for table in tables
        if table in FTS_OF
        for row in conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name = ?",
            (f"{FTS_OF[table]}_insert",),
        )
    ]
    for name, _ in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    for _, name, _ in fts_triggers:
        conn.execute(f'DROP TRIGGER "{name}"')
    yield
    for _, sql in indexes:
        conn.execute(sql)
    for fts, _, sql in fts_triggers:
        conn.execute(f'INSERT INTO "{fts}" ("{fts}") VALUES (\'rebuild\')')
        conn.execute(sql)
