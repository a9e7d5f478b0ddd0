"""CLI commands, one module per area. Each module has `register(subparsers)`."""

from __future__ import annotations

from pathlib import Path


class UsageError(Exception):
    """A bad argument or a missing file: one line on stderr and exit status 2."""


def open_existing(path: str):
    """Open a store that must already exist (reports and exports never create one)."""
    from crpm.db import Store

    if not Path(path).is_file():
        raise UsageError(f"no store at {path}")
    return Store.open(path)
