"""Home tab: the last 30 days at a glance, the revenue trend and what needs restocking."""

from __future__ import annotations

import gradio as gr

from crpm.ui import charts
from crpm.ui.common import UIContext, guarded, table
from crpm.ui.reports import preset_range, summary_cards

LOW_STOCK_COLUMNS = {
    "id": "ID",
    "sku": "SKU",
    "name": "Product",
    "stock": "Stock",
    "reorder_level": "Reorder at",
}
LOW_STOCK_SHOWN = 10
OPEN_TICKETS = ["open", "in progress"]


class HomeHandlers:
    def __init__(self, ctx: UIContext):
        self.ctx = ctx

    @guarded
    def home_overview(self, request: gr.Request):
        """Key figures of the last 30 days, the daily revenue trend and low-stock products."""
        actor = self.ctx.actor(request)
        start, end = preset_range("Last 30 days", self.ctx.clock.utc_day())
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
            charts.draw("trend", trend, self.ctx.settings.currency, title="Revenue per day"),
            table(rows, LOW_STOCK_COLUMNS),
            note,
        )


def build(ctx: UIContext) -> list[dict]:
    handlers = HomeHandlers(ctx)
    with gr.Row(equal_height=True):
        gr.Markdown("### The last 30 days", scale=5)
        refresh_button = gr.Button("Refresh", size="sm", scale=0, min_width=100)
    figures = gr.HTML()
    # The chart has a fixed width, so it gets a row of its own; the table fits below it.
    trend = gr.Plot(label="Revenue per day", elem_classes="crpm-chart")
    low_stock = gr.Dataframe(
        value=table([], LOW_STOCK_COLUMNS), label="Low stock", interactive=False
    )
    note = gr.Markdown()
    refresh = dict(
        fn=handlers.home_overview,
        inputs=None,
        outputs=[figures, trend, low_stock, note],
        api_visibility="private",
    )
    refresh_button.click(**{**refresh, "api_visibility": "public"}, api_name="home_overview")
    return [refresh]
