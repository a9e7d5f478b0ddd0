"""Products tab: the catalogue list with a low-stock filter, add and edit, restock and adjust,
and each product's stock movements."""

from __future__ import annotations

import gradio as gr

from crpm.models import cents_to_decimal_text
from crpm.ui import taxes
from crpm.ui.common import (
    Pager,
    UIContext,
    chain,
    clicked_id,
    fetch_page,
    guarded,
    info,
    md,
    page_info,
    required_id,
    table,
    whole_number,
)
from crpm.ui.confirm import ask_first

LIST_COLUMNS = {
    "id": "ID",
    "sku": "SKU",
    "name": "Name",
    "category": "Category",
    "price": "Price",
    "stock": "Stock",
    "reorder_level": "Reorder at",
    "flag": "Low stock",
    "status": "Status",
}
MOVEMENT_COLUMNS = {
    "created_at": "Time (UTC)",
    "kind": "Kind",
    "quantity": "Change",
    "stock_after": "Stock after",
    "purchase_id": "Purchase",
    "reason": "Reason",
    "created_by": "By",
}
STATUS_CHOICES = [("Active", "active"), ("Inactive", "inactive"), ("All", "all")]
ALL_CATEGORIES = "All categories"
PICK_HINT = "pick a product in the table or type a Product ID"


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


