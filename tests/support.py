"""Helpers the tests share (fixtures live in conftest.py; import these from here).

Importing from `conftest` is ambiguous once several conftest.py files are loaded: the name
resolves to whichever came first.
"""

from __future__ import annotations

from crpm.config import Settings
from crpm.permissions import Actor
from crpm.services.passwords import PasswordHasher
from crpm.services.stock import ledger_mismatches

# The moment every test runs at unless it says otherwise: no test reads the calendar.
TODAY = "2026-06-15 10:00:00"
# Tests marked `any_day` run at each of these: the guard that results do not hang on the day.
DAYS = {
    "mid-june": TODAY,
    "leap-day": "2028-02-29 12:00:00",
    "new-years-eve-late": "2026-12-31 23:30:00",
    "two-years-ahead": "2028-11-30 08:00:00",
}

STAFF = Actor(username="clerk", role="staff")


def env_hasher() -> PasswordHasher:
    """The password hasher at the cost CRPM_SCRYPT_N asks for (tests set it low)."""
    return PasswordHasher(n=Settings.from_env().scrypt_n)


def assert_invariants(store) -> None:
    """Stock equals the ledger for every product; SQLite's own checks are clean."""
    assert ledger_mismatches(store.conn) == []
    assert store.check_integrity() == []
    orphans = store.query(
        "SELECT id FROM purchases pu WHERE NOT EXISTS"
        " (SELECT 1 FROM purchase_lines l WHERE l.purchase_id = pu.id)"
    )
    assert [row[0] for row in orphans] == []


def store_snapshot(store, leave_out: tuple[str, ...] = ()) -> dict:
    """Every row of every ordinary table (FTS shadow tables included) but those left out, for
    before/after checks."""
    tables = [
        row[0]
        for row in store.query(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name"
        )
        if row[0] not in leave_out
    ]
    return {
        table: [tuple(row) for row in store.query(f'SELECT * FROM "{table}"')] for table in tables
    }
