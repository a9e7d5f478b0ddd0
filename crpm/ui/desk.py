"""Service desk tab (staff): the ticket queue and a ticket's page (its history and handling), the
quote list and a quote's page (its lines and total, pricing, the customer's answer given for
them). The service refuses all of it to customers, whatever the page shows."""

from __future__ import annotations

from datetime import timedelta

import gradio as gr
import pandas as pd

from crpm.errors import ValidationError
from crpm.models import cents_to_decimal_text
from crpm.services.servicedesk import PRICEABLE
from crpm.ui.common import (
    Opener,
    Pager,
    UIContext,
    count,
    data_table,
    fetch_page,
    guarded,
    info,
    md,
    open_clicked,
    optional_id,
    page_info,
    required_id,
    table,
)
from crpm.ui.confirm import ask_first
from crpm.ui.customers import TIMELINE_COLUMNS
from crpm.ui.desk_view import (
    NO_QUOTE,
    NO_TICKET,
    PRIORITY_CHOICES,
    QUOTE_COLUMNS,
    QUOTE_LINE_COLUMNS,
    QUOTE_STATUS_CHOICES,
    STATUS_CHOICES,
    TICKET_COLUMNS,
    amount,
    answer_buttons,
    conversation_html,
    line_columns,
    quote_cards,
    quote_heading,
    quote_lines,
    quote_notes,
    quote_row,
    quote_totals,
    ticket_cards,
    ticket_heading,
    ticket_row,
)
from crpm.ui.pickers import Pickers, picker
from crpm.ui.recordpage import linked_table, page_top

ACTIVE = "active"  # the queue's default: open or in progress
QUEUE_STATUSES = [("Open or in progress", ACTIVE), *STATUS_CHOICES]
ASSIGNEE_FILTERS = [("Anyone", "all"), ("Unassigned", "unassigned"), ("Me", "me")]
PRICE_COLUMNS = line_columns(
    "product_name", "quantity", "list_price", "unit_price", "sku", "product_id"
)
PRICE_HEADINGS = {column.key: column.label for column in PRICE_COLUMNS}
# Staff type only the unit price; every other column of the pricing table is fixed.
FIXED_PRICE_COLUMNS = [
    number for number, column in enumerate(PRICE_COLUMNS) if column.key != "unit_price"
]
VALID_DAYS = 14
TICKET_HINT = "open a ticket: click it in the queue or search for it at the top"
QUOTE_HINT = "open a quote: click it in the list or search for it at the top"
PRIVATE = {"api_visibility": "private"}
PURCHASE_NOTES = {
    False: "#### Purchase\nNone yet: accepting the quote records one at its prices.",
    True: "#### Purchase\nThe quote became this purchase; click it to open its page.",
}
# How the desk's forms name what the service calls comment and message.
REPLY_LABELS = {"comment": "Reply or internal note"}
STATUS_LABELS = {"comment": "Public comment with the status change"}
PRICING_LABELS = {"message": "Message to the customer"}