class ProductHandlers:
    def __init__(self, ctx: UIContext):
        self.ctx = ctx
        self.products = ctx.services.products

    @guarded
    def list_products(
        self, search, status, category, low_stock, page, page_size, request: gr.Request
    ):
        """A page of products matching a search (SKU, name, category), status and category;
        with low_stock, only active products at or below their reorder level."""
        actor = self.ctx.actor(request)
        category = "" if category in (None, ALL_CATEGORIES) else category
        found, number = fetch_page(
            lambda limit, offset: self.products.list(
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
        rows = [self._list_row(product) for product in found.items]
        filtered = bool(search or category or low_stock) or status != "all"
        return table(rows, LIST_COLUMNS), page_info(found, number, "product", filtered), number

    def _list_row(self, product) -> dict:
        return {
            **product.to_dict(),
            "price": self.ctx.money(product.price_cents),
            "flag": "⚠ low" if product.low_stock and product.status == "active" else "",
        }

    @guarded
    def categories(self, request: gr.Request):
        choices = [ALL_CATEGORIES, *self.products.categories(self.ctx.actor(request))]
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
        product_id = required_id(product_id, "product", PICK_HINT)
        return self._form(self.products.get(self.ctx.actor(request), product_id))

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
        """Add a product; price is a decimal text like 12.50; opening stock is a movement."""
        product = self.products.add(
            self.ctx.actor(request),
            sku,
            name,
            price,
            stock_quantity=whole_number(opening_stock),
            category=category,
            description=description,
            reorder_level=whole_number(reorder_level),
        )
        info(
            f"Product #{product.id} {product.sku} {product.name} added "
            f"with {product.stock} in stock"
        )
        return self._form(product)

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
        product_id = required_id(product_id, "product", PICK_HINT)
        product = self.products.update(
            self.ctx.actor(request),
            product_id,
            sku=sku,
            name=name,
            category=category,
            description=description,
            price=price,
            reorder_level=whole_number(reorder_level),
        )
        info(f"Product #{product.id} {product.sku} {product.name} saved")
        return self._form(product)

    @guarded
    def deactivate_product(self, product_id, request: gr.Request):
        product_id = required_id(product_id, "product", PICK_HINT)
        product = self.products.deactivate(self.ctx.actor(request), product_id)
        info(f"Product #{product.id} {product.sku} deactivated; past sales are kept")
        return self._form(product)

    @guarded
    def describe_deactivate_product(self, product_id, request: gr.Request):
        """What deactivate_product would do, before anything happens."""
        product_id = required_id(product_id, "product", PICK_HINT)
        product = self.products.get(self.ctx.actor(request), product_id)
        return (
            f"**Deactivate product #{product.id} {md(product.sku)} {md(product.name)}?** "
            f"It can no longer be sold or quoted; its stock ({product.stock}), past sales and "
            "every report figure stay."
        )

    @guarded
    def reactivate_product(self, product_id, request: gr.Request):
        product_id = required_id(product_id, "product", PICK_HINT)
        product = self.products.reactivate(self.ctx.actor(request), product_id)
        info(f"Product #{product.id} {product.sku} reactivated")
        return self._form(product)

    @guarded
    def restock_product(self, product_id, quantity, reason, request: gr.Request):
        """Add delivered units to stock."""
        product_id = required_id(product_id, "product", PICK_HINT)
        product = self.products.restock(
            self.ctx.actor(request), product_id, whole_number(quantity), reason
        )
        info(f"Product #{product.id} {product.sku} restocked: {product.stock} in stock now")
        return self._form(product)

    @guarded
    def adjust_stock(self, product_id, change, reason, request: gr.Request):
        """Correct stock by a signed number of units after a count, breakage or loss."""
        product_id = required_id(product_id, "product", PICK_HINT)
        product = self.products.adjust_stock(
            self.ctx.actor(request), product_id, whole_number(change), reason
        )
        info(f"Product #{product.id} {product.sku} stock adjusted: {product.stock} in stock now")
        return self._form(product)

    @guarded
    def stock_movements(self, product_id, page, page_size, request: gr.Request):
        """The product's stock ledger, newest first, one page at a time."""
        product_id = required_id(product_id, "product", PICK_HINT)
        actor = self.ctx.actor(request)
        found, number = fetch_page(
            lambda limit, offset: self.products.movements(actor, product_id, limit, offset),
            page,
            page_size,
        )
        rows = [vars(movement) for movement in found.items]
        return table(rows, MOVEMENT_COLUMNS), page_info(found, number, "movement"), number

    @staticmethod
    @guarded
    def pick_row(event: gr.SelectData):
        return clicked_id(event)


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
    pager = Pager.build("Products", list(LIST_COLUMNS.values()), "product", "products-table")
    refresh = pager.wire(
        handlers.list_products,
        [search, status, category, low_stock],
        [search.submit, status.input, category.input, low_stock.input],
        "list_products",
    )
    load_categories = dict(
        fn=handlers.categories, inputs=None, outputs=category, api_visibility="private"
    )

    with gr.Row(equal_height=False):
        with gr.Column(scale=3, elem_classes="crpm-card", elem_id="product-edit"):
            gr.Markdown("### Selected product\nClick a row above or type an ID.")
            with gr.Row(equal_height=True):
                product_id = gr.Number(label="Product ID", scale=2)
                stock = gr.Number(label="In stock", interactive=False, scale=1)
                state = gr.Textbox(label="Status", interactive=False, scale=1)
                load = gr.Button("Load", scale=0, min_width=90)
            edit_fields = product_form(with_opening_stock=False)
            with gr.Row():
                save = gr.Button("Save changes", variant="primary")
                deactivate = gr.Button("Deactivate", variant="stop")
                reactivate = gr.Button("Reactivate")
            deactivate_yes = ask_first(
                deactivate, handlers.describe_deactivate_product, [product_id], "Yes, deactivate"
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
        with gr.Column(scale=2, elem_classes="crpm-card", elem_id="product-add"):
            gr.Markdown("### Add a product\nFields marked * are required.")
            add_fields = product_form(with_opening_stock=True)
            add = gr.Button("Add product", variant="primary")

    taxes.build(ctx, product_id)
    gr.Markdown("### Stock movements of the selected product")
    movements = Pager.build(
        "Stock movements", list(MOVEMENT_COLUMNS.values()), "movement", "movements-table"
    )
    show_movements = movements.wire(handlers.stock_movements, [product_id], [], "stock_movements")
    first_movements = [
        dict(fn=None, inputs=None, outputs=movements.page, js="() => 1"),
        show_movements,
    ]

    record = [product_id, *edit_fields, stock, state]
    private = {"api_visibility": "private"}
    load_record = dict(fn=handlers.get_product, inputs=product_id, outputs=record)

    chain(load.click(**load_record, api_name="get_product"), *first_movements)
    chain(product_id.submit(**load_record, **private), *first_movements)
    chain(
        pager.table.select(handlers.pick_row, None, product_id, **private),
        {**load_record, **private},
        *first_movements,
    )
    chain(
        add.click(handlers.add_product, add_fields, record, api_name="add_product"),
        dict(fn=None, inputs=None, outputs=add_fields, js="() => ['', '', '', '', '', 0, 0]"),
        dict(fn=None, inputs=None, outputs=pager.page, js="() => 1e9"),
        refresh,
        load_categories,
        *first_movements,
    )
    chain(
        save.click(
            handlers.update_product, [product_id, *edit_fields], record, api_name="update_product"
        ),
        refresh,
        load_categories,
    )
    for button, fn, name in (
        (deactivate_yes, handlers.deactivate_product, "deactivate_product"),
        (reactivate, handlers.reactivate_product, "reactivate_product"),
    ):
        chain(button.click(fn, product_id, record, api_name=name), refresh)
    chain(
        restock.click(
            handlers.restock_product,
            [product_id, restock_qty, restock_reason],
            record,
            api_name="restock_product",
        ),
        dict(fn=None, inputs=None, outputs=[restock_qty, restock_reason], js="() => [null, '']"),
        refresh,
        *first_movements,
    )
    chain(
        adjust.click(
            handlers.adjust_stock,
            [product_id, adjust_qty, adjust_reason],
            record,
            api_name="adjust_stock",
        ),
        dict(fn=None, inputs=None, outputs=[adjust_qty, adjust_reason], js="() => [null, '']"),
        refresh,
        *first_movements,
    )
    return [refresh, load_categories]
