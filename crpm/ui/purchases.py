"""Purchases tab: record a purchase with server-side pickers, cancel it or return units, and
browse purchases filtered by customer, product and dates."""

from __future__ import annotations

import gradio as gr

from crpm.analytics.periods import day_range
from crpm.errors import ValidationError
from crpm.models import parse_quantity
from crpm.pricing import returned_share
from crpm.services.purchases import as_priced, normalise_lines
from crpm.ui import downloads
from crpm.ui.common import (
    CODE,
    COUNT,
    DATE,
    MONEY,
    Column,
    Opener,
    Pager,
    UIContext,
    chain,
    clicked_id,
    count,
    data_table,
    fetch_page,
    guarded,
    info,
    md,
    optional_id,
    page_info,
    required_id,
    table,
    totals_text,
    whole_number,
    without_clicked,
)
from crpm.ui.confirm import ask_first
from crpm.ui.pickers import Pickers, picker

# The stock note ("⚠ only 2 in stock") goes beside the quantity it is about.
CART_COLUMNS = (
    Column("name", "Product"),
    Column("quantity", "Qty", COUNT),
    Column("note", "Stock"),
    Column("unit_price", "Unit price", MONEY),
    Column("discount", "Discount", MONEY),
    Column("rate", "Tax", COUNT),
    Column("net", "Net", MONEY),
    Column("line_total", "Gross", MONEY),
    Column("sku", "SKU", CODE),
)
# What a cancel or a return is decided on; the purchase's details above give its totals.
LINE_COLUMNS = (
    Column("id", "Line", COUNT),
    Column("product_name", "Product"),
    Column("quantity", "Qty", COUNT),
    Column("returned", "Returned", COUNT),
    Column("unit_price", "Unit price", MONEY),
    Column("line_total", "Line total", MONEY),
)
RETURN_COLUMNS = (
    Column("at", "When", DATE),
    Column("product", "Product"),
    Column("quantity", "Units", COUNT),
    Column("credit", "Credit", MONEY),
    Column("reason", "Reason"),
)
LIST_COLUMNS = (
    Column("id", "ID", COUNT),
    Column("purchased_at", "Time", DATE),
    Column("customer", "Customer"),
    Column("total", "Total", MONEY),
    Column("net", "Net", MONEY),
    Column("status", "Status"),
    Column("lines", "Lines", COUNT),
    Column("units", "Units", COUNT),
    Column("returned", "Returned", MONEY),
    Column("source", "Source"),
)
STATUS_CHOICES = [
    ("All", "all"),
    ("Completed", "completed"),
    ("With returns", "returned"),
    ("Cancelled", "cancelled"),
]
PURCHASE_HINT = "open a purchase: click it in the list or search for it at the top"
# How the return form names what the services call quantity and line.
RETURN_LABELS = {"quantity": "Units", "line": "Line to return"}
CANCEL_LABELS = {"reason": "Reason for cancelling"}


