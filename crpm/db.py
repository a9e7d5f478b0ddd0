"""The SQLite store: connections, PRAGMAs, migrations and the transaction helper.

One connection per thread (sqlite3 connections are not shared across threads); writes go
through `Store.write()`, which takes the write lock up front with BEGIN IMMEDIATE so that a
transaction never fails half-way on a lock upgrade.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path

from crpm.clock import Clock, SystemClock
from crpm.errors import Conflict, StoreBusy, StoreError, ValidationError

log = logging.getLogger(__name__)
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "sql" / "migrations"
BUSY_TIMEOUT_MS = 30_000
UNIQUE_FIELDS = {
    "customers.email": ("email", "a customer with this e-mail already exists"),
    "products.sku": ("sku", "a product with this SKU already exists"),
    "purchases.order_ref": ("order_ref", "a purchase with this order reference already exists"),
}


def migrations() -> list[tuple[int, str, Path]]:
    """The numbered .sql files, in order: (version, name, path)."""
    found = []
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        match = re.match(r"^(\d+)_(.+)\.sql$", path.name)
        if match:
            found.append((int(match.group(1)), match.group(2), path))
    return sorted(found)


def latest_version() -> int:
    return max((version for version, _, _ in migrations()), default=0)


class StoreConnection(sqlite3.Connection):
    """A connection that carries its store's clock: code handed only `conn` reads the same now."""

    clock: Clock


class Store:
    """A SQLite database file with the CRPM schema and the clock every part reads "now" from."""

    def __init__(self, path: str | Path, clock: Clock | None = None):
        self.path = Path(path)
        self.clock = clock or SystemClock()
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        # Writers of this process queue here rather than in SQLite's sleeping busy-wait.
        self._write_lock = threading.RLock()

    @classmethod
    def open(cls, path: str | Path, clock: Clock | None = None) -> Store:
        """Open (creating if needed) a store and bring its schema up to date."""
        store = cls(path, clock)
        store.path.parent.mkdir(parents=True, exist_ok=True)
        store.migrate()
        return store

    def connect(self) -> StoreConnection:
        """A new connection with the store's PRAGMAs; the caller owns it."""
        conn = sqlite3.connect(
            self.path,
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
            check_same_thread=False,
            factory=StoreConnection,
        )
        conn.clock = self.clock
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA temp_store=MEMORY")
        conn.execute("PRAGMA cache_size=-32000")
        # Reads of large indexes (a million customers) come from the page cache of the OS.
        conn.execute("PRAGMA mmap_size=1073741824")
        # Fewer, larger checkpoints: each one stalls the writer that triggers it.
        conn.execute("PRAGMA wal_autocheckpoint=10000")
        return conn

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self.connect()
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                try:
                    conn.close()
                except sqlite3.ProgrammingError:
                    pass
            self._connections.clear()
        self._local = threading.local()

    @contextmanager
    def write(self):
        """A write transaction: all of it commits, or none of it does."""
        with self._write_lock:
            conn = self.conn
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise _translate(exc) from None
            try:
                yield conn
            except BaseException as exc:
                _rollback(conn)
                if isinstance(exc, sqlite3.Error):
                    raise _translate(exc) from None
                raise
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                _rollback(conn)
                raise _translate(exc) from None

    @contextmanager
    def read(self):
        """A read transaction: every query inside sees one snapshot."""
        conn = self.conn
        if conn.in_transaction:  # already inside one: its snapshot is the one to use
            yield conn
            return
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            _rollback(conn)

    def query(self, sql: str, params=()) -> list[sqlite3.Row]:
        return self.conn.execute(sql, params).fetchall()

    def query_one(self, sql: str, params=()) -> sqlite3.Row | None:
        return self.conn.execute(sql, params).fetchone()

    # --- schema -----------------------------------------------------------

    def schema_version(self) -> int:
        conn = self.conn
        exists = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='schema_migrations'"
        ).fetchone()
        if not exists:
            return 0
        return conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[0]

    def migrate(self) -> list[int]:
        """Apply every migration not yet recorded, each in its own transaction."""
        conn = self.conn
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        applied = []
        for version, name, path in migrations():
            conn.execute("BEGIN IMMEDIATE")
            try:
                done = conn.execute(
                    "SELECT 1 FROM schema_migrations WHERE version = ?", (version,)
                ).fetchone()
                if not done:
                    _execute_script(conn, path.read_text(encoding="utf-8"))
                    conn.execute(
                        "INSERT INTO schema_migrations (version, name, applied_at)"
                        " VALUES (?, ?, ?)",
                        (version, name, self.clock.stamp()),
                    )
                    applied.append(version)
                conn.execute("COMMIT")
            except BaseException:
                _rollback(conn)
                raise
        return applied

    def check_integrity(self) -> list[str]:
        """Problems found by SQLite's own checks; empty when the file is sound."""
        problems = [row[0] for row in self.query("PRAGMA integrity_check") if row[0] != "ok"]
        problems += [f"foreign key: {tuple(row)}" for row in self.query("PRAGMA foreign_key_check")]
        return problems


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        conn.execute("ROLLBACK")


def _execute_script(conn: sqlite3.Connection, script: str) -> None:
    """Run a migration inside the open transaction (executescript would commit it)."""
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            conn.execute(statement)
            statement = ""
    if statement.strip() and not statement.strip().startswith("--"):
        conn.execute(statement)


def _translate(exc: sqlite3.Error) -> Exception:
    """A SQLite error as one of ours, so that no driver error escapes a service."""
    text = str(exc)
    if isinstance(exc, sqlite3.IntegrityError):
        if text.startswith("UNIQUE constraint failed"):
            column = text.split(":", 1)[1].strip().split(",")[0]
            field, reason = UNIQUE_FIELDS.get(column, (column, "is already taken"))
            return Conflict(field, reason)
        if text.startswith("CHECK constraint failed"):
            return ValidationError(text.split(":", 1)[1].strip(), "breaks a rule of the store")
        if text.startswith("FOREIGN KEY"):
            return Conflict("reference", "the record is still used by other records")
        return ValidationError("record", text)
    if isinstance(exc, sqlite3.OperationalError) and "locked" in text:
        return StoreBusy()
    log.error("store error: %s", text)
    return StoreError()
