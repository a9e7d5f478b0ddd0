"""Analytics tab: a date range, the sales summary, charts and tables, each table as CSV.

The page refresh makes ONE engine call (`Analytics.page`), so it costs what the engine costs plus
formatting. A table's CSV is written only when its link is clicked (crpm/ui/downloads.py), not
nine files on every refresh. The separate reports are also JSON API endpoints (`gr.api`).
"""

from __future__ import annotations

import gradio as gr
import pandas as pd

from crpm import shoplocale
from crpm.analytics.output import public_records as records
from crpm.analytics.output import summary_record
from crpm.analytics.periods import PRESETS, auto_grain, describe_range, preset_range, range_label
from crpm.charts import NO_SALES
from crpm.ui import charts, downloads
from crpm.ui.analytics_tables import CHARTS, TABLES, headings_for, pick, table
from crpm.ui.common import UIContext, guarded
from crpm.ui.reports import GRAINS, present, summary_cards

FROM_LABEL = "From (Custom)"
TO_LABEL = "To (Custom, included)"


class AnalyticsHandlers:
    def __init__(self, ctx: UIContext):
        self.ctx = ctx

    def _range(self, preset, date_from, date_to, zone: str):
        today = shoplocale.shop_day(self.ctx.clock, zone)
        return preset_range(preset or "Last 30 days", today, date_from, date_to, zone)

    @guarded
    def analytics_page(self, preset, date_from, date_to, grain, request: gr.Request):
        """The whole Analytics page for a preset ("Last 7 days", "Last 30 days", "This year",
        "All time") or "Custom" with date_from/date_to days (both included; until both are
        given, the heading asks for them and the rest stays empty)."""
        zone = self.ctx.shop.zone
        start, end = self._range(preset, date_from, date_to, zone)
        if preset == "Custom" and not (date_from and date_to):
            return self._ask_for_days(date_from, date_to)
        grain = auto_grain(start, end, self.ctx.clock.current(), grain or "auto")
        result = self.ctx.analytics.page(self.ctx.actor(request), start, end, grain=grain)
        summary = result["summary"]
        sold = bool(summary.orders or summary.returns_cents)
        heading = f"**{describe_range(start, end, zone)}** · trend by {grain}"
        if not sold:
            heading += f" · {NO_SALES}"
        shop, span = self.ctx.shop, range_label(preset, start, end, zone)
        plots = [
            charts.draw(name, pick(result, TABLES[name][1]), shop, sold=sold, subtitle=span)
            for name in CHARTS
        ]
        shown, links = [], []
        for key, (title, _, _, rows) in TABLES.items():
            frame = table(result, key)
            headings = headings_for(key, preset)
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

    def _ask_for_days(self, date_from, date_to):
        """A Custom range without both days: ask for the missing ones by their labels, and
        clear the page rather than show another range under the Custom choice."""
        boxes = ((FROM_LABEL, date_from), (TO_LABEL, date_to))
        missing = [label for label, day in boxes if not day]
        fields = " and ".join(f"**{label}**" for label in missing)
        heading = f"Custom range: choose the {'days' if len(missing) > 1 else 'day'} in {fields}."
        empty = [present(self.ctx, pd.DataFrame(), headings_for(key, "Custom")) for key in TABLES]
        return heading, "", *(None for _ in CHARTS), *empty, *("" for _ in TABLES)

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
        date_from = gr.DateTime(
            label=FROM_LABEL, include_time=False, type="string", elem_id="analytics-from"
        )
        date_to = gr.DateTime(
            label=TO_LABEL, include_time=False, type="string", elem_id="analytics-to"
        )
        refresh_button = gr.Button("Refresh", variant="primary", scale=0, min_width=120)
    heading = gr.Markdown(elem_id="analytics-heading")

    plots, tables, links = {}, {}, {}

    def chart(key: str, label: str):
        plots[key] = gr.Plot(label=label, elem_classes="crpm-chart")

    def table_block(key: str):
        title = TABLES[key][0]
        tables[key] = gr.Dataframe(label=title, interactive=False, wrap=True, max_height=360)
        links[key] = gr.HTML(elem_classes="crpm-download")

    # One range above, one subject per sub-tab below: a person reads one screen at a time, and
    # a sub-tab's charts are drawn only when it is opened. One chart per row: charts have a
    # fixed width (crpm.charts) and two side by side were clipped.
    with gr.Tabs(elem_id="analytics-views"):
        with gr.Tab("Sales", id="analytics-sales", elem_id="analytics-sales"):
            figures = gr.HTML()
            chart("trend", "Revenue trend")
            with gr.Accordion("Trend as a table", open=False):
                table_block("trend")
            table_block("tax")
        with gr.Tab("Products", id="analytics-products", elem_id="analytics-products"):
            chart("best_sellers", "Best sellers")
            chart("least_sellers", "Least sellers")
            with gr.Row(equal_height=False):
                with gr.Column():
                    table_block("best_sellers")
                with gr.Column():
                    table_block("least_sellers")
            chart("categories", "Category share")
            table_block("categories")
        with gr.Tab("Customers", id="analytics-customers", elem_id="analytics-customers"):
            chart("top_customers", "Top customers")
            table_block("top_customers")
            chart("segments", "RFM segments")
            with gr.Row(equal_height=False):
                with gr.Column(scale=2):
                    table_block("segments")
                with gr.Column(scale=3):
                    table_block("rfm_customers")
        with gr.Tab("Stock", id="analytics-stock", elem_id="analytics-stock"):
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
