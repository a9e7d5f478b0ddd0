"""The customer's own tabs: My purchases, My tickets, My quotes.

Every handler passes the logged-in customer to the service, which limits it to that customer's
own records (someone else's ticket or quote reads as "not found"). The pages speak to the
customer ("your order"), never in the staff's words ("record", "customer #12").
"""

from __future__ import annotations

import gradio as gr

from crpm.models import parse_quantity
from crpm.permissions import ensure
from crpm.services.purchases import normalise_lines
from crpm.ui import desk_view as view
from crpm.ui import downloads
from crpm.ui.common import (
    COUNT,
    HISTORY_COLUMNS,
    Column,
    Pager,
    UIContext,
    chain,
    count,
    data_table,
    fetch_page,
    guarded,
    info,
    md,
    open_clicked,
    page_info,
    required_id,
    table,
    whole_number,
    without_clicked,
)
from crpm.ui.confirm import ask_first
from crpm.ui.pickers import PICKER_LIMIT

MY_TICKET_COLUMNS = tuple(
    column for column in view.TICKET_COLUMNS if column.key not in ("assignee", "customer")
)
# A customer's own purchase lines: the purchase is their order.
MY_HISTORY_COLUMNS = tuple(
    Column(column.key, "Order", column.kind) if column.key == "purchase_id" else column
    for column in HISTORY_COLUMNS
)
# A customer's own quotes: no customer column; the purchase a quote became is their order.
MY_QUOTE_COLUMNS = tuple(
    Column(column.key, "Order", column.kind) if column.key == "purchase_id" else column
    for column in view.QUOTE_COLUMNS
    if column.key != "customer"
)
CART_COLUMNS = (
    Column("label", "Product"),
    Column("quantity", "Qty", COUNT),
    Column("product_id", "Product ID", COUNT),
)
TICKET_HINT = "open one of your tickets: click it in the list"
QUOTE_HINT = "open one of your quotes: click it in the list"
PRIVATE = {"api_visibility": "private"}
COMMENT_LABELS = {"comment": "Your comment"}  # how the portal names a ticket comment


