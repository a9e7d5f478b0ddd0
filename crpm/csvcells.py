"""Cells a spreadsheet would run as a formula, made inert on export and restored on import.

Anyone can register, so a customer name like `=HYPERLINK(...)` must not become a live formula
when staff open an export in Excel. An exported text cell that starts with one of the trigger
characters (after any leading apostrophes) gets one more apostrophe in front, which spreadsheets
show as text; the importer removes exactly that one, so export then import gives the value back.
Plain numbers such as `-15.00` are left alone.
"""

from __future__ import annotations

import re

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
NUMBER_RE = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")


def _needs_quote(text: str) -> bool:
    return text.lstrip("'").startswith(TRIGGERS) and not NUMBER_RE.match(text)


def protect(value):
    """The value as it should stand in an exported CSV cell."""
    if isinstance(value, str) and value[:1] in ("'", *TRIGGERS) and _needs_quote(value):
        return "'" + value
    return value


def unprotect(text: str) -> str:
    """An imported CSV cell as the value it was before `protect`."""
    if text[:1] == "'" and _needs_quote(text[1:]):
        return text[1:]
    return text
