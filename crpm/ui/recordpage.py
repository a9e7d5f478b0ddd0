"""What every record's page shares (the customer's, the product's, a ticket's, a quote's): a
heading and figure cards on top of a card, the record's form and actions beside what belongs
to it, and tables of what belongs to it whose rows open the record they name in their "What"
cell ("Purchase #12"), as the customer's timeline does (crpm/ui/search.py follows
`UIContext.links`)."""

from __future__ import annotations

import gradio as gr

from crpm.ui.common import UIContext, data_table


def page_top(kind: str, empty: str) -> tuple[gr.Markdown, gr.HTML]:
    """The page's heading (`empty` until a record is open) and its figure cards."""
    header = gr.Markdown(empty, elem_id=f"{kind}-header")
    figures = gr.HTML(elem_id=f"{kind}-figures")
    return header, figures


def linked_table(ctx: UIContext, columns, label: str, elem_id: str, heading: str, **options):
    """A note above a table of what belongs to the record (the second column names each row's
    record); a click on a row opens that record. Returns (note, table)."""
    note = gr.Markdown(heading, elem_id=f"{elem_id}-info")
    shown = data_table(columns, label, elem_id=elem_id, **options)
    ctx.links.append(shown)
    return note, shown
