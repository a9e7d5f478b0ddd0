"""Customers tab: a searchable paged list; a click on a row opens the customer's page (profile to
edit, totals, RFM segment, the timeline of everything they did, purchase lines on demand); "Add a
customer" opens the form on demand. Deactivate, reactivate and invite to the portal act on the
open customer."""

from __future__ import annotations

import gradio as gr
from gradio import route_utils

from crpm.errors import ValidationError
from crpm.models import CUSTOMER_FIELDS, is_digits
from crpm.ui.common import (
    COUNT,
    DATE,
    HISTORY_COLUMNS,
    MONEY,
    Column,
    Opener,
    Pager,
    UIContext,
    clicked_id,
    count,
    data_table,
    fetch_page,
    guarded,
    info,
    md,
    page_info,
    table,
)
from crpm.ui.confirm import HIDE, SHOW, ask_first
from crpm.ui.forms import RecordHandlers
from crpm.ui.recordpage import linked_table, page_top
from crpm.ui.reports import figure_cards

LIST_COLUMNS = (
    Column("id", "ID", COUNT),
    Column("name", "Name"),
    Column("email", "E-mail"),
    Column("phone", "Phone"),
    Column("company", "Company"),
    Column("city", "City"),
    Column("country", "Country"),
    Column("status", "Status"),
)
LABELS = {
    "name": "Name *",
    "email": "E-mail *",
    "phone": "Phone",
    "company": "Company",
    "address": "Address",
    "city": "City",
    "country": "Country",
    "notes": "Notes",
}
STATUS_CHOICES = [("Active", "active"), ("Inactive", "inactive"), ("All", "all")]
HISTORY_LIMIT = 200
TIMELINE_LIMIT = 100
# The timeline's columns, key ones first (a phone shows those before scrolling sideways).
TIMELINE_COLUMNS = (
    Column("at", "When", DATE),
    Column("what", "What"),
    Column("title", "Details"),
    Column("amount", "Amount", MONEY),
    Column("status", "Status"),
)
KIND_NAMES = {
    "purchase": "Purchase",
    "cancellation": "Cancelled purchase",
    "return": "Return on purchase",
    "ticket": "Ticket",
    "quote": "Quote",
}
# What a timeline row opens: a return or a cancellation opens its purchase.
OPENS = {"purchase": "purchase", "cancellation": "purchase", "return": "purchase",
         "ticket": "ticket", "quote": "quote"}  # fmt: skip
PICK_HINT = "open a customer: click a row of the table"
NO_CUSTOMER = "### Customer\nClick a customer in the table to open their page."
TITLE = "Customer #{id} {name}"  # how a toast names the record
# Browser-only steps: show the invitation link once made; empty and hide it when another
# customer is opened, so a link never stands beside the wrong record, and close their purchase
# lines (opening them loads the new customer's).
FORGET = (
    "() => [{__type__: 'update', value: '', visible: false}, '', {__type__: 'update', open: false}]"
)


def app_url(request: gr.Request) -> str:
    """The dashboard's address as the caller reached it (a proxy's forwarded host and scheme
    too), without a trailing slash: links staff pass on are built from it."""
    raw = request.request
    route = route_utils.get_api_call_path(raw)
    return route_utils.get_root_url(raw, route, getattr(raw.app, "root_path", None))


def customer_form() -> list[gr.Textbox]:
    """The customer fields, in CUSTOMER_FIELDS order, laid out two to a row."""
    boxes = {}
    with gr.Row():
        boxes["name"] = gr.Textbox(label=LABELS["name"], placeholder="Ada Lovelace")
        boxes["email"] = gr.Textbox(label=LABELS["email"], placeholder="ada@example.com")
    with gr.Row():
        boxes["phone"] = gr.Textbox(label=LABELS["phone"], placeholder="+44 20 7946 0000")
        boxes["company"] = gr.Textbox(label=LABELS["company"])
    boxes["address"] = gr.Textbox(label=LABELS["address"])
    with gr.Row():
        boxes["city"] = gr.Textbox(label=LABELS["city"])
        boxes["country"] = gr.Textbox(label=LABELS["country"])
    boxes["notes"] = gr.Textbox(label=LABELS["notes"], lines=2)
    return [boxes[name] for name in CUSTOMER_FIELDS]


