"""Backups with SQLite's online backup API, and a restore that checks the file first.

`backup` copies a live store page by page from one read snapshot, so the copy is consistent
while the app keeps writing (WAL: writers are not blocked). `restore` refuses a file that is
not a sound CRPM store of a schema this code knows, then swaps it in atomically.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from pathlib import Path

from crpm.db import Store, latest_version
from crpm.errors import ValidationError
from crpm.permissions import Actor, ensure

# backup and restore copy a SQLite file; PostgreSQL has its own tools for a consistent copy.
POSTGRES_INSTEAD = (
    "backup and restore copy a SQLite store; for PostgreSQL use its own tools:"
    " pg_dump --format=custom --file=FILE URL (a consistent copy while the app runs) and,"
    " with the app stopped, pg_restore --clean --if-exists --dbname=URL FILE"
)
PAGES_PER_STEP = -1  # the whole file in one step: one snapshot, never restarted by writers
REQUIRED_TABLES = ("schema_migrations", "customers", "products", "purchases", "stock_movements")


class BackupService:
    """Backups of the store and restores over it, for admins only: a backup holds every
    customer's details (the CLI acts as SYSTEM)."""

    def __init__(self, store: Store):
        self.store = store

    def backup(self, actor: Actor, dest: str | Path, progress=None) -> dict:
        """Copy the store to `dest` (replaced atomically). Returns what was copied."""
        ensure(actor, "admin")
        from crpm.analytics import mirrorfile  # when needed: the services load no DuckDB

        if self.store.dialect != "sqlite":
            raise ValidationError("store", POSTGRES_INSTEAD)
        source_path = self.store.path
        if not source_path.is_file():
            raise ValidationError("store", f"no store at {source_path}")
        dest = Path(dest)
        if dest.resolve() == source_path.resolve():
            raise ValidationError("file", "the backup must not overwrite the store itself")
        dest.parent.mkdir(parents=True, exist_ok=True)
        temp = _temp_beside(dest)
        try:
            with (
                _closing(sqlite3.connect(source_path, timeout=30)) as src,
                sqlite3.connect(temp) as out,
            ):
                src.backup(out, pages=PAGES_PER_STEP, progress=_pages(progress))
                out.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
                # Its own epoch: a mirror of the store is never taken for one of this file,
                # even when someone copies it back by hand.
                mirrorfile.renew_epoch(out)
            out.close()
            summary = inspect(temp)
            os.replace(temp, dest)
        finally:
            Path(temp).unlink(missing_ok=True)
        return {**summary, "file": str(dest), "at": self.store.clock.stamp()}

    def restore(self, actor: Actor, source: str | Path) -> dict:
        """Replace the store's file with the backup `source`, after checking it.

        The checked copy is written beside the store and moved over it with os.replace; the
        old store's -wal and -shm files are removed so SQLite cannot replay them onto the new
        file, and the store's connections are closed so none reads the old one. Stop the app
        (or anything else holding the store open) before restoring. The analytics mirrors kept
        beside the store are deleted and the store's epoch renewed, so none is caught up from:
        a copy of the store as it was may hold edits the backup lacks, which its ids do not show.
        """
        ensure(actor, "admin")
        from crpm.analytics import mirrorfile  # when needed: the services load no DuckDB

        summary = inspect(source)
        store_path = self.store.path
        store_path.parent.mkdir(parents=True, exist_ok=True)
        temp = _temp_beside(store_path)
        try:
            with _readonly(Path(source)) as src, sqlite3.connect(temp) as out:
                src.backup(out)
                out.execute("PRAGMA journal_mode=WAL")
            out.close()
            self.store.close()
            for suffix in ("-wal", "-shm"):
                Path(f"{store_path}{suffix}").unlink(missing_ok=True)
            os.replace(temp, store_path)
        finally:
            Path(temp).unlink(missing_ok=True)
        self.store.migrate()  # any migration the backup predates
        with self.store.write() as conn:
            mirrorfile.renew_epoch(conn)
        self.store.close()
        mirrorfile.outdate_kept(self.store)
        return {**summary, "file": str(store_path)}


def inspect(path: str | Path) -> dict:
    """Check that `path` is a sound CRPM store; returns its schema version and row counts.

    Raises ValidationError naming the problem: not SQLite, integrity or foreign-key errors,
    no CRPM schema, or a schema newer than this code.
    """
    path = Path(path)
    if not path.is_file():
        raise ValidationError("file", f"no such file: {path}")
    try:
        with _readonly(path) as conn:
            return _checked_summary(conn)
    except sqlite3.DatabaseError as exc:
        raise ValidationError("file", f"is not a usable SQLite database ({exc})") from None


def _checked_summary(conn: sqlite3.Connection) -> dict:
    problems = [row[0] for row in conn.execute("PRAGMA integrity_check") if row[0] != "ok"]
    if problems:
        raise ValidationError("file", f"fails the integrity check: {problems[0]}")
    orphans = conn.execute("PRAGMA foreign_key_check").fetchall()
    if orphans:
        raise ValidationError("file", f"has {len(orphans)} broken reference(s), e.g. {orphans[0]}")
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    missing = [name for name in REQUIRED_TABLES if name not in tables]
    if missing:
        raise ValidationError("file", f"is not a CRPM store (no {', '.join(missing)} table)")
    version = conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[0]
    if version > latest_version():
        raise ValidationError(
            "file", f"has schema version {version}, newer than this program's {latest_version()}"
        )
    counts = {
        table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for table in ("customers", "products", "purchases")
    }
    return {"schema_version": version, **counts}


def _readonly(path: Path) -> _closing:
    """A read-only connection (URI mode=ro): checking a file never changes it."""
    return _closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True))


class _closing:
    """A connection closed on exit (sqlite3's own context manager only commits)."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        return self.conn

    def __exit__(self, *exc) -> None:
        self.conn.close()


def _temp_beside(path: Path) -> str:
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    return temp


def _pages(progress):
    if progress is None:
        return None
    return lambda status, remaining, total: progress(total - remaining, total)
