"""Real sales: tax rates, discounts, invoices and credit notes, and the tax report, to the cent."""

from __future__ import annotations

import io
import multiprocessing
import threading
from decimal import Decimal

import pytest

from crpm import db
from crpm.analytics import Analytics
from crpm.db import Store
from crpm.errors import Conflict, NotFound, OutOfStock, PermissionDenied, ValidationError
from crpm.permissions import SYSTEM, Actor
from crpm.pricing import Discount, LineInput, price_lines, totals
from crpm.services import Services
from crpm.services.documents import DocumentService
from crpm.services.taxes import TaxService
from tests.support import STAFF, copy_migrations_before


@pytest.fixture
def taxes(services) -> TaxService:
    return TaxService(services.store)


@pytest.fixture
def docs(services) -> DocumentService:
    return DocumentService(services.store, "€")


@pytest.fixture
def shop20(services, taxes, shop):
    """A shop with a 20% standard rate (the default) and a 5.5% reduced rate."""
    standard = taxes.add_rate(STAFF, "Standard", "20")
    reduced = taxes.add_rate(STAFF, "Reduced", "5.5%")
    taxes.update_settings(
        SYSTEM,
        name="Corner Shop",
        address="1 High Street\nSpringfield",
        tax_number="GB123456789",
        payment_note="Paid in full, thank you.",
        default_tax_rate_id=standard.id,
    )
    lamp = shop.product(stock=50, price="19.99", name="Lamp")
    book = shop.product(stock=50, price="12.50", name="Book")
    taxes.set_product_rate(STAFF, book.id, reduced.id)
    return {"standard": standard, "reduced": reduced, "lamp": lamp, "book": book}


def sell(services, customer, lines, discount=None):
    return services.purchases.record(STAFF, customer.id, lines, discount=discount)


def test_rates_are_exact_named_and_retired_not_edited(taxes, refused):
    rate = taxes.add_rate(STAFF, "Odd", "8.875")
    assert (rate.percent, rate.label) == (Decimal("8.875"), "Odd (8.875%)")
    with refused(Conflict, match="name"):
        taxes.add_rate(STAFF, "odd", "5")
    with refused(ValidationError, match="tax rate: must be a percentage"):
        taxes.add_rate(STAFF, "Too much", "120")
    with refused(PermissionDenied):
        taxes.add_rate(Actor("c", "customer", customer_id=1), "Mine", "0")
    assert taxes.retire_rate(STAFF, rate.id).status == "retired"
    assert rate.id not in [r.id for r in taxes.rates(STAFF)]
    assert rate.id in [r.id for r in taxes.rates(STAFF, include_retired=True)]


def test_a_sale_keeps_rate_discount_net_tax_and_gross_as_sold(services, shop20, shop, taxes):
    ann = shop.customer("Ann")
    lamp, book = shop20["lamp"], shop20["book"]
    lines = [
        {"product_id": lamp.id, "quantity": 3, "discount": "10%"},
        {"product_id": book.id, "quantity": 2},
    ]
    sale = sell(services, ann, lines, discount="5.00")
    expected = price_lines(
        [
            LineInput(1999, 3, Decimal(20), Discount(percent=Decimal(10))),
            LineInput(1250, 2, Decimal("5.5")),
        ],
        prices_include_tax=False,
        purchase_discount=Discount(cents=500),
    )
    got = [(x.discount_cents, x.tax_rate, x.net_cents, x.tax_cents) for x in sale.lines]
    assert got == [(e.discount_cents, e.rate, e.net_cents, e.tax_cents) for e in expected]
    assert sale.total_cents == totals(expected).gross_cents
    # a later change of rate or price does not touch the sold lines
    taxes.set_product_rate(STAFF, book.id, shop20["standard"].id)
    services.products.update(STAFF, lamp.id, price="25.00")
    again = services.purchases.get(STAFF, sale.id)
    assert again.lines == sale.lines and again.invoice_number == sale.invoice_number


def test_prices_with_tax_inside(services, shop20, shop, taxes):
    taxes.update_settings(SYSTEM, prices_include_tax=True)
    sale = sell(services, shop.customer(), [(shop20["book"].id, 1)])
    (line,) = sale.lines
    assert (line.net_cents, line.tax_cents, line.total_cents) == (1185, 65, 1250)
    assert sale.prices_include_tax


