"""The scratch database an import stages its clean rows in, and pass 1 that fills it (on
PostgreSQL: temporary tables of the store's connection, `staging_temporary`).

The scratch file lives beside the store (same disk, removed afterwards), so memory stays flat
for a file of any size and sorting for the whole-file checks spills to disk, not memory. It is
held with flock() for as long as its import runs: a killed import's lock goes with its
process, so an unheld scratch file is an abandoned one, and the next import removes it.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

from crpm.db import BaseStore, Store
from crpm.services.importer.checking import Validator, check_header
from crpm.services.importer.reading import CsvSource
from crpm.services.importer.report import ImportReport, Problems
from crpm.services.importer.specs import Spec, scratch_sql

BATCH_ROWS = 20_000
IMPORT_CACHE_KIB = 8_000
SCRATCH_PREFIX, SCRATCH_SUFFIX = ".import-", ".db"
# What an import changes on the connection it borrows, put back afterwards.
BORROWED_SETTINGS = ("temp_store", "cache_size")


@contextmanager
def staging(store: BaseStore):
    """The store's connection of this thread, where the import's scratch tables may be made
    (`specs.scratch_sql`); they are gone afterwards. An import is a unit of work of its own,
    never part of another."""
    if store.in_write or store.conn.in_transaction:
        raise RuntimeError("an import is a unit of work of its own, not part of another")
    scratch = staging_attached if store.dialect == "sqlite" else staging_temporary
    with scratch(store) as conn:
        yield conn


@contextmanager
def staging_temporary(store: BaseStore):
    """PostgreSQL: the scratch tables are temporary tables of this thread's connection (the
    same reasons as on SQLite: the write moves the staged rows with INSERT ... SELECT on the
    connection that holds them), dropped afterwards. They live in the session, in memory up to
    `temp_buffers` and on the server's disk past it."""
    conn = store.conn
    try:
        yield conn
    finally:
        _end_transaction(conn)
        conn.execute("DROP TABLE IF EXISTS pg_temp.staged, pg_temp.orders")


@contextmanager
def staging_attached(store: Store):
    """SQLite: the store's connection of this thread, with a new scratch database attached as
    `staging`.

    The import borrows the store's own connection rather than opening one of its own so that
    its write is a unit of work like every other: `store.write()` on this connection takes the
    store's write lock (a dashboard sale queues behind the import in the same line, rather than
    in SQLite's busy-wait) and BEGIN IMMEDIATE, and translates store errors once. The scratch
    database must be attached to that same connection, since the write moves the staged rows
    with INSERT ... SELECT across the two. ATTACH is refused inside a transaction, so an import
    is a unit of work of its own, never part of another. What the import changes on the
    connection (the attachment, a small page cache, sorting on disk) is put back afterwards.
    """
    remove_abandoned_scratch(store.path.parent)
    conn = store.conn
    saved = {name: conn.execute(f"PRAGMA {name}").fetchone()[0] for name in BORROWED_SETTINGS}
    handle, scratch = _scratch_file(store.path.parent)
    try:
        conn.execute("PRAGMA temp_store=FILE")
        # SQLite's sorter (indexes, GROUP BY) takes up to cache_size of memory: keep both small
        conn.execute(f"PRAGMA cache_size={-IMPORT_CACHE_KIB}")
        conn.execute("ATTACH DATABASE ? AS staging", (scratch,))
        try:
            conn.execute("PRAGMA staging.journal_mode=OFF")
            conn.execute("PRAGMA staging.synchronous=OFF")
            yield conn
        finally:
            _end_transaction(conn)
            conn.execute("DETACH DATABASE staging")
    finally:
        for name, value in saved.items():
            conn.execute(f"PRAGMA {name}={int(value)}")
        _remove_scratch(scratch)
        os.close(handle)  # the lock goes with it


def _end_transaction(conn) -> None:
    if conn.in_transaction:
        conn.execute("ROLLBACK")


def _scratch_file(folder: Path) -> tuple[int, str]:
    """A new scratch file, created and locked (the handle holds the lock until closed)."""
    while True:
        handle, path = tempfile.mkstemp(prefix=SCRATCH_PREFIX, suffix=SCRATCH_SUFFIX, dir=folder)
        if fcntl is None:
            return handle, path
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            if os.stat(path).st_ino == os.fstat(handle).st_ino:
                return handle, path
        except FileNotFoundError:
            pass  # a cleaner took it between mkstemp and flock: make another
        os.close(handle)


def remove_abandoned_scratch(folder: Path) -> list[str]:
    """Remove the scratch files beside the store that no running import holds."""
    if fcntl is None:  # no flock (Windows): nothing can tell a live import's file apart
        return []
    removed = []
    for path in folder.glob(f"{SCRATCH_PREFIX}*{SCRATCH_SUFFIX}"):
        try:
            with open(path, "rb") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                _remove_scratch(str(path))
        except (BlockingIOError, FileNotFoundError):
            continue  # a live import holds it, or another cleaner was first
        removed.append(path.name)
    return removed


def _remove_scratch(scratch: str) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(scratch + suffix).unlink(missing_ok=True)


def stage(
    store: BaseStore,
    spec: Spec,
    source: CsvSource,
    report: ImportReport,
    problems: Problems,
    progress,
    preview_rows: int,
) -> None:
    """Pass 1: validate every row and stage the clean ones.

    The rows go into the scratch database in a transaction of its own: it takes no lock on the
    store (the store is only read, for the purchases' customers and products, from the one
    snapshot this transaction sees), so the dashboard goes on writing while a file is checked.
    """
    conn = store.conn
    conn.execute(scratch_sql(store.dialect, spec.staging))
    validator = None

    def columns_seen(header: list[str]) -> None:
        nonlocal validator
        check_header(spec, header, report)
        report.columns = [name for name in header if name in spec.columns]
        validator = Validator(spec, report.columns, conn)

    def position(done: int) -> None:
        if progress:
            progress(done, source.size, "check")

    marks = ", ".join("?" for _ in range(spec.staging.count(",") + 1))
    insert = f"INSERT INTO staged VALUES ({marks})"
    batch: list[tuple] = []
    conn.execute(store.read_begin)
    try:
        for line, values in source.rows(columns_seen, position):
            report.rows += 1
            if isinstance(values, ValueError):
                problems.add(line, "row", str(values))
                continue
            if len(report.preview) < preview_rows:
                report.preview.append({"line": line, **values})
            staged = validator.row(line, values, problems)
            if staged is not None:
                batch.append(staged)
                if len(batch) >= BATCH_ROWS:
                    conn.executemany(insert, batch)
                    batch.clear()
        conn.executemany(insert, batch)
        conn.execute("COMMIT")
    finally:
        _end_transaction(conn)
