"""Products tab: the catalogue list with a low-stock filter; a click on a row opens the product's
page (its form, stock actions and figures, its recent sales lines and the open quotes that
include it, and its stock ledger below); "Add a product" opens the form on demand."""

from __future__ import annotations

import gradio as gr

from crpm.models import cents_to_decimal_text
from crpm.ui import taxes
from crpm.ui.common import (
    CODE,
    COUNT,
    DATE,
    MONEY,
    Column,
    Opener,
    Pager,
    UIContext,
    clicked_id,
    count,
    fetch_page,
    guarded,
    md,
    page_info,
    table,
    whole_number,
)
from crpm.ui.confirm import HIDE, SHOW, ask_first
from crpm.ui.forms import RecordHandlers
from crpm.ui.recordpage import linked_table, page_top
from crpm.ui.reports import figure_cards

LIST_COLUMNS = (
    Column("id", "ID", COUNT),
    Column("sku", "SKU", CODE),
    Column("name", "Name"),
    Column("price", "Price", MONEY),
    Column("stock", "Stock", COUNT),
    Column("flag", "Low stock"),
    Column("reorder_level", "Reorder at", COUNT),
    Column("category", "Category"),
    Column("status", "Status"),
)
MOVEMENT_COLUMNS = (
    Column("created_at", "Time", DATE),
    Column("kind", "Kind"),
    Column("quantity", "Change", COUNT),
    Column("stock_after", "Stock after", COUNT),
    Column("purchase_id", "Purchase", COUNT),
    Column("reason", "Reason"),
    Column("created_by", "By"),
)
# What belongs to the product; the second column names the record a click on a row opens.
WHO_AND_HOW_MANY = (
    Column("what", "What"),
    Column("customer", "Customer"),
    Column("quantity", "Units", COUNT),
)
SALES_COLUMNS = (
    Column("at", "When", DATE),
    *WHO_AND_HOW_MANY,
    Column("returned", "Returned", COUNT),
    Column("amount", "Amount", MONEY),
    Column("status", "Status"),
)
QUOTE_COLUMNS = (
    Column("at", "Asked", DATE),
    *WHO_AND_HOW_MANY,
    Column("price", "Unit price", MONEY),
    Column("status", "Status"),
    Column("valid_until", "Valid until", DATE),
)
SALES_LIMIT = 20
NO_PRODUCT = "### Product\nClick a product in the table, or search for it at the top."
STATUS_CHOICES = [("Active", "active"), ("Inactive", "inactive"), ("All", "all")]
ALL_CATEGORIES = "All categories"
TITLE = "Product #{id} {sku}"  # how a toast names the record
PICK_HINT = "open a product: click it in the table or search for it at the top"
# How the stock forms name what the services call quantity and reason.
RESTOCK_LABELS = {"quantity": "Units received", "reason": "Note"}
ADJUST_LABELS = {"quantity": "Change (+/−)"}


def product_form(with_opening_stock: bool) -> list:
    """sku, name, category, description, price, reorder level (and opening stock)."""
    with gr.Row():
        sku = gr.Textbox(label="SKU *", placeholder="MUG-001")
        name = gr.Textbox(label="Name *", placeholder="Blue mug")
    with gr.Row():
        category = gr.Textbox(label="Category", placeholder="Kitchen")
        price = gr.Textbox(label="Unit price *", placeholder="12.50")
    description = gr.Textbox(label="Description", lines=2)
    with gr.Row():
        reorder = gr.Number(label="Reorder level", value=0)
        fields = [sku, name, category, description, price, reorder]
        if with_opening_stock:
            fields.append(gr.Number(label="Opening stock", value=0))
    return fields


