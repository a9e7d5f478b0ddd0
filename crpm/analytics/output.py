"""The reports as people and programs get them: the one formatter behind the CLI's table, CSV
and JSON, the API's JSON, the dashboard's CSV downloads and its tables.

A report's DataFrame keeps money as integer cents in `*_cents` columns and times as timestamps.
Given out, a money column loses the suffix and is written by `money` (by default decimal text,
"2328.60"; the CLI's table and the dashboard pass their own), a time is stored text
("2024-03-01 10:00:00"), a period its day ("2024-03-01"), and a missing value None.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from crpm.models import cents_to_decimal_text

Money = Callable[[int], str]


def public_column(values: pd.Series, name: str, money: Money = cents_to_decimal_text) -> pd.Series:
    """One column of a report as it is given out (its name is `public_name(name)`)."""
    if name.endswith("_cents"):
        return values.map(lambda cents: None if pd.isna(cents) else money(int(cents)))
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.strftime("%Y-%m-%d" if name == "period" else "%Y-%m-%d %H:%M:%S")
    return values


def public_name(name: str) -> str:
    return name.removesuffix("_cents")


def public_frame(frame: pd.DataFrame, money: Money = cents_to_decimal_text) -> pd.DataFrame:
    """Every column given out, under its public name: for CSV."""
    return pd.DataFrame(
        {public_name(name): public_column(frame[name], name, money) for name in frame.columns}
    )


def public_records(frame: pd.DataFrame, money: Money = cents_to_decimal_text) -> list[dict]:
    """The rows given out as plain JSON-ready dicts: Python numbers, text, booleans, None."""
    shown = public_frame(frame, money).astype(object)
    return shown.where(shown.notna(), None).to_dict("records")


def public_record(record: dict, money: Money = cents_to_decimal_text) -> dict:
    """One row (a dict of figures) given out, like a row of `public_records`."""
    return public_records(pd.DataFrame([record]), money)[0]


def summary_record(summary) -> dict:
    """A `SalesSummary` given out: the range and every figure."""
    return public_record(summary.to_dict())