class DeskHandlers:
    def __init__(self, ctx: UIContext):
        self.ctx = ctx
        self.desk = ctx.services.desk

    # --- tickets ----------------------------------------------------------------------

    @guarded
    def ticket_queue(
        self, status, priority, assignee, customer_id, page, page_size, request: gr.Request
    ):
        """Every customer's tickets, oldest first, by status, priority, assignee and customer.

        status: active (open or in progress), all, open, in_progress, resolved, closed;
        assignee: all, unassigned, me, or a username.
        """
        actor = self.ctx.actor(request)
        assignee = actor.user_id if assignee == "me" else assignee
        filters = dict(
            status=["open", "in_progress"] if status in (None, "", ACTIVE) else status,
            priority=str(priority or "all").lower(),
            assignee=assignee or "all",
            customer_id=optional_id(customer_id, "customer"),
        )
        found, number = fetch_page(
            lambda limit, offset: self.desk.queue(actor, **filters, limit=limit, offset=offset),
            page,
            page_size,
        )
        rows = [ticket_row(ticket) for ticket in found.items]
        shown = table(rows, TICKET_COLUMNS, self.ctx.shop.time)
        return shown, page_info(found, number, "ticket", True), number

    @guarded
    def desk_ticket(self, ticket_id, request: gr.Request):
        """A ticket with its whole history (internal notes included) and its current settings."""
        return self._open_ticket(required_id(ticket_id, "ticket", TICKET_HINT), request)

    @guarded
    def open_ticket(self, event: gr.SelectData, request: gr.Request):
        """A click on a row of the queue opens that ticket (its number and its view)."""
        return open_clicked(event, self._open_ticket, request)

    def _open_ticket(self, ticket_id: int, request) -> tuple:
        actor, staff = self._staff(request)
        return self._ticket_view(staff, self.desk.get_ticket(actor, ticket_id))

    def _staff(self, request) -> tuple:
        """The acting user and the assignable staff; asking for the list also refuses anyone
        who is not staff before anything is written."""
        actor = self.ctx.actor(request)
        staff = [user.username for user in self.ctx.services.accounts.staff_users(actor)]
        return actor, staff

    def _ticket_view(self, staff: list[str], ticket) -> tuple:
        """The ticket's page: its conversation, the settings its actions start from, then its
        heading and figure cards."""
        shop = self.ctx.shop
        assignee = gr.Dropdown(
            choices=["unassigned", *staff], value=ticket.assignee or "unassigned"
        )
        return (
            conversation_html(ticket, shop.time),
            ticket.status,
            ticket.priority.capitalize(),
            assignee,
            ticket_heading(ticket),
            ticket_cards(ticket, shop),
        )

    @guarded
    def assign_ticket(self, ticket_id, assignee, request: gr.Request):
        """Assign to a staff member (username or id), 'me', or 'unassigned'."""
        ticket_id = required_id(ticket_id, "ticket", TICKET_HINT)
        actor, staff = self._staff(request)
        who = actor.user_id if assignee == "me" else assignee
        ticket = self.desk.assign(actor, ticket_id, who)
        info(f"Ticket #{ticket.id} assigned to {ticket.assignee or 'nobody'}")
        return self._ticket_view(staff, ticket)

    @guarded(labels=STATUS_LABELS)
    def set_ticket_status(self, ticket_id, status, comment, request: gr.Request):
        """Move a ticket along open → in progress → resolved → closed, or reopen it."""
        ticket_id = required_id(ticket_id, "ticket", TICKET_HINT)
        actor, staff = self._staff(request)
        ticket = self.desk.set_status(actor, ticket_id, status, comment)
        info(f"Ticket #{ticket.id} is now {ticket.status.replace('_', ' ')}")
        return *self._ticket_view(staff, ticket), ""

    @guarded
    def set_ticket_priority(self, ticket_id, priority, request: gr.Request):
        ticket_id = required_id(ticket_id, "ticket", TICKET_HINT)
        actor, staff = self._staff(request)
        ticket = self.desk.set_priority(actor, ticket_id, priority)
        info(f"Ticket #{ticket.id} priority {ticket.priority}")
        return self._ticket_view(staff, ticket)

    @guarded(labels=REPLY_LABELS)
    def reply_ticket(self, ticket_id, body, request: gr.Request):
        """A public reply the customer sees."""
        return self._comment(ticket_id, body, False, request)

    @guarded(labels=REPLY_LABELS)
    def note_ticket(self, ticket_id, body, request: gr.Request):
        """An internal note the customer never sees."""
        return self._comment(ticket_id, body, True, request)

    def _comment(self, ticket_id, body, internal: bool, request) -> tuple:
        ticket_id = required_id(ticket_id, "ticket", TICKET_HINT)
        actor, staff = self._staff(request)
        ticket = self.desk.comment(actor, ticket_id, body, internal=internal)
        info(f"{'Internal note' if internal else 'Reply'} added to ticket #{ticket.id}")
        return *self._ticket_view(staff, ticket), ""

    # --- quotes -----------------------------------------------------------------------

    @guarded
    def quote_queue(self, status, customer_id, page, page_size, request: gr.Request):
        """Every customer's quotes, newest first, by status and customer."""
        actor = self.ctx.actor(request)
        found, number = fetch_page(
            lambda limit, offset: self.desk.quotes(
                actor,
                status=status or "all",
                customer_id=optional_id(customer_id, "customer"),
                limit=limit,
                offset=offset,
            ),
            page,
            page_size,
        )
        shop = self.ctx.shop  # the settings read once for the page, not once a row
        rows = [quote_row(quote, shop.money) for quote in found.items]
        shown = table(rows, QUOTE_COLUMNS, shop.time)
        return shown, page_info(found, number, "quote", True), number

    @guarded
    def desk_quote(self, quote_id, request: gr.Request):
        """A quote and its lines to price, prefilled with the list price or the last offer."""
        return self._open_quote(required_id(quote_id, "quote", QUOTE_HINT), request)

    @guarded
    def open_quote(self, event: gr.SelectData, request: gr.Request):
        """A click on a row of the quotes list opens that quote (its number and its view)."""
        return open_clicked(event, self._open_quote, request)

    def _open_quote(self, quote_id: int, request) -> tuple:
        actor = self.ctx.actor(request)
        return self._quote_page(actor, self.desk.get_quote(actor, quote_id))

    def _quote_page(self, actor, quote) -> tuple:
        """The quote's page: what was asked and answered, the pricing form (message and day
        prefilled), then its heading, figure cards, lines and totals, the purchase it became,
        and which actions its status leaves open."""
        shop = self.ctx.shop
        rows = []
        for line in quote.lines:
            listed = self.ctx.services.products.get(actor, line.product_id).price_cents
            offered = listed if line.unit_price_cents is None else line.unit_price_cents
            rows.append(
                {
                    **line.__dict__,
                    "list_price": shop.money(listed),
                    "unit_price": cents_to_decimal_text(offered),
                }
            )
        until = shop.time(quote.valid_until)[:10]
        if quote.status != "priced":
            until = (shop.day(self.ctx.clock) + timedelta(days=VALID_DAYS)).isoformat()
        bought = []
        if quote.purchase_id:
            bought = [self._purchase_entry(actor, quote.purchase_id, shop)]
        return (
            quote_notes(quote),
            table(rows, PRICE_COLUMNS),
            quote.message,
            until,
            quote_heading(quote, shop),
            quote_cards(quote, shop),
            table(quote_lines(quote, shop.money), QUOTE_LINE_COLUMNS),
            quote_totals(quote, shop.money),
            table(bought, TIMELINE_COLUMNS, shop.time),
            PURCHASE_NOTES[bool(bought)],
            # what its status leaves open: pricing, or the customer's answer given for them
            gr.Column(visible=quote.status in PRICEABLE),
            *answer_buttons(quote),
        )

    def _purchase_entry(self, actor, purchase_id: int, shop) -> dict:
        """The purchase an accepted quote became, as a customer's timeline lists it."""
        purchase = self.ctx.services.purchases.get(actor, purchase_id)
        units = sum(line.quantity for line in purchase.lines)
        return {
            "at": purchase.purchased_at,
            "what": f"Purchase #{purchase.id}",
            "title": f"{count(units, 'unit')}, {count(len(purchase.lines), 'line')}",
            "amount": shop.money(purchase.total_cents),
            "status": purchase.status,
        }

    @guarded(labels=PRICING_LABELS)
    def price_quote(self, quote_id, prices, valid_until, message, request: gr.Request):
        """Price a quote: `prices` is the table of lines with a 'Unit price' per 'Product ID';
        valid_until a day (YYYY-MM-DD)."""
        quote_id = required_id(quote_id, "quote", QUOTE_HINT)
        prices = [(line, self.ctx.amount(price, "prices")) for line, price in price_pairs(prices)]
        actor = self.ctx.actor(request)
        quote = self.desk.price_quote(actor, quote_id, prices, valid_until, message)
        info(f"Quote #{quote.id} priced; the customer can accept it until {valid_until}")
        return self._quote_page(actor, quote)

    @guarded
    def accept_quote_for_customer(self, quote_id, request: gr.Request):
        """Accept a priced quote for its customer (who said yes on the phone, say): it becomes
        their purchase at the quoted prices, with every stock rule of a purchase."""
        return self._answer(
            self.desk.accept_quote,
            quote_id,
            request,
            lambda quote: f"accepted for the customer: purchase #{quote.purchase_id} recorded",
        )

    @guarded
    def reject_quote_for_customer(self, quote_id, request: gr.Request):
        """Turn down a requested or priced quote for its customer."""
        return self._answer(
            self.desk.reject_quote, quote_id, request, lambda _: "rejected for the customer"
        )

    def _answer(self, answer, quote_id, request, done) -> tuple:
        """The customer's answer given by staff: `answer` (a desk method) on the quote, a toast
        saying what was `done` to it, and its page redrawn."""
        quote_id = required_id(quote_id, "quote", QUOTE_HINT)
        actor, _ = self._staff(request)
        quote = answer(actor, quote_id)
        info(f"Quote #{quote.id} {done(quote)}")
        return self._quote_page(actor, quote)

    @guarded
    def describe_reject_quote_for_customer(self, quote_id, request: gr.Request):
        """What reject_quote_for_customer would do, before anything happens."""
        quote_id = required_id(quote_id, "quote", QUOTE_HINT)
        actor, _ = self._staff(request)
        quote = self.desk.get_quote(actor, quote_id)
        total = amount(quote.total_cents, self.ctx.money)
        return (
            f"**Reject quote #{quote.id} of {md(quote.customer_name)} ({total}) for the "
            "customer?** It can no longer be accepted; buying at a quoted price then needs a "
            "new request."
        )