class ProductHandlers(RecordHandlers):
    def __init__(self, ctx: UIContext):
        super().__init__(ctx, ctx.services.products, "product", PICK_HINT, TITLE)

    @guarded
    def list_products(
        self, search, status, category, low_stock, page, page_size, request: gr.Request
    ):
        """A page of products matching a search (SKU, name, category), status and category;
        with low_stock, only active products at or below their reorder level."""
        actor = self.ctx.actor(request)
        category = "" if category in (None, ALL_CATEGORIES) else category
        found, number = fetch_page(
            lambda limit, offset: self.service.list(
                actor,
                search=search or "",
                status=status or "active",
                limit=limit,
                offset=offset,
                category=category,
                low_stock=bool(low_stock),
            ),
            page,
            page_size,
        )
        shop = self.ctx.shop  # the settings read once for the page, not once a row
        rows = [list_row(product, shop) for product in found.items]
        filtered = bool(search or category or low_stock) or status != "all"
        return table(rows, LIST_COLUMNS), page_info(found, number, "product", filtered), number

    @guarded
    def categories(self, request: gr.Request):
        choices = [ALL_CATEGORIES, *self.service.categories(self.ctx.actor(request))]
        return gr.Dropdown(choices=choices)

    def _form(self, product) -> tuple:
        return (
            product.id,
            product.sku,
            product.name,
            product.category,
            product.description,
            cents_to_decimal_text(product.price_cents),
            product.reorder_level,
            product.stock,
            product.status,
        )

    @guarded
    def get_product(self, product_id, request: gr.Request):
        """One product's fields, for the edit form (price as a decimal text)."""
        return self._load(product_id, request)

    @guarded
    def product_page(self, product_id, request: gr.Request):
        """The product's page in one call: its form, the first page of its stock movements, a
        heading, figure cards (stock, price, sales lines, open quotes), its newest sales lines
        and the open quotes that include it, each table with its note."""
        return self._page(self._id(product_id), request)

    @guarded
    def open_product(self, event: gr.SelectData, request: gr.Request):
        """A click on a row of the products table opens that product's page."""
        return self._page(clicked_id(event), request)

    def _page(self, product_id: int, request: gr.Request) -> tuple:
        actor = self.ctx.actor(request)
        shop = self.ctx.shop  # read once: every time and amount of the page on the shop's terms
        product = self.service.get(actor, product_id)
        activity = self.ctx.services.timeline.product(actor, product_id, limit=SALES_LIMIT)
        sales, quotes = activity.sales, activity.open_quotes
        return (
            *self._form(product),
            *self._movements(product_id, 1, None, request),
            product_heading(shop, product),
            product_figures(shop, product, sales.total, quotes),
            table([sale_row(shop, line) for line in sales.items], SALES_COLUMNS, shop.time),
            sales_note(sales),
            table([quote_row(shop, line) for line in quotes], QUOTE_COLUMNS, shop.time),
            f"#### Open quotes\n{count(len(quotes), 'open quote')} with it"
            if quotes
            else "#### Open quotes\nNone asks for it.",
        )

    @guarded
    def add_product(
        self,
        sku,
        name,
        category,
        description,
        price,
        reorder_level,
        opening_stock,
        request: gr.Request,
    ):
        """Add a product; price is a decimal text like 12.50 (or the shop's locale's way, 12,50);
        opening stock is a movement."""
        product = self.service.add(
            self.ctx.actor(request),
            sku,
            name,
            self.ctx.amount(price, "price"),
            stock_quantity=whole_number(opening_stock),
            category=category,
            description=description,
            reorder_level=whole_number(reorder_level),
        )
        return self._done(product, "{name} added with {stock} in stock")

    @guarded
    def update_product(
        self,
        product_id,
        sku,
        name,
        category,
        description,
        price,
        reorder_level,
        request: gr.Request,
    ):
        """Save catalogue fields; stock changes only through restock and adjust_stock."""
        return self._change(
            "update",
            product_id,
            request,
            "{name} saved",
            sku=sku,
            name=name,
            category=category,
            description=description,
            price=self.ctx.amount(price, "price"),
            reorder_level=whole_number(reorder_level),
        )

    @guarded
    def deactivate_product(self, product_id, request: gr.Request):
        return self._change("deactivate", product_id, request, "deactivated; past sales are kept")

    @guarded
    def describe_deactivate_product(self, product_id, request: gr.Request):
        """What deactivate_product would do, before anything happens."""
        product_id = self._id(product_id)
        product = self.service.get(self.ctx.actor(request), product_id)
        return (
            f"**Deactivate product #{product.id} {md(product.sku)} {md(product.name)}?** "
            f"It can no longer be sold or quoted; its stock ({product.stock}), past sales and "
            "every report figure stay."
        )

    @guarded
    def reactivate_product(self, product_id, request: gr.Request):
        return self._change("reactivate", product_id, request, "reactivated")

    @guarded(labels=RESTOCK_LABELS)
    def restock_product(self, product_id, quantity, reason, request: gr.Request):
        """Add delivered units to stock."""
        said = "restocked: {stock} in stock now"
        return self._change("restock", product_id, request, said, whole_number(quantity), reason)

    @guarded(labels=ADJUST_LABELS)
    def adjust_stock(self, product_id, change, reason, request: gr.Request):
        """Correct stock by a signed number of units after a count, breakage or loss."""
        said = "stock adjusted: {stock} in stock now"
        return self._change("adjust_stock", product_id, request, said, whole_number(change), reason)

    @guarded
    def stock_movements(self, product_id, page, page_size, request: gr.Request):
        """The product's stock ledger, newest first, one page at a time."""
        return self._movements(self._id(product_id), page, page_size, request)

    def _movements(self, product_id: int, page, page_size, request: gr.Request) -> tuple:
        actor = self.ctx.actor(request)
        found, number = fetch_page(
            lambda limit, offset: self.service.movements(actor, product_id, limit, offset),
            page,
            page_size,
        )
        rows = [vars(movement) for movement in found.items]
        shown = table(rows, MOVEMENT_COLUMNS, self.ctx.shop.time)
        return shown, page_info(found, number, "movement"), number


