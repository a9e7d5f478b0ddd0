"""Pickers: a search box and the dropdown of what it finds, searched on the server. The sale
uses them for its customer and products; lists filter by them (purchases, the service desk's
queues), and the admin's forms by them (a login's customer, whom to erase, whose audit rows),
so nobody types a record's number. An empty picker means "none" (a filter: all)."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from crpm.errors import NotFound
from crpm.models import is_digits
from crpm.services.records import STATUSES
from crpm.ui.common import UIContext, guarded, plain

PICKER_LIMIT = 20
PRIVATE = {"api_visibility": "private"}


def typed_first(query: str, get, listed, by_name=None) -> list:
    """The record `by_name` finds named exactly as typed (a product's SKU, digits too: a
    barcode), or else the one whose ID was typed ("12", or "#12", which is only ever an ID)
    when `get` finds it; then the listed ones, each once."""
    wanted = query.lstrip("#")
    first = found_or_none(by_name, query) if by_name and wanted == query else None
    if first is None and is_digits(wanted):
        first = found_or_none(get, int(wanted))
    if first is None:
        return list(listed)
    return [first, *(record for record in listed if record.id != first.id)]


def found_or_none(get, key):
    try:
        return get(key)
    except NotFound:
        return None


class Pickers:
    """The searches behind every picker; `find_customers` and `find_products` are published
    once (the sale's pickers) and reused privately by the others."""

    def __init__(self, ctx: UIContext):
        self.ctx = ctx

    def _pick(self, service, actor, query: str, status: str) -> list:
        """Records of the status ("all": active or inactive) matching a typed query, after the
        record whose ID was typed (or the product whose SKU was)."""
        shown = STATUSES if status == "all" else (status,)

        def typed(record_id):
            record = service.get(actor, record_id)
            if record.status not in shown:
                raise NotFound(service.entity, record_id)
            return record

        def by_sku(text):  # a product's whole SKU, in any case: it beats names holding it
            return typed(service.by_sku(actor, text).id)

        page = service.list(actor, search=query, status=status, limit=PICKER_LIMIT)
        by_name = by_sku if service.entity == "product" else None
        return typed_first(query, typed, page.items, by_name=by_name)

    @staticmethod
    def search(query, choose) -> tuple[str, list]:
        """The query as typed (trimmed) and `choose(query)`'s (label, value) choices; an empty
        query finds nothing."""
        query = (query or "").strip()
        return query, choose(query) if query else []

    @staticmethod
    def dropdown(noun: str, query: str, choices: list) -> gr.Dropdown:
        """The picker after a search: its choices, the first one picked; an empty search picks
        nothing, and a search without a match says so."""
        note = "" if choices or not query else f"No {noun} matches '{plain(query)}'"
        return gr.Dropdown(choices=choices, value=choices[0][1] if choices else None, info=note)

    def _picker(self, noun: str, query, request, status: str = "active") -> gr.Dropdown:
        service = getattr(self.ctx.services, f"{noun}s")
        actor = self.ctx.actor(request)

        def choose(text):
            found = self._pick(service, actor, text, status)
            return [(self._label(noun, record), record.id) for record in found]

        named = f"active {noun}" if status == "active" else noun
        return self.dropdown(named, *self.search(query, choose))

    def _label(self, noun: str, record) -> str:
        """How a choice reads: a customer by number, name and e-mail (and status when not
        active); a product by SKU, name, price and stock."""
        if noun == "customer":
            state = "" if record.status == "active" else f" ({record.status})"
            return f"#{record.id} {record.name} · {record.email}{state}"
        price = self.ctx.money(record.price_cents)
        return f"{record.sku} · {record.name} · {price} · {record.stock} in stock"

    def users(self, actor, query: str) -> list:
        """Logins whose name contains the query, after the login whose #ID or exact name was
        typed (admins)."""
        accounts = self.ctx.services.accounts
        page = accounts.list_users(actor, search=query, limit=PICKER_LIMIT)

        def get(key):
            return accounts.get_user(actor, key)

        return typed_first(query, get, page.items, by_name=get)

    @staticmethod
    def user_label(user) -> str:
        state = "" if user.active else ", inactive"
        return f"#{user.id} {user.username} ({user.role}{state})"

    @guarded
    def find_customers(self, query, request: gr.Request):
        """Up to 20 active customers matching a name, e-mail, phone, company or #ID."""
        return self._picker("customer", query, request)

    @guarded
    def find_any_customers(self, query, request: gr.Request):
        """Up to 20 customers, active or inactive, matching a name, e-mail, phone, company or
        #ID (erasure takes either)."""
        return self._picker("customer", query, request, status="all")

    @guarded
    def find_products(self, query, request: gr.Request):
        """Up to 20 active products matching a SKU, name, category or #ID."""
        return self._picker("product", query, request)

    @guarded
    def find_users(self, query, request: gr.Request):
        """Up to 20 logins, active or not, whose name contains the query, or by #ID (admins)."""
        actor = self.ctx.actor(request)

        def choose(text):
            return [(self.user_label(user), user.id) for user in self.users(actor, text)]

        return self.dropdown("login", *self.search(query, choose))


@dataclass(frozen=True)
class Picker:
    """A search box, the dropdown of what it finds, the flag that spares a search when a
    change empties them (`quiet`), and the search's event (for a change to cancel)."""

    query: gr.Textbox
    chosen: gr.Dropdown
    quiet: gr.Checkbox
    search: object

    def emptied(self) -> dict:
        """What empties the picker from a change's own event (`one_trip` resets): its box, and
        its dropdown with its choices and note; the box emptied asks for no search."""
        nothing = gr.update(choices=[], value=None, info="")
        return {self.query: "", self.quiet: True, self.chosen: nothing}


def picker(find, query_label: str, placeholder: str, label: str, published=None, **layout):
    """Lay out a search box and its dropdown (`layout` options go to both) and wire the box
    to `find`; `published` names the event for the API (default: private)."""
    query = gr.Textbox(label=query_label, placeholder=placeholder, **layout)
    chosen = gr.Dropdown([], label=label, allow_custom_value=True, interactive=True, **layout)
    # A search is asked for in the browser when the box changes (typed, pasted or deleted:
    # Gradio's `input` is keys only), unless a change that emptied the picker in its own event
    # emptied the box: then `quiet` is set, and the search would find nothing new.
    asked = gr.Number(0, precision=0, visible=False)
    quiet = gr.Checkbox(False, visible=False)
    query.change(
        None, [query, quiet, asked], [asked, quiet], js=ASK_SEARCH_JS, show_progress="hidden"
    )
    search = gr.on(
        [asked.change, query.submit],
        find,
        query,
        chosen,
        trigger_mode="always_last",
        show_progress="hidden",
        **(published or PRIVATE),
    )
    return Picker(query, chosen, quiet, search)


# A search for the box's query, unless it is empty and a change just emptied the picker.
ASK_SEARCH_JS = "(typed, quiet, n) => [quiet && !(typed || '').trim() ? n : (n || 0) + 1, false]"
