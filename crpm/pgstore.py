"""The PostgreSQL store: the same unit of work as the SQLite one, over psycopg 3 and a pool.

Services hand SQL with qmark (`?`) or named (`:name`) parameters to `conn.execute` and read
rows by name and by position, as sqlite3 gives them. `PgConnection` keeps that contract: it
turns those parameter marks into psycopg's (`%s`, `%(name)s`), nothing else of the SQL, and
its rows are `Row`s. A top-level write takes one advisory lock, PostgreSQL's counterpart of
SQLite's BEGIN IMMEDIATE: writers run one at a time, so every guarantee the services get from
SQLite holds here unchanged (see ARCHITECTURE.md, "Two engines"). Sales alone share it with one
another (`write(concurrent=True)`), resting on their rows' locks.
"""

from __future__ import annotations

import logging
import re
import threading
from functools import lru_cache

import psycopg
from psycopg import errors
from psycopg.pq import TransactionStatus
from psycopg.rows import tuple_row
from psycopg_pool import ConnectionPool

from crpm.clock import Clock
from crpm.db import UNIQUE_FIELDS, BaseStore
from crpm.errors import Conflict, StoreBusy, StoreError, ValidationError

log = logging.getLogger(__name__)
# One connection per live thread that touches the store, given back when the thread ends (or at
# close()): the dashboard's threads are Gradio's worker pool (40 at most, its max_threads) and a
# few of its own, so 64 never runs short. Several app processes need max_connections above 64
# times their number (or a pooler).
POOL_MAX = 64
WRITE_LOCK_KEY = 0x43_52_50_4D  # "CRPM": the advisory lock every top-level write takes
# ... paired with the store's schema, so that two stores in one database (two shops, or tests
# side by side) do not wait for each other's writes.
LOCK_KEYS = f"{WRITE_LOCK_KEY}, current_schema()::regnamespace::oid::int"
WRITE_LOCK = f"pg_advisory_xact_lock({LOCK_KEYS})"
# Concurrent units (`write(concurrent=True)`) share it: they wait for a unit that runs alone
# and it for them, not for each other.
SHARED_WRITE_LOCK = f"pg_advisory_xact_lock_shared({LOCK_KEYS})"
# The primary key's columns in order, and whether each is text (has a collation).
KEY_SQL = (
    "SELECT a.attname, a.attcollation <> 0 FROM pg_index i JOIN pg_attribute a"
    " ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)"
    " WHERE i.indrelid = ?::regclass AND i.indisprimary"
    " ORDER BY array_position(i.indkey::int2[], a.attnum)"
)
# `count` ids drawn from a table's own sequence: the first and the last. MATERIALIZED looks the
# sequence up once (inlined, it is looked up for every id: ten times slower).
RESERVE_IDS_SQL = (
    "WITH sequence AS MATERIALIZED"
    " (SELECT pg_get_serial_sequence(?, 'id')::regclass AS seq)"
    " SELECT min(id), max(id) FROM"
    " (SELECT nextval(seq) AS id FROM sequence, generate_series(1, ?)) AS drawn"
)
BUSY_ERRORS = (
    errors.LockNotAvailable,
    errors.SerializationFailure,
    errors.DeadlockDetected,
    errors.QueryCanceled,
)
# What the parameter conversion steps over: quoted text and names, casts (`x::int`),
# dollar-quoted bodies and comments; then the marks it converts and the % it must double.
_TOKENS = re.compile(
    r"""(?P<skip>'(?:[^']|'')*'|"[^"]*"|::|\$\$.*?\$\$|--[^\n]*)"""
    r"""|\?(?P<number>\d*)|:(?P<name>[A-Za-z_]\w*)|(?P<percent>%)""",
    re.DOTALL,
)


