"""Analytics results as the dashboard shows them: figure cards and tables under readable headings,
money with the currency symbol. Ranges and presets are crpm.analytics.periods'; the records the
API and the CSV downloads give out are crpm.analytics.output's."""

from __future__ import annotations

import html

import pandas as pd

from crpm.analytics.output import public_column
from crpm.ui.common import UIContext

GRAINS = [("Automatic", "auto"), ("Day", "day"), ("Week", "week"), ("Month", "month")]


def figure_cards(cards: list[tuple[str, str, str, bool]]) -> str:
    """Key figures as HTML cards: (label, value, note, warn)."""
    items = "".join(
        f"<div class='crpm-figure{' warn' if warn else ''}'>"
        f"<div class='label'>{html.escape(label)}</div>"
        f"<div class='value' style='--chars: {len(value)}'>{html.escape(value)}</div>"
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


def present(ctx: UIContext, frame: pd.DataFrame, headings: dict[str, str]) -> pd.DataFrame:
    """The chosen columns under readable headings, money the shop's way, times on its clock
    (a trend's periods are already the shop's days)."""
    if not len(frame):
        return pd.DataFrame(columns=list(headings.values()))
    shop = ctx.shop
    return pd.DataFrame(
        {
            heading: public_column(on_clock(frame[column], column, shop.zone), column, shop.money)
            for column, heading in headings.items()
        }
    )


def on_clock(values: pd.Series, name: str, zone: str) -> pd.Series:
    """A column of UTC times as the shop's wall-clock times; other columns as they are."""
    if name == "period" or not pd.api.types.is_datetime64_any_dtype(values):
        return values
    return values.dt.tz_localize("UTC").dt.tz_convert(zone).dt.tz_localize(None)
