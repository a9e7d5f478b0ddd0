"""Analytics tab: a date range, the sales summary, charts and tables, each table as CSV.

The page refresh makes ONE engine call (`Analytics.page`), so it costs what the engine costs plus
formatting. A table's CSV is written only when its link is clicked (crpm/ui/downloads.py), not
nine files on every refresh. The separate reports are also JSON API endpoints (`gr.api`).
"""

from __future__ import annotations

import gradio as gr

from crpm.ui import charts, downloads
from crpm.ui.analytics_tables import CHARTS, TABLES, pick, table
from crpm.ui.common import UIContext, guarded
from crpm.ui.reports import (
    GRAINS,
    PRESETS,
    auto_grain,
    describe_range,
    present,
    preset_range,
    records,
    summary_cards,
    summary_record,
)


class AnalyticsHandlers:
    def __init__(self, ctx: UIContext):
        self.ctx = ctx

    def _range(self, preset, date_from, date_to):
        return preset_range(preset or "Last 30 days", self.ctx.clock.utc_day(), date_from, date_to)

    @guarded
    def analytics_page(self, preset, date_from, date_to, grain, request: gr.Request):
        """The whole Analytics page for a preset ("Last 7 days", "Last 30 days", "This year",
        "All time") or "Custom" with date_from/date_to days (both included)."""
        start, end = self._range(preset, date_from, date_to)
        grain = auto_grain(start, end, self.ctx.clock.current(), grain or "auto")
        result = self.ctx.analytics.page(self.ctx.actor(request), start, end, grain=grain)
        summary = result["summary"]
        heading = f"**{describe_range(start, end)}** · trend by {grain}"
        currency = self.ctx.settings.currency
        plots = [charts.draw(name, pick(result, TABLES[name][1]), currency) for name in CHARTS]
        shown, links = [], []
        for key, (title, _, headings, rows) in TABLES.items():
            frame = table(result, key)
            shown.append(present(self.ctx, frame.head(rows) if rows else frame, headings))
            links.append(downloads.analytics_link(key, title, start, end, grain))
        extra = [
            (
                "Low stock",
                f"{summary.low_stock_count:,}",
                "products at or below reorder",
                summary.low_stock_count > 0,
            ),
            ("Stock value", self.ctx.money(summary.stock_value_cents), "at current prices", False),
        ]
        return heading, summary_cards(self.ctx, summary, extra), *plots, *shown, *links

    # --- JSON endpoints for API clients ------------------------------------------------------

    def sales_summary(
        self, date_from: str = "", date_to: str = "", request: gr.Request = None
    ) -> dict:
        """Revenue, gross sales, returns, units, orders, average order value... for
        [date_from, date_to) (ISO dates or times, empty = open). Money as decimal text."""
        return summary_record(
            self.ctx.analytics.summary(self.ctx.actor(request), date_from or None, date_to or None)
        )

    def top_customers(
        self, date_from: str = "", date_to: str = "", limit: int = 10, request: gr.Request = None
    ) -> list[dict]:
        """Customers ranked by revenue in [date_from, date_to)."""
        return records(
            self.ctx.analytics.top_customers(
                self.ctx.actor(request), date_from or None, date_to or None, limit=limit
            )
        )

    def product_performance(
        self, date_from: str = "", date_to: str = "", limit: int = 10, request: gr.Request = None
    ) -> dict:
        """Best and least sellers, every product with sales, and sales by category."""
        tables = self.ctx.analytics.product_performance(
            self.ctx.actor(request), date_from or None, date_to or None, limit=limit
        )
        return {name: records(frame) for name, frame in tables.items()}

    def revenue_trend(
        self, date_from: str = "", date_to: str = "", grain: str = "day", request: gr.Request = None
    ) -> list[dict]:
        """Revenue and units per day, week or month in [date_from, date_to)."""
        return records(
            self.ctx.analytics.trend(
                self.ctx.actor(request), date_from or None, date_to or None, grain=grain
            )
        )

    def stock_report(
        self, date_from: str = "", date_to: str = "", request: gr.Request = None
    ) -> dict:
        """Per product stock, cover and low-stock flag; the stock movements in the range."""
        tables = self.ctx.analytics.stock_report(
            self.ctx.actor(request), date_from or None, date_to or None
        )
        return {name: records(frame) for name, frame in tables.items()}

    def tax_report(
        self, date_from: str = "", date_to: str = "", request: gr.Request = None
    ) -> list[dict]:
        """Net, tax, gross and discounts given per tax rate in [date_from, date_to), returns
        deducted at their time, cancelled purchases left out."""
        return records(
            self.ctx.analytics.tax(self.ctx.actor(request), date_from or None, date_to or None)
        )

    def rfm_segments(
        self, date_from: str = "", date_to: str = "", request: gr.Request = None
    ) -> dict:
        """Recency, frequency, monetary scores per customer and the size of each segment."""
        tables = self.ctx.analytics.rfm(self.ctx.actor(request), date_from or None, date_to or None)
        return {name: records(frame) for name, frame in tables.items()}


