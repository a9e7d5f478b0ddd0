"""Invoices and credit notes.

A number comes from a gap-free sequence per kind and year (INV-2026-000123, CN-2026-000045),
taken inside the sale's (or the return's) own write transaction: a sale that fails rolls its
number back with it, and SQLite's single writer hands the next one to the next sale. A document
is issued once and never changes; the shop's and the customer's details are kept as printed.
Purchases that came from an import or the demo were invoiced by the system they came from, and
those recorded before invoices existed have none: asking for theirs is a clear refusal.
"""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal

from crpm.errors import NotFound
from crpm.models import DocumentLine, Party, SalesDocument, parse_id
from crpm.permissions import Actor, ensure
from crpm.pricing import PricedLine
from crpm.services.taxes import ShopSettings

UNINVOICED_SOURCES = ("import", "demo")
# What of a customer an invoice shows.
PARTY_COLUMNS = "name, email, company, address, city, country"

DOCUMENT_LINES_SQL = """
SELECT p.sku, p.name AS description, {quantity} AS quantity, l.unit_price_cents AS unit_cents,
       {figures}, l.tax_rate
FROM {source} JOIN products p ON p.id = l.product_id
"""
INVOICE_LINES_SQL = (
    DOCUMENT_LINES_SQL.format(
        quantity="l.quantity",
        figures="l.discount_cents, l.net_cents, l.tax_cents",
        source="purchase_lines l",
    )
    + " WHERE l.purchase_id = ? ORDER BY l.id"
)
CREDIT_LINES_SQL = (
    DOCUMENT_LINES_SQL.format(
        quantity="c.quantity",
        figures="c.discount_cents, c.net_cents, c.tax_cents",
        source="credit_note_lines c JOIN purchase_lines l ON l.id = c.line_id",
    )
    + " WHERE c.credit_note_id = ? ORDER BY c.id"
)


def next_number(conn, kind: str, year: int) -> str:
    """The next number of a series, gapless: the counter's row stays locked until the
    transaction ends, so a concurrent one waits, and a rolled-back one gives its number back."""
    last = conn.execute(
        "INSERT INTO document_sequences (kind, year, last) VALUES (?, ?, 1)"
        " ON CONFLICT (kind, year) DO UPDATE SET last = document_sequences.last + 1"
        " RETURNING last",
        (kind, year),
    ).fetchone()[0]
    return f"{kind}-{year}-{last:06d}"


def numbered(conn, kind: str) -> tuple[str, str]:
    """(number, issued_at) of a new document: the time is read once the number is held, so
    numbers follow the times even when sales overlap (PostgreSQL). The year is the one before
    the wait; a number whose wait spans New Year's midnight is dated its year's last second."""
    year = conn.clock.stamp()[:4]
    number = next_number(conn, kind, int(year))
    return number, min(conn.clock.stamp(), f"{year}-12-31 23:59:59")


def issue_invoice(conn, purchase_id: int, settings: ShopSettings, customer) -> str:
    """Issue the invoice of a purchase just written, inside its transaction, to `customer` (a
    row with PARTY_COLUMNS)."""
    shop = Party(settings.name, tuple(settings.address.splitlines()), settings.tax_number)
    number, issued_at = numbered(conn, "INV")
    conn.execute(
        "INSERT INTO invoices (number, purchase_id, issued_at, shop, customer, note)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (
            number,
            purchase_id,
            issued_at,
            _party_json(shop),
            _party_json(customer_party(customer)),
            settings.payment_note,
        ),
    )
    return number


def issue_credit_note(
    conn, purchase_id: int, kind: str, reason: str, credited: list[tuple[int, PricedLine]]
) -> str | None:
    """A credit note for `credited` (line id, the share given back) against the purchase's
    invoice; None when the purchase has no invoice (imported, demo, or from before invoices)."""
    invoice = conn.execute(
        "SELECT id FROM invoices WHERE purchase_id = ?", (purchase_id,)
    ).fetchone()
    if invoice is None or not credited:
        return None
    number, issued_at = numbered(conn, "CN")
    note_id = conn.execute(
        "INSERT INTO credit_notes (number, invoice_id, kind, issued_at, reason)"
        " VALUES (?, ?, ?, ?, ?)",
        (number, invoice["id"], kind, issued_at, reason),
    ).lastrowid
    conn.executemany(
        "INSERT INTO credit_note_lines (credit_note_id, line_id, quantity, discount_cents,"
        " net_cents, tax_cents) VALUES (?, ?, ?, ?, ?, ?)",
        [
            (note_id, line_id, s.quantity, s.discount_cents, s.net_cents, s.tax_cents)
            for line_id, s in credited
        ],
    )
    return number


def customer_party(row) -> Party:
    """The customer as an invoice names them, from a row with PARTY_COLUMNS."""
    place = " ".join(part for part in (row["city"], row["country"]) if part)
    lines = (row["company"], *row["address"].splitlines(), place, row["email"])
    return Party(row["name"], tuple(line for line in lines if line))


