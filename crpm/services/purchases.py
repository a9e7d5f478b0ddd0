"""Purchases: record, cancel, return, and read them back.

Recording is one transaction: the customer must be active, every product active and in stock;
stock falls through the ledger's conditional update, and lines, movements and the audit row are
written together or not at all. A purchase from a quote (`record(quote_id=...)`, which the
service desk calls inside its own unit of work) takes its lines, prices and discount from the
quote; it is the only purchase a customer may record, and only their own.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from decimal import Decimal

from crpm.errors import Conflict, InactiveRecord, NotFound, ValidationError
from crpm.models import (
    MAX_CENTS,
    Page,
    Purchase,
    PurchaseLine,
    clean_text,
    parse_id,
    parse_int,
    parse_quantity,
    parse_time,
    unpack,
)
from crpm.permissions import Actor, ensure
from crpm.pricing import (
    NO_DISCOUNT,
    Discount,
    LineInput,
    PricedLine,
    Totals,
    discount_text,
    parse_discount,
    price_lines,
    returned_share,
    totals,
)
from crpm.services import audit, documents, stock
from crpm.services.search import clamp_page
from crpm.services.sqlparts import Where, read_page
from crpm.services.taxes import ShopSettings, read_settings, sale_terms

SOURCES = ("dashboard", "import", "quote", "api", "cli", "demo")
MAX_LINES = 200

LINES_SQL = """
SELECT l.id, l.product_id, p.sku, p.name AS product_name, l.quantity, l.unit_price_cents,
       coalesce(r.quantity, 0) AS returned, l.discount_cents, l.tax_rate, l.net_cents,
       l.tax_cents, coalesce(r.net_cents, 0) AS returned_net_cents
FROM purchase_lines l JOIN products p ON p.id = l.product_id
LEFT JOIN (SELECT line_id, sum(quantity) AS quantity, sum(net_cents) AS net_cents
           FROM purchase_returns GROUP BY line_id) r ON r.line_id = l.id
WHERE l.purchase_id = ? ORDER BY l.id
"""

# The units of purchase `pu` that came back, and its state as Purchase.status words it.
RETURNED_UNITS_SQL = """(SELECT coalesce(sum(r.quantity), 0) FROM purchase_returns r
    JOIN purchase_lines l ON l.id = r.line_id WHERE l.purchase_id = pu.id)"""
PURCHASE_STATUS_SQL = f"""CASE WHEN pu.cancelled_at IS NOT NULL THEN 'cancelled'
    WHEN {RETURNED_UNITS_SQL} = 0 THEN 'completed'
    WHEN {RETURNED_UNITS_SQL} >= (SELECT sum(l.quantity) FROM purchase_lines l
                                  WHERE l.purchase_id = pu.id) THEN 'returned'
    ELSE 'partly returned' END"""
# The list's status filter: what each choice keeps (returns are few: start from them, not
# from every purchase).
STATUS_FILTERS = {
    "completed": "pu.cancelled_at IS NULL",
    "returned": "pu.cancelled_at IS NULL AND pu.id IN (SELECT l.purchase_id FROM purchase_returns r"
    " JOIN purchase_lines l ON l.id = r.line_id)",
    "cancelled": "pu.cancelled_at IS NOT NULL",
}

LIST_SQL = f"""
SELECT pu.id, pu.purchased_at, pu.customer_id, c.name AS customer_name, pu.source,
       pu.cancelled_at,
       (SELECT count(*) FROM purchase_lines l WHERE l.purchase_id = pu.id) AS lines,
       (SELECT sum(l.quantity) FROM purchase_lines l WHERE l.purchase_id = pu.id) AS units,
       (SELECT sum(l.net_cents + l.tax_cents) FROM purchase_lines l
         WHERE l.purchase_id = pu.id) AS total_cents,
       (SELECT coalesce(sum(r.net_cents + r.tax_cents), 0) FROM purchase_returns r
          JOIN purchase_lines l ON l.id = r.line_id WHERE l.purchase_id = pu.id)
           AS returned_cents,
       {PURCHASE_STATUS_SQL} AS status
