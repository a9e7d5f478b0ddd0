"""Quotes: a customer asks for prices, staff price every line with a validity date, and the
customer accepts (it becomes a purchase at the quoted prices, in the same transaction) or
turns it down.

A priced quote stays 'priced' in the store after its validity date; every read and every
decision computes its status with the time of asking, so it reads, filters and refuses as
'expired' from the first second after the validity date.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from crpm import shoplocale
from crpm.errors import Conflict, InactiveRecord, NotFound, ValidationError
from crpm.models import TIME_FORMAT, Page, parse_id, parse_money, parse_time, unpack
from crpm.permissions import Actor, ensure
from crpm.pricing import (
    LineInput,
    Totals,
    discount_text,
    parse_discount,
    price_lines,
    totals,
)
from crpm.services import audit
from crpm.services.purchases import MAX_LINES, Order, clean_order, normalise_lines
from crpm.services.search import clamp_page, word_search
from crpm.services.servicedesk.common import (
    SUPPORT,
    choice,
    customer_for,
    given_customer,
    long_text,
)
from crpm.services.sqlparts import Where, read_page
from crpm.services.taxes import rates_for, read_settings

QUOTE_STATUSES = ("requested", "priced", "accepted", "rejected", "expired")
# What a quote's (effective) status leaves open; the pages show only these actions. "priced"
# is still valid: past its validity date a priced quote reads as "expired".
PRICEABLE = ("requested", "priced", "expired")  # staff may price it (again)
ACCEPTABLE = ("priced",)  # the customer (or staff for them) may accept it
REJECTABLE = ("requested", "priced")  # the customer (or staff for them) may still turn it down
QUOTE_STATUS_SQL = (
    "CASE WHEN q.status = 'priced' AND q.valid_until < :now THEN 'expired' ELSE q.status END"
)
QUOTE_SQL = f"""
SELECT q.id, q.customer_id, c.name AS customer_name, q.request_text,
       {QUOTE_STATUS_SQL} AS status, q.valid_until, q.message, p.username AS priced_by,
       q.priced_at, q.purchase_id, q.decided_at, q.created_at, q.updated_at, q.discount
FROM quotes q JOIN customers c ON c.id = q.customer_id LEFT JOIN users p ON p.id = q.priced_by
"""
QUOTE_LINES_SQL = """
SELECT l.quote_id, l.id, l.product_id, p.sku, p.name AS product_name, l.quantity,
       l.unit_price_cents
FROM quote_lines l JOIN products p ON p.id = l.product_id
"""


# --- what the desk returns --------------------------------------------------------


@dataclass(frozen=True)
class QuoteLine:
    id: int
    product_id: int
    sku: str
    product_name: str
    quantity: int
    unit_price_cents: int | None
    tax_rate: Decimal = Decimal(0)  # the product's rate now: what a purchase would take

    @property
    def total_cents(self) -> int | None:
        return None if self.unit_price_cents is None else self.quantity * self.unit_price_cents


@dataclass(frozen=True)
class Quote:
    id: int
    customer_id: int
    customer_name: str
    request_text: str
    status: str
    valid_until: str | None
    message: str
    priced_by: str | None
    priced_at: str | None
    purchase_id: int | None
    decided_at: str | None
    created_at: str
    updated_at: str
    discount: str = ""  # off the whole quote: "10%" or an amount
    lines: tuple[QuoteLine, ...] = ()
    prices_include_tax: bool = False

    @property
    def figures(self) -> Totals | None:
        """Discount, net, tax and gross as a purchase would price it now (crpm/pricing.py);
        None until every line has a price."""
        if not self.lines or any(line.unit_price_cents is None for line in self.lines):
            return None
        inputs = [
            LineInput(line.unit_price_cents, line.quantity, line.tax_rate) for line in self.lines
        ]
        discount = parse_discount(self.discount, "discount")
        return totals(price_lines(inputs, self.prices_include_tax, discount))

    @property
    def total_cents(self) -> int | None:
        """What the customer would pay: gross, after the discount."""
        figures = self.figures
        return None if figures is None else figures.gross_cents

    def to_dict(self) -> dict:
        lines = [{**asdict(line), "total_cents": line.total_cents} for line in self.lines]
        figures = self.figures
        money = {
            f"{name}_cents": getattr(figures, f"{name}_cents") if figures else None
            for name in ("discount", "net", "tax")
        }
        return {**asdict(self), "lines": lines, "total_cents": self.total_cents, **money}


def valid_until_text(value, clock, zone: str) -> str:
    """A validity date: the quote holds through the end of that shop's day (today at the
    earliest), stored as the last UTC second before the shop's next midnight."""
    day = date.fromisoformat(parse_time(value, "valid_until")[:10])
    if day < shoplocale.shop_day(clock, zone):
        raise ValidationError("valid_until", "must be today or later")
    next_midnight = datetime.strptime(
        shoplocale.day_start(day + timedelta(days=1), zone), TIME_FORMAT
    )
    return (next_midnight - timedelta(seconds=1)).strftime(TIME_FORMAT)