def test_a_discount_cannot_make_a_line_negative(services, shop20, shop, refused):
    ann = shop.customer()
    with refused(ValidationError, match="line 1 discount: is more than the value"):
        sell(services, ann, [{"product_id": shop20["lamp"].id, "quantity": 1, "discount": "20"}])
    with refused(ValidationError, match="purchase discount: is more than the value"):
        sell(services, ann, [(shop20["lamp"].id, 1)], discount="100")
    with refused(ValidationError, match="line 1 discount"):
        sell(services, ann, [{"product_id": shop20["lamp"].id, "quantity": 1, "discount": "x%"}])


def test_invoices_are_numbered_per_year_without_gaps(services, shop20, shop, clock, docs):
    ann = shop.customer()
    first = sell(services, ann, [(shop20["lamp"].id, 1)])
    with pytest.raises(OutOfStock):  # a failed sale takes no number
        sell(services, ann, [(shop20["lamp"].id, 1000)])
    second = sell(services, ann, [(shop20["book"].id, 1)])
    year = clock.utc_day().year
    assert [first.invoice_number, second.invoice_number] == [
        f"INV-{year}-000001",
        f"INV-{year}-000002",
    ]
    clock.set(f"{year + 1}-01-01 00:00:01")
    assert sell(services, ann, [(shop20["book"].id, 1)]).invoice_number == f"INV-{year + 1}-000001"
    invoice = docs.invoice(STAFF, first.id)
    assert invoice.number == first.invoice_number and invoice.shop.tax_number == "GB123456789"
    assert invoice.customer.name == ann.name and invoice.gross_cents == first.total_cents


def test_returns_and_cancellation_issue_credit_notes_that_cancel_the_invoice(
    services, shop20, shop, docs, clock
):
    ann = shop.customer()
    lines = [{"product_id": shop20["lamp"].id, "quantity": 3, "discount": "7%"}]
    sale = sell(services, ann, lines + [(shop20["book"].id, 3)], discount="3%")
    lamp_line, book_line = sale.lines
    services.purchases.return_items(STAFF, lamp_line.id, 1, "broken")
    services.purchases.return_items(STAFF, book_line.id, 2)
    services.purchases.cancel(STAFF, sale.id, "changed mind")
    numbers = docs.credit_notes(STAFF, sale.id)
    year = clock.utc_day().year
    assert numbers == [f"CN-{year}-00000{n}" for n in (1, 2, 3)]
    notes = [docs.credit_note(STAFF, number) for number in numbers]
    invoice = docs.invoice(STAFF, sale.id)
    for field in ("net_cents", "tax_cents", "gross_cents", "discount_cents"):
        assert sum(getattr(note, field) for note in notes) == getattr(invoice, field), field
    assert {note.refers_to for note in notes} == {invoice.number}
    assert notes[0].note == "broken" and notes[2].note == "changed mind"


def test_another_customers_invoice_is_not_found(services, shop20, shop, people, docs):
    sale = services.purchases.record(STAFF, people.a.customer_id, [(shop20["lamp"].id, 1)])
    assert docs.invoice(people.a, sale.id).number == sale.invoice_number
    for actor in (people.b, None):
        with pytest.raises(NotFound):
            docs.invoice(actor, sale.id)
        with pytest.raises(NotFound):
            docs.credit_notes(actor, sale.id)
    services.purchases.return_items(STAFF, sale.lines[0].id, 1)
    (number,) = docs.credit_notes(people.a, sale.id)
    with pytest.raises(NotFound):
        docs.credit_note(people.b, number)


def test_imported_and_demo_purchases_have_no_invoice(services, shop20, shop, docs):
    sale = services.purchases.record(STAFF, shop.customer().id, [(shop20["lamp"].id, 1)], "import")
    assert sale.invoice_number is None
    with pytest.raises(NotFound, match="invoice of purchase"):
        docs.invoice(STAFF, sale.id)
    services.purchases.cancel(STAFF, sale.id)  # no invoice, so no credit note either


