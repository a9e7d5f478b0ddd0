"""Products: the catalogue, with restock and adjustment as explicit stock operations."""

from __future__ import annotations

from crpm.errors import InactiveRecord, NotFound, ValidationError
from crpm.models import (
    Page,
    Product,
    StockMovement,
    clean_product_fields,
    clean_text,
    parse_int,
    parse_quantity,
)
from crpm.permissions import Actor, ensure
from crpm.services import audit, stock
from crpm.services.records import RecordService
from crpm.services.search import clamp_page
from crpm.services.sqlparts import Where, read_page


class ProductService(RecordService):
    table = "products"
    entity = "product"
    model = Product

    def by_sku(self, actor: Actor, sku: str) -> Product:
        """The product whose whole SKU is `sku`, in any case (the column's collation ignores
        it, and keeps the lookup on the SKU's index)."""
        ensure(actor, "read_records")
        row = self.store.query_one(
            f"SELECT {self._columns()} FROM products WHERE sku = ?", (str(sku).strip(),)
        )
        if row is None:
            raise NotFound(self.entity, sku)
        return self.model(**dict(row))

    def add(self, actor: Actor, sku: str, name: str, price, stock_quantity=0, **fields) -> Product:
        """A new product; an opening stock is written as an 'initial' movement."""
        ensure(actor, "manage_records")
        values = clean_product_fields({"sku": sku, "name": name, "price": price, **fields})
        opening = parse_int(stock_quantity if stock_quantity not in (None, "") else 0, "stock")
        with self.store.write() as conn:
            product_id = self._insert(conn, actor, {**values, "stock": 0})
            if opening:
                stock.move(conn, actor, product_id, opening, "initial", "opening stock")
            row = self._row(conn, product_id)
        return Product(**dict(row))

    def update(self, actor: Actor, product_id: int, **fields) -> Product:
        """Change catalogue fields; stock changes only through restock and adjust_stock."""
        ensure(actor, "manage_records")
        if "stock" in fields:
            raise ValidationError("stock", "change stock with a restock or an adjustment")
        return self._update(actor, self._id(product_id), clean_product_fields(fields, partial=True))

    def restock(self, actor: Actor, product_id: int, quantity, reason: str = "") -> Product:
        return self._change_stock(actor, product_id, parse_quantity(quantity), "restock", reason)

    def adjust_stock(self, actor: Actor, product_id: int, delta, reason: str) -> Product:
        """A correction after a count, breakage or loss: signed, with a reason."""
        change = parse_int(delta, "quantity", minimum=-(10**6))
        if change == 0:
            raise ValidationError("quantity", "an adjustment must change the stock")
        if not clean_text(reason, "reason"):
            raise ValidationError("reason", "is required for a stock adjustment")
        return self._change_stock(actor, product_id, change, "adjustment", reason)

    def _change_stock(self, actor: Actor, product_id, quantity: int, kind: str, reason) -> Product:
        ensure(actor, "manage_records")
        reason = clean_text(reason, "reason")
        product_id = self._id(product_id)
        with self.store.write() as conn:
            before = dict(self._row(conn, product_id))
            if before["status"] != "active":
                raise InactiveRecord("product", product_id, before["sku"])
            stock.move(conn, actor, product_id, quantity, kind, reason)
            after = dict(self._row(conn, product_id))
            audit.record(
                conn,
                actor,
                kind,
                "product",
                product_id,
                {"stock": before["stock"]},
                {"stock": after["stock"], "reason": reason},
            )
        return Product(**after)

    def list(
        self,
        actor: Actor,
        search: str = "",
        status: str | None = "active",
        limit: int = 50,
        offset: int = 0,
        category: str = "",
        low_stock: bool = False,
        after_id=None,
    ) -> Page:
        if not low_stock:
            where = {"category": category} if category else None
            return super().list(actor, search, status, limit, offset, where, after_id)
        return self._low_stock(actor, category, limit, offset)

    def _low_stock(self, actor: Actor, category: str, limit: int, offset: int) -> Page:
        """Active products at or below their reorder level, lowest cover first."""
        ensure(actor, "read_records")
        limit, offset = clamp_page(limit, offset)
        where = Where(["status = 'active'", "stock <= reorder_level"])
        if category:
            where.add("category = :category", category=category)
        select = f"SELECT {self._columns()} FROM products"
        order = "stock - reorder_level, id"
        rows, total = read_page(self.store, select, "products", where, order, limit, offset)
        return Page([Product(**dict(row)) for row in rows], total, limit, offset)

    def movements(self, actor: Actor, product_id: int, limit: int = 50, offset: int = 0) -> Page:
        """The product's stock ledger, newest first."""
        ensure(actor, "read_records")
        limit, offset = clamp_page(limit, offset)
        product_id = self._id(product_id)
        self._row(self.store.conn, product_id)
        where = Where(["product_id = :product_id"], {"product_id": product_id})
        rows, total = read_page(
            self.store,
            "SELECT * FROM stock_movements",
            "stock_movements",
            where,
            "id DESC",
            limit,
            offset,
        )
        return Page([StockMovement(**dict(row)) for row in rows], total, limit, offset)

    def categories(self, actor: Actor) -> list[str]:
        ensure(actor, "read_records")
        rows = self.store.query(
            "SELECT DISTINCT category FROM products WHERE category <> '' ORDER BY category"
        )
        return [row[0] for row in rows]
