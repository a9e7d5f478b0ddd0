"""Purchases tab: record a purchase with server-side pickers, cancel it or return units, and
browse purchases filtered by customer, product and dates."""

from __future__ import annotations

import gradio as gr

from crpm.errors import NotFound, ValidationError
from crpm.models import is_digits, parse_quantity
from crpm.pricing import returned_share
from crpm.services.purchases import as_priced, normalise_lines
from crpm.ui import downloads
from crpm.ui.common import (
    Pager,
    UIContext,
    chain,
    clicked_id,
    count,
    day_after,
    day_start,
    fetch_page,
    guarded,
    info,
    md,
    optional_id,
    page_info,
    plain,
    required_id,
    table,
    whole_number,
    without_clicked,
)
from crpm.ui.confirm import ask_first

PICKER_LIMIT = 20
CART_COLUMNS = {
    "product_id": "Product ID",
    "sku": "SKU",
    "name": "Product",
    "unit_price": "Unit price",
    "quantity": "Qty",
    "discount": "Discount",
    "rate": "Tax",
    "net": "Net",
    "line_total": "Gross",
    "note": "Stock",
}
LINE_COLUMNS = {
    "id": "Line",
    "sku": "SKU",
    "product_name": "Product",
    "quantity": "Qty",
    "returned": "Returned",
    "unit_price": "Unit price",
    "discount": "Discount",
    "rate": "Tax",
    "net": "Net",
    "line_total": "Gross",
}
LIST_COLUMNS = {
    "id": "ID",
    "purchased_at": "Time (UTC)",
    "customer": "Customer",
    "lines": "Lines",
    "units": "Units",
    "total": "Total",
    "returned": "Returned",
    "net": "Net",
    "status": "Status",
    "source": "Source",
}
STATUS_CHOICES = [("All", "all"), ("Completed", "completed"), ("Cancelled", "cancelled")]
PURCHASE_HINT = "pick a purchase in the list or type a Purchase ID"