def sale_row(shop, line) -> dict:
    return {
        **line.to_dict(),
        "what": f"Purchase #{line.purchase_id}",
        "returned": line.returned or "",
        "amount": shop.money(line.amount_cents),
    }


def sales_note(sales) -> str:
    if not sales.total:
        return "#### Sales\nNot sold yet."
    shown = len(sales.items)
    newest = f" (newest {shown} shown)" if sales.total > shown else ""
    return f"#### Sales\n{count(sales.total, 'sales line')}{newest}"


def quote_row(shop, line) -> dict:
    price = line.unit_price_cents
    return {
        **line.to_dict(),
        "what": f"Quote #{line.quote_id}",
        "price": "" if price is None else shop.money(price),
    }


def product_heading(shop, product) -> str:
    """The page's heading: name, SKU and number, then category, price and status."""
    details = " · ".join(
        part for part in (md(product.category), shop.money(product.price_cents)) if part
    )
    return (
        f"### {md(product.name)} · {md(product.sku)} · #{product.id}\n{details}  \n{product.status}"
    )


def product_figures(shop, product, sales_lines: int, quotes: list) -> str:
    low = product.low_stock and product.status == "active"
    asked = sum(line.quantity for line in quotes)
    return figure_cards(
        [
            ("In stock", f"{product.stock:,}", f"reorder at {product.reorder_level:,}", low),
            ("Price", shop.money(product.price_cents), product.status, False),
            ("Sales lines", f"{sales_lines:,}", "cancelled ones too", False),
            ("Open quotes", f"{len(quotes):,}", f"{asked:,} units asked", False),
        ]
    )


