"""CLI commands, one module per area. Each module has `register(subparsers)`."""

from __future__ import annotations

from pathlib import Path


class UsageError(Exception):
    """A bad argument or a missing file: one line on stderr and exit status 2."""


def open_existing(location: str, clock=None):
    """Open a store that must already exist (reports and exports never create a SQLite file; a
    PostgreSQL database is created by its server, and opening it brings its schema up to date)."""
    from crpm.db import SQLITE_SCHEME, is_postgres, open_store

    path = location.removeprefix(SQLITE_SCHEME)
    if not is_postgres(location) and not Path(path).is_file():
        raise UsageError(f"no store at {path}")
    return open_store(location, clock)