class PortalHandlers:
    def __init__(self, ctx: UIContext):
        self.ctx = ctx
        self.desk = ctx.services.desk

    # --- purchases --------------------------------------------------------------------

    @guarded
    def my_purchases(self, page, page_size, request: gr.Request):
        """The logged-in customer's purchase lines, newest first, and what they spent."""
        actor = self.ctx.actor(request)
        ensure(actor, "own_records")  # a staff login has no history of its own to show
        found, number = fetch_page(
            lambda limit, offset: self.ctx.services.purchases.history(
                actor, actor.customer_id, limit=limit, offset=offset
            ),
            page,
            page_size,
        )
        shop = self.ctx.shop
        rows = [self.ctx.history_line(row, shop) for row in found.items]
        spent = shop.money(found.extra["total_spent_cents"])
        info = page_info(found, number, "line")
        if found.total:
            info += f" · {count(found.extra['purchases'], 'order')}, total spent **{spent}**"
        invoices = {row["purchase_id"]: row["invoice_number"] for row in found.items}
        links = [
            downloads.link(downloads.INVOICE_ROUTE.format(purchase_id=purchase_id), number)
            for purchase_id, number in invoices.items()
            if number
        ]
        if links:
            info += "  \nInvoices (PDF): " + " · ".join(links)
        return table(rows, MY_HISTORY_COLUMNS), info, number

    # --- tickets ----------------------------------------------------------------------

    @guarded
    def my_tickets(self, status, page, page_size, request: gr.Request):
        """The customer's own tickets, most recently changed first."""
        actor = self.ctx.actor(request)
        found, number = fetch_page(
            lambda limit, offset: self.desk.my_tickets(
                actor, status=status or "all", limit=limit, offset=offset
            ),
            page,
            page_size,
        )
        rows = [view.ticket_row(ticket) for ticket in found.items]
        info = page_info(found, number, "ticket", filtered=status not in (None, "", "all"))
        return table(rows, MY_TICKET_COLUMNS, self.ctx.shop.time), info, number

    @guarded
    def raise_ticket(self, subject, description, category, priority, request: gr.Request):
        """Open a ticket; answers with its ID and how it reads now."""
        ticket = self.desk.raise_ticket(
            self.ctx.actor(request), subject, description, category, priority
        )
        info(f"Ticket #{ticket.id} opened; we will answer here")
        return ticket.id, view.ticket_html(ticket, self.ctx.shop.time)

    @guarded
    def ticket_detail(self, ticket_id, request: gr.Request):
        """One of your tickets with its public history (staff see internal notes too)."""
        ticket_id = required_id(ticket_id, "ticket", TICKET_HINT)
        ticket = self.desk.get_ticket(self.ctx.actor(request), ticket_id)
        return view.ticket_html(ticket, self.ctx.shop.time)

    @guarded
    def open_my_ticket(self, event: gr.SelectData, request: gr.Request):
        """A click on a row of your tickets opens that ticket (as ticket_detail shows it)."""
        return open_clicked(event, self.ticket_detail, request)

    @guarded(labels=COMMENT_LABELS)
    def comment_ticket(self, ticket_id, body, request: gr.Request):
        """Add a comment to a ticket; a comment on a resolved ticket reopens it."""
        ticket_id = required_id(ticket_id, "ticket", TICKET_HINT)
        ticket = self.desk.comment(self.ctx.actor(request), ticket_id, body)
        info(f"Comment added to ticket #{ticket.id}")
        return view.ticket_html(ticket, self.ctx.shop.time), ""

    @guarded(labels=COMMENT_LABELS)
    def close_ticket(self, ticket_id, comment, request: gr.Request):
        """Close a ticket, with an optional last comment."""
        ticket_id = required_id(ticket_id, "ticket", TICKET_HINT)
        ticket = self.desk.close_ticket(self.ctx.actor(request), ticket_id, comment)
        info(f"Ticket #{ticket.id} closed")
        return view.ticket_html(ticket, self.ctx.shop.time), ""

    # --- quotes -----------------------------------------------------------------------

    @guarded
    def find_catalogue(self, query, request: gr.Request):
        """Up to 20 active products matching a SKU, name or category, for a quote request."""
        found = self.desk.catalogue(self.ctx.actor(request), query or "", limit=PICKER_LIMIT)
        choices = [
            f"#{item['id']} {item['sku']} · {item['name']} · list "
            f"{self.ctx.money(item['price_cents'])}"
            + ("" if item["in_stock"] else " · out of stock")
            for item in found.items
        ]
        return gr.Dropdown(choices=choices, value=choices[0] if choices else None)

    @guarded
    def add_quote_line(self, choice, quantity, lines):
        """Put a catalogue product and a quantity into the request being prepared."""
        text = str(choice or "").strip()
        product_id = required_id(text.split(" ", 1)[0], "product", "search and pick a product")
        quantity = parse_quantity(whole_number(quantity))
        labels = {line["product_id"]: line.get("label", "") for line in lines or []}
        labels.setdefault(product_id, text.split(" ", 1)[-1].split(" · list")[0])
        merged = normalise_lines([*(lines or []), {"product_id": product_id, "quantity": quantity}])
        lines = [{**line, "label": labels[line["product_id"]]} for line in merged]
        return lines, table(lines, CART_COLUMNS)

    @staticmethod
    @guarded
    def remove_quote_line(lines, event: gr.SelectData):
        """A click on a line of the request takes it out."""
        kept = without_clicked(lines or [], event)
        return kept, table(kept, CART_COLUMNS)

    @guarded
    def request_quote(self, lines, text, request: gr.Request):
        """Ask for a price: lines as [{"product_id", "quantity"}], free text, or both."""
        # the service checks the lines' shape; the page's lines also carry a label it ignores
        quote = self.desk.request_quote(self.ctx.actor(request), lines or [], text)
        info(f"Quote #{quote.id} requested; we will price it soon")
        return (
            quote.id,
            view.quote_html(quote, self.ctx.money, self.ctx.shop.time),
            [],
            table([], CART_COLUMNS),
            "",
            *view.answer_buttons(quote),
        )

    @guarded
    def my_quotes(self, status, page, page_size, request: gr.Request):
        """The customer's own quotes, newest first."""
        actor = self.ctx.actor(request)
        found, number = fetch_page(
            lambda limit, offset: self.desk.my_quotes(
                actor, status=status or "all", limit=limit, offset=offset
            ),
            page,
            page_size,
        )
        shop = self.ctx.shop  # the settings read once for the page, not once a row
        rows = [view.quote_row(quote, shop.money) for quote in found.items]
        info = page_info(found, number, "quote", filtered=status not in (None, "", "all"))
        return table(rows, MY_QUOTE_COLUMNS, shop.time), info, number

    @guarded
    def quote_detail(self, quote_id, request: gr.Request):
        """One quote with its lines and prices (and, in the page, the answers it leaves open)."""
        quote_id = required_id(quote_id, "quote", QUOTE_HINT)
        return self._quote_view(self.desk.get_quote(self.ctx.actor(request), quote_id))

    def _quote_view(self, quote) -> tuple:
        """The quote as the customer reads it, then its Accept and Reject buttons shown only
        while its status allows them (not API outputs: a client gets the HTML alone)."""
        shown = view.quote_html(quote, self.ctx.money, self.ctx.shop.time)
        return shown, *view.answer_buttons(quote)

    @guarded
    def open_my_quote(self, event: gr.SelectData, request: gr.Request):
        """A click on a row of your quotes opens that quote (as quote_detail shows it)."""
        return open_clicked(event, self.quote_detail, request)

    @guarded
    def accept_quote(self, quote_id, request: gr.Request):
        """Accept a priced quote: it becomes a purchase at the quoted prices."""
        quote_id = required_id(quote_id, "quote", QUOTE_HINT)
        quote = self.desk.accept_quote(self.ctx.actor(request), quote_id)
        info(f"Quote #{quote.id} accepted: your order #{quote.purchase_id} is placed")
        return self._quote_view(quote)

    @guarded
    def reject_quote(self, quote_id, request: gr.Request):
        """Turn down a requested or priced quote."""
        quote_id = required_id(quote_id, "quote", QUOTE_HINT)
        quote = self.desk.reject_quote(self.ctx.actor(request), quote_id)
        info(f"Quote #{quote.id} rejected; the shop is told")
        return self._quote_view(quote)

    @guarded
    def describe_accept_quote(self, quote_id, request: gr.Request):
        """What accept_quote would do, before anything happens."""
        quote = self._asked_about(quote_id, request)
        total = view.amount(quote.total_cents, self.ctx.money)
        return (
            f"**Accept quote #{quote.id} and buy at the quoted total of {md(total)}?** Your "
            "order is placed at the quoted prices and shows under My purchases."
        )

    @guarded
    def describe_reject_quote(self, quote_id, request: gr.Request):
        """What reject_quote would do, before anything happens."""
        quote = self._asked_about(quote_id, request)
        total = "" if quote.total_cents is None else f" ({md(self.ctx.money(quote.total_cents))})"
        return (
            f"**Reject quote #{quote.id}{total}?** The shop is told you turned it down. This "
            "cannot be undone: to buy these later, ask for a new quote."
        )

    def _asked_about(self, quote_id, request):
        return self.desk.get_quote(
            self.ctx.actor(request), required_id(quote_id, "quote", QUOTE_HINT)
        )