class Row(tuple):
    """A row read by position (`row[0]`) or by column name (`row["email"]`, `dict(row)`), as
    sqlite3.Row is."""

    def __new__(cls, values, index: dict[str, int]):
        row = super().__new__(cls, values)
        row._index = index
        return row

    def __getitem__(self, key):
        if isinstance(key, str):
            key = self._index[key]
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._index)


def row_factory(cursor):
    """psycopg's row factory: each row of this result a `Row` with its column names."""
    names = [column.name for column in cursor.description or ()]
    index = {name: position for position, name in enumerate(names)}
    return lambda values: Row(values, index)


@lru_cache(maxsize=1024)
def driver_sql(sql: str) -> tuple[str, tuple[int, ...]]:
    """SQL with sqlite3's marks (`?`, `?NNN`, `:name`) as psycopg's `%s` and `%(name)s` (a
    literal % as %%), and which positional parameter each `%s` takes (`?2 ... ?1` reorders
    them; a bare `?` takes the one after the largest number so far, as in SQLite). Only the
    marks change: functions, quoting and everything else go to the server as written."""
    order: list[int] = []

    def mark(match: re.Match) -> str:
        if match.group("number") is not None:
            number = match.group("number")
            order.append(int(number) - 1 if number else max(order, default=-1) + 1)
            return "%s"
        if match.group("name"):
            return f"%({match.group('name')})s"
        return match.group(0).replace("%", "%%")  # psycopg reads % even inside quotes

    return _TOKENS.sub(mark, sql), tuple(order)


def driver_params(order: tuple[int, ...], params):
    """The positional parameters in the order of the marks (named ones pass as they are)."""
    if isinstance(params, dict) or list(order) == list(range(len(params))):
        return params
    return [params[index] for index in order]


class PgCursor:
    """The result of `PgConnection.execute`, read as a sqlite3 cursor is."""

    def __init__(self, cursor: psycopg.Cursor):
        self._cursor = cursor

    def fetchone(self):
        return self._cursor.fetchone() if self._cursor.description else None

    def fetchall(self) -> list:
        return self._cursor.fetchall() if self._cursor.description else []

    def fetchmany(self, size: int = 1) -> list:
        return self._cursor.fetchmany(size) if self._cursor.description else []

    def __iter__(self):
        return iter(self.fetchall())

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def description(self):
        return self._cursor.description

    @property
    def lastrowid(self) -> int:
        """The id the last INSERT took: the session's last value of an identity's sequence."""
        return self._cursor.connection.execute("SELECT lastval()").fetchone()[0]


def _run(cursor: psycopg.Cursor, sql: str, params) -> psycopg.Cursor:
    if not params:  # no parameters: the text goes as written (several statements allowed)
        return cursor.execute(sql)
    text, order = driver_sql(sql)
    return cursor.execute(text, driver_params(order, params))


class PgConnection:
    """A psycopg connection (autocommit: the store says where transactions begin and end) that
    takes sqlite3's parameter marks and carries the store's clock."""

    def __init__(self, raw: psycopg.Connection, clock: Clock, pooled: bool = False):
        self.raw = raw
        self.clock = clock
        self.pooled = pooled

    def execute(self, sql: str, params=()) -> PgCursor:
        return PgCursor(_run(self.raw.cursor(), sql, params))

    def stream(self, sql: str) -> psycopg.ServerCursor:
        """A query's rows, fetched from the server as they are read (a named cursor: the
        result is not handed over whole first). Inside a transaction, which it lives in."""
        cursor = self.raw.cursor(name="stream")
        cursor.execute(sql)
        return cursor

    def tuples(self, sql: str, params=()) -> psycopg.Cursor:
        """The rows of a query as plain tuples, to iterate (a million rows: no `Row`s)."""
        return _run(self.raw.cursor(row_factory=tuple_row), sql, params)

    def executemany(self, sql: str, rows) -> PgCursor:
        text, order = driver_sql(sql)
        cursor = self.raw.cursor()
        cursor.executemany(text, (driver_params(order, row) for row in rows))
        return PgCursor(cursor)

    @property
    def in_transaction(self) -> bool:
        return self.raw.info.transaction_status != TransactionStatus.IDLE

    def close(self) -> None:
        self.raw.close()


