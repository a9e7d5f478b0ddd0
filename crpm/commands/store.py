"""Store housekeeping: create or migrate, check integrity."""

from __future__ import annotations

from crpm.commands import open_existing
from crpm.db import Store, latest_version
from crpm.services.stock import ledger_mismatches


def register(subparsers) -> None:
    init = subparsers.add_parser("init", help="create the store or apply missing migrations")
    init.set_defaults(handler=run_init)
    check = subparsers.add_parser("check", help="integrity, foreign keys and the stock ledger")
    check.set_defaults(handler=run_check)


def run_init(args) -> int:
    store = Store.open(args.db)
    print(f"{args.db}: schema version {store.schema_version()} (latest {latest_version()})")
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