FROM purchases pu JOIN customers c ON c.id = pu.customer_id
"""

HISTORY_SQL = """
SELECT pu.id AS purchase_id, pu.purchased_at, pu.cancelled_at, l.id AS line_id,
       p.id AS product_id, p.sku, p.name AS product_name, p.status AS product_status,
       l.quantity, l.unit_price_cents, l.net_cents + l.tax_cents AS line_total_cents,
       coalesce((SELECT sum(r.quantity) FROM purchase_returns r WHERE r.line_id = l.id), 0)
           AS returned,
       (SELECT sum(o.net_cents + o.tax_cents) FROM purchase_lines o
         WHERE o.purchase_id = pu.id) AS purchase_total_cents,
       i.number AS invoice_number
FROM purchases pu
JOIN purchase_lines l ON l.purchase_id = pu.id
JOIN products p ON p.id = l.product_id
LEFT JOIN invoices i ON i.purchase_id = pu.id
WHERE pu.customer_id = ?
ORDER BY pu.purchased_at DESC, pu.id DESC, l.id
LIMIT ? OFFSET ?
"""


def customer_exists(conn, customer_id: int) -> bool:
    found = conn.execute("SELECT 1 FROM customers WHERE id = ?", (customer_id,)).fetchone()
    return found is not None


def customer_totals(conn, customer_id: int) -> dict:
    """A customer's purchase lines, purchases not cancelled, what they spent on those (gross,
    returns taken off) and when they last bought (a cancelled purchase counts for none)."""
    totals = conn.execute(
        "SELECT count(*) AS lines,"
        " count(DISTINCT pu.id) FILTER (WHERE pu.cancelled_at IS NULL) AS purchases,"
        " coalesce(sum(l.net_cents + l.tax_cents)"
        "   FILTER (WHERE pu.cancelled_at IS NULL), 0) AS gross_cents,"
        " max(pu.purchased_at) FILTER (WHERE pu.cancelled_at IS NULL) AS last_purchase"
        " FROM purchases pu JOIN purchase_lines l ON l.purchase_id = pu.id"
        " WHERE pu.customer_id = ?",
        (customer_id,),
    ).fetchone()
    returned = conn.execute(
        "SELECT coalesce(sum(r.net_cents + r.tax_cents), 0) FROM purchase_returns r"
        " JOIN purchase_lines l ON l.id = r.line_id JOIN purchases pu ON pu.id = l.purchase_id"
        " WHERE pu.customer_id = ? AND pu.cancelled_at IS NULL",
        (customer_id,),
    ).fetchone()[0]
    return {
        "lines": totals["lines"],
        "purchases": totals["purchases"],
        "spent_cents": totals["gross_cents"] - returned,
        "last_purchase": totals["last_purchase"],
    }


def normalise_lines(lines) -> list[dict]:
    """[(product_id, quantity) | {product_id, quantity[, unit_price_cents][, discount]}] merged
    by product; a discount is "10%" or an amount ("1.50") off the line, kept as that text ("" for
    none) so the lines stay plain data."""
    if not isinstance(lines, (list, tuple)):
        raise ValidationError("lines", "give a list of (product id, quantity)")
    if not lines:
        raise ValidationError("lines", "a purchase needs at least one product")
    merged: OrderedDict[int, dict] = OrderedDict()
    for number, line in enumerate(lines, start=1):
        discount = ""
        if isinstance(line, dict):
            product_id, quantity = line.get("product_id"), line.get("quantity")
            price = line.get("unit_price_cents")
            discount = discount_text(
                parse_discount(line.get("discount"), f"line {number} discount")
            )
        else:
            product_id, quantity = unpack(line, 2, f"line {number}", "(product id, quantity)")
            price = None
        product_id = parse_id(product_id, f"line {number} product")
        quantity = parse_quantity(quantity, f"line {number} quantity")
        entry = merged.setdefault(product_id, {"product_id": product_id, "quantity": 0})
        entry["quantity"] += quantity
        if entry.setdefault("discount", discount) != discount:
            raise ValidationError(f"line {number} discount", "differs for the same product")
        if price is not None:
            cents = parse_int(price, f"line {number} unit price", maximum=MAX_CENTS)
            if entry.setdefault("unit_price_cents", cents) != cents:
                raise ValidationError(f"line {number} unit price", "differs for the same product")
    if len(merged) > MAX_LINES:
        raise ValidationError("lines", f"a purchase may have at most {MAX_LINES} products")
    return list(merged.values())


@dataclass(frozen=True)
class Order:
    """A purchase request that passed validation, before it touches the store."""

    customer_id: int
    lines: list[dict]
    source: str
    at: str
    order_ref: str | None
    discount: Discount = NO_DISCOUNT  # off the whole purchase, spread over its lines


def clean_order(
    customer_id, lines, source, purchased_at, order_ref, now: str, discount=None
) -> Order:
    """Validate everything that needs no store, before the write lock is taken."""
    if source not in SOURCES:
        raise ValidationError("source", f"must be one of {', '.join(SOURCES)}")
    return Order(
        customer_id=parse_id(customer_id, "customer"),
        lines=normalise_lines(lines),
        source=source,
        at=parse_time(purchased_at, "purchased_at") if purchased_at else now,
        order_ref=order_ref or None,
        discount=parse_discount(discount, "purchase discount"),
    )


def _only_the_quote(lines, source, purchased_at, order_ref, discount) -> None:
    """A purchase from a quote is the quote's, whole: nothing of its own may be given."""
    if source not in (None, "", "quote"):
        raise ValidationError("source", "a purchase from a quote has the source quote")
    given = {
        "lines": lines,
        "purchased_at": purchased_at,
        "order_ref": order_ref,
        "discount": discount,
    }
    for field, value in given.items():
        if value not in (None, "", (), []):
            raise ValidationError(field, "comes from the quote for a purchase from a quote")