class QuoteDesk:
    """The quote half of the service desk (crpm.services.servicedesk.ServiceDesk)."""

    def __init__(self, store, purchases):
        self.store = store
        self.purchases = purchases

    # --- asking -----------------------------------------------------------------------

    def catalogue(self, actor: Actor, search: str = "", limit: int = 50, offset: int = 0) -> Page:
        """Active products anyone logged in may ask a quote for: id, sku, name, category,
        list price and whether any is in stock (not how many)."""
        ensure(actor, "quotes")
        limit, offset = clamp_page(limit, offset)
        match = word_search(self.store.dialect, "products", search or "")
        where = Where(["status = 'active'"])
        if match:
            where.add(match.ids(), **match.params)
        select = "SELECT id, sku, name, category, price_cents, stock > 0 AS in_stock FROM products"
        rows, total = read_page(self.store, select, "products", where, "name, id", limit, offset)
        items = [{**dict(row), "in_stock": bool(row["in_stock"])} for row in rows]
        return Page(items, total, limit, offset)

    def request_quote(self, actor: Actor, lines=(), text="", customer_id=None) -> Quote:
        """Ask for a price: catalogue products with quantities, free text, or both.

        `lines` as for a purchase: [(product_id, quantity)] or [{"product_id", "quantity"}];
        any price given there is ignored (staff set prices).
        """
        customer_id = given_customer(customer_id)
        ensure(actor, "quotes", customer_id)
        text = long_text(text, "request")
        wanted = [
            {"product_id": line["product_id"], "quantity": line["quantity"]}
            for line in (normalise_lines(lines) if lines else [])
        ]
        if not wanted and not text:
            raise ValidationError("request", "name at least one product or describe what you need")
        with self.store.write() as conn:
            customer_id = customer_for(conn, actor, customer_id, active=True)
            for line in wanted:
                _active_product(conn, line["product_id"])
            now = conn.clock.stamp()
            quote_id = conn.execute(
                "INSERT INTO quotes (customer_id, request_text, requested_by, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?)",
                (customer_id, text, actor.user_id, now, now),
            ).lastrowid
            _add_lines(conn, quote_id, wanted)
            audit.record(
                conn,
                actor,
                "request",
                "quote",
                quote_id,
                after={
                    "customer_id": customer_id,
                    "lines": wanted,
                },
            )
        return self._shown_quote(actor, quote_id)

    # --- pricing ----------------------------------------------------------------------

    def price_quote(
        self, actor: Actor, quote_id, prices, valid_until, message="", extra_lines=(), discount=""
    ) -> Quote:
        """Staff answer a quote: a unit price for every requested product, a validity date
        and a message.

        `prices` maps product id -> money text ("12.50"), or is a list of (product_id, price).
        `extra_lines` adds products the request described in words:
        [(product_id, quantity, price)] or [{"product_id", "quantity", "unit_price"}].
        `discount` ("10%" or "5.00") comes off the whole quote, as on a purchase.
        A quote may be priced again while it is requested, priced or expired.
        """
        ensure(actor, "service_desk_staff")
        quote_id = parse_id(quote_id, "quote")
        with self.store.read() as conn:
            until = valid_until_text(valid_until, conn.clock, read_settings(conn).time_zone)
        discount = discount_text(parse_discount(discount, "discount"))
        message = long_text(message, "message")
        prices = _price_map(prices)
        extra = [_extra_line(number, line) for number, line in enumerate(extra_lines or (), 1)]
        with self.store.write() as conn:
            quote = self._quote(conn, actor, _quote_row(conn, quote_id))
            _refuse_unless(conn, quote, PRICEABLE)
            requested = {line.product_id for line in quote.lines}
            _check_pricing(requested, prices, extra)
            for line in extra:
                _active_product(conn, line["product_id"])
            _add_lines(conn, quote_id, extra)
            conn.executemany(
                "UPDATE quote_lines SET unit_price_cents = ? WHERE quote_id = ? AND product_id = ?",
                [(cents, quote_id, product_id) for product_id, cents in prices.items()],
            )
            now = conn.clock.stamp()
            conn.execute(
                "UPDATE quotes SET status = 'priced', valid_until = ?, message = ?, priced_by = ?,"
                " priced_at = ?, updated_at = ?, discount = ? WHERE id = ?",
                (until, message, actor.user_id, now, now, discount, quote_id),
            )
            # its total refuses a discount over it
            priced = self._quote(conn, actor, _quote_row(conn, quote_id))
            audit.record(
                conn,
                actor,
                "price",
                "quote",
                quote_id,
                {"status": quote.status},
                {
                    "status": "priced",
                    "valid_until": until,
                    "total_cents": priced.total_cents,
                },
            )
        return self._shown_quote(actor, quote_id)

    # --- the customer's answer ----------------------------------------------------------

    def accept_quote(self, actor: Actor, quote_id) -> Quote:
        """The customer (or staff for them) accepts a priced quote: the purchase service records
        it at the quoted prices, with every stock rule of a purchase, in this one transaction."""
        quote_id = parse_id(quote_id, "quote")
        with self.store.write() as conn:
            quote = self._answered(conn, actor, "accept_quote", quote_id, ACCEPTABLE)
            purchase = self.purchases.record(actor, quote.customer_id, quote_id=quote_id)
            _decide(conn, actor, quote, "accepted", purchase.id)
        return self._shown_quote(actor, quote_id)

    def reject_quote(self, actor: Actor, quote_id) -> Quote:
        """The customer (or staff for them) turns down a quote that is requested or priced."""
        quote_id = parse_id(quote_id, "quote")
        with self.store.write() as conn:
            quote = self._answered(conn, actor, "quotes", quote_id, REJECTABLE)
            _decide(conn, actor, quote, "rejected", None)
        return self._shown_quote(actor, quote_id)

    def _answered(self, conn, actor: Actor, action: str, quote_id: int, allowed) -> Quote:
        """The quote being answered, once `actor` may take `action` on it (another customer's
        is not found) and its status is one of `allowed`."""
        row = _quote_row(conn, quote_id)
        ensure(actor, action, row["customer_id"], entity="quote", key=quote_id)
        quote = self._quote(conn, actor, row)
        _refuse_unless(conn, quote, allowed)
        return quote

    # --- reading ----------------------------------------------------------------------

    def get_quote(self, actor: Actor, quote_id) -> Quote:
        quote_id = parse_id(quote_id, "quote")
        with self.store.read() as conn:
            row = _quote_row(conn, quote_id)
            ensure(actor, "quotes", row["customer_id"], entity="quote", key=quote_id)
            return self._quote(conn, actor, row)

    def my_quotes(self, actor: Actor, status=None, limit: int = 50, offset: int = 0) -> Page:
        """A customer's own quotes, newest first."""
        ensure(actor, "own_records")
        return self._quote_page(actor, status, actor.customer_id, limit, offset)

    def quotes(
        self, actor: Actor, status=None, customer_id=None, limit: int = 50, offset: int = 0
    ) -> Page:
        """Every quote for staff, newest first, by (effective) status and customer."""
        ensure(actor, "service_desk_staff")
        customer_id = None if customer_id in (None, "") else parse_id(customer_id, "customer")
        return self._quote_page(actor, status, customer_id, limit, offset)

    def _quote_page(self, actor, status, customer_id, limit, offset) -> Page:
        limit, offset = clamp_page(limit, offset)
        where = Where([], {"now": self.store.clock.stamp()})
        if status not in (None, "", "all"):
            status = choice(status, "status", QUOTE_STATUSES)
            where.add(f"{QUOTE_STATUS_SQL} = :status", status=status)
        if customer_id is not None:
            where.add("q.customer_id = :customer_id", customer_id=customer_id)
        order = "q.created_at DESC, q.id DESC"
        with self.store.read() as conn:  # the page, its count and its lines from one snapshot
            rows, total = read_page(self.store, QUOTE_SQL, "quotes q", where, order, limit, offset)
            lines = _lines(conn, [row["id"] for row in rows])
            inclusive = read_settings(conn).prices_include_tax
        items = [_quote_from(actor, row, lines.get(row["id"], ()), inclusive) for row in rows]
        return Page(items, total, limit, offset)

    def _shown_quote(self, actor: Actor, quote_id: int) -> Quote:
        """A quote just changed by `actor`, as they see it (they were let in already)."""
        with self.store.read() as conn:
            return self._quote(conn, actor, _quote_row(conn, quote_id))

    @staticmethod
    def _quote(conn, actor: Actor, row) -> Quote:
        lines = _lines(conn, [row["id"]]).get(row["id"], ())
        return _quote_from(actor, row, lines, read_settings(conn).prices_include_tax)


