"""Home tab: the last 30 days at a glance, the revenue trend and what needs restocking."""

from __future__ import annotations

import gradio as gr

from crpm.analytics.periods import preset_range
from crpm.ui import charts
from crpm.ui.common import CODE, COUNT, Column, UIContext, data_table, guarded, table
from crpm.ui.reports import summary_cards

LOW_STOCK_COLUMNS = (
    Column("id", "ID", COUNT),
    Column("sku", "SKU", CODE),
    Column("name", "Product"),
    Column("stock", "Stock", COUNT),
    Column("reorder_level", "Reorder at", COUNT),
)
LOW_STOCK_SHOWN = 10
OPEN_TICKETS = ["open", "in progress"]


class HomeHandlers:
    def __init__(self, ctx: UIContext):
        self.ctx = ctx

    @guarded
    def home_overview(self, request: gr.Request):
        """Key figures of the last 30 days, the daily revenue trend and low-stock products."""
        actor = self.ctx.actor(request)
        zone = self.ctx.shop.zone
        start, end = preset_range("Last 30 days", self.ctx.shop_day(), zone=zone)
        summary = self.ctx.analytics.summary(actor, start, end)
        trend = self.ctx.analytics.trend(actor, start, end, grain="day")
        low = self.ctx.services.products.list(actor, low_stock=True, limit=LOW_STOCK_SHOWN)
        extra = [("Low stock", f"{low.total:,}", "products at or below reorder", low.total > 0)]
        tickets = self.ctx.services.desk.queue(actor, status=OPEN_TICKETS, limit=1).total
        extra.append(("Open tickets", f"{tickets:,}", "open or in progress", tickets > 0))
        cards = summary_cards(self.ctx, summary, extra)
        rows = [product.to_dict() for product in low.items]
        note = (
            f"{low.total:,} products need restocking; the {len(rows)} lowest are listed."
            if low.total > len(rows)
            else ("Nothing needs restocking." if not rows else "")
        )
        return (
            cards,
            charts.draw("trend", trend, self.ctx.shop, title="Revenue per day"),
            table(rows, LOW_STOCK_COLUMNS),
            note,
        )

    @guarded
    def home_on_open(self, request: gr.Request):
        """Home is the tab every page starts on, so it opens at load, in parallel with the
        role's tabs: the figures for staff, nothing for a customer (their page hides it)."""
        if not self.ctx.actor(request).is_staff:
            return (gr.skip(),) * 4
        return self.home_overview(request)


def build(ctx: UIContext) -> list[dict]:
    handlers = HomeHandlers(ctx)
    with gr.Row(equal_height=True):
        gr.Markdown("### The last 30 days", scale=5)
        refresh_button = gr.Button("Refresh", size="sm", scale=0, min_width=100)
    figures = gr.HTML()
    # The chart has a fixed width, so it gets a row of its own; the table fits below it.
    trend = gr.Plot(label="Revenue per day", elem_classes="crpm-chart")
    low_stock = data_table(LOW_STOCK_COLUMNS, "Low stock", elem_id="home-low-stock")
    note = gr.Markdown()
    outputs = [figures, trend, low_stock, note]
    refresh_button.click(handlers.home_overview, None, outputs, api_name="home_overview")
    return [dict(fn=handlers.home_on_open, inputs=None, outputs=outputs, api_visibility="private")]
