"""backup and restore: a consistent copy of a live store, and a checked swap back."""

from __future__ import annotations

from crpm.commands import UsageError, open_existing
from crpm.db import SQLITE_SCHEME, is_postgres
from crpm.permissions import SYSTEM
from crpm.services.backup import POSTGRES_INSTEAD


def register(subparsers) -> None:
    backup = subparsers.add_parser("backup", help="copy the store (safe while the app runs)")
    backup.add_argument("file")
    backup.set_defaults(handler=run_backup)
    restore = subparsers.add_parser(
        "restore", help="check a backup, then replace the store with it (stop the app first)"
    )
    restore.add_argument("file")
    restore.set_defaults(handler=run_restore)


def sqlite_file(location: str) -> str:
    """The SQLite file a --db names; a PostgreSQL URL is refused with what to use instead."""
    if is_postgres(location):
        raise UsageError(POSTGRES_INSTEAD)
    return location.removeprefix(SQLITE_SCHEME)


def run_backup(args) -> int:
    from crpm.services.backup import BackupService

    result = BackupService(open_existing(sqlite_file(args.db))).backup(SYSTEM, args.file)
    print(f"backup written to {result['file']}: {_describe(result)}")
    return 0


def run_restore(args) -> int:
    from crpm.db import Store
    from crpm.services.backup import BackupService

    result = BackupService(Store(sqlite_file(args.db))).restore(SYSTEM, args.file)
    print(f"{args.db} restored from {args.file}: {_describe(result)}")
    return 0


def _describe(result: dict) -> str:
    return (
        f"schema version {result['schema_version']}, {result['customers']:,} customers, "
        f"{result['products']:,} products, {result['purchases']:,} purchases"
    )
