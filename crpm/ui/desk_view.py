"""How tickets and quotes read on screen: in the customer's portal (ticket_html, quote_html,
in the customer's words) and on the staff desk's record pages.

The service already decides what a viewer may see (a customer never gets internal notes or the
assignee); these functions only lay it out. Every value people typed is HTML-escaped.
"""

from __future__ import annotations

from html import escape

import gradio as gr

from crpm.services.servicedesk import (
    ACCEPTABLE,
    CATEGORIES,
    PRIORITIES,
    QUOTE_STATUSES,
    REJECTABLE,
    TICKET_STATUSES,
)
from crpm.ui.common import CODE, COUNT, DATE, MONEY, Column, md, totals_text
from crpm.ui.reports import figure_cards

TICKET_COLUMNS = (
    Column("id", "ID", COUNT),
    Column("subject", "Subject"),
    Column("status", "Status"),
    Column("priority", "Priority"),
    Column("customer", "Customer"),
    Column("category", "Category"),
    Column("assignee", "Assignee"),
    Column("created_at", "Opened", DATE),
    Column("updated_at", "Last change", DATE),
)
# What was asked for can be long: it comes after what a person scans the list for.
QUOTE_COLUMNS = (
    Column("id", "ID", COUNT),
    Column("status", "Status"),
    Column("customer", "Customer"),
    Column("total", "Total", MONEY),
    Column("valid_until", "Valid until", DATE),
    Column("summary", "What"),
    Column("created_at", "Requested", DATE),
    Column("purchase_id", "Purchase", COUNT),
)
STATUS_CHOICES = [("All", "all")] + [(s.replace("_", " ").capitalize(), s) for s in TICKET_STATUSES]
PRIORITY_CHOICES = [p.capitalize() for p in PRIORITIES]
CATEGORY_CHOICES = [c.capitalize() for c in CATEGORIES]
QUOTE_STATUS_CHOICES = [("All", "all")] + [(s.capitalize(), s) for s in QUOTE_STATUSES]
EVENT_VERBS = {
    "created": "opened the ticket",
    "comment": "wrote",
    "note": "left an internal note",
    "status": "changed the status",
    "assignment": "changed the assignee",
    "priority": "changed the priority",
}


def label(value) -> str:
    return "—" if value in (None, "") else str(value).replace("_", " ")


def ticket_row(ticket) -> dict:
    return {
        **ticket.to_dict(),
        "status": label(ticket.status),
        "customer": f"#{ticket.customer_id} {ticket.customer_name}",
        "assignee": ticket.assignee or "—",
    }


def quote_row(quote, money) -> dict:
    products = ", ".join(f"{line.quantity} × {line.sku}" for line in quote.lines)
    text = quote.request_text[:60] + ("…" if len(quote.request_text) > 60 else "")
    return {
        "id": quote.id,
        "created_at": quote.created_at,
        "customer": f"#{quote.customer_id} {quote.customer_name}",
        "summary": " · ".join(part for part in (products, text) if part),
        "status": quote.status,
        "total": amount(quote.total_cents, money),
        "valid_until": quote.valid_until or "—",  # a stored time: the table shows the shop's
        "purchase_id": quote.purchase_id or "",
    }


def as_stored(text):
    return text


def ticket_html(ticket, time=as_stored) -> str:
    """The customer's ticket with its whole visible history, oldest first; `time` shows a
    stored time (ShopLocale.time: on the shop's clock)."""
    facts = [
        ("Status", f"{label(ticket.status)} since {time(ticket.status_changed_at)}"),
        ("Priority", ticket.priority),
        ("Category", ticket.category),
        ("Opened by", f"{ticket.created_by} at {time(ticket.created_at)}"),
    ]
    if ticket.assignee_id is not None or ticket.assignee:
        facts.insert(3, ("Assignee", ticket.assignee))
    return (
        f"<div class='crpm-ticket' id='ticket-{ticket.id}'>"
        f"<h3>Ticket #{ticket.id}: {escape(ticket.subject)}</h3>"
        f"{facts_html(facts)}{conversation_html(ticket, time)}</div>"
    )