def quoted_order(conn, customer_id: int, quote_id: int) -> Order:
    """What a purchase accepting a quote records: the quote's lines at its prices and its
    discount, now. The quote must be the customer's (else it is not found) and open: priced
    and within its validity date."""
    row = _quote_row(conn, quote_id)
    if row["customer_id"] != customer_id:
        raise NotFound("quote", quote_id)
    quote = Quote(**dict(row))
    _refuse_unless(conn, quote, ("priced",))
    lines = conn.execute(
        "SELECT product_id, quantity, unit_price_cents FROM quote_lines WHERE quote_id = ?"
        " ORDER BY id",
        (quote_id,),
    ).fetchall()
    now = conn.clock.stamp()
    return clean_order(
        customer_id, [dict(line) for line in lines], "quote", None, None, now, quote.discount
    )


def _decide(conn, actor: Actor, quote: Quote, status: str, purchase_id) -> None:
    now = conn.clock.stamp()
    conn.execute(
        "UPDATE quotes SET status = ?, purchase_id = ?, decided_at = ?, updated_at = ?"
        " WHERE id = ?",
        (status, purchase_id, now, now, quote.id),
    )
    audit.record(
        conn,
        actor,
        status.removesuffix("ed"),
        "quote",
        quote.id,
        {"status": quote.status},
        {"status": status, "purchase_id": purchase_id},
    )