def as_priced(line: PurchaseLine) -> PricedLine:
    """A stored line as pricing sees it (its figures as sold)."""
    return PricedLine(
        line.unit_price_cents,
        line.quantity,
        line.tax_rate,
        line.discount_cents,
        line.net_cents,
        line.tax_cents,
        line.net_cents + line.tax_cents,
    )


def _audited(purchase: Purchase) -> dict:
    return {
        "customer_id": purchase.customer_id,
        "source": purchase.source,
        "lines": [
            {
                "product_id": line.product_id,
                "quantity": line.quantity,
                "unit_price_cents": line.unit_price_cents,
            }
            for line in purchase.lines
        ],
        "total_cents": purchase.total_cents,
    }


class PurchaseService:
    def __init__(self, store):
        self.store = store

    # --- writing ------------------------------------------------------------

    def record(
        self,
        actor: Actor,
        customer_id,
        lines=None,
        source: str | None = None,  # None: "dashboard" ("quote" with a quote_id)
        purchased_at=None,
        order_ref: str | None = None,
        discount=None,
        quote_id=None,
    ) -> Purchase:
        """Record a sale; `discount` ("10%" or "5.00") comes off the whole purchase.

        With `quote_id` the purchase accepts that quote (the service desk calls this inside its
        own unit of work): lines, prices and discount are the quote's, read here, and nothing
        else may be given. That is the one purchase a customer may record, for themself.
        """
        if quote_id is None:
            ensure(actor, "manage_records")
            now = self.store.clock.stamp()
            source = source or "dashboard"
            order = clean_order(customer_id, lines, source, purchased_at, order_ref, now, discount)
        else:
            customer_id = parse_id(customer_id, "customer")
            ensure(actor, "accept_quote", customer_id)
            _only_the_quote(lines, source, purchased_at, order_ref, discount)
        # A sale from the dashboard or the API may overlap with others (on PostgreSQL): stock
        # is taken by conditional updates, the invoice number under its counter's row lock.
        # Accepting a quote reads and changes the quote's state, so that one runs alone.
        with self.store.write(concurrent=quote_id is None) as conn:
            if quote_id is not None:
                # Imported here: the quotes module builds on this one (it records through it).
                from crpm.services.servicedesk.quotes import quoted_order

                order = quoted_order(conn, customer_id, parse_id(quote_id, "quote"))
            return self._write(conn, actor, order)

    def _write(self, conn, actor: Actor, order: Order) -> Purchase:
        """The purchase as written, built from what was written rather than read back."""
        customer = conn.execute(
            f"SELECT {documents.PARTY_COLUMNS}, status FROM customers WHERE id = ?",
            (order.customer_id,),
        ).fetchone()
        if customer is None or customer["status"] == "erased":
            raise NotFound("customer", order.customer_id)
        if customer["status"] != "active":
            raise InactiveRecord("customer", order.customer_id, customer["name"])
        settings = read_settings(conn)
        inclusive = settings.prices_include_tax
        priced = self._price(conn, order, settings)
        purchase_id = conn.execute(
            "INSERT INTO purchases (customer_id, purchased_at, recorded_by, source, order_ref,"
            " prices_include_tax) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            (
                order.customer_id,
                order.at,
                actor.username,
                order.source,
                order.order_ref,
                int(inclusive),
            ),
        ).fetchone()[0]
        sold = self._sell_lines(conn, actor, purchase_id, order, priced)
        invoice = None
        if order.source not in documents.UNINVOICED_SOURCES:
            invoice = documents.issue_invoice(conn, purchase_id, settings, customer)
        purchase = Purchase(
            id=purchase_id,
            customer_id=order.customer_id,
            customer_name=customer["name"],
            purchased_at=order.at,
            recorded_by=actor.username,
            source=order.source,
            order_ref=order.order_ref,
            cancelled_at=None,
            lines=sold,
            prices_include_tax=inclusive,
            invoice_number=invoice,
        )
        audit.record(conn, actor, "create", "purchase", purchase_id, after=_audited(purchase))
        return purchase

    def preview(self, actor: Actor, lines, discount=None) -> tuple[list[PricedLine], Totals]:
        """A cart priced as `record` would price it now, without writing anything."""
        ensure(actor, "manage_records")
        discount = parse_discount(discount, "purchase discount")
        order = Order(0, normalise_lines(lines), "dashboard", "", None, discount)
        with self.store.read() as conn:
            priced = self._price(conn, order, read_settings(conn))
        return priced, totals(priced)

    @staticmethod
    def _price(conn, order: Order, settings: ShopSettings) -> list[PricedLine]:
        """Every line priced at today's prices (or the quote's) and rates, by crpm/pricing.py."""
        ids = [line["product_id"] for line in order.lines]
        terms = sale_terms(conn, ids, settings.default_tax_rate_id)
        inputs = [
            LineInput(
                line.get("unit_price_cents", terms.get(line["product_id"], (0,))[0]),
                line["quantity"],
                terms.get(line["product_id"], (0, Decimal(0)))[1],
                parse_discount(line.get("discount")),
            )
            for line in order.lines
        ]
        return price_lines(inputs, settings.prices_include_tax, order.discount)

    @classmethod
    def _sell_lines(cls, conn, actor: Actor, purchase_id, order: Order, priced) -> tuple:
        """Take the stock of every line (stock.sell), then write the lines."""
        wanted = [
            (line["product_id"], figures.quantity)
            for line, figures in zip(order.lines, priced, strict=True)
        ]
        products = stock.sell(conn, actor, wanted, purchase_id, order.at)
        return tuple(
            cls._write_line(conn, purchase_id, product_id, figures, product)
            for (product_id, _), figures, product in zip(wanted, priced, products, strict=True)
        )

    @staticmethod
    def _write_line(conn, purchase_id, product_id, line: PricedLine, product) -> PurchaseLine:
        rate = f"{line.rate.normalize():f}"
        line_id = conn.execute(
            "INSERT INTO purchase_lines (purchase_id, product_id, quantity, unit_price_cents,"
            " discount_cents, tax_rate, net_cents, tax_cents) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            " RETURNING id",
            (
                purchase_id,
                product_id,
                line.quantity,
                line.unit_cents,
                line.discount_cents,
                rate,
                line.net_cents,
                line.tax_cents,
            ),
        ).fetchone()[0]
        return PurchaseLine(
            line_id,
            product_id,
            product["sku"],
            product["name"],
            line.quantity,
            0,
            line.unit_cents,
            line.discount_cents,
            Decimal(rate),
            line.net_cents,
            line.tax_cents,
        )

    def cancel(self, actor: Actor, purchase_id, reason: str = "") -> Purchase:
        """Cancel a whole purchase: every unit not yet returned goes back to stock."""
        ensure(actor, "manage_records")
        purchase_id = parse_id(purchase_id, "purchase")
        reason = clean_text(reason, "reason")
        with self.store.write() as conn:
            purchase = self._load(conn, purchase_id)
            if purchase.cancelled_at:
                raise Conflict("purchase", f"purchase #{purchase_id} is already cancelled")
            now = conn.clock.stamp()
            credited = [
                (line.id, returned_share(as_priced(line), line.returned, left))
                for line in purchase.lines
                if (left := line.quantity - line.returned) > 0
            ]
            documents.issue_credit_note(conn, purchase_id, "cancel", reason, credited)
            for line in purchase.lines:
                if line.quantity > line.returned:
                    stock.move(
                        conn,
                        actor,
                        line.product_id,
                        line.quantity - line.returned,
                        "cancel",
                        reason,
                        purchase_id,
                        now,
                    )
            conn.execute(
                "UPDATE purchases SET cancelled_at = ?, cancelled_by = ?, cancel_reason = ?"
                " WHERE id = ?",
                (now, actor.username, reason, purchase_id),
            )
            audit.record(
                conn,
                actor,
                "cancel",
                "purchase",
                purchase_id,
                {"cancelled_at": None},
                {"cancelled_at": now, "reason": reason},
            )
        return self._load(self.store.conn, purchase_id)

    def return_items(self, actor: Actor, line_id, quantity, reason: str = "") -> Purchase:
        """Return some units of a line: stock comes back, revenue falls; never more than bought."""
        ensure(actor, "manage_records")
        line_id = parse_id(line_id, "line")
        quantity = parse_quantity(quantity)
        reason = clean_text(reason, "reason")
        with self.store.write() as conn:
            row = conn.execute(
                "SELECT purchase_id FROM purchase_lines WHERE id = ?", (line_id,)
            ).fetchone()
            if row is None:
                raise NotFound("purchase line", line_id)
            purchase = self._load(conn, row["purchase_id"])
            if purchase.cancelled_at:
                raise Conflict("purchase", f"purchase #{purchase.id} is cancelled")
            line = next(line for line in purchase.lines if line.id == line_id)
            left = line.quantity - line.returned
            if quantity > left:
                raise ValidationError(
                    "quantity", f"only {left} of {line.sku} can still be returned from this line"
                )
            now = conn.clock.stamp()
            share = returned_share(as_priced(line), line.returned, quantity)
            conn.execute(
                "INSERT INTO purchase_returns (line_id, quantity, returned_at, recorded_by, reason,"
                " discount_cents, net_cents, tax_cents) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    line_id,
                    quantity,
                    now,
                    actor.username,
                    reason,
                    share.discount_cents,
                    share.net_cents,
                    share.tax_cents,
                ),
            )
            documents.issue_credit_note(conn, purchase.id, "return", reason, [(line_id, share)])
            stock.move(conn, actor, line.product_id, quantity, "return", reason, purchase.id, now)
            audit.record(
                conn,
                actor,
                "return",
                "purchase",
                purchase.id,
                after={
                    "line_id": line_id,
                    "quantity": quantity,
                    "reason": reason,
                },
            )
        return self._load(self.store.conn, purchase.id)

    # --- reading ------------------------------------------------------------

    def get(self, actor: Actor, purchase_id) -> Purchase:
        """A purchase; another customer's reads as not found, so ids tell nothing."""
        purchase = self._load(self.store.conn, parse_id(purchase_id, "purchase"))
        ensure(actor, "read_purchases", purchase.customer_id, entity="purchase", key=purchase.id)
        return purchase

    def _load(self, conn, purchase_id: int) -> Purchase:
        row = conn.execute(
            "SELECT pu.*, c.name AS customer_name, i.number AS invoice_number FROM purchases pu"
            " JOIN customers c ON c.id = pu.customer_id"
            " LEFT JOIN invoices i ON i.purchase_id = pu.id WHERE pu.id = ?",
            (purchase_id,),
        ).fetchone()
        if row is None:
            raise NotFound("purchase", purchase_id)
        lines = tuple(
            PurchaseLine(**{**dict(line), "tax_rate": Decimal(line["tax_rate"])})
            for line in conn.execute(LINES_SQL, (purchase_id,))
        )
        return Purchase(
            id=row["id"],
            customer_id=row["customer_id"],
            customer_name=row["customer_name"],
            purchased_at=row["purchased_at"],
            recorded_by=row["recorded_by"],
            source=row["source"],
            order_ref=row["order_ref"],
            cancelled_at=row["cancelled_at"],
            lines=lines,
            prices_include_tax=bool(row["prices_include_tax"]),
            invoice_number=row["invoice_number"],
        )

    def history(self, actor: Actor, customer_id, limit: int = 200, offset: int = 0) -> Page:
        """A customer's purchase lines, newest first, with the net total spent."""
        customer_id = parse_id(customer_id, "customer")
        ensure(actor, "read_purchases", customer_id)
        limit, offset = clamp_page(limit, offset, max_limit=1000)
        with self.store.read() as conn:  # the lines and the totals from one snapshot
            if not customer_exists(conn, customer_id):
                raise NotFound("customer", customer_id)
            rows = [dict(row) for row in conn.execute(HISTORY_SQL, (customer_id, limit, offset))]
            totals = customer_totals(conn, customer_id)
        extra = {"purchases": totals["purchases"], "total_spent_cents": totals["spent_cents"]}
        return Page(rows, totals["lines"], limit, offset, extra=extra)

    def list(
        self,
        actor: Actor,
        customer_id=None,
        product_id=None,
        date_from=None,
        date_to=None,
        status: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page:
        """Purchases newest first, filtered by customer, product, [from, to) and status."""
        if customer_id in (None, ""):
            ensure(actor, "read_records")
        else:
            customer_id = parse_id(customer_id, "customer")
            ensure(actor, "read_purchases", customer_id)
        limit, offset = clamp_page(limit, offset)
        where = Where()
        if customer_id not in (None, ""):
            where.add("pu.customer_id = :customer_id", customer_id=customer_id)
        if product_id not in (None, ""):
            where.add(
                "pu.id IN (SELECT purchase_id FROM purchase_lines WHERE product_id = :product_id)",
                product_id=parse_id(product_id, "product"),
            )
        if date_from:
            where.add("pu.purchased_at >= :date_from", date_from=parse_time(date_from, "from"))
        if date_to:
            where.add("pu.purchased_at < :date_to", date_to=parse_time(date_to, "to"))
        if status in STATUS_FILTERS:
            where.add(STATUS_FILTERS[status])
        elif status not in (None, "", "all"):
            raise ValidationError("status", "must be completed, returned, cancelled or all")
        order = "pu.purchased_at DESC, pu.id DESC"
        rows, total = read_page(self.store, LIST_SQL, "purchases pu", where, order, limit, offset)
        return Page([dict(row) for row in rows], total, limit, offset)