class CustomerHandlers(RecordHandlers):
    """One method per event; each asks who is acting and calls one service method."""

    def __init__(self, ctx: UIContext):
        super().__init__(ctx, ctx.services.customers, "customer", PICK_HINT, TITLE)

    @guarded
    def list_customers(self, search, status, page, page_size, request: gr.Request):
        """A page of customers matching a search (name, e-mail, phone, company) and status."""
        actor = self.ctx.actor(request)
        found, number = fetch_page(
            lambda limit, offset: self.service.list(
                actor, search=search or "", status=status or "active", limit=limit, offset=offset
            ),
            page,
            page_size,
        )
        rows = [customer.to_dict() for customer in found.items]
        info = page_info(found, number, "customer", filtered=bool(search) or status != "all")
        return table(rows, LIST_COLUMNS), info, number

    def _form(self, customer) -> tuple:
        fields = (getattr(customer, name) for name in CUSTOMER_FIELDS)
        return (customer.id, *fields, customer.status)

    def _page(self, actor, customer) -> tuple:
        """The customer's page: the form, a heading, the figures and the timeline."""
        shop = self.ctx.shop  # read once: every time and amount of the page on the shop's terms
        timeline = self.ctx.services.timeline.customer(actor, customer.id, limit=TIMELINE_LIMIT)
        rows = [self._timeline_row(shop, entry) for entry in timeline.items]
        shown = f" (newest {len(rows)} of {timeline.total:,})" if timeline.total > len(rows) else ""
        note = f"{count(timeline.total, 'event')}{shown}" if rows else "Nothing happened yet."
        return (
            *self._form(customer),
            heading(shop, customer),
            self._figures(shop, actor, customer.id, timeline.extra),
            table(rows, TIMELINE_COLUMNS, shop.time),
            note,
        )

    def _figures(self, shop, actor, customer_id: int, totals: dict) -> str:
        rfm = self.ctx.analytics.customer_rfm(actor, customer_id)
        segment = ("—", "no purchases yet")
        if rfm is not None:
            scores = f"R{rfm['r_score']} F{rfm['f_score']} M{rfm['m_score']}"
            segment = (str(rfm["segment"]).capitalize(), f"RFM, all time: {scores}")
        last = shop.time(totals["last_purchase"], seconds=False) if totals["last_purchase"] else ""
        return figure_cards(
            [
                ("Spent", shop.money(totals["spent_cents"]), "returns taken off", False),
                ("Orders", f"{totals['purchases']:,}", "not cancelled", False),
                ("Last purchase", last[:10] or "—", last[11:], False),
                ("Segment", *segment, False),
            ]
        )

    @staticmethod
    def _timeline_row(shop, entry) -> dict:
        amount = entry.amount_cents
        return {
            **entry.to_dict(),
            "what": f"{KIND_NAMES[entry.kind]} #{entry.record_id}",
            "amount": "" if amount is None else shop.money(amount),
            "status": entry.status.replace("_", " "),
        }

    @guarded
    def customer_page(self, customer_id, request: gr.Request):
        """The customer's page: profile fields and status, a heading, the figures (spent,
        orders, last purchase, RFM segment) and the timeline, newest first."""
        return self._open(self._id(customer_id), request)

    @guarded
    def open_customer(self, event: gr.SelectData, request: gr.Request):
        """A click on a row of the customers table opens that customer's page."""
        return self._open(clicked_id(event), request)

    def _open(self, customer_id: int, request: gr.Request) -> tuple:
        actor = self.ctx.actor(request)
        return self._page(actor, self.service.get(actor, customer_id))

    @guarded
    def get_customer(self, customer_id, request: gr.Request):
        """One customer's fields, for the edit form."""
        return self._load(customer_id, request)

    @guarded
    def add_customer(
        self, name, email, phone, company, address, city, country, notes, request: gr.Request
    ):
        """Add a customer; answers with the saved record (as the edit form shows it)."""
        values = (name, email, phone, company, address, city, country, notes)
        fields = dict(zip(CUSTOMER_FIELDS, values, strict=True))
        return self._done(self.service.add(self.ctx.actor(request), **fields), "added")

    @guarded
    def update_customer(
        self,
        customer_id,
        name,
        email,
        phone,
        company,
        address,
        city,
        country,
        notes,
        request: gr.Request,
    ):
        """Save the edit form over the customer's record."""
        values = (name, email, phone, company, address, city, country, notes)
        fields = dict(zip(CUSTOMER_FIELDS, values, strict=True))
        return self._change("update", customer_id, request, "saved", **fields)

    @guarded
    def deactivate_customer(self, customer_id, request: gr.Request):
        """Hide a customer from new purchases; their history and figures stay."""
        return self._change(
            "deactivate", customer_id, request, "deactivated; their history is kept"
        )

    @guarded
    def describe_deactivate_customer(self, customer_id, request: gr.Request):
        """What deactivate_customer would do, before anything happens."""
        customer_id = self._id(customer_id)
        actor = self.ctx.actor(request)
        customer = self.service.get(actor, customer_id)
        history = self.ctx.services.purchases.history(actor, customer_id, limit=1)
        return (
            f"**Deactivate customer #{customer.id} {md(customer.name)} ({md(customer.email)})?** "
            "They can no longer be picked for a purchase; their "
            f"{count(history.extra['purchases'], 'purchase')} and every report figure stay."
        )

    @guarded
    def reactivate_customer(self, customer_id, request: gr.Request):
        return self._change("reactivate", customer_id, request, "reactivated")

    @guarded
    def invite_customer(self, customer_id, request: gr.Request):
        """A one-time link for a customer without a login to set a portal password: the link
        (shown for staff to pass on) and a note on whom it is for and how long it works."""
        customer_id = self._id(customer_id)
        invitation = self.ctx.services.invitations.invite(self.ctx.actor(request), customer_id)
        link = f"{app_url(request)}/invite?token={invitation.token}"
        note = (
            f"Pass this link on to **{md(invitation.name)}** ({md(invitation.email)}). It works"
            f" once, until {self.ctx.shop.time(invitation.expires_at, seconds=False)}; they choose"
            " a password and log in"
            " with their e-mail. A new invitation replaces this one."
        )
        info(f"Invitation for customer #{customer_id} ready: pass the link on")
        return link, note

    @guarded
    def purchase_history(self, customer_id, request: gr.Request):
        """The customer's purchase lines, newest first, and the total they have spent."""
        customer_id = self._id(customer_id)
        history = self.ctx.services.purchases.history(
            self.ctx.actor(request), customer_id, limit=HISTORY_LIMIT
        )
        shop = self.ctx.shop
        rows = [self.ctx.history_line(row, shop) for row in history.items]
        spent = shop.money(history.extra["total_spent_cents"])
        orders = history.extra["purchases"]
        if not history.total:
            summary = f"Customer #{customer_id} has no purchases yet."
        else:
            shown = (
                f" (newest {len(rows)} of {history.total:,} lines shown)"
                if history.total > len(rows)
                else ""
            )
            summary = f"**{count(orders, 'purchase')}**, total spent **{spent}**{shown}"
        return table(rows, HISTORY_COLUMNS), summary