def build_purchases(ctx: UIContext) -> list[dict]:
    handlers = PortalHandlers(ctx)
    gr.Markdown("### What you bought\nEvery line of your purchases, newest first.")
    pager = Pager.build("Your purchases", MY_HISTORY_COLUMNS, "line", "my-purchases")
    return [pager.wire(handlers.my_purchases, [], [], "my_purchases")]


def build_tickets(ctx: UIContext) -> list[dict]:
    handlers = PortalHandlers(ctx)
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, elem_classes="crpm-card", elem_id="ticket-new"):
            gr.Markdown("### Ask for help\nTell us what happened; we answer in this tab.")
            subject = gr.Textbox(label="Subject *", max_length=200)
            description = gr.Textbox(label="Description", lines=4)
            with gr.Row():
                category = gr.Dropdown(view.CATEGORY_CHOICES, value="General", label="Category")
                priority = gr.Dropdown(view.PRIORITY_CHOICES, value="Normal", label="Priority")
            raise_button = gr.Button("Send ticket", variant="primary")
        with gr.Column(scale=3, elem_classes="crpm-card", elem_id="ticket-view"):
            # The open ticket's number: set by a click on the list or a new ticket, never typed.
            ticket_id = gr.Number(label="Ticket ID", visible=False)
            detail = gr.HTML("<p class='crpm-empty'>Click a ticket in the list below.</p>")
            body = gr.Textbox(label="Your comment", lines=3)
            with gr.Row():
                send = gr.Button("Add comment", variant="primary")
                close = gr.Button("Close ticket")

    status = gr.Radio(view.STATUS_CHOICES, value="all", label="Status")
    pager = Pager.build("Your tickets", MY_TICKET_COLUMNS, "ticket", "my-tickets")
    refresh = pager.wire(handlers.my_tickets, [status], [status.input], "my_tickets")

    show = dict(fn=handlers.ticket_detail, inputs=ticket_id, outputs=detail)
    # Published for API clients; in the page a ticket opens by a click on the list.
    ticket_id.submit(**show, api_name="ticket_detail")
    pager.table.select(handlers.open_my_ticket, None, [ticket_id, detail], **PRIVATE)
    chain(
        raise_button.click(
            handlers.raise_ticket,
            [subject, description, category, priority],
            [ticket_id, detail],
            api_name="raise_ticket",
        ),
        dict(fn=None, inputs=None, outputs=[subject, description], js="() => ['', '']"),
        refresh,
    )
    send.click(
        handlers.comment_ticket, [ticket_id, body], [detail, body], api_name="comment_ticket"
    ).success(**refresh)
    close.click(
        handlers.close_ticket, [ticket_id, body], [detail, body], api_name="close_ticket"
    ).success(**refresh)
    return [refresh]


