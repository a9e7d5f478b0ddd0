"""Which chart of `crpm.charts` draws which analytics table on the dashboard, with money shown
in the shop's currency and locale and the range it covers under its title."""

from __future__ import annotations

import json

from gradio.components.plot import PlotData

from crpm import charts
from crpm.shoplocale import ShopLocale, chart_number_locale

CHART_FOR = {
    "trend": charts.revenue_trend,
    "best_sellers": charts.best_sellers,
    "least_sellers": charts.least_sellers,
    "top_customers": charts.top_customers,
    "categories": charts.category_share,
    "segments": charts.rfm_segments,
}
MONEY_FIELD = "revenue"  # crpm.charts draws money as this field, in currency units
MONEY_AXIS = "$,.2f"  # d3-format: the locale's currency, grouping and decimal mark (config.locale)
US_DOLLARS = ShopLocale(symbol="$")


def draw(
    name: str,
    frame,
    shop: ShopLocale = US_DOLLARS,
    *,
    sold: bool = True,
    subtitle: str = "",
    **options,
) -> PlotData:
    """What gr.Plot shows for the analytics table `name`: the chart's Vega-Lite spec, or, when
    nothing was `sold` in the range, the chart's title over "No sales in this range" (a least
    sellers chart would otherwise list products at zero as if that were news).

    Handing Gradio the spec, not the chart, saves two more schema validations per chart
    (from_dict and Gradio's to_json): 0.3 s of a 1M-line Analytics refresh.
    """
    chart = CHART_FOR[name](frame, **options)
    if not sold:
        chart = charts.message(charts.NO_SALES, chart.title)
    spec = with_currency(charts.spec(chart), shop)
    if subtitle:
        spec["title"] = {"text": spec["title"], "subtitle": subtitle}
    return PlotData(type="altair", plot=json.dumps(spec))


def with_currency(spec: dict, shop: ShopLocale) -> dict:
    """The spec with money written like the page's figures ("$1,234.50", "1.234,50 €"): the
    shop's locale as the chart's number locale, money axes and tooltips in its currency, and
    the currency named in money titles (in every layer of a layered chart)."""
    spec.setdefault("config", {})["locale"] = {
        "number": chart_number_locale(shop.locale, shop.symbol)
    }
    for view in [spec, *spec.get("layer", [])]:
        for name, channel in view.get("encoding", {}).items():
            for item in channel if isinstance(channel, list) else [channel]:
                if item.get("field") != MONEY_FIELD:
                    continue
                item["title"] = f"{item.get('title') or 'Revenue'} ({shop.symbol})"
                if name in ("x", "y"):
                    item.setdefault("axis", {})["format"] = MONEY_AXIS
                elif "format" in item:
                    item["format"] = MONEY_AXIS
    return spec
