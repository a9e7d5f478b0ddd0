"""The store: connections, migrations and the unit of work, and which engine a location picks.

`BaseStore` is the unit of work both engines share: one connection per thread, `write()` that
nests as SAVEPOINTs and translates the driver's errors once, `read()` as one snapshot, and the
numbered migrations (`sql/migrations/`, each a shared file and/or its dialect's part).
`Store` is the SQLite engine, the embedded default: writes take the write lock up front with
BEGIN IMMEDIATE so that a transaction never fails half-way on a lock upgrade. The PostgreSQL
engine is `crpm.pgstore.PostgresStore`; `open_store` picks one from a path or a URL.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
from contextlib import contextmanager, nullcontext
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

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


POSTGRES_SCHEMES = ("postgresql://", "postgres://")
SQLITE_SCHEME = "sqlite:///"


def is_postgres(location) -> bool:
    """Whether a --db / CRPM_DB value names a PostgreSQL database (a URL) rather than a file."""
    return str(location).startswith(POSTGRES_SCHEMES)


def open_store(location, clock: Clock | None = None) -> BaseStore:
    """The store at `location`, opened and migrated: `postgresql://user@host:port/dbname` is
    PostgreSQL; a path or `sqlite:///path` is a SQLite file (created if missing)."""
    if is_postgres(location):
        from crpm.pgstore import PostgresStore  # the driver is needed only for PostgreSQL

        return PostgresStore.open(str(location), clock)
    text = str(location)
    return Store.open(
        text[len(SQLITE_SCHEME) :] if text.startswith(SQLITE_SCHEME) else location, clock
    )


def shown_location(location) -> str:
    """A store's location for a log line: a URL's password is left out."""
    parts = urlsplit(str(location))
    if not parts.password:
        return str(location)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def migrations(dialect: str = "sqlite") -> list[tuple[int, str, tuple[Path, ...]]]:
    """The numbered migrations of a dialect, in order: (version, name, files). A version's files
    are the shared one in MIGRATIONS_DIR (run on every engine) then the dialect's own part in the
    folder of its name beside it (`sqlite/`, `postgresql/`), either of which may be absent."""
    names: dict[int, str] = {}
    files: dict[int, list[Path]] = {}
    for folder in (MIGRATIONS_DIR, MIGRATIONS_DIR / dialect):
        for path in sorted(folder.glob("*.sql")):
            match = re.match(r"^(\d+)_(.+)\.sql$", path.name)
            if match:
                version = int(match.group(1))
                names.setdefault(version, match.group(2))
                files.setdefault(version, []).append(path)
    return [(version, names[version], tuple(files[version])) for version in sorted(files)]


def latest_version(dialect: str = "sqlite") -> int:
    return max((version for version, _, _ in migrations(dialect)), default=0)


class BaseStore:
    """The unit of work over one database, whatever its engine; subclasses say how to connect,
    how a transaction starts and how the driver's errors read."""

    dialect = "sqlite"
    driver_error: type[Exception] = sqlite3.Error
    read_begin = "BEGIN"  # a read transaction: one snapshot
    concurrent_writes = False  # whether `write(concurrent=True)` units overlap

    def __init__(self, clock: Clock | None = None):
        self.clock = clock or SystemClock()
        self._local = threading.local()
        self._connections: list = []
        self._lock = threading.Lock()
        # Writers of this process queue here rather than in the database's own lock wait.
        self._write_lock = threading.RLock()

    def connect(self):
        """A new connection; the caller owns it."""
        raise NotImplementedError

    def _thread_connection(self):
        """The connection this thread will keep (`conn`)."""
        return self.connect()

    @property
    def conn(self):
        """This thread's connection."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._thread_connection()
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                self._release(conn)
            self._connections.clear()
        self._local = threading.local()

    def _release(self, conn) -> None:
        try:
            conn.close()
        except self.driver_error:
            pass

    @contextmanager
    def write(self, concurrent: bool = False):
        """The unit of work: all of it commits, or none of it does.

        Called again inside one (a service calling another service's public method), it opens a
        SAVEPOINT: the inner part rolls back alone if it fails, and commits with the outer one.
        Store errors leave it as ours (`_translate`), once, wherever they happen.

        A `concurrent` unit may run beside other concurrent ones where the engine allows it
        (PostgreSQL): its guarantees rest on the rows' own locks (conditional updates, rows
        locked in one order), not on running alone. Every other unit still runs alone, beside
        no concurrent one either. On SQLite every unit runs alone.
        """
        depth = getattr(self._local, "write_depth", 0)
        alone = depth == 0 and not (concurrent and self.concurrent_writes)
        if depth and not concurrent and self._local.concurrent:
            raise RuntimeError("a unit that runs alone cannot start inside a concurrent one")
        with self._write_lock if alone else nullcontext():
            conn = self.conn
            if depth == 0 and conn.in_transaction:
                raise RuntimeError("a write cannot start inside a read transaction")
            begin, commit, undo = self._transaction_sql(depth, concurrent)
            self._begin(conn, begin, depth)
            self._local.write_depth = depth + 1
            if depth == 0:
                self._local.concurrent = concurrent
            try:
                yield conn
            except BaseException as exc:
                _undo(conn, undo)
                if isinstance(exc, self.driver_error):
                    raise self._translate(exc) from None
                raise
            else:
                try:
                    self._run(conn, commit)
                except BaseException:
                    _undo(conn, undo)
                    raise
            finally:
                self._local.write_depth = depth

    def _begin(self, conn, begin: str, depth: int) -> None:
        """Open a unit of work; one whose lock gave up (busy) leaves no transaction behind
        (PostgreSQL's BEGIN has gone through before the lock is asked for)."""
        try:
            self._run(conn, begin)
        except BaseException:
            if depth == 0:
                _rollback(conn)
            raise

    def _begin_write(self, concurrent: bool = False) -> str:
        """The statements that open a top-level unit of work and take the write lock (shared
        with other concurrent units where the engine has `concurrent_writes`)."""
        raise NotImplementedError

    def _transaction_sql(self, depth: int, concurrent: bool) -> tuple[str, str, str]:
        """(begin, commit, undo) for a unit of work `depth` levels inside another."""
        if depth == 0:
            return self._begin_write(concurrent), "COMMIT", "ROLLBACK"
        name = f"unit_{depth}"
        return f"SAVEPOINT {name}", f"RELEASE {name}", f"ROLLBACK TO {name}; RELEASE {name}"

    def _run(self, conn, statements: str) -> None:
        """Run transaction control statements, with a store error translated."""
        try:
            for statement in statements.split("; "):
                conn.execute(statement)
        except self.driver_error as exc:
            raise self._translate(exc) from None

    def _translate(self, exc: Exception) -> Exception:
        """A driver error as one of ours, so that no driver error escapes a service."""
        raise NotImplementedError

    @property
    def in_write(self) -> bool:
        """Whether this thread is inside a unit of work."""
        return getattr(self._local, "write_depth", 0) > 0

    @contextmanager
    def frozen(self):
        """The whole store at one moment, with no write landing until the end (moving a store):
        the write lock every unit of work takes, in every process, held around one read
        snapshot. Writers wait meanwhile (on SQLite up to the busy timeout, then busy)."""
        with self._write_lock:
            conn = self.conn
            if conn.in_transaction:
                raise RuntimeError("a store cannot be frozen inside a transaction")
            try:
                self._freeze(conn)
                yield conn
            finally:
                self._thaw(conn)

    def _freeze(self, conn) -> None:
        """Take the write lock and begin the snapshot `frozen` reads in."""
        self._run(conn, self._begin_write())

    def _thaw(self, conn) -> None:
        _rollback(conn)  # nothing was written

    @contextmanager
    def read(self):
        """A read transaction: every query inside sees one snapshot."""
        conn = self.conn
        if conn.in_transaction:  # already inside one: its snapshot is the one to use
            yield conn
            return
        conn.execute(self.read_begin)
        try:
            yield conn
        finally:
            _rollback(conn)

    def query(self, sql: str, params=()) -> list:
        return self.conn.execute(sql, params).fetchall()

    def query_one(self, sql: str, params=()):
        return self.conn.execute(sql, params).fetchone()

    # --- schema -----------------------------------------------------------

    def _has_migrations_table(self) -> bool:
        raise NotImplementedError

    def schema_version(self) -> int:
        if not self._has_migrations_table():
            return 0
        return self.query_one("SELECT coalesce(max(version), 0) FROM schema_migrations")[0]

    def migrate(self) -> list[int]:
        """Apply every migration not yet recorded, each in its own transaction (holding the
        write lock, so that two processes starting together apply each one once)."""
        conn = self.conn
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        applied = []
        for version, name, files in migrations(self.dialect):
            for statement in self._begin_write().split("; "):
                conn.execute(statement)
            try:
                done = conn.execute(
                    "SELECT 1 FROM schema_migrations WHERE version = ?", (version,)
                ).fetchone()
                if not done:
                    for path in files:
                        self._execute_script(conn, path.read_text(encoding="utf-8"))
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

    def _execute_script(self, conn, script: str) -> None:
        """Run a migration inside the open transaction."""
        raise NotImplementedError

    def table_names(self, conn) -> set[str]:
        """The store's tables, as `conn` sees them (an older store may lack some)."""
        raise NotImplementedError

    def check_integrity(self) -> list[str]:
        """Problems found by the engine's own checks; empty when the store is sound."""
        return []

    # --- whole tables, for moving a store across engines ---------------------------------

    def stored_columns(self, table: str) -> list[str]:
        """The columns of `table` that hold what was written (not the generated ones), in order."""
        raise NotImplementedError

    def key_order(self, table: str) -> dict[str, str]:
        """The columns of `table`'s primary key, each with its ORDER BY term: text byte by byte,
        so that both engines list the rows in the same order."""
        raise NotImplementedError

    def insert_rows(self, conn, table: str, columns: list[str], rows) -> None:
        """Insert `rows` (tuples in `columns` order, ids included) inside the open write."""
        marks = ", ".join("?" * len(columns))
        conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    def continue_ids(self, conn, table: str) -> None:
        """After rows came in with their ids: the next id the store hands out follows them."""

    def gather_statistics(self, tables) -> None:
        """After a bulk copy of `tables`, where the engine plans from statistics it does not
        keep live."""

    def reserve_ids(self, conn, table: str, count: int) -> int:
        """Inside the open write: ids base + 1 ... base + count (count >= 1) of `table`, for
        the caller to give the rows it writes (set-based inserts that must know their ids);
        returns base. Here the highest id: the write lock keeps other writers out until the
        rows are in, and the next id handed out follows them."""
        return conn.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0]