class PurchaseHandlers:
    def __init__(self, ctx: UIContext):
        self.ctx = ctx
        self.services = ctx.services

    # --- pickers ------------------------------------------------------------------------

    def _pick(self, service, actor, query: str) -> list:
        """Active records matching a typed query, plus the record whose ID was typed."""
        query = (query or "").strip()
        found = []
        wanted = query.lstrip("#")
        if is_digits(wanted):
            try:
                record = service.get(actor, int(wanted))
                if record.status == "active":
                    found.append(record)
            except NotFound:
                pass
        page = service.list(actor, search=query, status="active", limit=PICKER_LIMIT)
        found += [record for record in page.items if record.id not in {r.id for r in found}]
        return found

    def _picker(self, service, noun: str, query, request, label) -> gr.Dropdown:
        """The picker after a search: the matches, the first one picked; an empty search picks
        nothing, and a search without a match says so under the picker."""
        query = (query or "").strip()
        if not query:
            return gr.Dropdown(choices=[], value=None, info="")
        found = self._pick(service, self.ctx.actor(request), query)
        choices = [(label(record), record.id) for record in found]
        note = "" if choices else f"No active {noun} matches '{plain(query)}'"
        return gr.Dropdown(choices=choices, value=choices[0][1] if choices else None, info=note)

    @guarded
    def find_customers(self, query, request: gr.Request):
        """Up to 20 active customers matching a name, e-mail, phone, company or #ID."""
        return self._picker(
            self.services.customers,
            "customer",
            query,
            request,
            lambda c: f"#{c.id} {c.name} · {c.email}",
        )

    @guarded
    def find_products(self, query, request: gr.Request):
        """Up to 20 active products matching a SKU, name, category or #ID."""
        return self._picker(
            self.services.products,
            "product",
            query,
            request,
            lambda p: f"{p.sku} · {p.name} · {self.ctx.money(p.price_cents)} · {p.stock} in stock",
        )

    # --- the cart -----------------------------------------------------------------------

    @guarded
    def add_line(self, product_id, quantity, discount, lines):
        """Put a product, quantity and discount ("10%" or "1.50") into the purchase being
        prepared (merged by product)."""
        product_id = required_id(product_id, "product", "find a product and pick it first")
        quantity = parse_quantity(whole_number(quantity))
        line = {"product_id": product_id, "quantity": quantity, "discount": discount or ""}
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
        priced, sums = self.services.purchases.preview(actor, lines, discount)
        rows = []
        for line, figures in zip(normalise_lines(lines), priced, strict=True):
            product = self.services.products.get(actor, line["product_id"])
            rows.append(
                {
                    "product_id": product.id,
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
            f"Net {self.ctx.money(sums.net_cents)} · tax {self.ctx.money(sums.tax_cents)}"
            + (f" · discounts {self.ctx.money(sums.discount_cents)}" if sums.discount_cents else "")
            + f" · <span class='crpm-total'>**Total {self.ctx.money(sums.gross_cents)}**</span>"
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
            self.ctx.actor(request), customer_id, lines or [], source="dashboard", discount=discount
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
        state = f"cancelled {purchase.cancelled_at}" if purchase.cancelled_at else purchase.status
        details = (
            f"**Purchase #{purchase.id}** · {purchase.purchased_at} UTC · customer "
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
        return purchase.id, details, table(rows, LINE_COLUMNS), lines

    @guarded
    def get_purchase(self, purchase_id, request: gr.Request):
        """One purchase with its lines (and which lines can still be returned)."""
        purchase_id = required_id(purchase_id, "purchase", PURCHASE_HINT)
        actor = self.ctx.actor(request)
        return self._details(self.services.purchases.get(actor, purchase_id), actor)

    @guarded
    def cancel_purchase(self, purchase_id, reason, request: gr.Request):
        """Cancel a whole purchase: every unit not yet returned goes back to stock."""
        purchase_id = required_id(purchase_id, "purchase", PURCHASE_HINT)
        actor = self.ctx.actor(request)
        purchase = self.services.purchases.cancel(actor, purchase_id, reason)
        info(f"Purchase #{purchase.id} of {purchase.customer_name} cancelled; stock restored")
        return self._details(purchase, actor)

    @guarded
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

    @guarded
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

    @guarded
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
        filters = dict(
            customer_id=optional_id(customer_id, "customer"),
            product_id=optional_id(product_id, "product"),
            date_from=day_start(date_from, "from"),
            date_to=day_after(date_to, "to"),
            status=status or "all",
        )
        if (
            filters["date_from"]
            and filters["date_to"]
            and filters["date_from"] >= filters["date_to"]
        ):
            raise ValidationError("to", "must not be before from")
        found, number = fetch_page(
            lambda limit, offset: self.services.purchases.list(
                actor, **filters, limit=limit, offset=offset
            ),
            page,
            page_size,
        )
        rows = [self._list_row(row) for row in found.items]
        filtered = any(value not in (None, "all") for value in filters.values())
        return table(rows, LIST_COLUMNS), page_info(found, number, "purchase", filtered), number

    def _list_row(self, row: dict) -> dict:
        total, returned = row["total_cents"] or 0, row["returned_cents"] or 0
        net = 0 if row["cancelled_at"] else total - returned
        return {
            **row,
            "customer": f"#{row['customer_id']} {row['customer_name']}",
            "total": self.ctx.money(total),
            "returned": self.ctx.money(returned) if returned else "",
            "net": self.ctx.money(net),
        }

    @staticmethod
    @guarded
    def pick_row(event: gr.SelectData):
        return clicked_id(event)


def build(ctx: UIContext) -> list[dict]:
    handlers = PurchaseHandlers(ctx)
    private = {"api_visibility": "private"}
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, elem_classes="crpm-card", elem_id="purchase-new"):
            gr.Markdown("### Record a purchase")
            with gr.Row(equal_height=True):
                customer_query = gr.Textbox(
                    label="Find customer", placeholder="Name, e-mail, phone or #ID", scale=2
                )
                customer = gr.Dropdown(
                    [], label="Customer", allow_custom_value=True, scale=3, interactive=True
                )
            with gr.Row(equal_height=True):
                product_query = gr.Textbox(
                    label="Find product", placeholder="SKU, name or #ID", scale=2
                )
                product = gr.Dropdown(
                    [], label="Product", allow_custom_value=True, scale=3, interactive=True
                )
                quantity = gr.Number(label="Qty", value=1, scale=0, min_width=80)
                line_discount = gr.Textbox(
                    label="Discount", placeholder="10% or 1.50", scale=0, min_width=110
                )
                add_line = gr.Button("Add", scale=0, min_width=80)
            lines = gr.JSON(value=[], visible=False)
            cart = gr.Dataframe(
                value=table([], CART_COLUMNS),
                label="This purchase (click a line to remove it)",
                interactive=False,
                max_height=300,
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
            gr.Markdown("### Cancel or return\nClick a purchase in the list below or type its ID.")
            with gr.Row(equal_height=True):
                purchase_id = gr.Number(label="Purchase ID", scale=2)
                load = gr.Button("Load", scale=0, min_width=90)
            details = gr.Markdown()
            purchase_lines = gr.Dataframe(
                value=table([], LINE_COLUMNS), interactive=False, label="Lines", max_height=260
            )
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
            give_back = gr.Button("Return units")
            give_back_yes = ask_first(
                give_back,
                handlers.describe_return_items,
                [purchase_id, line, return_qty, return_reason],
                "Yes, return the units",
            )

    gr.Markdown("### Purchases")
    with gr.Row(equal_height=True):
        by_customer = gr.Number(label="Customer ID")
        by_product = gr.Number(label="Product ID")
        date_from = gr.DateTime(label="From (day)", include_time=False, type="string")
        date_to = gr.DateTime(label="To (day, included)", include_time=False, type="string")
        status = gr.Radio(STATUS_CHOICES, value="all", label="Status")
    pager = Pager.build("Purchases", list(LIST_COLUMNS.values()), "purchase", "purchases-table")
    refresh = pager.wire(
        handlers.list_purchases,
        [by_customer, by_product, date_from, date_to, status],
        [by_customer.submit, by_product.submit, date_from.change, date_to.change, status.input],
        "list_purchases",
    )

    # `change`, not `input`: a pasted query searches too.
    gr.on(
        [customer_query.change, customer_query.submit],
        handlers.find_customers,
        customer_query,
        customer,
        api_name="find_customers",
        trigger_mode="always_last",
        show_progress="hidden",
    )
    gr.on(
        [product_query.change, product_query.submit],
        handlers.find_products,
        product_query,
        product,
        api_name="find_products",
        trigger_mode="always_last",
        show_progress="hidden",
    )
    preview = dict(
        fn=handlers.preview_purchase,
        inputs=[customer, lines, purchase_discount],
        outputs=[cart, total],
        show_progress="minimal",
    )
    preview_private = {**preview, **private}
    customer.input(**preview, api_name="preview_purchase")
    purchase_discount.submit(**preview_private)
    purchase_discount.blur(**preview_private)
    show = dict(
        fn=handlers.get_purchase,
        inputs=purchase_id,
        outputs=[purchase_id, details, purchase_lines, line],
    )
    load.click(**show, api_name="get_purchase")
    chain(
        add_line.click(
            handlers.add_line, [product, quantity, line_discount, lines], lines, **private
        ),
        preview_private,
    )
    chain(cart.select(handlers.remove_line, lines, lines, **private), preview_private)
    chain(
        clear.click(None, None, [lines, purchase_discount], js="() => [[], '']"),
        preview_private,
    )
    chain(
        confirm.click(
            handlers.record_purchase,
            [customer, lines, purchase_discount],
            [purchase_id, receipt, lines],
            api_name="record_purchase",
        ),
        # The next sale starts from nothing: no customer or product is carried over to it.
        dict(
            fn=None,
            inputs=None,
            outputs=[customer_query, customer, product_query, product, quantity, line_discount],
            js="() => ['', null, '', null, 1, '']",
        ),
        dict(fn=None, inputs=None, outputs=purchase_discount, js="() => ''"),
        preview_private,
        {**show, **private},
        refresh,
    )
    purchase_id.submit(**show, **private)
    chain(pager.table.select(handlers.pick_row, None, purchase_id, **private), {**show, **private})
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
