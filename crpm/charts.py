"""Charts for the analytics page: pure functions from the engine's DataFrames to Altair charts.

Every chart has a fixed width (Gradio's gr.Plot needs one), money shown in currency units with
two decimals, readable axis titles and tooltips. Empty data gives a valid chart with no marks.
Nothing here fetches anything: the chart is a Vega-Lite spec the browser renders.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

WIDTH = 640
HEIGHT = 280
MONEY_FORMAT = ",.2f"
# Units are whole: without this an all-zero axis (least sellers) reads 0.000000.
UNITS_AXIS = alt.Axis(format=",d", tickMinStep=1)


def _money(frame: pd.DataFrame, column: str = "revenue_cents") -> pd.DataFrame:
    """A copy with the cents column also as currency units (a float only for drawing)."""
    frame = frame.copy()
    frame["revenue"] = frame[column].astype("int64") / 100
    return frame


def _sized(chart: alt.Chart, title: str, height: int = HEIGHT) -> alt.Chart:
    return chart.properties(width=WIDTH, height=height, title=title)


def revenue_trend(trend: pd.DataFrame, title: str = "Revenue over time") -> alt.Chart:
    """Line of revenue per period (from Analytics.trend); one line per product if per product."""
    frame = _money(trend)
    tooltip = [
        alt.Tooltip("period:T", title="Period"),
        alt.Tooltip("revenue:Q", title="Revenue", format=MONEY_FORMAT),
        alt.Tooltip("units:Q", title="Units"),
    ]
    encoding = {
        "x": alt.X("period:T", title="Period"),
        "y": alt.Y("revenue:Q", title="Revenue", axis=alt.Axis(format=MONEY_FORMAT)),
        "tooltip": tooltip,
    }
    if "sku" in frame.columns:
        encoding["color"] = alt.Color("sku:N", title="Product")
        tooltip.insert(0, alt.Tooltip("name:N", title="Product"))
    return _sized(alt.Chart(frame).mark_line(point=True).encode(**encoding), title)


def _product_bars(products: pd.DataFrame, title: str, ascending: bool) -> alt.Chart:
    frame = _money(products)
    order = "ascending" if ascending else "descending"
    chart = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("units_sold:Q", title="Units sold", axis=UNITS_AXIS),
            y=alt.Y("name:N", title="Product", sort=alt.SortField("units_sold", order=order)),
            tooltip=[
                alt.Tooltip("sku:N", title="SKU"),
                alt.Tooltip("name:N", title="Product"),
                alt.Tooltip("category:N", title="Category"),
                alt.Tooltip("units_sold:Q", title="Units sold"),
                alt.Tooltip("revenue:Q", title="Revenue", format=MONEY_FORMAT),
            ],
        )
    )
    return _sized(chart, title)


def best_sellers(products: pd.DataFrame) -> alt.Chart:
    return _product_bars(products, "Best sellers", ascending=False)


def least_sellers(products: pd.DataFrame) -> alt.Chart:
    return _product_bars(products, "Least sellers", ascending=True)


def top_customers(customers: pd.DataFrame) -> alt.Chart:
    frame = _money(customers)
    chart = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("revenue:Q", title="Revenue", axis=alt.Axis(format=MONEY_FORMAT)),
            y=alt.Y("name:N", title="Customer", sort=alt.SortField("revenue", order="descending")),
            tooltip=[
                alt.Tooltip("name:N", title="Customer"),
                alt.Tooltip("email:N", title="E-mail"),
                alt.Tooltip("orders:Q", title="Orders"),
                alt.Tooltip("units:Q", title="Units"),
                alt.Tooltip("revenue:Q", title="Revenue", format=MONEY_FORMAT),
            ],
        )
    )
    return _sized(chart, "Top customers")


def category_share(categories: pd.DataFrame) -> alt.Chart:
    """Each category's share of revenue (from product_performance()['by_category'])."""
    frame = _money(categories)
    chart = (
        alt.Chart(frame)
        .mark_arc()
        .encode(
            theta=alt.Theta("revenue:Q", title="Revenue"),
            color=alt.Color("category:N", title="Category"),
            tooltip=[
                alt.Tooltip("category:N", title="Category"),
                alt.Tooltip("revenue:Q", title="Revenue", format=MONEY_FORMAT),
                alt.Tooltip("units_sold:Q", title="Units sold"),
            ],
        )
    )
    return _sized(chart, "Revenue by category")


def rfm_segments(segments: pd.DataFrame) -> alt.Chart:
    """Customers per RFM segment (from rfm()['segments']), with the segment's revenue."""
    frame = _money(segments)
    chart = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("segment:N", title="Segment", sort=None),
            y=alt.Y("customers:Q", title="Customers"),
            tooltip=[
                alt.Tooltip("segment:N", title="Segment"),
                alt.Tooltip("customers:Q", title="Customers"),
                alt.Tooltip("revenue:Q", title="Revenue", format=MONEY_FORMAT),
            ],
        )
    )
    return _sized(chart, "Customers by RFM segment")
