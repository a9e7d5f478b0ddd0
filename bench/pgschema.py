"""The PostgreSQL side of the benchmarks: a schema of their own on the server --db names, holding
a copy of the SQLite benchmark store, made once (as `python -m crpm migrate-store` makes it) and
reused while it has rows.

`--db postgresql://postgres@127.0.0.1:5432/test` picks the benchmark's default schema; a URL
whose options already set a search_path (`?options=-csearch_path%3Dmine,extensions`) is taken
as it is.
"""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import psycopg

from crpm.clock import FixedClock, SystemClock
from crpm.db import is_postgres, open_store
from crpm.permissions import SYSTEM
from crpm.services.store_copy import copy_store

# Where pg_trgm lives, on every schema's search path (as in tests/pgserver.py).
EXTENSIONS = "extensions"


def schema_url(url: str, schema: str) -> str:
    """`url` with its search_path set to `schema` (then EXTENSIONS), unless it sets one."""
    if schema_of(url):
        return url
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options=-csearch_path%3D{schema},{EXTENSIONS}"


def schema_of(url: str) -> str | None:
    """The first schema of the search_path a URL's options set, if any."""
    for options in parse_qs(urlsplit(url).query).get("options", []):
        for option in unquote(options).split():
            if option.startswith("-csearch_path="):
                return option.removeprefix("-csearch_path=").split(",")[0].strip()
    return None


def server_url(url: str) -> str:
    """The URL without its query: the database, on the default schema."""
    return url.split("?", 1)[0]


def create_schema(url: str) -> None:
    with psycopg.connect(server_url(url), autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA IF NOT EXISTS {EXTENSIONS}")
        admin.execute(f"CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA {EXTENSIONS}")
        admin.execute(f"CREATE SCHEMA IF NOT EXISTS {schema_of(url)}")


def pg_copy_of(url: str, schema: str, sqlite_path: Path) -> str:
    """The URL of a PostgreSQL schema holding the SQLite store at `sqlite_path`: copied there
    (every table, then the check that every report agrees) unless it has purchases already."""
    url = schema_url(url, schema)
    create_schema(url)
    target = open_store(url)
    try:
        if target.query_one("SELECT count(*) FROM purchases")[0]:
            return url
        target.close()
        print(f"copying {sqlite_path.name} into schema {schema_of(url)} (migrate-store)")
        started = time.perf_counter()
        clock = FixedClock(SystemClock().current())  # both stores' reports see one moment
        source, target = open_store(sqlite_path, clock), open_store(url, clock)
        report = copy_store(SYSTEM, source, target)
        source.close()
        assert report.ok, report.problems
        print(f"  copied {report.rows.get('purchase_lines', 0):,} purchase lines in "
              f"{time.perf_counter() - started:.0f} s (copy and the reports' check)")  # fmt: skip
    finally:
        target.close()
    return url


def engine_name(location) -> str:
    return "postgresql" if is_postgres(location) else "sqlite"
