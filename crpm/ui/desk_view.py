"""How tickets and quotes read on screen, for customers and staff alike.

The service already decides what a viewer may see (a customer never gets internal notes or the
assignee); these functions only lay it out. Every value people typed is HTML-escaped.
"""

from __future__ import annotations

from html import escape

from crpm.services.servicedesk import CATEGORIES, PRIORITIES, QUOTE_STATUSES, TICKET_STATUSES
from crpm.ui.common import COUNT, DATE, MONEY, Column

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
    total = quote.total_cents
    return {
        "id": quote.id,
        "created_at": quote.created_at,
        "customer": f"#{quote.customer_id} {quote.customer_name}",
        "summary": " · ".join(part for part in (products, text) if part),
        "status": quote.status,
        "total": "—" if total is None else money(total),
        "valid_until": quote.valid_until or "—",  # a stored time: the table shows the shop's
        "purchase_id": quote.purchase_id or "",
    }


def as_stored(text):
    return text


def ticket_html(ticket, time=as_stored) -> str:
    """The ticket with its whole visible history, oldest first; `time` shows a stored time
    (ShopLocale.time: on the shop's clock)."""
    facts = [
        ("Status", f"{label(ticket.status)} since {time(ticket.status_changed_at)}"),
        ("Priority", ticket.priority),
        ("Category", ticket.category),
        ("Customer", f"#{ticket.customer_id} {ticket.customer_name}"),
        ("Opened by", f"{ticket.created_by} at {time(ticket.created_at)}"),
    ]
    if ticket.assignee_id is not None or ticket.assignee:
        facts.insert(3, ("Assignee", ticket.assignee))
    history = "".join(event_html(event, time) for event in ticket.events)
    return (
        f"<div class='crpm-ticket' id='ticket-{ticket.id}'>"
        f"<h3>Ticket #{ticket.id}: {escape(ticket.subject)}</h3>"
        f"{facts_html(facts)}"
        f"<p style='white-space:pre-wrap'>{escape(ticket.description) or '<i>No description</i>'}"
        f"</p><h4>History</h4><ol class='crpm-history' style='padding-left:1.2em'>{history}</ol>"
        "</div>"
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


def quote_html(quote, money, time=as_stored) -> str:
    """The quote, its lines with prices once priced, and what the customer can do with it."""
    facts = [
        ("Status", quote.status),
        ("Customer", f"#{quote.customer_id} {quote.customer_name}"),
        ("Requested", time(quote.created_at)),
    ]
    if quote.valid_until:
        facts.append(("Valid until", f"{time(quote.valid_until)[:10]} (to the end of that day)"))
    if quote.priced_by:
        facts.append(("Priced by", f"{quote.priced_by} at {time(quote.priced_at)}"))
    if quote.purchase_id:
        facts.append(("Purchase", f"#{quote.purchase_id}"))
    rows = "".join(
        f"<tr><td>{escape(line.sku)}</td><td>{escape(line.product_name)}</td>"
        f"<td style='text-align:right'>{line.quantity}</td>"
        f"<td style='text-align:right'>{price(line.unit_price_cents, money)}</td>"
        f"<td style='text-align:right'>{price(line.total_cents, money)}</td></tr>"
        for line in quote.lines
    )
    lines = (
        "<table style='width:100%'><tr><th>SKU</th><th>Product</th><th>Qty</th>"
        f"<th>Unit price</th><th>Line total</th></tr>{rows}"
        f"<tr><th colspan='4' style='text-align:right'>Total</th>"
        f"<th style='text-align:right'>{price(quote.total_cents, money)}</th></tr></table>"
        if quote.lines
        else ""
    )
    request = (
        f"<p style='white-space:pre-wrap'><b>Request:</b> {escape(quote.request_text)}</p>"
        if quote.request_text
        else ""
    )
    reply = (
        f"<p style='white-space:pre-wrap'><b>Our message:</b> {escape(quote.message)}</p>"
        if quote.message
        else ""
    )
    return (
        f"<div class='crpm-quote' id='quote-{quote.id}'><h3>Quote #{quote.id}</h3>"
        f"{facts_html(facts)}{request}{lines}{reply}</div>"
    )


def price(cents, money) -> str:
    return "—" if cents is None else escape(money(cents))


def facts_html(facts) -> str:
    items = " · ".join(f"<b>{escape(name)}:</b> {escape(label(value))}" for name, value in facts)
    return f"<p>{items}</p>"