def _quote_row(conn, quote_id: int):
    row = conn.execute(
        f"{QUOTE_SQL} WHERE q.id = :id", {"id": quote_id, "now": conn.clock.stamp()}
    ).fetchone()
    if row is None:
        raise NotFound("quote", quote_id)
    return row


def _quote_from(actor: Actor, row, lines, inclusive: bool) -> Quote:
    values = dict(row)
    if not actor.is_staff and values["priced_by"]:
        values["priced_by"] = SUPPORT
    return Quote(**values, lines=tuple(lines), prices_include_tax=inclusive)


def _refuse_unless(conn, quote: Quote, allowed: tuple[str, ...]) -> None:
    if quote.status not in allowed:
        raise Conflict("quote", _quote_refusal(quote, read_settings(conn).time_zone))


def _check_pricing(requested: set, prices: dict, extra: list) -> None:
    unknown = sorted(set(prices) - requested)
    if unknown:
        raise ValidationError(
            "prices", f"product #{unknown[0]} is not in this quote; add it as an extra line"
        )
    missing = sorted(requested - set(prices))
    if missing:
        raise ValidationError("prices", f"product #{missing[0]} needs a price")
    again = sorted(requested & {line["product_id"] for line in extra})
    if again:
        raise ValidationError("extra lines", f"product #{again[0]} is already in this quote")
    if not requested and not extra:
        raise ValidationError("lines", "a priced quote needs at least one product")
    if len(requested) + len(extra) > MAX_LINES:
        raise ValidationError("lines", f"a quote may have at most {MAX_LINES} products")