def conversation_html(ticket, time=as_stored) -> str:
    """What the customer asked and everything said and done since, oldest first."""
    history = "".join(event_html(event, time) for event in ticket.events)
    return (
        f"<p style='white-space:pre-wrap'>{escape(ticket.description) or '<i>No description</i>'}"
        f"</p><h4>History</h4><ol class='crpm-history' style='padding-left:1.2em'>{history}</ol>"
    )


def event_html(event, time=as_stored) -> str:
    verb = EVENT_VERBS.get(event.kind, event.kind)
    change = ""
    if event.kind != "created" and (event.old_value is not None or event.new_value is not None):
        change = f": {escape(label(event.old_value))} → {escape(label(event.new_value))}"
    internal = event.visibility == "internal"
    style = "background:#fff7ed;border-left:3px solid #f59e0b;" if internal else ""
    tag = " <b style='color:#b45309'>(internal)</b>" if internal else ""
    body = (
        f"<div style='white-space:pre-wrap;margin:2px 0 4px'>{escape(event.body)}</div>"
        if event.body
        else ""
    )
    return (
        f"<li class='crpm-event crpm-event-{event.kind}' style='margin:6px 0;padding:4px 6px;"
        f"{style}'><small>{escape(time(event.created_at))}</small> <b>{escape(event.author)}</b> "
        f"{verb}{change}{tag}{body}</li>"
    )


def answer_buttons(quote=None) -> tuple[gr.Button, gr.Button]:
    """A quote's Accept and Reject buttons as its status leaves them open (the service's own
    rules): Accept for a priced, still valid quote, Reject for a requested or priced one;
    neither before a quote is opened."""
    status = quote.status if quote is not None else None
    return gr.Button(visible=status in ACCEPTABLE), gr.Button(visible=status in REJECTABLE)


def quote_html(quote, money, time=as_stored) -> str:
    """The customer's quote, its lines with prices once priced, and the order it became."""
    facts = [
        ("Status", quote.status),
        ("Requested", time(quote.created_at)),
    ]
    if quote.valid_until:
        facts.append(("Valid until", f"{time(quote.valid_until)[:10]} (to the end of that day)"))
    if quote.priced_by:
        facts.append(("Priced by", f"{quote.priced_by} at {time(quote.priced_at)}"))
    if quote.purchase_id:
        facts.append(("Your order", f"#{quote.purchase_id}"))
    rows = "".join(
        f"<tr><td>{escape(line.sku)}</td><td>{escape(line.product_name)}</td>"
        f"<td style='text-align:right'>{line.quantity}</td>"
        f"<td style='text-align:right'>{price(line.unit_price_cents, money)}</td>"
        f"<td style='text-align:right'>{price(line.total_cents, money)}</td></tr>"
        for line in quote.lines
    )
    lines = (  # a phone scrolls the lines sideways inside the card, not the page
        "<div style='overflow-x:auto'><table style='width:100%'><tr><th>SKU</th>"
        "<th>Product</th><th>Qty</th><th>Unit price</th><th>Line total</th></tr>"
        f"{rows}<tr><th colspan='4' style='text-align:right'>Total</th>"
        f"<th style='text-align:right'>{price(quote.total_cents, money)}</th></tr></table></div>"
        if quote.lines
        else ""
    )
    request, reply = said(quote.request_text, "Request"), said(quote.message, "Our message")
    return (
        f"<div class='crpm-quote' id='quote-{quote.id}'><h3>Quote #{quote.id}</h3>"
        f"{facts_html(facts)}{request}{lines}{reply}</div>"
    )


def said(text: str, who: str) -> str:
    """A quote's request or the shop's answer, as typed; nothing when empty."""
    return f"<p style='white-space:pre-wrap'><b>{who}:</b> {escape(text)}</p>" if text else ""


def amount(cents, money) -> str:
    """Money, or "—" for a price not given yet."""
    return "—" if cents is None else money(cents)


def price(cents, money) -> str:
    return escape(amount(cents, money))


def facts_html(facts) -> str:
    items = " · ".join(f"<b>{escape(name)}:</b> {escape(label(value))}" for name, value in facts)
    return f"<p>{items}</p>"


# --- a ticket's and a quote's record page (staff) ------------------------------------------

