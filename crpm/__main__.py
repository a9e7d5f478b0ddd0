"""The CLI: python -m crpm [--db PATH_OR_URL] <command> ...

Each area adds its commands from a module in crpm/commands; a command function takes the
parsed arguments and returns an exit status. Errors a user can cause print one line and exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from crpm.commands import UsageError
from crpm.config import Settings
from crpm.errors import CRPMError

COMMAND_MODULES = [
    "crpm.commands.store",
    "crpm.commands.demo",
    "crpm.commands.report",
    "crpm.commands.data",
    "crpm.commands.backup",
    "crpm.commands.users",
    "crpm.commands.sales",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m crpm", description="CRPM command line")
    parser.add_argument(
        "--db",
        default=str(Settings.from_env().db_path),
        help="the store: a SQLite file or a postgresql:// URL (default data/crpm.db or $CRPM_DB)",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="command")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args) or 0
    except (CRPMError, UsageError) as exc:
        print(f"error: {getattr(exc, 'message', exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
