"""Store housekeeping: create or migrate, check integrity, move a shop to another store."""

from __future__ import annotations

from crpm.commands import open_existing
from crpm.db import latest_version, open_store
from crpm.services.stock import ledger_mismatches


def register(subparsers) -> None:
    init = subparsers.add_parser("init", help="create the store or apply missing migrations")
    init.set_defaults(handler=run_init)
    check = subparsers.add_parser("check", help="integrity, foreign keys and the stock ledger")
    check.set_defaults(handler=run_check)
    move = subparsers.add_parser(
        "migrate-store",
        help="copy a shop into an empty store (SQLite <-> PostgreSQL) and check every report",
        description="Copies every table with its history and ids from --from into the empty"
        " store --to (created or migrated first), then checks that every table holds the same"
        " rows with the same values, the stock ledger matches and every report agrees to the"
        " cent. Logins in progress are not copied: people log in again on the new store."
        " Stop the app first: the copy holds the source's write lock until the check is done,"
        " so the app's writes wait meanwhile (on SQLite for 30 s, then they fail as busy), and"
        " whatever the app writes to the old store after the copy is not in the new one.",
    )
    move.add_argument("--from", dest="source", required=True, metavar="PATH_OR_URL")
    move.add_argument("--to", dest="target", required=True, metavar="PATH_OR_URL")
    move.set_defaults(handler=run_migrate_store)


def run_init(args) -> int:
    store = open_store(args.db)
    latest = latest_version(store.dialect)
    print(f"{args.db}: schema version {store.schema_version()} (latest {latest})")
    return 0


def run_check(args) -> int:
    store = open_existing(args.db)
    problems = store.check_integrity()
    problems += [
        f"product #{product_id}: stock {stock} but movements sum to {moved}"
        for product_id, stock, moved in ledger_mismatches(store.conn)
    ]
    for problem in problems:
        print(problem)
    print("ok" if not problems else f"{len(problems)} problem(s)")
    return 0 if not problems else 1


def run_migrate_store(args) -> int:
    from crpm.clock import FixedClock, SystemClock
    from crpm.db import shown_location
    from crpm.permissions import SYSTEM
    from crpm.services.store_copy import copy_store

    clock = FixedClock(SystemClock().current())  # both stores' reports see the same moment
    source = open_existing(args.source, clock)
    target = open_store(args.target, clock)
    try:
        report = copy_store(SYSTEM, source, target)
    finally:
        source.close()
        target.close()
    for table, rows in report.rows.items():
        print(f"{table:<20} {rows:>12,}")
    for problem in report.problems:
        print(f"problem: {problem}")
    if not report.ok:
        return 1
    print(f"copied to {shown_location(args.target)}: every table, the ledger and the reports agree")
    return 0
