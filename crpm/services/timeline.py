"""What belongs to a record, read in one snapshot for its page.

A customer's relationship on one list: purchases, cancellations, returns, tickets and quotes,
newest first, with their totals (orders, spent, last purchase). Staff read anyone's; a customer
only their own (someone else's reads as a missing customer). Internal ticket notes are not on
it: a ticket shows its subject and status.

A product's recent sales lines (purchase, customer, units, returned, when) and the open quotes
that include it (requested, or priced and still valid), for staff. Its stock ledger is the
products service's (`ProductService.movements`).

A purchase's returns, newest first (when, which line's product, units, credit, reason, who),
for whoever may read the purchase.
"""

from __future__ import annotations

from dataclasses import dataclass

from crpm.errors import NotFound
from crpm.models import AsDict, Page, parse_id
from crpm.permissions import Actor, ensure
from crpm.services.purchases import PURCHASE_STATUS_SQL, customer_exists, customer_totals
from crpm.services.search import clamp_page
from crpm.services.servicedesk.quotes import QUOTE_STATUS_SQL

KINDS = ("purchase", "cancellation", "return", "ticket", "quote")


def _counted(number_sql: str, noun: str) -> str:
    """SQL for '1 unit' or '3 units' from an expression giving the number."""
    return f"({number_sql}) || CASE WHEN ({number_sql}) = 1 THEN ' {noun}' ELSE ' {noun}s' END"


UNITS = _counted("SELECT sum(l.quantity) FROM purchase_lines l WHERE l.purchase_id = pu.id", "unit")
LINES = _counted("SELECT count(*) FROM purchase_lines l WHERE l.purchase_id = pu.id", "line")
PRODUCTS = _counted("SELECT count(*) FROM quote_lines ql WHERE ql.quote_id = q.id", "product")
# One row per event: when, what kind, the record it opens (a return's: its purchase), a title,
# a status and an amount in cents (gross; a return's credit; none for tickets and quotes).
# Ties on the time: the later kind in KINDS first (a cancellation after its purchase), then the
# higher record id.
TIMELINE_SQL = f"""
WITH mine AS (SELECT id, purchased_at, cancelled_at FROM purchases WHERE customer_id = :customer)
SELECT at, kind, record_id, title, status, amount_cents FROM (
  SELECT pu.purchased_at AS at, 'purchase' AS kind, pu.id AS record_id,
         {UNITS} || ', ' || {LINES} AS title,
         {PURCHASE_STATUS_SQL} AS status,
         (SELECT sum(l.net_cents + l.tax_cents) FROM purchase_lines l
           WHERE l.purchase_id = pu.id) AS amount_cents, 0 AS rank
  FROM mine pu
  UNION ALL
  SELECT pu.cancelled_at, 'cancellation', pu.id, 'whole purchase cancelled', 'cancelled',
         (SELECT sum(l.net_cents + l.tax_cents) FROM purchase_lines l
           WHERE l.purchase_id = pu.id), 1
  FROM mine pu WHERE pu.cancelled_at IS NOT NULL
  UNION ALL
  SELECT r.returned_at, 'return', pu.id, r.quantity || ' × ' || p.name, 'returned',
         r.net_cents + r.tax_cents, 2
  FROM mine pu JOIN purchase_lines l ON l.purchase_id = pu.id
  JOIN purchase_returns r ON r.line_id = l.id JOIN products p ON p.id = l.product_id
  UNION ALL
  SELECT t.created_at, 'ticket', t.id, t.subject, t.status, NULL, 3
  FROM tickets t WHERE t.customer_id = :customer
  UNION ALL
  SELECT q.created_at, 'quote', q.id,
         CASE WHEN q.request_text <> '' THEN q.request_text
              ELSE {PRODUCTS} END,
         {QUOTE_STATUS_SQL}, NULL, 4
  FROM quotes q WHERE q.customer_id = :customer
) AS events
ORDER BY at DESC, rank DESC, record_id DESC
LIMIT :limit OFFSET :offset
"""
COUNT_SQL = """
SELECT (SELECT count(*) FROM purchases WHERE customer_id = :customer)
     + (SELECT count(*) FROM purchases WHERE customer_id = :customer AND cancelled_at IS NOT NULL)
     + (SELECT count(*) FROM purchase_returns r JOIN purchase_lines l ON l.id = r.line_id
        JOIN purchases pu ON pu.id = l.purchase_id WHERE pu.customer_id = :customer)
     + (SELECT count(*) FROM tickets WHERE customer_id = :customer)
     + (SELECT count(*) FROM quotes WHERE customer_id = :customer)
"""


