"""The local PostgreSQL server the tests use: a fresh schema per test, dropped after it.

The server is $CRPM_TEST_PG (default: this machine's, trust auth, database `test`). Where no
server answers, a test that needs one fails when $CI is set (it must run there) and is skipped
elsewhere, with a message naming the server.
"""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager

import psycopg
import pytest

SERVER = os.environ.get("CRPM_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
# The database's extensions live here, on every test schema's search path: an extension is one
# per database, so a test that created it in its own schema would drop it with that schema.
EXTENSIONS = "extensions"


def _admin_connection() -> psycopg.Connection:
    try:
        return psycopg.connect(SERVER, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        message = f"no PostgreSQL server answers at {SERVER} ({str(exc).strip()})"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@contextmanager
def fresh_schema():
    """The URL of a new, empty schema on the server (its search_path, then EXTENSIONS'),
    dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex}"
    with _admin_connection() as admin:
        _create_extensions(admin)
        admin.execute(f"CREATE SCHEMA {schema}")
        try:
            joiner = "&" if "?" in SERVER else "?"
            yield f"{SERVER}{joiner}options=-csearch_path%3D{schema},{EXTENSIONS}"
        finally:
            drop(admin, schema)


# Sessions still holding a lock on the schema's tables (an app launched for the whole test
# session outlives a module's schema; a mirror's scanner may sit in a transaction).
HOLDERS = """
SELECT DISTINCT l.pid FROM pg_locks l
JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND l.pid <> pg_backend_pid()
"""


def drop(admin: psycopg.Connection, schema: str) -> None:
    """Drop the schema; whoever still holds a lock on it is disconnected first."""
    admin.execute("SET lock_timeout = '5s'")
    try:
        admin.execute(f"DROP SCHEMA {schema} CASCADE")
    except psycopg.errors.LockNotAvailable:
        for (pid,) in admin.execute(HOLDERS, (schema,)).fetchall():
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        admin.execute(f"DROP SCHEMA {schema} CASCADE")


def _create_extensions(admin: psycopg.Connection) -> None:
    """The extensions the migrations ask for, made once in EXTENSIONS (a test running beside
    this one may be making them too: whoever loses that race finds them made)."""
    try:
        admin.execute(f"CREATE SCHEMA IF NOT EXISTS {EXTENSIONS}")
        admin.execute(f"CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA {EXTENSIONS}")
    except (psycopg.errors.UniqueViolation, psycopg.errors.DuplicateObject):
        pass