class StoreConnection(sqlite3.Connection):
    """A connection that carries its store's clock: code handed only `conn` reads the same now."""

    clock: Clock

    def stream(self, sql: str) -> sqlite3.Cursor:
        """A query's rows, read as they are fetched (a SQLite cursor always is)."""
        return self.execute(sql)

    def tuples(self, sql: str, params=()) -> sqlite3.Cursor:
        """The rows of a query as plain tuples, to iterate (a million rows: no `Row`s)."""
        cursor = self.cursor()
        cursor.row_factory = None
        return cursor.execute(sql, params)


class Store(BaseStore):
    """A SQLite database file with the CRPM schema and the clock every part reads "now" from."""

    def __init__(self, path: str | Path, clock: Clock | None = None):
        super().__init__(clock)
        self.path = Path(path)

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

    def _begin_write(self, concurrent: bool = False) -> str:
        return "BEGIN IMMEDIATE"

    def _translate(self, exc: sqlite3.Error) -> Exception:
        return _translate(exc)

    def _has_migrations_table(self) -> bool:
        return bool(
            self.query_one(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name='schema_migrations'"
            )
        )

    def _execute_script(self, conn, script: str) -> None:
        _execute_script(conn, script)

    def table_names(self, conn) -> set[str]:
        return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}

    def stored_columns(self, table: str) -> list[str]:
        return [row[1] for row in self.query(f"PRAGMA table_xinfo({table})") if row[6] == 0]

    def key_order(self, table: str) -> dict[str, str]:
        keys = sorted((row[5], row[1]) for row in self.query(f"PRAGMA table_info({table})"))
        return {name: f"{name} COLLATE BINARY" for place, name in keys if place}

    def check_integrity(self) -> list[str]:
        """Problems found by SQLite's own checks; empty when the file is sound."""
        problems = [row[0] for row in self.query("PRAGMA integrity_check") if row[0] != "ok"]
        problems += [f"foreign key: {tuple(row)}" for row in self.query("PRAGMA foreign_key_check")]
        return problems


def _undo(conn: sqlite3.Connection, statements: str) -> None:
    """Roll back a unit of work or a savepoint; a connection already rolled back is left so."""
    if conn.in_transaction:
        for statement in statements.split("; "):
            conn.execute(statement)


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