def build_quotes(ctx: UIContext) -> list[dict]:
    handlers = PortalHandlers(ctx)
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, elem_classes="crpm-card", elem_id="quote-new"):
            gr.Markdown("### Ask for a quote\nPick products from our catalogue, or describe it.")
            with gr.Row(equal_height=True):
                query = gr.Textbox(label="Search the catalogue", placeholder="SKU, name or kind")
                product = gr.Dropdown([], label="Product", allow_custom_value=True, scale=2)
                quantity = gr.Number(label="Qty", value=1, scale=0, min_width=80)
                add = gr.Button("Add", scale=0, min_width=80)
            lines = gr.JSON(value=[], visible=False)
            cart = data_table(
                CART_COLUMNS,
                "Your request (click a line to remove it)",
                max_height=240,
                elem_id="quote-request-lines",
            )
            text = gr.Textbox(label="Anything else (free text)", lines=2)
            ask = gr.Button("Request quote", variant="primary")
        with gr.Column(scale=2, elem_classes="crpm-card", elem_id="quote-view"):
            # The open quote's number: set by a click on the list or a new request, never typed.
            quote_id = gr.Number(label="Quote ID", visible=False)
            detail = gr.HTML("<p class='crpm-empty'>Click a quote in the list below.</p>")
            # Shown only while the open quote's status allows them; each asks first.
            with gr.Row():
                accept = gr.Button("Accept and buy", variant="primary", visible=False)
                reject = gr.Button("Reject", variant="stop", visible=False)
            answers = []  # one question open at a time
            accept_yes = ask_first(
                accept,
                handlers.describe_accept_quote,
                [quote_id],
                "Yes, accept and buy",
                variant="primary",
                apart=answers,
            )
            reject_yes = ask_first(
                reject,
                handlers.describe_reject_quote,
                [quote_id],
                "Yes, reject the quote",
                apart=answers,
            )

    status = gr.Radio(view.QUOTE_STATUS_CHOICES, value="all", label="Status")
    pager = Pager.build("Your quotes", MY_QUOTE_COLUMNS, "quote", "my-quotes")
    refresh = pager.wire(handlers.my_quotes, [status], [status.input], "my_quotes")

    # `change`, not `input`: a pasted query searches too.
    gr.on(
        [query.change, query.submit],
        handlers.find_catalogue,
        query,
        product,
        api_name="find_catalogue",
        trigger_mode="always_last",
        show_progress="hidden",
    )
    add.click(handlers.add_quote_line, [product, quantity, lines], [lines, cart], **PRIVATE)
    cart.select(handlers.remove_quote_line, lines, [lines, cart], **PRIVATE)
    shown = [detail, accept, reject]  # the quote, then the answers it leaves open
    chain(
        ask.click(
            handlers.request_quote,
            [lines, text],
            [quote_id, detail, lines, cart, text, accept, reject],
            api_name="request_quote",
        ),
        refresh,
    )
    show = dict(fn=handlers.quote_detail, inputs=quote_id, outputs=shown)
    # Published for API clients; in the page a quote opens by a click on the list.
    quote_id.submit(**show, api_name="quote_detail")
    pager.table.select(handlers.open_my_quote, None, [quote_id, *shown], **PRIVATE)
    accept_yes.click(handlers.accept_quote, quote_id, shown, api_name="accept_quote").success(
        **refresh
    )
    reject_yes.click(handlers.reject_quote, quote_id, shown, api_name="reject_quote").success(
        **refresh
    )
    return [refresh]