def price_pairs(prices) -> list[tuple]:
    """(product id, unit price text) from the pricing table, as the browser or an API sends it."""
    if isinstance(prices, dict):
        prices = pd.DataFrame(prices.get("data") or [], columns=prices.get("headers"))
    if not isinstance(prices, pd.DataFrame) or prices.empty:
        return []
    id_column, price_column = PRICE_HEADINGS["product_id"], PRICE_HEADINGS["unit_price"]
    if id_column not in prices or price_column not in prices:
        raise ValidationError("prices", f"need the columns {id_column!r} and {price_column!r}")
    return [
        (str(row[id_column]).strip(), str(row[price_column]).strip())
        for _, row in prices.iterrows()
    ]


def build(ctx: UIContext) -> list[dict]:
    handlers = DeskHandlers(ctx)
    with gr.Tabs() as inner:
        with gr.Tab("Tickets", id="desk-tickets"):
            refresh_tickets = build_tickets(handlers, inner)
        with gr.Tab("Quotes", id="desk-quotes") as quotes_tab:
            refresh_quotes = build_quotes(handlers, inner)
    quotes_tab.select(**refresh_quotes)
    return [refresh_tickets]


def customer_filter(handlers: DeskHandlers) -> gr.Dropdown:
    """A queue's customer filter: a name, e-mail or phone finds them; empty shows everyone's."""
    find = Pickers(handlers.ctx).find_customers
    return picker(find, "Of customer", "Name, e-mail or phone", "Customer (empty: all)").chosen


