"""Charts for the analytics page: pure functions from the engine's DataFrames to Altair charts.

Every chart has a fixed width (Gradio's gr.Plot needs one), money shown in currency units with
two decimals, readable axis titles and tooltips. Counts (units, customers) sit on whole-number
axes that start at zero. A chart with nothing to draw says so ("No sales in this range")
instead of showing empty axes. Nothing here fetches anything: the chart is a Vega-Lite spec
the browser renders (`spec`).
"""

from __future__ import annotations

from itertools import count

import altair as alt
import pandas as pd

WIDTH = 640
HEIGHT = 280
MESSAGE_HEIGHT = 120
MONEY_FORMAT = ",.2f"
COUNT_FORMAT = ",d"
MOST_TICKS = 8
NO_SALES = "No sales in this range"
NO_PRODUCTS = "No active products"
# The Vega-Lite that Gradio's browser code bundles (5.23.0 in Gradio 6.31; the test reads it from
# the installed package). Altair writes its own version (v6) into a spec, and vega-embed then
# logs "The input spec uses Vega-Lite v6..., but the current version is v5" for every chart.
VEGA_LITE_VERSION = "5.23.0"
VEGA_LITE_SCHEMA = f"https://vega.github.io/schema/vega-lite/v{VEGA_LITE_VERSION}.json"


def spec(chart: alt.TopLevelMixin) -> dict:
    """The chart as the Vega-Lite spec Gradio draws: the schema of the Vega-Lite it bundles,
    and drawn as SVG, so that labels and messages are text in the page (a screen reader, a
    search and a test can read them), not pixels on a canvas."""
    drawn = chart.to_dict(validate=False)  # tests validate every chart; 4 ms each here
    drawn["$schema"] = VEGA_LITE_SCHEMA
    drawn["usermeta"] = {"embedOptions": {"renderer": "svg"}}
    return drawn


def message(text: str, title: str) -> alt.Chart:
    """A chart that only says `text` (why there is nothing to draw), under the chart's title."""
    chart = (
        alt.Chart(pd.DataFrame({"message": [text]}))
        .mark_text(fontSize=15, color="#6b7280")
        .encode(text="message:N")
        .properties(width=WIDTH, height=MESSAGE_HEIGHT, title=title)
    )
    return chart.configure_view(strokeWidth=0)