def test_the_tax_report_per_rate_with_returns_deducted(services, shop20, shop, clock):
    ann = shop.customer()
    sale = sell(services, ann, [(shop20["lamp"].id, 2), (shop20["book"].id, 4)], discount="10%")
    sell(services, ann, [(shop20["book"].id, 1)])
    services.purchases.cancel(STAFF, sell(services, ann, [(shop20["lamp"].id, 5)]).id)
    clock.advance(days=1)
    services.purchases.return_items(STAFF, sale.lines[1].id, 1)
    engine = Analytics(services.store)
    try:
        report = engine.tax(STAFF).set_index("tax_rate")
        summary = engine.summary(STAFF)
        today = engine.tax(STAFF, None, f"{clock.utc_day()} 00:00:00").set_index("tax_rate")
    finally:
        engine.close()
    lines = [line for purchase in (sale,) for line in purchase.lines]
    book_sale = services.purchases.get(STAFF, sale.id + 1).lines[0]
    returned = services.store.query_one("SELECT net_cents, tax_cents FROM purchase_returns")
    lamp, book = lines
    assert report.loc["20", "net_cents"] == lamp.net_cents
    assert report.loc["20", "tax_cents"] == lamp.tax_cents
    assert report.loc["5.5", "net_cents"] == book.net_cents + book_sale.net_cents - returned[0]
    assert report.loc["5.5", "tax_cents"] == book.tax_cents + book_sale.tax_cents - returned[1]
    assert (report["gross_cents"] == report["net_cents"] + report["tax_cents"]).all()
    assert report["net_cents"].sum() == summary.revenue_cents
    assert today.loc["5.5", "net_cents"] == book.net_cents + book_sale.net_cents  # before return


def buy_many(path: str, customer_id: int, product_id: int, count: int, start) -> None:
    services = Services(Store(path))
    start.wait()
    for _ in range(count):
        services.purchases.record(STAFF, customer_id, [(product_id, 1)])
    services.store.close()


def test_concurrent_sales_never_duplicate_or_skip_an_invoice_number(
    services, shop20, shop, db_path
):
    buyer, lamp = shop.customer(), shop20["lamp"]
    workers, each = 4, 5
    start = threading.Barrier(workers)
    threads = [
        threading.Thread(target=buy_many, args=(str(db_path), buyer.id, lamp.id, each, start))
        for _ in range(workers)
    ]
    context = multiprocessing.get_context("spawn")
    gate = context.Barrier(workers)
    processes = [
        context.Process(target=buy_many, args=(str(db_path), buyer.id, lamp.id, each, gate))
        for _ in range(workers)
    ]
    for worker in threads + processes:
        worker.start()
    for worker in threads + processes:
        worker.join(timeout=120)
    assert all(process.exitcode == 0 for process in processes)
    numbers = [row[0] for row in services.store.query("SELECT number FROM invoices")]
    sequence = sorted(int(number.rsplit("-", 1)[1]) for number in numbers)
    assert sequence == list(range(1, 2 * workers * each + 1))


def test_a_store_from_before_sales_documents_keeps_every_figure(db_path, monkeypatch, clock):
    old_dir = db_path.parent / "migrations_before_sales"
    old_dir.mkdir()
    copy_migrations_before(7, old_dir, "sqlite")
    monkeypatch.setattr(db, "MIGRATIONS_DIR", old_dir)
    old = Store.open(db_path, clock)
    now = clock.stamp()
    old.conn.executescript(
        f"""
        INSERT INTO customers (id, name, email, created_at, updated_at)
            VALUES (1, 'Old', 'old@example.com', '{now}', '{now}');
        INSERT INTO products (id, sku, name, price_cents, stock, created_at, updated_at)
            VALUES (1, 'OLD-1', 'Old thing', 333, 0, '{now}', '{now}');
        INSERT INTO purchases (id, customer_id, purchased_at, recorded_by)
            VALUES (1, 1, '{now}', 'test');
        INSERT INTO purchase_lines (id, purchase_id, product_id, quantity, unit_price_cents)
            VALUES (1, 1, 1, 3, 333);
        INSERT INTO purchase_returns (line_id, quantity, returned_at, recorded_by)
            VALUES (1, 1, '{now}', 'test');
        """
    )
    old.close()
    monkeypatch.undo()
    store = Store.open(db_path, clock)
    line = store.query_one("SELECT * FROM purchase_lines")
    assert (line["net_cents"], line["tax_cents"], line["tax_rate"]) == (999, 0, "0")
    assert store.query_one("SELECT net_cents FROM purchase_returns")[0] == 333
    engine = Analytics(store)
    try:
        summary = engine.summary(STAFF)
        tax = engine.tax(STAFF)
    finally:
        engine.close()
        store.close()
    assert (summary.gross_sales_cents, summary.returns_cents, summary.revenue_cents) == (
        999,
        333,
        666,
    )
    assert tax.to_dict("records") == [
        {"tax_rate": "0", "net_cents": 666, "tax_cents": 0, "gross_cents": 666, "discount_cents": 0}
    ]


