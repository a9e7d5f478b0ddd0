"""Turning analytics results into what the page and the API show: date ranges, figure cards,
display tables with money formatted, CSV-ready tables and JSON records."""

from __future__ import annotations

import html
from datetime import date, datetime, timedelta

import pandas as pd

from crpm.models import cents_to_decimal_text
from crpm.ui.common import UIContext, day_after, day_start

PRESETS = ["Last 7 days", "Last 30 days", "This year", "All time", "Custom"]
GRAINS = [("Automatic", "auto"), ("Day", "day"), ("Week", "week"), ("Month", "month")]


def preset_range(preset, today: date, date_from=None, date_to=None):
    """A preset (or the custom days) as a [from, to) pair of UTC texts; None is open-ended.
    `today` is the store clock's day."""
    tomorrow = _text(today + timedelta(days=1))
    if preset == "Last 7 days":
        return _text(today - timedelta(days=6)), tomorrow
    if preset == "Last 30 days":
        return _text(today - timedelta(days=29)), tomorrow
    if preset == "This year":
        return _text(date(today.year, 1, 1)), tomorrow
    if preset == "All time":
        return None, None
    return day_start(date_from, "from"), day_after(date_to, "to")


def _text(day: date) -> str:
    return f"{day.isoformat()} 00:00:00"


def auto_grain(date_from: str | None, date_to: str | None, now: datetime, grain="auto") -> str:
    """Days for a month or so, weeks up to about a year, months beyond; an open end is `now`."""
    if grain in ("day", "week", "month"):
        return grain
    if not date_from:
        return "month"
    end = datetime.fromisoformat(date_to) if date_to else now
    days = (end - datetime.fromisoformat(date_from)).days
    return "day" if days <= 45 else "week" if days <= 400 else "month"


def describe_range(date_from: str | None, date_to: str | None) -> str:
    if not date_from and not date_to:
        return "All time"
    first = date_from[:10] if date_from else "the beginning"
    last = (
        (datetime.fromisoformat(date_to) - timedelta(seconds=1)).date().isoformat()
        if date_to
        else "now"
    )
    return f"{first} to {last} (UTC days, both included)"


def figure_cards(cards: list[tuple[str, str, str, bool]]) -> str:
    """Key figures as HTML cards: (label, value, note, warn)."""
    items = "".join(
        f"<div class='crpm-figure{' warn' if warn else ''}'>"
        f"<div class='label'>{html.escape(label)}</div>"
        f"<div class='value'>{html.escape(value)}</div>"
        f"<div class='note'>{html.escape(note)}</div></div>"
        for label, value, note, warn in cards
    )
    return f"<div class='crpm-figures'>{items}</div>"


def summary_cards(ctx: UIContext, summary, extra: list | None = None) -> str:
    return figure_cards(
        [
            ("Revenue", ctx.money(summary.revenue_cents), "gross sales minus returns", False),
            ("Orders", f"{summary.orders:,}", "purchases not cancelled", False),
            ("Units sold", f"{summary.units_sold:,}", "minus units returned", False),
            (
                "Average order",
                ctx.money(summary.average_order_value_cents),
                "revenue / orders",
                False,
            ),
            ("Gross sales", ctx.money(summary.gross_sales_cents), "before returns", False),
            ("Returns", ctx.money(summary.returns_cents), "at the time of the return", False),
            ("Active customers", f"{summary.active_customers:,}", "bought in the range", False),
            ("New customers", f"{summary.new_customers:,}", "first purchase in the range", False),
            *(extra or []),
        ]
    )


def summary_record(summary) -> dict:
    """The summary as JSON: money as decimal text (like the CLI prints it), counts as ints."""
    return {
        key.removesuffix("_cents"): cents_to_decimal_text(value)
        if key.endswith("_cents")
        else value
        for key, value in summary.to_dict().items()
    }


def present(ctx: UIContext, frame: pd.DataFrame, headings: dict[str, str]) -> pd.DataFrame:
    """The chosen columns under readable headings, money with the currency symbol."""
    shown = pd.DataFrame(
        {heading: _column(frame[column], column, ctx.money) for column, heading in headings.items()}
    )
    return shown if len(frame) else pd.DataFrame(columns=list(headings.values()))


def exportable(frame: pd.DataFrame) -> pd.DataFrame:
    """Every column, money as decimal text under its name without _cents: for CSV and JSON."""
    return pd.DataFrame(
        {
            column.removesuffix("_cents"): _column(frame[column], column, cents_to_decimal_text)
            for column in frame.columns
        }
    )


def records(frame: pd.DataFrame) -> list[dict]:
    return exportable(frame).astype(object).where(lambda f: f.notna(), None).to_dict("records")


def _column(values: pd.Series, name: str, money) -> pd.Series:
    if name.endswith("_cents"):
        return values.map(lambda cents: money(int(cents)))
    if pd.api.types.is_datetime64_any_dtype(values):
        shape = "%Y-%m-%d" if name == "period" else "%Y-%m-%d %H:%M:%S"
        return values.dt.strftime(shape).fillna("")
    if pd.api.types.is_float_dtype(values):
        return values.round(1)
    return values
