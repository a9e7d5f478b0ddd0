"""Reading a CSV file row by row, as people save them (Excel BOM, , ; or tab, CRLF, quotes)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

from crpm.csvcells import unprotect
from crpm.errors import ValidationError

DELIMITERS = (",", ";", "\t")
# Bounds on what one file may ask of the check: the widest file we write has 13 columns.
MAX_COLUMNS = 200
MAX_HEADER_CHARS = 2**20
MAX_FIELD_CHARS = csv.field_size_limit()  # 131,072: the csv module's own limit


def sniff_delimiter(header_line: str) -> str:
    """The separator of a file from its header line: the most frequent of , ; and tab."""
    counts = {delimiter: header_line.count(delimiter) for delimiter in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def header_name(text: str) -> str:
    return re.sub(r"\s+", "_", text.strip().lower())


class CsvSource:
    """A CSV file read row by row: Excel's BOM, , ; or tab, CRLF, quoted commas and newlines.

    Yields (line, {column: text}) where `line` is the physical line the record starts on.
    """

    def __init__(self, path):
        self.path = Path(path)
        if not self.path.is_file():
            raise ValidationError("file", f"no such file: {path}")
        self.size = self.path.stat().st_size

    @contextmanager
    def open(self):
        """The raw file (for progress by bytes) and its text, with the header line read."""
        with open(self.path, "rb") as raw:
            peek = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
            first = peek.readline(MAX_HEADER_CHARS + 1)
            peek.detach()  # leaves `raw` open
            if len(first) > MAX_HEADER_CHARS:
                raise ValidationError(
                    "header",
                    f"the first line of {self.path.name} is longer than"
                    f" {MAX_HEADER_CHARS:,} characters",
                )
            raw.seek(0)  # csv reads the header again: the wrapper above read ahead
            yield raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline=""), first

    def rows(self, columns_seen: Callable[[list[str]], None], position: Callable[[int], None]):
        try:
            yield from self._rows(columns_seen, position)
        except UnicodeDecodeError:
            # the text layer decodes ahead in blocks, so the line is not known exactly
            raise ValidationError(
                "file", "is not UTF-8 text (in Excel: Save As > 'CSV UTF-8')"
            ) from None

    def _rows(self, columns_seen, position):
        with self.open() as (raw, text, first):
            if not first.strip():
                raise ValidationError("file", "is empty: the first line must name the columns")
            reader = csv.reader(text, delimiter=sniff_delimiter(first))
            try:
                yield from self._records(reader, columns_seen, position, raw)
            except csv.Error as exc:
                raise ValidationError("file", self._csv_error(reader.line_num, exc)) from None
            position(self.size)

    def _records(self, reader, columns_seen, position, raw):
        header = [header_name(name) for name in next(reader)]
        columns_seen(header)
        width = len(header)
        previous_end = reader.line_num
        for number, values in enumerate(reader):
            line, previous_end = previous_end + 1, reader.line_num
            if len(values) != width:
                values = _fit(values, width)
                if values is None:
                    continue
                if isinstance(values, ValueError):
                    yield line, values
                    continue
            yield line, dict(zip(header, map(unprotect, values), strict=True))
            if not number & 4095:
                position(raw.tell())

    def _csv_error(self, line: int, exc: csv.Error) -> str:
        reason = str(exc)
        if "field larger than field limit" in reason:
            reason = f"a field is longer than {MAX_FIELD_CHARS:,} characters"
        return f"{self.path.name} line {line}: {reason}"


def _fit(values: list[str], width: int) -> list[str] | ValueError | None:
    """A row of another width than the header: None for a blank line, padded when short
    (trailing empty cells left out), an error when it has more non-empty fields."""
    if not values or values == [""]:
        return None
    if len(values) > width and any(value.strip() for value in values[width:]):
        return ValueError(f"has {len(values)} fields, the header {width}")
    return (values + [""] * width)[:width]