class HandBack:
    """Lives in a thread's locals beside its connection; dropped when the thread ends."""

    def __init__(self, store: PostgresStore, conn: PgConnection):
        self.store, self.conn = store, conn

    def __del__(self):
        try:
            self.store._hand_back(self.conn)
        except Exception:  # the pool closed, or the interpreter going down
            pass


class PostgresStore(BaseStore):
    """A PostgreSQL database (or the schema a URL's search_path names) with the CRPM schema."""

    dialect = "postgresql"
    driver_error = psycopg.Error
    read_begin = "BEGIN ISOLATION LEVEL REPEATABLE READ"
    concurrent_writes = True

    def __init__(self, url: str, clock: Clock | None = None):
        super().__init__(clock)
        self.url = url
        self._pool: ConnectionPool | None = None
        self._pool_lock = threading.Lock()

    @classmethod
    def open(cls, url: str, clock: Clock | None = None) -> PostgresStore:
        """Connect and bring the schema up to date."""
        store = cls(url, clock)
        store.migrate()
        return store

    def _options(self) -> dict:
        return {"autocommit": True, "row_factory": row_factory}

    def connect(self) -> PgConnection:
        """A new connection of its own, outside the pool; the caller owns (and closes) it."""
        return PgConnection(psycopg.connect(self.url, **self._options()), self.clock)

    def _thread_connection(self) -> PgConnection:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ConnectionPool(
                    self.url, kwargs=self._options(), min_size=1, max_size=POOL_MAX, open=True
                )
        conn = PgConnection(self._pool.getconn(), self.clock, pooled=True)
        # Gradio's worker threads come and go (anyio retires one idle for 10 s): when this
        # thread ends, its thread-local handback goes and gives the connection back.
        self._local.handback = HandBack(self, conn)
        return conn

    def _hand_back(self, conn: PgConnection) -> None:
        """A finished thread's connection back to the pool (unless close() took it already)."""
        with self._lock:
            if conn not in self._connections:
                return
            self._connections.remove(conn)
        self._release(conn)

    def _release(self, conn: PgConnection) -> None:
        if conn.pooled and self._pool is not None:
            self._pool.putconn(conn.raw)
        else:
            conn.close()

    def close(self) -> None:
        super().close()
        with self._pool_lock:
            if self._pool is not None:
                self._pool.close()
                self._pool = None

    def _begin_write(self, concurrent: bool = False) -> str:
        return f"BEGIN; SELECT {SHARED_WRITE_LOCK if concurrent else WRITE_LOCK}"

    def _run(self, conn: PgConnection, statements: str) -> None:
        """Transaction control in one round trip (several statements, no parameters)."""
        try:
            conn.execute(statements)
        except psycopg.Error as exc:
            raise _translate(exc) from None

    def _freeze(self, conn: PgConnection) -> None:
        """The write lock for the session first, then the snapshot: a snapshot taken while
        waiting for the lock would miss the write that held it."""
        self._run(conn, f"SELECT pg_advisory_lock({LOCK_KEYS})")
        self._run(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT 1")
        # The check's reports can leave the session idle for minutes: a server's idle timeout
        # would end it and so lift the freeze unseen.
        self._run(conn, "SET LOCAL idle_in_transaction_session_timeout = 0")

    def _thaw(self, conn: PgConnection) -> None:
        try:
            self._run(conn, "ROLLBACK")
        finally:
            self._run(conn, f"SELECT pg_advisory_unlock({LOCK_KEYS})")

    def _translate(self, exc: psycopg.Error) -> Exception:
        return _translate(exc)

    def _has_migrations_table(self) -> bool:
        return self.query_one("SELECT to_regclass('schema_migrations') IS NOT NULL")[0]

    def _execute_script(self, conn: PgConnection, script: str) -> None:
        conn.execute(script)  # no parameters: the whole file in one round trip

    def table_names(self, conn: PgConnection) -> set[str]:
        sql = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        return {row[0] for row in conn.execute(sql)}

    def stored_columns(self, table: str) -> list[str]:
        sql = (
            "SELECT column_name FROM information_schema.columns WHERE table_schema ="
            " current_schema() AND table_name = ? AND is_generated = 'NEVER'"
            " ORDER BY ordinal_position"
        )
        return [row[0] for row in self.query(sql, (table,))]

    def key_order(self, table: str) -> dict[str, str]:
        rows = self.query(KEY_SQL, (table,))
        return {name: f'{name} COLLATE "C"' if text else name for name, text in rows}

    def insert_rows(self, conn: PgConnection, table: str, columns: list[str], rows) -> None:
        """COPY: an order of magnitude faster than one INSERT a row."""
        with conn.raw.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def continue_ids(self, conn: PgConnection, table: str) -> None:
        """As if the copied ids had been drawn: the sequence's last value is the highest id
        (`is_called`), which the analytics sync reads as how far ids have been handed out."""
        if conn.execute("SELECT pg_get_serial_sequence(?, 'id')", (table,)).fetchone()[0]:
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id))"
                f" FROM {table} HAVING max(id) IS NOT NULL"
            )

    def gather_statistics(self, tables) -> None:
        """ANALYZE: a fresh copy has no statistics until autovacuum gets to it, and meanwhile
        its pages and searches are planned from an empty table's guesses (bench/NOTES.md, up to
        815 ms a page against 72-350 ms after). The store's tables only, not the database's."""
        self.conn.execute(f"ANALYZE {', '.join(tables)}")

    def reserve_ids(self, conn: PgConnection, table: str, count: int) -> int:
        """Drawn from the table's sequence, as the rows' defaults would, after the transaction
        has taken its id: the analytics sync's xid-first rule (migration 010,
        crpm/analytics/pgmirror.py), so no id at or below a bound a running mirror has settled
        is handed out. Not max(id): rolled-back writes leave the sequence past it. The ids are
        consecutive as writers draw them under the write lock; if one drew outside it, busy."""
        conn.execute("SELECT pg_current_xact_id()")
        first, last = conn.execute(RESERVE_IDS_SQL, (table, count)).fetchone()
        if last - first + 1 != count:
            raise StoreBusy()
        return first - 1


