"""Customers tab: a searchable paged list, add, load-and-edit, deactivate, purchase history."""

from __future__ import annotations

import json

import gradio as gr

from crpm.models import CUSTOMER_FIELDS
from crpm.ui.common import (
    HISTORY_COLUMNS,
    Pager,
    UIContext,
    clicked_id,
    count,
    fetch_page,
    guarded,
    info,
    md,
    page_info,
    required_id,
    table,
)
from crpm.ui.confirm import ask_first

LIST_COLUMNS = {
    "id": "ID",
    "name": "Name",
    "email": "E-mail",
    "phone": "Phone",
    "company": "Company",
    "city": "City",
    "country": "Country",
    "status": "Status",
}
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
PICK_HINT = "pick a customer in the table or type a Customer ID"


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


class CustomerHandlers:
    """One method per event; each asks who is acting and calls one service method."""

    def __init__(self, ctx: UIContext):
        self.ctx = ctx
        self.customers = ctx.services.customers

    @guarded
    def list_customers(self, search, status, page, page_size, request: gr.Request):
        """A page of customers matching a search (name, e-mail, phone, company) and status."""
        actor = self.ctx.actor(request)
        found, number = fetch_page(
            lambda limit, offset: self.customers.list(
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

    @guarded
    def get_customer(self, customer_id, request: gr.Request):
        """One customer's fields, for the edit form."""
        customer_id = required_id(customer_id, "customer", PICK_HINT)
        return self._form(self.customers.get(self.ctx.actor(request), customer_id))

    @guarded
    def add_customer(
        self, name, email, phone, company, address, city, country, notes, request: gr.Request
    ):
        """Add a customer; answers with the saved record (as the edit form shows it)."""
        customer = self.customers.add(
            self.ctx.actor(request),
            name,
            email,
            phone=phone,
            company=company,
            address=address,
            city=city,
            country=country,
            notes=notes,
        )
        info(f"Customer #{customer.id} {customer.name} added")
        return self._form(customer)

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
        customer_id = required_id(customer_id, "customer", PICK_HINT)
        values = (name, email, phone, company, address, city, country, notes)
        fields = dict(zip(CUSTOMER_FIELDS, values, strict=True))
        customer = self.customers.update(self.ctx.actor(request), customer_id, **fields)
        info(f"Customer #{customer.id} {customer.name} saved")
        return self._form(customer)

    @guarded
    def deactivate_customer(self, customer_id, request: gr.Request):
        """Hide a customer from new purchases; their history and figures stay."""
        customer_id = required_id(customer_id, "customer", PICK_HINT)
        customer = self.customers.deactivate(self.ctx.actor(request), customer_id)
        info(f"Customer #{customer.id} {customer.name} deactivated; their history is kept")
        return self._form(customer)

    @guarded
    def describe_deactivate_customer(self, customer_id, request: gr.Request):
        """What deactivate_customer would do, before anything happens."""
        customer_id = required_id(customer_id, "customer", PICK_HINT)
        actor = self.ctx.actor(request)
        customer = self.customers.get(actor, customer_id)
        history = self.ctx.services.purchases.history(actor, customer_id, limit=1)
        return (
            f"**Deactivate customer #{customer.id} {md(customer.name)} ({md(customer.email)})?** "
            "They can no longer be picked for a purchase; their "
            f"{count(history.extra['purchases'], 'purchase')} and every report figure stay."
        )

    @guarded
    def reactivate_customer(self, customer_id, request: gr.Request):
        customer_id = required_id(customer_id, "customer", PICK_HINT)
        customer = self.customers.reactivate(self.ctx.actor(request), customer_id)
        info(f"Customer #{customer.id} {customer.name} reactivated")
        return self._form(customer)

    @guarded
    def purchase_history(self, customer_id, request: gr.Request):
        """The customer's purchase lines, newest first, and the total they have spent."""
        customer_id = required_id(customer_id, "customer", PICK_HINT)
        history = self.ctx.services.purchases.history(
            self.ctx.actor(request), customer_id, limit=HISTORY_LIMIT
        )
        rows = [self.ctx.history_line(row) for row in history.items]
        spent = self.ctx.money(history.extra["total_spent_cents"])
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

    @staticmethod
    @guarded
    def pick_row(event: gr.SelectData):
        """A click on a table row puts its ID into the edit form's ID box."""
        return clicked_id(event)


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
    pager = Pager.build("Customers", list(LIST_COLUMNS.values()), "customer", "customers-table")
    refresh = pager.wire(
        handlers.list_customers, [search, status], [search.submit, status.input], "list_customers"
    )

    with gr.Row(equal_height=False):
        with gr.Column(scale=3, elem_classes="crpm-card", elem_id="customer-edit"):
            gr.Markdown("### Selected customer\nClick a row above or type an ID.")
            with gr.Row(equal_height=True):
                customer_id = gr.Number(label="Customer ID", scale=2)
                state = gr.Textbox(label="Status", interactive=False, scale=1)
                load = gr.Button("Load", scale=0, min_width=90)
            edit_fields = customer_form()
            with gr.Row():
                save = gr.Button("Save changes", variant="primary")
                deactivate = gr.Button("Deactivate", variant="stop")
                reactivate = gr.Button("Reactivate")
            deactivate_yes = ask_first(
                deactivate, handlers.describe_deactivate_customer, [customer_id], "Yes, deactivate"
            )
        with gr.Column(scale=2, elem_classes="crpm-card", elem_id="customer-add"):
            gr.Markdown("### Add a customer\nFields marked * are required.")
            add_fields = customer_form()
            add = gr.Button("Add customer", variant="primary")

    gr.Markdown("### Purchase history")
    history_info = gr.Markdown("Load a customer to see what they bought.")
    history = gr.Dataframe(
        value=table([], HISTORY_COLUMNS),
        interactive=False,
        wrap=True,
        max_height=420,
        label="Purchase lines",
    )

    record = [customer_id, *edit_fields, state]
    show_history = dict(
        fn=handlers.purchase_history, inputs=customer_id, outputs=[history, history_info]
    )
    private = {"api_visibility": "private"}
    load_record = dict(fn=handlers.get_customer, inputs=customer_id, outputs=record)

    load.click(**load_record, api_name="get_customer").success(
        **show_history, api_name="purchase_history"
    )
    customer_id.submit(**load_record, **private).success(**show_history, **private)
    pager.table.select(handlers.pick_row, None, customer_id, **private).success(
        **load_record, **private
    ).success(**show_history, **private)

    clear_add = json.dumps([""] * len(add_fields))
    add.click(handlers.add_customer, add_fields, record, api_name="add_customer").success(
        None, None, add_fields, js=f"() => {clear_add}"
    ).success(
        None,
        None,
        pager.page,
        js="() => 1e9",  # the newest customer is on the last page
    ).success(**refresh).success(**show_history, **private)

    save.click(
        handlers.update_customer, [customer_id, *edit_fields], record, api_name="update_customer"
    ).success(**refresh)
    deactivate_yes.click(
        handlers.deactivate_customer, customer_id, record, api_name="deactivate_customer"
    ).success(**refresh)
    reactivate.click(
        handlers.reactivate_customer, customer_id, record, api_name="reactivate_customer"
    ).success(**refresh)
    return [refresh]