def _party_json(party: Party) -> str:
    return json.dumps(
        {"name": party.name, "lines": list(party.lines), "tax_number": party.tax_number}
    )


def _party(text: str) -> Party:
    data = json.loads(text)
    return Party(data["name"], tuple(data["lines"]), data.get("tax_number", ""))


def _lines(rows) -> tuple[DocumentLine, ...]:
    return tuple(
        DocumentLine(
            sku=row["sku"],
            description=row["description"],
            quantity=row["quantity"],
            unit_cents=row["unit_cents"],
            discount_cents=row["discount_cents"],
            rate=Decimal(row["tax_rate"]),
            net_cents=row["net_cents"],
            tax_cents=row["tax_cents"],
            gross_cents=row["net_cents"] + row["tax_cents"],
        )
        for row in rows
    )


def _by_rate(lines) -> tuple[tuple[Decimal, int, int, int], ...]:
    sums = defaultdict(lambda: [0, 0, 0])
    for line in lines:
        figures = sums[line.rate]
        figures[0] += line.net_cents
        figures[1] += line.tax_cents
        figures[2] += line.gross_cents
    return tuple((rate, *sums[rate]) for rate in sorted(sums))


class DocumentService:
    """Read issued documents back (staff: any; a customer: their own only, others not found)."""

    def __init__(self, store, currency: str = "$"):
        self.store = store
        self.currency = currency

    def invoice(self, actor: Actor, purchase_id) -> SalesDocument:
        purchase_id = parse_id(purchase_id, "purchase")
        with self.store.read() as conn:
            row = conn.execute(
                "SELECT i.*, pu.customer_id, pu.prices_include_tax, pu.source FROM purchases pu"
                " LEFT JOIN invoices i ON i.purchase_id = pu.id WHERE pu.id = ?",
                (purchase_id,),
            ).fetchone()
            _ensure_reader(actor, row, "purchase", purchase_id)
            if row["number"] is None:
                raise NotFound("invoice of purchase", purchase_id)
            lines = _lines(conn.execute(INVOICE_LINES_SQL, (purchase_id,)))
        return self._document("invoice", row, lines, purchase_id, None, row["note"])

    def credit_notes(self, actor: Actor, purchase_id) -> list[str]:
        """The numbers of a purchase's credit notes, oldest first."""
        self.invoice(actor, purchase_id)  # the same access and existence rules
        rows = self.store.query(
            "SELECT c.number FROM credit_notes c JOIN invoices i ON i.id = c.invoice_id"
            " WHERE i.purchase_id = ? ORDER BY c.id",
            (parse_id(purchase_id, "purchase"),),
        )
        return [row[0] for row in rows]

    def credit_note(self, actor: Actor, number) -> SalesDocument:
        number = str(number or "").strip().upper()
        with self.store.read() as conn:
            row = conn.execute(
                "SELECT c.id, c.number, c.issued_at, c.reason, i.number AS invoice_number,"
                " i.shop, i.customer, i.purchase_id, pu.customer_id, pu.prices_include_tax"
                " FROM credit_notes c JOIN invoices i ON i.id = c.invoice_id"
                " JOIN purchases pu ON pu.id = i.purchase_id WHERE c.number = ?",
                (number,),
            ).fetchone()
            _ensure_reader(actor, row, "credit note", number)
            lines = _lines(conn.execute(CREDIT_LINES_SQL, (row["id"],)))
        return self._document(
            "credit_note", row, lines, row["purchase_id"], row["invoice_number"], row["reason"]
        )

    def _document(self, kind, row, lines, purchase_id, refers_to, note) -> SalesDocument:
        return SalesDocument(
            kind=kind,
            number=row["number"],
            issued_at=row["issued_at"],
            shop=_party(row["shop"]),
            customer=_party(row["customer"]),
            lines=lines,
            discount_cents=sum(line.discount_cents for line in lines),
            net_cents=sum(line.net_cents for line in lines),
            tax_cents=sum(line.tax_cents for line in lines),
            gross_cents=sum(line.gross_cents for line in lines),
            by_rate=_by_rate(lines),
            prices_include_tax=bool(row["prices_include_tax"]),
            currency=self.currency,
            purchase_id=purchase_id,
            refers_to=refers_to,
            note=note,
        )

    def pdf(self, document: SalesDocument) -> tuple[str, bytes]:
        """The document as a PDF file: (file name, bytes)."""
        from crpm import pdf  # fpdf2 and the fonts load only when a PDF is asked for

        return f"{document.number}.pdf", pdf.render(document)


def _ensure_reader(actor: Actor, row, entity: str, key) -> None:
    """A document is read by staff and by its purchase's customer; to anyone else it is not
    found, like a document that does not exist."""
    if row is None:
        raise NotFound(entity, key)
    ensure(actor, "read_purchases", row["customer_id"], entity=entity, key=key)