def build(ctx: UIContext) -> list[dict]:
    """Lay out the Products tab; returns the events that refresh it when the tab is shown."""
    handlers = ProductHandlers(ctx)
    with gr.Row(equal_height=True):
        search = gr.Textbox(
            label="Search products", placeholder="SKU, name or category, then Enter", scale=3
        )
        status = gr.Radio(STATUS_CHOICES, value="active", label="Status", scale=2)
        category = gr.Dropdown(
            [ALL_CATEGORIES],
            value=ALL_CATEGORIES,
            label="Category",
            allow_custom_value=True,
            scale=2,
        )
        low_stock = gr.Checkbox(label="Low stock only", value=False, scale=1)
        new = gr.Button("Add a product", variant="primary", scale=0, min_width=160)
    with gr.Column(visible=False, elem_classes="crpm-card", elem_id="product-add") as add_panel:
        gr.Markdown("### Add a product\nFields marked * are required.")
        add_fields = product_form(with_opening_stock=True)
        with gr.Row():
            add = gr.Button("Add product", variant="primary")
            close_add = gr.Button("Close")
    pager = Pager.build("Products", LIST_COLUMNS, "product", "products-table")
    refresh = pager.wire(
        handlers.list_products,
        [search, status, category, low_stock],
        [search.submit, status.input, category.input, low_stock.input],
        "list_products",
    )
    load_categories = dict(
        fn=handlers.categories, inputs=None, outputs=category, api_visibility="private"
    )

    with gr.Column(elem_classes="crpm-card", elem_id="product-page"):
        header, figures = page_top("product", NO_PRODUCT)
        # The open product's number: set by a row click or the search, never typed.
        product_id = gr.Number(label="Product ID", visible=False)
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, elem_id="product-edit"):
                with gr.Row(equal_height=True):
                    stock = gr.Number(label="In stock", interactive=False, scale=1)
                    state = gr.Textbox(label="Status", interactive=False, scale=1)
                edit_fields = product_form(with_opening_stock=False)
                with gr.Row():
                    save = gr.Button("Save changes", variant="primary")
                    deactivate = gr.Button("Deactivate", variant="stop")
                    reactivate = gr.Button("Reactivate")
                deactivate_yes = ask_first(
                    deactivate, handlers.describe_deactivate_product, [product_id]
                )
                gr.Markdown("#### Stock")
                with gr.Row(equal_height=True):
                    restock_qty = gr.Number(label="Units received", scale=1)
                    restock_reason = gr.Textbox(label="Note", placeholder="Delivery 4711", scale=2)
                    restock = gr.Button("Restock", scale=0, min_width=110)
                with gr.Row(equal_height=True):
                    adjust_qty = gr.Number(label="Change (+/−)", scale=1)
                    adjust_reason = gr.Textbox(
                        label="Reason *", placeholder="Stock count, breakage…", scale=2
                    )
                    adjust = gr.Button("Adjust stock", scale=0, min_width=110)
            with gr.Column(scale=3):
                sales_note, sales = linked_table(
                    ctx, SALES_COLUMNS, "Sales lines, newest first", "product-sales",
                    "#### Sales", max_height=420,
                )  # fmt: skip
                quotes_note, quotes = linked_table(
                    ctx, QUOTE_COLUMNS, "Open quotes with it", "product-quotes",
                    "#### Open quotes", max_height=300,
                )  # fmt: skip

    taxes.build(ctx, product_id)
    gr.Markdown("### Stock movements of the open product")
    movements = Pager.build("Stock movements", MOVEMENT_COLUMNS, "movement", "movements-table")
    movements.wire(handlers.stock_movements, [product_id], [], "stock_movements")

    record = [product_id, *edit_fields, stock, state]
    private = {"api_visibility": "private"}
    load_record = dict(fn=handlers.get_product, inputs=product_id, outputs=record)

    page_parts = [
        *record, *movements.outputs, header, figures, sales, sales_note, quotes, quotes_note
    ]  # fmt: skip
    show_page = dict(fn=handlers.product_page, inputs=product_id, outputs=page_parts, **private)
    # Published for API clients; in the page a product opens by a click or the search, and one
    # call draws its whole page; after a change the page is drawn again the same way.
    product_id.submit(**load_record, api_name="get_product")
    product_id.submit(**{**show_page, "api_visibility": "public"}, api_name="product_page")
    pager.table.select(handlers.open_product, None, page_parts, **private)
    ctx.openers["product"] = Opener(
        "products", handlers.product_page, page_parts, anchor="product-header"
    )
    new.click(None, None, add_panel, js=SHOW)
    close_add.click(None, None, add_panel, js=HIDE)
    # One event adds the product, empties and closes the form, opens the new product's page,
    # reads the categories again (it may bring a new one) and draws the list's last page (the
    # newest). Each change below also draws the product's page and the list in its own event.
    after_add = dict(
        zip(
            [*add_fields, add_panel],
            ["", "", "", "", "", 0, 0, gr.Column(visible=False)],
            strict=True,
        )
    )
    # The list is drawn before the categories: it reads the category chosen, not their list.
    pager.one_trip(
        add.click,
        dict(fn=handlers.add_product, inputs=add_fields, outputs=record, api_name="add_product"),
        show_page,
        load_categories,
        resets={**after_add, pager.page: 1e9},
    )
    update = [product_id, *edit_fields]
    pager.one_trip(
        save.click,
        dict(fn=handlers.update_product, inputs=update, outputs=record, api_name="update_product"),
        show_page,
        load_categories,
    )
    for button, fn, name in (
        (deactivate_yes, handlers.deactivate_product, "deactivate_product"),
        (reactivate, handlers.reactivate_product, "reactivate_product"),
    ):
        change = dict(fn=fn, inputs=product_id, outputs=record, api_name=name)
        pager.one_trip(button.click, change, show_page)
    for button, fn, quantity, reason, name in (
        (restock, handlers.restock_product, restock_qty, restock_reason, "restock_product"),
        (adjust, handlers.adjust_stock, adjust_qty, adjust_reason, "adjust_stock"),
    ):
        change = dict(fn=fn, inputs=[product_id, quantity, reason], outputs=record, api_name=name)
        pager.one_trip(button.click, change, show_page, resets={quantity: None, reason: ""})
    return [refresh, load_categories]


def list_row(product, shop) -> dict:
    return {
        **product.to_dict(),
        "price": shop.money(product.price_cents),
        "flag": "⚠ low" if product.low_stock and product.status == "active" else "",
    }