class PurchaseHandlers:
    def __init__(self, ctx: UIContext):
        self.ctx = ctx
        self.services = ctx.services

    # --- the cart -----------------------------------------------------------------------

    @guarded
    def add_line(self, product_id, quantity, discount, lines):
        """Put a product, quantity and discount ("10%" or "1.50") into the purchase being
        prepared (merged by product)."""
        product_id = required_id(product_id, "product", "find a product and pick it first")
        quantity = parse_quantity(whole_number(quantity))
        discount = self.ctx.discount(discount) or ""
        line = {"product_id": product_id, "quantity": quantity, "discount": discount}
        return normalise_lines([*(lines or []), line])

    @staticmethod
    @guarded
    def remove_line(lines, event: gr.SelectData):
        """A click on a line of the prepared purchase takes it out."""
        return without_clicked(lines or [], event)

    @guarded
    def preview_purchase(self, customer_id, lines, discount, request: gr.Request):
        """The prepared purchase priced now (discounts, tax), with its totals, before confirming;
        `discount` ("5%" or "2.00") comes off the whole purchase."""
        actor = self.ctx.actor(request)
        if not lines:
            return table([], CART_COLUMNS), "Add products to see the total."
        priced, sums = self.services.purchases.preview(actor, lines, self.ctx.discount(discount))
        rows = []
        for line, figures in zip(normalise_lines(lines), priced, strict=True):
            product = self.services.products.get(actor, line["product_id"])
            rows.append(
                {
                    "sku": product.sku,
                    "name": product.name,
                    "unit_price": self.ctx.money(figures.unit_cents),
                    "quantity": figures.quantity,
                    **self._figures(figures),
                    "note": self._stock_note(product, figures.quantity),
                }
            )
        customer_id = optional_id(customer_id, "customer")
        buyer = ""
        if customer_id:
            buyer = f" · for {md(self.services.customers.get(actor, customer_id).name)}"
        units = sum(line.quantity for line in priced)
        summary = (
            f"{totals_text(self.ctx.money, sums)}"
            f" · {count(len(rows), 'line')}, {count(units, 'unit')}{buyer}"
        )
        return table(rows, CART_COLUMNS), summary

    def _figures(self, line) -> dict:
        """A priced line's discount, rate, net and gross as the tables show them."""
        return {
            "discount": self.ctx.money(line.discount_cents) if line.discount_cents else "",
            "rate": f"{line.rate.normalize():f}%",
            "net": self.ctx.money(line.net_cents),
            "line_total": self.ctx.money(line.net_cents + line.tax_cents),
        }

    @staticmethod
    def _stock_note(product, quantity: int) -> str:
        if product.status != "active":
            return "⚠ inactive"
        if product.stock < quantity:
            return f"⚠ only {product.stock} in stock"
        return f"{product.stock} in stock"

    @guarded
    def record_purchase(self, customer_id, lines, discount, request: gr.Request):
        """Record a purchase: lines are [{"product_id": 3, "quantity": 2[, "discount": "10%"]},
        ...], `discount` ("5%" or "2.00", optional) comes off the whole purchase. Stock falls; all
        of it happens or none, with its invoice. Answers (purchase id, receipt, emptied lines)."""
        customer_id = required_id(customer_id, "customer", "find a customer and pick them first")
        purchase = self.services.purchases.record(
            self.ctx.actor(request),
            customer_id,
            lines or [],
            source="dashboard",
            discount=self.ctx.discount(discount),
        )
        units = sum(line.quantity for line in purchase.lines)
        total = self.ctx.money(purchase.total_cents)

        def receipt(name: str) -> str:
            return f"Purchase #{purchase.id} recorded for {name}: {count(units, 'unit')}, {total}"

        info(receipt(purchase.customer_name))
        return purchase.id, f"✓ {receipt(md(purchase.customer_name))}", []

    # --- one purchase -------------------------------------------------------------------

    def _details(self, purchase, actor) -> tuple:
        credit_notes = []
        if purchase.invoice_number:
            credit_notes = self.services.documents.credit_notes(actor, purchase.id)
        rows = [
            {
                **vars(line),
                "unit_price": self.ctx.money(line.unit_price_cents),
                **self._figures(as_priced(line)),
            }
            for line in purchase.lines
        ]
        shop = self.ctx.shop
        cancelled = shop.time(purchase.cancelled_at)
        state = f"cancelled {cancelled}" if purchase.cancelled_at else purchase.status
        details = (
            f"**Purchase #{purchase.id}** · {shop.time(purchase.purchased_at)} · customer "
            f"#{purchase.customer_id} {md(purchase.customer_name)} · **{state}**  \n"
            f"Total {self.ctx.money(purchase.total_cents)} (tax "
            f"{self.ctx.money(purchase.tax_cents)}) · net after returns "
            f"{self.ctx.money(purchase.revenue_cents)} · recorded by {md(purchase.recorded_by)} "
            f"({purchase.source})  \n{downloads.document_links(purchase, credit_notes)}"
        )
        returnable = [
            (
                f"Line {line.id} · {line.sku} {line.product_name} · "
                f"{line.quantity - line.returned} of {line.quantity} returnable",
                line.id,
            )
            for line in purchase.lines
            if line.quantity > line.returned and not purchase.cancelled_at
        ]
        lines = gr.Dropdown(choices=returnable, value=returnable[0][1] if returnable else None)
        returns = [
            {**entry.to_dict(), "credit": shop.money(entry.credit_cents)}
            for entry in self.services.timeline.purchase_returns(actor, purchase.id)
        ]
        return (
            purchase.id,
            details,
            table(rows, LINE_COLUMNS),
            lines,
            table(returns, RETURN_COLUMNS, shop.time),
        )

    @guarded
    def get_purchase(self, purchase_id, request: gr.Request):
        """One purchase with its lines (and which lines can still be returned)."""
        return self._open(required_id(purchase_id, "purchase", PURCHASE_HINT), request)

    @guarded
    def open_purchase(self, event: gr.SelectData, request: gr.Request):
        """A click on a row of the purchases list opens that purchase."""
        return self._open(clicked_id(event), request)

    def _open(self, purchase_id: int, request: gr.Request) -> tuple:
        actor = self.ctx.actor(request)
        return self._details(self.services.purchases.get(actor, purchase_id), actor)

    @guarded(labels=CANCEL_LABELS)
    def cancel_purchase(self, purchase_id, reason, request: gr.Request):
        """Cancel a whole purchase: every unit not yet returned goes back to stock."""
        purchase_id = required_id(purchase_id, "purchase", PURCHASE_HINT)
        actor = self.ctx.actor(request)
        purchase = self.services.purchases.cancel(actor, purchase_id, reason)
        info(f"Purchase #{purchase.id} of {purchase.customer_name} cancelled; stock restored")
        return self._details(purchase, actor)

    @guarded(labels=RETURN_LABELS)
    def return_items(self, line_id, quantity, reason, request: gr.Request):
        """Return some units of one purchase line: stock comes back, revenue falls."""
        line_id = required_id(line_id, "line", "load a purchase and pick the line to return")
        quantity = whole_number(quantity)
        actor = self.ctx.actor(request)
        purchase = self.services.purchases.return_items(actor, line_id, quantity, reason)
        line = next(line for line in purchase.lines if line.id == line_id)
        info(f"{count(int(quantity), 'unit')} of {line.sku} returned from purchase #{purchase.id}")
        return self._details(purchase, actor)

    # --- what cancelling or returning would do (the confirmation's sentence) -------------

    def _credit_note(self, purchase) -> str:
        return " and a credit note is issued" if purchase.invoice_number else ""

    @guarded(labels=CANCEL_LABELS)
    def describe_cancel_purchase(self, purchase_id, reason, request: gr.Request):
        """What cancel_purchase would do to this purchase, before anything happens."""
        purchase_id = required_id(purchase_id, "purchase", PURCHASE_HINT)
        purchase = self.services.purchases.get(self.ctx.actor(request), purchase_id)
        kept = sum(line.quantity - line.returned for line in purchase.lines)
        return (
            f"**Cancel purchase #{purchase.id} of {md(purchase.customer_name)} "
            f"({self.ctx.money(purchase.total_cents)})?** Every unit not yet returned "
            f"({count(kept, 'unit')}) goes back to stock{self._credit_note(purchase)}."
        )

    @guarded(labels=RETURN_LABELS)
    def describe_return_items(self, purchase_id, line_id, quantity, reason, request: gr.Request):
        """What return_items would do to this line of the loaded purchase."""
        purchase_id = required_id(purchase_id, "purchase", PURCHASE_HINT)
        line_id = required_id(line_id, "line", "load a purchase and pick the line to return")
        quantity = parse_quantity(whole_number(quantity))
        purchase = self.services.purchases.get(self.ctx.actor(request), purchase_id)
        line = next((line for line in purchase.lines if line.id == line_id), None)
        if line is None:
            raise ValidationError("line", f"purchase #{purchase.id} has no line {line_id}")
        left = line.quantity - line.returned
        credit = ""
        if quantity <= left:
            share = returned_share(as_priced(line), line.returned, quantity)
            credit = f"; {self.ctx.money(share.net_cents + share.tax_cents)} (with tax) is credited"
        return (
            f"**Return {quantity} of the {left} units of {md(line.sku)} {md(line.product_name)} "
            f"still with {md(purchase.customer_name)} (purchase #{purchase.id})?** They go back "
            f"to stock{credit}{self._credit_note(purchase)}."
        )

    # --- the list -----------------------------------------------------------------------

    @guarded
    def list_purchases(
        self,
        customer_id,
        product_id,
        date_from,
        date_to,
        status,
        page,
        page_size,
        request: gr.Request,
    ):
        """Purchases newest first; date_from and date_to are days (YYYY-MM-DD), both included."""
        actor = self.ctx.actor(request)
        customer, product = optional_id(customer_id, "customer"), optional_id(product_id, "product")
        shop = self.ctx.shop
        start, end = day_range(date_from, date_to, shop.zone)
        filters = dict(
            customer_id=customer,
            product_id=product,
            date_from=start,
            date_to=end,
            status=status or "all",
        )
        found, number = fetch_page(
            lambda limit, offset: self.services.purchases.list(
                actor, **filters, limit=limit, offset=offset
            ),
            page,
            page_size,
        )
        rows = [self._list_row(row, shop) for row in found.items]
        filtered = any(value not in (None, "all") for value in filters.values())
        shown = table(rows, LIST_COLUMNS, shop.time)
        return shown, page_info(found, number, "purchase", filtered), number

    @staticmethod
    def _list_row(row: dict, shop) -> dict:
        total, returned = row["total_cents"] or 0, row["returned_cents"] or 0
        net = 0 if row["cancelled_at"] else total - returned
        return {
            **row,
            "customer": f"#{row['customer_id']} {row['customer_name']}",
            "total": shop.money(total),
            "returned": shop.money(returned) if returned else "",
            "net": shop.money(net),
        }