def whole_ticks(largest) -> list[int]:
    """Whole-number ticks from 0 up past `largest` (at least to 1), a 1, 2 or 5 step apart and
    at most MOST_TICKS + 1 of them. Vega's own ticks on a short axis are fractions (0, 0.05 ...
    1), which a whole-number format prints as "0 0 0 ... 1 1 1"; Vega-Lite's tickMinStep does
    not stop that in the version Gradio bundles."""
    largest = max(int(largest), 1)
    step = next(
        size
        for size in (unit * 10**power for power in count() for unit in (1, 2, 5))
        if largest <= size * MOST_TICKS
    )
    top = -(-largest // step) * step
    return list(range(0, top + 1, step))


def count_scale(values: pd.Series) -> dict:
    """The axis and scale of a count channel: whole numbers from zero to the largest value."""
    ticks = whole_ticks(values.max() if len(values) else 0)
    return {
        "scale": alt.Scale(domain=[0, ticks[-1]], nice=False),
        "axis": alt.Axis(values=ticks, format=COUNT_FORMAT),
    }


def period_axis(periods: pd.Series) -> alt.Axis:
    """A label on the periods themselves (thinned to at most MOST_TICKS + 1 of them), never
    between two: Vega's own ticks on a week of days add "12 PM" between the days."""
    days = pd.Series(periods.dt.normalize().unique()).sort_values()
    monthly = len(days) > 1 and days.diff().min() >= pd.Timedelta(days=28)
    every = -(-len(days) // (MOST_TICKS + 1))
    values = [alt.DateTime(year=d.year, month=d.month, date=d.day) for d in days[::every]]
    return alt.Axis(values=values, format="%b %Y" if monthly else "%b %d")


def distinct_labels(names: pd.Series, keys: pd.Series) -> pd.Series:
    """Names to label bars with; a name shared by several rows gets its key, so that two
    products or customers of the same name stay two bars."""
    names = names.fillna("").astype(str)
    shared = names.duplicated(keep=False)
    return names.where(~shared, names + " (" + keys.astype(str) + ")")


def _money(frame: pd.DataFrame, column: str = "revenue_cents") -> pd.DataFrame:
    """A copy with the cents column also as currency units (a float only for drawing)."""
    frame = frame.copy()
    frame["revenue"] = frame[column].astype("int64") / 100
    return frame


def _sized(chart: alt.TopLevelMixin, title: str, height: int = HEIGHT) -> alt.TopLevelMixin:
    return chart.properties(width=WIDTH, height=height, title=title)


def revenue_trend(trend: pd.DataFrame, title: str = "Revenue over time") -> alt.Chart:
    """Line of revenue per period (from Analytics.trend); one line per product if per product.
    A trend of zeros (the engine fills every period of the range) means nothing was sold."""
    if not len(trend) or not (trend["revenue_cents"].any() or trend["units"].any()):
        return message(NO_SALES, title)
    frame = _money(trend)
    tooltip = [
        alt.Tooltip("period:T", title="Period"),
        alt.Tooltip("revenue:Q", title="Revenue", format=MONEY_FORMAT),
        alt.Tooltip("units:Q", title="Units", format=COUNT_FORMAT),
    ]
    encoding = {
        "x": alt.X("period:T", title="Period", axis=period_axis(frame["period"])),
        "y": alt.Y("revenue:Q", title="Revenue", axis=alt.Axis(format=MONEY_FORMAT)),
        "tooltip": tooltip,
    }
    if "sku" in frame.columns:
        encoding["color"] = alt.Color("sku:N", title="Product")
        tooltip.insert(0, alt.Tooltip("name:N", title="Product"))
    return _sized(alt.Chart(frame).mark_line(point=True).encode(**encoding), title)


def _labelled_bars(frame: pd.DataFrame) -> alt.LayerChart:
    """Horizontal bars of units per product label, in the frame's order (the engine's
    ranking), each with its figure written at its end, so that a bar of zero still reads "0"."""
    base = alt.Chart(frame).encode(
        x=alt.X("units:Q", title="Units sold", **count_scale(frame["units"])),
        y=alt.Y("label:N", title="Product", sort=None),
    )
    figure = alt.Text("units:Q", format=COUNT_FORMAT)
    return alt.layer(
        base.mark_bar(), base.mark_text(align="left", baseline="middle", dx=4).encode(text=figure)
    )


def _product_bars(products: pd.DataFrame, title: str, empty: str) -> alt.LayerChart:
    if not len(products):
        return message(empty, title)
    frame = _money(products)
    # Net units are negative when more came back than was sold in the range; as sales that
    # is none, and a bar below zero would read as a sale of minus one.
    frame["units"] = frame["units_sold"].clip(lower=0)
    frame["label"] = distinct_labels(frame["name"], frame["sku"])
    chart = _labelled_bars(frame).encode(
        tooltip=[
            alt.Tooltip("sku:N", title="SKU"),
            alt.Tooltip("name:N", title="Product"),
            alt.Tooltip("category:N", title="Category"),
            alt.Tooltip("units:Q", title="Units sold", format=COUNT_FORMAT),
            alt.Tooltip("revenue:Q", title="Revenue", format=MONEY_FORMAT),
        ]
    )
    return _sized(chart, title)


def best_sellers(products: pd.DataFrame, title: str = "Best sellers") -> alt.LayerChart:
    return _product_bars(products, title, NO_SALES)


def least_sellers(products: pd.DataFrame, title: str = "Least sellers") -> alt.LayerChart:
    """Active products with the fewest units, those that sold none at zero."""
    return _product_bars(products, title, NO_PRODUCTS)


def top_customers(customers: pd.DataFrame, title: str = "Top customers") -> alt.Chart:
    if not len(customers):
        return message(NO_SALES, title)
    frame = _money(customers)
    frame["label"] = distinct_labels(frame["name"], frame["email"])
    chart = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("revenue:Q", title="Revenue", axis=alt.Axis(format=MONEY_FORMAT)),
            y=alt.Y("label:N", title="Customer", sort=None),
            tooltip=[
                alt.Tooltip("name:N", title="Customer"),
                alt.Tooltip("email:N", title="E-mail"),
                alt.Tooltip("orders:Q", title="Orders", format=COUNT_FORMAT),
                alt.Tooltip("units:Q", title="Units", format=COUNT_FORMAT),
                alt.Tooltip("revenue:Q", title="Revenue", format=MONEY_FORMAT),
            ],
        )
    )
    return _sized(chart, title)


def category_share(categories: pd.DataFrame, title: str = "Revenue by category") -> alt.Chart:
    """Each category's share of revenue (from product_performance()['by_category']); a share
    is a part of a whole, so a category that took more back than it sold is left out."""
    frame = _money(categories)
    frame = frame[frame["revenue_cents"] > 0]
    if not len(frame):
        return message(NO_SALES, title)
    chart = (
        alt.Chart(frame)
        .mark_arc()
        .encode(
            theta=alt.Theta("revenue:Q", title="Revenue"),
            color=alt.Color("category:N", title="Category"),
            tooltip=[
                alt.Tooltip("category:N", title="Category"),
                alt.Tooltip("revenue:Q", title="Revenue", format=MONEY_FORMAT),
                alt.Tooltip("units_sold:Q", title="Units sold", format=COUNT_FORMAT),
            ],
        )
    )
    return _sized(chart, title)


def rfm_segments(segments: pd.DataFrame, title: str = "Customers by RFM segment") -> alt.Chart:
    """Customers per RFM segment (from rfm()['segments']), with the segment's revenue."""
    if not len(segments) or not segments["customers"].any():
        return message(NO_SALES, title)
    frame = _money(segments)
    chart = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("segment:N", title="Segment", sort=None),
            y=alt.Y("customers:Q", title="Customers", **count_scale(frame["customers"])),
            tooltip=[
                alt.Tooltip("segment:N", title="Segment"),
                alt.Tooltip("customers:Q", title="Customers", format=COUNT_FORMAT),
                alt.Tooltip("revenue:Q", title="Revenue", format=MONEY_FORMAT),
            ],
        )
    )
    return _sized(chart, title)
