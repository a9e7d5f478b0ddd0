"""The search box at the top of the page (staff): a name, e-mail, phone, SKU, invoice number or
#number finds records of any kind (crpm.services.search.find_records); the first match opens in
its tab at once, the other matches stay offered beside the box. Each tab says how its records
open (`UIContext.openers`); opening one is a single call that draws it and selects its tab. A
click on a customer's timeline (`UIContext.links`) opens the record its row names the same way,
and a button beside a purchase, ticket or quote opens its customer (`UIContext.jumps`)."""

from __future__ import annotations

import json

import gradio as gr

from crpm.models import parse_id
from crpm.services.search import HIT_KINDS, find_records
from crpm.ui.common import UIContext, guarded, plain, required_id
from crpm.ui.customers import timeline_hit

KIND_NAMES = {
    "customer": "Customer",
    "product": "Product",
    "purchase": "Purchase",
    "ticket": "Ticket",
    "quote": "Quote",
}
PLACEHOLDER = "Search: name, e-mail, phone, SKU, invoice or #number, then Enter"


def layout() -> tuple[gr.Textbox, gr.Dropdown]:
    """The box and its matches, hidden until the role's tabs are shown (staff only)."""
    with gr.Row(elem_id="crpm-search-row", equal_height=True):
        box = gr.Textbox(
            label="Search records", show_label=False, placeholder=PLACEHOLDER, visible=False,
            scale=3, elem_id="crpm-search", max_length=200,
        )  # fmt: skip
        hits = gr.Dropdown(
            [], label="Matches", show_label=False, visible=False, allow_custom_value=True,
            scale=3, elem_id="crpm-search-hits",
        )  # fmt: skip
    return box, hits


def choice_label(hit) -> str:
    return f"{KIND_NAMES[hit.kind]} #{hit.record_id} · {hit.label}"


class SearchHandlers:
    def __init__(self, ctx: UIContext, tabs: gr.Tabs):
        self.ctx = ctx
        self.tabs = tabs

    @guarded
    def search_records(self, text, request: gr.Request):
        """Up to 20 records of any kind matching the text, the first one picked; as choices
        ("Customer #12 · Ada Lovelace · ada@example.com", "customer:12")."""
        found = find_records(self.ctx.services.store, self.ctx.actor(request), text)
        choices = [(choice_label(hit), f"{hit.kind}:{hit.record_id}") for hit in found]
        typed = " ".join(str(text or "").split())
        note = "" if choices or not typed else f"Nothing matches '{plain(typed)}'"
        return gr.Dropdown(
            choices=choices, value=choices[0][1] if choices else None, visible=True, info=note
        )

    @guarded
    def open_record(self, hit, request: gr.Request):
        """Open the picked match ("customer:12") in its tab; nothing picked changes nothing."""
        return self._open(hit, request)

    @guarded
    def open_timeline_entry(self, event: gr.SelectData, request: gr.Request):
        """A click on a customer's timeline opens the purchase, ticket or quote it names."""
        return self._open(timeline_hit(event), request)

    @guarded
    def open_purchase_customer(self, purchase_id, request: gr.Request):
        """The open purchase's customer, on their page."""
        return self._open_owner(self.ctx.services.purchases.get, "purchase", purchase_id, request)

    @guarded
    def open_ticket_customer(self, ticket_id, request: gr.Request):
        """The open ticket's customer, on their page."""
        return self._open_owner(self.ctx.services.desk.get_ticket, "ticket", ticket_id, request)

    @guarded
    def open_quote_customer(self, quote_id, request: gr.Request):
        """The open quote's customer, on their page."""
        return self._open_owner(self.ctx.services.desk.get_quote, "quote", quote_id, request)

    def _open_owner(self, get, kind: str, record_id, request: gr.Request) -> dict:
        """The customer of the record `get` reads, opened on their page."""
        record_id = required_id(record_id, kind, f"open a {kind} first")
        record = get(self.ctx.actor(request), record_id)
        return self._open(f"customer:{record.customer_id}", request)

    def _open(self, hit, request: gr.Request) -> dict:
        kind, _, number = str(hit or "").partition(":")
        opener = self.ctx.openers.get(kind)
        if opener is None:  # nothing found: the page stays as it is (an empty dict is no update)
            return {self.tabs: gr.update()}
        record_id = parse_id(number, kind)
        values = opener.fn(record_id, request)
        updates = dict(zip(opener.outputs, values, strict=True))
        if opener.key is not None:
            updates[opener.key] = record_id
        updates[self.tabs] = gr.Tabs(selected=opener.tab)
        if opener.inner:
            inner_tabs, inner_id = opener.inner
            updates[inner_tabs] = gr.Tabs(selected=inner_id)
        return updates

    @property
    def outputs(self) -> list:
        """Every component a match may draw into, each once."""
        found = [self.tabs]
        for kind in HIT_KINDS:
            opener = self.ctx.openers.get(kind)
            if opener:
                parts = [*opener.outputs, opener.key, *(opener.inner or ())[:1]]
                found += [part for part in parts if part is not None and part not in found]
        return found