def publish_api(handlers: AnalyticsHandlers) -> None:
    for fn in (
        handlers.sales_summary,
        handlers.top_customers,
        handlers.product_performance,
        handlers.revenue_trend,
        handlers.stock_report,
        handlers.rfm_segments,
        handlers.tax_report,
    ):
        gr.api(guarded(fn), api_name=fn.__name__)


def build(ctx: UIContext) -> list[dict]:
    handlers = AnalyticsHandlers(ctx)
    with gr.Row(equal_height=True):
        preset = gr.Radio(PRESETS, value="Last 30 days", label="Date range", scale=4)
        grain = gr.Radio(GRAINS, value="auto", label="Trend by", scale=2)
    with gr.Row(equal_height=True):
        date_from = gr.DateTime(label="From (Custom)", include_time=False, type="string")
        date_to = gr.DateTime(label="To (Custom, included)", include_time=False, type="string")
        refresh_button = gr.Button("Refresh", variant="primary", scale=0, min_width=120)
    heading = gr.Markdown()
    figures = gr.HTML()

    plots, tables, links = {}, {}, {}

    def table_block(key: str):
        title = TABLES[key][0]
        tables[key] = gr.Dataframe(label=title, interactive=False, wrap=True, max_height=360)
        links[key] = gr.HTML(elem_classes="crpm-download")

    gr.Markdown("### Revenue trend")
    plots["trend"] = gr.Plot(label="Revenue trend", elem_classes="crpm-chart")
    with gr.Accordion("Trend as a table", open=False):
        table_block("trend")
    # One chart per row: charts have a fixed width (crpm.charts) and two side by side were clipped.
    table_block("tax")
    gr.Markdown("### Products")
    plots["best_sellers"] = gr.Plot(label="Best sellers", elem_classes="crpm-chart")
    plots["least_sellers"] = gr.Plot(label="Least sellers", elem_classes="crpm-chart")
    with gr.Row(equal_height=False):
        with gr.Column():
            table_block("best_sellers")
        with gr.Column():
            table_block("least_sellers")
    plots["categories"] = gr.Plot(label="Category share", elem_classes="crpm-chart")
    table_block("categories")
    gr.Markdown("### Customers")
    plots["top_customers"] = gr.Plot(label="Top customers", elem_classes="crpm-chart")
    table_block("top_customers")
    plots["segments"] = gr.Plot(label="RFM segments", elem_classes="crpm-chart")
    with gr.Row(equal_height=False):
        with gr.Column(scale=2):
            table_block("segments")
        with gr.Column(scale=3):
            table_block("rfm_customers")
    gr.Markdown("### Stock")
    table_block("stock")
    table_block("movements")

    outputs = [
        heading,
        figures,
        *(plots[name] for name in CHARTS),
        *(tables[key] for key in TABLES),
        *(links[key] for key in TABLES),
    ]
    refresh = dict(
        fn=handlers.analytics_page,
        inputs=[preset, date_from, date_to, grain],
        outputs=outputs,
        api_visibility="private",
    )
    refresh_button.click(**{**refresh, "api_visibility": "public"}, api_name="analytics_page")
    preset.input(**refresh)
    grain.input(**refresh)
    for box in (date_from, date_to):  # picking a day means a custom range
        box.change(None, None, preset, js="() => 'Custom'").then(**refresh)
    publish_api(handlers)
    return [refresh]