# A product's lines, newest purchase first; `returned` units, gross `amount_cents` as sold.
SALES_SQL = """
SELECT pu.purchased_at AS at, pu.id AS purchase_id, pu.customer_id, c.name AS customer,
       l.quantity, coalesce((SELECT sum(r.quantity) FROM purchase_returns r
                             WHERE r.line_id = l.id), 0) AS returned,
       l.net_cents + l.tax_cents AS amount_cents,
       CASE WHEN pu.cancelled_at IS NULL THEN 'completed' ELSE 'cancelled' END AS status
FROM purchase_lines l JOIN purchases pu ON pu.id = l.purchase_id
JOIN customers c ON c.id = pu.customer_id
WHERE l.product_id = :product
ORDER BY pu.purchased_at DESC, l.id DESC
LIMIT :limit OFFSET :offset
"""
SALES_COUNT_SQL = "SELECT count(*) FROM purchase_lines WHERE product_id = :product"
OPEN_QUOTES_SQL = f"""
SELECT q.created_at AS at, q.id AS quote_id, q.customer_id, c.name AS customer, ql.quantity,
       ql.unit_price_cents, {QUOTE_STATUS_SQL} AS status, q.valid_until
FROM quote_lines ql JOIN quotes q ON q.id = ql.quote_id JOIN customers c ON c.id = q.customer_id
WHERE ql.product_id = :product AND {QUOTE_STATUS_SQL} IN ('requested', 'priced')
ORDER BY q.created_at DESC, q.id DESC, ql.id DESC
"""
RETURNS_SQL = """
SELECT r.returned_at AS at, l.id AS line_id, p.sku, p.name AS product, r.quantity,
       r.net_cents + r.tax_cents AS credit_cents, r.reason, r.recorded_by
FROM purchase_returns r JOIN purchase_lines l ON l.id = r.line_id
JOIN products p ON p.id = l.product_id
WHERE l.purchase_id = :purchase
ORDER BY r.returned_at DESC, r.id DESC
"""
OWNER_SQL = "SELECT customer_id FROM purchases WHERE id = :purchase"


@dataclass(frozen=True)
class ReturnEntry(AsDict):
    at: str  # UTC, as stored
    line_id: int
    sku: str
    product: str
    quantity: int
    credit_cents: int  # the units' share of the line's gross
    reason: str
    recorded_by: str


@dataclass(frozen=True)
class SaleLine(AsDict):
    at: str  # the purchase's time, UTC as stored
    purchase_id: int
    customer_id: int
    customer: str
    quantity: int
    returned: int
    amount_cents: int  # gross, as sold
    status: str  # completed or cancelled


@dataclass(frozen=True)
class QuotedLine(AsDict):
    at: str  # when the quote was asked for
    quote_id: int
    customer_id: int
    customer: str
    quantity: int
    unit_price_cents: int | None  # None until priced
    status: str  # requested or priced
    valid_until: str | None


@dataclass(frozen=True)
class ProductActivity:
    sales: Page  # of SaleLine, newest first
    open_quotes: list[QuotedLine]


@dataclass(frozen=True)
class TimelineEntry(AsDict):
    at: str  # UTC, as stored
    kind: str  # one of KINDS
    record_id: int  # the purchase, ticket or quote it opens (a return's purchase)
    title: str
    status: str
    amount_cents: int | None


class TimelineService:
    def __init__(self, store):
        self.store = store

    def customer(self, actor: Actor, customer_id, limit: int = 50, offset: int = 0) -> Page:
        """The customer's events newest first; `extra` holds their totals: `purchases` (not
        cancelled), `spent_cents` (gross, returns taken off) and `last_purchase` (or None)."""
        customer_id = parse_id(customer_id, "customer")
        ensure(actor, "read_purchases", customer_id)
        limit, offset = clamp_page(limit, offset)
        params = {"customer": customer_id, "limit": limit, "offset": offset}
        with self.store.read() as conn:  # the events, their count and the totals agree
            if not customer_exists(conn, customer_id):
                raise NotFound("customer", customer_id)
            rows = conn.execute(TIMELINE_SQL, {**params, "now": conn.clock.stamp()}).fetchall()
            total = conn.execute(COUNT_SQL, params).fetchone()[0]
            totals = customer_totals(conn, customer_id)
        items = [TimelineEntry(**dict(row)) for row in rows]
        extra = {key: totals[key] for key in ("purchases", "spent_cents", "last_purchase")}
        return Page(items, total, limit, offset, extra=extra)

    def product(self, actor: Actor, product_id, limit: int = 20) -> ProductActivity:
        """The product's newest sales lines (and how many there are) and every open quote that
        includes it, newest first; staff only."""
        product_id = parse_id(product_id, "product")
        ensure(actor, "read_records")
        limit, _ = clamp_page(limit, 0)
        params = {"product": product_id, "limit": limit, "offset": 0}
        with self.store.read() as conn:  # the sales, their count and the quotes agree
            found = conn.execute("SELECT 1 FROM products WHERE id = ?", (product_id,)).fetchone()
            if found is None:
                raise NotFound("product", product_id)
            sales = conn.execute(SALES_SQL, params).fetchall()
            total = conn.execute(SALES_COUNT_SQL, params).fetchone()[0]
            now = {"product": product_id, "now": conn.clock.stamp()}
            quotes = conn.execute(OPEN_QUOTES_SQL, now).fetchall()
        lines = Page([SaleLine(**dict(row)) for row in sales], total, limit, 0)
        return ProductActivity(lines, [QuotedLine(**dict(row)) for row in quotes])

    def purchase_returns(self, actor: Actor, purchase_id) -> list[ReturnEntry]:
        """The purchase's returns, newest first; another customer's purchase reads as not
        found, like a missing one."""
        purchase_id = parse_id(purchase_id, "purchase")
        params = {"purchase": purchase_id}
        with self.store.read() as conn:
            owner = conn.execute(OWNER_SQL, params).fetchone()
            if owner is None:
                raise NotFound("purchase", purchase_id)
            ensure(actor, "read_purchases", owner[0], entity="purchase", key=purchase_id)
            rows = conn.execute(RETURNS_SQL, params).fetchall()
        return [ReturnEntry(**dict(row)) for row in rows]