def build(ctx: UIContext) -> list[dict]:
    handlers = PurchaseHandlers(ctx)
    pickers = Pickers(ctx)
    private = {"api_visibility": "private"}
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, elem_classes="crpm-card", elem_id="purchase-new"):
            gr.Markdown("### Record a purchase")
            with gr.Row(equal_height=True):
                buyer = picker(
                    pickers.find_customers, "Find customer", "Name, e-mail, phone or #ID",
                    "Customer", {"api_name": "find_customers"},
                )  # fmt: skip
                customer = buyer.chosen
            with gr.Row(equal_height=True):
                item = picker(
                    pickers.find_products, "Find product", "SKU, name or #ID", "Product",
                    {"api_name": "find_products"},
                )  # fmt: skip
                product = item.chosen
                quantity = gr.Number(label="Qty", value=1, scale=0, min_width=80)
                line_discount = gr.Textbox(
                    label="Discount", placeholder="10% or 1.50", scale=0, min_width=110
                )
                add_line = gr.Button("Add", scale=0, min_width=80)
            lines = gr.JSON(value=[], visible=False)
            cart = data_table(
                CART_COLUMNS,
                "This purchase (click a line to remove it)",
                max_height=300,
                elem_id="purchase-cart",
            )
            purchase_discount = gr.Textbox(
                "", label="Discount on the whole purchase", placeholder="5% or 2.00 (optional)"
            )
            total = gr.Markdown("Add products to see the total.")
            with gr.Row():
                confirm = gr.Button("Confirm purchase", variant="primary", scale=2)
                clear = gr.Button("Clear", scale=1)
            receipt = gr.Markdown(elem_classes="crpm-receipt")
        with gr.Column(scale=2, elem_classes="crpm-card", elem_id="purchase-manage"):
            gr.Markdown("### Cancel or return")
            # The open purchase's number: set by a row click, a sale or the search, never typed.
            purchase_id = gr.Number(label="Purchase ID", visible=False)
            details = gr.Markdown(
                "Click a purchase in the list below, or search for it at the top of the page.",
                elem_id="purchase-details",
            )
            purchase_lines = data_table(
                LINE_COLUMNS, "Lines", max_height=260, elem_id="purchase-lines"
            )
            returns = data_table(
                RETURN_COLUMNS, "Returns, newest first", max_height=200, elem_id="purchase-returns"
            )
            open_customer = gr.Button("Open the customer's page", size="sm")
            ctx.jumps.append((open_customer, "purchase", purchase_id))
            cancel_reason = gr.Textbox(label="Reason for cancelling", placeholder="optional")
            cancel = gr.Button("Cancel whole purchase", variant="stop")
            cancel_yes = ask_first(
                cancel,
                handlers.describe_cancel_purchase,
                [purchase_id, cancel_reason],
                "Yes, cancel the purchase",
            )
            line = gr.Dropdown([], label="Line to return", allow_custom_value=True)
            with gr.Row(equal_height=True):
                return_qty = gr.Number(label="Units", value=1, scale=1)
                return_reason = gr.Textbox(label="Reason", placeholder="Damaged", scale=2)
            give_back = gr.Button("Return units", variant="stop")
            give_back_yes = ask_first(
                give_back,
                handlers.describe_return_items,
                [purchase_id, line, return_qty, return_reason],
                "Yes, return the units",
            )

    gr.Markdown("### Purchases")
    with gr.Row(equal_height=True):
        by_customer = picker(
            pickers.find_customers, "Of customer", "Name, e-mail or phone", "Customer (empty: all)"
        ).chosen
        by_product = picker(
            pickers.find_products, "With product", "SKU or name", "Product (empty: all)"
        ).chosen
    with gr.Row(equal_height=True):
        date_from = gr.DateTime(label="From (day)", include_time=False, type="string")
        date_to = gr.DateTime(label="To (day, included)", include_time=False, type="string")
        status = gr.Radio(STATUS_CHOICES, value="all", label="Status")
    pager = Pager.build("Purchases", LIST_COLUMNS, "purchase", "purchases-table")
    refresh = pager.wire(
        handlers.list_purchases,
        [by_customer, by_product, date_from, date_to, status],
        [by_customer.change, by_product.change, date_from.change, date_to.change, status.input],
        "list_purchases",
    )

    preview = dict(
        fn=handlers.preview_purchase,
        inputs=[customer, lines, purchase_discount],
        outputs=[cart, total],
        show_progress="minimal",
    )
    preview_private = {**preview, **private}
    # Every re-pricing of the cart in the page: a sale cancels the ones pending, so that none
    # lands after it and brings the sold cart back (a blur fires as Confirm is clicked).
    repricings = [
        customer.input(**preview, api_name="preview_purchase"),
        purchase_discount.submit(**preview_private),
        purchase_discount.blur(**preview_private),
    ]
    show = dict(
        fn=handlers.get_purchase,
        inputs=purchase_id,
        outputs=[purchase_id, details, purchase_lines, line, returns],
    )
    # Published for API clients; in the page a purchase opens by a click or the search.
    purchase_id.submit(**show, api_name="get_purchase")
    ctx.openers["purchase"] = Opener(
        "purchases", handlers.get_purchase, show["outputs"], anchor="purchase-details"
    )
    # A cart change still running at Confirm is cancelled with its re-pricing: landing after
    # the sale, it would bring the sold lines back.
    adding = add_line.click(
        handlers.add_line, [product, quantity, line_discount, lines], lines, **private
    )
    removing = cart.select(handlers.remove_line, lines, lines, **private)
    repricings += [
        adding,
        chain(adding, preview_private),
        removing,
        chain(removing, preview_private),
        chain(
            clear.click(None, None, [lines, purchase_discount], js="() => [[], '']"),
            preview_private,
        ),
    ]
    # One event records the sale, empties the form and draws the emptied cart, the new
    # purchase and the list.
    pager.one_trip(
        confirm.click,
        dict(
            fn=handlers.record_purchase,
            inputs=[customer, lines, purchase_discount],
            outputs=[purchase_id, receipt, lines],
            api_name="record_purchase",
        ),
        preview,
        show,
        # The next sale starts from nothing: no customer or product is carried over to it, nor
        # offered again by the pickers.
        resets={
            **buyer.emptied(),
            **item.emptied(),
            quantity: 1,
            line_discount: "",
            purchase_discount: "",
        },  # fmt: skip
        # A picker's search landing after the sale would pick its first match in the emptied
        # picker: a customer or product carried over to the next sale after all.
        cancels=[*repricings, buyer.search, item.search],
    )
    pager.table.select(handlers.open_purchase, None, show["outputs"], **private)
    chain(
        cancel_yes.click(
            handlers.cancel_purchase,
            [purchase_id, cancel_reason],
            show["outputs"],
            api_name="cancel_purchase",
        ),
        dict(fn=None, inputs=None, outputs=cancel_reason, js="() => ''"),
        refresh,
    )
    chain(
        give_back_yes.click(
            handlers.return_items,
            [line, return_qty, return_reason],
            show["outputs"],
            api_name="return_items",
        ),
        dict(fn=None, inputs=None, outputs=return_reason, js="() => ''"),
        refresh,
    )
    return [refresh]
