"""backup and restore: a consistent copy of a live store, and a checked swap back."""

from __future__ import annotations

from crpm.commands import open_existing
from crpm.permissions import SYSTEM


def register(subparsers) -> None:
    backup = subparsers.add_parser("backup", help="copy the store (safe while the app runs)")
    backup.add_argument("file")
    backup.set_defaults(handler=run_backup)
    restore = subparsers.add_parser(
        "restore", help="check a backup, then replace the store with it (stop the app first)"
    )
    restore.add_argument("file")
    restore.set_defaults(handler=run_restore)


def run_backup(args) -> int:
    from crpm.backup import backup

    store = open_existing(args.db)
    result = backup(store, args.file, SYSTEM)
    print(f"backup written to {result['file']}: {_describe(result)}")
    return 0


def run_restore(args) -> int:
    from crpm.backup import restore

    result = restore(args.file, args.db, SYSTEM)
    print(f"{args.db} restored from {args.file}: {_describe(result)}")
    return 0


def _describe(result: dict) -> str:
    return (
        f"schema version {result['schema_version']}, {result['customers']:,} customers, "
        f"{result['products']:,} products, {result['purchases']:,} purchases"
    )