def _translate(exc: psycopg.Error) -> Exception:
    """A PostgreSQL error as one of ours, reading as the SQLite engine's do."""
    diag = exc.diag
    if isinstance(exc, errors.UniqueViolation):
        column = _key_column(diag.message_detail or "")
        field, reason = UNIQUE_FIELDS.get(
            f"{diag.table_name}.{column}", (column, "is already taken")
        )
        return Conflict(field, reason)
    if isinstance(exc, errors.CheckViolation):
        return ValidationError(_check_name(diag), "breaks a rule of the store")
    if isinstance(exc, errors.ForeignKeyViolation):
        return Conflict("reference", "the record is still used by other records")
    if isinstance(exc, errors.IntegrityError):
        return ValidationError("record", diag.message_primary or str(exc))
    if isinstance(exc, BUSY_ERRORS):
        return StoreBusy()
    log.error("store error: %s", exc)
    return StoreError()


def _key_column(detail: str) -> str:
    """The first column of a unique key from "Key (lower(email))=(...) already exists."."""
    match = re.match(r"Key \((.*?)\)=\(", detail)
    if not match:
        return "record"
    first = match.group(1).split(",")[0].strip()
    return re.sub(r"^lower\((.*)\)$", r"\1", first)


def _check_name(diag) -> str:
    """A CHECK's column as the SQLite engine names it: products_price_cents_check -> price_cents."""
    name = diag.constraint_name or "record"
    return name.removeprefix(f"{diag.table_name}_").removesuffix("_check")
