"""The PDF of an invoice or credit note prints what the document holds, in any script."""

from __future__ import annotations

import io
import logging
import warnings
from dataclasses import replace
from decimal import Decimal

import pytest
from pypdf import PdfReader

from crpm.models import DocumentLine, Party, SalesDocument
from crpm.pdf import money, rate_text, render

SHOP = Party("Corner Shop Ltd", ("12 High Street", "Bristol BS1 4DJ"), "GB123456789")
CUSTOMER = Party("Ada Lovelace", ("3 Elm Row", "London N1 2AB", "ada@example.com"))
NAMES = {
    "greek": "Γιώργος Παπαδόπουλος",
    "chinese": "王小明",
    "arabic": "محمد العربي",
    "latin": "Zoë Ångström-Łukasiewicz",
}


def line(sku, text, quantity, unit, discount, rate, net, tax) -> DocumentLine:
    return DocumentLine(sku, text, quantity, unit, discount, Decimal(rate), net, tax, net + tax)


LINES = (
    line("MUG-001", "Coffee mug, stoneware", 3, 1250, 0, "20", 3750, 750),
    line("BOOK-042", "Cookbook (hardback)", 2, 2990, 598, "5.5", 5382, 296),
    line("LAMP-7", "Desk lamp, long text that wraps", 1, 129900, 10000, "20", 119900, 23980),
)
INVOICE = SalesDocument(
    kind="invoice",
    number="INV-2027-000042",
    issued_at="2027-03-31 23:59:30",
    shop=SHOP,
    customer=CUSTOMER,
    lines=LINES,
    discount_cents=10598,
    net_cents=129032,
    tax_cents=25026,
    gross_cents=154058,
    by_rate=((Decimal("5.5"), 5382, 296, 5678), (Decimal("20"), 123650, 24730, 148380)),
    prices_include_tax=False,
    purchase_id=7,
    note="Paid by card.",
)
CREDIT_NOTE = replace(
    INVOICE,
    kind="credit_note",
    number="CN-2027-000003",
    issued_at="2027-04-02 09:15:00",
    lines=(line("MUG-001", "Coffee mug, stoneware", 1, 1250, 0, "20", 1250, 250),),
    discount_cents=0,
    net_cents=1250,
    tax_cents=250,
    gross_cents=1500,
    by_rate=((Decimal("20"), 1250, 250, 1500),),
    refers_to="INV-2027-000042",
    note="Chipped on arrival",
)