# Brings an opened record's anchor (the elem_id of its heading) into view just below the search
# bar, which stays at the top of the screen (`#crpm-search-row`, crpm/ui/style.py), so the
# matches beside the box stay on screen to pick the next one. A tab opened for the first time
# draws its parts a moment after the answer: look again on each frame, for up to 180 frames
# (3 s at 60 a second). While the matches' list is open the person is picking another one: the
# page is left where it is.
SCROLL_JS = """(hit) => {
  const anchor = ANCHORS[KIND];
  if (!anchor) return;
  let frames = 180;
  const look = () => {
    const shown = document.getElementById(anchor);
    if (!shown || shown.offsetParent === null) {
      if (frames-- > 0) requestAnimationFrame(look);
      return;
    }
    if (document.querySelector('#crpm-search-hits .options')) return;
    const bar = document.getElementById('crpm-search-row');
    const below = bar ? bar.getBoundingClientRect().height + 8 : 0;
    const top = shown.getBoundingClientRect().top;
    if (top >= below && top < window.innerHeight * 0.6) return;  // already in view
    shown.style.scrollMarginTop = `${below}px`;
    shown.scrollIntoView({block: 'start'});
  };
  look();
}"""


def scroll_to_record(ctx: UIContext, kind: str | None = None) -> str:
    """The page script that brings an opened record into view: one of `kind`, else the kind its
    input, the hit ("customer:12"), names."""
    anchors = {kind: opener.anchor for kind, opener in ctx.openers.items() if opener.anchor}
    picked = json.dumps(kind) if kind else "String(hit || '').split(':')[0]"
    return SCROLL_JS.replace("ANCHORS", json.dumps(anchors)).replace("KIND", picked)


def wire(ctx: UIContext, box: gr.Textbox, hits: gr.Dropdown, tabs: gr.Tabs) -> None:
    """Connect the box once every tab has said how its records open."""
    handlers = SearchHandlers(ctx, tabs)
    opening = dict(fn=handlers.open_record, inputs=hits, outputs=handlers.outputs)
    scroll = dict(fn=None, inputs=hits, js=scroll_to_record(ctx))
    box.submit(handlers.search_records, box, hits, api_name="search_records").success(
        **opening, api_visibility="private"
    ).success(**scroll)
    hits.input(**opening, api_visibility="private").success(**scroll)
    for table in ctx.links:
        table.select(
            handlers.open_timeline_entry, None, opening["outputs"], api_visibility="private"
        )
    to_customer = dict(fn=None, js=scroll_to_record(ctx, "customer"))
    for button, kind, record_id in ctx.jumps:
        owner = getattr(handlers, f"open_{kind}_customer")
        button.click(owner, record_id, opening["outputs"], api_visibility="private").success(
            **to_customer
        )