def build_tickets(handlers: DeskHandlers, inner: gr.Tabs) -> dict:
    with gr.Row(equal_height=True):
        status = gr.Dropdown(QUEUE_STATUSES, value=ACTIVE, label="Status")
        priority = gr.Dropdown(["All", *PRIORITY_CHOICES], value="All", label="Priority")
        assignee = gr.Dropdown(
            ASSIGNEE_FILTERS, value="all", label="Assignee", allow_custom_value=True
        )
        customer = customer_filter(handlers)
    pager = Pager.build("Ticket queue (oldest first)", TICKET_COLUMNS, "ticket", "ticket-queue")
    filters = [status, priority, assignee, customer]
    refresh = pager.wire(
        handlers.ticket_queue,
        filters,
        [status.input, priority.input, assignee.input, customer.change],
        "ticket_queue",
    )
    with gr.Column(elem_classes="crpm-card", elem_id="desk-ticket"):
        header, figures = page_top("ticket", NO_TICKET)
        # The open ticket's number: set by a row click or the search, never typed.
        ticket_id = gr.Number(label="Ticket ID", visible=False)
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, elem_id="ticket-conversation"):
                open_customer = gr.Button("Open the customer's page", size="sm")
                handlers.ctx.jumps.append((open_customer, "ticket", ticket_id))
                detail = gr.HTML()
                body = gr.Textbox(label="Reply or internal note", lines=3)
                with gr.Row():
                    reply = gr.Button("Send reply to customer", variant="primary")
                    note = gr.Button("Add internal note")
            with gr.Column(scale=2, elem_id="desk-ticket-actions"):
                gr.Markdown("#### Handle the ticket")
                with gr.Row(equal_height=True):
                    who = gr.Dropdown(["unassigned"], label="Assignee", allow_custom_value=True)
                    assign = gr.Button("Assign", scale=0, min_width=90)
                assign_me = gr.Button("Assign to me", size="sm")
                with gr.Row(equal_height=True):
                    new_status = gr.Dropdown(STATUS_CHOICES[1:], label="Status")
                    move = gr.Button("Set status", scale=0, min_width=90)
                status_comment = gr.Textbox(
                    label="Public comment with the status change (optional)"
                )
                with gr.Row(equal_height=True):
                    new_priority = gr.Dropdown(PRIORITY_CHOICES, label="Priority")
                    reprioritise = gr.Button("Set priority", scale=0, min_width=90)

    view = [detail, new_status, new_priority, who, header, figures]
    show = dict(fn=handlers.desk_ticket, inputs=ticket_id, outputs=view)
    # Published for API clients; in the page a ticket opens by a click or the search.
    ticket_id.submit(**show, api_name="desk_ticket")
    pager.table.select(handlers.open_ticket, None, [ticket_id, *view], **PRIVATE)
    handlers.ctx.openers["ticket"] = Opener(
        "desk", handlers.desk_ticket, view, key=ticket_id, inner=(inner, "desk-tickets"),
        anchor="ticket-header",
    )  # fmt: skip
    assign.click(handlers.assign_ticket, [ticket_id, who], view, api_name="assign_ticket").success(
        **refresh
    )
    assign_me.click(None, None, who, js="() => 'me'").then(
        handlers.assign_ticket, [ticket_id, who], view, **PRIVATE
    ).success(**refresh)
    move.click(
        handlers.set_ticket_status,
        [ticket_id, new_status, status_comment],
        [*view, status_comment],
        api_name="set_ticket_status",
    ).success(**refresh)
    reprioritise.click(
        handlers.set_ticket_priority,
        [ticket_id, new_priority],
        view,
        api_name="set_ticket_priority",
    ).success(**refresh)
    reply.click(
        handlers.reply_ticket, [ticket_id, body], [*view, body], api_name="reply_ticket"
    ).success(**refresh)
    note.click(handlers.note_ticket, [ticket_id, body], [*view, body], api_name="note_ticket")
    return refresh