def pages_text(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def text_of(document: SalesDocument) -> str:
    return "\n".join(pages_text(render(document)))


def test_an_invoice_prints_its_number_date_parties_and_note():
    pdf = render(INVOICE)
    assert pdf.startswith(b"%PDF-")
    text = "\n".join(pages_text(pdf))
    for expected in ("Invoice", "INV-2027-000042", "2027-03-31", "Corner Shop Ltd", "BS1 4DJ"):
        assert expected in text
    for expected in ("GB123456789", "Ada Lovelace", "London N1 2AB", "ada@example.com"):
        assert expected in text
    assert "Prices exclude tax" in text and "Paid by card." in text
    assert "Credit" not in text


def test_each_line_prints_its_sku_and_figures_as_money():
    text = text_of(INVOICE)
    for item in INVOICE.lines:
        assert item.sku in text
        figures = (item.unit_cents, item.net_cents, item.tax_cents, item.gross_cents)
        for cents in figures + ((item.discount_cents,) if item.discount_cents else ()):
            assert money(cents, INVOICE) in text, (item.sku, cents)
    assert "$1,299.00" in text and "$1,438.80" in text  # thousands separators


def test_the_breakdown_per_rate_and_the_totals_print_as_held():
    lines = text_of(INVOICE).splitlines()
    for rate, net, tax, gross in INVOICE.by_rate:
        row = " ".join([rate_text(rate)] + [money(cents, INVOICE) for cents in (net, tax, gross)])
        assert row in lines, row
    assert "5.5% $53.82 $2.96 $56.78" in lines and "20% $1,236.50 $247.30 $1,483.80" in lines
    for label, cents in [("Discount", 10598), ("Net", 129032), ("Tax", 25026), ("Total", 154058)]:
        assert f"{label} {money(cents, INVOICE)}" in lines


def test_a_credit_note_names_the_invoice_it_credits_and_its_reason():
    text = text_of(CREDIT_NOTE)
    for expected in ("Credit note", "CN-2027-000003", "2027-04-02", "Credits invoice"):
        assert expected in text
    assert "INV-2027-000042" in text and "Reason" in text and "Chipped on arrival" in text
    assert "Total $15.00" in text.splitlines()


def test_rates_print_exactly_without_trailing_zeros():
    assert [rate_text(Decimal(r)) for r in ("20", "5.5", "7.00", "0", "12.25")] == [
        "20%",
        "5.5%",
        "7%",
        "0%",
        "12.25%",
    ]


def test_prices_that_include_tax_say_so():
    assert "Prices include tax" in text_of(replace(INVOICE, prices_include_tax=True))


@pytest.fixture
def glyph_complaints(caplog):
    """What fpdf2 or crpm.pdf logged or warned about glyphs while the test ran: fpdf2 logs missing
    glyphs at output when shaping is off; with shaping on, crpm.pdf logs what no font has."""
    caplog.set_level(logging.WARNING)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")

        def complaints() -> list[str]:
            logged = [record.getMessage() for record in caplog.records]
            warned = [str(warning.message) for warning in caught]
            return [message for message in logged + warned if "glyph" in message.lower()]

        yield complaints


@pytest.mark.parametrize("script", sorted(NAMES))
def test_a_customer_named_in_any_script_prints_with_every_glyph(script, glyph_complaints):
    name = NAMES[script]
    customer = Party(name, (f"{name} Street 5",))
    text = text_of(replace(INVOICE, customer=customer, note=f"Thank you, {name}"))
    assert glyph_complaints() == []
    # Arabic reads back in logical order only when shaped and set right to left: printed left to
    # right, unshaped, it would read back as "يبرعلا دمحم".
    assert name in text


def test_all_scripts_together_on_one_page(glyph_complaints):
    customer = Party(" / ".join(NAMES.values()), tuple(NAMES.values()))
    text = text_of(replace(INVOICE, customer=customer))
    assert glyph_complaints() == []
    assert all(name in text for name in NAMES.values())


def test_a_character_no_shipped_font_has_is_logged_not_printed(glyph_complaints):
    hieroglyph = "\U00013000"  # EGYPTIAN HIEROGLYPH A001: neither DejaVu nor Droid has it
    text = text_of(replace(INVOICE, customer=Party(f"Pharaoh {hieroglyph} Khufu")))
    assert hieroglyph not in text and "Pharaoh" in text and "Khufu" in text
    assert f"INV-2027-000042: no font has a glyph for ['{hieroglyph}']" in glyph_complaints()


def test_a_long_document_flows_to_more_pages_with_the_totals_on_the_last():
    many = tuple(
        line(f"SKU-{n:03d}", f"Item number {n}", 1, 1000, 0, "20", 1000, 200) for n in range(120)
    )
    long_invoice = replace(
        INVOICE,
        lines=many,
        discount_cents=0,
        net_cents=120000,
        tax_cents=24000,
        gross_cents=144000,
        by_rate=((Decimal("20"), 120000, 24000, 144000),),
    )
    pages = pages_text(render(long_invoice))
    assert len(pages) >= 3
    assert all(f"SKU-{n:03d}" in "\n".join(pages) for n in range(120))
    assert "Total $1,440.00" in pages[-1].splitlines()
    assert all("Total $1,440.00" not in page for page in pages[:-1])
    assert all("SKU" in page and "Gross" in page for page in pages[:-1])  # headings repeat
    assert f"page {len(pages)} of {len(pages)}" in pages[-1]


def test_the_breakdown_and_the_totals_are_never_split_across_pages():
    address = tuple(f"Address line {n}" for n in range(20))  # fills half of page 1
    lines = tuple(line(f"SKU-{n:03d}", "Item", 1, 1000, 0, "20", 1000, 200) for n in range(16))
    blocks = [("Tax breakdown", "5.5% ", "20% "), ("Discount $", "Net $", "Tax $", "Total $")]
    pages_of = {block: set() for block in blocks}
    for count in range(5, 17):  # the end of the document crosses the foot of page 1
        document = replace(INVOICE, customer=Party("Ada", address), lines=lines[:count])
        pages = [page.splitlines() for page in pages_text(render(document))]
        for block in blocks:
            on = {n for n, rows in enumerate(pages) for row in rows if row.startswith(block)}
            assert len(on) == 1, (count, block, on)
            pages_of[block] |= on
    assert list(pages_of.values()) == [{0, 1}, {0, 1}]  # each block met the page break


def test_the_same_document_renders_the_same_bytes():
    assert render(INVOICE) == render(INVOICE)