def _lines(conn, quote_ids: list[int]) -> dict[int, list[QuoteLine]]:
    if not quote_ids:
        return {}
    marks = ", ".join("?" for _ in quote_ids)
    found: dict[int, list[QuoteLine]] = {}
    rows = conn.execute(
        f"{QUOTE_LINES_SQL} WHERE l.quote_id IN ({marks}) ORDER BY l.id", quote_ids
    ).fetchall()
    rates = rates_for(conn, list({row["product_id"] for row in rows}))
    for row in rows:
        values = dict(row)
        quote_id = values.pop("quote_id")
        rate = rates.get(values["product_id"], Decimal(0))
        found.setdefault(quote_id, []).append(QuoteLine(**values, tax_rate=rate))
    return found


def _add_lines(conn, quote_id: int, lines: list[dict]) -> None:
    conn.executemany(
        "INSERT INTO quote_lines (quote_id, product_id, quantity, unit_price_cents)"
        " VALUES (?, ?, ?, ?)",
        [
            (quote_id, line["product_id"], line["quantity"], line.get("unit_price_cents"))
            for line in lines
        ],
    )


def _active_product(conn, product_id: int) -> None:
    row = conn.execute("SELECT sku, status FROM products WHERE id = ?", (product_id,)).fetchone()
    if row is None:
        raise NotFound("product", product_id)
    if row["status"] != "active":
        raise InactiveRecord("product", product_id, row["sku"])


def _quote_refusal(quote: Quote, zone: str) -> str:
    last_day = shoplocale.show_time(quote.valid_until, zone)[:10]
    reasons = {
        "requested": "has not been priced yet",
        "priced": "is priced and waiting for the customer's answer",
        "accepted": f"was already accepted (purchase #{quote.purchase_id})",
        "rejected": "was rejected",
        "expired": f"expired on {last_day}; ask for a new price",
    }
    return f"quote #{quote.id} {reasons[quote.status]}"


def _price_map(prices) -> dict[int, int]:
    if isinstance(prices, dict):
        pairs = prices.items()
    elif isinstance(prices, (list, tuple)) or not prices:
        pairs = [unpack(pair, 2, "prices", "(product id, price) pairs") for pair in prices or ()]
    else:
        raise ValidationError("prices", "give a price for each product")
    priced = {}
    for product_id, price in pairs:
        product_id = parse_id(product_id, "prices product")
        priced[product_id] = parse_money(price, f"price of product #{product_id}")
    return priced


def _extra_line(number: int, line) -> dict:
    if isinstance(line, dict):
        product_id, quantity, price = (
            line.get("product_id"),
            line.get("quantity"),
            line.get("unit_price"),
        )
    else:
        product_id, quantity, price = unpack(
            line, 3, f"extra line {number}", "(product id, quantity, price)"
        )
    merged = normalise_lines([(product_id, quantity)])[0]
    return {**merged, "unit_price_cents": parse_money(price, f"extra line {number} price")}
