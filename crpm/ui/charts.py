"""Which chart of `crpm.charts` draws which analytics table on the dashboard, with money shown
in the dashboard's currency."""

from __future__ import annotations

import json

import altair as alt
from gradio.components.plot import PlotData

from crpm import charts

CHART_FOR = {
    "trend": charts.revenue_trend,
    "best_sellers": charts.best_sellers,
    "least_sellers": charts.least_sellers,
    "top_customers": charts.top_customers,
    "categories": charts.category_share,
    "segments": charts.rfm_segments,
}
MONEY_FIELD = "revenue"  # crpm.charts draws money as this field, in currency units


def draw(name: str, frame, currency: str = "$", **options) -> PlotData:
    """What gr.Plot shows for the analytics table `name`: the chart's Vega-Lite spec.

    Handing Gradio the spec, not the chart, saves two more schema validations per chart
    (from_dict and Gradio's to_json): 0.3 s of a 1M-line Analytics refresh.
    """
    spec = with_currency(CHART_FOR[name](frame, **options), currency)
    return PlotData(type="altair", plot=json.dumps(spec))


def with_currency(chart: alt.Chart, currency: str) -> dict:
    """The chart's spec with its money axis labelled like the page's figures ($1,234.50) and
    the currency named in money titles and tooltips."""
    spec = chart.to_dict(validate=False)  # tests validate every chart; 4 ms each here
    label = f"{json.dumps(currency, ensure_ascii=False)} + format(datum.value, ',.2f')"
    for name, channel in spec.get("encoding", {}).items():
        for item in channel if isinstance(channel, list) else [channel]:
            if item.get("field") != MONEY_FIELD:
                continue
            item["title"] = f"{item.get('title') or 'Revenue'} ({currency})"
            if name in ("x", "y"):
                item.setdefault("axis", {})["labelExpr"] = label
    return spec