def test_the_invoice_pdf_holds_what_the_store_holds_and_the_cli_writes_it(
    services, shop20, shop, docs, db_path, tmp_path, capsys
):
    from pypdf import PdfReader

    from crpm.__main__ import main

    zoe = shop.customer("Zoë Ångström 王小明")
    sale = sell(services, zoe, [(shop20["lamp"].id, 2), (shop20["book"].id, 1)], discount="1.00")
    services.purchases.return_items(STAFF, sale.lines[0].id, 1, "scratched")
    invoice = docs.invoice(STAFF, sale.id)
    name, data = docs.pdf(invoice)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    assert name == f"{invoice.number}.pdf" and invoice.number in text
    assert "Zoë Ångström 王小明" in text and "GB123456789" in text
    for line in invoice.lines:
        assert line.sku in text and f"€{line.gross_cents / 100:,.2f}" in text
    assert (
        f"€{invoice.gross_cents / 100:,.2f}" in text and f"€{invoice.tax_cents / 100:,.2f}" in text
    )

    out = tmp_path / "invoice.pdf"
    assert main(["--db", str(db_path), "invoice", str(sale.id), "--out", str(out)]) == 0
    assert out.read_bytes().startswith(b"%PDF") and invoice.number in capsys.readouterr().out
    (number,) = docs.credit_notes(STAFF, sale.id)
    note = tmp_path / "note.pdf"
    assert main(["--db", str(db_path), "credit-note", number, "--out", str(note)]) == 0
    credit = "".join(page.extract_text() for page in PdfReader(note).pages)
    assert number in credit and invoice.number in credit and "scratched" in credit
    assert main(["--db", str(db_path), "invoice", "999"]) == 2
    assert "purchase #999 not found" in capsys.readouterr().err


def test_a_quote_is_priced_with_tax_and_discount_and_its_purchase_takes_them(
    services, shop20, people
):
    desk, lamp, book = services.desk, shop20["lamp"], shop20["book"]
    quote = desk.request_quote(people.a, [(lamp.id, 4), (book.id, 2)])
    far = "2099-12-31"
    priced = desk.price_quote(
        people.staff, quote.id, {lamp.id: "18.00", book.id: "11.00"}, far, discount="10%"
    )
    expected = totals(
        price_lines(
            [LineInput(1800, 4, Decimal(20)), LineInput(1100, 2, Decimal("5.5"))],
            False,
            Discount(percent=Decimal(10)),
        )
    )
    assert (priced.discount, priced.figures) == ("10%", expected)
    assert priced.to_dict()["tax_cents"] == expected.tax_cents
    accepted = desk.accept_quote(people.a, quote.id)
    purchase = services.purchases.get(people.a, accepted.purchase_id)
    assert purchase.total_cents == expected.gross_cents == priced.total_cents
    assert purchase.tax_cents == expected.tax_cents and purchase.invoice_number
    with pytest.raises(ValidationError, match="discount: is more than the value"):
        other = desk.request_quote(people.a, [(lamp.id, 1)])
        desk.price_quote(people.staff, other.id, {lamp.id: "1.00"}, far, discount="5.00")
    assert desk.get_quote(people.staff, other.id).status == "requested"