NO_TICKET = "### Ticket\nClick a ticket in the queue, or search for it at the top."
NO_QUOTE = "### Quote\nClick a quote in the list, or search for it at the top."
# The columns a quote's lines may show, by key: its page's lines, the pricing table.
LINE_COLUMNS = {
    column.key: column
    for column in (
        Column("product_name", "Product"),
        Column("quantity", "Qty", COUNT),
        Column("list_price", "List price", MONEY),
        Column("unit_price", "Unit price", MONEY),
        Column("line_total", "Line total", MONEY),
        Column("sku", "SKU", CODE),
        Column("product_id", "Product ID", COUNT),
    )
}


def line_columns(*keys: str) -> tuple[Column, ...]:
    return tuple(LINE_COLUMNS[key] for key in keys)


QUOTE_LINE_COLUMNS = line_columns("product_name", "quantity", "unit_price", "line_total", "sku")
PRESSING = ("high", "urgent")  # priorities whose card is marked
QUOTE_STATE = {
    "requested": "waiting for prices",
    "priced": "waiting for the customer's answer",
    "accepted": "it became a purchase",
    "rejected": "turned down",
    "expired": "its validity date passed",
}


def moment(shop, stored) -> tuple[str, str]:
    """A stored UTC time on the shop's clock (ShopLocale) as (day, time of day)."""
    shown = shop.time(stored, seconds=False) if stored else ""
    return shown[:10] or "—", shown[11:]


def ticket_heading(ticket) -> str:
    return (
        f"### Ticket #{ticket.id} · {md(ticket.subject)}\n"
        f"{md(ticket.customer_name)} (customer #{ticket.customer_id}) · {label(ticket.category)}"
    )


def ticket_cards(ticket, shop) -> str:
    """Status, priority, assignee, when it was opened and last changed (the shop's time)."""
    opened, changed, since = (
        moment(shop, stored)
        for stored in (ticket.created_at, ticket.updated_at, ticket.status_changed_at)
    )
    return figure_cards(
        [
            ("Status", label(ticket.status).capitalize(), f"since {' '.join(since)}", False),
            ("Priority", ticket.priority.capitalize(), "", ticket.priority in PRESSING),
            ("Assignee", ticket.assignee or "unassigned", "", False),
            ("Opened", opened[0], f"{opened[1]} by {ticket.created_by}", False),
            ("Last change", *changed, False),
        ]
    )


def quote_heading(quote, shop) -> str:
    requested = shop.time(quote.created_at, seconds=False)
    priced = ""
    if quote.priced_by:
        priced = f" · priced by {md(quote.priced_by)} {shop.time(quote.priced_at, seconds=False)}"
    return (
        f"### Quote #{quote.id} · {md(quote.customer_name)}\n"
        f"customer #{quote.customer_id} · requested {requested}{priced}"
    )


def quote_cards(quote, shop) -> str:
    """Status, total, validity and when it was asked for (the shop's time)."""
    total = quote.total_cents
    until = moment(shop, quote.valid_until)
    return figure_cards(
        [
            ("Status", quote.status.capitalize(), QUOTE_STATE[quote.status], False),
            (
                "Total",
                amount(total, shop.money),
                "not priced yet" if total is None else "with tax, after discounts",
                False,
            ),
            (
                "Valid until",
                until[0],
                "to the end of that day" if quote.valid_until else "set when priced",
                quote.status == "expired",
            ),
            ("Requested", *moment(shop, quote.created_at), False),
        ]
    )


def quote_lines(quote, money) -> list[dict]:
    """The quote's lines as QUOTE_LINE_COLUMNS show them ("—" for a price not given yet)."""
    return [
        {
            **line.__dict__,
            "unit_price": amount(line.unit_price_cents, money),
            "line_total": amount(line.total_cents, money),
        }
        for line in quote.lines
    ]


def quote_totals(quote, money) -> str:
    figures = quote.figures
    return "Not priced yet." if figures is None else totals_text(money, figures)


def quote_notes(quote) -> str:
    """What the customer asked in words and what the shop answered."""
    return said(quote.request_text, "Request") + said(quote.message, "Our message")