def timeline_hit(event) -> str:
    """The record a click on a timeline row opens, as the search box names it ("purchase:12"),
    read from the row's "What" cell ("Return on purchase #12")."""
    values = getattr(event, "row_value", None) or []
    what = str(values[1]) if len(values) > 1 else ""
    for kind, name in KIND_NAMES.items():
        prefix = f"{name} #"
        if what.startswith(prefix) and is_digits(what.removeprefix(prefix)):
            return f"{OPENS[kind]}:{what.removeprefix(prefix)}"
    raise ValidationError("row", "click a row of the timeline")


def heading(shop, customer) -> str:
    """The page's heading: name and number, then how to reach them and since when (the shop's
    day)."""
    place = ", ".join(part for part in (customer.city, customer.country) if part)
    contact = [customer.email, customer.phone, customer.company, place]
    details = " · ".join(md(part) for part in contact if part)
    since = f"customer since {shop.time(customer.created_at)[:10]}"
    return f"### {md(customer.name)} · #{customer.id}\n{details}  \n{customer.status}, {since}"


def build(ctx: UIContext) -> list[dict]:
    """Lay out the Customers tab; returns the events that refresh it when the tab is shown."""
    handlers = CustomerHandlers(ctx)
    with gr.Row(equal_height=True):
        search = gr.Textbox(
            label="Search customers",
            placeholder="Name, e-mail, phone or company, then Enter",
            scale=4,
        )
        status = gr.Radio(STATUS_CHOICES, value="active", label="Status", scale=2)
        new = gr.Button("Add a customer", variant="primary", scale=0, min_width=170)
    with gr.Column(visible=False, elem_classes="crpm-card", elem_id="customer-add") as add_panel:
        gr.Markdown("### Add a customer\nFields marked * are required.")
        add_fields = customer_form()
        with gr.Row():
            add = gr.Button("Add customer", variant="primary")
            close_add = gr.Button("Close")
    pager = Pager.build("Customers", LIST_COLUMNS, "customer", "customers-table")
    refresh = pager.wire(
        handlers.list_customers, [search, status], [search.submit, status.input], "list_customers"
    )

    with gr.Column(elem_classes="crpm-card", elem_id="customer-page"):
        header, figures = page_top("customer", NO_CUSTOMER)
        # The open customer's number: set by a row click or a search, never typed.
        customer_id = gr.Number(label="Customer ID", visible=False)
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, elem_id="customer-edit"):
                state = gr.Textbox(label="Status", interactive=False)
                edit_fields = customer_form()
                with gr.Row():
                    save = gr.Button("Save changes", variant="primary")
                    discard = gr.Button("Discard changes")
                with gr.Row():
                    deactivate = gr.Button("Deactivate", variant="stop")
                    reactivate = gr.Button("Reactivate")
                    invite = gr.Button("Invite to the portal")
                deactivate_yes = ask_first(
                    deactivate, handlers.describe_deactivate_customer, [customer_id]
                )
                invite_link = gr.Textbox(
                    "",
                    label="Invitation link (works once)",
                    interactive=False,
                    visible=False,
                    buttons=["copy"],
                    elem_id="invitation-link",
                )
                invite_note = gr.Markdown(elem_id="invitation-note")
            with gr.Column(scale=3):
                timeline_note, timeline = linked_table(
                    ctx, TIMELINE_COLUMNS, "Timeline, newest first", "customer-timeline",
                    "#### Timeline", max_height=520,
                )  # fmt: skip
        with gr.Accordion("Purchase lines", open=False, elem_id="customer-lines") as lines:
            history_info = gr.Markdown("Open a customer to see what they bought.")
            history = data_table(
                HISTORY_COLUMNS, "Purchase lines", max_height=420, elem_id="customer-history"
            )

    record = [customer_id, *edit_fields, state]
    page_parts = [*record, header, figures, timeline, timeline_note]
    private = {"api_visibility": "private"}
    show_page = dict(fn=handlers.customer_page, inputs=customer_id, outputs=page_parts, **private)
    ctx.openers["customer"] = Opener(
        "customers", handlers.customer_page, page_parts, anchor="customer-header"
    )

    # One call draws the whole page; the purchase lines load only when their section is opened.
    pager.table.select(handlers.open_customer, None, page_parts, **private)
    lines.expand(
        handlers.purchase_history,
        customer_id,
        [history, history_info],
        api_name="purchase_history",
    )
    discard.click(handlers.get_customer, customer_id, record, api_name="get_customer")
    customer_id.submit(**{**show_page, "api_visibility": "public"}, api_name="customer_page")

    new.click(None, None, add_panel, js=SHOW)
    close_add.click(None, None, add_panel, js=HIDE)
    # One event adds the customer, empties and closes the form, opens the new customer's page
    # and draws the list's last page (the newest).
    after_add = {**dict.fromkeys(add_fields, ""), add_panel: gr.Column(visible=False)}
    pager.one_trip(
        add.click,
        dict(fn=handlers.add_customer, inputs=add_fields, outputs=record, api_name="add_customer"),
        show_page,
        resets={**after_add, pager.page: 1e9},
    )

    for button, handler, name in (
        (save, handlers.update_customer, "update_customer"),
        (deactivate_yes, handlers.deactivate_customer, "deactivate_customer"),
        (reactivate, handlers.reactivate_customer, "reactivate_customer"),
    ):
        inputs = [customer_id, *edit_fields] if button is save else customer_id
        change = dict(fn=handler, inputs=inputs, outputs=record, api_name=name)
        pager.one_trip(button.click, change, show_page)
    invite.click(
        handlers.invite_customer,
        customer_id,
        [invite_link, invite_note],
        api_name="invite_customer",
    ).success(None, None, invite_link, js=SHOW)
    # Another customer: no invitation link beside them, and their purchase lines load afresh.
    customer_id.change(None, None, [invite_link, invite_note, lines], js=FORGET)
    return [refresh]