def build_quotes(handlers: DeskHandlers, inner: gr.Tabs) -> dict:
    with gr.Row(equal_height=True):
        status = gr.Dropdown(QUOTE_STATUS_CHOICES, value="requested", label="Status")
        customer = customer_filter(handlers)
    pager = Pager.build("Quotes (newest first)", QUOTE_COLUMNS, "quote", "quote-queue")
    refresh = pager.wire(
        handlers.quote_queue, [status, customer], [status.input, customer.change], "quote_queue"
    )
    ctx = handlers.ctx
    with gr.Column(elem_classes="crpm-card", elem_id="desk-quote"):
        header, figures = page_top("quote", NO_QUOTE)
        # The open quote's number: set by a row click or the search, never typed.
        quote_id = gr.Number(label="Quote ID", visible=False)
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                lines = data_table(
                    QUOTE_LINE_COLUMNS, "Lines", max_height=300, elem_id="quote-lines"
                )
                total = gr.Markdown(elem_id="quote-total")
                detail = gr.HTML()
                purchase_note, purchase = linked_table(
                    ctx, TIMELINE_COLUMNS, "Purchase", "quote-purchase", PURCHASE_NOTES[False],
                    max_height=160,
                )  # fmt: skip
            with gr.Column(scale=2, elem_id="desk-quote-actions"):
                open_customer = gr.Button("Open the customer's page", size="sm")
                ctx.jumps.append((open_customer, "quote", quote_id))
                # Shown only while the quote's status allows them.
                accept = gr.Button("Accept for the customer", variant="primary", visible=False)
                reject = gr.Button("Reject for the customer", variant="stop", visible=False)
                reject_yes = ask_first(
                    reject,
                    handlers.describe_reject_quote_for_customer,
                    [quote_id],
                    "Yes, reject the quote",
                    apart=[(accept, None)],  # accepting closes the question
                )
        with gr.Column(visible=False, elem_id="quote-pricing") as pricing:
            gr.Markdown("#### Price the quote")
            prices = data_table(
                PRICE_COLUMNS,
                "Prices (type the unit price of each line)",
                interactive=True,
                static_columns=FIXED_PRICE_COLUMNS,
                row_count=(0, "fixed"),
                elem_id="quote-prices",
            )
            with gr.Row(equal_height=True):
                valid_until = gr.Textbox(label="Valid until (YYYY-MM-DD)")
                message = gr.Textbox(label="Message to the customer", scale=3)
            send = gr.Button("Send priced quote", variant="primary")

    page = [detail, prices, message, valid_until, header, figures, lines, total, purchase,
            purchase_note, pricing, accept, reject]  # fmt: skip
    show = dict(fn=handlers.desk_quote, inputs=quote_id, outputs=page)
    # Published for API clients; in the page a quote opens by a click or the search.
    quote_id.submit(**show, api_name="desk_quote")
    pager.table.select(handlers.open_quote, None, [quote_id, *page], **PRIVATE)
    ctx.openers["quote"] = Opener(
        "desk", handlers.desk_quote, page, key=quote_id, inner=(inner, "desk-quotes"),
        anchor="quote-header",
    )  # fmt: skip
    for button, handler, inputs, name in (
        (send, handlers.price_quote, [quote_id, prices, valid_until, message], "price_quote"),
        (accept, handlers.accept_quote_for_customer, [quote_id], "accept_quote_for_customer"),
        (reject_yes, handlers.reject_quote_for_customer, [quote_id], "reject_quote_for_customer"),
    ):
        button.click(handler, inputs, page, api_name=name).success(**refresh)
    return refresh
